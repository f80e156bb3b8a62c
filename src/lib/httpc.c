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
#include <strings.h>
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

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct buf *b = userdata;
	size_t n = size * nmemb;
	if (buf_append(b, ptr, n) < 0)
		return 0; /* over the limit: curl stops with a write error */
	return n;
}

static size_t on_header(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct buf *b = userdata;
	size_t n = size * nmemb;
	if (n >= 5 && memcmp(ptr, "HTTP/", 5) == 0)
		buf_reset(b); /* a new answer (after a 100 Continue): keep only the last */
	if (buf_append(b, ptr, n) < 0)
		return 0;
	return n;
}

static size_t on_read(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	int fd = *(int *)userdata;
	ssize_t n;
	do
		n = read(fd, ptr, size * nmemb);
	while (n < 0 && errno == EINTR);
	return n < 0 ? CURL_READFUNC_ABORT : (size_t)n;
}

struct progress {
	httpc_progress_fn fn; /* or NULL */
	void *arg;
};

static int on_progress(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		       curl_off_t ulnow)
{
	struct progress *p = userdata;
	(void)dltotal;
	(void)dlnow;
	if (cancel_check && cancel_check())
		return 1;
	return p && p->fn ? p->fn(p->arg, (uint64_t)ulnow, (uint64_t)ultotal) : 0;
}

/* Options every transfer shares: timeouts, no signals, the progress and
 * cancel checks (prog may be NULL). */
static void common_opts(CURL *h, unsigned timeout_s, struct progress *prog)
{
	curl_easy_setopt(h, CURLOPT_TIMEOUT, (long)timeout_s);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "nubo");
	if (cancel_check || (prog && prog->fn)) {
		curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
		curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
		curl_easy_setopt(h, CURLOPT_XFERINFODATA, prog);
	}
}

/* The return value and error text of a finished transfer. */
static int transfer_result(CURLcode rc, struct httpc_resp *ret)
{
	if (rc == CURLE_OK)
		return 0;
	if (rc == CURLE_ABORTED_BY_CALLBACK && cancel_check && cancel_check()) {
		str_copy(ret->error, sizeof(ret->error), "cancelled");
		return -ECANCELED;
	}
	str_printf(ret->error, sizeof(ret->error), "%s", curl_easy_strerror(rc));
	return -EIO;
}

/* Set the request's body: from memory, streamed from a file, or none. */
static void set_body(CURL *h, const struct httpc_req *req, int *fd)
{
	if (req->upload_fd > 0) {
		*fd = req->upload_fd;
		curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
		curl_easy_setopt(h, CURLOPT_READDATA, fd);
		curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)req->upload_size);
	} else if (req->body) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, req->body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
	}
}

static struct curl_slist *make_headers(const struct httpc_req *req, char *auth, size_t authsz)
{
	struct curl_slist *hdrs = NULL;
	if (req->bearer && str_printf(auth, authsz, "Authorization: Bearer %s", req->bearer))
		hdrs = curl_slist_append(hdrs, auth);
	if (req->ctype) {
		char ct[128];
		str_printf(ct, sizeof(ct), "Content-Type: %s", req->ctype);
		hdrs = curl_slist_append(hdrs, ct);
	}
	for (size_t i = 0; req->headers && req->headers[i]; i++)
		hdrs = curl_slist_append(hdrs, req->headers[i]);
	return curl_slist_append(hdrs, "Expect:");
}

int httpc_send(const struct httpc_req *req, struct httpc_resp *ret)
{
	memset(ret, 0, sizeof(*ret));
	buf_init(&ret->body, req->body_limit);
	buf_init(&ret->headers, 64 * 1024);
	CURL *h = curl_easy_init();
	if (!h) {
		str_copy(ret->error, sizeof(ret->error), "cannot make a curl handle");
		return -EIO;
	}
	char auth[256] = "";
	struct curl_slist *hdrs = make_headers(req, auth, sizeof(auth));
	struct progress prog = { req->progress, req->progress_arg };
	int fd = -1;
	curl_easy_setopt(h, CURLOPT_URL, req->url);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req->method);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	common_opts(h, req->timeout_s, &prog);
	if (req->stall_s) {
		curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, (long)req->stall_s);
	}
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L); /* a vanished peer is noticed */
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &ret->body);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, &ret->headers);
	set_body(h, req, &fd);
	int r = transfer_result(curl_easy_perform(h), ret);
	if (r == 0)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &ret->status);
	explicit_bzero(auth, sizeof(auth));
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(h);
	return r;
}

bool httpc_resp_header(const struct httpc_resp *resp, const char *name, char *out, size_t outsz)
{
	size_t nlen = strlen(name);
	const char *p = resp->headers.data;
	while (p && *p) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		if (len > nlen && p[nlen] == ':' && strncasecmp(p, name, nlen) == 0) {
			const char *v = p + nlen + 1;
			const char *end = p + len;
			while (v < end && (*v == ' ' || *v == '\t'))
				v++;
			while (end > v && (end[-1] == '\r' || end[-1] == ' '))
				end--;
			if ((size_t)(end - v) >= outsz)
				return false;
			memcpy(out, v, (size_t)(end - v));
			out[end - v] = '\0';
			return true;
		}
		p = eol ? eol + 1 : NULL;
	}
	return false;
}

void httpc_resp_release(struct httpc_resp *ret)
{
	buf_release(&ret->body);
	buf_release(&ret->headers);
}

int httpc_request(const char *method, const char *url, const char *bearer, const char *ctype,
		  const void *body, size_t body_len, unsigned timeout_s, size_t body_limit,
		  struct httpc_resp *ret)
{
	struct httpc_req req = { .method = method, .url = url, .bearer = bearer, .ctype = ctype,
				 .body = body, .body_len = body_len, .timeout_s = timeout_s,
				 .body_limit = body_limit };
	int r = httpc_send(&req, ret);
	buf_release(&ret->headers); /* callers of httpc_request release only the body */
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
	common_opts(h, timeout_s, NULL);
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
