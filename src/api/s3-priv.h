/* s3-priv.h: what the S3 service's files share. Not for other modules. */
#pragma once

#include <stdbool.h>

#include "api.h"
#include "lib/buf.h"
#include "lib/awschunked.h"
#include "lib/err.h"
#include "lib/sigv4.h"
#include "objects/objects.h"

#define S3_XMLNS "http://s3.amazonaws.com/doc/2006-03-01/"

struct s3 {
	struct s3_opts opts; /* copy; pointers borrowed */
};

struct s3_upload;

/* Everything one S3 request's handler works with (arena memory). */
struct s3_ctx {
	struct s3 *s3;
	struct http_req *req;
	struct store_conn *conn;    /* borrowed lazily by s3_conn(), returned at the end */
	struct err err;             /* a domain error to report */
	const char *bucket;         /* addressed bucket (decoded), or NULL */
	const char *key;            /* addressed key (decoded), or NULL */
	bool virtual_host;          /* the bucket came from the Host header */
	bool authenticated;         /* principal is valid */
	struct principal principal; /* who makes the request */
	char payload_hash[72];      /* what the client signed as the payload hash */
	struct sigv4_auth auth;     /* the request's verified signature */
	bool chunked;               /* the body is aws-chunked (x-amz-content-sha256 STREAMING-*) */
	enum awschunked_mode chunk_mode; /* which form, when chunked */
	unsigned char signing_key[SIGV4_KEY_SIZE]; /* signs the chunks (signed modes) */
	struct s3_upload *upload;   /* a streamed PutObject's state */
	const char *audit_action;   /* a bucket-level change: its audit action */
	bool audited;               /* its audit event is written */
};

/* Add n to the byte counter name ("nubo_s3_sent_bytes_total"...). */
void s3_count_bytes(struct s3_ctx *ctx, const char *name, uint64_t n);
/* The store connection for this request (borrowed on first use). */
struct store_conn *s3_conn(struct s3_ctx *ctx);
/* Answer an S3 error: status, AWS code and a message. */
void s3_error(struct s3_ctx *ctx, unsigned status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Answer ctx->err as the S3 error that fits it; what names the missing
 * thing for ERR_NOT_FOUND ("NoSuchBucket", "NoSuchKey"...). */
void s3_error_err(struct s3_ctx *ctx, const char *not_found_code);
/* Answer status with the XML document in b (taken over, b is released). */
void s3_reply_xml(struct s3_ctx *ctx, unsigned status, struct buf *b);
/* Start an XML document whose root element is root (with the S3 xmlns). */
void s3_xml_begin(struct buf *b, const char *root);
/* Append <name>s</name> with s URL-encoded when url is set, else escaped. */
void s3_xml_key(struct buf *b, const char *name, const char *s, bool url);
/* Format Unix ms as ISO 8601 with milliseconds ("2006-02-03T16:45:09.000Z"). */
void s3_time_iso(int64_t ms, char out[32]);
/* Decoded query parameter name, or NULL (a badly encoded one counts as
 * absent). */
const char *s3_query(struct s3_ctx *ctx, const char *name);
/* True when the query holds parameter name (with or without a value). */
bool s3_has_query(struct s3_ctx *ctx, const char *name);
/* Look up ctx->bucket into ret and check the caller may read it (or, with
 * write, change it); an anonymous caller may only list a public-read
 * bucket. Answers NoSuchBucket / AccessDenied and returns -1. */
int s3_bucket_access(struct s3_ctx *ctx, bool write, struct bucket *ret);
/* Record an audit event for a bucket-level action (in the caller's
 * transaction when one is open). Returns 0 or a negative store error. */
int s3_audit(struct s3_ctx *ctx, const char *action, const char *bucket, const char *project,
	     unsigned status);
/* The owner element of a listing: the project as ID and DisplayName. */
void s3_xml_owner(struct s3_ctx *ctx, struct buf *b, const char *project_id);
/* The optional x-amz-acl header into *ret (NULL when absent). Answers
 * NotImplemented for a canned ACL other than private and public-read, and
 * returns -1. */
int s3_acl_header(struct s3_ctx *ctx, const char **ret);
/* Check a key (length, UTF-8). Answers 400 and returns -1 when bad. */
int s3_key_check(struct s3_ctx *ctx, const char *key);
/* Check the request body against its Content-MD5 or x-amz-checksum-*
 * header; with required, one of them must be there. -1 after answering
 * (InvalidRequest, InvalidDigest, BadDigest). */
int s3_body_digest_check(struct s3_ctx *ctx, bool required);
/* Check the optional Content-MD5 header (base64 of 16 bytes) into md5
 * (has_md5 tells). Answers InvalidDigest and returns -1 when malformed. */
int s3_content_md5(struct s3_ctx *ctx, unsigned char md5[16], bool *has_md5);

/* Operations (s3_buckets.c). */
void s3_list_buckets(struct s3_ctx *ctx);
void s3_bucket_create(struct s3_ctx *ctx);
void s3_bucket_delete(struct s3_ctx *ctx);
void s3_bucket_head(struct s3_ctx *ctx);
void s3_bucket_location(struct s3_ctx *ctx);
void s3_bucket_versioning_get(struct s3_ctx *ctx);
void s3_bucket_versioning_put(struct s3_ctx *ctx);
void s3_bucket_acl_get(struct s3_ctx *ctx);
void s3_bucket_acl_put(struct s3_ctx *ctx);
void s3_object_acl_get(struct s3_ctx *ctx);
void s3_object_acl_put(struct s3_ctx *ctx);
void s3_bucket_policy_get(struct s3_ctx *ctx);
void s3_bucket_policy_put(struct s3_ctx *ctx);
void s3_bucket_policy_delete(struct s3_ctx *ctx);
void s3_bucket_cors_get(struct s3_ctx *ctx);
void s3_bucket_cors_put(struct s3_ctx *ctx);
void s3_bucket_cors_delete(struct s3_ctx *ctx);
/* OPTIONS: a CORS preflight, answered from the bucket's rules (no
 * credentials needed). */
void s3_cors_preflight(struct s3_ctx *ctx);
/* Add the CORS headers of the bucket's matching rule to an answer given to
 * a request with an Origin header. */
void s3_cors_headers(struct s3_ctx *ctx);
void s3_list_objects(struct s3_ctx *ctx, bool v2);
void s3_list_versions(struct s3_ctx *ctx);

/* Operations (s3_objects.c). */
/* GetObject and HeadObject (the server sends no body for HEAD). */
void s3_object_get(struct s3_ctx *ctx);
void s3_object_delete(struct s3_ctx *ctx);
void s3_object_copy(struct s3_ctx *ctx);
/* UploadPartCopy: a part copied from (a range of) another object. */
void s3_part_copy(struct s3_ctx *ctx);
void s3_delete_objects(struct s3_ctx *ctx);
/* Read the content headers and x-amz-meta-* of the request into obj. -1
 * after answering 400. */
int s3_object_headers(struct s3_ctx *ctx, struct object *obj);
/* Answer a stored version's ETag and version id headers. */
void s3_version_headers(struct s3_ctx *ctx, const struct bucket *b, const struct object *obj);

/* Multipart uploads (s3_multipart.c). */
void s3_mpu_create(struct s3_ctx *ctx);
void s3_mpu_complete(struct s3_ctx *ctx);
void s3_mpu_abort(struct s3_ctx *ctx);
void s3_mpu_list_parts(struct s3_ctx *ctx);
void s3_mpu_list(struct s3_ctx *ctx);
/* PutObject (or UploadPart, with part) before its body: checks, and where
 * the body goes. */
void s3_object_put_prepare(struct s3_ctx *ctx, bool part);
/* PutObject or UploadPart once its body is in. */
void s3_object_put_finish(struct s3_ctx *ctx);
/* The request ended: drop an upload that did not finish. */
void s3_object_put_abort(struct s3_ctx *ctx);
