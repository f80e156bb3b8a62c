/* client: nubod requests for the CLI over lib/httpc. The base URL and the
 * token come from the profile; an answer of status 400 or more is an API
 * error, printed as "nubo: STATUS Code: message (request id)" on stderr. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "lib/jsonreq.h"
#include "lib/util.h"

#define ANSWER_MAX (64u * 1024 * 1024) /* the largest JSON answer kept */
#define TIMEOUT_S 120                  /* one ordinary request */

void cli_url_escape(struct buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    strchr("-._~", c))
			buf_append(b, s, 1);
		else
			buf_printf(b, "%%%c%c", hex[c >> 4], hex[c & 15]);
	}
}

void cli_wipe_free(char *s)
{
	if (s)
		explicit_bzero(s, strlen(s));
	free(s);
}

void cli_json_wipe(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	const char *s = json_string_value(v);
	if (s) /* jansson owns the copy and frees it without wiping */
		explicit_bzero((char *)s, json_string_length(v));
}

void cli_print_api_error(const struct httpc_resp *resp, const char *url)
{
	if (!resp->status) {
		fprintf(stderr, "nubo: cannot reach %s: %s\n", url, resp->error);
		return;
	}
	json_t *v = json_loadb(resp->body.data ? resp->body.data : "", resp->body.len, 0, NULL);
	const json_t *e = json_object_get(v, "error");
	const char *code = json_string_value(json_object_get(e, "code"));
	const char *msg = json_string_value(json_object_get(e, "message"));
	const char *rid = json_string_value(json_object_get(e, "request_id"));
	char hrid[80] = "";
	if (!rid && httpc_resp_header(resp, "X-Request-Id", hrid, sizeof(hrid)))
		rid = hrid;
	if (!msg) /* not our error form: say what came, briefly */
		msg = resp->body.len && resp->body.len < 300 ? resp->body.data : "(no message)";
	fprintf(stderr, "nubo: error %ld %s: %s", resp->status, code ? code : "", msg);
	if (rid)
		fprintf(stderr, " (request id %s)", rid);
	fputc('\n', stderr);
	json_decref(v);
}

int cli_call_raw(struct cli *cli, const char *method, const char *path, struct httpc_req *req,
		 struct httpc_resp *ret_resp)
{
	if (!cli->prof.url[0]) {
		fprintf(stderr, "nubo: no cloud to talk to: run `nubo login --url URL ...`, or set "
				"NUBO_URL or --url\n");
		return CLI_USAGE;
	}
	char *url = xasprintf("%s%s", cli->prof.url, path);
	req->method = method;
	req->url = url;
	if (!req->bearer && cli->prof.token[0])
		req->bearer = cli->prof.token;
	if (!req->body_limit)
		req->body_limit = ANSWER_MAX;
	int r = httpc_send(req, ret_resp) < 0 || ret_resp->status >= 400 ? CLI_API : CLI_OK;
	if (r != CLI_OK) {
		if (!cli->quiet)
			cli_print_api_error(ret_resp, cli->prof.url);
		httpc_resp_release(ret_resp);
	}
	free(url);
	return r;
}

int cli_call(struct cli *cli, const char *method, const char *path, const json_t *body,
	     json_t **ret)
{
	size_t len = 0;
	char *text = body ? json_req_dump(body, &len) : NULL;
	struct httpc_req req = { .body = text, .body_len = len, .timeout_s = TIMEOUT_S,
				 .ctype = text ? "application/json" : NULL };
	struct httpc_resp resp;
	*ret = NULL;
	int r = cli_call_raw(cli, method, path, &req, &resp);
	cli_wipe_free(text); /* it may hold a password */
	if (r != CLI_OK)
		return r;
	if (resp.body.len) {
		json_error_t jerr;
		*ret = json_loadb(resp.body.data, resp.body.len, 0, &jerr);
		if (!*ret) {
			fprintf(stderr, "nubo: the answer is not JSON: %s\n", jerr.text);
			r = CLI_API;
		}
	}
	httpc_resp_release(&resp);
	return r;
}
