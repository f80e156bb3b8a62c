/* store_sqlite: the SQLite backend. WAL journal (readers never block the
 * writer), synchronous=FULL (a committed transaction survives power loss,
 * not only a crash of nubod), foreign keys on, and a busy timeout so that
 * writers queue for the lock instead of failing. Connections are opened
 * NOMUTEX: the pool guarantees one thread per connection at a time. */
#include <errno.h>
#include <sqlite3.h>
#include <string.h>

#include "store-priv.h"

static int map_rc(int rc)
{
	if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY)
		return -EEXIST;
	switch (rc & 0xff) {
	case SQLITE_OK:
		return 0;
	case SQLITE_ROW:
		return STORE_ROW;
	case SQLITE_DONE:
		return STORE_DONE;
	case SQLITE_CONSTRAINT:
		return -EINVAL; /* NOT NULL, foreign key, check: a caller's mistake */
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	default:
		return -EIO;
	}
}

static int sq_open(const char *target, unsigned busy_timeout_ms, void **ret_db, struct err *err)
{
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(target, &db,
				 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
				 NULL);
	if (rc != SQLITE_OK) {
		err_set(err, ERR_UNAVAILABLE, "", "cannot open SQLite store %s: %s", target,
			db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
		sqlite3_close(db);
		return -EIO;
	}
	sqlite3_busy_timeout(db, (int)busy_timeout_ms);
	sqlite3_extended_result_codes(db, 1);
	static const char setup[] = "PRAGMA journal_mode=WAL;"
				    "PRAGMA synchronous=FULL;"
				    "PRAGMA foreign_keys=ON;";
	rc = sqlite3_exec(db, setup, NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		err_set(err, ERR_UNAVAILABLE, "", "cannot set up SQLite store %s: %s", target,
			sqlite3_errmsg(db));
		sqlite3_close(db);
		return -EIO;
	}
	*ret_db = db;
	return 0;
}

static void sq_close(void *db)
{
	sqlite3_close(db);
}

static int sq_exec(void *db, const char *sql)
{
	return map_rc(sqlite3_exec(db, sql, NULL, NULL, NULL));
}

static int sq_prepare(void *db, const char *sql, void **ret_stmt)
{
	sqlite3_stmt *s = NULL;
	int rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL);
	if (rc != SQLITE_OK)
		return map_rc(rc) ? map_rc(rc) : -EIO;
	*ret_stmt = s;
	return 0;
}

static int sq_bind_text(void *stmt, int idx, const char *v)
{
	return map_rc(sqlite3_bind_text(stmt, idx, v, -1, SQLITE_TRANSIENT));
}

static int sq_bind_int(void *stmt, int idx, int64_t v)
{
	return map_rc(sqlite3_bind_int64(stmt, idx, v));
}

static int sq_bind_null(void *stmt, int idx)
{
	return map_rc(sqlite3_bind_null(stmt, idx));
}

static int sq_step(void *stmt)
{
	return map_rc(sqlite3_step(stmt));
}

static const char *sq_col_text(void *stmt, int i)
{
	return (const char *)sqlite3_column_text(stmt, i);
}

static int64_t sq_col_int(void *stmt, int i)
{
	return sqlite3_column_int64(stmt, i);
}

static bool sq_col_null(void *stmt, int i)
{
	return sqlite3_column_type(stmt, i) == SQLITE_NULL;
}

static int sq_changes(void *db)
{
	return sqlite3_changes(db);
}

static void sq_finalize(void *stmt)
{
	sqlite3_finalize(stmt);
}

static const char *sq_errmsg(void *db)
{
	return sqlite3_errmsg(db);
}

const struct store_backend store_sqlite_backend = {
	.name = "sqlite",
	.open = sq_open,
	.close = sq_close,
	.exec = sq_exec,
	.prepare = sq_prepare,
	.bind_text = sq_bind_text,
	.bind_int = sq_bind_int,
	.bind_null = sq_bind_null,
	.step = sq_step,
	.col_text = sq_col_text,
	.col_int = sq_col_int,
	.col_null = sq_col_null,
	.changes = sq_changes,
	.finalize = sq_finalize,
	.errmsg = sq_errmsg,
	/* IMMEDIATE takes the write lock up front: a deferred transaction that
	 * reads and then writes can fail with SQLITE_BUSY without waiting. */
	.begin_sql = "BEGIN IMMEDIATE",
};
