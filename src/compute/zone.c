/* zone: see compute.h. Names are unique; the database's unique constraint
 * is the arbiter, so two concurrent creates of one name give one zone and
 * one Conflict, never two zones. */
#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "compute.h"
#include "lib/iso3166.h"
#include "lib/util.h"

#define ZONE_COLS                                                                               \
	"id, name, description, jurisdiction, created_at, updated_at, cpu_ratio_milli,"         \
	" ram_ratio_milli"

/* Ratios are kept in thousandths, so the store holds integers only. */
static int64_t milli(double ratio)
{
	return (int64_t)llround(ratio * 1000.0);
}

int zone_name_check(const char *name, struct err *err)
{
	size_t n = strlen(name);
	if (n == 0 || n > ZONE_NAME_MAX)
		return err_set(err, ERR_INVALID, "name", "name must be 1 to %d characters long",
			       ZONE_NAME_MAX);
	if (!str_only(name, false, "-"))
		return err_set(err, ERR_INVALID, "name",
			       "name may hold only lower-case letters, digits and '-'");
	if (name[0] == '-' || name[n - 1] == '-')
		return err_set(err, ERR_INVALID, "name", "name must not start or end with '-'");
	if (uuid_valid(name))
		return err_set(err, ERR_INVALID, "name", "name must not have the form of a UUID");
	return 0;
}

int zone_jurisdiction_check(const char *code, char out[3], struct err *err)
{
	char up[3] = "";
	if (strlen(code) == 2) {
		up[0] = (char)(code[0] >= 'a' && code[0] <= 'z' ? code[0] - 32 : code[0]);
		up[1] = (char)(code[1] >= 'a' && code[1] <= 'z' ? code[1] - 32 : code[1]);
	}
	if (!iso3166_alpha2_valid(up))
		return err_set(err, ERR_INVALID, "jurisdiction",
			       "jurisdiction '%.8s' is not an assigned ISO 3166-1 alpha-2 country "
			       "code (such as DE, FR or NO)", code);
	memcpy(out, up, 3);
	return 0;
}

static int check_spec(const struct zone_spec *spec, char juris[3], struct err *err)
{
	int r;
	if (spec->name && (r = zone_name_check(spec->name, err)) < 0)
		return r;
	if (spec->jurisdiction && (r = zone_jurisdiction_check(spec->jurisdiction, juris, err)) < 0)
		return r;
	if (spec->description && str_utf8_len(spec->description) > ZONE_DESCRIPTION_MAX)
		return err_set(err, ERR_INVALID, "description",
			       "description is longer than %d characters", ZONE_DESCRIPTION_MAX);
	if (spec->set_cpu_ratio && spec->cpu_ratio != 0 &&
	    !(spec->cpu_ratio >= 0.001 && spec->cpu_ratio <= ZONE_CPU_RATIO_MAX))
		return err_set(err, ERR_INVALID, "cpu_allocation_ratio",
			       "cpu_allocation_ratio must be from 0.001 to %g, or null for the "
			       "default", ZONE_CPU_RATIO_MAX);
	if (spec->set_ram_ratio && spec->ram_ratio != 0 &&
	    !(spec->ram_ratio >= 0.001 && spec->ram_ratio <= ZONE_RAM_RATIO_MAX))
		return err_set(err, ERR_INVALID, "ram_allocation_ratio",
			       "ram_allocation_ratio must be from 0.001 to %g, or null for the "
			       "default", ZONE_RAM_RATIO_MAX);
	return 0;
}

static void zone_from_row(struct store_stmt *s, void *out)
{
	struct zone *z = out;
	memset(z, 0, sizeof(*z));
	str_copy(z->id, sizeof(z->id), store_col_text(s, 0));
	str_copy(z->name, sizeof(z->name), store_col_text(s, 1));
	str_copy(z->description, sizeof(z->description), store_col_text(s, 2));
	str_copy(z->jurisdiction, sizeof(z->jurisdiction), store_col_text(s, 3));
	str_copy(z->created_at, sizeof(z->created_at), store_col_text(s, 4));
	str_copy(z->updated_at, sizeof(z->updated_at), store_col_text(s, 5));
	z->cpu_ratio = (double)store_col_int(s, 6) / 1000.0;
	z->ram_ratio = (double)store_col_int(s, 7) / 1000.0;
}

int zone_get(struct store_conn *c, const char *id_or_name, struct zone *ret, struct err *err)
{
	return store_get_ref(c, "SELECT " ZONE_COLS " FROM zones", id_or_name, zone_from_row, ret, "zone",
			     err);
}

static int name_taken(const char *name, struct err *err)
{
	return err_set(err, ERR_CONFLICT, "name", "a zone named '%s' already exists", name);
}

int zone_create(struct store_conn *c, const struct zone_spec *spec, struct zone *ret,
		struct err *err)
{
	struct zone z = { 0 };
	if (!spec->name)
		return err_set(err, ERR_INVALID, "name", "field 'name' is required");
	if (!spec->jurisdiction)
		return err_set(err, ERR_INVALID, "jurisdiction", "field 'jurisdiction' is required");
	int r = check_spec(spec, z.jurisdiction, err);
	if (r < 0)
		return r;
	uuid_generate(z.id);
	str_copy(z.name, sizeof(z.name), spec->name);
	str_copy(z.description, sizeof(z.description), spec->description ? spec->description : "");
	time_rfc3339_now(z.created_at, sizeof(z.created_at));
	memcpy(z.updated_at, z.created_at, sizeof(z.created_at));
	z.cpu_ratio = spec->set_cpu_ratio ? (double)milli(spec->cpu_ratio) / 1000.0 : 0;
	z.ram_ratio = spec->set_ram_ratio ? (double)milli(spec->ram_ratio) / 1000.0 : 0;
	r = store_run(c, "INSERT INTO zones (" ZONE_COLS ") VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
		      "ssssssii", z.id, z.name, z.description, z.jurisdiction, z.created_at,
		      z.updated_at, milli(z.cpu_ratio), milli(z.ram_ratio));
	if (r == -EEXIST)
		return name_taken(z.name, err);
	if (r < 0)
		return store_fail(c, r, err);
	*ret = z;
	return 0;
}

int zone_list(struct store_conn *c, const char *after, const char *name, size_t limit,
	      struct zone_page *ret, struct err *err)
{
	assert(limit > 0);
	struct store_stmt *s = NULL;
	int r = store_query(c, &s,
			    "SELECT " ZONE_COLS " FROM zones"
			    " WHERE (? IS NULL OR name > ?) AND (? IS NULL OR name = ?)"
			    " ORDER BY name LIMIT ?",
			    "ssssi", after, after, name, name, (int64_t)limit + 1);
	if (r < 0)
		return store_fail(c, r, err);
	struct zone_page page = { 0 };
	void *items;
	r = store_fetch(s, sizeof(struct zone), limit, zone_from_row, &items, &page.n, &page.more);
	if (r < 0)
		return store_fail(c, r, err);
	page.items = items;
	*ret = page;
	return 0;
}

int zone_update(struct store_conn *c, const char *id_or_name, const struct zone_spec *spec,
		struct zone *ret, struct err *err)
{
	char juris[3];
	int r = check_spec(spec, juris, err);
	if (r < 0)
		return r;
	r = store_txn_begin(c);
	if (r < 0)
		return store_fail(c, r, err);
	struct zone z;
	r = zone_get(c, id_or_name, &z, err);
	if (r < 0)
		goto out;
	if (spec->name)
		str_copy(z.name, sizeof(z.name), spec->name);
	if (spec->description)
		str_copy(z.description, sizeof(z.description), spec->description);
	if (spec->jurisdiction)
		memcpy(z.jurisdiction, juris, sizeof(juris));
	if (spec->set_cpu_ratio)
		z.cpu_ratio = (double)milli(spec->cpu_ratio) / 1000.0;
	if (spec->set_ram_ratio)
		z.ram_ratio = (double)milli(spec->ram_ratio) / 1000.0;
	time_rfc3339_now(z.updated_at, sizeof(z.updated_at));
	r = store_run(c,
		      "UPDATE zones SET name = ?, description = ?, jurisdiction = ?, updated_at = ?,"
		      " cpu_ratio_milli = ?, ram_ratio_milli = ? WHERE id = ?",
		      "ssssiis", z.name, z.description, z.jurisdiction, z.updated_at,
		      milli(z.cpu_ratio), milli(z.ram_ratio), z.id);
	if (r == -EEXIST) {
		r = name_taken(z.name, err);
		goto out;
	}
	if (r < 0) {
		r = store_fail(c, r, err);
		goto out;
	}
	r = store_txn_commit(c);
	if (r < 0)
		return store_fail(c, r, err);
	*ret = z;
	return 0;
out:
	store_txn_rollback(c);
	return r;
}

int zone_delete(struct store_conn *c, const char *id_or_name, struct err *err)
{
	const char *sql = uuid_valid(id_or_name) ? "DELETE FROM zones WHERE id = lower(?)"
						 : "DELETE FROM zones WHERE name = ?";
	int r = store_run(c, sql, "s", id_or_name);
	if (r == -EINVAL) /* a foreign key: hosts or tokens still point at it */
		return err_set(err, ERR_CONFLICT, "", "zone '%.80s' still has hosts; remove them first",
			       id_or_name);
	if (r < 0)
		return store_fail(c, r, err);
	if (r == 0)
		return err_set(err, ERR_NOT_FOUND, "", "no zone '%.80s'", id_or_name);
	return 0;
}

void zone_page_release(struct zone_page *page)
{
	if (!page)
		return;
	free(page->items);
	page->items = NULL;
	page->n = 0;
}
