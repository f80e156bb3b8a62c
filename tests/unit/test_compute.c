/* test_compute: unit tests of src/compute (zones) over a real SQLite store
 * in a scratch directory: name and jurisdiction rules, create, get by id
 * and by name, list with pagination, partial update, delete, and that a
 * refused change leaves the store as it was; and the scheduler's capacity
 * index against a naive linear scan, with its filters and weighers. */
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


/* ---- the scheduler's capacity index ---- */

#define NOW 1000000000LL
#define DOWN_AFTER 60000

static struct sched *sched_make(bool pack)
{
	struct sched_opts o = { .cpu_ratio = 4.0, .ram_ratio = 1.0, .down_after_ms = DOWN_AFTER,
				.pack = pack };
	return sched_new(&o);
}

static struct host host_make(int n, const char *zone, int64_t cpus, int64_t ram_mb)
{
	struct host h = { 0 };
	snprintf(h.id, sizeof(h.id), "00000000-0000-4000-8000-%012d", n);
	snprintf(h.name, sizeof(h.name), "h%d", n);
	str_copy(h.zone_id, sizeof(h.zone_id), zone);
	h.enabled = true;
	h.cpus = cpus;
	h.ram_mb = ram_mb;
	h.disk_gb = 1000;
	h.last_heartbeat_ms = NOW;
	return h;
}

static int place(struct sched *s, const struct sched_request *req, char host[UUID_SIZE],
		 char why[256])
{
	return sched_place(s, req, NOW, host, why, 256);
}

/* The naive placement the index must agree with: a linear pass that
 * keeps the most free memory among fitting, eligible hosts. */
struct naive_host {
	struct host h;
	int64_t used_vcpus, used_ram, used_disk;
	int members[8]; /* members of each group on it */
};

static int64_t naive_best(const struct naive_host *hs, size_t n, const struct sched_request *req,
			  int group, bool anti)
{
	int64_t best = -1;
	for (size_t i = 0; i < n; i++) {
		const struct naive_host *x = &hs[i];
		if (!x->h.enabled || NOW - x->h.last_heartbeat_ms > DOWN_AFTER)
			continue;
		if (req->zone_id && strcmp(req->zone_id, x->h.zone_id) != 0)
			continue;
		if (group >= 0 && anti && x->members[group] > 0)
			continue;
		int64_t v = x->h.cpus * 4 - x->used_vcpus, r = x->h.ram_mb - x->used_ram,
			d = x->h.disk_gb - x->used_disk;
		if (v >= req->vcpus && r >= req->ram_mb && d >= req->disk_gb && r > best)
			best = r;
	}
	return best;
}

static void test_sched_spread_agrees_with_a_linear_scan(void **state)
{
	(void)state;
	enum { HOSTS = 300, ROUNDS = 4000 };
	static const char *const zones[] = { "zone-a", "zone-b", "" };
	char groups[8][UUID_SIZE];
	for (int g = 0; g < 8; g++)
		snprintf(groups[g], UUID_SIZE, "11111111-0000-4000-8000-%012d", g);
	struct naive_host *hs = xcalloc(HOSTS, sizeof(*hs));
	struct sched *s = sched_make(false);
	srand(7);
	for (int i = 0; i < HOSTS; i++) {
		hs[i].h = host_make(i, zones[i % 3], 1 + rand() % 64, 1024 * (1 + rand() % 256));
		hs[i].h.enabled = rand() % 10 != 0;
		if (rand() % 20 == 0)
			hs[i].h.last_heartbeat_ms = NOW - DOWN_AFTER - 1;
		sched_host_update(s, &hs[i].h);
	}
	struct placed {
		int host, group;
		struct sched_request req;
	} *placed = xcalloc(ROUNDS, sizeof(*placed));
	size_t nplaced = 0, ok = 0, refused = 0;
	for (int k = 0; k < ROUNDS; k++) {
		if (nplaced && rand() % 4 == 0) { /* give one back */
			size_t j = (size_t)rand() % nplaced;
			struct placed *p = &placed[j];
			sched_release(s, hs[p->host].h.id, &p->req);
			hs[p->host].used_vcpus -= p->req.vcpus;
			hs[p->host].used_ram -= p->req.ram_mb;
			hs[p->host].used_disk -= p->req.disk_gb;
			if (p->group >= 0)
				hs[p->host].members[p->group]--;
			placed[j] = placed[--nplaced];
			continue;
		}
		static const int64_t sizes[][3] = { { 1, 512, 10 },  { 2, 4096, 20 },
						    { 4, 16384, 40 }, { 8, 65536, 80 },
						    { 32, 8192, 10 } };
		const int64_t *sz = sizes[rand() % 5];
		int group = rand() % 3 == 0 ? rand() % 8 : -1;
		int zone = rand() % 4; /* 3: any zone */
		struct sched_request req = { .vcpus = sz[0], .ram_mb = sz[1], .disk_gb = sz[2],
					     .zone_id = zone < 3 ? zones[zone] : NULL,
					     .group_id = group >= 0 ? groups[group] : NULL,
					     .anti_affinity = group >= 0 };
		if (zone == 2) /* the hosts without a zone are asked for with no zone */
			req.zone_id = NULL;
		int64_t want = naive_best(hs, HOSTS, &req, group, true);
		char host[UUID_SIZE], why[256];
		int r = place(s, &req, host, why);
		if (want < 0) {
			assert_int_equal(r, -ERR_INVALID);
			assert_true(why[0] != '\0');
			refused++;
			continue;
		}
		assert_int_equal(r, 0);
		int i = atoi(host + 24);
		struct naive_host *x = &hs[i];
		assert_int_equal(x->h.ram_mb - x->used_ram, want); /* the most free memory */
		assert_true(x->h.cpus * 4 - x->used_vcpus >= req.vcpus);
		assert_true(x->h.enabled && x->h.last_heartbeat_ms == NOW);
		if (req.zone_id)
			assert_string_equal(x->h.zone_id, req.zone_id);
		if (group >= 0) {
			assert_int_equal(x->members[group], 0);
			x->members[group]++;
		}
		x->used_vcpus += req.vcpus;
		x->used_ram += req.ram_mb;
		x->used_disk += req.disk_gb;
		placed[nplaced++] = (struct placed){ i, group, req };
		ok++;
	}
	assert_true(ok > 500 && refused > 50); /* both paths were taken */
	for (int i = 0; i < HOSTS; i++) {
		struct sched_usage u;
		assert_true(sched_host_usage(s, hs[i].h.id, &u));
		assert_int_equal(u.vcpus, hs[i].used_vcpus);
		assert_int_equal(u.ram_mb, hs[i].used_ram);
		assert_int_equal(u.vcpus_total, hs[i].h.cpus * 4);
	}
	free(placed);
	free(hs);
	sched_free(s);
}

static void test_sched_pack_fills_hosts_in_order(void **state)
{
	(void)state;
	struct sched *s = sched_make(true);
	for (int i = 0; i < 4; i++) {
		struct host h = host_make(i, "", 4, 8192);
		sched_host_update(s, &h);
	}
	struct sched_request req = { .vcpus = 1, .ram_mb = 2048, .disk_gb = 1 };
	char host[UUID_SIZE], why[256];
	for (int k = 0; k < 16; k++) {
		assert_int_equal(place(s, &req, host, why), 0);
		assert_int_equal(atoi(host + 24), k / 4); /* four to a host, in order */
	}
	assert_int_equal(place(s, &req, host, why), -ERR_INVALID);
	assert_non_null(strstr(why, "no host has room"));
	struct host h1 = host_make(1, "", 4, 8192);
	sched_release(s, h1.id, &req);
	assert_int_equal(place(s, &req, host, why), 0);
	assert_string_equal(host, h1.id);
	sched_free(s);
}

static void test_sched_server_groups(void **state)
{
	(void)state;
	struct sched *s = sched_make(false);
	for (int i = 0; i < 3; i++) {
		struct host h = host_make(i, "", 8, 8192);
		sched_host_update(s, &h);
	}
	const char *anti = "22222222-0000-4000-8000-000000000001";
	const char *aff = "22222222-0000-4000-8000-000000000002";
	struct sched_request req = { .vcpus = 1, .ram_mb = 1024, .disk_gb = 1, .group_id = anti,
				     .anti_affinity = true };
	char host[UUID_SIZE], why[256], seen[3][UUID_SIZE];
	for (int k = 0; k < 3; k++) {
		assert_int_equal(place(s, &req, seen[k], why), 0);
		for (int j = 0; j < k; j++)
			assert_string_not_equal(seen[j], seen[k]);
	}
	assert_int_equal(place(s, &req, host, why), -ERR_INVALID);
	assert_non_null(strstr(why, "anti-affinity"));
	sched_release(s, seen[1], &req); /* a member leaves: its host is free again */
	assert_int_equal(place(s, &req, host, why), 0);
	assert_string_equal(host, seen[1]);

	struct sched_request r2 = { .vcpus = 1, .ram_mb = 2048, .disk_gb = 1, .group_id = aff };
	char first[UUID_SIZE];
	assert_int_equal(place(s, &r2, first, why), 0);
	for (int k = 0; k < 2; k++) {
		assert_int_equal(place(s, &r2, host, why), 0);
		assert_string_equal(host, first);
	}
	/* the group's host is full (3 x 2048 + 1024 of 8192): no other host will do */
	r2.ram_mb = 4096;
	assert_int_equal(place(s, &r2, host, why), -ERR_INVALID);
	assert_non_null(strstr(why, "affinity"));
	sched_free(s);
}

static void test_sched_silent_disabled_and_zones(void **state)
{
	(void)state;
	struct sched *s = sched_make(false);
	struct host a = host_make(1, "zone-a", 4, 4096), b = host_make(2, "zone-b", 4, 8192);
	sched_host_update(s, &a);
	sched_host_update(s, &b);
	struct sched_request req = { .vcpus = 1, .ram_mb = 1024, .disk_gb = 1 };
	char host[UUID_SIZE], why[256];
	assert_int_equal(place(s, &req, host, why), 0);
	assert_string_equal(host, b.id); /* the most free memory */
	sched_release(s, b.id, &req);
	b.last_heartbeat_ms = NOW - DOWN_AFTER - 1; /* b falls silent */
	sched_host_update(s, &b);
	assert_int_equal(place(s, &req, host, why), 0);
	assert_string_equal(host, a.id);
	req.zone_id = "zone-b";
	assert_int_equal(place(s, &req, host, why), -ERR_INVALID);
	assert_non_null(strstr(why, "no host is up and enabled in the requested zone"));
	b.last_heartbeat_ms = NOW; /* it reports again */
	sched_host_update(s, &b);
	assert_int_equal(place(s, &req, host, why), 0);
	assert_string_equal(host, b.id);
	b.enabled = false;
	sched_host_update(s, &b);
	assert_int_equal(place(s, &req, host, why), -ERR_INVALID);
	req.zone_id = "zone-c"; /* a zone without hosts */
	assert_int_equal(place(s, &req, host, why), -ERR_INVALID);
	/* a host moved to another zone keeps what it holds */
	a.zone_id[0] = '\0';
	str_copy(a.zone_id, sizeof(a.zone_id), "zone-c");
	sched_host_update(s, &a);
	assert_int_equal(place(s, &req, host, why), 0);
	assert_string_equal(host, a.id);
	struct sched_usage u;
	assert_true(sched_host_usage(s, a.id, &u));
	assert_int_equal(u.ram_mb, 2048);
	sched_host_remove(s, a.id);
	assert_false(sched_host_usage(s, a.id, &u));
	assert_int_equal(place(s, &req, host, why), -ERR_INVALID);
	sched_free(s);
}

static void test_sched_zone_ratios(void **state)
{
	(void)state;
	struct sched *s = sched_make(false);
	struct host h = host_make(1, "zone-a", 2, 4096);
	sched_host_update(s, &h);
	struct sched_request req = { .vcpus = 2, .ram_mb = 512, .disk_gb = 1, .zone_id = "zone-a" };
	char host[UUID_SIZE], why[256];
	for (int k = 0; k < 4; k++) /* 2 CPUs x 4.0 = 8 vCPUs */
		assert_int_equal(place(s, &req, host, why), 0);
	assert_int_equal(place(s, &req, host, why), -ERR_INVALID);
	assert_non_null(strstr(why, "no host has room"));
	sched_zone_update(s, "zone-a", 8.0, 2.0);
	struct sched_usage u;
	assert_true(sched_host_usage(s, h.id, &u));
	assert_int_equal(u.vcpus_total, 16);
	assert_int_equal(u.ram_mb_total, 8192);
	assert_int_equal(place(s, &req, host, why), 0);
	sched_zone_update(s, "zone-a", 1.0, 0); /* overcommitted now: takes nothing */
	req.vcpus = 1;
	assert_int_equal(place(s, &req, host, why), -ERR_INVALID);
	sched_zone_update(s, "zone-a", 0, 0); /* back to the defaults */
	assert_true(sched_host_usage(s, h.id, &u));
	assert_int_equal(u.vcpus_total, 8);
	sched_free(s);
}

static void test_sched_many_hosts_come_and_go(void **state)
{
	(void)state;
	enum { N = 5000 };
	struct sched *s = sched_make(false);
	for (int i = 0; i < N; i++) {
		struct host h = host_make(i, i % 2 ? "zone-a" : "zone-b", 16, 65536);
		sched_host_update(s, &h);
	}
	for (int i = 0; i < N; i += 2) {
		struct host h = host_make(i, "", 0, 0);
		sched_host_remove(s, h.id);
	}
	struct sched_request req = { .vcpus = 1, .ram_mb = 1024, .disk_gb = 1,
				     .zone_id = "zone-b" };
	char host[UUID_SIZE], why[256];
	assert_int_equal(place(s, &req, host, why), -ERR_INVALID);
	req.zone_id = NULL;
	for (int k = 0; k < N; k++) {
		assert_int_equal(place(s, &req, host, why), 0);
		assert_int_equal(atoi(host + 24) % 2, 1);
	}
	struct sched_usage u;
	struct host h = host_make(1, "", 0, 0);
	assert_true(sched_host_usage(s, h.id, &u));
	assert_int_equal(u.ram_mb, 2048); /* spread: two on each of the 2,500 */
	assert_true(sched_bytes(s) > 0);
	sched_free(s);
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
		cmocka_unit_test(test_sched_spread_agrees_with_a_linear_scan),
		cmocka_unit_test(test_sched_pack_fills_hosts_in_order),
		cmocka_unit_test(test_sched_server_groups),
		cmocka_unit_test(test_sched_silent_disabled_and_zones),
		cmocka_unit_test(test_sched_zone_ratios),
		cmocka_unit_test(test_sched_many_hosts_come_and_go),
	};
	return cmocka_run_group_tests_name("compute", tests, NULL, NULL);
}
