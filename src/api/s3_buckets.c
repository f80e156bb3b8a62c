/* s3_buckets: bucket operations and listings of the S3 service.
 *
 * A bucket belongs to the project of the access key that creates it; the
 * key must hold the member role there. Creating, deleting and changing a
 * bucket are audited ("s3.bucket.create"...), in the same transaction as
 * the change when it succeeds. Listing continuation tokens are the
 * base64url of "1:" and the key to go on after. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/crypto.h"
#include "lib/s3xml.h"
#include "lib/util.h"
#include "api-priv.h"
#include "s3-priv.h"

/* Run a bucket-level change with its audit event: in one transaction when
 * it succeeds, the failure audited alone otherwise. work returns 0 or a
 * -ERR_* (with ctx->err set, or -1 after answering). */
static int audited(struct s3_ctx *ctx, const char *action, const char *project,
		   int (*work)(struct s3_ctx *ctx, void *arg), void *arg,
		   const char *not_found_code, unsigned ok_status)
{
	struct store_conn *c = s3_conn(ctx);
	int r = store_txn_begin(c);
	if (r < 0) {
		s3_error(ctx, 503, "SlowDown", "the store is busy; retry the request");
		return -1;
	}
	r = work(ctx, arg);
	if (r == 0)
		r = s3_audit(ctx, action, ctx->bucket, project, ok_status);
	if (r == 0) {
		r = store_txn_commit(c);
		if (r < 0)
			store_fail(c, r, &ctx->err);
	} else {
		store_txn_rollback(c);
	}
	if (r == 0)
		return 0;
	if (!ctx->req->status)
		s3_error_err(ctx, not_found_code);
	if (store_txn_begin(c) == 0) {
		if (s3_audit(ctx, action, ctx->bucket, project, ctx->req->status) == 0)
			store_txn_commit(c);
		else
			store_txn_rollback(c);
	}
	return -1;
}

void s3_list_buckets(struct s3_ctx *ctx)
{
	const struct principal *p = &ctx->principal;
	struct bucket *items = NULL;
	size_t n = 0;
	if (bucket_list(s3_conn(ctx), p->project_id, 0, &items, &n, &ctx->err) < 0) {
		s3_error_err(ctx, "NoSuchBucket");
		return;
	}
	struct buf b;
	s3_xml_begin(&b, "ListAllMyBucketsResult");
	s3_xml_owner(ctx, &b, p->project_id);
	buf_puts(&b, "<Buckets>");
	for (size_t i = 0; i < n; i++) {
		int64_t ms = 0;
		char t[32];
		time_rfc3339_parse(items[i].created_at, &ms);
		s3_time_iso(ms, t);
		buf_puts(&b, "<Bucket>");
		s3xml_element(&b, "Name", items[i].name);
		s3xml_element(&b, "CreationDate", t);
		buf_puts(&b, "</Bucket>");
	}
	buf_puts(&b, "</Buckets></ListAllMyBucketsResult>");
	free(items);
	s3_reply_xml(ctx, 200, &b);
}

static int create_work(struct s3_ctx *ctx, void *arg)
{
	struct bucket *ret = arg;
	const struct principal *p = &ctx->principal;
	int r = bucket_create(s3_conn(ctx), p->project_id, ctx->bucket,
			      http_req_header(ctx->req, "x-amz-acl"), ret, &ctx->err);
	if (r == -ERR_CONFLICT) {
		/* taken: by this project, or by someone else */
		struct bucket other;
		struct err e = { 0 };
		if (bucket_get(s3_conn(ctx), ctx->bucket, &other, &e) == 0 &&
		    strcmp(other.project_id, p->project_id) == 0)
			s3_error(ctx, 409, "BucketAlreadyOwnedByYou",
				 "Your previous request to create the named bucket succeeded and "
				 "you already own it.");
		else
			s3_error(ctx, 409, "BucketAlreadyExists",
				 "The requested bucket name is not available. The bucket namespace "
				 "is shared by all users of the system. Please select a different "
				 "name and try again.");
		return -1;
	}
	if (r == -ERR_INVALID) {
		s3_error(ctx, 400,
			 strcmp(ctx->err.field, "bucket") == 0 ? "InvalidBucketName" : "InvalidArgument",
			 "%s", ctx->err.message);
		return -1;
	}
	if (r == -ERR_QUOTA) {
		s3_error(ctx, 400, "TooManyBuckets", "%s", ctx->err.message);
		return -1;
	}
	return r;
}

void s3_bucket_create(struct s3_ctx *ctx)
{
	const struct principal *p = &ctx->principal;
	const char *acl;
	struct bucket b;
	if (!p->project_id[0]) {
		s3_error(ctx, 403, "AccessDenied",
			 "this access key has no project: make one scoped to a project to create "
			 "buckets");
		return;
	}
	if (!p->system_admin && p->role < ROLE_MEMBER) {
		s3_error(ctx, 403, "AccessDenied", "creating buckets needs the member role");
		return;
	}
	if (s3_acl_header(ctx, &acl) < 0)
		return;
	const struct buf *body = &ctx->req->body;
	if (body->len > 0) {
		struct s3xml_create_bucket cfg;
		const char *why = "";
		if (s3xml_parse_create_bucket(ctx->req->arena, body->data, body->len, &cfg, &why) <
		    0) {
			s3_error(ctx, 400, "MalformedXML", "%s", why);
			return;
		}
		if (cfg.location && strcmp(cfg.location, ctx->s3->opts.region) != 0) {
			s3_error(ctx, 400, "IllegalLocationConstraintException",
				 "The %.64s location constraint is incompatible for the region "
				 "specific endpoint this request was sent to (%s).",
				 cfg.location, ctx->s3->opts.region);
			return;
		}
	}
	if (audited(ctx, "s3.bucket.create", p->project_id, create_work, &b, "NoSuchBucket", 200) <
	    0)
		return;
	char loc[BUCKET_NAME_MAX + 2];
	str_printf(loc, sizeof(loc), "/%s", b.name);
	http_resp_header(ctx->req, "Location", loc);
	http_resp_set(ctx->req, 200, NULL, "", 0);
}

static int delete_work(struct s3_ctx *ctx, void *arg)
{
	(void)arg;
	int r = bucket_delete(s3_conn(ctx), ctx->bucket, &ctx->err);
	if (r == -ERR_CONFLICT) {
		s3_error(ctx, 409, "BucketNotEmpty",
			 "The bucket you tried to delete is not empty");
		return -1;
	}
	return r;
}

void s3_bucket_delete(struct s3_ctx *ctx)
{
	struct bucket b;
	if (s3_bucket_access(ctx, true, &b) < 0)
		return;
	if (audited(ctx, "s3.bucket.delete", b.project_id, delete_work, NULL, "NoSuchBucket",
		    204) == 0)
		http_resp_set(ctx->req, 204, NULL, "", 0);
}

void s3_bucket_head(struct s3_ctx *ctx)
{
	struct bucket b;
	if (s3_bucket_access(ctx, false, &b) < 0)
		return;
	http_resp_header(ctx->req, "x-amz-bucket-region", ctx->s3->opts.region);
	http_resp_set(ctx->req, 200, NULL, "", 0);
}

void s3_bucket_location(struct s3_ctx *ctx)
{
	struct bucket b;
	if (s3_bucket_access(ctx, false, &b) < 0)
		return;
	struct buf x;
	s3_xml_begin(&x, "LocationConstraint");
	/* AWS names its first region by leaving the constraint empty */
	if (strcmp(ctx->s3->opts.region, "us-east-1") != 0)
		s3xml_escape(&x, ctx->s3->opts.region, strlen(ctx->s3->opts.region));
	buf_puts(&x, "</LocationConstraint>");
	s3_reply_xml(ctx, 200, &x);
}

void s3_bucket_versioning_get(struct s3_ctx *ctx)
{
	struct bucket b;
	if (s3_bucket_access(ctx, false, &b) < 0)
		return;
	struct buf x;
	s3_xml_begin(&x, "VersioningConfiguration");
	if (b.versioning[0])
		s3xml_element(&x, "Status", b.versioning);
	buf_puts(&x, "</VersioningConfiguration>");
	s3_reply_xml(ctx, 200, &x);
}

static int versioning_work(struct s3_ctx *ctx, void *arg)
{
	return bucket_set_versioning(s3_conn(ctx), ctx->bucket, arg, &ctx->err);
}

void s3_bucket_versioning_put(struct s3_ctx *ctx)
{
	struct bucket b;
	struct s3xml_versioning v;
	const char *why = "";
	const struct buf *body = &ctx->req->body;
	if (s3_bucket_access(ctx, true, &b) < 0 || s3_body_digest_check(ctx, false) < 0)
		return;
	if (s3xml_parse_versioning(ctx->req->arena, body->data ? body->data : "", body->len, &v,
				   &why) < 0) {
		s3_error(ctx, 400, "MalformedXML", "%s", why);
		return;
	}
	const char *state = v.status == S3XML_VERSIONING_ENABLED     ? "Enabled"
			    : v.status == S3XML_VERSIONING_SUSPENDED ? "Suspended"
								     : b.versioning;
	if (!state[0]) {
		/* no Status on a bucket never versioned: nothing changes */
		s3_audit(ctx, "s3.bucket.versioning", b.name, b.project_id, 200);
		http_resp_set(ctx->req, 200, NULL, "", 0);
		return;
	}
	if (audited(ctx, "s3.bucket.versioning", b.project_id, versioning_work, (void *)state,
		    "NoSuchBucket", 200) == 0)
		http_resp_set(ctx->req, 200, NULL, "", 0);
}

/* ---- listings ---- */

/* Read the parameters every listing shares. -1 after answering 400. */
static int list_params(struct s3_ctx *ctx, struct object_list_query *q, bool *url)
{
	const char *mk = s3_query(ctx, "max-keys");
	const char *enc = s3_query(ctx, "encoding-type");
	q->prefix = s3_query(ctx, "prefix");
	if (!q->prefix)
		q->prefix = "";
	q->delimiter = s3_query(ctx, "delimiter");
	q->max = OBJECTS_LIST_MAX;
	if (mk) {
		int64_t v;
		if (parse_i64(mk, INT32_MIN, INT32_MAX, &v) < 0 || v < 0) {
			s3_error(ctx, 400, "InvalidArgument",
				 "max-keys must be a whole number from 0 on");
			return -1;
		}
		if (v < OBJECTS_LIST_MAX)
			q->max = (size_t)v;
	}
	*url = false;
	if (enc) {
		if (strcmp(enc, "url") != 0) {
			s3_error(ctx, 400, "InvalidArgument", "Invalid Encoding Method specified in "
				 "Request: encoding-type must be url");
			return -1;
		}
		*url = true;
	}
	if (strlen(q->prefix) > OBJECT_KEY_MAX ||
	    (q->delimiter && strlen(q->delimiter) > OBJECT_KEY_MAX)) {
		s3_error(ctx, 400, "InvalidArgument", "prefix and delimiter are at most %d bytes",
			 OBJECT_KEY_MAX);
		return -1;
	}
	return 0;
}

static void list_common(struct s3_ctx *ctx, struct buf *b, const struct object_list_query *q,
			bool url)
{
	s3xml_element(b, "Name", ctx->bucket);
	s3_xml_key(b, "Prefix", q->prefix, url);
	if (q->delimiter)
		s3_xml_key(b, "Delimiter", q->delimiter, url);
	buf_printf(b, "<MaxKeys>%zu</MaxKeys>", q->max);
	if (url)
		s3xml_element(b, "EncodingType", "url");
}

static void list_prefixes(struct buf *b, const struct object_listing *l, bool url)
{
	for (size_t i = 0; i < l->nprefixes; i++) {
		buf_puts(b, "<CommonPrefixes>");
		s3_xml_key(b, "Prefix", l->prefixes[i], url);
		buf_puts(b, "</CommonPrefixes>");
	}
}

/* One <Contents> of a listing; with the owner when owner is given. */
static void list_contents(struct s3_ctx *ctx, struct buf *b, const struct object_entry *e,
			  bool url, const char *owner)
{
	char t[32];
	s3_time_iso(e->last_modified_ms, t);
	buf_puts(b, "<Contents>");
	s3_xml_key(b, "Key", e->key, url);
	s3xml_element(b, "LastModified", t);
	s3xml_element(b, "ETag", e->etag);
	buf_printf(b, "<Size>%lld</Size>", (long long)e->size);
	if (owner)
		s3_xml_owner(ctx, b, owner);
	buf_puts(b, "<StorageClass>STANDARD</StorageClass></Contents>");
}

void s3_list_objects(struct s3_ctx *ctx, bool v2)
{
	struct object_list_query q = { 0 };
	struct object_listing l = { 0 };
	struct bucket bk;
	bool url;
	const char *token = NULL;
	if (s3_bucket_access(ctx, false, &bk) < 0 || list_params(ctx, &q, &url) < 0)
		return;
	if (v2) {
		token = s3_query(ctx, "continuation-token");
		q.after = s3_query(ctx, "start-after");
		if (token) {
			q.after = api_cursor_decode(ctx->req->arena, token, 4 * OBJECT_KEY_MAX);
			if (!q.after) {
				s3_error(ctx, 400, "InvalidArgument",
					 "The continuation token provided is incorrect");
				return;
			}
		}
	} else {
		q.after = s3_query(ctx, "marker");
	}
	if (object_list(s3_conn(ctx), bk.name, &q, &l, &ctx->err) < 0) {
		s3_error_err(ctx, "NoSuchBucket");
		return;
	}
	struct buf b;
	s3_xml_begin(&b, "ListBucketResult");
	list_common(ctx, &b, &q, url);
	buf_printf(&b, "<IsTruncated>%s</IsTruncated>", l.truncated ? "true" : "false");
	if (v2) {
		const char *sa = s3_query(ctx, "start-after");
		const char *fo = s3_query(ctx, "fetch-owner");
		buf_printf(&b, "<KeyCount>%zu</KeyCount>", l.n + l.nprefixes);
		if (token)
			s3xml_element(&b, "ContinuationToken", token);
		if (sa)
			s3_xml_key(&b, "StartAfter", sa, url);
		if (l.truncated) {
			char *t = api_cursor_encode(l.next_key);
			s3xml_element(&b, "NextContinuationToken", t);
			free(t);
		}
		for (size_t i = 0; i < l.n; i++)
			list_contents(ctx, &b, &l.items[i], url,
				      fo && strcmp(fo, "true") == 0 ? bk.project_id : NULL);
	} else {
		s3_xml_key(&b, "Marker", q.after ? q.after : "", url);
		if (l.truncated && q.delimiter && q.delimiter[0])
			s3_xml_key(&b, "NextMarker", l.next_key, url);
		for (size_t i = 0; i < l.n; i++)
			list_contents(ctx, &b, &l.items[i], url, bk.project_id);
	}
	list_prefixes(&b, &l, url);
	buf_puts(&b, "</ListBucketResult>");
	object_listing_release(&l);
	s3_reply_xml(ctx, 200, &b);
}

void s3_list_versions(struct s3_ctx *ctx)
{
	struct object_list_query q = { .versions = true };
	struct object_listing l = { 0 };
	struct bucket bk;
	bool url;
	if (s3_bucket_access(ctx, false, &bk) < 0 || list_params(ctx, &q, &url) < 0)
		return;
	q.after = s3_query(ctx, "key-marker");
	q.after_version = s3_query(ctx, "version-id-marker");
	if (q.after_version && q.after_version[0] && !(q.after && q.after[0])) {
		s3_error(ctx, 400, "InvalidArgument",
			 "A version-id marker cannot be specified without a key marker.");
		return;
	}
	if (object_list(s3_conn(ctx), bk.name, &q, &l, &ctx->err) < 0) {
		s3_error_err(ctx, "NoSuchBucket");
		return;
	}
	struct buf b;
	s3_xml_begin(&b, "ListVersionsResult");
	list_common(ctx, &b, &q, url);
	s3_xml_key(&b, "KeyMarker", q.after ? q.after : "", url);
	s3xml_element(&b, "VersionIdMarker", q.after_version ? q.after_version : "");
	buf_printf(&b, "<IsTruncated>%s</IsTruncated>", l.truncated ? "true" : "false");
	if (l.truncated) {
		s3_xml_key(&b, "NextKeyMarker", l.next_key, url);
		if (l.next_version[0])
			s3xml_element(&b, "NextVersionIdMarker", l.next_version);
	}
	for (size_t i = 0; i < l.n; i++) {
		const struct object_entry *e = &l.items[i];
		char t[32];
		s3_time_iso(e->last_modified_ms, t);
		buf_puts(&b, e->delete_marker ? "<DeleteMarker>" : "<Version>");
		s3_xml_key(&b, "Key", e->key, url);
		s3xml_element(&b, "VersionId", e->version_id);
		s3xml_element(&b, "IsLatest", e->is_latest ? "true" : "false");
		s3xml_element(&b, "LastModified", t);
		s3_xml_owner(ctx, &b, bk.project_id);
		if (!e->delete_marker) {
			s3xml_element(&b, "ETag", e->etag);
			buf_printf(&b, "<Size>%lld</Size>", (long long)e->size);
			buf_puts(&b, "<StorageClass>STANDARD</StorageClass>");
		}
		buf_puts(&b, e->delete_marker ? "</DeleteMarker>" : "</Version>");
	}
	list_prefixes(&b, &l, url);
	buf_puts(&b, "</ListVersionsResult>");
	object_listing_release(&l);
	s3_reply_xml(ctx, 200, &b);
}

/* ---- ACL and policy ---- */

/* The canned ACL a PutBucketAcl or PutObjectAcl sets. NULL after
 * answering. */
static const char *acl_to_set(struct s3_ctx *ctx)
{
	const char *acl;
	if (s3_acl_header(ctx, &acl) < 0)
		return NULL;
	if (!acl || ctx->req->body.len > 0) {
		s3_error(ctx, 501, "NotImplemented",
			 "only a canned ACL in x-amz-acl (private or public-read) is supported, "
			 "not an AccessControlPolicy document or grant headers");
		return NULL;
	}
	return acl;
}

static int acl_work(struct s3_ctx *ctx, void *arg)
{
	return bucket_set_acl(s3_conn(ctx), ctx->bucket, arg, &ctx->err);
}

void s3_bucket_acl_put(struct s3_ctx *ctx)
{
	struct bucket b;
	if (s3_bucket_access(ctx, true, &b) < 0)
		return;
	const char *acl = acl_to_set(ctx);
	if (!acl)
		return;
	if (audited(ctx, "s3.bucket.acl", b.project_id, acl_work, (void *)acl, "NoSuchBucket",
		    200) == 0)
		http_resp_set(ctx->req, 200, NULL, "", 0);
}

/* An AccessControlPolicy: the owner's full control, and everyone's READ
 * for public-read. */
static void acl_xml(struct s3_ctx *ctx, const char *owner, bool public_read)
{
	struct buf x;
	s3_xml_begin(&x, "AccessControlPolicy");
	s3_xml_owner(ctx, &x, owner);
	buf_puts(&x, "<AccessControlList><Grant><Grantee "
		     "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
		     "xsi:type=\"CanonicalUser\">");
	s3xml_element(&x, "ID", owner);
	buf_puts(&x, "</Grantee><Permission>FULL_CONTROL</Permission></Grant>");
	if (public_read)
		buf_puts(&x, "<Grant><Grantee xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
			     "xsi:type=\"Group\"><URI>http://acs.amazonaws.com/groups/global/AllUsers"
			     "</URI></Grantee><Permission>READ</Permission></Grant>");
	buf_puts(&x, "</AccessControlList></AccessControlPolicy>");
	s3_reply_xml(ctx, 200, &x);
}

void s3_bucket_acl_get(struct s3_ctx *ctx)
{
	struct bucket b;
	if (s3_bucket_access(ctx, false, &b) < 0)
		return;
	acl_xml(ctx, b.project_id, strcmp(b.acl, "public-read") == 0);
}

void s3_object_acl_get(struct s3_ctx *ctx)
{
	struct bucket b;
	struct object *obj = arena_alloc(ctx->req->arena, sizeof(*obj));
	const char *vid = s3_query(ctx, "versionId");
	if (s3_bucket_access(ctx, false, &b) < 0 || s3_key_check(ctx, ctx->key) < 0)
		return;
	if (object_get(s3_conn(ctx), b.name, ctx->key, vid, obj, &ctx->err) < 0) {
		s3_error_err(ctx, vid ? "NoSuchVersion" : "NoSuchKey");
		return;
	}
	acl_xml(ctx, b.project_id, strcmp(obj->acl, "public-read") == 0);
}

void s3_object_acl_put(struct s3_ctx *ctx)
{
	struct bucket b;
	const char *vid = s3_query(ctx, "versionId");
	if (s3_bucket_access(ctx, true, &b) < 0 || s3_key_check(ctx, ctx->key) < 0)
		return;
	const char *acl = acl_to_set(ctx);
	if (!acl)
		return;
	if (object_set_acl(s3_conn(ctx), b.name, ctx->key, vid,
			   strcmp(acl, "public-read") == 0 ? acl : "", &ctx->err) < 0) {
		s3_error_err(ctx, vid ? "NoSuchVersion" : "NoSuchKey");
		return;
	}
	http_resp_set(ctx->req, 200, NULL, "", 0);
}

static int policy_work(struct s3_ctx *ctx, void *arg)
{
	return bucket_doc_set(s3_conn(ctx), ctx->bucket, BUCKET_DOC_POLICY, arg, &ctx->err);
}

void s3_bucket_policy_put(struct s3_ctx *ctx)
{
	struct bucket b;
	const struct buf *body = &ctx->req->body;
	if (s3_bucket_access(ctx, true, &b) < 0)
		return;
	if (bucket_policy_check(body->data ? body->data : "", body->len, b.name, &ctx->err) < 0) {
		s3_error(ctx, 400, "MalformedPolicy", "%s", ctx->err.message);
		return;
	}
	char *doc = arena_strndup(ctx->req->arena, body->data, body->len);
	if (audited(ctx, "s3.bucket.policy", b.project_id, policy_work, doc, "NoSuchBucket",
		    204) == 0)
		http_resp_set(ctx->req, 204, NULL, "", 0);
}

void s3_bucket_policy_delete(struct s3_ctx *ctx)
{
	struct bucket b;
	if (s3_bucket_access(ctx, true, &b) < 0)
		return;
	if (audited(ctx, "s3.bucket.policy", b.project_id, policy_work, NULL, "NoSuchBucket",
		    204) == 0)
		http_resp_set(ctx->req, 204, NULL, "", 0);
}

void s3_bucket_policy_get(struct s3_ctx *ctx)
{
	struct bucket b;
	char *doc = NULL;
	if (s3_bucket_access(ctx, false, &b) < 0)
		return;
	if (bucket_doc_get(s3_conn(ctx), b.name, BUCKET_DOC_POLICY, &doc, &ctx->err) < 0) {
		s3_error_err(ctx, "NoSuchBucketPolicy");
		return;
	}
	http_resp_take(ctx->req, 200, "application/json", doc, strlen(doc));
}

/* ---- CORS ---- */

static int cors_work(struct s3_ctx *ctx, void *arg)
{
	return bucket_doc_set(s3_conn(ctx), ctx->bucket, BUCKET_DOC_CORS, arg, &ctx->err);
}

void s3_bucket_cors_put(struct s3_ctx *ctx)
{
	struct bucket b;
	struct s3xml_cors cfg;
	const char *why = "";
	const struct buf *body = &ctx->req->body;
	if (s3_bucket_access(ctx, true, &b) < 0 || s3_body_digest_check(ctx, false) < 0)
		return;
	if (s3xml_parse_cors(ctx->req->arena, body->data ? body->data : "", body->len, &cfg,
			     &why) < 0) {
		s3_error(ctx, 400, "MalformedXML", "%s", why);
		return;
	}
	char *doc = arena_strndup(ctx->req->arena, body->data, body->len);
	if (audited(ctx, "s3.bucket.cors", b.project_id, cors_work, doc, "NoSuchBucket", 200) == 0)
		http_resp_set(ctx->req, 200, NULL, "", 0);
}

void s3_bucket_cors_delete(struct s3_ctx *ctx)
{
	struct bucket b;
	if (s3_bucket_access(ctx, true, &b) < 0)
		return;
	if (audited(ctx, "s3.bucket.cors", b.project_id, cors_work, NULL, "NoSuchBucket", 204) == 0)
		http_resp_set(ctx->req, 204, NULL, "", 0);
}

void s3_bucket_cors_get(struct s3_ctx *ctx)
{
	struct bucket b;
	char *doc = NULL;
	if (s3_bucket_access(ctx, false, &b) < 0)
		return;
	if (bucket_doc_get(s3_conn(ctx), b.name, BUCKET_DOC_CORS, &doc, &ctx->err) < 0) {
		s3_error_err(ctx, "NoSuchCORSConfiguration");
		return;
	}
	http_resp_take(ctx->req, 200, "application/xml", doc, strlen(doc));
}

/* The rule of bucket's CORS configuration that allows q, or NULL (no
 * bucket, no configuration, no rule). Arena memory. */
static const struct s3xml_cors_rule *cors_rule(struct s3_ctx *ctx, const char *bucket,
					       const struct cors_request *q)
{
	char *doc = NULL;
	struct err e = { 0 };
	struct s3xml_cors cfg;
	const char *why;
	if (bucket_doc_get(s3_conn(ctx), bucket, BUCKET_DOC_CORS, &doc, &e) < 0)
		return NULL;
	int r = s3xml_parse_cors(ctx->req->arena, doc, strlen(doc), &cfg, &why);
	free(doc);
	return r < 0 ? NULL : objects_cors_match(&cfg, q);
}

/* Join n strings with ", " (arena). */
static const char *joined(struct s3_ctx *ctx, const char **items, size_t n)
{
	struct buf b;
	buf_init(&b, 0);
	for (size_t i = 0; i < n; i++)
		buf_printf(&b, "%s%s", i ? ", " : "", items[i]);
	const char *s = arena_strdup(ctx->req->arena, b.data ? b.data : "");
	buf_release(&b);
	return s;
}

/* The headers a matched rule gives an answer. */
static void cors_answer(struct s3_ctx *ctx, const struct s3xml_cors_rule *r, const char *origin)
{
	struct http_req *req = ctx->req;
	bool any = false;
	for (size_t i = 0; i < r->norigins; i++)
		any = any || strcmp(r->allowed_origins[i], "*") == 0;
	http_resp_header(req, "Access-Control-Allow-Origin", any ? "*" : origin);
	if (!any)
		http_resp_header(req, "Access-Control-Allow-Credentials", "true");
	http_resp_header(req, "Access-Control-Allow-Methods",
			 joined(ctx, r->allowed_methods, r->nmethods));
	if (r->nexpose_headers)
		http_resp_header(req, "Access-Control-Expose-Headers",
				 joined(ctx, r->expose_headers, r->nexpose_headers));
	if (r->max_age >= 0) {
		char age[24];
		str_printf(age, sizeof(age), "%lld", (long long)r->max_age);
		http_resp_header(req, "Access-Control-Max-Age", age);
	}
	http_resp_header(req, "Vary",
			 "Origin, Access-Control-Request-Headers, Access-Control-Request-Method");
}

void s3_cors_preflight(struct s3_ctx *ctx)
{
	struct http_req *req = ctx->req;
	struct bucket b;
	struct cors_request q = {
		.origin = http_req_header(req, "Origin"),
		.method = http_req_header(req, "Access-Control-Request-Method"),
		.headers = http_req_header(req, "Access-Control-Request-Headers"),
	};
	if (!q.origin || !q.method) {
		s3_error(ctx, 400, "BadRequest",
			 "Insufficient information. Origin and Access-Control-Request-Method "
			 "request headers needed.");
		return;
	}
	if (bucket_get(s3_conn(ctx), ctx->bucket, &b, &ctx->err) < 0) {
		s3_error_err(ctx, "NoSuchBucket");
		return;
	}
	const struct s3xml_cors_rule *r = cors_rule(ctx, b.name, &q);
	if (!r) {
		s3_error(ctx, 403, "AccessForbidden",
			 "CORSResponse: This CORS request is not allowed. This is usually because "
			 "the evalution of Origin, request method / Access-Control-Request-Method "
			 "or Access-Control-Request-Headers are not whitelisted by the resource's "
			 "CORS spec.");
		return;
	}
	cors_answer(ctx, r, q.origin);
	if (q.headers)
		http_resp_header(req, "Access-Control-Allow-Headers", q.headers);
	http_resp_set(req, 200, NULL, "", 0);
}

void s3_cors_headers(struct s3_ctx *ctx)
{
	struct cors_request q = { .origin = http_req_header(ctx->req, "Origin"),
				  .method = ctx->req->method };
	if (!q.origin || !ctx->bucket || !ctx->req->status)
		return;
	const struct s3xml_cors_rule *r = cors_rule(ctx, ctx->bucket, &q);
	if (r)
		cors_answer(ctx, r, q.origin);
}
