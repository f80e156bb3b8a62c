/* httpc: a small HTTP client over libcurl for nubo's agent and CLI: one
 * request, a JSON or raw body, a bearer token, a bounded response. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

struct httpc_resp {
	long status;     /* HTTP status, 0 when no answer came */
	struct buf body; /* the response body, bounded by the caller's limit */
	char error[256]; /* why there was no answer (connection refused...) */
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
