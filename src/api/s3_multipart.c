/* s3_multipart: multipart uploads of the S3 service: create, complete,
 * abort, ListParts and ListMultipartUploads (UploadPart streams through
 * s3_objects.c like PutObject). An upload may name a checksum algorithm
 * (x-amz-checksum-algorithm) and type (x-amz-checksum-type COMPOSITE or
 * FULL_OBJECT; CRC64NVME is FULL_OBJECT only): each part then carries
 * that checksum, and the object gets the composite or combined one. */
#include <stdlib.h>
#include <string.h>

#include "lib/checksum.h"
#include "lib/s3xml.h"
#include "lib/util.h"
#include "s3-priv.h"

#define LIST_PARTS_MAX 1000
#define LIST_UPLOADS_MAX 1000

/* The checksum algorithm and type an upload asks for. -1 after answering. */
static int upload_checksum(struct s3_ctx *ctx, struct multipart_upload *u)
{
	const char *an = http_req_header(ctx->req, "x-amz-checksum-algorithm");
	const char *tn = http_req_header(ctx->req, "x-amz-checksum-type");
	enum checksum_algo algo = an ? checksum_parse_algo(an) : CHECKSUM_NONE;
	if ((an && (algo == CHECKSUM_NONE || algo == CHECKSUM_MD5)) || (tn && !an)) {
		s3_error(ctx, 400, "InvalidRequest",
			 "x-amz-checksum-algorithm must be CRC32, CRC32C, CRC64NVME, SHA1 or "
			 "SHA256 (and given with x-amz-checksum-type)");
		return -1;
	}
	if (algo == CHECKSUM_NONE)
		return 0;
	const char *type = tn ? tn : algo == CHECKSUM_CRC64NVME ? "FULL_OBJECT" : "COMPOSITE";
	if ((strcmp(type, "COMPOSITE") != 0 && strcmp(type, "FULL_OBJECT") != 0) ||
	    (strcmp(type, "FULL_OBJECT") == 0 && !checksum_is_crc(algo)) ||
	    (strcmp(type, "COMPOSITE") == 0 && algo == CHECKSUM_CRC64NVME)) {
		s3_error(ctx, 400, "InvalidRequest",
			 "The %s checksum type cannot be used with the %s checksum algorithm.", type,
			 checksum_algo_name(algo));
		return -1;
	}
	str_copy(u->meta.checksum_algo, sizeof(u->meta.checksum_algo), checksum_algo_name(algo));
	str_copy(u->checksum_type, sizeof(u->checksum_type), type);
	return 0;
}

static void checksum_headers(struct s3_ctx *ctx, const struct multipart_upload *u)
{
	if (!u->meta.checksum_algo[0])
		return;
	http_resp_header(ctx->req, "x-amz-checksum-algorithm", u->meta.checksum_algo);
	http_resp_header(ctx->req, "x-amz-checksum-type", u->checksum_type);
}

void s3_mpu_create(struct s3_ctx *ctx)
{
	struct bucket b;
	struct multipart_upload *u = arena_alloc(ctx->req->arena, sizeof(*u));
	memset(u, 0, sizeof(*u));
	if (s3_bucket_access(ctx, true, &b) < 0 || s3_key_check(ctx, ctx->key) < 0 ||
	    s3_object_headers(ctx, &u->meta) < 0 || upload_checksum(ctx, u) < 0)
		return;
	str_copy(u->meta.key, sizeof(u->meta.key), ctx->key);
	str_copy(u->initiator, sizeof(u->initiator), ctx->principal.user_name);
	if (multipart_create(s3_conn(ctx), &b, u, &ctx->err) < 0) {
		s3_error_err(ctx, "NoSuchBucket");
		return;
	}
	checksum_headers(ctx, u);
	struct buf x;
	s3_xml_begin(&x, "InitiateMultipartUploadResult");
	s3xml_element(&x, "Bucket", b.name);
	s3xml_element(&x, "Key", ctx->key);
	s3xml_element(&x, "UploadId", u->id);
	buf_puts(&x, "</InitiateMultipartUploadResult>");
	s3_reply_xml(ctx, 200, &x);
}

/* The upload the query's uploadId names, with write access to its bucket.
 * -1 after answering. */
static int find_upload(struct s3_ctx *ctx, bool write, struct bucket *b,
		       struct multipart_upload *u)
{
	const char *id = s3_query(ctx, "uploadId");
	if (s3_bucket_access(ctx, write, b) < 0 || s3_key_check(ctx, ctx->key) < 0)
		return -1;
	if (multipart_get(s3_conn(ctx), b->name, ctx->key, id ? id : "", u, &ctx->err) < 0) {
		s3_error_err(ctx, "NoSuchUpload");
		return -1;
	}
	return 0;
}

void s3_mpu_complete(struct s3_ctx *ctx)
{
	struct http_req *req = ctx->req;
	struct bucket b;
	struct multipart_upload *u = arena_alloc(req->arena, sizeof(*u));
	struct object *obj = arena_alloc(req->arena, sizeof(*obj));
	struct s3xml_complete doc;
	const char *why = "";
	if (find_upload(ctx, true, &b, u) < 0)
		return;
	if (s3xml_parse_complete(req->arena, req->body.data ? req->body.data : "", req->body.len,
				 &doc, &why) < 0) {
		s3_error(ctx, 400, "MalformedXML", "%s", why);
		return;
	}
	enum checksum_algo algo = checksum_parse_algo(u->meta.checksum_algo);
	struct multipart_pick *picks = arena_alloc(req->arena, doc.nparts * sizeof(*picks));
	for (size_t i = 0; i < doc.nparts; i++) {
		picks[i].number = doc.parts[i].number;
		picks[i].etag = doc.parts[i].etag;
		picks[i].checksum = algo != CHECKSUM_NONE ? doc.parts[i].checksum[algo] : NULL;
	}
	/* a FULL_OBJECT upload may state the whole object's checksum */
	const char *want = algo != CHECKSUM_NONE && strcmp(u->checksum_type, "FULL_OBJECT") == 0
				   ? http_req_header(req, checksum_header(algo))
				   : NULL;
	enum multipart_refusal why_not;
	if (multipart_complete(ctx->s3->opts.objects, s3_conn(ctx), &b, u, picks, doc.nparts, want,
			       obj, &why_not, &ctx->err) < 0) {
		if (why_not == MULTIPART_INVALID_ORDER)
			s3_error(ctx, 400, "InvalidPartOrder",
				 "The list of parts was not in ascending order. The parts list must "
				 "be specified in order by part number.");
		else if (why_not == MULTIPART_INVALID_PART)
			s3_error(ctx, 400, "InvalidPart",
				 "One or more of the specified parts could not be found. The part "
				 "may not have been uploaded, or the specified entity tag may not "
				 "match the part's entity tag.");
		else if (why_not == MULTIPART_BAD_CHECKSUM)
			s3_error(ctx, 400, "BadDigest", "%s", ctx->err.message);
		else if (why_not == MULTIPART_TOO_SMALL)
			s3_error(ctx, 400, "EntityTooSmall",
				 "Your proposed upload is smaller than the minimum allowed object "
				 "size: every part but the last must be at least 5 MiB.");
		else
			s3_error_err(ctx, "NoSuchUpload");
		return;
	}
	s3_version_headers(ctx, &b, obj);
	struct buf x;
	s3_xml_begin(&x, "CompleteMultipartUploadResult");
	char *loc = arena_printf(req->arena, "/%s/%s", b.name, ctx->key);
	s3xml_element(&x, "Location", loc);
	s3xml_element(&x, "Bucket", b.name);
	s3xml_element(&x, "Key", ctx->key);
	s3xml_element(&x, "ETag", obj->etag);
	if (algo != CHECKSUM_NONE) {
		char *name = arena_printf(req->arena, "Checksum%s", u->meta.checksum_algo);
		s3xml_element(&x, name, obj->checksum_value);
		s3xml_element(&x, "ChecksumType", u->checksum_type);
	}
	buf_puts(&x, "</CompleteMultipartUploadResult>");
	s3_reply_xml(ctx, 200, &x);
}

void s3_mpu_abort(struct s3_ctx *ctx)
{
	struct bucket b;
	struct multipart_upload *u = arena_alloc(ctx->req->arena, sizeof(*u));
	if (find_upload(ctx, true, &b, u) < 0)
		return;
	if (multipart_abort(ctx->s3->opts.objects, s3_conn(ctx), &b, u->id, &ctx->err) < 0) {
		s3_error_err(ctx, "NoSuchUpload");
		return;
	}
	http_resp_set(ctx->req, 204, NULL, "", 0);
}

/* Read a whole-number query parameter up to max (def when absent). -1
 * after answering 400. */
static int query_count(struct s3_ctx *ctx, const char *name, uint64_t def, uint64_t max,
		       uint64_t *ret)
{
	const char *v = s3_query(ctx, name);
	*ret = def;
	if (!v)
		return 0;
	if (parse_u64(v, 0, UINT64_MAX, ret) < 0) {
		s3_error(ctx, 400, "InvalidArgument", "%s must be a whole number", name);
		return -1;
	}
	if (*ret > max)
		*ret = max;
	return 0;
}

static void initiator_xml(struct s3_ctx *ctx, struct buf *x, const struct multipart_upload *u,
			  const struct bucket *b)
{
	buf_puts(x, "<Initiator>");
	s3xml_element(x, "ID", u->initiator);
	s3xml_element(x, "DisplayName", u->initiator);
	buf_puts(x, "</Initiator>");
	s3_xml_owner(ctx, x, b->project_id);
	s3xml_element(x, "StorageClass", "STANDARD");
}

void s3_mpu_list_parts(struct s3_ctx *ctx)
{
	struct bucket b;
	struct multipart_upload *u = arena_alloc(ctx->req->arena, sizeof(*u));
	struct multipart_part *parts = NULL;
	size_t n = 0;
	bool more = false;
	uint64_t max, after;
	if (find_upload(ctx, false, &b, u) < 0 ||
	    query_count(ctx, "max-parts", LIST_PARTS_MAX, LIST_PARTS_MAX, &max) < 0 ||
	    query_count(ctx, "part-number-marker", 0, MULTIPART_PARTS_MAX, &after) < 0)
		return;
	if (max > 0 && multipart_parts_list(s3_conn(ctx), u->id, (unsigned)after, max, &parts, &n,
					    &more, &ctx->err) < 0) {
		s3_error_err(ctx, "NoSuchUpload");
		return;
	}
	struct buf x;
	s3_xml_begin(&x, "ListPartsResult");
	s3xml_element(&x, "Bucket", b.name);
	s3xml_element(&x, "Key", ctx->key);
	s3xml_element(&x, "UploadId", u->id);
	initiator_xml(ctx, &x, u, &b);
	buf_printf(&x, "<PartNumberMarker>%llu</PartNumberMarker>", (unsigned long long)after);
	if (more)
		buf_printf(&x, "<NextPartNumberMarker>%u</NextPartNumberMarker>", parts[n - 1].number);
	buf_printf(&x, "<MaxParts>%llu</MaxParts>", (unsigned long long)max);
	buf_printf(&x, "<IsTruncated>%s</IsTruncated>", more ? "true" : "false");
	if (u->meta.checksum_algo[0]) {
		s3xml_element(&x, "ChecksumAlgorithm", u->meta.checksum_algo);
		s3xml_element(&x, "ChecksumType", u->checksum_type);
	}
	for (size_t i = 0; i < n; i++) {
		char t[32];
		s3_time_iso(parts[i].last_modified_ms, t);
		buf_printf(&x, "<Part><PartNumber>%u</PartNumber>", parts[i].number);
		s3xml_element(&x, "LastModified", t);
		s3xml_element(&x, "ETag", parts[i].etag);
		buf_printf(&x, "<Size>%lld</Size>", (long long)parts[i].size);
		if (u->meta.checksum_algo[0] && parts[i].checksum_value[0]) {
			char *name = arena_printf(ctx->req->arena, "Checksum%s", u->meta.checksum_algo);
			s3xml_element(&x, name, parts[i].checksum_value);
		}
		buf_puts(&x, "</Part>");
	}
	buf_puts(&x, "</ListPartsResult>");
	free(parts);
	s3_reply_xml(ctx, 200, &x);
}

void s3_mpu_list(struct s3_ctx *ctx)
{
	struct bucket b;
	struct multipart_listing l = { 0 };
	uint64_t max;
	const char *prefix = s3_query(ctx, "prefix");
	const char *delim = s3_query(ctx, "delimiter");
	const char *km = s3_query(ctx, "key-marker");
	const char *im = s3_query(ctx, "upload-id-marker");
	if (s3_bucket_access(ctx, false, &b) < 0 ||
	    query_count(ctx, "max-uploads", LIST_UPLOADS_MAX, LIST_UPLOADS_MAX, &max) < 0)
		return;
	if (km && !km[0])
		km = NULL;
	if (multipart_list(s3_conn(ctx), b.name, prefix ? prefix : "", delim, km,
			   km && im && im[0] ? im : NULL, max, &l, &ctx->err) < 0) {
		s3_error_err(ctx, "NoSuchBucket");
		return;
	}
	struct buf x;
	s3_xml_begin(&x, "ListMultipartUploadsResult");
	s3xml_element(&x, "Bucket", b.name);
	s3xml_element(&x, "KeyMarker", km ? km : "");
	s3xml_element(&x, "UploadIdMarker", km && im ? im : "");
	if (l.truncated) {
		s3xml_element(&x, "NextKeyMarker", l.next_key);
		s3xml_element(&x, "NextUploadIdMarker", l.next_id);
	}
	s3xml_element(&x, "Prefix", prefix ? prefix : "");
	if (delim)
		s3xml_element(&x, "Delimiter", delim);
	buf_printf(&x, "<MaxUploads>%llu</MaxUploads>", (unsigned long long)max);
	buf_printf(&x, "<IsTruncated>%s</IsTruncated>", l.truncated ? "true" : "false");
	for (size_t i = 0; i < l.n; i++) {
		const struct multipart_upload *u = &l.items[i];
		char t[32];
		s3_time_iso(u->initiated_ms, t);
		buf_puts(&x, "<Upload>");
		s3xml_element(&x, "Key", u->meta.key);
		s3xml_element(&x, "UploadId", u->id);
		initiator_xml(ctx, &x, u, &b);
		s3xml_element(&x, "Initiated", t);
		if (u->meta.checksum_algo[0])
			s3xml_element(&x, "ChecksumAlgorithm", u->meta.checksum_algo);
		buf_puts(&x, "</Upload>");
	}
	for (size_t i = 0; i < l.nprefixes; i++) {
		buf_puts(&x, "<CommonPrefixes>");
		s3xml_element(&x, "Prefix", l.prefixes[i]);
		buf_puts(&x, "</CommonPrefixes>");
	}
	buf_puts(&x, "</ListMultipartUploadsResult>");
	multipart_listing_release(&l);
	s3_reply_xml(ctx, 200, &x);
}
