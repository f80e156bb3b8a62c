/* api: see api.h.
 *
 * A request's life: match the route (404 / 405 / 400 for a bad path),
 * refuse an over-limit body (413), then run the handler. A POST with an
 * Idempotency-Key runs inside one store transaction together with the
 * lookup and the saving of its answer: either the work and its stored
 * answer are both committed, or neither is, so a retry after any failure
 * is safe. Two concurrent requests with one key serialise on the store's
 * write lock; the second finds the first one's answer. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "api-priv.h"
#include "lib/crypto.h"
#include "lib/jsonreq.h"
#include "lib/log.h"
#include "lib/timeutil.h"
#include "lib/util.h"

static const unsigned status_of[ERR__COUNT] = {
	[ERR_NONE] = 200,        [ERR_INVALID] = 400,     [ERR_MALFORMED] = 400,
	[ERR_NOT_FOUND] = 404,   [ERR_CONFLICT] = 409,    [ERR_TOO_LARGE] = 413,
	[ERR_UNAUTHORIZED] = 401,[ERR_FORBIDDEN] = 403,   [ERR_QUOTA] = 403,
	[ERR_IDEMPOTENCY] = 422, [ERR_BUSY] = 503,        [ERR_UNAVAILABLE] = 503,
	[ERR_INTERNAL] = 500,
};

static const char json_ctype[] = "application/json";

struct api *api_new(const struct api_opts *opts)
{
	static const struct api_route *const tables[] = { api_system_routes, api_zone_routes };
	struct api *api = xcalloc(1, sizeof(*api));
	api->opts = *opts;
	api->router = router_new();
	for (size_t t = 0; t < ARRAY_SIZE(tables); t++)
		for (const struct api_route *r = tables[t]; r->method; r++)
			if (router_add(api->router, r->method, r->pattern, r) < 0) {
				fprintf(stderr, "nubo: bad route %s %s\n", r->method, r->pattern);
				abort();
			}
	return api;
}

void api_free(struct api *api)
{
	if (!api)
		return;
	router_free(api->router);
	free(api);
}

struct store_conn *api_conn(struct api_ctx *ctx)
{
	if (!ctx->conn)
		ctx->conn = store_conn_get(ctx->api->opts.store);
	return ctx->conn;
}

const char *api_param(struct api_ctx *ctx, const char *name)
{
	return router_param(&ctx->match, name);
}

void api_reply_json(struct api_ctx *ctx, unsigned status, json_t *v)
{
	size_t len;
	char *s = json_req_dump(v, &len);
	json_decref(v);
	http_resp_take(ctx->req, status, json_ctype, s, len);
	http_resp_header(ctx->req, "Cache-Control", "no-store");
}

void api_reply_empty(struct api_ctx *ctx, unsigned status)
{
	http_resp_set(ctx->req, status, NULL, "", 0);
}

static void send_error(struct api_ctx *ctx, unsigned status, const char *code,
		       const char *field, const char *message)
{
	json_t *inner = json_pack("{s:s, s:s, s:s}", "code", code, "message", message,
				  "request_id", ctx->req->request_id);
	if (field && field[0])
		json_object_set_new(inner, "field", json_string(field));
	if (status >= 500)
		log_line(LOGL_ERROR, "request failed", "request_id", ctx->req->request_id,
			 "code", code, "error", message, NULL);
	api_reply_json(ctx, status, json_pack("{s:o}", "error", inner));
}

void api_reply_error(struct api_ctx *ctx)
{
	const struct err *e = &ctx->err;
	enum err_code code = e->code == ERR_NONE ? ERR_INTERNAL : e->code;
	if (code == ERR_BUSY || code == ERR_UNAVAILABLE)
		http_resp_header(ctx->req, "Retry-After", "1");
	send_error(ctx, status_of[code], err_code_name(code), e->field,
		   e->message[0] ? e->message : "internal error");
}

void api_fail(struct api_ctx *ctx, enum err_code code, const char *field, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char msg[sizeof(ctx->err.message)];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	err_set(&ctx->err, code, field, "%s", msg);
	api_reply_error(ctx);
}

json_t *api_body(struct api_ctx *ctx, const char *const allowed[])
{
	const struct buf *b = &ctx->req->body;
	ctx->body = json_req_parse(b->data ? b->data : "", b->len, &ctx->err);
	if (!ctx->body || json_req_only(ctx->body, allowed, &ctx->err) < 0) {
		api_reply_error(ctx);
		return NULL;
	}
	return ctx->body;
}

int api_query(struct api_ctx *ctx, const char *name, const char **ret)
{
	bool bad;
	*ret = http_req_query(ctx->req, name, &bad);
	if (bad) {
		api_fail(ctx, ERR_INVALID, name, "query parameter '%s' is badly percent-encoded",
			 name);
		return -1;
	}
	return 0;
}

/* A cursor is base64url("1:" key): versioned so its form can change. */
static char *cursor_encode(const char *key)
{
	char *raw = xasprintf("1:%s", key);
	char *c = base64url_encode(raw, strlen(raw));
	free(raw);
	return c;
}

int api_page_params(struct api_ctx *ctx, size_t *ret_limit, const char **ret_after)
{
	const char *limit = NULL, *cursor = NULL;
	if (api_query(ctx, "limit", &limit) < 0 || api_query(ctx, "cursor", &cursor) < 0)
		return -1;
	uint64_t n = API_PAGE_DEFAULT;
	if (limit && parse_u64(limit, 1, API_PAGE_MAX, &n) < 0) {
		api_fail(ctx, ERR_INVALID, "limit", "limit must be a whole number from 1 to %d",
			 API_PAGE_MAX);
		return -1;
	}
	*ret_limit = (size_t)n;
	*ret_after = NULL;
	if (cursor) {
		unsigned char *raw = NULL;
		size_t len = 0;
		if (strlen(cursor) > 1024 || base64url_decode(cursor, &raw, &len) < 0 || len < 2 ||
		    memcmp(raw, "1:", 2) != 0 || strlen((char *)raw) != len) {
			free(raw);
			api_fail(ctx, ERR_INVALID, "cursor",
				 "cursor is not one this API handed out; pass the 'next' value of "
				 "the previous page as it is");
			return -1;
		}
		*ret_after = arena_strdup(ctx->req->arena, (char *)raw + 2);
		free(raw);
	}
	return 0;
}

json_t *api_list(json_t *items, const char *last_key)
{
	json_t *next = json_null();
	if (last_key) {
		char *c = cursor_encode(last_key);
		next = json_string(c);
		free(c);
	}
	return json_pack("{s:o, s:o}", "items", items, "next", next);
}

static bool idem_key_ok(const char *k)
{
	size_t n = strlen(k);
	if (n == 0 || n > 255)
		return false;
	for (; *k; k++)
		if (*k < 0x20 || *k > 0x7e)
			return false;
	return true;
}

static void request_hash(struct http_req *req, char out[SHA256_HEX_SIZE])
{
	struct buf b;
	buf_init(&b, 0);
	buf_printf(&b, "%s\n%s\n", req->method, req->path);
	buf_append(&b, req->body.data ? req->body.data : "", req->body.len);
	sha256_hex(b.data, b.len, out);
	buf_release(&b);
}

static void replay(struct api_ctx *ctx, const struct store_idem *idem, const char *hash)
{
	if (strcmp(idem->request_hash, hash) != 0) {
		api_fail(ctx, ERR_IDEMPOTENCY, "Idempotency-Key",
			 "this Idempotency-Key was used with a different request; use a new key "
			 "for a new request");
		return;
	}
	http_resp_set(ctx->req, idem->status, idem->body[0] ? json_ctype : NULL, idem->body,
		      strlen(idem->body));
	if (idem->location)
		http_resp_header(ctx->req, "Location", idem->location);
	http_resp_header(ctx->req, "Idempotent-Replayed", "true");
}

static const char *resp_header(struct http_req *req, const char *name)
{
	for (struct http_header *h = req->resp_headers; h; h = h->next)
		if (str_eq_nocase(h->name, name))
			return h->value;
	return NULL;
}

/* Run the handler inside a transaction that also stores its answer. */
static void run_idempotent(struct api_ctx *ctx, const struct api_route *rt, const char *key)
{
	if (!idem_key_ok(key)) {
		api_fail(ctx, ERR_INVALID, "Idempotency-Key",
			 "Idempotency-Key must be 1 to 255 printable ASCII characters");
		return;
	}
	char hash[SHA256_HEX_SIZE];
	request_hash(ctx->req, hash);
	const char *scope = "";
	struct store_conn *c = api_conn(ctx);
	if (store_txn_begin(c) < 0) {
		api_fail(ctx, ERR_BUSY, "", "the store is busy; retry the request");
		return;
	}
	struct store_idem idem = { 0 };
	int r = store_idem_get(c, scope, key, API_IDEMPOTENCY_TTL_MS, &idem);
	if (r == 0) {
		store_txn_rollback(c);
		replay(ctx, &idem, hash);
		store_idem_release(&idem);
		return;
	}
	if (r != -ENOENT) {
		store_txn_rollback(c);
		api_fail(ctx, ERR_INTERNAL, "", "store error: %s", store_errmsg(c));
		return;
	}
	rt->fn(ctx);
	struct http_req *req = ctx->req;
	if (req->status == 0 || req->status >= 500) {
		store_txn_rollback(c);
		return;
	}
	str_copy(idem.request_hash, sizeof(idem.request_hash), hash);
	idem.status = req->status;
	idem.body = req->resp_body;
	idem.location = (char *)resp_header(req, "Location");
	idem.created_ms = time_now_ms();
	r = store_idem_put(c, scope, key, &idem);
	if (r == 0)
		r = store_txn_commit(c);
	else
		store_txn_rollback(c);
	if (r < 0) {
		req->resp_headers = NULL;
		api_fail(ctx, r == -EBUSY ? ERR_BUSY : ERR_INTERNAL, "",
			 "could not record the request: %s", store_errmsg(c));
	}
}

static void route_error(struct api_ctx *ctx, enum router_result rr)
{
	struct http_req *req = ctx->req;
	switch (rr) {
	case ROUTER_METHOD_NOT_ALLOWED: {
		char msg[128];
		str_printf(msg, sizeof(msg), "method %.16s is not allowed here; use %s",
			   req->method, ctx->match.allow);
		http_resp_header(req, "Allow", ctx->match.allow);
		send_error(ctx, 405, "MethodNotAllowed", "", msg);
		return;
	}
	case ROUTER_BAD_PATH:
		api_fail(ctx, ERR_INVALID, "", "the request path is badly percent-encoded");
		return;
	default:
		err_set(&ctx->err, ERR_NOT_FOUND, "", "no such endpoint: %.16s %.200s",
			req->method, req->path);
		api_reply_error(ctx);
		return;
	}
}

void api_handle(struct http_req *req, void *userdata)
{
	struct api_ctx ctx = { .api = userdata, .req = req };
	enum router_result rr = router_match(ctx.api->router, req->method, req->path, req->arena,
					     &ctx.match);
	if (rr != ROUTER_FOUND) {
		route_error(&ctx, rr);
		return;
	}
	const struct api_route *rt = ctx.match.data;
	req->route = rt->pattern;
	if (req->body_too_large) {
		api_fail(&ctx, ERR_TOO_LARGE, "", "the request body is larger than %zu bytes",
			 req->body.limit);
	} else {
		const char *key = http_req_header(req, "Idempotency-Key");
		if (key && strcmp(req->method, "POST") == 0)
			run_idempotent(&ctx, rt, key);
		else
			rt->fn(&ctx);
	}
	json_decref(ctx.body);
	store_conn_put(ctx.conn);
}

int api_housekeep(struct api *api)
{
	struct store_conn *c = store_conn_get(api->opts.store);
	int r = store_idem_purge(c, time_now_ms() - API_IDEMPOTENCY_TTL_MS);
	store_conn_put(c);
	return r;
}
