/* pools: see storage.h. A pool is a name and a driver here; what it is on
 * a host (a mounted directory, later a Ceph pool) is the agent's setting. */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "storage.h"

#define POOL_COLS "id, name, driver, description, created_at"

static void pool_from_row(struct store_stmt *s, void *out)
{
	struct storage_pool *p = out;
	memset(p, 0, sizeof(*p));
	str_copy(p->id, sizeof(p->id), store_col_text(s, 0));
	str_copy(p->name, sizeof(p->name), store_col_text(s, 1));
	str_copy(p->driver, sizeof(p->driver), store_col_text(s, 2));
	str_copy(p->description, sizeof(p->description), store_col_text(s, 3));
	str_copy(p->created_at, sizeof(p->created_at), store_col_text(s, 4));
}

int storage_pool_create(struct store_conn *c, const char *name, const char *driver,
			const char *description, struct storage_pool *ret, struct err *err)
{
	int r = name_check("name", name, STORAGE_POOL_NAME_MAX, false, "-", err);
	if (r < 0)
		return r;
	if (strcmp(driver, "dir") != 0)
		return err_set(err, ERR_INVALID, "driver",
			       "driver must be one of: " STORAGE_POOL_DRIVERS);
	if (!description)
		description = "";
	if (str_utf8_len(description) > IMAGE_DESCRIPTION_MAX)
		return err_set(err, ERR_INVALID, "description",
			       "description must be at most %d characters", IMAGE_DESCRIPTION_MAX);
	struct storage_pool p;
	memset(&p, 0, sizeof(p));
	uuid_generate(p.id);
	str_copy(p.name, sizeof(p.name), name);
	str_copy(p.driver, sizeof(p.driver), driver);
	str_copy(p.description, sizeof(p.description), description);
	time_rfc3339_now(p.created_at, sizeof(p.created_at));
	r = store_run(c, "INSERT INTO storage_pools (" POOL_COLS ") VALUES (?, ?, ?, ?, ?)",
		      "sssss", p.id, p.name, p.driver, p.description, p.created_at);
	if (r == -EEXIST)
		return err_set(err, ERR_CONFLICT, "name", "a storage pool named '%s' already exists",
			       name);
	if (r < 0)
		return store_fail(c, r, err);
	*ret = p;
	return 0;
}

int storage_pool_get(struct store_conn *c, const char *id_or_name, struct storage_pool *ret,
		     struct err *err)
{
	return store_get_ref(c, "SELECT " POOL_COLS " FROM storage_pools", id_or_name,
			     pool_from_row, ret, "storage pool", err);
}

int storage_pool_list(struct store_conn *c, const char *after, size_t limit,
		      struct storage_pool **ret, size_t *ret_n, bool *ret_more, struct err *err)
{
	assert(limit > 0);
	struct store_stmt *s = NULL;
	int r = store_query(c, &s,
			    "SELECT " POOL_COLS " FROM storage_pools WHERE (? IS NULL OR name > ?)"
			    " ORDER BY name LIMIT ?",
			    "ssi", after, after, (int64_t)limit + 1);
	if (r < 0)
		return store_fail(c, r, err);
	void *items;
	r = store_fetch(s, sizeof(struct storage_pool), limit, pool_from_row, &items, ret_n,
			ret_more);
	if (r < 0)
		return store_fail(c, r, err);
	*ret = items;
	return 0;
}

int storage_pool_delete(struct store_conn *c, const char *id_or_name, struct err *err)
{
	struct storage_pool p;
	int r = storage_pool_get(c, id_or_name, &p, err);
	if (r < 0)
		return r;
	/* one statement, so a volume made meanwhile cannot be orphaned */
	r = store_run(c,
		      "DELETE FROM storage_pools WHERE id = ?"
		      " AND NOT EXISTS (SELECT 1 FROM volumes WHERE pool_id = ?)"
		      " AND NOT EXISTS (SELECT 1 FROM snapshots WHERE pool_id = ?)",
		      "sss", p.id, p.id, p.id);
	if (r < 0)
		return store_fail(c, r, err);
	if (r == 0)
		return err_set(err, ERR_CONFLICT, "",
			       "storage pool '%s' still holds volumes or snapshots", p.name);
	return 0;
}
