/* policy: bucket ACLs and the subset of bucket policies nubo serves (see
 * objects.h): enough for public static assets, i.e. anonymous s3:GetObject
 * on some keys or prefixes of one bucket. A policy asking for anything more
 * is refused when set, rather than stored and half obeyed. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "objects-priv.h"

#define ARN_PREFIX "arn:aws:s3:::"

/* Call fn on v, a string or an array of strings; false when v is neither
 * or fn refuses one. */
static bool each_string(json_t *v, bool (*fn)(const char *s, void *arg), void *arg)
{
	if (json_is_string(v))
		return fn(json_string_value(v), arg);
	if (!json_is_array(v) || json_array_size(v) == 0)
		return false;
	size_t i;
	json_t *x;
	json_array_foreach(v, i, x)
		if (!json_is_string(x) || !fn(json_string_value(x), arg))
			return false;
	return true;
}

static bool is_star(const char *s, void *arg)
{
	(void)arg;
	return strcmp(s, "*") == 0;
}

static bool is_get_object(const char *s, void *arg)
{
	(void)arg;
	return strcmp(s, "s3:GetObject") == 0;
}

/* A resource of this bucket: "arn:aws:s3:::BUCKET/PATTERN", PATTERN a key
 * or a prefix and one final '*'. */
static bool resource_ok(const char *s, void *arg)
{
	const char *bucket = arg;
	size_t bl = strlen(bucket);
	if (!str_starts_with(s, ARN_PREFIX) || strncmp(s + strlen(ARN_PREFIX), bucket, bl) != 0 ||
	    s[strlen(ARN_PREFIX) + bl] != '/')
		return false;
	const char *pat = s + strlen(ARN_PREFIX) + bl + 1;
	const char *star = strchr(pat, '*');
	return !strchr(pat, '?') && (!star || star[1] == '\0');
}

static bool principal_ok(json_t *p)
{
	if (json_is_string(p))
		return is_star(json_string_value(p), NULL);
	json_t *aws = json_object_get(p, "AWS");
	return json_is_object(p) && json_object_size(p) == 1 && aws && each_string(aws, is_star, NULL);
}

static int statement_check(json_t *st, const char *bucket, struct err *err)
{
	static const char *const known[] = { "Sid", "Effect", "Principal", "Action", "Resource",
					     NULL };
	const char *k;
	json_t *v;
	if (!json_is_object(st))
		return err_set(err, ERR_INVALID, "Statement", "a statement must be an object");
	json_object_foreach(st, k, v) {
		bool ok = false;
		for (const char *const *n = known; *n; n++)
			ok = ok || strcmp(k, *n) == 0;
		if (!ok)
			return err_set(err, ERR_INVALID, "Statement",
				       "'%.40s' is not supported in a statement: only Sid, Effect, "
				       "Principal, Action and Resource",
				       k);
	}
	json_t *effect = json_object_get(st, "Effect");
	if (!json_is_string(effect) || strcmp(json_string_value(effect), "Allow") != 0)
		return err_set(err, ERR_INVALID, "Effect", "only \"Effect\": \"Allow\" is supported");
	if (!principal_ok(json_object_get(st, "Principal")))
		return err_set(err, ERR_INVALID, "Principal",
			       "only the anonymous principal \"*\" is supported");
	if (!each_string(json_object_get(st, "Action"), is_get_object, NULL))
		return err_set(err, ERR_INVALID, "Action", "only the action s3:GetObject is supported");
	if (!each_string(json_object_get(st, "Resource"), resource_ok, (void *)bucket))
		return err_set(err, ERR_INVALID, "Resource",
			       "a resource must be arn:aws:s3:::%s/KEY or arn:aws:s3:::%s/PREFIX*",
			       bucket, bucket);
	return 0;
}

int bucket_policy_check(const char *doc, size_t n, const char *bucket, struct err *err)
{
	json_error_t je;
	if (n > BUCKET_POLICY_MAX)
		return err_set(err, ERR_INVALID, "Policy", "a policy is at most %d bytes",
			       BUCKET_POLICY_MAX);
	json_t *root = json_loadb(doc, n, JSON_REJECT_DUPLICATES, &je);
	int r = 0;
	if (!json_is_object(root)) {
		r = err_set(err, ERR_INVALID, "Policy", "the policy is not a JSON object: %s", je.text);
		goto out;
	}
	const char *k;
	json_t *v;
	json_object_foreach(root, k, v)
		if (strcmp(k, "Version") != 0 && strcmp(k, "Id") != 0 && strcmp(k, "Statement") != 0) {
			r = err_set(err, ERR_INVALID, "Policy", "unknown policy element '%.40s'", k);
			goto out;
		}
	json_t *sts = json_object_get(root, "Statement");
	if (json_is_object(sts)) {
		r = statement_check(sts, bucket, err);
	} else if (json_is_array(sts) && json_array_size(sts) > 0) {
		size_t i;
		json_array_foreach(sts, i, v)
			if ((r = statement_check(v, bucket, err)) < 0)
				break;
	} else {
		r = err_set(err, ERR_INVALID, "Statement", "a policy needs a Statement");
	}
out:
	json_decref(root);
	return r;
}

/* Does resource (checked by resource_ok) cover key of bucket? */
static bool resource_covers(const char *res, const char *bucket, const char *key)
{
	const char *pat = res + strlen(ARN_PREFIX) + strlen(bucket) + 1;
	size_t n = strlen(pat);
	if (n > 0 && pat[n - 1] == '*')
		return strncmp(key, pat, n - 1) == 0;
	return strcmp(key, pat) == 0;
}

bool bucket_policy_allows_read(const char *doc, const char *bucket, const char *key)
{
	if (!doc || !doc[0] || bucket_policy_check(doc, strlen(doc), bucket, NULL) < 0)
		return false;
	json_t *root = json_loads(doc, 0, NULL);
	json_t *sts = json_object_get(root, "Statement");
	json_t *one = json_is_object(sts) ? sts : NULL;
	bool allowed = false;
	for (size_t i = 0; !allowed && (one ? i < 1 : i < json_array_size(sts)); i++) {
		json_t *res = json_object_get(one ? one : json_array_get(sts, i), "Resource");
		if (json_is_string(res)) {
			allowed = resource_covers(json_string_value(res), bucket, key);
			continue;
		}
		for (size_t j = 0; !allowed && j < json_array_size(res); j++)
			allowed = resource_covers(json_string_value(json_array_get(res, j)), bucket,
						  key);
	}
	json_decref(root);
	return allowed;
}

/* The bucket columns that hold a document ("" when none). */
static const char *doc_column(enum bucket_doc which)
{
	return which == BUCKET_DOC_POLICY ? "policy" : "cors";
}

int bucket_doc_set(struct store_conn *c, const char *name, enum bucket_doc which,
		   const char *doc, struct err *err)
{
	return objects_bucket_update(c, name, doc_column(which), doc ? doc : "", err);
}

int bucket_doc_get(struct store_conn *c, const char *name, enum bucket_doc which, char **ret,
		   struct err *err)
{
	char sql[64];
	struct store_stmt *s = NULL;
	str_printf(sql, sizeof(sql), "SELECT %s FROM buckets WHERE name = ?", doc_column(which));
	int r = store_query(c, &s, sql, "s", name);
	if (r == 0)
		r = store_step(s);
	if (r == 1 && store_col_text(s, 0)[0]) {
		*ret = xstrdup(store_col_text(s, 0));
		r = 0;
	} else if (r >= 0) {
		r = err_set(err, ERR_NOT_FOUND, doc_column(which), "The bucket has no %s",
			    which == BUCKET_DOC_POLICY ? "policy" : "CORS configuration");
	} else {
		r = store_fail(c, r, err);
	}
	store_stmt_free(s);
	return r;
}

bool objects_acl_valid(const char *acl)
{
	return strcmp(acl, "private") == 0 || strcmp(acl, "public-read") == 0;
}

int bucket_set_acl(struct store_conn *c, const char *name, const char *acl, struct err *err)
{
	if (!objects_acl_valid(acl))
		return err_set(err, ERR_INVALID, "x-amz-acl", "the canned ACL must be private or "
			       "public-read");
	return objects_bucket_update(c, name, "acl", acl, err);
}
