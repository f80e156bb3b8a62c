/* quota: per-project limits and usage. A charge is one conditional UPDATE
 * ("add delta where usage + delta stays within the limit"), so concurrent
 * creates can never overshoot, on SQLite or PostgreSQL, and the usage
 * changes in the caller's transaction together with the resource. */
#include <errno.h>
#include <string.h>

#include "identity-priv.h"
#include "lib/util.h"

static const char *const names[QUOTA__COUNT] = {
	[QUOTA_INSTANCES] = "instances",       [QUOTA_VCPUS] = "vcpus",
	[QUOTA_RAM_MB] = "ram_mb",             [QUOTA_VOLUMES] = "volumes",
	[QUOTA_VOLUME_GB] = "volume_gb",       [QUOTA_NETWORKS] = "networks",
	[QUOTA_FLOATING_IPS] = "floating_ips", [QUOTA_BUCKETS] = "buckets",
	[QUOTA_OBJECT_BYTES] = "object_bytes", [QUOTA_ACCESS_KEYS] = "access_keys",
};

const char *quota_name(enum quota_resource q)
{
	return q >= 0 && q < QUOTA__COUNT ? names[q] : "unknown";
}

int quota_parse(const char *s, enum quota_resource *ret, struct err *err)
{
	for (int i = 0; i < QUOTA__COUNT; i++)
		if (strcmp(s, names[i]) == 0) {
			*ret = (enum quota_resource)i;
			return 0;
		}
	char shown[64];
	str_copy(shown, sizeof(shown), s);
	return err_set(err, ERR_INVALID, shown, "'%s' is not a quota resource", shown);
}

int quota_init(struct store_conn *c, const char *project_id, const int64_t *defaults,
	       struct err *err)
{
	for (int i = 0; i < QUOTA__COUNT; i++) {
		int r = store_run(c,
				  "INSERT INTO project_quotas (project_id, resource, hard_limit, in_use)"
				  " VALUES (?, ?, ?, 0)",
				  "ssi", project_id, names[i], defaults[i]);
		if (r < 0)
			return store_fail(c, r, err);
	}
	return 0;
}

int quota_get(struct store_conn *c, const char *project_id, struct quota *ret, struct err *err)
{
	struct store_stmt *st = NULL;
	int r = store_query(c, &st,
			    "SELECT resource, hard_limit, in_use FROM project_quotas"
			    " WHERE project_id = ?",
			    "s", project_id);
	if (r < 0)
		return store_fail(c, r, err);
	struct quota q;
	for (int i = 0; i < QUOTA__COUNT; i++) {
		q.limit[i] = 0;
		q.used[i] = 0;
	}
	while ((r = store_step(st)) == 1) {
		enum quota_resource res;
		if (quota_parse(store_col_text(st, 0), &res, NULL) < 0)
			continue;
		q.limit[res] = store_col_int(st, 1);
		q.used[res] = store_col_int(st, 2);
	}
	store_stmt_free(st);
	if (r < 0)
		return store_fail(c, r, err);
	*ret = q;
	return 0;
}

int quota_set(struct store_conn *c, const char *project_id, enum quota_resource q,
	      int64_t limit, struct err *err)
{
	int r = store_run(c,
			  "INSERT INTO project_quotas (project_id, resource, hard_limit, in_use)"
			  " VALUES (?, ?, ?, 0) ON CONFLICT (project_id, resource)"
			  " DO UPDATE SET hard_limit = excluded.hard_limit",
			  "ssi", project_id, names[q], limit);
	return r < 0 ? store_fail(c, r, err) : 0;
}

int quota_charge(struct store_conn *c, const char *project_id, enum quota_resource q,
		 int64_t delta, struct err *err)
{
	int r = store_run(c,
			  "UPDATE project_quotas SET in_use = in_use + ?"
			  " WHERE project_id = ? AND resource = ?"
			  " AND (hard_limit < 0 OR in_use + ? <= hard_limit)",
			  "issi", delta, project_id, names[q], delta);
	if (r < 0)
		return store_fail(c, r, err);
	if (r == 1)
		return 0;
	struct quota cur;
	r = quota_get(c, project_id, &cur, err);
	if (r < 0)
		return r;
	return err_set(err, ERR_QUOTA, names[q],
		       "quota exceeded for %s: limit %lld, in use %lld, requested %lld", names[q],
		       (long long)cur.limit[q], (long long)cur.used[q], (long long)delta);
}

int quota_release(struct store_conn *c, const char *project_id, enum quota_resource q,
		  int64_t delta, struct err *err)
{
	int r = store_run(c,
			  "UPDATE project_quotas SET in_use = CASE WHEN in_use > ? THEN in_use - ?"
			  " ELSE 0 END WHERE project_id = ? AND resource = ?",
			  "iiss", delta, delta, project_id, names[q]);
	return r < 0 ? store_fail(c, r, err) : 0;
}
