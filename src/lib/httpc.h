/* httpc: a small HTTP client over libcurl for nubo's agent and CLI: one
 * request, a JSON or raw body, a bearer token, a bounded response. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct httpc_resp {
	long status;        /* HTTP status, 0 when no answer came */
	struct buf body;    /* the response body, bounded by the caller's limit */
	struct buf headers; /* raw response header lines (httpc_send only) */
	char error[256];    /* why there was no answer (connection refused...) */
};

/* Called while a request runs with the bytes sent so far and the total
 * (0 when unknown); return non-zero to abort the request. */
typedef int (*httpc_progress_fn)(void *arg, uint64_t sent, uint64_t total);

/* One request for httpc_send; zero-initialise and set what applies. */
struct httpc_req {
	const char *method;         /* GET, POST, PUT... */
	const char *url;            /* the whole URL */
	const char *bearer;         /* token for Authorization: Bearer, or NULL */
	const char *ctype;          /* Content-Type of the body, or NULL */
	const void *body;           /* in-memory body (borrowed), or NULL */
	size_t body_len;            /* bytes of body */
	int upload_fd;              /* when > 0: stream the body from this fd instead */
	uint64_t upload_size;       /* bytes to send from upload_fd */
	const char *const *headers; /* extra "Name: value" lines, NULL-terminated, or NULL */
	unsigned timeout_s;         /* whole-request limit in seconds; 0: none */
	unsigned stall_s;           /* give up after this long without a byte; 0: never */
	size_t body_limit;          /* largest response body kept */
	httpc_progress_fn progress; /* upload progress, or NULL */
	void *progress_arg;         /* passed to progress */
};

/* Call once before any thread uses httpc (libcurl's global init). */
void httpc_global_init(void);
/* Make every later request and download end early (-ECANCELED, error
 * "cancelled") as soon as cancelled() returns true; it is asked about once
 * a second while a transfer waits, more often while data flows. NULL: never.
 * Set it before requests start. */
void httpc_set_cancel(bool (*cancelled)(void));
/* GET url into the file at path (created 0644; replaced only when the
 * whole body arrived with status 200). Fills ret (its body is empty except
 * for an error answer). Returns 0 when an answer came, or -EIO
 * (-ECANCELED, see httpc_set_cancel). */
int httpc_download(const char *url, const char *bearer, const char *path, unsigned timeout_s,
		   struct httpc_resp *ret);
/* Send method url with body (may be NULL) of content type ctype and an
 * optional bearer token; wait at most timeout_s. Fills ret (caller
 * releases ret->body with buf_release; its limit is body_limit). Returns 0
 * when an answer came (any status), or -EIO (-ECANCELED, see
 * httpc_set_cancel) with ret->error set. */
int httpc_request(const char *method, const char *url, const char *bearer, const char *ctype,
		  const void *body, size_t body_len, unsigned timeout_s, size_t body_limit,
		  struct httpc_resp *ret);
/* Send req and wait for the answer. Fills ret (caller releases it with
 * httpc_resp_release), including the response headers. Returns 0 when an
 * answer came (any status), or -EIO with ret->error set. */
int httpc_send(const struct httpc_req *req, struct httpc_resp *ret);
/* Copy the value of response header name (case-insensitive) into out of
 * size outsz. Returns false when it is absent or did not fit. */
bool httpc_resp_header(const struct httpc_resp *resp, const char *name, char *out, size_t outsz);
/* Free what ret holds (body and headers). */
void httpc_resp_release(struct httpc_resp *ret);
