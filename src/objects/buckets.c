/* buckets: see objects.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "identity/identity.h"
#include "lib/util.h"
#include "objects-priv.h"

#define BUCKET_COLS "name, project_id, created_at, versioning, acl"

static void bucket_from_row(struct store_stmt *s, void *out)
{
	struct bucket *b = out;
	str_copy(b->name, sizeof(b->name), store_col_text(s, 0));
	str_copy(b->project_id, sizeof(b->project_id), store_col_text(s, 1));
	str_copy(b->created_at, sizeof(b->created_at), store_col_text(s, 2));
	str_copy(b->versioning, sizeof(b->versioning), store_col_text(s, 3));
	str_copy(b->acl, sizeof(b->acl), store_col_text(s, 4));
}

static bool is_ipv4_form(const char *s)
{
	int dots = 0, digits = 0;
	for (; *s; s++) {
		if (*s == '.') {
			if (digits == 0)
				return false;
			dots++;
			digits = 0;
		} else if (*s >= '0' && *s <= '9') {
			digits++;
		} else {
			return false;
		}
	}
	return dots == 3 && digits > 0;
}

int bucket_name_check(const char *name, struct err *err)
{
	size_t n = strlen(name);
	if (n < 3 || n > BUCKET_NAME_MAX)
		return err_set(err, ERR_INVALID, "bucket",
			       "a bucket name must be 3 to 63 characters long");
	for (const char *p = name; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '.' ||
		      *p == '-'))
			return err_set(err, ERR_INVALID, "bucket",
				       "a bucket name may hold only lower-case letters, digits, "
				       "dots and hyphens");
	if (name[0] == '.' || name[0] == '-' || name[n - 1] == '.' || name[n - 1] == '-')
		return err_set(err, ERR_INVALID, "bucket",
			       "a bucket name must begin and end with a letter or digit");
	if (strstr(name, "..") || strstr(name, ".-") || strstr(name, "-."))
		return err_set(err, ERR_INVALID, "bucket",
			       "a bucket name must not hold two adjacent dots, or a dot next to "
			       "a hyphen");
	if (is_ipv4_form(name))
		return err_set(err, ERR_INVALID, "bucket",
			       "a bucket name must not have the form of an IP address");
	if (str_starts_with(name, "xn--") || str_starts_with(name, "sthree-") ||
	    (n > 8 && strcmp(name + n - 8, "-s3alias") == 0) ||
	    (n > 7 && strcmp(name + n - 7, "--ol-s3") == 0))
		return err_set(err, ERR_INVALID, "bucket",
			       "a bucket name must not begin with xn-- or sthree-, nor end with "
			       "-s3alias or --ol-s3");
	return 0;
}

int bucket_get(struct store_conn *c, const char *name, struct bucket *ret, struct err *err)
{
	struct store_stmt *s = NULL;
	int r = store_query(c, &s, "SELECT " BUCKET_COLS " FROM buckets WHERE name = ?", "s",
			    name);
	if (r == 0)
		r = store_fetch_one(s, bucket_from_row, ret);
	if (r < 0)
		return store_fail(c, r, err);
	if (r == 0)
		return err_set(err, ERR_NOT_FOUND, "bucket", "no bucket '%.80s'", name);
	return 0;
}

int bucket_create(struct store_conn *c, const char *project_id, const char *name,
		  const char *acl, struct bucket *ret, struct err *err)
{
	int r = bucket_name_check(name, err);
	if (r < 0)
		return r;
	if (acl && !objects_acl_valid(acl))
		return err_set(err, ERR_INVALID, "x-amz-acl",
			       "the canned ACL must be private or public-read");
	struct bucket b = { 0 };
	str_copy(b.name, sizeof(b.name), name);
	str_copy(b.project_id, sizeof(b.project_id), project_id);
	time_rfc3339_now(b.created_at, sizeof(b.created_at));
	str_copy(b.acl, sizeof(b.acl), acl ? acl : "private");
	r = store_txn_begin(c);
	if (r < 0)
		return store_fail(c, r, err);
	r = quota_charge(c, project_id, QUOTA_BUCKETS, 1, err);
	if (r == 0) {
		r = store_run(c,
			      "INSERT INTO buckets (name, project_id, created_at, versioning, acl)"
			      " VALUES (?, ?, ?, '', ?)",
			      "ssss", b.name, b.project_id, b.created_at, b.acl);
		if (r == -EEXIST)
			r = err_set(err, ERR_CONFLICT, "bucket", "the bucket name '%s' is taken",
				    name);
		else
			r = r < 0 ? store_fail(c, r, err) : 0;
	}
	r = objects_txn_end(c, r, err);
	if (r == 0)
		*ret = b;
	return r;
}

/* 1 when a query of one count finds more than zero, 0 when not. */
static int any_row(struct store_conn *c, const char *sql, const char *name)
{
	struct store_stmt *s = NULL;
	int r = store_query(c, &s, sql, "s", name);
	if (r < 0)
		return r;
	r = store_step(s);
	store_stmt_free(s);
	return r;
}

int bucket_delete(struct store_conn *c, const char *name, struct err *err)
{
	struct bucket b;
	int r = store_txn_begin(c);
	if (r < 0)
		return store_fail(c, r, err);
	r = bucket_get(c, name, &b, err);
	if (r == 0) {
		r = any_row(c, "SELECT 1 FROM objects WHERE bucket = ? LIMIT 1", name);
		if (r == 0)
			r = any_row(c, "SELECT 1 FROM multipart_uploads WHERE bucket = ? LIMIT 1",
				    name);
		if (r > 0)
			r = err_set(err, ERR_CONFLICT, "bucket", "the bucket '%s' is not empty",
				    name);
		else if (r < 0)
			r = store_fail(c, r, err);
	}
	if (r == 0) {
		r = store_run(c, "DELETE FROM buckets WHERE name = ?", "s", name);
		r = r < 0 ? store_fail(c, r, err) : 0;
	}
	if (r == 0)
		r = quota_release(c, b.project_id, QUOTA_BUCKETS, 1, err);
	r = objects_txn_end(c, r, err);
	return r;
}

int bucket_list(struct store_conn *c, const char *project_id, size_t max, struct bucket **ret,
		size_t *ret_n, struct err *err)
{
	struct store_stmt *s = NULL;
	void *items = NULL;
	int r = store_query(c, &s,
			    "SELECT " BUCKET_COLS " FROM buckets WHERE project_id = ? ORDER BY name",
			    "s", project_id);
	if (r == 0)
		r = store_fetch(s, sizeof(struct bucket), max, bucket_from_row, &items, ret_n, NULL);
	if (r < 0)
		return store_fail(c, r, err);
	*ret = items;
	return 0;
}

int bucket_set_versioning(struct store_conn *c, const char *name, const char *state,
			  struct err *err)
{
	if (strcmp(state, "Enabled") != 0 && strcmp(state, "Suspended") != 0)
		return err_set(err, ERR_INVALID, "Status",
			       "versioning status must be Enabled or Suspended");
	return objects_bucket_update(c, name, "versioning", state, err);
}

int objects_bucket_update(struct store_conn *c, const char *name, const char *column,
			  const char *value, struct err *err)
{
	char sql[64];
	str_printf(sql, sizeof(sql), "UPDATE buckets SET %s = ? WHERE name = ?", column);
	int r = store_run(c, sql, "ss", value, name);
	if (r < 0)
		return store_fail(c, r, err);
	if (r == 0)
		return err_set(err, ERR_NOT_FOUND, "bucket", "no bucket '%.80s'", name);
	return 0;
}
