/* s3: the S3-compatible service, on a listener of its own (see api.h).
 *
 * A request's life: find the bucket and key it addresses (virtual-hosted
 * "bucket.<domain>" in the Host header, else path-style "/bucket/key"),
 * name the operation from method, bucket, key and query, authenticate it
 * (SigV4 in the Authorization header or a presigned query, service "s3",
 * with the access keys of identity; the key's project owns what it makes)
 * and run it. Errors are S3's XML documents with AWS codes.
 *
 * PutObject streams: s3_prepare runs once the headers are in,
 * authenticates against the payload hash the client claims and sets the
 * sink that writes the body to the data backend; s3_handle finishes it
 * once the body is in, checking the claimed hashes against the bytes.
 * Every other request has its (small) body buffered, and a hex payload
 * hash is checked against it before the signature.
 *
 * Anonymous requests are refused (AccessDenied) until bucket ACLs and
 * policies exist. Bucket-level changes are audited; object operations are
 * not (they are data, and counted in the request metrics). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/checksum.h"
#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/router.h"
#include "lib/sigv4.h"
#include "lib/timeutil.h"
#include "lib/s3xml.h"
#include "lib/util.h"
#include "s3-priv.h"

struct s3 *s3_new(const struct s3_opts *opts)
{
	struct s3 *s3 = xcalloc(1, sizeof(*s3));
	s3->opts = *opts;
	if (opts->metrics) {
		metrics_describe(opts->metrics, "nubo_s3_received_bytes_total", METRIC_COUNTER,
				 "Object data bytes stored by PutObject and UploadPart.");
		metrics_describe(opts->metrics, "nubo_s3_sent_bytes_total", METRIC_COUNTER,
				 "Object data bytes answered by GetObject.");
		metrics_counter_add(opts->metrics, "nubo_s3_received_bytes_total", "", 0);
		metrics_counter_add(opts->metrics, "nubo_s3_sent_bytes_total", "", 0);
	}
	return s3;
}

void s3_free(struct s3 *s3)
{
	free(s3);
}

int s3_housekeep(struct s3 *s3)
{
	struct store_conn *c = store_conn_get(s3->opts.store);
	struct err err = { 0 };
	int r = multipart_expire(s3->opts.objects, c, time_now_ms() - s3->opts.upload_expiry_ms,
				 &err);
	store_conn_put(c);
	if (r < 0)
		log_warn("housekeeping: expiring multipart uploads failed: %s", err.message);
	else if (r > 0)
		log_info("housekeeping: aborted %d multipart uploads older than %llds", r,
			 (long long)(s3->opts.upload_expiry_ms / 1000));
	return r;
}

void s3_count_bytes(struct s3_ctx *ctx, const char *name, uint64_t n)
{
	if (ctx->s3->opts.metrics)
		metrics_counter_add(ctx->s3->opts.metrics, name, "", (double)n);
}

struct store_conn *s3_conn(struct s3_ctx *ctx)
{
	if (!ctx->conn)
		ctx->conn = store_conn_get(ctx->s3->opts.store);
	return ctx->conn;
}

/* ---- XML and times ---- */

void s3_xml_key(struct buf *b, const char *name, const char *s, bool url)
{
	if (!url) {
		s3xml_element(b, name, s);
		return;
	}
	buf_printf(b, "<%s>", name);
	sigv4_uri_encode(b, s, strlen(s), true);
	buf_printf(b, "</%s>", name);
}

void s3_xml_begin(struct buf *b, const char *root)
{
	buf_init(b, 0);
	s3xml_declaration(b);
	buf_printf(b, "<%s xmlns=\"" S3_XMLNS "\">", root);
}

void s3_reply_xml(struct s3_ctx *ctx, unsigned status, struct buf *b)
{
	size_t len;
	char *s = buf_detach(b, &len);
	http_resp_take(ctx->req, status, "application/xml", s, len);
}

void s3_time_iso(int64_t ms, char out[32])
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	snprintf(out, 32, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", (tm.tm_year + 1900) % 10000,
		 (tm.tm_mon + 1) % 100, tm.tm_mday % 100, tm.tm_hour % 100, tm.tm_min % 100,
		 tm.tm_sec % 100, (int)(ms % 1000));
}

/* ---- errors ---- */

void s3_error(struct s3_ctx *ctx, unsigned status, const char *code, const char *fmt, ...)
{
	char msg[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	str_utf8_fix(msg);
	struct buf b;
	buf_init(&b, 0);
	s3xml_declaration(&b);
	buf_puts(&b, "<Error>");
	s3xml_element(&b, "Code", code);
	s3xml_element(&b, "Message", msg);
	if (ctx->bucket)
		s3xml_element(&b, "BucketName", ctx->bucket);
	if (ctx->key)
		s3xml_element(&b, "Key", ctx->key);
	s3xml_element(&b, "Resource", ctx->req->path);
	s3xml_element(&b, "RequestId", ctx->req->request_id);
	buf_puts(&b, "</Error>");
	if (status >= 500 && status != 501)
		log_line(LOGL_ERROR, "s3 request failed", "request_id", ctx->req->request_id,
			 "code", code, "error", msg, NULL);
	ctx->req->resp_headers = NULL;
	http_resp_header(ctx->req, "x-amz-request-id", ctx->req->request_id);
	s3_reply_xml(ctx, status, &b);
}

void s3_error_err(struct s3_ctx *ctx, const char *not_found_code)
{
	const struct err *e = &ctx->err;
	const char *m = e->message[0] ? e->message : "internal error";
	switch (e->code) {
	case ERR_NOT_FOUND: {
		static const char *const texts[][2] = {
			{ "NoSuchBucket", "The specified bucket does not exist" },
			{ "NoSuchKey", "The specified key does not exist." },
			{ "NoSuchVersion", "The specified version does not exist." },
		};
		for (size_t i = 0; i < ARRAY_SIZE(texts); i++)
			if (strcmp(not_found_code, texts[i][0]) == 0)
				m = texts[i][1];
		s3_error(ctx, 404, not_found_code, "%s", m);
		return;
	}
	case ERR_INVALID:
	case ERR_MALFORMED:
		s3_error(ctx, 400, "InvalidArgument", "%s", m);
		return;
	case ERR_QUOTA:
		s3_error(ctx, 403, "QuotaExceeded", "%s", m);
		return;
	case ERR_FORBIDDEN:
	case ERR_UNAUTHORIZED:
		s3_error(ctx, 403, "AccessDenied", "%s", m);
		return;
	case ERR_CONFLICT:
		s3_error(ctx, 409, "OperationAborted", "%s", m);
		return;
	case ERR_TOO_LARGE:
		s3_error(ctx, 400, "EntityTooLarge", "%s", m);
		return;
	case ERR_BUSY:
	case ERR_UNAVAILABLE:
		http_resp_header(ctx->req, "Retry-After", "1");
		s3_error(ctx, 503, "SlowDown", "%s", m);
		return;
	default:
		s3_error(ctx, 500, "InternalError", "%s", m);
	}
}

/* ---- requests ---- */

const char *s3_query(struct s3_ctx *ctx, const char *name)
{
	bool bad;
	const char *v = http_req_query(ctx->req, name, &bad);
	return bad ? NULL : v;
}

bool s3_has_query(struct s3_ctx *ctx, const char *name)
{
	const struct http_kv *q;
	size_t n = http_req_query_raw(ctx->req, &q);
	for (size_t i = 0; i < n; i++)
		if (strcmp(q[i].key, name) == 0)
			return true;
	return false;
}

int s3_acl_header(struct s3_ctx *ctx, const char **ret)
{
	const char *v = http_req_header(ctx->req, "x-amz-acl");
	*ret = v;
	if (v && !objects_acl_valid(v)) {
		s3_error(ctx, 501, "NotImplemented",
			 "the canned ACL '%.40s' is not supported: use private or public-read", v);
		return -1;
	}
	for (const char *const *g = (const char *const[]){ "x-amz-grant-read",
		     "x-amz-grant-write", "x-amz-grant-read-acp", "x-amz-grant-write-acp",
		     "x-amz-grant-full-control", NULL };
	     *g; g++)
		if (http_req_header(ctx->req, *g)) {
			s3_error(ctx, 501, "NotImplemented",
				 "grant headers (%s) are not supported: use a canned ACL", *g);
			return -1;
		}
	return 0;
}

int s3_key_check(struct s3_ctx *ctx, const char *key)
{
	if (strlen(key) > OBJECT_KEY_MAX) {
		s3_error(ctx, 400, "KeyTooLongError", "a key is at most %d bytes", OBJECT_KEY_MAX);
		return -1;
	}
	char *copy = arena_strdup(ctx->req->arena, key);
	str_utf8_fix(copy);
	if (strcmp(copy, key) != 0) {
		s3_error(ctx, 400, "InvalidArgument", "a key must be UTF-8");
		return -1;
	}
	return 0;
}

int s3_content_md5(struct s3_ctx *ctx, unsigned char md5[16], bool *has_md5)
{
	const char *v = http_req_header(ctx->req, "Content-MD5");
	unsigned char raw[CHECKSUM_MAX];
	*has_md5 = false;
	if (!v)
		return 0;
	if (checksum_parse_base64(CHECKSUM_MD5, v, raw) < 0) {
		s3_error(ctx, 400, "InvalidDigest", "the Content-MD5 you specified is not valid");
		return -1;
	}
	memcpy(md5, raw, 16);
	*has_md5 = true;
	return 0;
}

int s3_body_digest_check(struct s3_ctx *ctx, bool required)
{
	const struct buf *body = &ctx->req->body;
	unsigned char md5[16], want[CHECKSUM_MAX], got[CHECKSUM_MAX];
	bool has_md5;
	enum checksum_algo algo = CHECKSUM_NONE;
	if (s3_content_md5(ctx, md5, &has_md5) < 0)
		return -1;
	for (enum checksum_algo a = CHECKSUM_CRC32; a <= CHECKSUM_SHA256; a++) {
		const char *v = http_req_header(ctx->req, checksum_header(a));
		if (!v)
			continue;
		if (checksum_parse_base64(a, v, want) < 0) {
			s3_error(ctx, 400, "InvalidRequest", "Value for %s header is invalid.",
				 checksum_header(a));
			return -1;
		}
		algo = a;
	}
	if (required && !has_md5 && algo == CHECKSUM_NONE) {
		s3_error(ctx, 400, "InvalidRequest",
			 "Missing required header for this request: Content-MD5 (or an "
			 "x-amz-checksum-* header)");
		return -1;
	}
	const char *data = body->data ? body->data : "";
	if (has_md5 && (checksum_buf(CHECKSUM_MD5, data, body->len, got) != 16 ||
			memcmp(got, md5, 16) != 0)) {
		s3_error(ctx, 400, "BadDigest",
			 "The Content-MD5 you specified did not match what we received.");
		return -1;
	}
	if (algo != CHECKSUM_NONE) {
		size_t n = checksum_buf(algo, data, body->len, got);
		if (memcmp(got, want, n) != 0) {
			s3_error(ctx, 400, "BadDigest",
				 "The %s you specified did not match the calculated checksum.",
				 checksum_algo_name(algo));
			return -1;
		}
	}
	return 0;
}

int s3_bucket_access(struct s3_ctx *ctx, bool write, struct bucket *ret)
{
	if (bucket_get(s3_conn(ctx), ctx->bucket, ret, &ctx->err) < 0) {
		s3_error_err(ctx, "NoSuchBucket");
		return -1;
	}
	const struct principal *p = &ctx->principal;
	if (!ctx->authenticated) {
		if (write || strcmp(ret->acl, "public-read") != 0) {
			s3_error(ctx, 403, "AccessDenied", "Access Denied");
			return -1;
		}
		return 0;
	}
	bool own = p->system_admin || strcmp(ret->project_id, p->project_id) == 0;
	if (!own) {
		s3_error(ctx, 403, "AccessDenied", "Access Denied");
		return -1;
	}
	if (write && !p->system_admin && p->role < ROLE_MEMBER) {
		s3_error(ctx, 403, "AccessDenied",
			 "changing a bucket or its objects needs the member role in its project");
		return -1;
	}
	return 0;
}

int s3_audit(struct s3_ctx *ctx, const char *action, const char *bucket, const char *project,
	     unsigned status)
{
	struct audit_event ev = { 0 };
	const struct principal *p = &ctx->principal;
	str_copy(ev.user_id, sizeof(ev.user_id), p->user_id);
	str_copy(ev.user_name, sizeof(ev.user_name), p->user_name);
	str_copy(ev.project_id, sizeof(ev.project_id), project ? project : p->project_id);
	str_copy(ev.source, sizeof(ev.source), ctx->req->peer);
	str_copy(ev.request_id, sizeof(ev.request_id), ctx->req->request_id);
	str_copy(ev.action, sizeof(ev.action), action);
	str_copy(ev.resource_type, sizeof(ev.resource_type), "bucket");
	str_copy(ev.resource_id, sizeof(ev.resource_id), bucket);
	str_copy(ev.outcome, sizeof(ev.outcome), status < 400 ? "success" : "failure");
	ev.status = status;
	struct err e = { 0 };
	ctx->audited = true;
	int r = audit_record(s3_conn(ctx), &ev, &e);
	if (r < 0)
		log_line(LOGL_ERROR, "audit event not written", "request_id",
			 ctx->req->request_id, "action", action, "error", e.message, NULL);
	return r;
}

void s3_xml_owner(struct s3_ctx *ctx, struct buf *b, const char *project_id)
{
	buf_puts(b, "<Owner>");
	s3xml_element(b, "ID", project_id);
	s3xml_element(b, "DisplayName",
		    strcmp(project_id, ctx->principal.project_id) == 0 ? ctx->principal.project_name
								     : project_id);
	buf_puts(b, "</Owner>");
}

/* ---- addressing ---- */

/* Find bucket and key from the Host header and the path. Returns 0, or -1
 * after answering 400. */
static int address(struct s3_ctx *ctx)
{
	struct http_req *req = ctx->req;
	struct objects_address a;
	if (objects_address_parse(req->arena, http_req_header(req, "Host"), req->path,
				  ctx->s3->opts.domain, &a) < 0) {
		s3_error(ctx, 400, "InvalidURI", "the request path is badly percent-encoded");
		return -1;
	}
	ctx->bucket = a.bucket;
	ctx->key = a.key;
	ctx->virtual_host = a.virtual_host;
	return 0;
}

/* ---- authentication ---- */

static const char *header_of(void *hctx, const char *name)
{
	return http_req_header(hctx, name);
}

/* The payload hash the request signs: checked against the buffered body,
 * or (streaming) taken as claimed and checked later. -1 after answering. */
static int payload_hash(struct s3_ctx *ctx, bool streaming, bool presigned)
{
	struct http_req *req = ctx->req;
	const char *claimed = http_req_header(req, "X-Amz-Content-SHA256");
	if (presigned && !claimed) {
		str_copy(ctx->payload_hash, sizeof(ctx->payload_hash), SIGV4_UNSIGNED_PAYLOAD);
		return 0;
	}
	if (!claimed) {
		s3_error(ctx, 400, "InvalidRequest",
			 "Missing required header for this request: x-amz-content-sha256");
		return -1;
	}
	if (str_starts_with(claimed, "STREAMING-")) {
		if (awschunked_parse_mode(claimed, &ctx->chunk_mode) < 0) {
			s3_error(ctx, 501, "NotImplemented",
				 "the payload signing %.60s is not supported; use "
				 "STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER], "
				 "STREAMING-UNSIGNED-PAYLOAD-TRAILER, a hex SHA-256 or "
				 "UNSIGNED-PAYLOAD",
				 claimed);
			return -1;
		}
		if (!streaming) {
			s3_error(ctx, 400, "InvalidRequest",
				 "an aws-chunked body is only accepted by PutObject and UploadPart");
			return -1;
		}
		ctx->chunked = true;
		str_copy(ctx->payload_hash, sizeof(ctx->payload_hash), claimed);
		return 0;
	}
	if (strcmp(claimed, SIGV4_UNSIGNED_PAYLOAD) != 0 && !sha256_hex_valid(claimed)) {
		s3_error(ctx, 400, "InvalidArgument",
			 "x-amz-content-sha256 must be a lower-case hex SHA-256 or UNSIGNED-PAYLOAD");
		return -1;
	}
	str_copy(ctx->payload_hash, sizeof(ctx->payload_hash), claimed);
	if (streaming || !sha256_hex_valid(claimed))
		return 0;
	char actual[SHA256_HEX_SIZE];
	sha256_hex(req->body.data ? req->body.data : "", req->body.len, actual);
	if (strcmp(actual, claimed) != 0) {
		s3_error(ctx, 400, "XAmzContentSHA256Mismatch",
			 "The provided 'x-amz-content-sha256' header does not match what was "
			 "computed.");
		return -1;
	}
	return 0;
}

/* Answer an authentication failure as S3 names it. */
static void auth_error(struct s3_ctx *ctx)
{
	const struct err *e = &ctx->err;
	if (e->code != ERR_UNAUTHORIZED) {
		s3_error_err(ctx, "InvalidAccessKeyId");
		return;
	}
	if (strcmp(e->field, "X-Amz-Credential") == 0)
		s3_error(ctx, 403, "InvalidAccessKeyId",
			 "The AWS Access Key Id you provided does not exist in our records.");
	else if (strcmp(e->field, "X-Amz-Date") == 0)
		s3_error(ctx, 403, "RequestTimeTooSkewed", "%s", e->message);
	else if (strcmp(e->field, "X-Amz-Expires") == 0)
		s3_error(ctx, 403, "AccessDenied", "Request has expired");
	else
		s3_error(ctx, 403, "SignatureDoesNotMatch",
			 "The request signature we calculated does not match the signature you "
			 "provided. Check your key and signing method.");
}

/* The sub-resources a SigV2 signature covers (as botocore lists them). */
static const char *const sigv2_subresources[] = {
	"accelerate", "acl", "analytics", "cors", "defaultObjectAcl", "delete", "inventory",
	"lifecycle", "location", "logging", "metrics", "notification", "object-lock", "partNumber",
	"policy", "replication", "requestPayment", "response-cache-control",
	"response-content-disposition", "response-content-encoding", "response-content-language",
	"response-content-type", "response-expires", "restore", "select", "select-type",
	"storageClass", "tagging", "torrent", "uploadId", "uploads", "versionId", "versioning",
	"versions", "website",
};

static int kv_cmp(const void *a, const void *b)
{
	return strcmp(((const struct http_kv *)a)->key, ((const struct http_kv *)b)->key);
}

/* Append the x-amz-* headers and query parameters as SigV2 canonicalises
 * them: lower-case names, sorted, "name:value\n". */
static void sigv2_amz_headers(struct s3_ctx *ctx, struct buf *b)
{
	struct http_req *req = ctx->req;
	const struct http_kv *h, *q;
	size_t nh = http_req_headers(req, &h), nq = http_req_query_raw(req, &q), n = 0;
	struct http_kv *all = arena_alloc(req->arena, (nh + nq + 1) * sizeof(*all));
	for (size_t i = 0; i < nh + nq; i++) {
		const struct http_kv *kv = i < nh ? &h[i] : &q[i - nh];
		char *name = arena_strdup(req->arena, kv->key);
		str_lower(name);
		if (!str_starts_with(name, "x-amz-") || !kv->value)
			continue;
		const char *v = i < nh ? kv->value : router_unescape(req->arena, kv->value,
								     strlen(kv->value));
		all[n].key = name;
		all[n++].value = v ? v : "";
	}
	qsort(all, n, sizeof(*all), kv_cmp);
	for (size_t i = 0; i < n; i++)
		buf_printf(b, "%s:%s\n", all[i].key, all[i].value);
}

/* Append the resource a SigV2 signature covers: the path with the bucket
 * (also when virtual-hosted), then the sub-resources, sorted. */
static void sigv2_resource(struct s3_ctx *ctx, struct buf *b)
{
	struct http_req *req = ctx->req;
	const struct http_kv *q;
	size_t nq = http_req_query_raw(req, &q), n = 0;
	struct http_kv *sub = arena_alloc(req->arena, (nq + 1) * sizeof(*sub));
	if (ctx->virtual_host)
		buf_printf(b, "/%s", ctx->bucket);
	buf_puts(b, req->path);
	for (size_t i = 0; i < nq; i++)
		for (size_t j = 0; j < ARRAY_SIZE(sigv2_subresources); j++)
			if (strcmp(q[i].key, sigv2_subresources[j]) == 0) {
				sub[n].key = q[i].key;
				sub[n++].value = q[i].value ? router_unescape(req->arena, q[i].value,
									   strlen(q[i].value))
							    : NULL;
			}
	qsort(sub, n, sizeof(*sub), kv_cmp);
	for (size_t i = 0; i < n; i++)
		buf_printf(b, "%c%s%s%s", i ? '&' : '?', sub[i].key, sub[i].value ? "=" : "",
			   sub[i].value ? sub[i].value : "");
}

/* A presigned URL of Signature Version 2 (AWSAccessKeyId, Expires,
 * Signature: what boto3 presigns by default). 0 when it holds; -1 after
 * answering. */
static int sigv2_presigned(struct s3_ctx *ctx)
{
	struct http_req *req = ctx->req;
	const char *id = s3_query(ctx, "AWSAccessKeyId"), *sig = s3_query(ctx, "Signature");
	const char *exp = s3_query(ctx, "Expires");
	const char *md5 = http_req_header(req, "Content-MD5");
	const char *type = http_req_header(req, "Content-Type");
	int64_t expires;
	if (!id || !sig || !exp || parse_i64(exp, 0, INT64_MAX / 1000, &expires) < 0) {
		s3_error(ctx, 403, "AccessDenied",
			 "Query-string authentication requires the Signature, Expires and "
			 "AWSAccessKeyId parameters");
		return -1;
	}
	struct buf b;
	buf_init(&b, 0);
	buf_printf(&b, "%s\n%s\n%s\n%s\n", req->method, md5 ? md5 : "", type ? type : "", exp);
	sigv2_amz_headers(ctx, &b);
	sigv2_resource(ctx, &b);
	int r = auth_sigv2_presigned(s3_conn(ctx), ctx->s3->opts.identity, id,
				     b.data ? b.data : "", sig, expires, time_now_ms(),
				     &ctx->principal, &ctx->err);
	buf_release(&b);
	if (r < 0) {
		auth_error(ctx);
		return -1;
	}
	str_copy(ctx->payload_hash, sizeof(ctx->payload_hash), SIGV4_UNSIGNED_PAYLOAD);
	ctx->authenticated = true;
	req->tenant = arena_strdup(req->arena, ctx->principal.user_name);
	return 0;
}

/* Authenticate the request. 0 when authenticated or anonymous (no
 * credentials: ctx->authenticated stays false); -1 after answering. */
static int authenticate(struct s3_ctx *ctx, bool streaming)
{
	struct http_req *req = ctx->req;
	const char *authz = http_req_header(req, "Authorization");
	const char *why = "";
	struct sigv4_auth a;
	int r;
	if (authz) {
		if (!str_starts_with(authz, SIGV4_ALGORITHM " ")) {
			s3_error(ctx, 400, "InvalidRequest",
				 "The authorization mechanism you have provided is not supported. "
				 "Please use AWS4-HMAC-SHA256.");
			return -1;
		}
		if (sigv4_parse_header(authz, &a, &why) < 0) {
			s3_error(ctx, 400, "AuthorizationHeaderMalformed", "%s", why);
			return -1;
		}
		const char *d = http_req_header(req, "X-Amz-Date");
		if (!d || !str_copy(a.amz_date, sizeof(a.amz_date), d)) {
			s3_error(ctx, 403, "AccessDenied",
				 "AWS authentication requires a valid x-amz-date header");
			return -1;
		}
	} else {
		const struct http_kv *q;
		size_t nq = http_req_query_raw(req, &q);
		r = sigv4_parse_query(q, nq, &a, &why);
		if (r == -ENOENT && s3_has_query(ctx, "AWSAccessKeyId"))
			return sigv2_presigned(ctx);
		if (r == -ENOENT) {
			/* anonymous: what it may do is the bucket's ACL and policy */
			req->tenant = "anonymous";
			return 0;
		}
		if (r < 0) {
			s3_error(ctx, 400, "AuthorizationQueryParametersError", "%s", why);
			return -1;
		}
	}
	if (strcmp(a.service, "s3") != 0) {
		s3_error(ctx, 400, "AuthorizationHeaderMalformed",
			 "the credential scope's service must be 's3', not '%.32s'", a.service);
		return -1;
	}
	if (payload_hash(ctx, streaming, a.presigned) < 0)
		return -1;
	struct sigv4_request sr = { .method = req->method, .path = req->path,
				    .header = header_of, .header_ctx = req,
				    .payload_hash = ctx->payload_hash, .s3 = true };
	sr.nquery = http_req_query_raw(req, &sr.query);
	bool keyed = ctx->chunked && ctx->chunk_mode != AWSCHUNKED_UNSIGNED_TRAILER;
	if (auth_sigv4_keyed(s3_conn(ctx), ctx->s3->opts.identity, &sr, &a, time_now_ms(),
			     &ctx->principal, keyed ? ctx->signing_key : NULL, &ctx->err) < 0) {
		auth_error(ctx);
		return -1;
	}
	ctx->auth = a;
	ctx->authenticated = true;
	req->tenant = arena_strdup(req->arena, ctx->principal.user_name);
	return 0;
}

/* ---- operations ---- */

typedef void (*s3_op_fn)(struct s3_ctx *ctx);

/* Subresources this service does not serve (yet): NotImplemented, so that
 * nothing is mistaken for a plain object or bucket request. */
static const char *const unsupported[] = {
	"tagging", "lifecycle", "website", "logging", "notification",
	"replication", "encryption", "object-lock", "retention", "legal-hold", "accelerate",
	"requestPayment", "inventory", "analytics", "metrics", "intelligent-tiering",
	"ownershipControls", "publicAccessBlock", "torrent", "restore", "select", "attributes",
	"policyStatus",
};

static void op_list_v1(struct s3_ctx *ctx) { s3_list_objects(ctx, false); }
static void op_list_v2(struct s3_ctx *ctx) { s3_list_objects(ctx, true); }

/* Name the operation a request asks for; NULL after answering (unknown or
 * unsupported). */
#define OP(name, fn) (*ret_name = "s3:" name, fn)

static s3_op_fn operation(struct s3_ctx *ctx, const char **ret_name)
{
	struct http_req *req = ctx->req;
	const char *m = req->method;
	if (strcmp(m, "OPTIONS") == 0 && ctx->bucket)
		return OP("PreflightCORS", s3_cors_preflight);
	for (size_t i = 0; i < ARRAY_SIZE(unsupported); i++)
		if (s3_has_query(ctx, unsupported[i])) {
			s3_error(ctx, 501, "NotImplemented",
				 "the '%s' subresource is not implemented", unsupported[i]);
			return NULL;
		}
	if (ctx->key && s3_has_query(ctx, "acl")) {
		if (strcmp(m, "GET") == 0)
			return OP("GetObjectAcl", s3_object_acl_get);
		if (strcmp(m, "PUT") == 0)
			return OP("PutObjectAcl", s3_object_acl_put);
	} else if (!ctx->bucket) {
		if (strcmp(m, "GET") == 0)
			return OP("ListBuckets", s3_list_buckets);
	} else if (!ctx->key && s3_has_query(ctx, "acl")) {
		if (strcmp(m, "GET") == 0)
			return OP("GetBucketAcl", s3_bucket_acl_get);
		if (strcmp(m, "PUT") == 0) {
			ctx->audit_action = "s3.bucket.acl";
			return OP("PutBucketAcl", s3_bucket_acl_put);
		}
	} else if (!ctx->key && s3_has_query(ctx, "cors")) {
		if (strcmp(m, "GET") == 0)
			return OP("GetBucketCors", s3_bucket_cors_get);
		ctx->audit_action = "s3.bucket.cors";
		if (strcmp(m, "PUT") == 0)
			return OP("PutBucketCors", s3_bucket_cors_put);
		if (strcmp(m, "DELETE") == 0)
			return OP("DeleteBucketCors", s3_bucket_cors_delete);
		ctx->audit_action = NULL;
	} else if (!ctx->key && s3_has_query(ctx, "policy")) {
		if (strcmp(m, "GET") == 0)
			return OP("GetBucketPolicy", s3_bucket_policy_get);
		ctx->audit_action = "s3.bucket.policy";
		if (strcmp(m, "PUT") == 0)
			return OP("PutBucketPolicy", s3_bucket_policy_put);
		if (strcmp(m, "DELETE") == 0)
			return OP("DeleteBucketPolicy", s3_bucket_policy_delete);
		ctx->audit_action = NULL;
	} else if (!ctx->key) {
		if (strcmp(m, "GET") == 0) {
			if (s3_has_query(ctx, "location"))
				return OP("GetBucketLocation", s3_bucket_location);
			if (s3_has_query(ctx, "versioning"))
				return OP("GetBucketVersioning", s3_bucket_versioning_get);
			if (s3_has_query(ctx, "versions"))
				return OP("ListObjectVersions", s3_list_versions);
			if (s3_has_query(ctx, "uploads"))
				return OP("ListMultipartUploads", s3_mpu_list);
			const char *lt = s3_query(ctx, "list-type");
			if (lt && strcmp(lt, "2") == 0)
				return OP("ListObjectsV2", op_list_v2);
			return OP("ListObjects", op_list_v1);
		}
		if (strcmp(m, "PUT") == 0) {
			if (s3_has_query(ctx, "versioning")) {
				ctx->audit_action = "s3.bucket.versioning";
				return OP("PutBucketVersioning", s3_bucket_versioning_put);
			}
			ctx->audit_action = "s3.bucket.create";
			return OP("CreateBucket", s3_bucket_create);
		}
		if (strcmp(m, "DELETE") == 0) {
			ctx->audit_action = "s3.bucket.delete";
			return OP("DeleteBucket", s3_bucket_delete);
		}
		if (strcmp(m, "HEAD") == 0)
			return OP("HeadBucket", s3_bucket_head);
		if (strcmp(m, "POST") == 0 && s3_has_query(ctx, "delete"))
			return OP("DeleteObjects", s3_delete_objects);
	} else if (s3_has_query(ctx, "uploadId")) {
		if (strcmp(m, "PUT") == 0 && http_req_header(req, "x-amz-copy-source"))
			return OP("UploadPartCopy", s3_part_copy);
		if (strcmp(m, "PUT") == 0)
			return OP("UploadPart", NULL);
		if (strcmp(m, "POST") == 0)
			return OP("CompleteMultipartUpload", s3_mpu_complete);
		if (strcmp(m, "DELETE") == 0)
			return OP("AbortMultipartUpload", s3_mpu_abort);
		if (strcmp(m, "GET") == 0)
			return OP("ListParts", s3_mpu_list_parts);
	} else if (s3_has_query(ctx, "uploads")) {
		if (strcmp(m, "POST") == 0)
			return OP("CreateMultipartUpload", s3_mpu_create);
	} else if (s3_has_query(ctx, "partNumber")) {
		s3_error(ctx, 501, "NotImplemented", "reading or writing one part by partNumber "
			 "needs an uploadId; GET by partNumber is not implemented");
		return NULL;
	} else {
		if (strcmp(m, "GET") == 0)
			return OP("GetObject", s3_object_get);
		if (strcmp(m, "HEAD") == 0)
			return OP("HeadObject", s3_object_get);
		if (strcmp(m, "DELETE") == 0)
			return OP("DeleteObject", s3_object_delete);
		if (strcmp(m, "PUT") == 0 && http_req_header(req, "x-amz-copy-source"))
			return OP("CopyObject", s3_object_copy);
		if (strcmp(m, "PUT") == 0)
			return OP("PutObject", NULL);
	}
#undef OP
	s3_error(ctx, 405, "MethodNotAllowed",
		 "The specified method is not allowed against this resource.");
	return NULL;
}

/* Operations an anonymous request may try (the bucket's ACL or policy
 * then decides). */
static bool anonymous_op(const char *name)
{
	static const char *const ops[] = { "s3:GetObject", "s3:HeadObject", "s3:ListObjects",
					   "s3:ListObjectsV2", "s3:HeadBucket" };
	for (size_t i = 0; i < ARRAY_SIZE(ops); i++)
		if (strcmp(name, ops[i]) == 0)
			return true;
	return false;
}

static void ctx_finish(struct s3_ctx *ctx)
{
	store_conn_put(ctx->conn);
	ctx->conn = NULL;
}

static void put_cleanup(struct http_req *req)
{
	struct s3_ctx *ctx = req->user;
	s3_object_put_abort(ctx);
	ctx_finish(ctx);
}

void s3_prepare(struct http_req *req, void *userdata)
{
	if (strcmp(req->method, "PUT") != 0)
		return;
	struct s3_ctx *ctx = arena_alloc(req->arena, sizeof(*ctx));
	memset(ctx, 0, sizeof(*ctx));
	ctx->s3 = userdata;
	ctx->req = req;
	const char *name = NULL;
	if (address(ctx) < 0) {
		req->route = "s3:unknown";
		return;
	}
	if (!ctx->key)
		return; /* a bucket-level PUT: small body, buffered */
	s3_op_fn fn = operation(ctx, &name);
	req->route = name ? name : "s3:unknown";
	if (req->status || fn || !name) {
		ctx_finish(ctx);
		return; /* answered, or CopyObject (no body) */
	}
	req->user = ctx;
	req->cleanup = put_cleanup;
	if (authenticate(ctx, true) == 0)
		s3_object_put_prepare(ctx, strcmp(name, "s3:UploadPart") == 0);
	if (req->status) {
		req->user = NULL;
		req->cleanup = NULL;
		s3_object_put_abort(ctx);
	}
	ctx_finish(ctx);
}

void s3_handle(struct http_req *req, void *userdata)
{
	if (req->status)
		return; /* answered before the body */
	if (req->user) {
		struct s3_ctx *sctx = req->user;
		s3_object_put_finish(sctx);
		s3_cors_headers(sctx);
		ctx_finish(sctx);
		return;
	}
	struct s3_ctx ctx = { .s3 = userdata, .req = req };
	http_resp_header(req, "x-amz-request-id", req->request_id);
	if (address(&ctx) < 0) {
		req->route = "s3:unknown";
		return;
	}
	const char *name = NULL;
	s3_op_fn fn = operation(&ctx, &name);
	req->route = name ? name : "s3:unknown";
	if (!fn)
		return;
	if (strcmp(name, "s3:PreflightCORS") == 0) {
		fn(&ctx); /* a preflight carries no credentials */
	} else if (req->body_too_large) {
		s3_error(&ctx, 400, "MaxMessageLengthExceeded",
			 "the request body is larger than %u bytes", S3_BODY_LIMIT);
	} else if (authenticate(&ctx, false) == 0) {
		if (!ctx.authenticated && !anonymous_op(name))
			s3_error(&ctx, 403, "AccessDenied",
				 "Access Denied: sign the request with an access key (anonymous "
				 "requests may only read what a bucket's ACL or policy makes public)");
		else if (ctx.bucket && bucket_name_check(ctx.bucket, NULL) < 0 &&
		    strcmp(name, "s3:CreateBucket") != 0)
			s3_error(&ctx, 404, "NoSuchBucket", "The specified bucket does not exist");
		else
			fn(&ctx);
	}
	/* a bucket-level change refused before it ran is audited too */
	if (ctx.audit_action && !ctx.audited)
		s3_audit(&ctx, ctx.audit_action, ctx.bucket, NULL, req->status);
	if (strcmp(name, "s3:PreflightCORS") != 0)
		s3_cors_headers(&ctx);
	ctx_finish(&ctx);
}
