/* s3_objects: object operations of the S3 service.
 *
 * PutObject streams its body to the data backend while computing the MD5
 * (the ETag), and the SHA-256 when the client signed one or sent
 * x-amz-checksum-sha256; once the body is in, the claims are checked
 * (BadDigest, XAmzContentSHA256Mismatch), the bytes committed and then the
 * row. An x-amz-checksum-* header (CRC32, CRC32C, CRC64NVME, SHA1, SHA256)
 * is verified the same way and stored, and returned when a reader asks
 * with x-amz-checksum-mode: ENABLED. GetObject answers from the stored file
 * with sendfile, a range of it for Range. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/checksum.h"
#include "lib/crypto.h"
#include "lib/s3xml.h"
#include "lib/sigv4.h"
#include "lib/util.h"
#include "lib/webroot.h"
#include "s3-priv.h"

#define META_PREFIX "x-amz-meta-"

struct s3_upload {
	struct bucket bucket;          /* where it goes */
	struct object obj;             /* its metadata, from the headers */
	struct objects_writer *w;      /* the backend's writer */
	struct checksum md5;           /* of the body: the ETag */
	struct checksum sha256;        /* of the body, when a signed hash needs it */
	struct checksum sum;           /* of the body, for the x-amz-checksum-* sent */
	unsigned char claimed[CHECKSUM_MAX]; /* that header's value, raw */
	unsigned char content_md5[16]; /* Content-MD5 as sent */
	bool has_md5;
	struct awschunked *dec;        /* an aws-chunked body's decoder, or NULL */
	const char *trailer;           /* the trailer carrying the checksum, or NULL */
	uint64_t decoded_len;          /* aws-chunked: x-amz-decoded-content-length */
	unsigned part_number;          /* UploadPart: the part; 0 for PutObject */
	const char *upload_id;         /* UploadPart: its upload (arena) */
};

/* A header value copied into dst when it fits; 400 when it does not. */
static int header_field(struct s3_ctx *ctx, const char *name, char *dst, size_t size)
{
	const char *v = http_req_header(ctx->req, name);
	dst[0] = '\0';
	if (!v)
		return 0;
	if (!str_copy(dst, size, v)) {
		s3_error(ctx, 400, "InvalidArgument", "the %s header is longer than %zu bytes", name,
			 size - 1);
		return -1;
	}
	return 0;
}

/* Remove "aws-chunked" from a Content-Encoding list (it is transport). */
static void strip_aws_chunked(char *ce, size_t size)
{
	char *out = xmalloc(size);
	size_t o = 0;
	const char *p = ce;
	while (*p) {
		while (*p == ' ' || *p == ',')
			p++;
		size_t n = strcspn(p, ",");
		size_t t = n;
		while (t > 0 && p[t - 1] == ' ')
			t--;
		if (t > 0 && !(t == 11 && strncmp(p, "aws-chunked", 11) == 0)) {
			if (o)
				out[o++] = ',';
			memcpy(out + o, p, t);
			o += t;
		}
		p += n;
	}
	out[o] = '\0';
	str_copy(ce, size, out);
	free(out);
}

/* The object's ACL from x-amz-acl: "public-read" or "" (private). -1
 * after answering. */
static int object_acl(struct s3_ctx *ctx, struct object *obj)
{
	const char *acl;
	if (s3_acl_header(ctx, &acl) < 0)
		return -1;
	str_copy(obj->acl, sizeof(obj->acl), acl && strcmp(acl, "public-read") == 0 ? acl : "");
	return 0;
}

/* Read the content headers and x-amz-meta-* of the request into obj. -1
 * after answering 400. */
int s3_object_headers(struct s3_ctx *ctx, struct object *obj)
{
	if (header_field(ctx, "Content-Type", obj->content_type, sizeof(obj->content_type)) < 0 ||
	    header_field(ctx, "Content-Encoding", obj->content_encoding,
			 sizeof(obj->content_encoding)) < 0 ||
	    header_field(ctx, "Content-Disposition", obj->content_disposition,
			 sizeof(obj->content_disposition)) < 0 ||
	    header_field(ctx, "Content-Language", obj->content_language,
			 sizeof(obj->content_language)) < 0 ||
	    header_field(ctx, "Cache-Control", obj->cache_control, sizeof(obj->cache_control)) < 0 ||
	    header_field(ctx, "Expires", obj->expires, sizeof(obj->expires)) < 0)
		return -1;
	if (object_acl(ctx, obj) < 0)
		return -1;
	strip_aws_chunked(obj->content_encoding, sizeof(obj->content_encoding));
	if (!obj->content_type[0])
		str_copy(obj->content_type, sizeof(obj->content_type), "binary/octet-stream");
	const struct http_kv *h;
	size_t n = http_req_headers(ctx->req, &h);
	struct buf meta;
	buf_init(&meta, 0);
	size_t bytes = 0;
	for (size_t i = 0; i < n; i++) {
		if (strncasecmp(h[i].key, META_PREFIX, strlen(META_PREFIX)) != 0)
			continue;
		char *name = arena_strdup(ctx->req->arena, h[i].key + strlen(META_PREFIX));
		str_lower(name);
		const char *v = h[i].value ? h[i].value : "";
		bytes += strlen(name) + strlen(v);
		buf_printf(&meta, "%s: %s\n", name, v);
	}
	int r = 0;
	if (bytes > OBJECT_META_MAX || meta.len >= sizeof(obj->meta)) {
		s3_error(ctx, 400, "MetadataTooLarge",
			 "Your metadata headers exceed the maximum allowed metadata size (%d bytes)",
			 OBJECT_META_MAX);
		r = -1;
	} else {
		str_copy(obj->meta, sizeof(obj->meta), meta.data ? meta.data : "");
	}
	buf_release(&meta);
	return r;
}

/* The x-amz-checksum-* header sent, checked for form: its algorithm into
 * ret_algo (CHECKSUM_NONE when none), its raw value into raw, its text
 * into obj. -1 after answering 400. */
static int checksum_header_of(struct s3_ctx *ctx, struct object *obj,
			      enum checksum_algo *ret_algo, unsigned char raw[CHECKSUM_MAX])
{
	*ret_algo = CHECKSUM_NONE;
	for (enum checksum_algo a = CHECKSUM_CRC32; a <= CHECKSUM_SHA256; a++) {
		const char *v = http_req_header(ctx->req, checksum_header(a));
		if (!v)
			continue;
		if (*ret_algo != CHECKSUM_NONE) {
			s3_error(ctx, 400, "InvalidRequest",
				 "Expecting a single x-amz-checksum- header. Multiple checksum "
				 "Types are not allowed.");
			return -1;
		}
		if (checksum_parse_base64(a, v, raw) < 0) {
			s3_error(ctx, 400, "InvalidRequest", "Value for %s header is invalid.",
				 checksum_header(a));
			return -1;
		}
		str_copy(obj->checksum_algo, sizeof(obj->checksum_algo), checksum_algo_name(a));
		str_copy(obj->checksum_value, sizeof(obj->checksum_value), v);
		*ret_algo = a;
	}
	return 0;
}

static void upload_free(struct s3_upload *u)
{
	if (!u)
		return;
	awschunked_free(u->dec);
	checksum_release(&u->md5);
	checksum_release(&u->sha256);
	checksum_release(&u->sum);
	free(u);
}

void s3_object_put_abort(struct s3_ctx *ctx)
{
	struct s3_upload *u = ctx->upload;
	if (!u)
		return;
	ctx->s3->opts.objects->ops->write_abort(u->w);
	upload_free(u);
	ctx->upload = NULL;
}

/* Take n bytes of the object's data (decoded, when aws-chunked). */
static int upload_data(void *arg, const void *data, size_t n)
{
	struct s3_ctx *ctx = arg;
	struct s3_upload *u = ctx->upload;
	int r = ctx->s3->opts.objects->ops->write(u->w, data, n);
	if (r < 0)
		return r;
	checksum_update(&u->md5, data, n);
	checksum_update(&u->sha256, data, n);
	checksum_update(&u->sum, data, n);
	return 0;
}

static int put_sink(struct http_req *req, const char *data, size_t n)
{
	struct s3_ctx *ctx = req->user;
	if (ctx->upload->dec)
		return awschunked_feed(ctx->upload->dec, data, n);
	return upload_data(ctx, data, n);
}

/* An aws-chunked body: its decoded length, the trailer that carries its
 * checksum, and the decoder. -1 after answering. */
static int chunked_begin(struct s3_ctx *ctx, struct s3_upload *u, enum checksum_algo *algo)
{
	const char *dl = http_req_header(ctx->req, "x-amz-decoded-content-length");
	const char *tr = http_req_header(ctx->req, "x-amz-trailer");
	if (!dl || parse_u64(dl, 0, UINT64_MAX, &u->decoded_len) < 0) {
		s3_error(ctx, 411, "MissingContentLength",
			 "an aws-chunked body needs x-amz-decoded-content-length");
		return -1;
	}
	if (u->decoded_len > OBJECT_PUT_MAX) {
		s3_error(ctx, 400, "EntityTooLarge",
			 "Your proposed upload exceeds the maximum allowed size (%llu bytes)",
			 (unsigned long long)OBJECT_PUT_MAX);
		return -1;
	}
	if (tr) {
		enum checksum_algo ta = checksum_from_header(tr);
		if (ta == CHECKSUM_NONE || ta == CHECKSUM_MD5 || *algo != CHECKSUM_NONE ||
		    ctx->chunk_mode == AWSCHUNKED_SIGNED) {
			s3_error(ctx, 400, "InvalidRequest",
				 "x-amz-trailer must name one x-amz-checksum-* trailer, sent with a "
				 "-TRAILER payload and no checksum header");
			return -1;
		}
		*algo = ta;
		u->trailer = arena_strdup(ctx->req->arena, tr);
		str_copy(u->obj.checksum_algo, sizeof(u->obj.checksum_algo), checksum_algo_name(ta));
	}
	struct awschunked_opts ao = { .mode = ctx->chunk_mode, .auth = &ctx->auth,
				      .key = ctx->signing_key, .data = upload_data, .ctx = ctx };
	u->dec = awschunked_new(&ao);
	explicit_bzero(ctx->signing_key, sizeof(ctx->signing_key));
	return 0;
}

/* An aws-chunked body ended: complete, of the declared length, its
 * trailing checksum in. -1 after answering. */
static int chunked_end(struct s3_ctx *ctx, struct s3_upload *u)
{
	int r = ctx->req->body_error ? ctx->req->body_error : awschunked_finish(u->dec);
	if (r == AWSCHUNKED_ESIGNATURE) {
		s3_error(ctx, 403, "SignatureDoesNotMatch",
			 "The chunk signature does not match: %s", awschunked_error(u->dec));
		return -1;
	}
	if (r == AWSCHUNKED_EMALFORMED ||
	    (r == 0 && awschunked_decoded_len(u->dec) != u->decoded_len)) {
		s3_error(ctx, 400, "IncompleteBody",
			 "The request body does not hold the chunks declared: %s",
			 r ? awschunked_error(u->dec) : "its length differs from "
							"x-amz-decoded-content-length");
		return -1;
	}
	if (r < 0) {
		s3_error(ctx, 500, "InternalError", "the upload could not be written: %s",
			 strerror(-r));
		return -1;
	}
	if (u->trailer) {
		const char *v = awschunked_trailer(u->dec, u->trailer);
		if (!v || checksum_parse_base64(u->sum.algo, v, u->claimed) < 0) {
			s3_error(ctx, 400, "MalformedTrailerError",
				 "The request contained trailing data that was not well-formed: %s",
				 u->trailer);
			return -1;
		}
		str_copy(u->obj.checksum_value, sizeof(u->obj.checksum_value), v);
	}
	return 0;
}

/* UploadPart: the part number and upload the query names, the upload
 * looked up. -1 after answering. */
static int part_target(struct s3_ctx *ctx, struct s3_upload *u, enum checksum_algo algo)
{
	const char *pn = s3_query(ctx, "partNumber");
	uint64_t n;
	u->upload_id = s3_query(ctx, "uploadId");
	if (!pn || parse_u64(pn, 1, MULTIPART_PARTS_MAX, &n) < 0) {
		s3_error(ctx, 400, "InvalidArgument",
			 "Part number must be an integer between 1 and 10000, inclusive");
		return -1;
	}
	u->part_number = (unsigned)n;
	struct multipart_upload *mpu = xmalloc(sizeof(*mpu));
	int r = multipart_get(s3_conn(ctx), u->bucket.name, ctx->key, u->upload_id ? u->upload_id : "",
			      mpu, &ctx->err);
	enum checksum_algo want = r == 0 ? checksum_parse_algo(mpu->meta.checksum_algo)
					 : CHECKSUM_NONE;
	free(mpu);
	if (r < 0) {
		s3_error_err(ctx, "NoSuchUpload");
		return -1;
	}
	if (algo != CHECKSUM_NONE && want != CHECKSUM_NONE && algo != want) {
		s3_error(ctx, 400, "InvalidRequest",
			 "Checksum Type mismatch occurred, expected checksum Type: %s, actual "
			 "checksum Type: %s",
			 checksum_algo_name(want), checksum_algo_name(algo));
		return -1;
	}
	return 0;
}

void s3_object_put_prepare(struct s3_ctx *ctx, bool part)
{
	struct http_req *req = ctx->req;
	const char *cl = http_req_header(req, "Content-Length");
	uint64_t len = 0;
	if (s3_key_check(ctx, ctx->key) < 0)
		return;
	if (cl && parse_u64(cl, 0, UINT64_MAX, &len) == 0 && len > OBJECT_PUT_MAX) {
		s3_error(ctx, 400, "EntityTooLarge",
			 "Your proposed upload exceeds the maximum allowed size (%llu bytes)",
			 (unsigned long long)OBJECT_PUT_MAX);
		return;
	}
	struct s3_upload *u = xcalloc(1, sizeof(*u));
	ctx->upload = u;
	enum checksum_algo algo;
	if (s3_bucket_access(ctx, true, &u->bucket) < 0 ||
	    s3_content_md5(ctx, u->content_md5, &u->has_md5) < 0 ||
	    (!part && s3_object_headers(ctx, &u->obj) < 0) ||
	    checksum_header_of(ctx, &u->obj, &algo, u->claimed) < 0 ||
	    (part && part_target(ctx, u, algo) < 0))
		return;
	if (ctx->chunked && chunked_begin(ctx, u, &algo) < 0)
		return;
	str_copy(u->obj.key, sizeof(u->obj.key), ctx->key);
	checksum_init(&u->md5, CHECKSUM_MD5);
	/* a hex payload hash is checked here; chunk signatures by the decoder */
	checksum_init(&u->sha256, strlen(ctx->payload_hash) == 64 ? CHECKSUM_SHA256
								  : CHECKSUM_NONE);
	checksum_init(&u->sum, algo);
	struct objects *o = ctx->s3->opts.objects;
	if (o->ops->write_begin(o->data, &u->w, &ctx->err) < 0) {
		s3_error_err(ctx, "NoSuchKey");
		return;
	}
	req->sink = put_sink;
	/* aws-chunked: the decoded length plus room for the chunks' framing */
	req->sink_limit = u->dec ? u->decoded_len + u->decoded_len / 8 + (1u << 20) : OBJECT_PUT_MAX;
}

/* Check the finished body against what the client claimed. -1 after
 * answering. */
static int put_verify(struct s3_ctx *ctx, struct s3_upload *u)
{
	unsigned char md5[CHECKSUM_MAX], sha[CHECKSUM_MAX], sum[CHECKSUM_MAX];
	size_t n;
	char hex[65];
	checksum_final(&u->md5, md5, &n);
	hex_encode(md5, 16, hex);
	str_printf(u->obj.etag, sizeof(u->obj.etag), "\"%s\"", hex);
	if (u->has_md5 && memcmp(md5, u->content_md5, 16) != 0) {
		s3_error(ctx, 400, "BadDigest",
			 "The Content-MD5 you specified did not match what we received.");
		return -1;
	}
	checksum_final(&u->sha256, sha, &n);
	if (n) {
		hex_encode(sha, 32, hex);
		if (strcmp(hex, ctx->payload_hash) != 0) {
			s3_error(ctx, 400, "XAmzContentSHA256Mismatch",
				 "The provided 'x-amz-content-sha256' header does not match what "
				 "was computed.");
			return -1;
		}
	}
	checksum_final(&u->sum, sum, &n);
	if (n && memcmp(sum, u->claimed, n) != 0) {
		s3_error(ctx, 400, "BadDigest",
			 "The %s you specified did not match the calculated checksum.",
			 checksum_algo_name(u->sum.algo));
		return -1;
	}
	return 0;
}

/* Answer a stored version's ETag and version id. */
void s3_version_headers(struct s3_ctx *ctx, const struct bucket *b, const struct object *obj)
{
	if (obj->etag[0])
		http_resp_header(ctx->req, "ETag", obj->etag);
	if (b->versioning[0])
		http_resp_header(ctx->req, "x-amz-version-id", obj->version_id);
}

/* Store the finished upload's row: the object, or the part. */
static int store_upload(struct s3_ctx *ctx, struct s3_upload *u)
{
	struct objects *o = ctx->s3->opts.objects;
	if (!u->part_number)
		return object_put(o, s3_conn(ctx), &u->bucket, &u->obj, &ctx->err);
	struct multipart_part p = { .number = u->part_number, .size = u->obj.size };
	str_copy(p.etag, sizeof(p.etag), u->obj.etag);
	str_copy(p.checksum_value, sizeof(p.checksum_value), u->obj.checksum_value);
	str_copy(p.data_ref, sizeof(p.data_ref), u->obj.data_ref);
	return multipart_part_put(o, s3_conn(ctx), &u->bucket, u->upload_id, &p, &ctx->err);
}

void s3_object_put_finish(struct s3_ctx *ctx)
{
	struct http_req *req = ctx->req;
	struct s3_upload *u = ctx->upload;
	struct objects *o = ctx->s3->opts.objects;
	http_resp_header(req, "x-amz-request-id", req->request_id);
	if (req->body_too_large) {
		s3_error(ctx, 400, "EntityTooLarge",
			 "Your proposed upload exceeds the maximum allowed size (%llu bytes)",
			 (unsigned long long)OBJECT_PUT_MAX);
	} else if (u->dec && chunked_end(ctx, u) < 0) {
		/* answered */
	} else if (req->body_error) {
		s3_error(ctx, 500, "InternalError", "the upload could not be written: %s",
			 strerror(-req->body_error));
	} else if (put_verify(ctx, u) == 0) {
		u->obj.size = (int64_t)(u->dec ? awschunked_decoded_len(u->dec) : req->body_received);
		int r = o->ops->write_commit(u->w, u->obj.data_ref, &ctx->err);
		u->w = NULL;
		if (r == 0 && store_upload(ctx, u) < 0) {
			o->ops->remove(o->data, u->obj.data_ref);
			r = -1;
		}
		if (r < 0) {
			s3_error_err(ctx, u->part_number ? "NoSuchUpload" : "NoSuchBucket");
		} else {
			if (u->part_number)
				http_resp_header(req, "ETag", u->obj.etag);
			else
				s3_version_headers(ctx, &u->bucket, &u->obj);
			if (u->sum.algo != CHECKSUM_NONE)
				http_resp_header(req, checksum_header(u->sum.algo),
						 u->obj.checksum_value);
			http_resp_set(req, 200, NULL, "", 0);
			s3_count_bytes(ctx, "nubo_s3_received_bytes_total", (uint64_t)u->obj.size);
		}
	}
	s3_object_put_abort(ctx);
}

/* ---- GET and HEAD ---- */

/* What conditional headers say of an object. */
enum cond_result { COND_OK, COND_FAILED, COND_NOT_MODIFIED };

/* The conditional headers: If-Match, If-Unmodified-Since, If-None-Match,
 * If-Modified-Since, and their x-amz-copy-source-if-* twins for a copy. */
static const char *const get_conditions[] = { "If-Match", "If-Unmodified-Since",
					      "If-None-Match", "If-Modified-Since" };
static const char *const copy_conditions[] = {
	"x-amz-copy-source-if-match", "x-amz-copy-source-if-unmodified-since",
	"x-amz-copy-source-if-none-match", "x-amz-copy-source-if-modified-since"
};

/* Does the ETag list hold etag (with or without its quotes), or "*"? */
static bool etag_in(const char *list, const char *etag)
{
	size_t el = strlen(etag);
	return strcmp(list, "*") == 0 || strstr(list, etag) ||
	       (el > 2 && memmem(list, strlen(list), etag + 1, el - 2));
}

/* Evaluate the conditions named in names against obj in RFC 7232's order:
 * a failed match or unmodified-since fails; a none-match or
 * modified-since that holds not is "not modified". */
static enum cond_result conditions(struct s3_ctx *ctx, const struct object *obj,
				   const char *const names[4])
{
	struct http_req *req = ctx->req;
	const char *im = http_req_header(req, names[0]);
	const char *ius = http_req_header(req, names[1]);
	const char *inm = http_req_header(req, names[2]);
	const char *ims = http_req_header(req, names[3]);
	int64_t t, mod_s = obj->last_modified_ms / 1000;
	if (im && !etag_in(im, obj->etag))
		return COND_FAILED;
	if (!im && ius && webroot_parse_date(ius, &t) == 0 && mod_s > t)
		return COND_FAILED;
	if (inm ? etag_in(inm, obj->etag) : ims && webroot_parse_date(ims, &t) == 0 && mod_s <= t)
		return COND_NOT_MODIFIED;
	return COND_OK;
}

static void precondition_failed(struct s3_ctx *ctx)
{
	s3_error(ctx, 412, "PreconditionFailed",
		 "At least one of the pre-conditions you specified did not hold");
}

/* GET and HEAD: answer 412 or 304 and return -1, or 0 to go on. */
static int preconditions(struct s3_ctx *ctx, const struct object *obj)
{
	struct http_req *req = ctx->req;
	enum cond_result c = conditions(ctx, obj, get_conditions);
	if (c == COND_FAILED) {
		precondition_failed(ctx);
		return -1;
	}
	if (c == COND_NOT_MODIFIED) {
		char lm[WEBROOT_DATE_SIZE];
		webroot_format_date(obj->last_modified_ms / 1000, lm);
		req->resp_headers = NULL;
		http_resp_header(req, "x-amz-request-id", req->request_id);
		http_resp_header(req, "ETag", obj->etag);
		http_resp_header(req, "Last-Modified", lm);
		http_resp_set(req, 304, NULL, "", 0);
		return -1;
	}
	return 0;
}

/* The headers describing obj, with response-* query overrides; its
 * checksum only when whole (a range has not the object's checksum). */
static void object_describe(struct s3_ctx *ctx, const struct bucket *b, const struct object *obj,
			    bool whole)
{
	struct http_req *req = ctx->req;
	static const struct {
		const char *header, *override;
		size_t off;
	} fields[] = {
		{ "Content-Encoding", "response-content-encoding",
		  offsetof(struct object, content_encoding) },
		{ "Content-Disposition", "response-content-disposition",
		  offsetof(struct object, content_disposition) },
		{ "Content-Language", "response-content-language",
		  offsetof(struct object, content_language) },
		{ "Cache-Control", "response-cache-control", offsetof(struct object, cache_control) },
		{ "Expires", "response-expires", offsetof(struct object, expires) },
	};
	char lm[WEBROOT_DATE_SIZE];
	webroot_format_date(obj->last_modified_ms / 1000, lm);
	http_resp_header(req, "Last-Modified", lm);
	http_resp_header(req, "Accept-Ranges", "bytes");
	s3_version_headers(ctx, b, obj);
	for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
		const char *v = s3_query(ctx, fields[i].override);
		if (!v)
			v = (const char *)obj + fields[i].off;
		if (v[0])
			http_resp_header(req, fields[i].header, v);
	}
	const char *m = obj->meta;
	while (*m) {
		const char *nl = strchr(m, '\n');
		const char *colon = strstr(m, ": ");
		if (!nl || !colon || colon > nl)
			break;
		char *name = arena_printf(req->arena, META_PREFIX "%.*s", (int)(colon - m), m);
		char *value = arena_strndup(req->arena, colon + 2, (size_t)(nl - colon - 2));
		http_resp_header(req, name, value);
		m = nl + 1;
	}
	const char *mode = http_req_header(req, "x-amz-checksum-mode");
	enum checksum_algo algo = checksum_parse_algo(obj->checksum_algo);
	if (whole && mode && strcmp(mode, "ENABLED") == 0 && algo != CHECKSUM_NONE)
		http_resp_header(req, checksum_header(algo), obj->checksum_value);
}

/* An anonymous read: the object's ACL or the bucket's policy must allow
 * it; a missing key shows as such only in a bucket anyone may list. */
static int find_public_object(struct s3_ctx *ctx, struct bucket *b, struct object *obj,
			      int *ret_fd)
{
	char *policy = NULL;
	struct err e = { 0 };
	if (bucket_get(s3_conn(ctx), ctx->bucket, b, &ctx->err) < 0) {
		s3_error_err(ctx, "NoSuchBucket");
		return -1;
	}
	if (s3_query(ctx, "versionId") || s3_key_check(ctx, ctx->key) < 0) {
		if (!ctx->req->status)
			s3_error(ctx, 403, "AccessDenied", "Access Denied");
		return -1;
	}
	bucket_doc_get(s3_conn(ctx), b->name, BUCKET_DOC_POLICY, &policy, &e);
	bool allowed = bucket_policy_allows_read(policy, b->name, ctx->key);
	free(policy);
	int r = object_get_open(ctx->s3->opts.objects, s3_conn(ctx), b->name, ctx->key, NULL, obj,
				ret_fd, &ctx->err);
	if (r == 0 && (allowed || strcmp(obj->acl, "public-read") == 0))
		return 0;
	if (*ret_fd >= 0)
		close(*ret_fd);
	*ret_fd = -1;
	if (r < 0 && ctx->err.code == ERR_INTERNAL) {
		s3_error_err(ctx, "NoSuchKey");
		return -1;
	}
	if (r < 0 && strcmp(b->acl, "public-read") == 0)
		s3_error_err(ctx, "NoSuchKey");
	else
		s3_error(ctx, 403, "AccessDenied", "Access Denied");
	return -1;
}

/* Find the version a GET or HEAD names and open its bytes (*ret_fd, -1
 * when it has none). -1 after answering. */
static int find_object(struct s3_ctx *ctx, struct bucket *b, struct object *obj, int *ret_fd)
{
	const char *vid = s3_query(ctx, "versionId");
	*ret_fd = -1;
	if (!ctx->authenticated)
		return find_public_object(ctx, b, obj, ret_fd);
	if (s3_bucket_access(ctx, false, b) < 0)
		return -1;
	if (s3_key_check(ctx, ctx->key) < 0)
		return -1;
	if (object_get_open(ctx->s3->opts.objects, s3_conn(ctx), b->name, ctx->key, vid, obj,
			    ret_fd, &ctx->err) < 0) {
		s3_error_err(ctx, vid ? "NoSuchVersion" : "NoSuchKey");
		if (obj->delete_marker) {
			http_resp_header(ctx->req, "x-amz-delete-marker", "true");
			http_resp_header(ctx->req, "x-amz-version-id", obj->version_id);
		}
		return -1;
	}
	return 0;
}

/* The response-* parameters become response headers: no control
 * characters (a CR or LF would split the answer). -1 after answering. */
static int response_overrides_check(struct s3_ctx *ctx)
{
	static const char *const names[] = { "response-content-type",
					     "response-content-encoding",
					     "response-content-disposition",
					     "response-content-language", "response-cache-control",
					     "response-expires" };
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		bool bad = false;
		const char *v = http_req_query(ctx->req, names[i], &bad);
		for (const char *p = v; p && *p && !bad; p++)
			bad = ((unsigned char)*p < 0x20 && *p != '\t') || *p == 0x7f;
		if (bad) {
			s3_error(ctx, 400, "InvalidArgument",
				 "%s must be printable text, without control characters", names[i]);
			return -1;
		}
	}
	return 0;
}

/* Answer GET or HEAD of obj, whose bytes are open on fd (-1 when it has
 * none). Returns 0 when fd was taken, -1 after answering an error (fd left
 * to the caller). */
static int object_answer(struct s3_ctx *ctx, const struct bucket *b, const struct object *obj,
			 int fd)
{
	struct http_req *req = ctx->req;
	if (response_overrides_check(ctx) < 0)
		return -1;
	if (obj->delete_marker) {
		s3_error(ctx, 405, "MethodNotAllowed",
			 "The specified method is not allowed against this resource.");
		http_resp_header(req, "x-amz-delete-marker", "true");
		return -1;
	}
	if (preconditions(ctx, obj) < 0)
		return -1;
	int64_t off = 0, len = obj->size;
	int pr = http_parse_range(http_req_header(req, "Range"), obj->size, &off, &len);
	if (pr < 0) {
		char cr[64];
		s3_error(ctx, 416, "InvalidRange", "The requested range is not satisfiable");
		str_printf(cr, sizeof(cr), "bytes */%lld", (long long)obj->size);
		http_resp_header(req, "Content-Range", cr);
		return -1;
	}
	object_describe(ctx, b, obj, pr == 0);
	const char *type = s3_query(ctx, "response-content-type");
	type = arena_strdup(req->arena, type ? type : obj->content_type);
	unsigned status = 200;
	if (pr > 0) {
		char cr[96];
		str_printf(cr, sizeof(cr), "bytes %lld-%lld/%lld", (long long)off,
			   (long long)(off + len - 1), (long long)obj->size);
		http_resp_header(req, "Content-Range", cr);
		status = 206;
	}
	if (fd < 0) {
		http_resp_set(req, status, type, "", 0);
		return -1; /* nothing taken */
	}
	/* HEAD: the file gives the length; the server sends no body */
	http_resp_file_range(req, status, type, fd, (uint64_t)off, (uint64_t)len);
	if (strcmp(req->method, "GET") == 0)
		s3_count_bytes(ctx, "nubo_s3_sent_bytes_total", (uint64_t)len);
	return 0;
}

void s3_object_get(struct s3_ctx *ctx)
{
	struct bucket b;
	struct object *obj = arena_alloc(ctx->req->arena, sizeof(*obj));
	int fd = -1;
	if (find_object(ctx, &b, obj, &fd) < 0)
		return;
	if (object_answer(ctx, &b, obj, fd) < 0 && fd >= 0)
		close(fd);
}

/* ---- DELETE ---- */

void s3_object_delete(struct s3_ctx *ctx)
{
	struct bucket b;
	struct object_deleted d;
	const char *vid = s3_query(ctx, "versionId");
	if (s3_bucket_access(ctx, true, &b) < 0 || s3_key_check(ctx, ctx->key) < 0)
		return;
	if (object_delete(ctx->s3->opts.objects, s3_conn(ctx), &b, ctx->key, vid, &d,
			  &ctx->err) < 0) {
		s3_error_err(ctx, "NoSuchKey");
		return;
	}
	if (d.delete_marker)
		http_resp_header(ctx->req, "x-amz-delete-marker", "true");
	if (b.versioning[0] && d.version_id[0])
		http_resp_header(ctx->req, "x-amz-version-id", d.version_id);
	http_resp_set(ctx->req, 204, NULL, "", 0);
}

/* ---- copy ---- */

/* Split x-amz-copy-source into its parts (arena). -1 after answering. */
static int copy_source(struct s3_ctx *ctx, const char **ret_bucket, const char **ret_key,
		       const char **ret_version)
{
	struct objects_address a;
	if (objects_copy_source_parse(ctx->req->arena,
				      http_req_header(ctx->req, "x-amz-copy-source"), &a,
				      ret_version) < 0) {
		s3_error(ctx, 400, "InvalidArgument",
			 "Copy Source must mention the source bucket and key: "
			 "sourcebucket/sourcekey[?versionId=id]");
		return -1;
	}
	*ret_bucket = a.bucket;
	*ret_key = a.key;
	return 0;
}

/* Apply x-amz-copy-source-if-* to the source. -1 after answering 412. */
static int copy_preconditions(struct s3_ctx *ctx, const struct object *src)
{
	if (conditions(ctx, src, copy_conditions) == COND_OK)
		return 0;
	precondition_failed(ctx);
	return -1;
}

/* The source of a copy: x-amz-copy-source parsed, read access to its
 * bucket, the version found, the x-amz-copy-source-if-* conditions met.
 * -1 after answering. */
static int copy_source_object(struct s3_ctx *ctx, struct bucket *ret_b, struct object *ret,
			      const char **ret_bucket, const char **ret_key,
			      const char **ret_version)
{
	const char *sb, *sk, *sv;
	if (copy_source(ctx, &sb, &sk, &sv) < 0)
		return -1;
	const char *dst_bucket = ctx->bucket, *dst_key = ctx->key;
	ctx->bucket = sb;
	ctx->key = sk;
	int r = s3_bucket_access(ctx, false, ret_b);
	if (r == 0 && object_get(s3_conn(ctx), sb, sk, sv, ret, &ctx->err) < 0) {
		s3_error_err(ctx, sv ? "NoSuchVersion" : "NoSuchKey");
		r = -1;
	}
	ctx->bucket = dst_bucket;
	ctx->key = dst_key;
	if (r < 0 || copy_preconditions(ctx, ret) < 0)
		return -1;
	if (ret->delete_marker) {
		s3_error(ctx, 400, "InvalidRequest", "The source of a copy request may not "
			 "specifically refer to a delete marker by version id.");
		return -1;
	}
	*ret_bucket = sb;
	*ret_key = sk;
	*ret_version = sv;
	return 0;
}

void s3_object_copy(struct s3_ctx *ctx)
{
	struct http_req *req = ctx->req;
	const char *sb, *sk, *sv;
	struct bucket dst_b, src_b;
	struct object *src = arena_alloc(req->arena, sizeof(*src));
	struct object *obj = arena_alloc(req->arena, sizeof(*obj));
	memset(obj, 0, sizeof(*obj));
	const char *directive = http_req_header(req, "x-amz-metadata-directive");
	if (directive && strcmp(directive, "COPY") != 0 && strcmp(directive, "REPLACE") != 0) {
		s3_error(ctx, 400, "InvalidArgument",
			 "Unknown metadata directive: x-amz-metadata-directive is COPY or REPLACE");
		return;
	}
	bool replace = directive && strcmp(directive, "REPLACE") == 0;
	if (s3_key_check(ctx, ctx->key) < 0 || s3_bucket_access(ctx, true, &dst_b) < 0 ||
	    copy_source_object(ctx, &src_b, src, &sb, &sk, &sv) < 0)
		return;
	const char *dst_bucket = ctx->bucket, *dst_key = ctx->key;
	if (!replace && strcmp(sb, dst_bucket) == 0 && strcmp(sk, dst_key) == 0 && !sv) {
		s3_error(ctx, 400, "InvalidRequest",
			 "This copy request is illegal because it is trying to copy an object to "
			 "itself without changing the object's metadata, storage class, website "
			 "redirect location or encryption attributes.");
		return;
	}
	if (replace) {
		if (s3_object_headers(ctx, obj) < 0)
			return;
	} else {
		*obj = *src;
		/* the ACL is the request's, never the source's */
		if (object_acl(ctx, obj) < 0)
			return;
	}
	str_copy(obj->key, sizeof(obj->key), dst_key);
	obj->size = src->size;
	str_copy(obj->checksum_algo, sizeof(obj->checksum_algo), src->checksum_algo);
	str_copy(obj->checksum_value, sizeof(obj->checksum_value), src->checksum_value);
	struct objects *o = ctx->s3->opts.objects;
	unsigned char md5[16];
	char hex[33];
	if (objects_data_copy(o, src->data_ref, 0, -1, obj->data_ref, md5, &ctx->err) < 0) {
		s3_error_err(ctx, "NoSuchKey");
		return;
	}
	hex_encode(md5, 16, hex);
	str_printf(obj->etag, sizeof(obj->etag), "\"%s\"", hex);
	if (object_put(o, s3_conn(ctx), &dst_b, obj, &ctx->err) < 0) {
		o->ops->remove(o->data, obj->data_ref);
		s3_error_err(ctx, "NoSuchBucket");
		return;
	}
	if (dst_b.versioning[0])
		http_resp_header(req, "x-amz-version-id", obj->version_id);
	if (src_b.versioning[0])
		http_resp_header(req, "x-amz-copy-source-version-id", src->version_id);
	char t[32];
	s3_time_iso(obj->last_modified_ms, t);
	struct buf b;
	s3_xml_begin(&b, "CopyObjectResult");
	s3xml_element(&b, "LastModified", t);
	s3xml_element(&b, "ETag", obj->etag);
	buf_puts(&b, "</CopyObjectResult>");
	s3_reply_xml(ctx, 200, &b);
}

/* ---- DeleteObjects ---- */

void s3_delete_objects(struct s3_ctx *ctx)
{
	struct http_req *req = ctx->req;
	struct bucket b;
	struct s3xml_delete del;
	const char *why = "";
	if (s3_bucket_access(ctx, true, &b) < 0 || s3_body_digest_check(ctx, true) < 0)
		return;
	if (s3xml_parse_delete(req->arena, req->body.data ? req->body.data : "", req->body.len,
			       &del, &why) < 0) {
		s3_error(ctx, 400, "MalformedXML", "%s", why);
		return;
	}
	struct buf x;
	s3_xml_begin(&x, "DeleteResult");
	for (size_t i = 0; i < del.nobjects; i++) {
		const struct s3xml_delete_object *d = &del.objects[i];
		struct object_deleted done;
		struct err err = { 0 };
		const char *code = NULL, *msg = NULL;
		if (strlen(d->key) > OBJECT_KEY_MAX) {
			code = "KeyTooLongError";
			msg = "Your key is too long";
		} else if (object_delete(ctx->s3->opts.objects, s3_conn(ctx), &b, d->key,
					 d->version_id, &done, &err) < 0) {
			code = err.code == ERR_BUSY ? "SlowDown" : "InternalError";
			msg = err.message;
		}
		if (code) {
			buf_puts(&x, "<Error>");
			s3xml_element(&x, "Key", d->key);
			if (d->version_id)
				s3xml_element(&x, "VersionId", d->version_id);
			s3xml_element(&x, "Code", code);
			s3xml_element(&x, "Message", msg);
			buf_puts(&x, "</Error>");
			continue;
		}
		if (del.quiet)
			continue;
		buf_puts(&x, "<Deleted>");
		s3xml_element(&x, "Key", d->key);
		if (d->version_id)
			s3xml_element(&x, "VersionId", d->version_id);
		if (done.delete_marker) {
			s3xml_element(&x, "DeleteMarker", "true");
			if (!d->version_id && b.versioning[0])
				s3xml_element(&x, "DeleteMarkerVersionId", done.version_id);
		}
		buf_puts(&x, "</Deleted>");
	}
	buf_puts(&x, "</DeleteResult>");
	s3_reply_xml(ctx, 200, &x);
}

/* ---- UploadPartCopy ---- */

/* x-amz-copy-source-range ("bytes=first-last") against the source's size;
 * absent: the whole source. -1 after answering. */
static int copy_range(struct s3_ctx *ctx, int64_t size, int64_t *ret_off, int64_t *ret_len)
{
	const char *h = http_req_header(ctx->req, "x-amz-copy-source-range");
	*ret_off = 0;
	*ret_len = size;
	if (!h)
		return 0;
	const char *dash = str_starts_with(h, "bytes=") ? strchr(h, '-') : NULL;
	int r = dash && dash > h + 6 && dash[1] ? http_parse_range(h, size, ret_off, ret_len) : 0;
	if (r == 0) {
		s3_error(ctx, 400, "InvalidArgument",
			 "The x-amz-copy-source-range value must be of the form bytes=first-last "
			 "where first and last are the zero-based offsets of the first and last "
			 "bytes to copy");
		return -1;
	}
	if (r < 0 || *ret_off + *ret_len > size ||
	    strtoull(dash + 1, NULL, 10) >= (unsigned long long)size) {
		s3_error(ctx, 416, "InvalidRange", "The requested range is not satisfiable");
		return -1;
	}
	return 0;
}

void s3_part_copy(struct s3_ctx *ctx)
{
	struct http_req *req = ctx->req;
	struct s3_upload *u = xcalloc(1, sizeof(*u));
	struct object *src = arena_alloc(req->arena, sizeof(*src));
	struct bucket src_b;
	const char *sb, *sk, *sv;
	int64_t off, len;
	unsigned char md5[16];
	char hex[33];
	struct objects *o = ctx->s3->opts.objects;
	ctx->upload = u;
	if (s3_key_check(ctx, ctx->key) < 0 || s3_bucket_access(ctx, true, &u->bucket) < 0 ||
	    part_target(ctx, u, CHECKSUM_NONE) < 0 ||
	    copy_source_object(ctx, &src_b, src, &sb, &sk, &sv) < 0 ||
	    copy_range(ctx, src->size, &off, &len) < 0)
		goto out;
	if (len > (int64_t)MULTIPART_PART_MAX) {
		s3_error(ctx, 400, "EntityTooLarge", "a part is at most 5 GiB");
		goto out;
	}
	if (objects_data_copy(o, src->data_ref, off, len, u->obj.data_ref, md5, &ctx->err) < 0) {
		s3_error_err(ctx, "NoSuchKey");
		goto out;
	}
	hex_encode(md5, 16, hex);
	str_printf(u->obj.etag, sizeof(u->obj.etag), "\"%s\"", hex);
	u->obj.size = len;
	if (store_upload(ctx, u) < 0) {
		o->ops->remove(o->data, u->obj.data_ref);
		s3_error_err(ctx, "NoSuchUpload");
		goto out;
	}
	if (src_b.versioning[0])
		http_resp_header(req, "x-amz-copy-source-version-id", src->version_id);
	char t[32];
	s3_time_iso(time_now_ms(), t);
	struct buf x;
	s3_xml_begin(&x, "CopyPartResult");
	s3xml_element(&x, "LastModified", t);
	s3xml_element(&x, "ETag", u->obj.etag);
	buf_puts(&x, "</CopyPartResult>");
	s3_reply_xml(ctx, 200, &x);
out:
	s3_object_put_abort(ctx);
}
