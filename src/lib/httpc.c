/* httpc: see httpc.h. A fresh easy handle per request keeps it simple and
 * thread-safe; the agent makes a few requests a second at most. */
#include "httpc.h"

#include <curl/curl.h>
#include <errno.h>
#include <string.h>

#include "util.h"

void httpc_global_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct buf *b = userdata;
	size_t n = size * nmemb;
	if (buf_append(b, ptr, n) < 0)
		return 0; /* over the limit: curl stops with a write error */
	return n;
}

int httpc_request(const char *method, const char *url, const char *bearer, const char *ctype,
		  const void *body, size_t body_len, unsigned timeout_s, size_t body_limit,
		  struct httpc_resp *ret)
{
	memset(ret, 0, sizeof(*ret));
	buf_init(&ret->body, body_limit);
	CURL *h = curl_easy_init();
	if (!h) {
		str_copy(ret->error, sizeof(ret->error), "cannot make a curl handle");
		return -EIO;
	}
	struct curl_slist *hdrs = NULL;
	char auth[256];
	if (bearer && str_printf(auth, sizeof(auth), "Authorization: Bearer %s", bearer))
		hdrs = curl_slist_append(hdrs, auth);
	if (ctype) {
		char ct[128];
		str_printf(ct, sizeof(ct), "Content-Type: %s", ctype);
		hdrs = curl_slist_append(hdrs, ct);
	}
	hdrs = curl_slist_append(hdrs, "Expect:");
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, (long)timeout_s);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &ret->body);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "nubo");
	if (body) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
	}
	CURLcode rc = curl_easy_perform(h);
	int r = 0;
	if (rc != CURLE_OK) {
		str_printf(ret->error, sizeof(ret->error), "%s", curl_easy_strerror(rc));
		r = -EIO;
	} else {
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &ret->status);
	}
	explicit_bzero(auth, sizeof(auth));
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(h);
	return r;
}
