/* groups: server groups; see compute.h. The policy is fixed at creation. */
#include <errno.h>
#include <string.h>

#include "compute.h"
#include "lib/util.h"

#define GROUP_COLS "id, project_id, name, policy, created_at"

static void group_from_row(struct store_stmt *s, void *out)
{
	struct server_group *g = out;
	str_copy(g->id, sizeof(g->id), store_col_text(s, 0));
	str_copy(g->project_id, sizeof(g->project_id), store_col_text(s, 1));
	str_copy(g->name, sizeof(g->name), store_col_text(s, 2));
	str_copy(g->policy, sizeof(g->policy), store_col_text(s, 3));
	str_copy(g->created_at, sizeof(g->created_at), store_col_text(s, 4));
}

int group_create(struct store_conn *c, const char *project_id, const char *name,
		 const char *policy, struct server_group *ret, struct err *err)
{
	size_t n = name ? strlen(name) : 0;
	if (n == 0 || n > GROUP_NAME_MAX || uuid_valid(name))
		return err_set(err, ERR_INVALID, "name",
			       "name must be 1 to %d characters and not a UUID", GROUP_NAME_MAX);
	for (size_t k = 0; k < n; k++)
		if ((unsigned char)name[k] < 0x21 || name[k] == 0x7f)
			return err_set(err, ERR_INVALID, "name", "name must not hold spaces or "
				       "control characters");
	if (!policy || (strcmp(policy, "affinity") != 0 && strcmp(policy, "anti-affinity") != 0))
		return err_set(err, ERR_INVALID, "policy", "policy must be affinity or anti-affinity");
	struct server_group g = { 0 };
	uuid_generate(g.id);
	str_copy(g.project_id, sizeof(g.project_id), project_id);
	str_copy(g.name, sizeof(g.name), name);
	str_copy(g.policy, sizeof(g.policy), policy);
	time_rfc3339_now(g.created_at, sizeof(g.created_at));
	int r = store_run(c, "INSERT INTO server_groups (" GROUP_COLS ") VALUES (?, ?, ?, ?, ?)",
			  "sssss", g.id, g.project_id, g.name, g.policy, g.created_at);
	if (r == -EEXIST)
		return err_set(err, ERR_CONFLICT, "name", "a server group named '%s' already exists",
			       name);
	if (r < 0)
		return store_fail(c, r, err);
	*ret = g;
	return 0;
}

int group_get(struct store_conn *c, const char *project_id, const char *id_or_name,
	      struct server_group *ret, struct err *err)
{
	struct store_stmt *s = NULL;
	int r = store_query(c, &s,
			    uuid_valid(id_or_name)
				    ? "SELECT " GROUP_COLS " FROM server_groups WHERE id = lower(?)"
				      " AND (? IS NULL OR project_id = ?)"
				    : "SELECT " GROUP_COLS " FROM server_groups WHERE name = ?"
				      " AND (? IS NULL OR project_id = ?)",
			    "sss", id_or_name, project_id, project_id);
	if (r < 0)
		return store_fail(c, r, err);
	r = store_fetch_one(s, group_from_row, ret);
	if (r == 0)
		return err_set(err, ERR_NOT_FOUND, "", "no server group '%.80s'", id_or_name);
	return r < 0 ? store_fail(c, r, err) : 0;
}

int group_list(struct store_conn *c, const char *project_id, struct server_group **ret,
	       size_t *ret_n, struct err *err)
{
	struct store_stmt *s = NULL;
	int r = store_query(c, &s,
			    "SELECT " GROUP_COLS " FROM server_groups"
			    " WHERE ? IS NULL OR project_id = ? ORDER BY name",
			    "ss", project_id, project_id);
	if (r < 0)
		return store_fail(c, r, err);
	void *items;
	r = store_fetch(s, sizeof(struct server_group), 0, group_from_row, &items, ret_n, NULL);
	if (r < 0)
		return store_fail(c, r, err);
	*ret = items;
	return 0;
}

int group_delete(struct store_conn *c, const char *id, struct err *err)
{
	int r = store_run(c, "DELETE FROM server_groups WHERE id = ?", "s", id);
	if (r == -EINVAL)
		return err_set(err, ERR_CONFLICT, "", "the server group still has instances");
	if (r < 0)
		return store_fail(c, r, err);
	return r == 0 ? err_set(err, ERR_NOT_FOUND, "", "no server group '%.80s'", id) : 0;
}
