/* httpc: see httpc.h. A fresh easy handle per request keeps it simple and
 * thread-safe; the agent makes a few requests a second at most. The cancel
 * check rides on libcurl's progress callback, which libcurl calls about
 * once a second even while nothing arrives (a long poll). */
#include "httpc.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

/* Set once before requests start; read by every transfer. */
static bool (*cancel_check)(void);

void httpc_global_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

void httpc_set_cancel(bool (*cancelled)(void))
{
	cancel_check = cancelled;
}

static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	(void)arg;
	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return cancel_check && cancel_check() ? 1 : 0;
}

/* Options every transfer shares: timeouts, no signals, the cancel check. */
static void common_opts(CURL *h, unsigned timeout_s)
{
	curl_easy_setopt(h, CURLOPT_TIMEOUT, (long)timeout_s);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "nubo");
	if (cancel_check) {
		curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
		curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	}
}

/* The return value and error text of a finished transfer. */
static int transfer_result(CURLcode rc, struct httpc_resp *ret)
{
	if (rc == CURLE_OK)
		return 0;
	if (rc == CURLE_ABORTED_BY_CALLBACK) {
		str_copy(ret->error, sizeof(ret->error), "cancelled");
		return -ECANCELED;
	}
	str_printf(ret->error, sizeof(ret->error), "%s", curl_easy_strerror(rc));
	return -EIO;
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
	common_opts(h, timeout_s);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &ret->body);
	if (body) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
	}
	int r = transfer_result(curl_easy_perform(h), ret);
	if (r == 0)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &ret->status);
	explicit_bzero(auth, sizeof(auth));
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(h);
	return r;
}

struct sink {
	FILE *f;          /* the temporary file */
	struct buf *err;  /* an error answer's body */
	long status;      /* known once headers are in */
	CURL *h;
};

static size_t to_file(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct sink *k = userdata;
	size_t n = size * nmemb;
	if (!k->status)
		curl_easy_getinfo(k->h, CURLINFO_RESPONSE_CODE, &k->status);
	if (k->status != 200)
		return buf_append(k->err, ptr, n) < 0 ? 0 : n;
	return fwrite(ptr, 1, n, k->f);
}

int httpc_download(const char *url, const char *bearer, const char *path, unsigned timeout_s,
		   struct httpc_resp *ret)
{
	memset(ret, 0, sizeof(*ret));
	buf_init(&ret->body, 64 * 1024);
	char *tmp = xasprintf("%s.part", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	CURL *h = curl_easy_init();
	if (!f || !h) {
		str_printf(ret->error, sizeof(ret->error), "cannot write %s", tmp);
		if (f)
			fclose(f);
		else if (fd >= 0)
			close(fd);
		if (h)
			curl_easy_cleanup(h);
		unlink(tmp);
		free(tmp);
		return -EIO;
	}
	struct sink k = { .f = f, .err = &ret->body, .h = h };
	struct curl_slist *hdrs = NULL;
	char auth[256];
	if (bearer && str_printf(auth, sizeof(auth), "Authorization: Bearer %s", bearer))
		hdrs = curl_slist_append(hdrs, auth);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	common_opts(h, timeout_s);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, to_file);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &k);
	int r = transfer_result(curl_easy_perform(h), ret);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &ret->status);
	bool flushed = fflush(f) == 0 && fsync(fileno(f)) == 0;
	fclose(f);
	if (r == 0 && ret->status == 200 && (!flushed || rename(tmp, path) < 0)) {
		str_printf(ret->error, sizeof(ret->error), "cannot store %s", path);
		r = -EIO;
	}
	if (r < 0 || ret->status != 200)
		unlink(tmp);
	explicit_bzero(auth, sizeof(auth));
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(h);
	free(tmp);
	return r;
}
