/* projects: tenants and the roles users hold in them. Deleting a project
 * deletes its bindings, quotas, tokens and keys by foreign-key cascade. */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "identity-priv.h"
#include "lib/util.h"

#define PROJECT_COLS "id, name, description, created_at, updated_at"

static const char *const role_names[] = { "none", "reader", "member", "admin" };

const char *role_name(enum role r)
{
	return r >= ROLE_NONE && r <= ROLE_ADMIN ? role_names[r] : "none";
}

int role_parse(const char *s, enum role *ret, struct err *err)
{
	for (int i = ROLE_READER; i <= ROLE_ADMIN; i++)
		if (strcmp(s, role_names[i]) == 0) {
			*ret = (enum role)i;
			return 0;
		}
	return err_set(err, ERR_INVALID, "role", "role must be reader, member or admin");
}

static void project_from_row(struct store_stmt *s, void *out)
{
	struct project *p = out;
	memset(p, 0, sizeof(*p));
	str_copy(p->id, sizeof(p->id), store_col_text(s, 0));
	str_copy(p->name, sizeof(p->name), store_col_text(s, 1));
	str_copy(p->description, sizeof(p->description), store_col_text(s, 2));
	str_copy(p->created_at, sizeof(p->created_at), store_col_text(s, 3));
	str_copy(p->updated_at, sizeof(p->updated_at), store_col_text(s, 4));
}

static int check_description(const char *d, struct err *err)
{
	if (d && str_utf8_len(d) > PROJECT_DESCRIPTION_MAX)
		return err_set(err, ERR_INVALID, "description",
			       "description is longer than %d characters", PROJECT_DESCRIPTION_MAX);
	return 0;
}

int project_get(struct store_conn *c, const char *id_or_name, struct project *ret,
		struct err *err)
{
	return store_get_ref(c, "SELECT " PROJECT_COLS " FROM projects", id_or_name,
			     project_from_row, ret, "project", err);
}

int project_create(struct store_conn *c, const struct identity_settings *s, const char *name,
		   const char *description, struct project *ret, struct err *err)
{
	if (!name)
		return err_set(err, ERR_INVALID, "name", "field 'name' is required");
	int r = identity_name_check("name", name, PROJECT_NAME_MAX, err);
	if (r == 0)
		r = check_description(description, err);
	if (r < 0)
		return r;
	struct project p = { 0 };
	uuid_generate(p.id);
	str_copy(p.name, sizeof(p.name), name);
	str_copy(p.description, sizeof(p.description), description ? description : "");
	time_rfc3339_now(p.created_at, sizeof(p.created_at));
	memcpy(p.updated_at, p.created_at, sizeof(p.created_at));
	if ((r = store_txn_begin(c)) < 0)
		return store_fail(c, r, err);
	r = store_run(c, "INSERT INTO projects (" PROJECT_COLS ") VALUES (?, ?, ?, ?, ?)", "sssss",
		      p.id, p.name, p.description, p.created_at, p.updated_at);
	if (r == -EEXIST) {
		r = err_set(err, ERR_CONFLICT, "name", "a project named '%s' already exists", p.name);
		goto out;
	}
	if (r < 0) {
		r = store_fail(c, r, err);
		goto out;
	}
	if ((r = quota_init(c, p.id, s->quota_defaults, err)) < 0)
		goto out;
	if ((r = store_txn_commit(c)) < 0)
		return store_fail(c, r, err);
	*ret = p;
	return 0;
out:
	store_txn_rollback(c);
	return r;
}

int project_list(struct store_conn *c, const char *user_id, const char *after, size_t limit,
		 struct project **ret, size_t *ret_n, bool *ret_more, struct err *err)
{
	assert(limit > 0);
	struct store_stmt *s = NULL;
	int r = store_query(c, &s,
			    "SELECT " PROJECT_COLS " FROM projects p"
			    " WHERE (? IS NULL OR p.name > ?)"
			    " AND (? IS NULL OR EXISTS (SELECT 1 FROM role_bindings b"
			    "  WHERE b.project_id = p.id AND b.user_id = ?))"
			    " ORDER BY p.name LIMIT ?",
			    "ssssi", after, after, user_id, user_id, (int64_t)limit + 1);
	if (r < 0)
		return store_fail(c, r, err);
	void *items;
	r = store_fetch(s, sizeof(struct project), limit, project_from_row, &items, ret_n,
			ret_more);
	if (r < 0)
		return store_fail(c, r, err);
	*ret = items;
	return 0;
}

int project_update(struct store_conn *c, const char *id_or_name, const char *name,
		   const char *description, struct project *ret, struct err *err)
{
	int r = name ? identity_name_check("name", name, PROJECT_NAME_MAX, err) : 0;
	if (r == 0)
		r = check_description(description, err);
	if (r < 0)
		return r;
	struct project p;
	if ((r = store_txn_begin(c)) < 0)
		return store_fail(c, r, err);
	if ((r = project_get(c, id_or_name, &p, err)) < 0)
		goto out;
	if (name)
		str_copy(p.name, sizeof(p.name), name);
	if (description)
		str_copy(p.description, sizeof(p.description), description);
	time_rfc3339_now(p.updated_at, sizeof(p.updated_at));
	r = store_run(c, "UPDATE projects SET name = ?, description = ?, updated_at = ? WHERE id = ?",
		      "ssss", p.name, p.description, p.updated_at, p.id);
	if (r == -EEXIST) {
		r = err_set(err, ERR_CONFLICT, "name", "a project named '%s' already exists", p.name);
		goto out;
	}
	if (r < 0) {
		r = store_fail(c, r, err);
		goto out;
	}
	if ((r = store_txn_commit(c)) < 0)
		return store_fail(c, r, err);
	*ret = p;
	return 0;
out:
	store_txn_rollback(c);
	return r;
}

int project_delete(struct store_conn *c, const char *id_or_name, struct err *err)
{
	struct project p;
	int r = project_get(c, id_or_name, &p, err);
	if (r < 0)
		return r;
	r = store_run(c, "DELETE FROM projects WHERE id = ?", "s", p.id);
	if (r == -EINVAL) /* a foreign key: instances, server groups, networks... */
		return err_set(err, ERR_CONFLICT, "",
			       "project '%s' still has instances, volumes, networks or buckets; "
			       "delete them first", p.name);
	return r < 0 ? store_fail(c, r, err) : 0;
}

int member_set(struct store_conn *c, const char *project_id, const char *user,
	       enum role role, struct member *ret, struct err *err)
{
	struct user u;
	int r = user_get(c, user, &u, err);
	if (r == -ERR_NOT_FOUND)
		return err_set(err, ERR_INVALID, "user", "no user '%.80s'", user);
	if (r < 0)
		return r;
	struct member m = { 0 };
	str_copy(m.user_id, sizeof(m.user_id), u.id);
	str_copy(m.user_name, sizeof(m.user_name), u.name);
	m.role = role;
	time_rfc3339_now(m.created_at, sizeof(m.created_at));
	r = store_run(c,
		      "INSERT INTO role_bindings (project_id, user_id, role, created_at)"
		      " VALUES (?, ?, ?, ?) ON CONFLICT (project_id, user_id)"
		      " DO UPDATE SET role = excluded.role",
		      "ssss", project_id, u.id, role_name(role), m.created_at);
	if (r == -EINVAL) /* the foreign key: no such project */
		return err_set(err, ERR_NOT_FOUND, "", "no project '%.80s'", project_id);
	if (r < 0)
		return store_fail(c, r, err);
	*ret = m;
	return 0;
}

int member_remove(struct store_conn *c, const char *project_id, const char *user,
		  struct err *err)
{
	struct user u;
	int r = user_get(c, user, &u, err);
	if (r < 0)
		return r;
	r = store_run(c, "DELETE FROM role_bindings WHERE project_id = ? AND user_id = ?", "ss",
		      project_id, u.id);
	if (r < 0)
		return store_fail(c, r, err);
	if (r == 0)
		return err_set(err, ERR_NOT_FOUND, "", "user '%.80s' is not a member", user);
	return 0;
}

static void member_from_row(struct store_stmt *s, void *out)
{
	struct member *m = out;
	str_copy(m->user_id, sizeof(m->user_id), store_col_text(s, 0));
	str_copy(m->user_name, sizeof(m->user_name), store_col_text(s, 1));
	role_parse(store_col_text(s, 2), &m->role, NULL);
	str_copy(m->created_at, sizeof(m->created_at), store_col_text(s, 3));
}

int member_list(struct store_conn *c, const char *project_id, struct member **ret,
		size_t *ret_n, struct err *err)
{
	struct store_stmt *s = NULL;
	int r = store_query(c, &s,
			    "SELECT u.id, u.name, b.role, b.created_at FROM role_bindings b"
			    " JOIN users u ON u.id = b.user_id WHERE b.project_id = ?"
			    " ORDER BY u.name",
			    "s", project_id);
	if (r < 0)
		return store_fail(c, r, err);
	void *items;
	r = store_fetch(s, sizeof(struct member), 0, member_from_row, &items, ret_n, NULL);
	if (r < 0)
		return store_fail(c, r, err);
	*ret = items;
	return 0;
}

int member_role(struct store_conn *c, const char *project_id, const char *user_id,
		enum role *ret, struct err *err)
{
	struct store_stmt *s = NULL;
	int r = store_query(c, &s,
			    "SELECT role FROM role_bindings WHERE project_id = ? AND user_id = ?",
			    "ss", project_id, user_id);
	if (r < 0)
		return store_fail(c, r, err);
	*ret = ROLE_NONE;
	r = store_step(s);
	if (r == 1)
		role_parse(store_col_text(s, 0), ret, NULL);
	store_stmt_free(s);
	return r < 0 ? store_fail(c, r, err) : 0;
}

int principal_role_in(struct store_conn *c, const struct principal *p, const char *project_id,
		      enum role *ret, struct err *err)
{
	if (p->system_admin) {
		*ret = ROLE_ADMIN;
		return 0;
	}
	if (p->project_id[0] && strcmp(p->project_id, project_id) != 0) {
		*ret = ROLE_NONE;
		return 0;
	}
	if (p->project_id[0]) {
		*ret = p->role;
		return 0;
	}
	return member_role(c, project_id, p->user_id, ret, err);
}
