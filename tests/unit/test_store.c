/* test_store: unit tests of src/store on a SQLite file in a scratch
 * directory under /tmp: migrations at open, the refusal of a newer schema,
 * nested transactions, statements, idempotency records and the pool under
 * several threads. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sqlite3.h>
#include <time.h>

#include "unit.h"

#include "lib/timeutil.h"
#include "lib/util.h"
#include "store/store-priv.h"
#include "store/store.h"

struct fixture {
	char dir[UNIT_DIR_SIZE];      /* scratch directory */
	char path[UNIT_DIR_SIZE + 16];/* the SQLite file in it */
	struct store *st;             /* open store, or NULL */
};

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	if (unit_tmpdir_make(f->dir) < 0) {
		free(f);
		return -1;
	}
	snprintf(f->path, sizeof(f->path), "%s/nubo.db", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	store_free(f->st);
	int r = unit_tmpdir_remove(f->dir);
	free(f);
	return r;
}

static int open_store(struct fixture *f, unsigned pool, struct err *err)
{
	struct store_opts o = { .url = f->path, .pool_size = pool, .busy_timeout_ms = 10000 };
	err_clear(err);
	return store_open(&o, &f->st, err);
}

static void reopen(struct fixture *f, unsigned pool)
{
	struct err err;
	store_free(f->st);
	f->st = NULL;
	int r = open_store(f, pool, &err);
	if (r != 0)
		fail_msg("store_open: %d %s", r, err.message);
}

/* The single integer a query answers. */
static int64_t query_int(struct store_conn *c, const char *sql)
{
	struct store_stmt *s = NULL;
	assert_int_equal(store_query(c, &s, sql, ""), 0);
	assert_int_equal(store_step(s), 1);
	int64_t v = store_col_int(s, 0);
	assert_int_equal(store_step(s), 0);
	store_stmt_free(s);
	return v;
}

static void make_table(struct store_conn *c)
{
	assert_int_equal(store_exec(c, "CREATE TABLE t (id INTEGER PRIMARY KEY,"
				       " v TEXT UNIQUE, n INTEGER, flag INTEGER)"),
			 0);
}

static int insert(struct store_conn *c, const char *v)
{
	return store_run(c, "INSERT INTO t (v) VALUES (?)", "s", v);
}

static int64_t count_t(struct store_conn *c)
{
	return query_int(c, "SELECT COUNT(*) FROM t");
}

/* ------------------------------------------------------------- open */

static void test_open_applies_migrations(void **state)
{
	struct fixture *f = *state;
	struct err err;
	assert_int_equal(open_store(f, 2, &err), 0);
	assert_non_null(f->st);
	assert_int_equal(err.code, ERR_NONE);
	assert_true(store_migrations_count >= 1);
	assert_int_equal(store_schema_latest(), store_migrations[store_migrations_count - 1].version);
	assert_int_equal(store_schema_version(f->st), store_schema_latest());
	assert_int_equal(store_ping(f->st), 0);

	struct store_conn *c = store_conn_get(f->st);
	assert_int_equal(query_int(c, "SELECT COUNT(*) FROM schema_migrations"),
			 (int64_t)store_migrations_count);
	assert_int_equal(query_int(c, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'"
				      " AND name IN ('zones', 'idempotency_keys')"),
			 2);
	/* the pragmas every connection gets */
	struct store_stmt *s = NULL;
	assert_int_equal(store_query(c, &s, "PRAGMA journal_mode", ""), 0);
	assert_int_equal(store_step(s), 1);
	assert_string_equal(store_col_text(s, 0), "wal");
	store_stmt_free(s);
	assert_int_equal(query_int(c, "PRAGMA foreign_keys"), 1);
	/* each applied migration is recorded with its time */
	assert_int_equal(store_query(c, &s, "SELECT version, name, applied_at FROM"
					   " schema_migrations ORDER BY version", ""),
			 0);
	for (size_t i = 0; i < store_migrations_count; i++) {
		assert_int_equal(store_step(s), 1);
		assert_int_equal(store_col_int(s, 0), store_migrations[i].version);
		assert_string_equal(store_col_text(s, 1), store_migrations[i].name);
		int64_t ms = 0;
		assert_int_equal(time_rfc3339_parse(store_col_text(s, 2), &ms), 0);
	}
	assert_int_equal(store_step(s), 0);
	store_stmt_free(s);
	store_conn_put(c);
}

static void test_reopen_is_idempotent(void **state)
{
	struct fixture *f = *state;
	struct err err;
	assert_int_equal(open_store(f, 1, &err), 0);
	struct store_conn *c = store_conn_get(f->st);
	make_table(c);
	assert_int_equal(insert(c, "kept"), 1);
	store_conn_put(c);

	for (int i = 0; i < 3; i++) {
		reopen(f, i + 1);
		assert_int_equal(store_schema_version(f->st), store_schema_latest());
		c = store_conn_get(f->st);
		assert_int_equal(query_int(c, "SELECT COUNT(*) FROM schema_migrations"),
				 (int64_t)store_migrations_count);
		assert_int_equal(count_t(c), 1);
		store_conn_put(c);
	}
}

static void test_newer_schema_refused(void **state)
{
	struct fixture *f = *state;
	struct err err;
	assert_int_equal(open_store(f, 1, &err), 0);
	int latest = store_schema_latest();
	struct store_conn *c = store_conn_get(f->st);
	assert_int_equal(store_run(c, "INSERT INTO schema_migrations (version, name, applied_at)"
				      " VALUES (?, 'from the future', '2099-01-01T00:00:00.000Z')",
				   "i", (int64_t)latest + 1),
			 1);
	store_conn_put(c);
	store_free(f->st);
	f->st = NULL;

	static char sentinel;
	struct store *st = (struct store *)&sentinel; /* must stay untouched */
	struct store_opts o = { .url = f->path, .pool_size = 2, .busy_timeout_ms = 1000 };
	err_clear(&err);
	assert_int_equal(store_open(&o, &st, &err), -ERR_CONFLICT);
	assert_ptr_equal(st, (struct store *)&sentinel);
	assert_int_equal(err.code, ERR_CONFLICT);
	char newer[64], known[64];
	snprintf(newer, sizeof(newer), "schema is version %d ", latest + 1);
	snprintf(known, sizeof(known), "up to version %d", latest);
	if (!strstr(err.message, newer) || !strstr(err.message, known))
		fail_msg("message does not name both versions: %s", err.message);

	/* the refusal changed nothing: read the file with SQLite itself */
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	sqlite3_stmt *q = NULL;
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT COUNT(*), MAX(version) FROM"
						" schema_migrations", -1, &q, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int64(q, 0), (int64_t)store_migrations_count + 1);
	assert_int_equal(sqlite3_column_int64(q, 1), latest + 1);
	sqlite3_finalize(q);
	sqlite3_close(db);

	/* and it stays refused */
	err_clear(&err);
	assert_int_equal(store_open(&o, &st, &err), -ERR_CONFLICT);
	assert_ptr_equal(st, (struct store *)&sentinel);
}

static void test_sqlite_url_prefix(void **state)
{
	struct fixture *f = *state;
	char url[UNIT_DIR_SIZE + 32];
	snprintf(url, sizeof(url), "sqlite:%s", f->path);
	struct store_opts o = { .url = url, .pool_size = 0, .busy_timeout_ms = 1000 };
	struct err err;
	err_clear(&err);
	assert_int_equal(store_open(&o, &f->st, &err), 0);
	assert_int_equal(store_schema_version(f->st), store_schema_latest());
	/* the file is the path after the prefix */
	assert_int_equal(access(f->path, F_OK), 0);

	/* a directory that does not exist cannot hold the store */
	struct store *st = NULL;
	struct store_opts missing = { .url = "/nonexistent-dir-for-nubo-tests/x.db",
				      .pool_size = 1 };
	err_clear(&err);
	assert_int_equal(store_open(&missing, &st, &err) < 0, 1);
	assert_null(st);
	assert_int_equal(err.code, ERR_UNAVAILABLE);

	/* only SQLite is built */
	struct store_opts pg = { .url = "postgresql://localhost/nubo", .pool_size = 1 };
	err_clear(&err);
	assert_int_equal(store_open(&pg, &st, &err), -ERR_INVALID);
	assert_null(st);
	assert_int_equal(err.code, ERR_INVALID);
	assert_string_equal(err.field, "store");
}

/* ------------------------------------------------------ transactions */

static void test_nested_savepoint_rollback(void **state)
{
	struct fixture *f = *state;
	struct err err;
	assert_int_equal(open_store(f, 1, &err), 0);
	struct store_conn *c = store_conn_get(f->st);
	make_table(c);

	assert_int_equal(store_txn_depth(c), 0);
	assert_int_equal(store_txn_begin(c), 0);
	assert_int_equal(store_txn_depth(c), 1);
	assert_int_equal(insert(c, "outer"), 1);
	assert_int_equal(store_txn_begin(c), 0);
	assert_int_equal(store_txn_depth(c), 2);
	assert_int_equal(insert(c, "inner"), 1);
	assert_int_equal(count_t(c), 2);
	assert_int_equal(store_txn_rollback(c), 0);
	assert_int_equal(store_txn_depth(c), 1);
	assert_int_equal(count_t(c), 1);
	/* the savepoint is gone, the outer transaction goes on */
	assert_int_equal(insert(c, "after"), 1);
	assert_int_equal(store_txn_commit(c), 0);
	assert_int_equal(store_txn_depth(c), 0);
	assert_int_equal(count_t(c), 2);
	assert_int_equal(query_int(c, "SELECT COUNT(*) FROM t WHERE v IN ('outer', 'after')"), 2);

	/* three levels: roll back the innermost, keep the middle one */
	assert_int_equal(store_txn_begin(c), 0);
	assert_int_equal(insert(c, "l1"), 1);
	assert_int_equal(store_txn_begin(c), 0);
	assert_int_equal(insert(c, "l2"), 1);
	assert_int_equal(store_txn_begin(c), 0);
	assert_int_equal(store_txn_depth(c), 3);
	assert_int_equal(insert(c, "l3"), 1);
	assert_int_equal(store_txn_rollback(c), 0);
	assert_int_equal(store_txn_commit(c), 0);
	assert_int_equal(store_txn_depth(c), 1);
	assert_int_equal(store_txn_commit(c), 0);
	assert_int_equal(query_int(c, "SELECT COUNT(*) FROM t WHERE v IN ('l1', 'l2')"), 2);
	assert_int_equal(query_int(c, "SELECT COUNT(*) FROM t WHERE v = 'l3'"), 0);

	/* nothing to end */
	assert_int_equal(store_txn_commit(c), -EINVAL);
	assert_int_equal(store_txn_rollback(c), -EINVAL);
	assert_int_equal(store_txn_depth(c), 0);
	store_conn_put(c);
}

static void test_outer_rollback_drops_everything(void **state)
{
	struct fixture *f = *state;
	struct err err;
	assert_int_equal(open_store(f, 1, &err), 0);
	struct store_conn *c = store_conn_get(f->st);
	make_table(c);

	assert_int_equal(store_txn_begin(c), 0);
	assert_int_equal(insert(c, "a"), 1);
	assert_int_equal(store_txn_begin(c), 0);
	assert_int_equal(insert(c, "b"), 1);
	assert_int_equal(store_txn_commit(c), 0); /* releases the savepoint only */
	assert_int_equal(store_txn_depth(c), 1);
	assert_int_equal(count_t(c), 2);
	assert_int_equal(store_txn_rollback(c), 0);
	assert_int_equal(store_txn_depth(c), 0);
	assert_int_equal(count_t(c), 0);

	/* and a new transaction starts clean */
	assert_int_equal(store_txn_begin(c), 0);
	assert_int_equal(insert(c, "c"), 1);
	assert_int_equal(store_txn_commit(c), 0);
	assert_int_equal(count_t(c), 1);
	store_conn_put(c);
}

static void test_conn_put_rolls_back(void **state)
{
	struct fixture *f = *state;
	struct err err;
	assert_int_equal(open_store(f, 2, &err), 0);
	struct store_conn *c1 = store_conn_get(f->st);
	struct store_conn *c2 = store_conn_get(f->st);
	assert_ptr_not_equal(c1, c2);
	make_table(c1);

	assert_int_equal(store_txn_begin(c1), 0);
	assert_int_equal(insert(c1, "lost"), 1);
	assert_int_equal(store_txn_begin(c1), 0);
	assert_int_equal(insert(c1, "lost too"), 1);
	/* the other connection does not see uncommitted rows */
	assert_int_equal(count_t(c2), 0);
	store_conn_put(c1); /* two levels left open */
	assert_int_equal(store_txn_depth(c1), 0);

	/* the write lock was released: the other connection can write at once */
	double t0 = time_mono();
	assert_int_equal(store_txn_begin(c2), 0);
	assert_true(time_mono() - t0 < 5.0);
	assert_int_equal(insert(c2, "kept"), 1);
	assert_int_equal(store_txn_commit(c2), 0);
	assert_int_equal(count_t(c2), 1);
	store_conn_put(c2);

	c1 = store_conn_get(f->st);
	assert_int_equal(store_txn_depth(c1), 0);
	assert_int_equal(query_int(c1, "SELECT COUNT(*) FROM t WHERE v LIKE 'lost%'"), 0);
	store_conn_put(c1);
	store_conn_put(NULL);
}

/* --------------------------------------------------------- statements */

static void test_run_and_query(void **state)
{
	struct fixture *f = *state;
	struct err err;
	assert_int_equal(open_store(f, 1, &err), 0);
	struct store_conn *c = store_conn_get(f->st);
	make_table(c);

	assert_int_equal(store_run(c, "INSERT INTO t (v, n, flag) VALUES (?, ?, ?)", "sib", "a",
				   (int64_t)-7, true),
			 1);
	assert_int_equal(store_run(c, "INSERT INTO t (v, n, flag) VALUES (?, ?, ?)", "sib", "b",
				   (int64_t)INT64_MAX, false),
			 1);
	assert_int_equal(store_run(c, "INSERT INTO t (v, n) VALUES (?, ?)", "si", NULL,
				   (int64_t)3),
			 1);
	assert_int_equal(store_run(c, "UPDATE t SET n = n", ""), 3);
	assert_int_equal(store_run(c, "UPDATE t SET flag = 1 WHERE v IS NOT NULL", ""), 2);
	assert_int_equal(store_run(c, "DELETE FROM t WHERE v = ?", "s", "nothing"), 0);

	/* a unique violation */
	assert_int_equal(store_run(c, "INSERT INTO t (v) VALUES (?)", "s", "a"), -EEXIST);
	assert_int_equal(count_t(c), 3);

	struct store_stmt *s = NULL;
	assert_int_equal(store_query(c, &s, "SELECT v, n, flag FROM t ORDER BY id", ""), 0);
	assert_int_equal(store_step(s), 1);
	assert_string_equal(store_col_text(s, 0), "a");
	assert_int_equal(store_col_int(s, 1), -7);
	assert_int_equal(store_col_int(s, 2), 1);
	assert_false(store_col_null(s, 0));
	assert_int_equal(store_step(s), 1);
	assert_string_equal(store_col_text(s, 0), "b");
	assert_true(store_col_int(s, 1) == INT64_MAX);
	assert_int_equal(store_step(s), 1);
	assert_true(store_col_null(s, 0));
	assert_null(store_col_text(s, 0));
	assert_int_equal(store_col_int(s, 1), 3);
	assert_true(store_col_null(s, 2));
	assert_int_equal(store_col_int(s, 2), 0);
	assert_int_equal(store_step(s), 0);
	store_stmt_free(s);
	store_stmt_free(NULL);

	/* text is bound as given, quotes and all */
	const char *tricky = "it's \"quoted\"; DROP TABLE t; --";
	assert_int_equal(insert(c, tricky), 1);
	assert_int_equal(store_query(c, &s, "SELECT COUNT(*) FROM t WHERE v = ?", "s", tricky), 0);
	assert_int_equal(store_step(s), 1);
	assert_int_equal(store_col_int(s, 0), 1);
	store_stmt_free(s);

	/* errors */
	s = NULL;
	assert_int_equal(store_query(c, &s, "SELEKT 1", ""), -EIO);
	assert_null(s);
	assert_non_null(strstr(store_errmsg(c), "syntax error"));
	assert_int_equal(store_run(c, "INSERT INTO nosuch (x) VALUES (1)", ""), -EIO);
	assert_non_null(strstr(store_errmsg(c), "no such table"));
	assert_int_equal(store_run(c, "INSERT INTO t (v) VALUES (?)", "x", "a"), -EINVAL);
	assert_int_equal(store_exec(c, "CREATE TABLE t (x)"), -EIO);
	assert_int_equal(store_exec(c, "INSERT INTO t (v) VALUES ('e1'); INSERT INTO t (v) VALUES ('e2')"),
			 0);
	assert_int_equal(count_t(c), 6);
	store_conn_put(c);
}

/* -------------------------------------------------------- idempotency */

static void idem_fill(struct store_idem *i, unsigned status, const char *body,
		      const char *location, int64_t created_ms)
{
	memset(i, 0, sizeof(*i));
	snprintf(i->request_hash, sizeof(i->request_hash), "%064d", (int)status);
	i->status = status;
	i->body = (char *)body;
	i->location = (char *)location;
	i->created_ms = created_ms;
}

static int64_t idem_rows(struct store_conn *c)
{
	return query_int(c, "SELECT COUNT(*) FROM idempotency_keys");
}

static void test_idem_put_get(void **state)
{
	struct fixture *f = *state;
	struct err err;
	assert_int_equal(open_store(f, 1, &err), 0);
	struct store_conn *c = store_conn_get(f->st);
	int64_t now = time_now_ms();
	const int64_t day = 24 * 3600 * 1000LL;

	struct store_idem in, out;
	idem_fill(&in, 201, "{\"id\":\"z\"}", "/v1/zones/z", now);
	assert_int_equal(store_idem_put(c, "user-1", "key-1", &in), 0);
	idem_fill(&in, 204, NULL, NULL, now);
	assert_int_equal(store_idem_put(c, "user-1", "key-2", &in), 0);

	memset(&out, 0x55, sizeof(out));
	assert_int_equal(store_idem_get(c, "user-1", "key-1", day, &out), 0);
	char hash[65];
	snprintf(hash, sizeof(hash), "%064d", 201);
	assert_string_equal(out.request_hash, hash);
	assert_int_equal(out.status, 201);
	assert_string_equal(out.body, "{\"id\":\"z\"}");
	assert_non_null(out.location);
	assert_string_equal(out.location, "/v1/zones/z");
	assert_int_equal(out.created_ms, now);
	store_idem_release(&out);
	assert_null(out.body);
	assert_null(out.location);

	assert_int_equal(store_idem_get(c, "user-1", "key-2", day, &out), 0);
	assert_int_equal(out.status, 204);
	assert_string_equal(out.body, "");
	assert_null(out.location);
	store_idem_release(&out);
	store_idem_release(NULL);

	/* absent: another key, or the same key in another scope */
	assert_int_equal(store_idem_get(c, "user-1", "key-3", day, &out), -ENOENT);
	assert_int_equal(store_idem_get(c, "user-2", "key-1", day, &out), -ENOENT);

	/* a key is stored once per scope */
	idem_fill(&in, 500, "other", NULL, now);
	assert_int_equal(store_idem_put(c, "user-1", "key-1", &in), -EEXIST);
	assert_int_equal(store_idem_put(c, "user-2", "key-1", &in), 0);
	assert_int_equal(store_idem_get(c, "user-1", "key-1", day, &out), 0);
	assert_int_equal(out.status, 201);
	store_idem_release(&out);
	assert_int_equal(idem_rows(c), 3);
	store_conn_put(c);
}

static void test_idem_expiry_and_purge(void **state)
{
	struct fixture *f = *state;
	struct err err;
	assert_int_equal(open_store(f, 1, &err), 0);
	struct store_conn *c = store_conn_get(f->st);
	int64_t now = time_now_ms();
	struct store_idem in, out;

	idem_fill(&in, 201, "old", NULL, now - 60000);
	assert_int_equal(store_idem_put(c, "s", "old", &in), 0);
	idem_fill(&in, 201, "new", NULL, now);
	assert_int_equal(store_idem_put(c, "s", "new", &in), 0);

	/* young enough for a long max age */
	assert_int_equal(store_idem_get(c, "s", "old", 120000, &out), 0);
	assert_string_equal(out.body, "old");
	store_idem_release(&out);
	/* too old for a short one: absent, and deleted */
	assert_int_equal(store_idem_get(c, "s", "old", 30000, &out), -ENOENT);
	assert_int_equal(idem_rows(c), 1);
	assert_int_equal(store_idem_get(c, "s", "old", 120000, &out), -ENOENT);
	/* the key can be used again */
	idem_fill(&in, 202, "again", NULL, now);
	assert_int_equal(store_idem_put(c, "s", "old", &in), 0);
	assert_int_equal(store_idem_get(c, "s", "old", 30000, &out), 0);
	assert_int_equal(out.status, 202);
	store_idem_release(&out);
	assert_int_equal(store_run(c, "DELETE FROM idempotency_keys", ""), 2);

	/* purge by creation time */
	for (int i = 1; i <= 3; i++) {
		char key[16];
		snprintf(key, sizeof(key), "k%d", i);
		idem_fill(&in, 200, "x", NULL, i * 1000);
		assert_int_equal(store_idem_put(c, "s", key, &in), 0);
	}
	assert_int_equal(store_idem_purge(c, 1000), 0); /* strictly before */
	assert_int_equal(store_idem_purge(c, 2500), 2);
	assert_int_equal(store_idem_purge(c, 2500), 0);
	assert_int_equal(idem_rows(c), 1);
	assert_int_equal(query_int(c, "SELECT created_ms FROM idempotency_keys"), 3000);
	assert_int_equal(store_idem_purge(c, INT64_MAX), 1);
	assert_int_equal(idem_rows(c), 0);
	store_conn_put(c);
}

/* ---------------------------------------------------------------- pool */

#define POOL_THREADS 4
#define POOL_INSERTS 50

struct worker {
	struct store *st;
	int id;
	int failures;         /* operations that did not return what they should */
	int first_error;      /* the first unexpected return value */
};

static void *pool_worker(void *arg)
{
	struct worker *w = arg;
	for (int i = 0; i < POOL_INSERTS; i++) {
		struct store_conn *c = store_conn_get(w->st);
		char v[32];
		snprintf(v, sizeof(v), "w%d-%d", w->id, i);
		int r = store_txn_begin(c);
		if (r == 0) {
			r = store_run(c, "INSERT INTO t (v, n) VALUES (?, ?)", "si", v,
				      (int64_t)w->id);
			if (r == 1)
				r = store_txn_commit(c);
			else
				r = r < 0 ? r : -1000 - r;
		}
		if (r != 0) {
			if (!w->failures)
				w->first_error = r;
			w->failures++;
		}
		store_conn_put(c);
	}
	return NULL;
}

static void test_pool_threads(void **state)
{
	struct fixture *f = *state;
	struct err err;
	assert_int_equal(open_store(f, 2, &err), 0);
	struct store_conn *c = store_conn_get(f->st);
	make_table(c);
	store_conn_put(c);

	pthread_t th[POOL_THREADS];
	struct worker w[POOL_THREADS];
	for (int i = 0; i < POOL_THREADS; i++) {
		w[i] = (struct worker){ .st = f->st, .id = i };
		assert_int_equal(pthread_create(&th[i], NULL, pool_worker, &w[i]), 0);
	}
	for (int i = 0; i < POOL_THREADS; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	for (int i = 0; i < POOL_THREADS; i++)
		if (w[i].failures)
			fail_msg("thread %d: %d failures, first %d", i, w[i].failures,
				 w[i].first_error);

	c = store_conn_get(f->st);
	assert_int_equal(count_t(c), POOL_THREADS * POOL_INSERTS);
	struct store_stmt *s = NULL;
	assert_int_equal(store_query(c, &s, "SELECT n, COUNT(DISTINCT v) FROM t GROUP BY n"
					   " ORDER BY n", ""),
			 0);
	for (int i = 0; i < POOL_THREADS; i++) {
		assert_int_equal(store_step(s), 1);
		assert_int_equal(store_col_int(s, 0), i);
		assert_int_equal(store_col_int(s, 1), POOL_INSERTS);
	}
	assert_int_equal(store_step(s), 0);
	store_stmt_free(s);
	store_conn_put(c);
}

struct waiter {
	struct store *st;
	atomic_bool got;           /* the waiting thread has its connection */
	struct store_conn *conn;   /* what it got */
};

static void *conn_waiter(void *arg)
{
	struct waiter *wt = arg;
	struct store_conn *c = store_conn_get(wt->st);
	wt->conn = c;
	atomic_store(&wt->got, true);
	store_conn_put(c);
	return NULL;
}

static void test_pool_waits_for_a_connection(void **state)
{
	struct fixture *f = *state;
	struct err err;
	assert_int_equal(open_store(f, 2, &err), 0);
	struct store_conn *a = store_conn_get(f->st);
	struct store_conn *b = store_conn_get(f->st);

	struct waiter wt = { .st = f->st };
	atomic_init(&wt.got, false);
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, conn_waiter, &wt), 0);
	struct timespec ts = { .tv_sec = 0, .tv_nsec = 100 * 1000 * 1000 };
	nanosleep(&ts, NULL);
	assert_false(atomic_load(&wt.got)); /* both connections are out */
	store_conn_put(b);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_true(atomic_load(&wt.got));
	assert_ptr_equal(wt.conn, b);
	store_conn_put(a);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_open_applies_migrations),
		T(test_reopen_is_idempotent),
		T(test_newer_schema_refused),
		T(test_sqlite_url_prefix),
		T(test_nested_savepoint_rollback),
		T(test_outer_rollback_drops_everything),
		T(test_conn_put_rolls_back),
		T(test_run_and_query),
		T(test_idem_put_get),
		T(test_idem_expiry_and_purge),
		T(test_pool_threads),
		T(test_pool_waits_for_a_connection),
	};
	return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
