/* Unit tests of the objects module: bucket rules, versions, listings and
 * the filesystem backend's crash recovery, against a SQLite store and a
 * scratch data directory. */
#include <errno.h>
#include <ftw.h>
#include <sys/stat.h>

#include "unit.h"

#include "identity/identity.h"
#include "lib/arena.h"
#include "lib/checksum.h"
#include "lib/s3xml.h"
#include "lib/util.h"
#include "objects/objects.h"

static const unsigned char server_key[CRYPTO_KEY_SIZE] = { 7 };
static const int64_t quota_defaults[QUOTA__COUNT] = {
	[QUOTA_INSTANCES] = -1, [QUOTA_VCPUS] = -1,       [QUOTA_RAM_MB] = -1,
	[QUOTA_VOLUMES] = -1,   [QUOTA_VOLUME_GB] = -1,   [QUOTA_NETWORKS] = -1,
	[QUOTA_FLOATING_IPS] = -1, [QUOTA_BUCKETS] = 3,   [QUOTA_OBJECT_BYTES] = 100,
	[QUOTA_ACCESS_KEYS] = -1,
};

struct fixture {
	char dir[UNIT_DIR_SIZE];
	char db[UNIT_DIR_SIZE + 16];
	char data[UNIT_DIR_SIZE + 16];
	struct store *st;
	struct store_conn *c;
	struct objects *o;
	struct identity_settings s;
	struct project p;
};

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	struct err err;
	if (unit_tmpdir_make(f->dir) < 0)
		return -1;
	snprintf(f->db, sizeof(f->db), "%s/nubo.db", f->dir);
	snprintf(f->data, sizeof(f->data), "%s/objects", f->dir);
	struct store_opts so = { .url = f->db, .pool_size = 1, .busy_timeout_ms = 10000 };
	if (store_open(&so, &f->st, &err) < 0 || objects_open_fs(f->data, &f->o, &err) < 0) {
		fprintf(stderr, "setup: %s\n", err.message);
		return -1;
	}
	f->c = store_conn_get(f->st);
	f->s = (struct identity_settings){ .token_ttl_ms = 3600000, .cost = { 1, 1024, 1 },
					   .server_key = server_key,
					   .quota_defaults = quota_defaults };
	if (project_create(f->c, &f->s, "alpha", "", &f->p, &err) < 0)
		return -1;
	*state = f;
	return 0;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	store_conn_put(f->c);
	store_free(f->st);
	objects_free(f->o);
	int r = nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return r;
}

/* Store body as a new version of key in bucket b. Returns object_put's result. */
static int put(struct fixture *f, const struct bucket *b, const char *key, const char *body,
	       struct object *ret)
{
	struct err err;
	struct objects_writer *w = NULL;
	struct object obj = { 0 };
	str_copy(obj.key, sizeof(obj.key), key);
	str_copy(obj.etag, sizeof(obj.etag), "\"e\"");
	obj.size = (int64_t)strlen(body);
	assert_int_equal(f->o->ops->write_begin(f->o->data, &w, &err), 0);
	assert_int_equal(f->o->ops->write(w, body, strlen(body)), 0);
	assert_int_equal(f->o->ops->write_commit(w, obj.data_ref, &err), 0);
	int r = object_put(f->o, f->c, b, &obj, &err);
	if (r < 0)
		f->o->ops->remove(f->o->data, obj.data_ref);
	if (ret)
		*ret = obj;
	return r;
}

/* Read the bytes of key's latest version into out (at most size - 1). */
static void read_back(struct fixture *f, const char *bucket, const char *key, char *out,
		      size_t size)
{
	struct object obj;
	struct err err;
	int fd = -1;
	assert_int_equal(object_get(f->c, bucket, key, NULL, &obj, &err), 0);
	assert_int_equal(f->o->ops->open(f->o->data, obj.data_ref, &fd, &err), 0);
	ssize_t n = read(fd, out, size - 1);
	close(fd);
	assert_true(n >= 0);
	out[n] = '\0';
}

static size_t count_files(const char *dir)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "find %s -type f | wc -l", dir);
	FILE *p = popen(cmd, "r");
	unsigned long n = 0;
	if (!p || fscanf(p, "%lu", &n) != 1)
		n = (unsigned long)-1;
	if (p)
		pclose(p);
	return n;
}

static void test_bucket_names(void **state)
{
	(void)state;
	static const char *const good[] = { "abc", "my.bucket-1", "a1b", "xn-x", NULL };
	static const char *const bad[] = { "ab", "ABC", "a_b", ".ab", "ab-", "a..b", "a.-b",
					   "10.0.0.1", "xn--ab", "sthree-ab", "ab-s3alias",
					   "ab--ol-s3", "a b", NULL };
	struct err err;
	for (const char *const *n = good; *n; n++)
		assert_int_equal(bucket_name_check(*n, &err), 0);
	for (const char *const *n = bad; *n; n++)
		assert_int_equal(bucket_name_check(*n, &err), -ERR_INVALID);
	char longname[65];
	memset(longname, 'a', 64);
	longname[64] = '\0';
	assert_int_equal(bucket_name_check(longname, &err), -ERR_INVALID);
	longname[63] = '\0';
	assert_int_equal(bucket_name_check(longname, &err), 0);
}

static void test_bucket_lifecycle_and_quota(void **state)
{
	struct fixture *f = *state;
	struct bucket b, got;
	struct err err;
	assert_int_equal(bucket_create(f->c, f->p.id, "one", NULL, &b, &err), 0);
	assert_string_equal(b.acl, "private");
	assert_int_equal(bucket_create(f->c, f->p.id, "one", NULL, &b, &err), -ERR_CONFLICT);
	assert_int_equal(bucket_create(f->c, f->p.id, "two", NULL, &b, &err), 0);
	assert_int_equal(bucket_create(f->c, f->p.id, "three", NULL, &b, &err), 0);
	assert_int_equal(bucket_create(f->c, f->p.id, "four", NULL, &b, &err), -ERR_QUOTA);
	assert_int_equal(bucket_get(f->c, "four", &got, &err), -ERR_NOT_FOUND);
	struct bucket *list = NULL;
	size_t n = 0;
	assert_int_equal(bucket_list(f->c, f->p.id, 0, &list, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_string_equal(list[0].name, "one");
	assert_string_equal(list[2].name, "two");
	free(list);
	assert_int_equal(bucket_get(f->c, "one", &got, &err), 0);
	assert_int_equal(put(f, &got, "k", "v", NULL), 0);
	assert_int_equal(bucket_delete(f->c, "one", &err), -ERR_CONFLICT);
	struct object_deleted d;
	assert_int_equal(object_delete(f->o, f->c, &got, "k", NULL, &d, &err), 0);
	assert_int_equal(bucket_delete(f->c, "one", &err), 0);
	assert_int_equal(bucket_delete(f->c, "one", &err), -ERR_NOT_FOUND);
	assert_int_equal(bucket_create(f->c, f->p.id, "four", NULL, &b, &err), 0);
}

static void test_put_replace_delete_keep_files_and_quota_right(void **state)
{
	struct fixture *f = *state;
	struct bucket b;
	struct err err;
	struct object obj;
	char buf[64];
	assert_int_equal(bucket_create(f->c, f->p.id, "data", NULL, &b, &err), 0);
	assert_int_equal(put(f, &b, "k", "first", &obj), 0);
	assert_string_equal(obj.version_id, "null");
	assert_int_equal(put(f, &b, "k", "second!", NULL), 0);
	read_back(f, "data", "k", buf, sizeof(buf));
	assert_string_equal(buf, "second!");
	assert_int_equal(count_files(f->data), 1);
	struct quota q;
	assert_int_equal(quota_get(f->c, f->p.id, &q, &err), 0);
	assert_int_equal(q.used[QUOTA_OBJECT_BYTES], 7);
	/* over the object_bytes quota: refused, nothing changed */
	char big[100];
	memset(big, 'x', 99);
	big[99] = '\0';
	assert_int_equal(put(f, &b, "big", big, NULL), -ERR_QUOTA);
	assert_int_equal(object_get(f->c, "data", "big", NULL, &obj, &err), -ERR_NOT_FOUND);
	assert_int_equal(count_files(f->data), 1);
	struct object_deleted d;
	assert_int_equal(object_delete(f->o, f->c, &b, "k", NULL, &d, &err), 0);
	assert_false(d.delete_marker);
	assert_int_equal(count_files(f->data), 0);
	assert_int_equal(quota_get(f->c, f->p.id, &q, &err), 0);
	assert_int_equal(q.used[QUOTA_OBJECT_BYTES], 0);
}

static void expect_listing(struct fixture *f, const struct object_list_query *q,
			   const char *want_items, const char *want_prefixes, bool truncated)
{
	struct object_listing l;
	struct err err;
	assert_int_equal(object_list(f->c, "list", q, &l, &err), 0);
	char items[512] = "", prefixes[512] = "";
	for (size_t i = 0; i < l.n; i++) {
		strncat(items, l.items[i].key, sizeof(items) - strlen(items) - 2);
		strncat(items, " ", sizeof(items) - strlen(items) - 1);
	}
	for (size_t i = 0; i < l.nprefixes; i++) {
		strncat(prefixes, l.prefixes[i], sizeof(prefixes) - strlen(prefixes) - 2);
		strncat(prefixes, " ", sizeof(prefixes) - strlen(prefixes) - 1);
	}
	assert_string_equal(items, want_items);
	assert_string_equal(prefixes, want_prefixes);
	assert_int_equal(l.truncated, truncated);
	object_listing_release(&l);
}

static void test_listing(void **state)
{
	struct fixture *f = *state;
	struct bucket b;
	struct err err;
	static const char *const keys[] = { "a", "b/1", "b/2", "b/c/3", "c", "d/\xff", "e", NULL };
	assert_int_equal(bucket_create(f->c, f->p.id, "list", NULL, &b, &err), 0);
	for (const char *const *k = keys; *k; k++)
		assert_int_equal(put(f, &b, *k, "", NULL), 0);
	struct object_list_query q = { .prefix = "", .max = 1000 };
	expect_listing(f, &q, "a b/1 b/2 b/c/3 c d/\xff e ", "", false);
	q.delimiter = "/";
	expect_listing(f, &q, "a c e ", "b/ d/ ", false);
	q.max = 2;
	expect_listing(f, &q, "a ", "b/ ", true);
	q.after = "b/";
	expect_listing(f, &q, "c ", "d/ ", true);
	q.after = "d/";
	expect_listing(f, &q, "e ", "", false);
	q.after = NULL;
	q.max = 1000;
	q.prefix = "b/";
	expect_listing(f, &q, "b/1 b/2 ", "b/c/ ", false);
	q.delimiter = NULL;
	q.prefix = "b";
	q.after = "b/1";
	expect_listing(f, &q, "b/2 b/c/3 ", "", false);
	q.max = 0;
	expect_listing(f, &q, "", "", true);
}

static void test_versions_and_delete_markers(void **state)
{
	struct fixture *f = *state;
	struct bucket b;
	struct err err;
	struct object v1, v2, got;
	struct object_deleted d;
	assert_int_equal(bucket_create(f->c, f->p.id, "vers", NULL, &b, &err), 0);
	assert_int_equal(put(f, &b, "k", "old", NULL), 0); /* the "null" version */
	assert_int_equal(bucket_set_versioning(f->c, "vers", "Enabled", &err), 0);
	assert_int_equal(bucket_set_versioning(f->c, "vers", "On", &err), -ERR_INVALID);
	assert_int_equal(bucket_get(f->c, "vers", &b, &err), 0);
	assert_int_equal(put(f, &b, "k", "v1", &v1), 0);
	assert_int_equal(put(f, &b, "k", "v2", &v2), 0);
	assert_int_equal(strlen(v1.version_id), 32);
	assert_string_not_equal(v1.version_id, v2.version_id);
	assert_int_equal(object_delete(f->o, f->c, &b, "k", NULL, &d, &err), 0);
	assert_true(d.delete_marker);
	assert_int_equal(object_get(f->c, "vers", "k", NULL, &got, &err), -ERR_NOT_FOUND);
	assert_true(got.delete_marker);
	assert_int_equal(object_get(f->c, "vers", "k", v1.version_id, &got, &err), 0);
	assert_string_equal(got.version_id, v1.version_id);
	assert_int_equal(count_files(f->data), 3);
	/* newest first, one page of two, then the rest */
	struct object_list_query q = { .prefix = "", .max = 2, .versions = true };
	struct object_listing l;
	assert_int_equal(object_list(f->c, "vers", &q, &l, &err), 0);
	assert_int_equal(l.n, 2);
	assert_true(l.items[0].delete_marker && l.items[0].is_latest);
	assert_string_equal(l.items[1].version_id, v2.version_id);
	assert_true(l.truncated);
	q.after = "k";
	q.after_version = l.next_version;
	struct object_listing l2;
	assert_int_equal(object_list(f->c, "vers", &q, &l2, &err), 0);
	assert_int_equal(l2.n, 2);
	assert_string_equal(l2.items[0].version_id, v1.version_id);
	assert_string_equal(l2.items[1].version_id, "null");
	assert_false(l2.truncated);
	object_listing_release(&l);
	object_listing_release(&l2);
	/* removing the marker brings v2 back */
	assert_int_equal(object_delete(f->o, f->c, &b, "k", d.version_id, &d, &err), 0);
	assert_int_equal(object_get(f->c, "vers", "k", NULL, &got, &err), 0);
	assert_string_equal(got.version_id, v2.version_id);
	assert_int_equal(object_delete(f->o, f->c, &b, "k", v1.version_id, &d, &err), 0);
	assert_int_equal(count_files(f->data), 2);
}

static void test_recover_removes_only_orphans(void **state)
{
	struct fixture *f = *state;
	struct bucket b;
	struct err err;
	char path[256], buf[16];
	assert_int_equal(bucket_create(f->c, f->p.id, "rec", NULL, &b, &err), 0);
	assert_int_equal(put(f, &b, "kept", "kept", NULL), 0);
	/* a write a crash interrupted, and bytes whose row never committed */
	struct objects_writer *w = NULL;
	char ref[OBJECTS_REF_SIZE];
	assert_int_equal(f->o->ops->write_begin(f->o->data, &w, &err), 0);
	assert_int_equal(f->o->ops->write(w, "half", 4), 0);
	struct objects_writer *w2 = NULL;
	assert_int_equal(f->o->ops->write_begin(f->o->data, &w2, &err), 0);
	assert_int_equal(f->o->ops->write_commit(w2, ref, &err), 0);
	snprintf(path, sizeof(path), "%s/data/%s", f->data, ref);
	assert_int_equal(access(path, F_OK), 0);
	assert_int_equal(objects_recover(f->o, f->c, &err), 2);
	assert_int_not_equal(access(path, F_OK), 0);
	read_back(f, "rec", "kept", buf, sizeof(buf));
	assert_string_equal(buf, "kept");
	f->o->ops->write_abort(w); /* its file is gone already */
	assert_int_equal(objects_recover(f->o, f->c, &err), 0);
}

/* Store a part of n bytes of ch; returns its quoted ETag in etag. */
static void put_part(struct fixture *f, const struct bucket *b, const char *id, unsigned number,
		     size_t n, char ch, char etag[72])
{
	struct err err;
	struct objects_writer *w = NULL;
	struct multipart_part p = { .number = number, .size = (int64_t)n };
	char *data = malloc(n);
	memset(data, ch, n);
	unsigned char md5[CHECKSUM_MAX];
	char hex[33];
	checksum_buf(CHECKSUM_MD5, data, n, md5);
	hex_encode(md5, 16, hex);
	snprintf(p.etag, sizeof(p.etag), "\"%s\"", hex);
	assert_int_equal(f->o->ops->write_begin(f->o->data, &w, &err), 0);
	assert_int_equal(f->o->ops->write(w, data, n), 0);
	assert_int_equal(f->o->ops->write_commit(w, p.data_ref, &err), 0);
	assert_int_equal(multipart_part_put(f->o, f->c, b, id, &p, &err), 0);
	str_copy(etag, 72, p.etag);
	free(data);
}

static void test_multipart(void **state)
{
	struct fixture *f = *state;
	struct bucket b;
	struct err err;
	struct multipart_upload u = { 0 };
	char e1[72], e2[72], e3[72];
	assert_int_equal(bucket_create(f->c, f->p.id, "mpu", NULL, &b, &err), 0);
	/* a large object_bytes quota for 5 MiB parts */
	assert_int_equal(quota_set(f->c, f->p.id, QUOTA_OBJECT_BYTES, -1, &err), 0);
	str_copy(u.meta.key, sizeof(u.meta.key), "k");
	str_copy(u.meta.content_type, sizeof(u.meta.content_type), "text/plain");
	assert_int_equal(multipart_create(f->c, &b, &u, &err), 0);
	put_part(f, &b, u.id, 1, MULTIPART_PART_MIN, 'a', e1);
	put_part(f, &b, u.id, 2, 10, 'b', e2);
	put_part(f, &b, u.id, 2, 3, 'c', e3); /* replaces part 2 */
	assert_int_equal(count_files(f->data), 2);
	struct multipart_part *parts = NULL;
	size_t n = 0;
	bool more = false;
	assert_int_equal(multipart_parts_list(f->c, u.id, 0, 1, &parts, &n, &more, &err), 0);
	assert_int_equal(n, 1);
	assert_true(more);
	free(parts);
	struct object obj;
	enum multipart_refusal why;
	struct multipart_pick bad_order[] = { { 2, e3, NULL }, { 1, e1, NULL } };
	assert_int_equal(multipart_complete(f->o, f->c, &b, &u, bad_order, 2, NULL, &obj, &why, &err),
			 -ERR_INVALID);
	assert_int_equal(why, MULTIPART_INVALID_ORDER);
	struct multipart_pick stale[] = { { 1, e1, NULL }, { 2, e2, NULL } };
	assert_int_equal(multipart_complete(f->o, f->c, &b, &u, stale, 2, NULL, &obj, &why, &err),
			 -ERR_INVALID);
	assert_int_equal(why, MULTIPART_INVALID_PART);
	struct multipart_pick small[] = { { 2, e3, NULL } , { 3, e3, NULL } };
	assert_int_equal(multipart_complete(f->o, f->c, &b, &u, small, 2, NULL, &obj, &why, &err),
			 -ERR_INVALID);
	struct multipart_pick good[] = { { 1, e1 + 1, NULL }, { 2, e3, NULL } };
	char quoted_less[72];
	str_copy(quoted_less, sizeof(quoted_less), e1 + 1);
	quoted_less[strlen(quoted_less) - 1] = '\0';
	good[0].etag = quoted_less; /* ETags match with or without quotes */
	assert_int_equal(multipart_complete(f->o, f->c, &b, &u, good, 2, NULL, &obj, &why, &err), 0);
	assert_int_equal(obj.size, MULTIPART_PART_MIN + 3);
	assert_true(strstr(obj.etag, "-2\"") != NULL);
	assert_string_equal(obj.content_type, "text/plain");
	assert_int_equal(count_files(f->data), 1);
	assert_int_equal(multipart_get(f->c, "mpu", "k", u.id, &u, &err), -ERR_NOT_FOUND);
	struct quota q;
	assert_int_equal(quota_get(f->c, f->p.id, &q, &err), 0);
	assert_int_equal(q.used[QUOTA_OBJECT_BYTES], MULTIPART_PART_MIN + 3);
	/* abort drops the parts and their quota; expiry aborts old uploads */
	struct multipart_upload u2 = { 0 };
	str_copy(u2.meta.key, sizeof(u2.meta.key), "k2");
	assert_int_equal(multipart_create(f->c, &b, &u2, &err), 0);
	put_part(f, &b, u2.id, 1, 7, 'x', e1);
	assert_int_equal(multipart_abort(f->o, f->c, &b, u2.id, &err), 0);
	assert_int_equal(multipart_abort(f->o, f->c, &b, u2.id, &err), -ERR_NOT_FOUND);
	assert_int_equal(multipart_create(f->c, &b, &u2, &err), 0);
	put_part(f, &b, u2.id, 1, 7, 'x', e1);
	assert_int_equal(multipart_expire(f->o, f->c, u2.initiated_ms, &err), 0);
	assert_int_equal(multipart_expire(f->o, f->c, u2.initiated_ms + 1, &err), 1);
	assert_int_equal(count_files(f->data), 1);
	assert_int_equal(quota_get(f->c, f->p.id, &q, &err), 0);
	assert_int_equal(q.used[QUOTA_OBJECT_BYTES], MULTIPART_PART_MIN + 3);
}

static void test_policy_subset(void **state)
{
	(void)state;
	struct err err;
	static const char good[] =
		"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\","
		"\"Principal\":\"*\",\"Action\":\"s3:GetObject\",\"Resource\":"
		"[\"arn:aws:s3:::web/pub/*\",\"arn:aws:s3:::web/index.html\"]}]}";
	assert_int_equal(bucket_policy_check(good, strlen(good), "web", &err), 0);
	assert_true(bucket_policy_allows_read(good, "web", "pub/a/b.css"));
	assert_true(bucket_policy_allows_read(good, "web", "index.html"));
	assert_false(bucket_policy_allows_read(good, "web", "index.html2"));
	assert_false(bucket_policy_allows_read(good, "web", "private/x"));
	assert_false(bucket_policy_allows_read(good, "other", "pub/a"));
	assert_false(bucket_policy_allows_read(NULL, "web", "pub/a"));
	assert_int_equal(bucket_policy_check(good, strlen(good), "other", &err), -ERR_INVALID);
	static const char *const bad[] = {
		"[]", "{}", "{\"Statement\":[]}", "not json",
		"{\"Statement\":{\"Effect\":\"Deny\",\"Principal\":\"*\",\"Action\":"
		"\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::web/*\"}}",
		"{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":"
		"\"s3:*\",\"Resource\":\"arn:aws:s3:::web/*\"}}",
		"{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":"
		"\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::web/*.png\"}}",
		"{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":"
		"\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::web\"}}",
		"{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":"
		"\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::web/*\",\"Condition\":{}}}",
		NULL };
	for (const char *const *d = bad; *d; d++) {
		assert_int_equal(bucket_policy_check(*d, strlen(*d), "web", &err), -ERR_INVALID);
		assert_false(bucket_policy_allows_read(*d, "web", "x"));
	}
}

static void test_cors_match(void **state)
{
	(void)state;
	static const char doc[] =
		"<CORSConfiguration><CORSRule><AllowedOrigin>https://*.example.org</AllowedOrigin>"
		"<AllowedMethod>GET</AllowedMethod><AllowedHeader>x-amz-*</AllowedHeader>"
		"</CORSRule><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>HEAD"
		"</AllowedMethod></CORSRule></CORSConfiguration>";
	struct arena *a = arena_new();
	struct s3xml_cors cfg;
	const char *why;
	assert_int_equal(s3xml_parse_cors(a, doc, strlen(doc), &cfg, &why), 0);
	struct cors_request q = { "https://a.example.org", "GET", "X-Amz-Date, x-amz-meta-a" };
	assert_ptr_equal(objects_cors_match(&cfg, &q), &cfg.rules[0]);
	q.headers = "content-type";
	assert_null(objects_cors_match(&cfg, &q));
	q.headers = NULL;
	q.origin = "https://example.org";
	assert_null(objects_cors_match(&cfg, &q));
	q.origin = "http://a.example.org";
	assert_null(objects_cors_match(&cfg, &q));
	q.method = "HEAD";
	assert_ptr_equal(objects_cors_match(&cfg, &q), &cfg.rules[1]);
	q.method = "PUT";
	assert_null(objects_cors_match(&cfg, &q));
	arena_free(a);
}

static void test_names(void **state)
{
	(void)state;
	struct arena *a = arena_new();
	struct objects_address ad;
	const char *v;
	assert_int_equal(objects_address_parse(a, "x:1", "/b/k/%20x", "s3.org", &ad), 0);
	assert_string_equal(ad.bucket, "b");
	assert_string_equal(ad.key, "k/ x");
	assert_int_equal(objects_address_parse(a, "Pics.S3.org:8081", "/a//b", "s3.org", &ad), 0);
	assert_string_equal(ad.bucket, "pics");
	assert_string_equal(ad.key, "a//b");
	assert_int_equal(objects_address_parse(a, NULL, "/", "s3.org", &ad), 0);
	assert_null(ad.bucket);
	assert_int_equal(objects_address_parse(a, NULL, "/b/", NULL, &ad), 0);
	assert_string_equal(ad.bucket, "b");
	assert_null(ad.key);
	assert_int_equal(objects_address_parse(a, NULL, "/b/%zz", NULL, &ad), -EINVAL);
	assert_int_equal(objects_address_parse(a, NULL, "b", NULL, &ad), -EINVAL);
	assert_int_equal(objects_copy_source_parse(a, "/src/a%2Fb?versionId=v1", &ad, &v), 0);
	assert_string_equal(ad.bucket, "src");
	assert_string_equal(ad.key, "a/b");
	assert_string_equal(v, "v1");
	assert_int_equal(objects_copy_source_parse(a, "src/k", &ad, &v), 0);
	assert_null(v);
	static const char *const bad[] = { "src", "/src/", "/k", "src/k?x=1", "src/k?versionId=",
					   NULL };
	for (const char *const *b = bad; *b; b++)
		assert_int_equal(objects_copy_source_parse(a, *b, &ad, &v), -EINVAL);
	arena_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bucket_names),
		cmocka_unit_test_setup_teardown(test_bucket_lifecycle_and_quota, setup, teardown),
		cmocka_unit_test_setup_teardown(test_put_replace_delete_keep_files_and_quota_right,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_listing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_versions_and_delete_markers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recover_removes_only_orphans, setup, teardown),
		cmocka_unit_test_setup_teardown(test_multipart, setup, teardown),
		cmocka_unit_test(test_policy_subset),
		cmocka_unit_test(test_cors_match),
		cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
