/* test_identity: unit tests of src/identity over a real SQLite store in a
 * scratch directory: users and their rules, bootstrap and admin reset,
 * logins and bearer tokens, projects, members and roles, access keys and
 * SigV4 (with AWS's published get-vanilla example), quotas (also under
 * twenty concurrent charges) and the audit trail with its filters and
 * cursor. Password hashing uses a cheap Argon2id cost. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <strings.h>

#include "unit.h"

#include "identity/identity-priv.h"
#include "identity/identity.h"
#include "lib/util.h"

#define PASSWORD "correct horse battery"
#define TTL_MS (3600LL * 1000)
/* Connections for the concurrency test: one per thread, one for the test. */
#define CHARGE_THREADS 20

static const unsigned char server_key[CRYPTO_KEY_SIZE] = {
	0x6e, 0x75, 0x62, 0x6f, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b,
	0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0xfc, 0xfd, 0xfe, 0xff,
};

static const int64_t quota_defaults[QUOTA__COUNT] = {
	[QUOTA_INSTANCES] = 10,    [QUOTA_VCPUS] = 20,        [QUOTA_RAM_MB] = 40960,
	[QUOTA_VOLUMES] = 8,       [QUOTA_VOLUME_GB] = 500,   [QUOTA_NETWORKS] = 4,
	[QUOTA_FLOATING_IPS] = 2,  [QUOTA_BUCKETS] = 6,       [QUOTA_OBJECT_BYTES] = -1,
	[QUOTA_ACCESS_KEYS] = 5,
};

struct fixture {
	char dir[UNIT_DIR_SIZE];       /* scratch directory */
	char path[UNIT_DIR_SIZE + 16]; /* the SQLite file in it */
	struct store *st;
	struct store_conn *c;          /* borrowed for the whole test */
	struct identity_settings s;    /* cheap cost, fixed key, quota_defaults */
};

static int setup_pool(void **state, unsigned pool)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	if (unit_tmpdir_make(f->dir) < 0) {
		free(f);
		return -1;
	}
	snprintf(f->path, sizeof(f->path), "%s/nubo.db", f->dir);
	struct store_opts o = { .url = f->path, .pool_size = pool, .busy_timeout_ms = 10000 };
	struct err err;
	if (store_open(&o, &f->st, &err) < 0) {
		fprintf(stderr, "store_open: %s\n", err.message);
		unit_tmpdir_remove(f->dir);
		free(f);
		return -1;
	}
	f->c = store_conn_get(f->st);
	f->s = (struct identity_settings){ .token_ttl_ms = TTL_MS,
					   .cost = { 1, 1024, 1 },
					   .server_key = server_key,
					   .quota_defaults = quota_defaults };
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_pool(state, 1);
}

static int setup_wide(void **state)
{
	return setup_pool(state, CHARGE_THREADS + 1);
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

/* ------------------------------------------------------------- helpers */

static struct user make_user(struct fixture *f, const char *name, bool admin)
{
	struct user_spec spec = { .name = name, .password = PASSWORD, .has_system_admin = admin,
				  .system_admin = admin };
	struct user u;
	struct err err;
	err_clear(&err);
	int r = user_create(f->c, &f->s, &spec, &u, &err);
	if (r != 0)
		fail_msg("user_create(%s): %d %s", name, r, err.message);
	return u;
}

static struct project make_project(struct fixture *f, const char *name)
{
	struct project p;
	struct err err;
	err_clear(&err);
	int r = project_create(f->c, &f->s, name, NULL, &p, &err);
	if (r != 0)
		fail_msg("project_create(%s): %d %s", name, r, err.message);
	return p;
}

static void add_member(struct fixture *f, const char *project_id, const char *user,
		       enum role role)
{
	struct member m;
	struct err err;
	err_clear(&err);
	int r = member_set(f->c, project_id, user, role, &m, &err);
	if (r != 0)
		fail_msg("member_set(%s): %d %s", user, r, err.message);
}

static struct login_result login(struct fixture *f, const char *name, const char *password,
				 const char *project)
{
	struct login_result res;
	struct err err;
	err_clear(&err);
	int r = auth_login(f->c, &f->s, name, password, project, &res, &err);
	if (r != 0)
		fail_msg("auth_login(%s): %d %s", name, r, err.message);
	return res;
}

/* Check that token no longer authenticates, with the message for it. */
static void assert_token_refused(struct fixture *f, const char *token)
{
	struct principal p;
	struct err err;
	err_clear(&err);
	assert_int_equal(auth_token(f->c, token, &p, &err), -ERR_UNAUTHORIZED);
	assert_int_equal(err.code, ERR_UNAUTHORIZED);
	assert_string_equal(err.field, "");
	assert_string_equal(err.message,
			    "the bearer token is not valid (unknown, expired or revoked)");
}

static void assert_token_ok(struct fixture *f, const char *token, struct principal *ret)
{
	struct err err;
	err_clear(&err);
	int r = auth_token(f->c, token, ret, &err);
	if (r != 0)
		fail_msg("auth_token: %d %s", r, err.message);
}

static void assert_login_refused(struct fixture *f, const char *name, const char *password,
				 const char *message)
{
	struct login_result res;
	struct err err;
	err_clear(&err);
	assert_int_equal(auth_login(f->c, &f->s, name, password, NULL, &res, &err),
			 -ERR_UNAUTHORIZED);
	assert_int_equal(err.code, ERR_UNAUTHORIZED);
	assert_string_equal(err.field, "");
	assert_string_equal(err.message, message);
}

static void assert_principal_equal(const struct principal *a, const struct principal *b)
{
	assert_string_equal(a->user_id, b->user_id);
	assert_string_equal(a->user_name, b->user_name);
	assert_int_equal(a->system_admin, b->system_admin);
	assert_string_equal(a->project_id, b->project_id);
	assert_string_equal(a->project_name, b->project_name);
	assert_int_equal(a->role, b->role);
	assert_int_equal(a->kind, b->kind);
	assert_string_equal(a->credential_id, b->credential_id);
	assert_int_equal(a->expires_ms, b->expires_ms);
}

static void assert_event_equal(const struct audit_event *a, const struct audit_event *b)
{
	assert_string_equal(a->id, b->id);
	assert_string_equal(a->time, b->time);
	assert_string_equal(a->user_id, b->user_id);
	assert_string_equal(a->user_name, b->user_name);
	assert_string_equal(a->project_id, b->project_id);
	assert_string_equal(a->source, b->source);
	assert_string_equal(a->request_id, b->request_id);
	assert_string_equal(a->action, b->action);
	assert_string_equal(a->resource_type, b->resource_type);
	assert_string_equal(a->resource_id, b->resource_id);
	assert_string_equal(a->outcome, b->outcome);
	assert_int_equal(a->status, b->status);
}

/* The single integer a query answers. */
static int64_t query_int(struct store_conn *c, const char *sql, const char *arg)
{
	struct store_stmt *s = NULL;
	assert_int_equal(store_query(c, &s, sql, "s", arg), 0);
	assert_int_equal(store_step(s), 1);
	int64_t v = store_col_int(s, 0);
	assert_int_equal(store_step(s), 0);
	store_stmt_free(s);
	return v;
}

static struct quota get_quota(struct fixture *f, const char *project_id)
{
	struct quota q;
	struct err err;
	err_clear(&err);
	int r = quota_get(f->c, project_id, &q, &err);
	if (r != 0)
		fail_msg("quota_get: %d %s", r, err.message);
	return q;
}

/* ------------------------------------------------------------- names */

static void test_name_check(void **state)
{
	(void)state;
	struct err err;
	char max[USER_NAME_MAX + 2];
	memset(max, 'a', USER_NAME_MAX);
	max[USER_NAME_MAX] = '\0';
	static const char *const good[] = { "a", "Alice", "alice.b_c-d@example", "0", "A9.-_@" };
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		err_clear(&err);
		if (identity_name_check("name", good[i], USER_NAME_MAX, &err) != 0)
			fail_msg("'%s' refused: %s", good[i], err.message);
	}
	assert_int_equal(identity_name_check("name", max, USER_NAME_MAX, &err), 0);

	max[USER_NAME_MAX] = 'a';
	max[USER_NAME_MAX + 1] = '\0';
	err_clear(&err);
	assert_int_equal(identity_name_check("name", max, USER_NAME_MAX, &err), -ERR_INVALID);
	assert_int_equal(err.code, ERR_INVALID);
	assert_string_equal(err.field, "name");
	assert_string_equal(err.message, "name must be 1 to 64 characters long");
	err_clear(&err);
	assert_int_equal(identity_name_check("user", "", USER_NAME_MAX, &err), -ERR_INVALID);
	assert_string_equal(err.field, "user");
	assert_string_equal(err.message, "user must be 1 to 64 characters long");

	static const char *const bad[] = { "a b", "a/b", "\xc3\xa9t\xc3\xa9", "a:b", "a\n", "a+b" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		err_clear(&err);
		if (identity_name_check("name", bad[i], USER_NAME_MAX, &err) != -ERR_INVALID)
			fail_msg("'%s' accepted", bad[i]);
		assert_string_equal(err.field, "name");
		assert_string_equal(err.message, "name may hold only letters, digits and . _ - @");
	}
	err_clear(&err);
	assert_int_equal(identity_name_check("name", "0b9e2a4c-1f3d-4e5a-8b6c-7d8e9f0a1b2c",
					     USER_NAME_MAX, &err),
			 -ERR_INVALID);
	assert_string_equal(err.message, "name must not have the form of a UUID");
}

static void test_role_and_quota_names(void **state)
{
	(void)state;
	struct err err;
	enum role r = ROLE_NONE;
	assert_string_equal(role_name(ROLE_NONE), "none");
	assert_string_equal(role_name(ROLE_READER), "reader");
	assert_string_equal(role_name(ROLE_MEMBER), "member");
	assert_string_equal(role_name(ROLE_ADMIN), "admin");
	assert_int_equal(role_parse("member", &r, &err), 0);
	assert_int_equal(r, ROLE_MEMBER);
	err_clear(&err);
	assert_int_equal(role_parse("none", &r, &err), -ERR_INVALID);
	assert_string_equal(err.field, "role");
	assert_int_equal(role_parse("Admin", &r, &err), -ERR_INVALID);
	assert_int_equal(r, ROLE_MEMBER);

	enum quota_resource q = QUOTA_INSTANCES;
	for (int i = 0; i < QUOTA__COUNT; i++) {
		assert_int_equal(quota_parse(quota_name((enum quota_resource)i), &q, &err), 0);
		assert_int_equal(q, i);
	}
	assert_string_equal(quota_name(QUOTA_RAM_MB), "ram_mb");
	assert_string_equal(quota_name(QUOTA_ACCESS_KEYS), "access_keys");
	err_clear(&err);
	assert_int_equal(quota_parse("cpus", &q, &err), -ERR_INVALID);
	assert_int_equal(err.code, ERR_INVALID);
	assert_string_equal(err.message, "'cpus' is not a quota resource");
}

/* ------------------------------------------------------------- users */

static void expect_create_refused(struct fixture *f, const struct user_spec *spec,
				  const char *field, const char *message)
{
	struct user u;
	struct err err;
	err_clear(&err);
	int r = user_create(f->c, &f->s, spec, &u, &err);
	if (r != -ERR_INVALID)
		fail_msg("user_create(%s, %s) gave %d, not -ERR_INVALID", spec->name ? spec->name : "-",
			 spec->email ? spec->email : "-", r);
	assert_string_equal(err.field, field);
	assert_string_equal(err.message, message);
}

static void test_user_create_rules(void **state)
{
	struct fixture *f = *state;
	struct user_spec spec = { .password = PASSWORD };
	expect_create_refused(f, &spec, "name", "field 'name' is required");
	spec = (struct user_spec){ .name = "alice" };
	expect_create_refused(f, &spec, "password", "field 'password' is required");
	spec.password = PASSWORD;
	spec.name = "al ice";
	expect_create_refused(f, &spec, "name", "name may hold only letters, digits and . _ - @");
	spec.name = "";
	expect_create_refused(f, &spec, "name", "name must be 1 to 64 characters long");

	/* passwords: at least 12 characters (not bytes), at most 1024 bytes */
	spec.name = "alice";
	spec.password = "elevenchars";
	expect_create_refused(f, &spec, "password", "password must be at least 12 characters long");
	/* eleven two-byte characters: 22 bytes, still too short */
	spec.password = "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
			"\xc3\xa9\xc3\xa9";
	expect_create_refused(f, &spec, "password", "password must be at least 12 characters long");
	char long_pw[PASSWORD_MAX + 2];
	memset(long_pw, 'x', PASSWORD_MAX + 1);
	long_pw[PASSWORD_MAX + 1] = '\0';
	spec.password = long_pw;
	expect_create_refused(f, &spec, "password", "password is longer than 1024 bytes");

	/* e-mail shape */
	spec.password = PASSWORD;
	static const char *const bad_email[] = { "alice", "@example.com", "alice@", "a@b@c",
						 "a b@c", "<a@b>", "a@b;c", "\"a\"@b" };
	for (size_t i = 0; i < ARRAY_SIZE(bad_email); i++) {
		spec.email = bad_email[i];
		expect_create_refused(f, &spec, "email", "email is not an e-mail address");
	}
	char long_email[USER_EMAIL_MAX + 2];
	memset(long_email, 'a', USER_EMAIL_MAX + 1);
	long_email[USER_EMAIL_MAX + 1] = '\0';
	long_email[1] = '@';
	spec.email = long_email;
	expect_create_refused(f, &spec, "email", "email is not an e-mail address");

	/* nothing was stored by the refusals */
	struct user *items = NULL;
	size_t n = 99;
	bool more = true;
	struct err err;
	assert_int_equal(user_list(f->c, NULL, 10, &items, &n, &more, &err), 0);
	assert_int_equal(n, 0);
	assert_false(more);
	free(items);

	/* the limits themselves are accepted */
	struct user u;
	char twelve[] = "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
			"\xc3\xa9\xc3\xa9\xc3\xa9";
	spec = (struct user_spec){ .name = "twelve", .password = twelve, .email = "" };
	assert_int_equal(user_create(f->c, &f->s, &spec, &u, &err), 0);
	long_pw[PASSWORD_MAX] = '\0';
	long_email[USER_EMAIL_MAX] = '\0';
	spec = (struct user_spec){ .name = "maxed", .password = long_pw, .email = long_email };
	assert_int_equal(user_create(f->c, &f->s, &spec, &u, &err), 0);
	assert_int_equal(strlen(u.email), USER_EMAIL_MAX);
	assert_int_equal(user_verify_password(f->c, u.id, long_pw, &err), 0);
}

static void test_user_create_and_get(void **state)
{
	struct fixture *f = *state;
	struct err err;
	char before[TIME_RFC3339_SIZE], after[TIME_RFC3339_SIZE];
	time_rfc3339_now(before, sizeof(before));
	struct user_spec spec = { .name = "Alice", .password = PASSWORD,
				  .email = "alice@example.com", .has_system_admin = true,
				  .system_admin = true };
	struct user u;
	err_clear(&err);
	assert_int_equal(user_create(f->c, &f->s, &spec, &u, &err), 0);
	time_rfc3339_now(after, sizeof(after));
	assert_int_equal(err.code, ERR_NONE);
	assert_true(uuid_valid(u.id));
	assert_string_equal(u.name, "Alice");
	assert_string_equal(u.email, "alice@example.com");
	assert_true(u.system_admin);
	assert_false(u.disabled);
	assert_true(strcmp(u.created_at, before) >= 0 && strcmp(u.created_at, after) <= 0);
	assert_string_equal(u.updated_at, u.created_at);

	/* the password is stored hashed, with Argon2id */
	struct store_stmt *s = NULL;
	assert_int_equal(store_query(f->c, &s, "SELECT password_hash FROM users WHERE id = ?", "s",
				     u.id),
			 0);
	assert_int_equal(store_step(s), 1);
	assert_true(str_starts_with(store_col_text(s, 0), "$argon2id$v=19$m=1024,t=1,p=1$"));
	assert_null(strstr(store_col_text(s, 0), PASSWORD));
	store_stmt_free(s);

	/* by name, by id, by id in upper case */
	struct user got;
	assert_int_equal(user_get(f->c, "Alice", &got, &err), 0);
	assert_memory_equal(&got, &u, sizeof(u));
	assert_int_equal(user_get(f->c, u.id, &got, &err), 0);
	assert_string_equal(got.name, "Alice");
	char upper[UUID_SIZE];
	str_copy(upper, sizeof(upper), u.id);
	for (char *p = upper; *p; p++)
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 32);
	assert_int_equal(user_get(f->c, upper, &got, &err), 0);
	assert_string_equal(got.id, u.id);

	/* names are case-sensitive; unknown names and ids are not found */
	err_clear(&err);
	assert_int_equal(user_get(f->c, "alice", &got, &err), -ERR_NOT_FOUND);
	assert_int_equal(err.code, ERR_NOT_FOUND);
	assert_string_equal(err.message, "no user 'alice'");
	assert_int_equal(user_get(f->c, "0b9e2a4c-1f3d-4e5a-8b6c-7d8e9f0a1b2c", &got, &err),
			 -ERR_NOT_FOUND);

	/* defaults: not an administrator, enabled, no e-mail */
	spec = (struct user_spec){ .name = "bob", .password = PASSWORD };
	assert_int_equal(user_create(f->c, &f->s, &spec, &u, &err), 0);
	assert_false(u.system_admin);
	assert_false(u.disabled);
	assert_string_equal(u.email, "");
	assert_int_equal(user_get(f->c, "bob", &got, &err), 0);
	assert_false(got.system_admin);
	assert_string_equal(got.email, "");
}

static void test_user_duplicate(void **state)
{
	struct fixture *f = *state;
	struct user a = make_user(f, "alice", false);
	struct user_spec spec = { .name = "alice", .password = "another password" };
	struct user u;
	struct err err;
	err_clear(&err);
	assert_int_equal(user_create(f->c, &f->s, &spec, &u, &err), -ERR_CONFLICT);
	assert_int_equal(err.code, ERR_CONFLICT);
	assert_string_equal(err.field, "name");
	assert_string_equal(err.message, "a user named 'alice' already exists");
	/* the first one is untouched: its password still works */
	assert_int_equal(user_verify_password(f->c, a.id, PASSWORD, &err), 0);
	assert_int_equal(user_verify_password(f->c, a.id, "another password", &err), -ERR_INVALID);
	/* another case is another name */
	make_user(f, "Alice", false);
}

static void test_user_list_paging(void **state)
{
	struct fixture *f = *state;
	static const char *const names[] = { "erin", "bob", "dave", "alice", "carol" };
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		make_user(f, names[i], false);
	static const char *const sorted[] = { "alice", "bob", "carol", "dave", "erin" };

	struct user *items = NULL;
	size_t n = 0;
	bool more = false;
	struct err err;
	const char *after = NULL;
	char last[USER_NAME_MAX + 1] = "";
	size_t seen = 0;
	for (int page = 0; page < 3; page++) {
		assert_int_equal(user_list(f->c, after, 2, &items, &n, &more, &err), 0);
		assert_int_equal(n, page < 2 ? 2 : 1);
		assert_int_equal(more, page < 2);
		for (size_t i = 0; i < n; i++)
			assert_string_equal(items[i].name, sorted[seen++]);
		str_copy(last, sizeof(last), items[n - 1].name);
		after = last;
		free(items);
	}
	assert_int_equal(seen, 5);

	/* a page exactly as long as what is left says no more */
	assert_int_equal(user_list(f->c, "bob", 3, &items, &n, &more, &err), 0);
	assert_int_equal(n, 3);
	assert_false(more);
	assert_string_equal(items[0].name, "carol");
	free(items);
	assert_int_equal(user_list(f->c, "erin", 3, &items, &n, &more, &err), 0);
	assert_int_equal(n, 0);
	assert_false(more);
	free(items);
	assert_int_equal(user_list(f->c, NULL, 100, &items, &n, &more, &err), 0);
	assert_int_equal(n, 5);
	assert_false(more);
	free(items);
}

static void test_user_update(void **state)
{
	struct fixture *f = *state;
	struct user a = make_user(f, "alice", false);
	make_user(f, "bob", false);
	struct err err;
	struct user u;

	/* partial: only the e-mail changes */
	struct user_spec spec = { .email = "a@example.com" };
	assert_int_equal(user_update(f->c, &f->s, "alice", &spec, &u, &err), 0);
	assert_string_equal(u.id, a.id);
	assert_string_equal(u.name, "alice");
	assert_string_equal(u.email, "a@example.com");
	assert_false(u.system_admin);
	assert_string_equal(u.created_at, a.created_at);
	assert_true(strcmp(u.updated_at, a.updated_at) >= 0);

	/* rename onto an existing name */
	spec = (struct user_spec){ .name = "bob" };
	err_clear(&err);
	assert_int_equal(user_update(f->c, &f->s, a.id, &spec, &u, &err), -ERR_CONFLICT);
	assert_int_equal(err.code, ERR_CONFLICT);
	assert_string_equal(err.field, "name");
	assert_string_equal(err.message, "a user named 'bob' already exists");
	assert_int_equal(store_txn_depth(f->c), 0);
	struct user got;
	assert_int_equal(user_get(f->c, a.id, &got, &err), 0);
	assert_string_equal(got.name, "alice");

	/* invalid input changes nothing */
	spec = (struct user_spec){ .name = "new name", .email = "b@example.com" };
	assert_int_equal(user_update(f->c, &f->s, "alice", &spec, &u, &err), -ERR_INVALID);
	assert_string_equal(err.field, "name");
	spec = (struct user_spec){ .password = "short", .email = "b@example.com" };
	assert_int_equal(user_update(f->c, &f->s, "alice", &spec, &u, &err), -ERR_INVALID);
	assert_string_equal(err.field, "password");
	spec = (struct user_spec){ .email = "nope" };
	assert_int_equal(user_update(f->c, &f->s, "alice", &spec, &u, &err), -ERR_INVALID);
	assert_string_equal(err.field, "email");
	assert_int_equal(user_get(f->c, a.id, &got, &err), 0);
	assert_string_equal(got.email, "a@example.com");

	/* rename and promote */
	spec = (struct user_spec){ .name = "alicia", .has_system_admin = true,
				   .system_admin = true };
	assert_int_equal(user_update(f->c, &f->s, "alice", &spec, &u, &err), 0);
	assert_string_equal(u.name, "alicia");
	assert_true(u.system_admin);
	assert_int_equal(user_get(f->c, "alice", &got, &err), -ERR_NOT_FOUND);
	assert_int_equal(user_get(f->c, "alicia", &got, &err), 0);
	assert_string_equal(got.id, a.id);
	assert_true(got.system_admin);
	assert_string_equal(got.email, "a@example.com");

	err_clear(&err);
	assert_int_equal(user_update(f->c, &f->s, "nobody", &spec, &u, &err), -ERR_NOT_FOUND);
	assert_string_equal(err.message, "no user 'nobody'");
	assert_int_equal(store_txn_depth(f->c), 0);
}

static void test_user_password_change_revokes_tokens(void **state)
{
	struct fixture *f = *state;
	make_user(f, "alice", false);
	struct user b = make_user(f, "bob", false);
	struct login_result old = login(f, "alice", PASSWORD, NULL);
	struct login_result other = login(f, "bob", PASSWORD, NULL);
	struct principal p;
	assert_token_ok(f, old.token, &p);

	/* a change without a password or disabling keeps tokens */
	struct user_spec spec = { .email = "alice@example.com" };
	struct user u;
	struct err err;
	assert_int_equal(user_update(f->c, &f->s, "alice", &spec, &u, &err), 0);
	assert_token_ok(f, old.token, &p);

	spec = (struct user_spec){ .password = "a brand new password" };
	assert_int_equal(user_update(f->c, &f->s, "alice", &spec, &u, &err), 0);
	assert_token_refused(f, old.token);
	/* only alice's tokens */
	assert_token_ok(f, other.token, &p);
	assert_string_equal(p.user_id, b.id);

	assert_login_refused(f, "alice", PASSWORD, "wrong user name or password");
	struct login_result fresh = login(f, "alice", "a brand new password", NULL);
	assert_token_ok(f, fresh.token, &p);
	assert_string_equal(p.user_name, "alice");
	assert_int_equal(user_verify_password(f->c, u.id, "a brand new password", &err), 0);
}

static void test_user_disable_revokes_tokens(void **state)
{
	struct fixture *f = *state;
	struct user a = make_user(f, "alice", false);
	struct login_result t = login(f, "alice", PASSWORD, NULL);
	struct user_spec spec = { .has_disabled = true, .disabled = true };
	struct user u;
	struct err err;
	assert_int_equal(user_update(f->c, &f->s, a.id, &spec, &u, &err), 0);
	assert_true(u.disabled);
	assert_token_refused(f, t.token);
	assert_login_refused(f, "alice", PASSWORD, "this account is disabled");

	/* enabling again lets the user log in; the old token stays revoked */
	spec.disabled = false;
	assert_int_equal(user_update(f->c, &f->s, a.id, &spec, &u, &err), 0);
	assert_false(u.disabled);
	assert_token_refused(f, t.token);
	struct login_result again = login(f, "alice", PASSWORD, NULL);
	struct principal p;
	assert_token_ok(f, again.token, &p);

	/* a token of a user disabled behind identity's back does not work either */
	assert_int_equal(store_run(f->c, "UPDATE users SET disabled = 1 WHERE id = ?", "s", a.id),
			 1);
	assert_token_refused(f, again.token);
}

static void test_user_verify_password(void **state)
{
	struct fixture *f = *state;
	struct user a = make_user(f, "alice", false);
	struct err err;
	err_clear(&err);
	assert_int_equal(user_verify_password(f->c, a.id, PASSWORD, &err), 0);
	assert_int_equal(err.code, ERR_NONE);
	assert_int_equal(user_verify_password(f->c, a.id, PASSWORD "x", &err), -ERR_INVALID);
	assert_int_equal(err.code, ERR_INVALID);
	assert_string_equal(err.field, "current_password");
	assert_string_equal(err.message, "current_password is wrong");
	err_clear(&err);
	assert_int_equal(user_verify_password(f->c, a.id, "", &err), -ERR_INVALID);
	assert_string_equal(err.field, "current_password");
	/* an unknown user never matches */
	err_clear(&err);
	assert_int_equal(user_verify_password(f->c, "0b9e2a4c-1f3d-4e5a-8b6c-7d8e9f0a1b2c",
					      PASSWORD, &err),
			 -ERR_INVALID);
	assert_string_equal(err.field, "current_password");
}

static void test_user_delete(void **state)
{
	struct fixture *f = *state;
	struct user a = make_user(f, "alice", false);
	make_user(f, "bob", false);
	struct project p = make_project(f, "proj");
	add_member(f, p.id, "alice", ROLE_MEMBER);
	struct login_result t = login(f, "alice", PASSWORD, "proj");
	struct err err;

	assert_int_equal(user_delete(f->c, "alice", &err), 0);
	struct user got;
	assert_int_equal(user_get(f->c, a.id, &got, &err), -ERR_NOT_FOUND);
	assert_token_refused(f, t.token);
	enum role role = ROLE_ADMIN;
	assert_int_equal(member_role(f->c, p.id, a.id, &role, &err), 0);
	assert_int_equal(role, ROLE_NONE);
	assert_int_equal(query_int(f->c, "SELECT COUNT(*) FROM tokens WHERE user_id = ?", a.id), 0);
	assert_login_refused(f, "alice", PASSWORD, "wrong user name or password");

	err_clear(&err);
	assert_int_equal(user_delete(f->c, "alice", &err), -ERR_NOT_FOUND);
	assert_int_equal(err.code, ERR_NOT_FOUND);
	assert_int_equal(user_get(f->c, "bob", &got, &err), 0);
	/* the name is free again, for a new user */
	struct user again = make_user(f, "alice", false);
	assert_string_not_equal(again.id, a.id);
}

static void test_bootstrap_once(void **state)
{
	struct fixture *f = *state;
	struct err err;
	char *pw = NULL;
	err_clear(&err);
	assert_int_equal(identity_bootstrap(f->c, &f->s, &pw, &err), 1);
	assert_non_null(pw);
	assert_int_equal(strlen(pw), 24);
	struct user admin;
	assert_int_equal(user_get(f->c, "admin", &admin, &err), 0);
	assert_true(admin.system_admin);
	assert_false(admin.disabled);

	struct login_result res = login(f, "admin", pw, NULL);
	assert_string_equal(res.principal.user_id, admin.id);
	assert_true(res.principal.system_admin);

	char *second = NULL;
	assert_int_equal(identity_bootstrap(f->c, &f->s, &second, &err), 0);
	assert_null(second);
	struct user *items = NULL;
	size_t n = 0;
	bool more = true;
	assert_int_equal(user_list(f->c, NULL, 10, &items, &n, &more, &err), 0);
	assert_int_equal(n, 1);
	free(items);
	/* the first password still works: nothing was reset */
	assert_int_equal(user_verify_password(f->c, admin.id, pw, &err), 0);
	free(pw);
}

static void test_bootstrap_skips_when_users_exist(void **state)
{
	struct fixture *f = *state;
	make_user(f, "alice", false);
	char *pw = NULL;
	struct err err;
	assert_int_equal(identity_bootstrap(f->c, &f->s, &pw, &err), 0);
	assert_null(pw);
	struct user got;
	assert_int_equal(user_get(f->c, "admin", &got, &err), -ERR_NOT_FOUND);
}

static void test_reset_admin(void **state)
{
	struct fixture *f = *state;
	struct err err;
	char *old = NULL, *fresh = NULL, *third = NULL;
	assert_int_equal(identity_bootstrap(f->c, &f->s, &old, &err), 1);
	struct login_result t = login(f, "admin", old, NULL);
	struct principal p;
	assert_token_ok(f, t.token, &p);

	err_clear(&err);
	assert_int_equal(identity_reset_admin(f->c, &f->s, &fresh, &err), 0);
	assert_non_null(fresh);
	assert_int_equal(strlen(fresh), 24);
	assert_string_not_equal(fresh, old);
	assert_token_refused(f, t.token);
	assert_login_refused(f, "admin", old, "wrong user name or password");
	struct login_result res = login(f, "admin", fresh, NULL);
	assert_true(res.principal.system_admin);
	assert_token_ok(f, res.token, &p);

	/* a disabled, demoted administrator is enabled and promoted again */
	struct user_spec spec = { .has_disabled = true, .disabled = true,
				  .has_system_admin = true, .system_admin = false };
	struct user u;
	assert_int_equal(user_update(f->c, &f->s, "admin", &spec, &u, &err), 0);
	assert_login_refused(f, "admin", fresh, "this account is disabled");
	assert_int_equal(identity_reset_admin(f->c, &f->s, &third, &err), 0);
	assert_int_equal(user_get(f->c, "admin", &u, &err), 0);
	assert_false(u.disabled);
	assert_true(u.system_admin);
	assert_login_refused(f, "admin", fresh, "wrong user name or password");
	res = login(f, "admin", third, NULL);
	assert_true(res.principal.system_admin);
	free(old);
	free(fresh);
	free(third);
}

static void test_reset_admin_creates_missing_admin(void **state)
{
	struct fixture *f = *state;
	make_user(f, "alice", false);
	char *pw = NULL;
	struct err err;
	assert_int_equal(identity_reset_admin(f->c, &f->s, &pw, &err), 0);
	struct user admin;
	assert_int_equal(user_get(f->c, "admin", &admin, &err), 0);
	assert_true(admin.system_admin);
	struct login_result res = login(f, "admin", pw, NULL);
	assert_string_equal(res.principal.user_id, admin.id);
	free(pw);
}

/* ------------------------------------------------------------- login */

static void test_login_success(void **state)
{
	struct fixture *f = *state;
	struct user a = make_user(f, "alice", false);
	int64_t before = time_now_ms();
	struct login_result res = login(f, "alice", PASSWORD, NULL);
	int64_t after = time_now_ms();

	assert_true(str_starts_with(res.token, "nubo_"));
	assert_int_equal(strlen(res.token), 5 + 43); /* base64url of 32 bytes */
	for (const char *p = res.token + 5; *p; p++)
		assert_non_null(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				       "0123456789-_",
				       *p));
	assert_true(uuid_valid(res.token_id));
	assert_true(res.expires_ms >= before + TTL_MS && res.expires_ms <= after + TTL_MS);
	const struct principal *p = &res.principal;
	assert_string_equal(p->user_id, a.id);
	assert_string_equal(p->user_name, "alice");
	assert_false(p->system_admin);
	assert_string_equal(p->project_id, "");
	assert_string_equal(p->project_name, "");
	assert_int_equal(p->role, ROLE_NONE);
	assert_int_equal(p->kind, CRED_TOKEN);
	assert_string_equal(p->credential_id, res.token_id);
	assert_int_equal(p->expires_ms, res.expires_ms);

	/* only the SHA-256 of the token is stored */
	char hash[SHA256_HEX_SIZE];
	sha256_hex(res.token, strlen(res.token), hash);
	struct store_stmt *s = NULL;
	assert_int_equal(store_query(f->c, &s,
				     "SELECT token_hash, kind, expires_ms, project_id FROM tokens"
				     " WHERE id = ?",
				     "s", res.token_id),
			 0);
	assert_int_equal(store_step(s), 1);
	assert_string_equal(store_col_text(s, 0), hash);
	assert_string_equal(store_col_text(s, 1), "session");
	assert_int_equal(store_col_int(s, 2), res.expires_ms);
	assert_true(store_col_null(s, 3));
	store_stmt_free(s);

	/* the token resolves to the same principal */
	struct principal q;
	assert_token_ok(f, res.token, &q);
	assert_principal_equal(&q, p);

	/* two logins give two different tokens */
	struct login_result res2 = login(f, "alice", PASSWORD, NULL);
	assert_string_not_equal(res2.token, res.token);
	assert_string_not_equal(res2.token_id, res.token_id);
}

static void test_login_wrong_password_unknown_user(void **state)
{
	struct fixture *f = *state;
	make_user(f, "alice", false);
	struct login_result res;
	struct err e1, e2;
	err_clear(&e1);
	err_clear(&e2);
	assert_int_equal(auth_login(f->c, &f->s, "alice", "wrong password!", NULL, &res, &e1),
			 -ERR_UNAUTHORIZED);
	assert_int_equal(auth_login(f->c, &f->s, "mallory", "wrong password!", NULL, &res, &e2),
			 -ERR_UNAUTHORIZED);
	assert_int_equal(e1.code, ERR_UNAUTHORIZED);
	assert_int_equal(e2.code, ERR_UNAUTHORIZED);
	assert_string_equal(e1.field, e2.field);
	assert_string_equal(e1.message, e2.message);
	assert_string_equal(e1.message, "wrong user name or password");
	assert_login_refused(f, "ALICE", PASSWORD, "wrong user name or password");
	assert_login_refused(f, "alice", "", "wrong user name or password");
	/* no token was issued */
	assert_int_equal(query_int(f->c, "SELECT COUNT(*) FROM tokens WHERE ? IS NOT NULL", "x"),
			 0);
}

static void test_login_disabled(void **state)
{
	struct fixture *f = *state;
	struct user_spec spec = { .name = "dora", .password = PASSWORD, .has_disabled = true,
				  .disabled = true };
	struct user u;
	struct err err;
	assert_int_equal(user_create(f->c, &f->s, &spec, &u, &err), 0);
	assert_true(u.disabled);
	assert_login_refused(f, "dora", PASSWORD, "this account is disabled");
	/* a wrong password does not reveal that the account exists */
	assert_login_refused(f, "dora", "not the password", "wrong user name or password");
	assert_int_equal(query_int(f->c, "SELECT COUNT(*) FROM tokens WHERE user_id = ?", u.id), 0);
}

static void test_login_project_scope(void **state)
{
	struct fixture *f = *state;
	struct user a = make_user(f, "alice", false);
	struct user root = make_user(f, "root", true);
	struct project pa = make_project(f, "pa");
	make_project(f, "pb");
	add_member(f, pa.id, "alice", ROLE_MEMBER);

	struct login_result res = login(f, "alice", PASSWORD, "pa");
	assert_string_equal(res.principal.user_id, a.id);
	assert_string_equal(res.principal.project_id, pa.id);
	assert_string_equal(res.principal.project_name, "pa");
	assert_int_equal(res.principal.role, ROLE_MEMBER);
	struct principal p;
	assert_token_ok(f, res.token, &p);
	assert_string_equal(p.project_id, pa.id);
	assert_string_equal(p.project_name, "pa");
	assert_int_equal(p.role, ROLE_MEMBER);
	assert_int_equal(query_int(f->c, "SELECT COUNT(*) FROM tokens WHERE project_id = ?", pa.id),
			 1);

	/* by id too */
	res = login(f, "alice", PASSWORD, pa.id);
	assert_string_equal(res.principal.project_name, "pa");

	/* a project she is not in, and one that does not exist: the same refusal */
	struct err e1, e2;
	err_clear(&e1);
	err_clear(&e2);
	assert_int_equal(auth_login(f->c, &f->s, "alice", PASSWORD, "pb", &res, &e1),
			 -ERR_UNAUTHORIZED);
	assert_int_equal(e1.code, ERR_UNAUTHORIZED);
	assert_string_equal(e1.field, "project");
	assert_string_equal(e1.message, "you are not a member of a project 'pb'");
	assert_int_equal(auth_login(f->c, &f->s, "alice", PASSWORD, "nope", &res, &e2),
			 -ERR_UNAUTHORIZED);
	assert_int_equal(e2.code, ERR_UNAUTHORIZED);
	assert_string_equal(e2.field, "project");
	assert_string_equal(e2.message, "you are not a member of a project 'nope'");
	assert_int_equal(query_int(f->c, "SELECT COUNT(*) FROM tokens WHERE user_id = ?", a.id), 2);

	/* a role change shows in the next authentication of the same token */
	add_member(f, pa.id, "alice", ROLE_READER);
	assert_token_ok(f, res.token, &p);
	assert_int_equal(p.role, ROLE_READER);

	/* a system administrator may scope to any project, as its admin */
	res = login(f, "root", PASSWORD, "pb");
	assert_string_equal(res.principal.user_id, root.id);
	assert_int_equal(res.principal.role, ROLE_ADMIN);
	assert_token_ok(f, res.token, &p);
	assert_int_equal(p.role, ROLE_ADMIN);
	assert_true(p.system_admin);
}

/* ------------------------------------------------------------- tokens */

static void test_auth_token_garbage(void **state)
{
	struct fixture *f = *state;
	make_user(f, "alice", false);
	login(f, "alice", PASSWORD, NULL);
	struct principal p;
	struct err err;
	static const char *const bad[] = { "", "garbage", "Bearer nubo_x", "NUBO_abc" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		err_clear(&err);
		assert_int_equal(auth_token(f->c, bad[i], &p, &err), -ERR_UNAUTHORIZED);
		assert_int_equal(err.code, ERR_UNAUTHORIZED);
		assert_string_equal(err.message, "the bearer token is not valid");
	}
	char longer[80];
	memset(longer, 'a', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	memcpy(longer, "nubo_", 5);
	err_clear(&err);
	assert_int_equal(auth_token(f->c, longer, &p, &err), -ERR_UNAUTHORIZED);
	assert_string_equal(err.message, "the bearer token is not valid");
	/* well-formed but unknown */
	char secret[64], hash[SHA256_HEX_SIZE];
	identity_token_new(secret, hash);
	assert_token_refused(f, secret);
	assert_token_refused(f, "nubo_");
}

static void test_auth_token_expired(void **state)
{
	struct fixture *f = *state;
	struct user a = make_user(f, "alice", false);
	struct err err;

	/* a row inserted with an expiry in the past */
	char secret[64], hash[SHA256_HEX_SIZE], id[UUID_SIZE];
	identity_token_new(secret, hash);
	assert_true(str_starts_with(secret, "nubo_"));
	assert_int_equal(strlen(secret), 48);
	char expect[SHA256_HEX_SIZE];
	sha256_hex(secret, strlen(secret), expect);
	assert_string_equal(hash, expect);
	uuid_generate(id);
	assert_int_equal(identity_token_insert(f->c, id, hash, a.id, "", "session", "",
					       time_now_ms() - 1000, &err),
			 0);
	assert_token_refused(f, secret);

	/* the same with a future expiry works: only the time differed */
	char secret2[64], hash2[SHA256_HEX_SIZE], id2[UUID_SIZE];
	identity_token_new(secret2, hash2);
	uuid_generate(id2);
	int64_t exp = time_now_ms() + 60000;
	assert_int_equal(identity_token_insert(f->c, id2, hash2, a.id, "", "session", "", exp, &err),
			 0);
	struct principal p;
	assert_token_ok(f, secret2, &p);
	assert_string_equal(p.credential_id, id2);
	assert_int_equal(p.expires_ms, exp);
	assert_string_equal(p.user_id, a.id);

	/* a login token with a tiny life */
	struct identity_settings s = f->s;
	s.token_ttl_ms = 30;
	struct login_result res;
	assert_int_equal(auth_login(f->c, &s, "alice", PASSWORD, NULL, &res, &err), 0);
	usleep(100 * 1000);
	assert_token_refused(f, res.token);

	/* expired tokens are not listed */
	struct api_token *items = NULL;
	size_t n = 0;
	assert_int_equal(token_list(f->c, a.id, &items, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(items[0].id, id2);
	free(items);
}

static void test_auth_token_revoked(void **state)
{
	struct fixture *f = *state;
	make_user(f, "alice", false);
	struct login_result t1 = login(f, "alice", PASSWORD, NULL);
	struct login_result t2 = login(f, "alice", PASSWORD, NULL);
	struct err err;
	assert_int_equal(token_revoke(f->c, t1.token_id, &err), 0);
	assert_token_refused(f, t1.token);
	struct principal p;
	assert_token_ok(f, t2.token, &p);
	assert_string_equal(p.credential_id, t2.token_id);
	/* revoking twice, or an unknown id, is not an error */
	assert_int_equal(token_revoke(f->c, t1.token_id, &err), 0);
	assert_int_equal(token_revoke(f->c, "0b9e2a4c-1f3d-4e5a-8b6c-7d8e9f0a1b2c", &err), 0);
	assert_token_refused(f, t1.token);
}

static void test_personal_tokens(void **state)
{
	struct fixture *f = *state;
	struct user a = make_user(f, "alice", false);
	struct user b = make_user(f, "bob", false);
	struct project pa = make_project(f, "pa");
	make_project(f, "pb");
	add_member(f, pa.id, "alice", ROLE_READER);
	struct login_result la = login(f, "alice", PASSWORD, NULL);
	struct login_result lb = login(f, "bob", PASSWORD, NULL);
	struct err err;

	struct api_token t1, t2;
	err_clear(&err);
	assert_int_equal(token_create(f->c, &la.principal, "ci", NULL, 60000, &t1, &err), 0);
	assert_true(uuid_valid(t1.id));
	assert_string_equal(t1.name, "ci");
	assert_string_equal(t1.kind, "personal");
	assert_string_equal(t1.project_id, "");
	assert_true(str_starts_with(t1.secret, "nubo_"));
	assert_int_equal(strlen(t1.secret), 48);
	int64_t created = 0, expires = 0;
	assert_int_equal(time_rfc3339_parse(t1.created_at, &created), 0);
	assert_int_equal(time_rfc3339_parse(t1.expires_at, &expires), 0);
	assert_true(expires - created >= 59000 && expires - created <= 61000);

	struct principal p;
	assert_token_ok(f, t1.secret, &p);
	assert_string_equal(p.user_id, a.id);
	assert_string_equal(p.credential_id, t1.id);
	assert_string_equal(p.project_id, "");

	/* scoped to a project alice is in */
	assert_int_equal(token_create(f->c, &la.principal, "deploy", "pa", 60000, &t2, &err), 0);
	assert_string_equal(t2.project_id, pa.id);
	assert_token_ok(f, t2.secret, &p);
	assert_string_equal(p.project_id, pa.id);
	assert_int_equal(p.role, ROLE_READER);

	/* refused: a project she is not in, one that does not exist, a bad name */
	struct api_token t3;
	err_clear(&err);
	assert_int_equal(token_create(f->c, &la.principal, "x", "pb", 60000, &t3, &err),
			 -ERR_INVALID);
	assert_string_equal(err.field, "project");
	assert_string_equal(err.message, "you are not a member of a project 'pb'");
	err_clear(&err);
	assert_int_equal(token_create(f->c, &la.principal, "x", "nope", 60000, &t3, &err),
			 -ERR_INVALID);
	assert_string_equal(err.field, "project");
	err_clear(&err);
	assert_int_equal(token_create(f->c, &la.principal, NULL, NULL, 60000, &t3, &err),
			 -ERR_INVALID);
	assert_string_equal(err.field, "name");
	assert_int_equal(token_create(f->c, &la.principal, "a b", NULL, 60000, &t3, &err),
			 -ERR_INVALID);
	assert_string_equal(err.field, "name");

	/* the list: the session token and both personal ones, no secrets */
	struct api_token *items = NULL;
	size_t n = 0;
	assert_int_equal(token_list(f->c, a.id, &items, &n, &err), 0);
	assert_int_equal(n, 3);
	size_t found = 0;
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(items[i].secret, "");
		if (strcmp(items[i].id, la.token_id) == 0) {
			assert_string_equal(items[i].kind, "session");
			found |= 1;
		} else if (strcmp(items[i].id, t1.id) == 0) {
			assert_string_equal(items[i].kind, "personal");
			assert_string_equal(items[i].name, "ci");
			assert_string_equal(items[i].expires_at, t1.expires_at);
			found |= 2;
		} else if (strcmp(items[i].id, t2.id) == 0) {
			assert_string_equal(items[i].project_id, pa.id);
			found |= 4;
		}
	}
	assert_int_equal(found, 7);
	free(items);

	/* bob cannot delete alice's token, nor see it */
	err_clear(&err);
	assert_int_equal(token_delete(f->c, b.id, t1.id, &err), -ERR_NOT_FOUND);
	assert_int_equal(err.code, ERR_NOT_FOUND);
	assert_token_ok(f, t1.secret, &p);
	assert_int_equal(token_list(f->c, b.id, &items, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(items[0].id, lb.token_id);
	free(items);

	/* alice can; then it is gone and a second delete is not found */
	assert_int_equal(token_delete(f->c, a.id, t1.id, &err), 0);
	assert_token_refused(f, t1.secret);
	err_clear(&err);
	assert_int_equal(token_delete(f->c, a.id, t1.id, &err), -ERR_NOT_FOUND);
	assert_int_equal(token_list(f->c, a.id, &items, &n, &err), 0);
	assert_int_equal(n, 2);
	for (size_t i = 0; i < n; i++)
		assert_string_not_equal(items[i].id, t1.id);
	free(items);

	/* with no user (an operator), any user's token */
	assert_int_equal(token_delete(f->c, NULL, t2.id, &err), 0);
	assert_token_refused(f, t2.secret);
}

/* ------------------------------------------------------------- projects */

static void test_project_create_quotas(void **state)
{
	struct fixture *f = *state;
	struct project p;
	struct err err;
	err_clear(&err);
	assert_int_equal(project_create(f->c, &f->s, "web", "the web site", &p, &err), 0);
	assert_true(uuid_valid(p.id));
	assert_string_equal(p.name, "web");
	assert_string_equal(p.description, "the web site");
	assert_string_equal(p.updated_at, p.created_at);
	struct project got;
	assert_int_equal(project_get(f->c, "web", &got, &err), 0);
	assert_memory_equal(&got, &p, sizeof(p));
	assert_int_equal(project_get(f->c, p.id, &got, &err), 0);
	assert_string_equal(got.name, "web");

	struct quota q = get_quota(f, p.id);
	for (int i = 0; i < QUOTA__COUNT; i++) {
		assert_int_equal(q.limit[i], quota_defaults[i]);
		assert_int_equal(q.used[i], 0);
	}
	assert_int_equal(q.limit[QUOTA_OBJECT_BYTES], -1);
	assert_int_equal(q.limit[QUOTA_RAM_MB], 40960);

	err_clear(&err);
	assert_int_equal(project_create(f->c, &f->s, "bad name", NULL, &p, &err), -ERR_INVALID);
	assert_string_equal(err.field, "name");
	char desc[PROJECT_DESCRIPTION_MAX + 2];
	memset(desc, 'd', sizeof(desc) - 1);
	desc[sizeof(desc) - 1] = '\0';
	err_clear(&err);
	assert_int_equal(project_create(f->c, &f->s, "long", desc, &p, &err), -ERR_INVALID);
	assert_string_equal(err.field, "description");
	assert_int_equal(project_get(f->c, "long", &got, &err), -ERR_NOT_FOUND);
	assert_string_equal(err.message, "no project 'long'");
}

static void test_project_duplicate(void **state)
{
	struct fixture *f = *state;
	struct project a = make_project(f, "web");
	struct project p;
	struct err err;
	err_clear(&err);
	assert_int_equal(project_create(f->c, &f->s, "web", "again", &p, &err), -ERR_CONFLICT);
	assert_int_equal(err.code, ERR_CONFLICT);
	assert_string_equal(err.field, "name");
	assert_string_equal(err.message, "a project named 'web' already exists");
	assert_int_equal(store_txn_depth(f->c), 0);
	/* one project, one set of quota rows */
	assert_int_equal(query_int(f->c, "SELECT COUNT(*) FROM projects WHERE name = ?", "web"), 1);
	assert_int_equal(query_int(f->c, "SELECT COUNT(*) FROM project_quotas WHERE project_id = ?",
				   a.id),
			 QUOTA__COUNT);
	assert_int_equal(query_int(f->c, "SELECT COUNT(*) FROM project_quotas WHERE ? IS NOT NULL",
				   "x"),
			 QUOTA__COUNT);

	/* rename onto it */
	make_project(f, "db");
	err_clear(&err);
	assert_int_equal(project_update(f->c, "db", "web", NULL, &p, &err), -ERR_CONFLICT);
	assert_string_equal(err.field, "name");
	assert_int_equal(project_update(f->c, "db", "data", "databases", &p, &err), 0);
	assert_string_equal(p.name, "data");
	assert_string_equal(p.description, "databases");
}

static void test_member_set_and_role(void **state)
{
	struct fixture *f = *state;
	struct user a = make_user(f, "alice", false);
	struct project p = make_project(f, "web");
	struct member m;
	struct err err;
	enum role role = ROLE_ADMIN;

	assert_int_equal(member_role(f->c, p.id, a.id, &role, &err), 0);
	assert_int_equal(role, ROLE_NONE);

	err_clear(&err);
	assert_int_equal(member_set(f->c, p.id, "alice", ROLE_READER, &m, &err), 0);
	assert_string_equal(m.user_id, a.id);
	assert_string_equal(m.user_name, "alice");
	assert_int_equal(m.role, ROLE_READER);
	int64_t ms = 0;
	assert_int_equal(time_rfc3339_parse(m.created_at, &ms), 0);
	assert_int_equal(member_role(f->c, p.id, a.id, &role, &err), 0);
	assert_int_equal(role, ROLE_READER);

	/* replacing the role (by user id this time): one binding, new role */
	assert_int_equal(member_set(f->c, p.id, a.id, ROLE_ADMIN, &m, &err), 0);
	assert_int_equal(m.role, ROLE_ADMIN);
	assert_int_equal(member_role(f->c, p.id, a.id, &role, &err), 0);
	assert_int_equal(role, ROLE_ADMIN);
	assert_int_equal(query_int(f->c, "SELECT COUNT(*) FROM role_bindings WHERE user_id = ?",
				   a.id),
			 1);

	/* an unknown user is an invalid input, not a missing resource */
	err_clear(&err);
	assert_int_equal(member_set(f->c, p.id, "nobody", ROLE_MEMBER, &m, &err), -ERR_INVALID);
	assert_int_equal(err.code, ERR_INVALID);
	assert_string_equal(err.field, "user");
	assert_string_equal(err.message, "no user 'nobody'");
	err_clear(&err);
	assert_int_equal(member_set(f->c, p.id, "0b9e2a4c-1f3d-4e5a-8b6c-7d8e9f0a1b2c", ROLE_MEMBER,
				    &m, &err),
			 -ERR_INVALID);
	assert_string_equal(err.field, "user");
}

static void test_member_list_remove(void **state)
{
	struct fixture *f = *state;
	struct project p = make_project(f, "web");
	struct project other = make_project(f, "other");
	make_user(f, "carol", false);
	make_user(f, "alice", false);
	make_user(f, "bob", false);
	add_member(f, p.id, "carol", ROLE_READER);
	add_member(f, p.id, "alice", ROLE_ADMIN);
	add_member(f, p.id, "bob", ROLE_MEMBER);
	add_member(f, other.id, "bob", ROLE_ADMIN);

	struct member *items = NULL;
	size_t n = 0;
	struct err err;
	assert_int_equal(member_list(f->c, p.id, &items, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_string_equal(items[0].user_name, "alice");
	assert_int_equal(items[0].role, ROLE_ADMIN);
	assert_string_equal(items[1].user_name, "bob");
	assert_int_equal(items[1].role, ROLE_MEMBER);
	assert_string_equal(items[2].user_name, "carol");
	assert_int_equal(items[2].role, ROLE_READER);
	free(items);

	assert_int_equal(member_remove(f->c, p.id, "bob", &err), 0);
	assert_int_equal(member_list(f->c, p.id, &items, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(items[0].user_name, "alice");
	assert_string_equal(items[1].user_name, "carol");
	free(items);
	/* bob's other binding stays */
	assert_int_equal(member_list(f->c, other.id, &items, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(items[0].user_name, "bob");
	assert_int_equal(items[0].role, ROLE_ADMIN);
	free(items);

	err_clear(&err);
	assert_int_equal(member_remove(f->c, p.id, "bob", &err), -ERR_NOT_FOUND);
	assert_string_equal(err.message, "user 'bob' is not a member");
	err_clear(&err);
	assert_int_equal(member_remove(f->c, p.id, "nobody", &err), -ERR_NOT_FOUND);
	assert_string_equal(err.message, "no user 'nobody'");
}

static void test_principal_role_in(void **state)
{
	struct fixture *f = *state;
	make_user(f, "alice", false);
	make_user(f, "root", true);
	struct project pa = make_project(f, "pa");
	struct project pb = make_project(f, "pb");
	struct project pc = make_project(f, "pc");
	add_member(f, pa.id, "alice", ROLE_MEMBER);
	add_member(f, pb.id, "alice", ROLE_READER);
	struct err err;
	enum role role;

	/* a system administrator is admin everywhere, even unbound, even scoped elsewhere */
	struct login_result root = login(f, "root", PASSWORD, NULL);
	assert_int_equal(principal_role_in(f->c, &root.principal, pc.id, &role, &err), 0);
	assert_int_equal(role, ROLE_ADMIN);
	struct login_result root_a = login(f, "root", PASSWORD, "pa");
	assert_int_equal(principal_role_in(f->c, &root_a.principal, pb.id, &role, &err), 0);
	assert_int_equal(role, ROLE_ADMIN);

	/* system scope: the bindings */
	struct login_result sys = login(f, "alice", PASSWORD, NULL);
	assert_int_equal(principal_role_in(f->c, &sys.principal, pa.id, &role, &err), 0);
	assert_int_equal(role, ROLE_MEMBER);
	assert_int_equal(principal_role_in(f->c, &sys.principal, pb.id, &role, &err), 0);
	assert_int_equal(role, ROLE_READER);
	assert_int_equal(principal_role_in(f->c, &sys.principal, pc.id, &role, &err), 0);
	assert_int_equal(role, ROLE_NONE);

	/* scoped to pa: its role there, nothing in pb although she is bound there */
	struct login_result scoped = login(f, "alice", PASSWORD, "pa");
	assert_int_equal(principal_role_in(f->c, &scoped.principal, pa.id, &role, &err), 0);
	assert_int_equal(role, ROLE_MEMBER);
	role = ROLE_ADMIN;
	assert_int_equal(principal_role_in(f->c, &scoped.principal, pb.id, &role, &err), 0);
	assert_int_equal(role, ROLE_NONE);
}

static void test_project_list_by_user(void **state)
{
	struct fixture *f = *state;
	struct user a = make_user(f, "alice", false);
	struct user b = make_user(f, "bob", false);
	static const char *const names[] = { "delta", "alpha", "echo", "charlie", "bravo" };
	struct project p[5];
	for (int i = 0; i < 5; i++)
		p[i] = make_project(f, names[i]);
	add_member(f, p[0].id, "alice", ROLE_READER); /* delta */
	add_member(f, p[3].id, "alice", ROLE_ADMIN);  /* charlie */
	add_member(f, p[4].id, "alice", ROLE_MEMBER); /* bravo */
	add_member(f, p[1].id, "bob", ROLE_MEMBER);   /* alpha */

	struct project *items = NULL;
	size_t n = 0;
	bool more = true;
	struct err err;
	assert_int_equal(project_list(f->c, a.id, NULL, 10, &items, &n, &more, &err), 0);
	assert_int_equal(n, 3);
	assert_false(more);
	assert_string_equal(items[0].name, "bravo");
	assert_string_equal(items[1].name, "charlie");
	assert_string_equal(items[2].name, "delta");
	free(items);

	/* paged */
	assert_int_equal(project_list(f->c, a.id, NULL, 2, &items, &n, &more, &err), 0);
	assert_int_equal(n, 2);
	assert_true(more);
	assert_string_equal(items[1].name, "charlie");
	free(items);
	assert_int_equal(project_list(f->c, a.id, "charlie", 2, &items, &n, &more, &err), 0);
	assert_int_equal(n, 1);
	assert_false(more);
	assert_string_equal(items[0].name, "delta");
	free(items);

	assert_int_equal(project_list(f->c, b.id, NULL, 10, &items, &n, &more, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(items[0].name, "alpha");
	free(items);

	/* all of them */
	assert_int_equal(project_list(f->c, NULL, NULL, 10, &items, &n, &more, &err), 0);
	assert_int_equal(n, 5);
	static const char *const sorted[] = { "alpha", "bravo", "charlie", "delta", "echo" };
	for (size_t i = 0; i < n; i++)
		assert_string_equal(items[i].name, sorted[i]);
	free(items);
}

static void test_project_delete_cascades(void **state)
{
	struct fixture *f = *state;
	struct user a = make_user(f, "alice", false);
	struct project p = make_project(f, "web");
	struct project keep = make_project(f, "keep");
	add_member(f, p.id, "alice", ROLE_MEMBER);
	add_member(f, keep.id, "alice", ROLE_MEMBER);
	struct login_result scoped = login(f, "alice", PASSWORD, "web");
	struct login_result other = login(f, "alice", PASSWORD, "keep");
	struct login_result sys = login(f, "alice", PASSWORD, NULL);
	struct access_key k;
	struct err err;
	assert_int_equal(access_key_create(f->c, &f->s, &sys.principal, "web", &k, &err), 0);
	assert_int_equal(get_quota(f, p.id).used[QUOTA_ACCESS_KEYS], 1);

	assert_int_equal(project_delete(f->c, "web", &err), 0);
	struct project got;
	assert_int_equal(project_get(f->c, p.id, &got, &err), -ERR_NOT_FOUND);
	assert_token_refused(f, scoped.token);
	struct principal pr;
	assert_token_ok(f, other.token, &pr);
	assert_token_ok(f, sys.token, &pr);
	enum role role = ROLE_ADMIN;
	assert_int_equal(member_role(f->c, p.id, a.id, &role, &err), 0);
	assert_int_equal(role, ROLE_NONE);
	assert_int_equal(query_int(f->c, "SELECT COUNT(*) FROM role_bindings WHERE project_id = ?",
				   p.id),
			 0);
	assert_int_equal(query_int(f->c, "SELECT COUNT(*) FROM project_quotas WHERE project_id = ?",
				   p.id),
			 0);
	assert_int_equal(query_int(f->c, "SELECT COUNT(*) FROM access_keys WHERE id = ?", k.id), 0);
	assert_int_equal(query_int(f->c, "SELECT COUNT(*) FROM role_bindings WHERE user_id = ?",
				   a.id),
			 1);
	struct project *items = NULL;
	size_t n = 0;
	bool more;
	assert_int_equal(project_list(f->c, a.id, NULL, 10, &items, &n, &more, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(items[0].name, "keep");
	free(items);

	err_clear(&err);
	assert_int_equal(project_delete(f->c, "web", &err), -ERR_NOT_FOUND);
	assert_int_equal(err.code, ERR_NOT_FOUND);
	/* and a login to it is now refused */
	struct login_result res;
	assert_int_equal(auth_login(f->c, &f->s, "alice", PASSWORD, "web", &res, &err),
			 -ERR_UNAUTHORIZED);
	assert_string_equal(err.field, "project");
}

/* ------------------------------------------------------------- access keys */

static void test_access_key_create(void **state)
{
	struct fixture *f = *state;
	struct user a = make_user(f, "alice", false);
	struct project p = make_project(f, "web");
	add_member(f, p.id, "alice", ROLE_MEMBER);
	struct login_result sys = login(f, "alice", PASSWORD, NULL);
	struct access_key k;
	struct err err;
	err_clear(&err);
	assert_int_equal(access_key_create(f->c, &f->s, &sys.principal, "web", &k, &err), 0);
	assert_int_equal(strlen(k.id), 20);
	assert_true(str_starts_with(k.id, "NUBO"));
	for (const char *c = k.id + 4; *c; c++)
		assert_non_null(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", *c));
	assert_int_equal(strlen(k.secret), 40);
	for (const char *c = k.secret; *c; c++)
		assert_non_null(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				       "0123456789-_",
				       *c));
	assert_string_equal(k.user_id, a.id);
	assert_string_equal(k.user_name, "alice");
	assert_string_equal(k.project_id, p.id);
	int64_t ms;
	assert_int_equal(time_rfc3339_parse(k.created_at, &ms), 0);
	assert_int_equal(get_quota(f, p.id).used[QUOTA_ACCESS_KEYS], 1);

	/* the stored secret is sealed, and opens to the secret with the server key only */
	struct store_stmt *s = NULL;
	assert_int_equal(store_query(f->c, &s,
				     "SELECT secret_sealed, user_id, project_id FROM access_keys"
				     " WHERE id = ?",
				     "s", k.id),
			 0);
	assert_int_equal(store_step(s), 1);
	char *sealed = xstrdup(store_col_text(s, 0));
	assert_string_equal(store_col_text(s, 1), a.id);
	assert_string_equal(store_col_text(s, 2), p.id);
	assert_int_equal(store_step(s), 0);
	store_stmt_free(s);
	assert_string_not_equal(sealed, k.secret);
	assert_null(strstr(sealed, k.secret));
	unsigned char *plain = NULL;
	size_t len = 0;
	assert_int_equal(crypto_open(server_key, sealed, &plain, &len), 0);
	assert_int_equal(len, 40);
	assert_memory_equal(plain, k.secret, 40);
	free(plain);
	unsigned char other_key[CRYPTO_KEY_SIZE] = { 0 };
	plain = NULL;
	assert_int_equal(crypto_open(other_key, sealed, &plain, &len), -EBADMSG);
	free(plain);
	free(sealed);

	/* system scope: no project, no quota */
	struct access_key k2;
	assert_int_equal(access_key_create(f->c, &f->s, &sys.principal, NULL, &k2, &err), 0);
	assert_string_equal(k2.project_id, "");
	assert_string_not_equal(k2.id, k.id);
	assert_string_not_equal(k2.secret, k.secret);
	assert_true(query_int(f->c, "SELECT project_id IS NULL FROM access_keys WHERE id = ?",
			      k2.id) == 1);
	assert_int_equal(get_quota(f, p.id).used[QUOTA_ACCESS_KEYS], 1);

	/* scoped like the principal by default */
	struct login_result scoped = login(f, "alice", PASSWORD, "web");
	struct access_key k3;
	assert_int_equal(access_key_create(f->c, &f->s, &scoped.principal, NULL, &k3, &err), 0);
	assert_string_equal(k3.project_id, p.id);
	assert_int_equal(get_quota(f, p.id).used[QUOTA_ACCESS_KEYS], 2);

	/* not in a project she is not a member of */
	make_project(f, "other");
	struct access_key k4;
	err_clear(&err);
	assert_int_equal(access_key_create(f->c, &f->s, &sys.principal, "other", &k4, &err),
			 -ERR_INVALID);
	assert_string_equal(err.field, "project");
	assert_string_equal(err.message, "you are not a member of a project 'other'");
	err_clear(&err);
	assert_int_equal(access_key_create(f->c, &f->s, &scoped.principal, "other", &k4, &err),
			 -ERR_INVALID);
	assert_string_equal(err.field, "project");
}

static void test_access_key_list_delete(void **state)
{
	struct fixture *f = *state;
	struct user a = make_user(f, "alice", false);
	struct user b = make_user(f, "bob", false);
	struct project p = make_project(f, "web");
	add_member(f, p.id, "alice", ROLE_MEMBER);
	add_member(f, p.id, "bob", ROLE_MEMBER);
	struct login_result la = login(f, "alice", PASSWORD, "web");
	struct login_result lb = login(f, "bob", PASSWORD, "web");
	struct access_key ka1, ka2, kb;
	struct err err;
	assert_int_equal(access_key_create(f->c, &f->s, &la.principal, NULL, &ka1, &err), 0);
	assert_int_equal(access_key_create(f->c, &f->s, &la.principal, NULL, &ka2, &err), 0);
	assert_int_equal(access_key_create(f->c, &f->s, &lb.principal, NULL, &kb, &err), 0);
	assert_int_equal(get_quota(f, p.id).used[QUOTA_ACCESS_KEYS], 3);

	struct access_key *items = NULL;
	size_t n = 0;
	assert_int_equal(access_key_list(f->c, a.id, &items, &n, &err), 0);
	assert_int_equal(n, 2);
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(items[i].secret, "");
		assert_string_equal(items[i].user_id, a.id);
		assert_string_equal(items[i].user_name, "alice");
		assert_string_equal(items[i].project_id, p.id);
		assert_true(strcmp(items[i].id, ka1.id) == 0 || strcmp(items[i].id, ka2.id) == 0);
	}
	assert_string_not_equal(items[0].id, items[1].id);
	free(items);
	assert_int_equal(access_key_list(f->c, NULL, &items, &n, &err), 0);
	assert_int_equal(n, 3);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(items[i].secret, "");
	free(items);

	/* bob cannot delete alice's key */
	err_clear(&err);
	assert_int_equal(access_key_delete(f->c, b.id, ka1.id, &err), -ERR_NOT_FOUND);
	assert_int_equal(err.code, ERR_NOT_FOUND);
	assert_int_equal(get_quota(f, p.id).used[QUOTA_ACCESS_KEYS], 3);

	/* deleting releases the quota */
	assert_int_equal(access_key_delete(f->c, a.id, ka1.id, &err), 0);
	assert_int_equal(get_quota(f, p.id).used[QUOTA_ACCESS_KEYS], 2);
	err_clear(&err);
	assert_int_equal(access_key_delete(f->c, a.id, ka1.id, &err), -ERR_NOT_FOUND);
	assert_int_equal(get_quota(f, p.id).used[QUOTA_ACCESS_KEYS], 2);
	assert_int_equal(access_key_delete(f->c, NULL, kb.id, &err), 0);
	assert_int_equal(get_quota(f, p.id).used[QUOTA_ACCESS_KEYS], 1);
	assert_int_equal(access_key_list(f->c, NULL, &items, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(items[0].id, ka2.id);
	free(items);
}

static void test_access_key_quota(void **state)
{
	struct fixture *f = *state;
	make_user(f, "alice", false);
	struct project p = make_project(f, "web");
	add_member(f, p.id, "alice", ROLE_MEMBER);
	struct login_result la = login(f, "alice", PASSWORD, "web");
	struct err err;
	assert_int_equal(quota_set(f->c, p.id, QUOTA_ACCESS_KEYS, 2, &err), 0);
	struct access_key k1, k2, k3;
	assert_int_equal(access_key_create(f->c, &f->s, &la.principal, NULL, &k1, &err), 0);
	assert_int_equal(access_key_create(f->c, &f->s, &la.principal, NULL, &k2, &err), 0);
	err_clear(&err);
	assert_int_equal(access_key_create(f->c, &f->s, &la.principal, NULL, &k3, &err),
			 -ERR_QUOTA);
	assert_int_equal(err.code, ERR_QUOTA);
	assert_string_equal(err.field, "access_keys");
	assert_string_equal(err.message,
			    "quota exceeded for access_keys: limit 2, in use 2, requested 1");
	assert_int_equal(store_txn_depth(f->c), 0);
	/* the refused key was not stored */
	struct access_key *items = NULL;
	size_t n = 0;
	assert_int_equal(access_key_list(f->c, NULL, &items, &n, &err), 0);
	assert_int_equal(n, 2);
	free(items);
	assert_int_equal(get_quota(f, p.id).used[QUOTA_ACCESS_KEYS], 2);

	/* room again after a delete */
	assert_int_equal(access_key_delete(f->c, NULL, k1.id, &err), 0);
	assert_int_equal(access_key_create(f->c, &f->s, &la.principal, NULL, &k3, &err), 0);
	assert_int_equal(get_quota(f, p.id).used[QUOTA_ACCESS_KEYS], 2);
}

/* Deleting a user gives back the access_keys quota their keys held. */
static void test_user_delete_releases_key_quota(void **state)
{
	struct fixture *f = *state;
	make_user(f, "alice", false);
	make_user(f, "bob", false);
	struct project p = make_project(f, "web");
	add_member(f, p.id, "alice", ROLE_MEMBER);
	add_member(f, p.id, "bob", ROLE_MEMBER);
	struct err err;
	assert_int_equal(quota_set(f->c, p.id, QUOTA_ACCESS_KEYS, 2, &err), 0);
	struct login_result la = login(f, "alice", PASSWORD, "web");
	struct access_key k;
	assert_int_equal(access_key_create(f->c, &f->s, &la.principal, NULL, &k, &err), 0);
	assert_int_equal(access_key_create(f->c, &f->s, &la.principal, NULL, &k, &err), 0);
	assert_int_equal(get_quota(f, p.id).used[QUOTA_ACCESS_KEYS], 2);
	assert_int_equal(user_delete(f->c, "alice", &err), 0);
	assert_int_equal(get_quota(f, p.id).used[QUOTA_ACCESS_KEYS], 0);
	struct login_result lb = login(f, "bob", PASSWORD, "web");
	assert_int_equal(access_key_create(f->c, &f->s, &lb.principal, NULL, &k, &err), 0);
	assert_int_equal(store_txn_depth(f->c), 0);
}

/* A binding in a project that does not exist is NotFound, not a store error. */
static void test_member_set_unknown_project(void **state)
{
	struct fixture *f = *state;
	make_user(f, "alice", false);
	struct member m;
	struct err err;
	err_clear(&err);
	assert_int_equal(member_set(f->c, "00000000-0000-4000-8000-000000000000", "alice",
				    ROLE_READER, &m, &err),
			 -ERR_NOT_FOUND);
	assert_int_equal(err.code, ERR_NOT_FOUND);
}

/* ------------------------------------------------------------- SigV4 */

/* The headers of a test request. */
struct sig_headers {
	const char *host;
	const char *amz_date; /* NULL: no X-Amz-Date header */
};

static const char *sig_header(void *ctx, const char *name)
{
	const struct sig_headers *h = ctx;
	if (strcasecmp(name, "host") == 0)
		return h->host;
	if (strcasecmp(name, "x-amz-date") == 0)
		return h->amz_date;
	return NULL;
}

#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* Sign r as a describes, with secret: writes a->signature. */
static void sign_request(const char *secret, const struct sigv4_request *r,
			 struct sigv4_auth *a)
{
	char *canonical = NULL;
	assert_int_equal(sigv4_canonical_request(r, a, &canonical), 0);
	char *sts = sigv4_string_to_sign(a, canonical);
	sigv4_sign(secret, a, sts, a->signature);
	free(canonical);
	free(sts);
}

static void test_sigv4_get_vanilla(void **state)
{
	(void)state;
	struct sig_headers h = { .host = "example.amazonaws.com", .amz_date = "20150830T123600Z" };
	struct sigv4_request r = { .method = "GET", .path = "/", .header = sig_header,
				   .header_ctx = &h, .payload_hash = EMPTY_SHA256 };
	struct sigv4_auth a = { 0 };
	str_copy(a.access_key, sizeof(a.access_key), "AKIDEXAMPLE");
	str_copy(a.date, sizeof(a.date), "20150830");
	str_copy(a.region, sizeof(a.region), "us-east-1");
	str_copy(a.service, sizeof(a.service), "service");
	str_copy(a.signed_headers, sizeof(a.signed_headers), "host;x-amz-date");
	str_copy(a.amz_date, sizeof(a.amz_date), "20150830T123600Z");

	char *canonical = NULL;
	assert_int_equal(sigv4_canonical_request(&r, &a, &canonical), 0);
	assert_string_equal(canonical, "GET\n/\n\nhost:example.amazonaws.com\n"
				       "x-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" EMPTY_SHA256);
	char *sts = sigv4_string_to_sign(&a, canonical);
	assert_string_equal(sts, "AWS4-HMAC-SHA256\n20150830T123600Z\n"
				 "20150830/us-east-1/service/aws4_request\n"
				 "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63");
	char sig[65];
	sigv4_sign("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", &a, sts, sig);
	assert_string_equal(sig, "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
	free(canonical);
	free(sts);

	/* the same from a parsed Authorization header */
	struct sigv4_auth parsed;
	const char *why = NULL;
	assert_int_equal(sigv4_parse_header("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/"
					    "us-east-1/service/aws4_request, SignedHeaders=host;"
					    "x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8"
					    "372ff2a2260956d9b8aae1d763fbf31",
					    &parsed, &why),
			 0);
	str_copy(parsed.amz_date, sizeof(parsed.amz_date), "20150830T123600Z");
	assert_string_equal(parsed.signature, sig);
	sign_request("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", &r, &parsed);
	assert_string_equal(parsed.signature, sig);
}

/* A user, a project and an access key in it, for the SigV4 tests. */
struct sig_env {
	struct user user;
	struct project project;
	struct access_key key;
};

static void sig_env_make(struct fixture *f, struct sig_env *e)
{
	e->user = make_user(f, "alice", false);
	e->project = make_project(f, "web");
	add_member(f, e->project.id, "alice", ROLE_MEMBER);
	struct login_result l = login(f, "alice", PASSWORD, NULL);
	struct err err;
	err_clear(&err);
	if (access_key_create(f->c, &f->s, &l.principal, "web", &e->key, &err) != 0)
		fail_msg("access_key_create: %s", err.message);
}

#define SIG_DATE "20260115T120000Z"

static struct sigv4_auth header_auth(const char *key, const char *amz_date)
{
	struct sigv4_auth a = { 0 };
	str_copy(a.access_key, sizeof(a.access_key), key);
	memcpy(a.date, amz_date, 8);
	a.date[8] = '\0';
	str_copy(a.region, sizeof(a.region), "nubo");
	str_copy(a.service, sizeof(a.service), "nubo");
	str_copy(a.signed_headers, sizeof(a.signed_headers), "host;x-amz-date");
	str_copy(a.amz_date, sizeof(a.amz_date), amz_date);
	return a;
}

static int64_t amz_ms(const char *amz_date)
{
	int64_t ms = 0;
	assert_int_equal(sigv4_parse_amz_date(amz_date, &ms), 0);
	return ms;
}

/* auth_sigv4 must refuse with ERR_UNAUTHORIZED, field and message. */
static void expect_sigv4_refused(struct fixture *f, const struct sigv4_request *r,
				 const struct sigv4_auth *a, int64_t now, const char *field,
				 const char *message)
{
	struct principal p;
	struct err err;
	err_clear(&err);
	assert_int_equal(auth_sigv4(f->c, &f->s, r, a, now, &p, &err), -ERR_UNAUTHORIZED);
	assert_int_equal(err.code, ERR_UNAUTHORIZED);
	assert_string_equal(err.field, field);
	assert_string_equal(err.message, message);
}

static void test_auth_sigv4_header(void **state)
{
	struct fixture *f = *state;
	struct sig_env e;
	sig_env_make(f, &e);
	struct sig_headers h = { .host = "nubo.example:8443", .amz_date = SIG_DATE };
	struct sigv4_request r = { .method = "GET", .path = "/v1/projects", .header = sig_header,
				   .header_ctx = &h, .payload_hash = EMPTY_SHA256 };
	struct sigv4_auth a = header_auth(e.key.id, SIG_DATE);
	sign_request(e.key.secret, &r, &a);
	int64_t now = amz_ms(SIG_DATE);

	struct principal p;
	struct err err;
	err_clear(&err);
	assert_int_equal(auth_sigv4(f->c, &f->s, &r, &a, now, &p, &err), 0);
	assert_int_equal(p.kind, CRED_ACCESS_KEY);
	assert_string_equal(p.credential_id, e.key.id);
	assert_string_equal(p.user_id, e.user.id);
	assert_string_equal(p.user_name, "alice");
	assert_false(p.system_admin);
	assert_string_equal(p.project_id, e.project.id);
	assert_string_equal(p.project_name, "web");
	assert_int_equal(p.role, ROLE_MEMBER);
	assert_int_equal(p.expires_ms, 0);

	/* a wrong signature */
	struct sigv4_auth bad = a;
	bad.signature[10] = bad.signature[10] == '0' ? '1' : '0';
	expect_sigv4_refused(f, &r, &bad, now, "Authorization",
			     "the signature does not match: check the secret key and the "
			     "signing method");
	/* signed with another secret */
	bad = a;
	sign_request("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", &r, &bad);
	expect_sigv4_refused(f, &r, &bad, now, "Authorization",
			     "the signature does not match: check the secret key and the "
			     "signing method");
	/* the request changed after signing */
	struct sigv4_request changed = r;
	changed.path = "/v1/users";
	expect_sigv4_refused(f, &changed, &a, now, "Authorization",
			     "the signature does not match: check the secret key and the "
			     "signing method");
	/* a signed header missing from the request */
	struct sig_headers nodate = { .host = h.host, .amz_date = NULL };
	changed = r;
	changed.header_ctx = &nodate;
	expect_sigv4_refused(f, &changed, &a, now, "Authorization",
			     "a signed header is missing from the request");
	/* an unknown access key, properly signed with a secret */
	bad = header_auth("NUBOAAAAAAAAAAAAAAAA", SIG_DATE);
	sign_request(e.key.secret, &r, &bad);
	expect_sigv4_refused(f, &r, &bad, now, "X-Amz-Credential",
			     "the access key id is not known");
	/* a credential scope date that is not X-Amz-Date's */
	bad = a;
	str_copy(bad.date, sizeof(bad.date), "20260114");
	sign_request(e.key.secret, &r, &bad);
	expect_sigv4_refused(f, &r, &bad, now, "Authorization",
			     "the credential scope date does not match X-Amz-Date");
	/* a malformed X-Amz-Date */
	bad = a;
	str_copy(bad.amz_date, sizeof(bad.amz_date), "2026-01-15T12:00");
	expect_sigv4_refused(f, &r, &bad, now, "X-Amz-Date", "X-Amz-Date must be YYYYMMDDTHHMMSSZ");

	/* a deleted key, or a disabled user's, no longer works */
	assert_int_equal(auth_sigv4(f->c, &f->s, &r, &a, now, &p, &err), 0);
	struct user_spec spec = { .has_disabled = true, .disabled = true };
	struct user u;
	assert_int_equal(user_update(f->c, &f->s, "alice", &spec, &u, &err), 0);
	expect_sigv4_refused(f, &r, &a, now, "X-Amz-Credential",
			     "the access key id is not known");
	spec.disabled = false;
	assert_int_equal(user_update(f->c, &f->s, "alice", &spec, &u, &err), 0);
	assert_int_equal(auth_sigv4(f->c, &f->s, &r, &a, now, &p, &err), 0);
	assert_int_equal(access_key_delete(f->c, NULL, e.key.id, &err), 0);
	expect_sigv4_refused(f, &r, &a, now, "X-Amz-Credential",
			     "the access key id is not known");
}

static void test_auth_sigv4_clock(void **state)
{
	struct fixture *f = *state;
	struct sig_env e;
	sig_env_make(f, &e);
	struct sig_headers h = { .host = "nubo.example", .amz_date = SIG_DATE };
	struct sigv4_request r = { .method = "GET", .path = "/", .header = sig_header,
				   .header_ctx = &h, .payload_hash = EMPTY_SHA256 };
	struct sigv4_auth a = header_auth(e.key.id, SIG_DATE);
	sign_request(e.key.secret, &r, &a);
	int64_t t = amz_ms(SIG_DATE);
	const int64_t min = 60 * 1000;
	struct principal p;
	struct err err;

	/* 14 minutes either way is fine, 16 is not */
	assert_int_equal(auth_sigv4(f->c, &f->s, &r, &a, t + 14 * min, &p, &err), 0);
	assert_int_equal(auth_sigv4(f->c, &f->s, &r, &a, t - 14 * min, &p, &err), 0);
	assert_int_equal(auth_sigv4(f->c, &f->s, &r, &a, t + 15 * min, &p, &err), 0);
	expect_sigv4_refused(f, &r, &a, t + 16 * min, "X-Amz-Date",
			     "the request time is more than 15 minutes from the server's time");
	expect_sigv4_refused(f, &r, &a, t + 15 * min + 1, "X-Amz-Date",
			     "the request time is more than 15 minutes from the server's time");
	expect_sigv4_refused(f, &r, &a, t - 16 * min, "X-Amz-Date",
			     "the request was signed more than 15 minutes in the future");
}

/* A presigned GET: its X-Amz-* query parameters (raw, as sent) and what
 * sigv4_parse_query makes of them. */
struct presigned {
	char credential[192];
	char expires[24];
	char signature[65];
	struct http_kv query[7];
	struct sig_headers h;
	struct sigv4_request r;
	struct sigv4_auth a;
};

static void presign(struct presigned *ps, const struct access_key *key, const char *amz_date,
		    int64_t expires)
{
	memset(ps, 0, sizeof(*ps));
	char day[9];
	memcpy(day, amz_date, 8);
	day[8] = '\0';
	snprintf(ps->credential, sizeof(ps->credential), "%s%%2F%s%%2Fnubo%%2Fs3%%2Faws4_request",
		 key->id, day);
	snprintf(ps->expires, sizeof(ps->expires), "%lld", (long long)expires);
	memset(ps->signature, '0', 64);
	ps->query[0] = (struct http_kv){ "X-Amz-Algorithm", "AWS4-HMAC-SHA256" };
	ps->query[1] = (struct http_kv){ "X-Amz-Credential", ps->credential };
	ps->query[2] = (struct http_kv){ "X-Amz-Date", amz_date };
	ps->query[3] = (struct http_kv){ "X-Amz-Expires", ps->expires };
	ps->query[4] = (struct http_kv){ "X-Amz-SignedHeaders", "host" };
	ps->query[5] = (struct http_kv){ "X-Amz-Signature", ps->signature };
	ps->query[6] = (struct http_kv){ "versionId", "3" };
	ps->h = (struct sig_headers){ .host = "s3.nubo.example" };
	ps->r = (struct sigv4_request){ .method = "GET", .path = "/bucket/key.txt",
					.query = ps->query, .nquery = 7, .header = sig_header,
					.header_ctx = &ps->h,
					.payload_hash = SIGV4_UNSIGNED_PAYLOAD, .s3 = true };
	const char *why = NULL;
	if (sigv4_parse_query(ps->query, 7, &ps->a, &why) != 0)
		fail_msg("sigv4_parse_query: %s", why);
	assert_true(ps->a.presigned);
	assert_int_equal(ps->a.expires, expires);
	assert_string_equal(ps->a.amz_date, amz_date);
	sign_request(key->secret, &ps->r, &ps->a);
	/* the URL as it would be sent, with the signature in it */
	memcpy(ps->signature, ps->a.signature, 65);
}

static void test_auth_sigv4_presigned(void **state)
{
	struct fixture *f = *state;
	struct sig_env e;
	sig_env_make(f, &e);
	int64_t t = amz_ms(SIG_DATE);
	const int64_t min = 60 * 1000;
	struct presigned ps;
	struct principal p;
	struct err err;

	/* valid for an hour: 2 minutes old is fine, so is 59 (past the 15-minute
	 * skew of signed headers), 2 hours old is expired */
	presign(&ps, &e.key, SIG_DATE, 3600);
	err_clear(&err);
	assert_int_equal(auth_sigv4(f->c, &f->s, &ps.r, &ps.a, t + 2 * min, &p, &err), 0);
	assert_string_equal(p.credential_id, e.key.id);
	assert_string_equal(p.project_id, e.project.id);
	assert_int_equal(auth_sigv4(f->c, &f->s, &ps.r, &ps.a, t + 59 * min, &p, &err), 0);
	expect_sigv4_refused(f, &ps.r, &ps.a, t + 120 * min, "X-Amz-Expires",
			     "the presigned URL has expired");

	/* X-Amz-Expires counts seconds: expires=60 holds for one minute only */
	presign(&ps, &e.key, SIG_DATE, 60);
	assert_int_equal(auth_sigv4(f->c, &f->s, &ps.r, &ps.a, t + 30 * 1000, &p, &err), 0);
	assert_int_equal(auth_sigv4(f->c, &f->s, &ps.r, &ps.a, t + 60 * 1000, &p, &err), 0);
	expect_sigv4_refused(f, &ps.r, &ps.a, t + 2 * min, "X-Amz-Expires",
			     "the presigned URL has expired");
	expect_sigv4_refused(f, &ps.r, &ps.a, t + 120 * min, "X-Amz-Expires",
			     "the presigned URL has expired");
	/* not from the future either */
	expect_sigv4_refused(f, &ps.r, &ps.a, t - 16 * min, "X-Amz-Date",
			     "the request was signed more than 15 minutes in the future");

	/* another query parameter changes the signature */
	presign(&ps, &e.key, SIG_DATE, 3600);
	ps.query[6].value = "4";
	expect_sigv4_refused(f, &ps.r, &ps.a, t + min, "Authorization",
			     "the signature does not match: check the secret key and the "
			     "signing method");
}

/* ------------------------------------------------------------- quota */

static void test_quota_charge_release(void **state)
{
	struct fixture *f = *state;
	struct project p = make_project(f, "web");
	struct project other = make_project(f, "other");
	struct err err;

	assert_int_equal(quota_charge(f->c, p.id, QUOTA_INSTANCES, 3, &err), 0);
	assert_int_equal(quota_charge(f->c, p.id, QUOTA_INSTANCES, 7, &err), 0);
	struct quota q = get_quota(f, p.id);
	assert_int_equal(q.used[QUOTA_INSTANCES], 10);
	assert_int_equal(q.limit[QUOTA_INSTANCES], 10);

	err_clear(&err);
	assert_int_equal(quota_charge(f->c, p.id, QUOTA_INSTANCES, 1, &err), -ERR_QUOTA);
	assert_int_equal(err.code, ERR_QUOTA);
	assert_string_equal(err.field, "instances");
	assert_string_equal(err.message,
			    "quota exceeded for instances: limit 10, in use 10, requested 1");
	assert_int_equal(get_quota(f, p.id).used[QUOTA_INSTANCES], 10);

	/* a charge that would pass the limit is refused whole */
	assert_int_equal(quota_charge(f->c, p.id, QUOTA_VCPUS, 15, &err), 0);
	err_clear(&err);
	assert_int_equal(quota_charge(f->c, p.id, QUOTA_VCPUS, 6, &err), -ERR_QUOTA);
	assert_string_equal(err.field, "vcpus");
	assert_string_equal(err.message, "quota exceeded for vcpus: limit 20, in use 15, requested 6");
	assert_int_equal(quota_charge(f->c, p.id, QUOTA_VCPUS, 5, &err), 0);
	assert_int_equal(get_quota(f, p.id).used[QUOTA_VCPUS], 20);

	/* -1: unlimited */
	assert_int_equal(quota_charge(f->c, p.id, QUOTA_OBJECT_BYTES, 1000000000000000LL, &err), 0);
	assert_int_equal(quota_charge(f->c, p.id, QUOTA_OBJECT_BYTES, 1000000000000000LL, &err), 0);
	assert_int_equal(get_quota(f, p.id).used[QUOTA_OBJECT_BYTES], 2000000000000000LL);
	assert_int_equal(quota_set(f->c, p.id, QUOTA_INSTANCES, -1, &err), 0);
	assert_int_equal(quota_charge(f->c, p.id, QUOTA_INSTANCES, 1000, &err), 0);
	assert_int_equal(get_quota(f, p.id).used[QUOTA_INSTANCES], 1010);

	/* a limit below usage is allowed; nothing new is admitted until usage falls */
	assert_int_equal(quota_set(f->c, p.id, QUOTA_INSTANCES, 5, &err), 0);
	q = get_quota(f, p.id);
	assert_int_equal(q.limit[QUOTA_INSTANCES], 5);
	assert_int_equal(q.used[QUOTA_INSTANCES], 1010);
	err_clear(&err);
	assert_int_equal(quota_charge(f->c, p.id, QUOTA_INSTANCES, 1, &err), -ERR_QUOTA);
	assert_string_equal(err.message,
			    "quota exceeded for instances: limit 5, in use 1010, requested 1");
	assert_int_equal(quota_release(f->c, p.id, QUOTA_INSTANCES, 1006, &err), 0);
	assert_int_equal(get_quota(f, p.id).used[QUOTA_INSTANCES], 4);
	assert_int_equal(quota_charge(f->c, p.id, QUOTA_INSTANCES, 1, &err), 0);
	assert_int_equal(quota_charge(f->c, p.id, QUOTA_INSTANCES, 1, &err), -ERR_QUOTA);

	/* never below zero */
	assert_int_equal(quota_release(f->c, p.id, QUOTA_INSTANCES, 100, &err), 0);
	assert_int_equal(get_quota(f, p.id).used[QUOTA_INSTANCES], 0);
	assert_int_equal(quota_release(f->c, p.id, QUOTA_NETWORKS, 1, &err), 0);
	assert_int_equal(get_quota(f, p.id).used[QUOTA_NETWORKS], 0);

	/* a limit of 0 admits nothing */
	assert_int_equal(quota_set(f->c, p.id, QUOTA_BUCKETS, 0, &err), 0);
	err_clear(&err);
	assert_int_equal(quota_charge(f->c, p.id, QUOTA_BUCKETS, 1, &err), -ERR_QUOTA);
	assert_string_equal(err.message, "quota exceeded for buckets: limit 0, in use 0, requested 1");

	/* the other project was not touched */
	q = get_quota(f, other.id);
	for (int i = 0; i < QUOTA__COUNT; i++) {
		assert_int_equal(q.limit[i], quota_defaults[i]);
		assert_int_equal(q.used[i], 0);
	}

	/* a charge rolled back with its transaction leaves no trace */
	assert_int_equal(store_txn_begin(f->c), 0);
	assert_int_equal(quota_charge(f->c, other.id, QUOTA_VOLUMES, 3, &err), 0);
	assert_int_equal(get_quota(f, other.id).used[QUOTA_VOLUMES], 3);
	assert_int_equal(store_txn_rollback(f->c), 0);
	assert_int_equal(get_quota(f, other.id).used[QUOTA_VOLUMES], 0);
}

struct charger {
	struct store *st;
	const char *project_id;
	pthread_barrier_t *start;
	int result;          /* what the charge (and commit) returned */
	char message[512];   /* its error message, if any */
};

static void *charge_worker(void *arg)
{
	struct charger *w = arg;
	struct store_conn *c = store_conn_get(w->st);
	struct err err;
	err_clear(&err);
	pthread_barrier_wait(w->start);
	int r = store_txn_begin(c);
	if (r < 0) {
		r = store_fail(c, r, &err);
	} else {
		r = quota_charge(c, w->project_id, QUOTA_INSTANCES, 1, &err);
		if (r == 0 && (r = store_txn_commit(c)) < 0)
			r = store_fail(c, r, &err);
		else if (r < 0)
			store_txn_rollback(c);
	}
	w->result = r;
	str_copy(w->message, sizeof(w->message), err.message);
	store_conn_put(c);
	return NULL;
}

static void test_quota_concurrent_charges(void **state)
{
	struct fixture *f = *state;
	struct project p = make_project(f, "web");
	struct err err;
	assert_int_equal(quota_set(f->c, p.id, QUOTA_INSTANCES, 10, &err), 0);

	pthread_barrier_t start;
	assert_int_equal(pthread_barrier_init(&start, NULL, CHARGE_THREADS), 0);
	pthread_t th[CHARGE_THREADS];
	struct charger w[CHARGE_THREADS];
	for (int i = 0; i < CHARGE_THREADS; i++) {
		w[i] = (struct charger){ .st = f->st, .project_id = p.id, .start = &start };
		assert_int_equal(pthread_create(&th[i], NULL, charge_worker, &w[i]), 0);
	}
	for (int i = 0; i < CHARGE_THREADS; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	pthread_barrier_destroy(&start);

	int ok = 0, refused = 0;
	for (int i = 0; i < CHARGE_THREADS; i++) {
		if (w[i].result == 0)
			ok++;
		else if (w[i].result == -ERR_QUOTA)
			refused++;
		else
			fail_msg("thread %d: %d %s", i, w[i].result, w[i].message);
	}
	assert_int_equal(ok, 10);
	assert_int_equal(refused, CHARGE_THREADS - 10);
	struct quota q = get_quota(f, p.id);
	assert_int_equal(q.used[QUOTA_INSTANCES], 10);
	assert_int_equal(q.limit[QUOTA_INSTANCES], 10);
}

/* ------------------------------------------------------------- audit */

static void test_audit_record(void **state)
{
	struct fixture *f = *state;
	struct audit_event ev = { .status = 201 };
	str_copy(ev.user_name, sizeof(ev.user_name), "alice");
	str_copy(ev.action, sizeof(ev.action), "zone.create");
	str_copy(ev.resource_type, sizeof(ev.resource_type), "zone");
	str_copy(ev.resource_id, sizeof(ev.resource_id), "par1");
	str_copy(ev.outcome, sizeof(ev.outcome), "success");
	str_copy(ev.source, sizeof(ev.source), "192.0.2.7");
	str_copy(ev.request_id, sizeof(ev.request_id), "req-1");
	struct err err;
	int64_t before = time_now_ms();
	err_clear(&err);
	assert_int_equal(audit_record(f->c, &ev, &err), 0);
	int64_t after = time_now_ms();
	assert_true(uuid_valid(ev.id));
	int64_t ms = 0;
	assert_int_equal(time_rfc3339_parse(ev.time, &ms), 0);
	assert_true(ms >= before && ms <= after);

	/* given id and time are kept */
	struct audit_event ev2 = ev;
	uuid_generate(ev2.id);
	str_copy(ev2.time, sizeof(ev2.time), "2020-01-10T00:00:00.000Z");
	char id2[UUID_SIZE];
	str_copy(id2, sizeof(id2), ev2.id);
	assert_int_equal(audit_record(f->c, &ev2, &err), 0);
	assert_string_equal(ev2.id, id2);
	assert_string_equal(ev2.time, "2020-01-10T00:00:00.000Z");

	struct audit_filter flt = { .limit = 10 };
	struct audit_event *items = NULL;
	size_t n = 0;
	char *next = NULL;
	assert_int_equal(audit_list(f->c, &flt, &items, &n, &next, &err), 0);
	assert_int_equal(n, 2);
	assert_null(next);
	assert_event_equal(&items[0], &ev);
	assert_event_equal(&items[1], &ev2);
	free(items);

	/* the same id twice is refused */
	assert_true(audit_record(f->c, &ev2, &err) < 0);
}

#define AUDIT_N 30
#define AUDIT_BASE_MS 1768003200000LL /* 2026-01-10T00:00:00Z */

/* Event i of the audit data set: three to a second, so that equal times
 * need the id to order them; inserted out of time order. */
static void audit_fill(struct fixture *f, const char *alice_id, const char *project_id)
{
	for (int k = 0; k < AUDIT_N; k++) {
		int i = (k * 7) % AUDIT_N;
		struct audit_event ev = { .status = 200 };
		time_rfc3339_from_ms(AUDIT_BASE_MS + (i / 3) * 1000, ev.time, sizeof(ev.time));
		if (i % 3 == 0) {
			str_copy(ev.user_id, sizeof(ev.user_id), alice_id);
			str_copy(ev.user_name, sizeof(ev.user_name), "alice");
		} else if (i % 3 == 1) {
			str_copy(ev.user_id, sizeof(ev.user_id), "0b9e2a4c-1f3d-4e5a-8b6c-7d8e9f0a1b2c");
			str_copy(ev.user_name, sizeof(ev.user_name), "bob");
		} else {
			str_copy(ev.user_name, sizeof(ev.user_name), "mallory");
		}
		str_copy(ev.action, sizeof(ev.action), i % 2 ? "zone.create" : "auth.login");
		snprintf(ev.resource_id, sizeof(ev.resource_id), "r%d", i % 5);
		if (i % 4 == 0)
			str_copy(ev.project_id, sizeof(ev.project_id), project_id);
		snprintf(ev.request_id, sizeof(ev.request_id), "req-%d", i);
		str_copy(ev.outcome, sizeof(ev.outcome), "success");
		struct err err;
		err_clear(&err);
		if (audit_record(f->c, &ev, &err) != 0)
			fail_msg("audit_record: %s", err.message);
	}
}

/* The event's number in the data set, from its request id. */
static int audit_index(const struct audit_event *ev)
{
	uint64_t v = 0;
	assert_true(str_starts_with(ev->request_id, "req-"));
	assert_int_equal(parse_u64(ev->request_id + 4, 0, AUDIT_N - 1, &v), 0);
	return (int)v;
}

/* Check that items are newest first (time, then id, descending). */
static void assert_newest_first(const struct audit_event *items, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		int c = strcmp(items[i - 1].time, items[i].time);
		if (c < 0 || (c == 0 && strcmp(items[i - 1].id, items[i].id) <= 0))
			fail_msg("event %zu (%s %s) is not older than event %zu (%s %s)", i,
				 items[i].time, items[i].id, i - 1, items[i - 1].time,
				 items[i - 1].id);
	}
}

/* How many events a filter gives (one page of up to 100), checking order
 * and that each matches pred. */
static size_t audit_count(struct fixture *f, struct audit_filter flt,
			  bool (*pred)(int i, const struct audit_event *ev))
{
	struct audit_event *items = NULL;
	size_t n = 0;
	char *next = NULL;
	struct err err;
	err_clear(&err);
	flt.limit = 100;
	int r = audit_list(f->c, &flt, &items, &n, &next, &err);
	if (r != 0)
		fail_msg("audit_list: %d %s", r, err.message);
	assert_null(next);
	assert_newest_first(items, n);
	for (size_t i = 0; i < n; i++)
		if (!pred(audit_index(&items[i]), &items[i]))
			fail_msg("event %s does not match the filter", items[i].request_id);
	free(items);
	return n;
}

static bool is_any(int i, const struct audit_event *ev)
{
	(void)i;
	(void)ev;
	return true;
}

static bool is_alice(int i, const struct audit_event *ev)
{
	return i % 3 == 0 && strcmp(ev->user_name, "alice") == 0;
}

static bool is_mallory(int i, const struct audit_event *ev)
{
	return i % 3 == 2 && strcmp(ev->user_id, "") == 0;
}

static bool is_create(int i, const struct audit_event *ev)
{
	return i % 2 == 1 && strcmp(ev->action, "zone.create") == 0;
}

static bool is_r0(int i, const struct audit_event *ev)
{
	return i % 5 == 0 && strcmp(ev->resource_id, "r0") == 0;
}

static bool is_project(int i, const struct audit_event *ev)
{
	return i % 4 == 0 && ev->project_id[0];
}

static bool is_alice_login(int i, const struct audit_event *ev)
{
	return is_alice(i, ev) && i % 2 == 0;
}

static bool in_3_to_6(int i, const struct audit_event *ev)
{
	(void)ev;
	return i / 3 >= 3 && i / 3 < 6;
}

static void test_audit_list_filters(void **state)
{
	struct fixture *f = *state;
	struct user a = make_user(f, "alice", false);
	struct project p = make_project(f, "web");
	audit_fill(f, a.id, p.id);

	assert_int_equal(audit_count(f, (struct audit_filter){ 0 }, is_any), AUDIT_N);
	assert_int_equal(audit_count(f, (struct audit_filter){ .user = "alice" }, is_alice), 10);
	assert_int_equal(audit_count(f, (struct audit_filter){ .user = a.id }, is_alice), 10);
	assert_int_equal(audit_count(f, (struct audit_filter){ .user = "mallory" }, is_mallory), 10);
	assert_int_equal(audit_count(f, (struct audit_filter){ .user = "nobody" }, is_any), 0);
	assert_int_equal(audit_count(f, (struct audit_filter){ .action = "zone.create" }, is_create),
			 15);
	assert_int_equal(audit_count(f, (struct audit_filter){ .action = "zone" }, is_any), 0);
	assert_int_equal(audit_count(f, (struct audit_filter){ .resource = "r0" }, is_r0), 6);
	assert_int_equal(audit_count(f, (struct audit_filter){ .project = p.id }, is_project), 8);
	assert_int_equal(audit_count(f, (struct audit_filter){ .user = "alice",
							       .action = "auth.login" },
				     is_alice_login),
			 5);

	/* since is inclusive, until exclusive; either form of time */
	struct audit_filter flt = { .since = "2026-01-10T00:00:03Z",
				    .until = "2026-01-10T00:00:06.000Z" };
	assert_int_equal(audit_count(f, flt, in_3_to_6), 9);
	flt = (struct audit_filter){ .since = "2026-01-10T00:00:09.000Z" };
	assert_int_equal(audit_count(f, flt, is_any), 3);
	flt = (struct audit_filter){ .until = "2026-01-10T00:00:00Z" };
	assert_int_equal(audit_count(f, flt, is_any), 0);
	flt = (struct audit_filter){ .until = "2026-01-10T00:00:00.001Z" };
	assert_int_equal(audit_count(f, flt, is_any), 3);
	flt = (struct audit_filter){ .since = "2026-01-10T00:00:03Z", .user = "alice" };
	assert_int_equal(audit_count(f, flt, is_alice), 7);
}

static void test_audit_list_paging(void **state)
{
	struct fixture *f = *state;
	struct user a = make_user(f, "alice", false);
	struct project p = make_project(f, "web");
	audit_fill(f, a.id, p.id);

	/* the whole list in one page, to compare with */
	struct audit_event *all = NULL;
	size_t n_all = 0;
	char *next = NULL;
	struct err err;
	struct audit_filter flt = { .limit = 100 };
	assert_int_equal(audit_list(f->c, &flt, &all, &n_all, &next, &err), 0);
	assert_int_equal(n_all, AUDIT_N);
	assert_null(next);
	assert_newest_first(all, n_all);
	assert_int_equal(audit_index(&all[0]) / 3, 9);
	assert_int_equal(audit_index(&all[AUDIT_N - 1]) / 3, 0);

	static const size_t limits[] = { 1, 2, 4, 7, 10, 29, 30 };
	for (size_t li = 0; li < ARRAY_SIZE(limits); li++) {
		size_t limit = limits[li], got = 0, pages = 0;
		char *key = NULL;
		do {
			struct audit_event *items = NULL;
			size_t n = 0;
			flt = (struct audit_filter){ .limit = limit, .after = key };
			err_clear(&err);
			int r = audit_list(f->c, &flt, &items, &n, &next, &err);
			if (r != 0)
				fail_msg("audit_list(limit %zu, after %s): %s", limit, key, err.message);
			free(key);
			key = next;
			pages++;
			assert_true(n == limit || (n == AUDIT_N - got && !next));
			assert_true(got + n <= AUDIT_N);
			for (size_t i = 0; i < n; i++)
				assert_string_equal(items[i].id, all[got + i].id);
			if (next) {
				char expect[TIME_RFC3339_SIZE + UUID_SIZE + 1];
				snprintf(expect, sizeof(expect), "%s %s", items[n - 1].time,
					 items[n - 1].id);
				assert_string_equal(next, expect);
			}
			got += n;
			free(items);
		} while (key && pages <= AUDIT_N);
		assert_int_equal(got, AUDIT_N);
		assert_int_equal(pages, (AUDIT_N + limit - 1) / limit);
	}

	/* no duplicates */
	for (size_t i = 0; i < n_all; i++)
		for (size_t j = i + 1; j < n_all; j++)
			assert_string_not_equal(all[i].id, all[j].id);

	/* paging with a filter: 15 zone.create in pages of 4 */
	char *key = NULL;
	size_t got = 0, pages = 0;
	do {
		struct audit_event *items = NULL;
		size_t n = 0;
		flt = (struct audit_filter){ .limit = 4, .action = "zone.create", .after = key };
		assert_int_equal(audit_list(f->c, &flt, &items, &n, &next, &err), 0);
		free(key);
		key = next;
		for (size_t i = 0; i < n; i++)
			assert_string_equal(items[i].action, "zone.create");
		got += n;
		pages++;
		free(items);
	} while (key && pages <= AUDIT_N);
	assert_int_equal(got, 15);
	assert_int_equal(pages, 4);
	free(all);
}

static void test_audit_list_bad_filters(void **state)
{
	struct fixture *f = *state;
	struct audit_event *items = NULL;
	size_t n = 0;
	char *next = NULL;
	struct err err;
	static const char *const bad_times[] = { "yesterday", "2026-01-10", "2026-13-01T00:00:00Z",
						 "2026-02-30T00:00:00Z", "2026-01-10T00:00:00+01:00",
						 "" };
	for (size_t i = 0; i < ARRAY_SIZE(bad_times); i++) {
		struct audit_filter flt = { .limit = 10, .since = bad_times[i] };
		err_clear(&err);
		assert_int_equal(audit_list(f->c, &flt, &items, &n, &next, &err), -ERR_INVALID);
		assert_int_equal(err.code, ERR_INVALID);
		assert_string_equal(err.field, "since");
		assert_string_equal(err.message, "since must be an RFC 3339 UTC time such as "
						 "2026-01-31T12:00:00Z");
		flt = (struct audit_filter){ .limit = 10, .until = bad_times[i] };
		err_clear(&err);
		assert_int_equal(audit_list(f->c, &flt, &items, &n, &next, &err), -ERR_INVALID);
		assert_string_equal(err.field, "until");
	}
	static const char *const bad_cursors[] = { "garbage", "2026-01-10T00:00:00.000Z",
						   "2026-01-10T00:00:00.000Z not-a-uuid", "" };
	for (size_t i = 0; i < ARRAY_SIZE(bad_cursors); i++) {
		struct audit_filter flt = { .limit = 10, .after = bad_cursors[i] };
		err_clear(&err);
		assert_int_equal(audit_list(f->c, &flt, &items, &n, &next, &err), -ERR_INVALID);
		assert_string_equal(err.field, "cursor");
	}
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_check),
		cmocka_unit_test(test_role_and_quota_names),
		T(test_user_create_rules),
		T(test_user_create_and_get),
		T(test_user_duplicate),
		T(test_user_list_paging),
		T(test_user_update),
		T(test_user_password_change_revokes_tokens),
		T(test_user_disable_revokes_tokens),
		T(test_user_verify_password),
		T(test_user_delete),
		T(test_bootstrap_once),
		T(test_bootstrap_skips_when_users_exist),
		T(test_reset_admin),
		T(test_reset_admin_creates_missing_admin),
		T(test_login_success),
		T(test_login_wrong_password_unknown_user),
		T(test_login_disabled),
		T(test_login_project_scope),
		T(test_auth_token_garbage),
		T(test_auth_token_expired),
		T(test_auth_token_revoked),
		T(test_personal_tokens),
		T(test_project_create_quotas),
		T(test_project_duplicate),
		T(test_member_set_and_role),
		T(test_member_list_remove),
		T(test_principal_role_in),
		T(test_project_list_by_user),
		T(test_project_delete_cascades),
		T(test_access_key_create),
		T(test_access_key_list_delete),
		T(test_access_key_quota),
		T(test_user_delete_releases_key_quota),
		T(test_member_set_unknown_project),
		cmocka_unit_test(test_sigv4_get_vanilla),
		T(test_auth_sigv4_header),
		T(test_auth_sigv4_clock),
		T(test_auth_sigv4_presigned),
		T(test_quota_charge_release),
		cmocka_unit_test_setup_teardown(test_quota_concurrent_charges, setup_wide, teardown),
		T(test_audit_record),
		T(test_audit_list_filters),
		T(test_audit_list_paging),
		T(test_audit_list_bad_filters),
	};
	return cmocka_run_group_tests_name("identity", tests, NULL, NULL);
}
