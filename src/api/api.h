/* api: the native REST API (/v1/...), /metrics and the web console's files. It authenticates each
 * request (bearer token or AWS Signature V4), checks the route's access
 * rule, routes it to its handler, reads JSON bodies strictly, maps domain
 * errors to HTTP statuses in one table, pages lists with opaque cursors,
 * replays answers to requests that carry an Idempotency-Key, and writes an
 * audit event for every mutating request. It runs no SQL: it calls domain
 * modules with a store connection it borrows per request. */
#pragma once

#include <stdbool.h>

#include "compute/compute.h"
#include "identity/identity.h"
#include "lib/http.h"
#include "lib/metrics.h"
#include "lib/notify.h"
#include "objects/objects.h"
#include "storage/storage.h"
#include "store/store.h"

struct api_opts {
	struct store *store;      /* borrowed; outlives the api */
	struct metrics *metrics;  /* borrowed; rendered at /metrics */
	const char *version;      /* release version, e.g. "0.1.0" */
	const char *commit;       /* source revision the binary was built from */
	const struct identity_settings *identity; /* borrowed */
	const struct storage_settings *storage;   /* borrowed */
	const char *console_dir;  /* where instance console logs are kept */
	const char *web_dir;      /* the web console's files; NULL or "": not served */
	bool metrics_public;      /* /metrics without authentication */
	int64_t host_down_after_ms; /* a host without heartbeat this long is down */
	struct sched *sched;      /* borrowed: the scheduler's capacity index */
	void (*wake_scheduler)(void *arg); /* called when an instance waits for a host */
	void *wake_arg;
	/* borrowed: one key per host id, bumped when that host's desired state
	 * changes; agents long-poll on it. NULL: no long polls */
	struct notify_board *board;
};

struct api;

/* Build the API and its routing table. Caller frees with api_free(). */
struct api *api_new(const struct api_opts *opts);
/* Free the API. Accepts NULL. */
void api_free(struct api *api);
/* Look at a request before its body: streamed routes (image uploads)
 * authenticate here and set where the body goes (an http_prepare_fn). */
void api_prepare(struct http_req *req, void *userdata);
/* Answer one HTTP request (an http_handler_fn; userdata is the api). */
void api_handle(struct http_req *req, void *userdata);
/* Delete idempotency records older than their 24 h life. Returns how many
 * were deleted, or a negative error. */
int api_housekeep(struct api *api);

/* ---- the S3 service (s3.c): its own listener, handler and errors ---- */

/* Largest S3 request body held in memory (XML documents; objects stream):
 * the S3 listener's body limit. */
#define S3_BODY_LIMIT (8u * 1024 * 1024)

struct s3_opts {
	struct store *store;      /* borrowed; outlives the service */
	const struct identity_settings *identity; /* borrowed */
	struct objects *objects;  /* borrowed: buckets' data backend */
	const char *domain;       /* "bucket.<domain>" is virtual-hosted addressing; "": none */
	const char *region;       /* the region GetBucketLocation names */
	int64_t upload_expiry_ms; /* multipart uploads older than this are aborted */
	struct metrics *metrics;  /* borrowed; object bytes in and out go here; may be NULL */
};

struct s3;

/* Build the S3 service. Caller frees with s3_free(). */
struct s3 *s3_new(const struct s3_opts *opts);
/* Free it. Accepts NULL. */
void s3_free(struct s3 *s3);
/* Look at an S3 request before its body (an http_prepare_fn; userdata is
 * the s3): PutObject authenticates here and streams its body. */
void s3_prepare(struct http_req *req, void *userdata);
/* Answer one S3 request (an http_handler_fn; userdata is the s3). */
void s3_handle(struct http_req *req, void *userdata);
/* Abort the multipart uploads older than the configured expiry. Returns
 * how many, or a negative error (logged). */
int s3_housekeep(struct s3 *s3);
