/* test_compute: unit tests of src/compute (zones) over a real SQLite store
 * in a scratch directory: name and jurisdiction rules, create, get by id
 * and by name, list with pagination, partial update, delete, and that a
 * refused change leaves the store as it was. */
#include <errno.h>
#include <stdbool.h>

#include "unit.h"

#include "compute/compute.h"
#include "lib/util.h"

struct fixture {
	char dir[UNIT_DIR_SIZE];       /* scratch directory */
	char path[UNIT_DIR_SIZE + 16]; /* the SQLite file in it */
	struct store *st;
	struct store_conn *c;          /* borrowed for the whole test */
};

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	if (unit_tmpdir_make(f->dir) < 0) {
		free(f);
		return -1;
	}
	snprintf(f->path, sizeof(f->path), "%s/nubo.db", f->dir);
	struct store_opts o = { .url = f->path, .pool_size = 1, .busy_timeout_ms = 5000 };
	struct err err;
	if (store_open(&o, &f->st, &err) < 0) {
		fprintf(stderr, "store_open: %s\n", err.message);
		unit_tmpdir_remove(f->dir);
		free(f);
		return -1;
	}
	f->c = store_conn_get(f->st);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	store_conn_put(f->c);
	store_free(f->st);
	int r = unit_tmpdir_remove(f->dir);
	free(f);
	return r;
}

static struct zone make(struct store_conn *c, const char *name, const char *juris,
			const char *description)
{
	struct zone_spec spec = { .name = name, .jurisdiction = juris,
				  .description = description };
	struct zone z;
	struct err err;
	err_clear(&err);
	int r = zone_create(c, &spec, &z, &err);
	if (r != 0)
		fail_msg("zone_create(%s): %d %s", name, r, err.message);
	return z;
}

/* How many zones the store holds. */
static size_t zone_count(struct store_conn *c)
{
	struct zone_page page;
	struct err err;
	assert_int_equal(zone_list(c, NULL, NULL, 1000, &page, &err), 0);
	size_t n = page.n;
	zone_page_release(&page);
	return n;
}

static void assert_zone_equal(const struct zone *a, const struct zone *b)
{
	assert_string_equal(a->id, b->id);
	assert_string_equal(a->name, b->name);
	assert_string_equal(a->description, b->description);
	assert_string_equal(a->jurisdiction, b->jurisdiction);
	assert_string_equal(a->created_at, b->created_at);
	assert_string_equal(a->updated_at, b->updated_at);
}

/* ------------------------------------------------------------- checks */

static void test_zone_name_check(void **state)
{
	struct err err;
	char max[ZONE_NAME_MAX + 2];
	memset(max, 'a', ZONE_NAME_MAX);
	max[ZONE_NAME_MAX] = '\0';
	static const char *const good[] = { "a", "z9", "par1", "eu-west-1", "a--b", "0", "123",
					    "0-a" };
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		err_clear(&err);
		if (zone_name_check(good[i], &err) != 0)
			fail_msg("'%s' refused: %s", good[i], err.message);
	}
	assert_int_equal(zone_name_check(max, &err), 0);

	max[ZONE_NAME_MAX] = 'a';
	max[ZONE_NAME_MAX + 1] = '\0';
	err_clear(&err);
	assert_int_equal(zone_name_check(max, &err), -ERR_INVALID);
	assert_int_equal(err.code, ERR_INVALID);
	assert_string_equal(err.field, "name");
	assert_string_equal(err.message, "name must be 1 to 63 characters long");
	assert_int_equal(zone_name_check("", &err), -ERR_INVALID);
	assert_string_equal(err.message, "name must be 1 to 63 characters long");

	static const char *const bad_chars[] = { "Par1", "PAR", "a_b", "a.b", "a b", "zone/1",
						 "z\xc3\xa9", "a\n", "a%20" };
	for (size_t i = 0; i < ARRAY_SIZE(bad_chars); i++) {
		err_clear(&err);
		if (zone_name_check(bad_chars[i], &err) != -ERR_INVALID)
			fail_msg("'%s' accepted", bad_chars[i]);
		assert_string_equal(err.field, "name");
		assert_string_equal(err.message,
				    "name may hold only lower-case letters, digits and '-'");
	}
	static const char *const bad_hyphen[] = { "-a", "a-", "-", "--" };
	for (size_t i = 0; i < ARRAY_SIZE(bad_hyphen); i++) {
		err_clear(&err);
		if (zone_name_check(bad_hyphen[i], &err) != -ERR_INVALID)
			fail_msg("'%s' accepted", bad_hyphen[i]);
		assert_string_equal(err.message, "name must not start or end with '-'");
	}
	/* a name that looks like an id would make "id or name" ambiguous */
	char id[UUID_SIZE];
	uuid_generate(id);
	err_clear(&err);
	assert_int_equal(zone_name_check(id, &err), -ERR_INVALID);
	assert_string_equal(err.field, "name");
	assert_string_equal(err.message, "name must not have the form of a UUID");
	assert_int_equal(zone_name_check("00000000-0000-0000-0000-000000000000", &err),
			 -ERR_INVALID);
	/* one character more or less than a UUID is a plain name */
	assert_int_equal(zone_name_check("00000000-0000-0000-0000-00000000000", &err), 0);
	assert_int_equal(zone_name_check("00000000-0000-0000-0000-0000000000000", &err), 0);
}

static void test_zone_jurisdiction_check(void **state)
{
	struct err err;
	char out[3] = "";
	assert_int_equal(zone_jurisdiction_check("FR", out, &err), 0);
	assert_string_equal(out, "FR");
	assert_int_equal(zone_jurisdiction_check("de", out, &err), 0);
	assert_string_equal(out, "DE");
	assert_int_equal(zone_jurisdiction_check("nO", out, &err), 0);
	assert_string_equal(out, "NO");

	static const char *const bad[] = { "XX", "zz", "EU", "UK", "FRA", "F", "", "1A", "F ",
					   "\xc3\xa9", "de-DE" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		memcpy(out, "QQ", 3);
		err_clear(&err);
		if (zone_jurisdiction_check(bad[i], out, &err) != -ERR_INVALID)
			fail_msg("'%s' accepted", bad[i]);
		assert_int_equal(err.code, ERR_INVALID);
		assert_string_equal(err.field, "jurisdiction");
		assert_string_equal(out, "QQ");
	}
	assert_int_equal(zone_jurisdiction_check("xx", out, &err), -ERR_INVALID);
	assert_string_equal(err.message, "jurisdiction 'xx' is not an assigned ISO 3166-1 alpha-2 "
					 "country code (such as DE, FR or NO)");
	/* the code is shown cut to a few characters */
	assert_int_equal(zone_jurisdiction_check("a-very-long-country", out, &err), -ERR_INVALID);
	assert_non_null(strstr(err.message, "'a-very-l'"));
}

/* -------------------------------------------------------- create, get */

static void test_zone_create_and_get(void **state)
{
	struct fixture *f = *state;
	struct err err;
	int64_t before = time_now_ms();
	struct zone z = make(f->c, "par1", "fr", "Paris \xc3\xa9st");
	assert_true(uuid_valid(z.id));
	assert_string_equal(z.name, "par1");
	assert_string_equal(z.description, "Paris \xc3\xa9st");
	assert_string_equal(z.jurisdiction, "FR");
	assert_string_equal(z.created_at, z.updated_at);
	int64_t ms = 0;
	assert_int_equal(time_rfc3339_parse(z.created_at, &ms), 0);
	assert_in_range(ms, before - 1000, time_now_ms() + 1000);

	struct zone got;
	memset(&got, 0, sizeof(got));
	assert_int_equal(zone_get(f->c, z.id, &got, &err), 0);
	assert_zone_equal(&got, &z);
	memset(&got, 0, sizeof(got));
	assert_int_equal(zone_get(f->c, "par1", &got, &err), 0);
	assert_zone_equal(&got, &z);
	/* an id is found whatever the case of its hex digits */
	char upper[UUID_SIZE];
	str_copy(upper, sizeof(upper), z.id);
	for (char *p = upper; *p; p++)
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 32);
	memset(&got, 0, sizeof(got));
	assert_int_equal(zone_get(f->c, upper, &got, &err), 0);
	assert_string_equal(got.id, z.id);

	/* a description is optional */
	struct zone z2 = make(f->c, "ber1", "DE", NULL);
	assert_string_equal(z2.description, "");
	assert_string_not_equal(z2.id, z.id);
	assert_int_equal(zone_count(f->c), 2);
}

static void test_zone_get_not_found(void **state)
{
	struct fixture *f = *state;
	struct err err;
	make(f->c, "par1", "FR", NULL);
	struct zone got;
	memcpy(got.name, "untouched", 10);
	err_clear(&err);
	assert_int_equal(zone_get(f->c, "nope", &got, &err), -ERR_NOT_FOUND);
	assert_int_equal(err.code, ERR_NOT_FOUND);
	assert_string_equal(err.message, "no zone 'nope'");
	assert_string_equal(got.name, "untouched");
	/* names compare exactly */
	assert_int_equal(zone_get(f->c, "PAR1", &got, &err), -ERR_NOT_FOUND);
	assert_int_equal(zone_get(f->c, "par", &got, &err), -ERR_NOT_FOUND);
	char id[UUID_SIZE];
	uuid_generate(id);
	assert_int_equal(zone_get(f->c, id, &got, &err), -ERR_NOT_FOUND);
	assert_int_equal(zone_get(f->c, "", &got, &err), -ERR_NOT_FOUND);
	/* SQL wildcards are not patterns */
	assert_int_equal(zone_get(f->c, "%", &got, &err), -ERR_NOT_FOUND);
}

static void test_zone_create_refused_changes_nothing(void **state)
{
	struct fixture *f = *state;
	struct err err;
	struct zone z;
	memset(&z, 0, sizeof(z));
	struct zone_spec spec = { .jurisdiction = "FR" };
	err_clear(&err);
	assert_int_equal(zone_create(f->c, &spec, &z, &err), -ERR_INVALID);
	assert_string_equal(err.field, "name");
	assert_string_equal(err.message, "field 'name' is required");

	spec = (struct zone_spec){ .name = "par1" };
	assert_int_equal(zone_create(f->c, &spec, &z, &err), -ERR_INVALID);
	assert_string_equal(err.field, "jurisdiction");
	assert_string_equal(err.message, "field 'jurisdiction' is required");

	spec = (struct zone_spec){ .name = "Par1", .jurisdiction = "FR" };
	assert_int_equal(zone_create(f->c, &spec, &z, &err), -ERR_INVALID);
	assert_string_equal(err.field, "name");
	spec = (struct zone_spec){ .name = "par1", .jurisdiction = "XX" };
	assert_int_equal(zone_create(f->c, &spec, &z, &err), -ERR_INVALID);
	assert_string_equal(err.field, "jurisdiction");

	/* the description limit counts characters */
	char desc[256 * 2 + 1];
	for (int i = 0; i < 256; i++)
		memcpy(desc + 2 * i, "\xc3\xa9", 2);
	desc[512] = '\0';
	spec = (struct zone_spec){ .name = "par1", .jurisdiction = "FR", .description = desc };
	assert_int_equal(zone_create(f->c, &spec, &z, &err), -ERR_INVALID);
	assert_string_equal(err.field, "description");
	assert_string_equal(err.message, "description is longer than 255 characters");
	assert_int_equal(zone_count(f->c), 0);
	/* the ret zone was not written */
	assert_string_equal(z.id, "");

	desc[510] = '\0'; /* 255 two-byte characters */
	struct zone ok = make(f->c, "par1", "FR", desc);
	assert_string_equal(ok.description, desc);
	struct zone got;
	assert_int_equal(zone_get(f->c, "par1", &got, &err), 0);
	assert_string_equal(got.description, desc);
	assert_int_equal(zone_count(f->c), 1);
}

static void test_zone_create_duplicate_name(void **state)
{
	struct fixture *f = *state;
	struct err err;
	struct zone first = make(f->c, "par1", "FR", "first");

	struct zone_spec spec = { .name = "par1", .jurisdiction = "DE", .description = "second" };
	struct zone z;
	memset(&z, 0, sizeof(z));
	err_clear(&err);
	assert_int_equal(zone_create(f->c, &spec, &z, &err), -ERR_CONFLICT);
	assert_int_equal(err.code, ERR_CONFLICT);
	assert_string_equal(err.field, "name");
	assert_string_equal(err.message, "a zone named 'par1' already exists");
	assert_string_equal(z.id, "");

	assert_int_equal(zone_count(f->c), 1);
	struct zone got;
	assert_int_equal(zone_get(f->c, "par1", &got, &err), 0);
	assert_zone_equal(&got, &first);
	/* the connection is left usable, with no transaction open */
	assert_int_equal(store_txn_depth(f->c), 0);
	make(f->c, "par2", "FR", NULL);
	assert_int_equal(zone_count(f->c), 2);
}

/* --------------------------------------------------------------- list */

static void expect_page(struct store_conn *c, const char *after, const char *name, size_t limit,
			const char *const want[], size_t nwant, bool more)
{
	struct zone_page page;
	struct err err;
	memset(&page, 0, sizeof(page));
	assert_int_equal(zone_list(c, after, name, limit, &page, &err), 0);
	if (page.n != nwant)
		fail_msg("after=%s name=%s limit=%zu: %zu zones, want %zu", after ? after : "-",
			 name ? name : "-", limit, page.n, nwant);
	for (size_t i = 0; i < nwant; i++)
		assert_string_equal(page.items[i].name, want[i]);
	if (page.more != more)
		fail_msg("after=%s name=%s limit=%zu: more=%d, want %d", after ? after : "-",
			 name ? name : "-", limit, page.more, more);
	zone_page_release(&page);
	assert_null(page.items);
	assert_int_equal(page.n, 0);
}

static void test_zone_list_pagination(void **state)
{
	struct fixture *f = *state;
	static const char *const order[] = { "a1", "b2", "c3", "d4", "e5" };
	/* created out of order: the list is ordered by name, not by age */
	make(f->c, "e5", "FR", NULL);
	make(f->c, "a1", "DE", NULL);
	make(f->c, "c3", "NO", NULL);
	make(f->c, "b2", "FR", NULL);
	make(f->c, "d4", "IT", NULL);

	expect_page(f->c, NULL, NULL, 2, order, 2, true);
	expect_page(f->c, "b2", NULL, 2, order + 2, 2, true);
	expect_page(f->c, "d4", NULL, 2, order + 4, 1, false);
	expect_page(f->c, "e5", NULL, 2, NULL, 0, false);
	/* exactly the number left: no more */
	expect_page(f->c, NULL, NULL, 5, order, 5, false);
	expect_page(f->c, "c3", NULL, 2, order + 3, 2, false);
	expect_page(f->c, NULL, NULL, 100, order, 5, false);
	/* after need not be an existing name */
	expect_page(f->c, "b", NULL, 1, order + 1, 1, true);
	expect_page(f->c, "zzz", NULL, 10, NULL, 0, false);

	/* walking the pages with the last name of each sees every zone once */
	const char *after = NULL;
	char last[ZONE_NAME_MAX + 1] = "";
	size_t seen = 0, pages = 0;
	for (;;) {
		struct zone_page page;
		struct err err;
		assert_int_equal(zone_list(f->c, after, NULL, 2, &page, &err), 0);
		for (size_t i = 0; i < page.n; i++)
			assert_string_equal(page.items[i].name, order[seen++]);
		pages++;
		bool more = page.more;
		if (page.n)
			str_copy(last, sizeof(last), page.items[page.n - 1].name);
		zone_page_release(&page);
		if (!more)
			break;
		after = last;
	}
	assert_int_equal(seen, 5);
	assert_int_equal(pages, 3);

	/* filter by name */
	static const char *const c3[] = { "c3" };
	expect_page(f->c, NULL, "c3", 10, c3, 1, false);
	expect_page(f->c, NULL, "c", 10, NULL, 0, false);
	expect_page(f->c, NULL, "zz", 10, NULL, 0, false);
	expect_page(f->c, "b2", "c3", 10, c3, 1, false);
	expect_page(f->c, "c3", "c3", 10, NULL, 0, false);
	expect_page(f->c, NULL, "c3", 1, c3, 1, false);

	/* every field comes back */
	struct zone_page page;
	struct err err;
	assert_int_equal(zone_list(f->c, "b2", NULL, 1, &page, &err), 0);
	assert_int_equal(page.n, 1);
	struct zone got;
	assert_int_equal(zone_get(f->c, "c3", &got, &err), 0);
	assert_zone_equal(&page.items[0], &got);
	assert_string_equal(page.items[0].jurisdiction, "NO");
	zone_page_release(&page);
	zone_page_release(NULL);
}

/* ------------------------------------------------------------- update */

static void test_zone_update_partial(void **state)
{
	struct fixture *f = *state;
	struct err err;
	struct zone z = make(f->c, "par1", "FR", "Paris");
	struct zone u;

	struct zone_spec spec = { .description = "Paris, rive gauche" };
	assert_int_equal(zone_update(f->c, "par1", &spec, &u, &err), 0);
	assert_string_equal(u.id, z.id);
	assert_string_equal(u.name, "par1");
	assert_string_equal(u.jurisdiction, "FR");
	assert_string_equal(u.description, "Paris, rive gauche");
	assert_string_equal(u.created_at, z.created_at);
	assert_true(strcmp(u.updated_at, z.created_at) >= 0);
	struct zone got;
	assert_int_equal(zone_get(f->c, z.id, &got, &err), 0);
	assert_zone_equal(&got, &u);

	spec = (struct zone_spec){ .jurisdiction = "mc" };
	assert_int_equal(zone_update(f->c, z.id, &spec, &u, &err), 0);
	assert_string_equal(u.jurisdiction, "MC");
	assert_string_equal(u.description, "Paris, rive gauche");
	assert_string_equal(u.name, "par1");

	/* an empty description is a change, not an absence */
	spec = (struct zone_spec){ .description = "" };
	assert_int_equal(zone_update(f->c, "par1", &spec, &u, &err), 0);
	assert_string_equal(u.description, "");

	/* rename, by id */
	spec = (struct zone_spec){ .name = "paris" };
	assert_int_equal(zone_update(f->c, z.id, &spec, &u, &err), 0);
	assert_string_equal(u.name, "paris");
	assert_string_equal(u.jurisdiction, "MC");
	assert_int_equal(zone_get(f->c, "par1", &got, &err), -ERR_NOT_FOUND);
	assert_int_equal(zone_get(f->c, "paris", &got, &err), 0);
	assert_string_equal(got.id, z.id);

	/* renaming to its own name is no conflict; nothing given changes nothing */
	spec = (struct zone_spec){ .name = "paris" };
	assert_int_equal(zone_update(f->c, "paris", &spec, &u, &err), 0);
	spec = (struct zone_spec){ 0 };
	assert_int_equal(zone_update(f->c, "paris", &spec, &u, &err), 0);
	assert_string_equal(u.name, "paris");
	assert_string_equal(u.jurisdiction, "MC");
	assert_string_equal(u.description, "");
	assert_string_equal(u.created_at, z.created_at);
	assert_int_equal(zone_count(f->c), 1);
	assert_int_equal(store_txn_depth(f->c), 0);
}

static void test_zone_update_refused(void **state)
{
	struct fixture *f = *state;
	struct err err;
	struct zone a = make(f->c, "a", "FR", "zone a");
	struct zone b = make(f->c, "b", "DE", "zone b");
	struct zone u, got;
	memset(&u, 0, sizeof(u));

	/* rename onto another zone's name */
	struct zone_spec spec = { .name = "b", .description = "changed" };
	err_clear(&err);
	assert_int_equal(zone_update(f->c, "a", &spec, &u, &err), -ERR_CONFLICT);
	assert_int_equal(err.code, ERR_CONFLICT);
	assert_string_equal(err.field, "name");
	assert_string_equal(err.message, "a zone named 'b' already exists");
	assert_int_equal(store_txn_depth(f->c), 0);
	assert_string_equal(u.id, "");
	assert_int_equal(zone_get(f->c, a.id, &got, &err), 0);
	assert_zone_equal(&got, &a);
	assert_int_equal(zone_get(f->c, b.id, &got, &err), 0);
	assert_zone_equal(&got, &b);

	/* bad fields */
	spec = (struct zone_spec){ .jurisdiction = "XX", .description = "changed" };
	assert_int_equal(zone_update(f->c, "a", &spec, &u, &err), -ERR_INVALID);
	assert_string_equal(err.field, "jurisdiction");
	spec = (struct zone_spec){ .name = "A" };
	assert_int_equal(zone_update(f->c, "a", &spec, &u, &err), -ERR_INVALID);
	assert_string_equal(err.field, "name");
	assert_int_equal(zone_get(f->c, a.id, &got, &err), 0);
	assert_zone_equal(&got, &a);

	/* no such zone */
	spec = (struct zone_spec){ .description = "x" };
	err_clear(&err);
	assert_int_equal(zone_update(f->c, "nope", &spec, &u, &err), -ERR_NOT_FOUND);
	assert_int_equal(err.code, ERR_NOT_FOUND);
	assert_string_equal(err.message, "no zone 'nope'");
	assert_int_equal(store_txn_depth(f->c), 0);
	assert_int_equal(zone_count(f->c), 2);
	assert_string_equal(u.id, "");
}

/* Inside a caller's transaction, a refused update undoes only itself. */
static void test_zone_update_nested_in_transaction(void **state)
{
	struct fixture *f = *state;
	struct err err;
	make(f->c, "a", "FR", NULL);
	make(f->c, "b", "FR", NULL);

	assert_int_equal(store_txn_begin(f->c), 0);
	make(f->c, "c", "FR", NULL);
	struct zone_spec spec = { .name = "a" };
	struct zone u;
	assert_int_equal(zone_update(f->c, "b", &spec, &u, &err), -ERR_CONFLICT);
	assert_int_equal(store_txn_depth(f->c), 1);
	spec = (struct zone_spec){ .description = "kept" };
	assert_int_equal(zone_update(f->c, "b", &spec, &u, &err), 0);
	assert_int_equal(store_txn_depth(f->c), 1);
	assert_int_equal(store_txn_commit(f->c), 0);

	assert_int_equal(zone_count(f->c), 3);
	struct zone got;
	assert_int_equal(zone_get(f->c, "b", &got, &err), 0);
	assert_string_equal(got.description, "kept");

	/* and the caller's rollback undoes a successful update */
	assert_int_equal(store_txn_begin(f->c), 0);
	spec = (struct zone_spec){ .name = "renamed" };
	assert_int_equal(zone_update(f->c, "c", &spec, &u, &err), 0);
	assert_int_equal(store_txn_rollback(f->c), 0);
	assert_int_equal(zone_get(f->c, "c", &got, &err), 0);
	assert_int_equal(zone_get(f->c, "renamed", &got, &err), -ERR_NOT_FOUND);
}

/* ------------------------------------------------------------- delete */

static void test_zone_delete(void **state)
{
	struct fixture *f = *state;
	struct err err;
	struct zone a = make(f->c, "a", "FR", NULL);
	struct zone b = make(f->c, "b", "DE", NULL);
	struct zone got;

	assert_int_equal(zone_delete(f->c, "a", &err), 0);
	err_clear(&err);
	assert_int_equal(zone_get(f->c, "a", &got, &err), -ERR_NOT_FOUND);
	assert_int_equal(zone_get(f->c, a.id, &got, &err), -ERR_NOT_FOUND);
	err_clear(&err);
	assert_int_equal(zone_delete(f->c, "a", &err), -ERR_NOT_FOUND);
	assert_int_equal(err.code, ERR_NOT_FOUND);
	assert_string_equal(err.message, "no zone 'a'");
	assert_int_equal(zone_count(f->c), 1);

	/* by id, in upper case */
	char upper[UUID_SIZE];
	str_copy(upper, sizeof(upper), b.id);
	for (char *p = upper; *p; p++)
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 32);
	assert_int_equal(zone_delete(f->c, upper, &err), 0);
	assert_int_equal(zone_get(f->c, b.id, &got, &err), -ERR_NOT_FOUND);
	assert_int_equal(zone_delete(f->c, b.id, &err), -ERR_NOT_FOUND);
	assert_int_equal(zone_count(f->c), 0);

	/* a deleted name can be used again, by a new zone */
	struct zone again = make(f->c, "a", "FR", NULL);
	assert_string_not_equal(again.id, a.id);
	assert_int_equal(zone_delete(f->c, "nope", &err), -ERR_NOT_FOUND);
	assert_int_equal(zone_count(f->c), 1);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_zone_name_check),
		cmocka_unit_test(test_zone_jurisdiction_check),
		T(test_zone_create_and_get),
		T(test_zone_get_not_found),
		T(test_zone_create_refused_changes_nothing),
		T(test_zone_create_duplicate_name),
		T(test_zone_list_pagination),
		T(test_zone_update_partial),
		T(test_zone_update_refused),
		T(test_zone_update_nested_in_transaction),
		T(test_zone_delete),
	};
	return cmocka_run_group_tests_name("compute", tests, NULL, NULL);
}
