/* flavors: see compute.h. Flavors are immutable once made (instances keep
 * the sizes they were built with); change means a new flavor. */
#include <assert.h>
#include <errno.h>
#include <string.h>

#include "compute.h"
#include "lib/util.h"

#define FLAVOR_COLS "id, name, vcpus, ram_mb, disk_gb, created_at, updated_at"

static void flavor_from_row(struct store_stmt *s, void *out)
{
	struct flavor *f = out;
	str_copy(f->id, sizeof(f->id), store_col_text(s, 0));
	str_copy(f->name, sizeof(f->name), store_col_text(s, 1));
	f->vcpus = store_col_int(s, 2);
	f->ram_mb = store_col_int(s, 3);
	f->disk_gb = store_col_int(s, 4);
	str_copy(f->created_at, sizeof(f->created_at), store_col_text(s, 5));
	str_copy(f->updated_at, sizeof(f->updated_at), store_col_text(s, 6));
}

static int check_name(const char *name, struct err *err)
{
	return name_check("name", name, FLAVOR_NAME_MAX, false, "._-", err);
}

int flavor_create(struct store_conn *c, const char *name, int64_t vcpus, int64_t ram_mb,
		  int64_t disk_gb, struct flavor *ret, struct err *err)
{
	int r = check_name(name, err);
	if (r < 0)
		return r;
	if (vcpus < 1 || vcpus > FLAVOR_VCPUS_MAX)
		return err_set(err, ERR_INVALID, "vcpus", "vcpus must be 1 to %d", FLAVOR_VCPUS_MAX);
	if (ram_mb < FLAVOR_RAM_MB_MIN || ram_mb > FLAVOR_RAM_MB_MAX)
		return err_set(err, ERR_INVALID, "ram_mb", "ram_mb must be %d to %d",
			       FLAVOR_RAM_MB_MIN, FLAVOR_RAM_MB_MAX);
	if (disk_gb < 1 || disk_gb > FLAVOR_DISK_GB_MAX)
		return err_set(err, ERR_INVALID, "disk_gb", "disk_gb must be 1 to %d",
			       FLAVOR_DISK_GB_MAX);
	struct flavor f = { .vcpus = vcpus, .ram_mb = ram_mb, .disk_gb = disk_gb };
	uuid_generate(f.id);
	str_copy(f.name, sizeof(f.name), name);
	time_rfc3339_now(f.created_at, sizeof(f.created_at));
	memcpy(f.updated_at, f.created_at, sizeof(f.created_at));
	r = store_run(c, "INSERT INTO flavors (" FLAVOR_COLS ") VALUES (?, ?, ?, ?, ?, ?, ?)",
		      "ssiiiss", f.id, f.name, f.vcpus, f.ram_mb, f.disk_gb, f.created_at,
		      f.updated_at);
	if (r == -EEXIST)
		return err_set(err, ERR_CONFLICT, "name", "a flavor named '%s' already exists", name);
	if (r < 0)
		return store_fail(c, r, err);
	*ret = f;
	return 0;
}

int flavor_get(struct store_conn *c, const char *id_or_name, struct flavor *ret,
	       struct err *err)
{
	return store_get_ref(c, "SELECT " FLAVOR_COLS " FROM flavors", id_or_name,
			     flavor_from_row, ret, "flavor", err);
}

int flavor_list(struct store_conn *c, const char *after, size_t limit, struct flavor **ret,
		size_t *ret_n, bool *ret_more, struct err *err)
{
	assert(limit > 0);
	struct store_stmt *s = NULL;
	int r = store_query(c, &s,
			    "SELECT " FLAVOR_COLS " FROM flavors WHERE (? IS NULL OR name > ?)"
			    " ORDER BY name LIMIT ?",
			    "ssi", after, after, (int64_t)limit + 1);
	if (r < 0)
		return store_fail(c, r, err);
	void *items;
	r = store_fetch(s, sizeof(struct flavor), limit, flavor_from_row, &items, ret_n, ret_more);
	if (r < 0)
		return store_fail(c, r, err);
	*ret = items;
	return 0;
}

int flavor_delete(struct store_conn *c, const char *id_or_name, struct err *err)
{
	struct flavor f;
	int r = flavor_get(c, id_or_name, &f, err);
	if (r < 0)
		return r;
	r = store_run(c, "DELETE FROM flavors WHERE id = ?", "s", f.id);
	if (r == -EINVAL)
		return err_set(err, ERR_CONFLICT, "", "flavor '%s' is in use", f.name);
	return r < 0 ? store_fail(c, r, err) : 0;
}
