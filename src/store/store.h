/* store: the state store. A pool of connections to one database (SQLite
 * now; PostgreSQL behind the same calls later), numbered schema migrations
 * applied at open, transactions that nest as savepoints, and statements
 * with '?' placeholders bound from a type string. Domain modules write
 * portable SQL through these calls and never see the backend.
 *
 * Errors are negative errno values: -EEXIST (a unique or primary key
 * constraint), -EINVAL (another constraint: NOT NULL, foreign key), -EBUSY
 * (the database stayed locked), -EIO (anything else; store_errmsg() says
 * what). The store never logs: callers decide. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"
#include "lib/metrics.h"

struct store;
struct store_conn;
struct store_stmt;

struct store_opts {
	const char *url;          /* "sqlite:PATH" or a plain path to a SQLite file */
	unsigned pool_size;       /* connections in the pool (at least 1) */
	unsigned busy_timeout_ms; /* how long a write waits for the lock */
	struct metrics *metrics;  /* statement latency goes here; may be NULL */
};

/* Open the store and bring its schema up to date. Refuses (ERR_CONFLICT) a
 * store whose schema is newer than this binary. Returns 0 and a store the
 * caller frees with store_free(), or a negative code with err set. */
int store_open(const struct store_opts *opts, struct store **ret, struct err *err);
/* Close every connection and free the store. Accepts NULL. */
void store_free(struct store *st);
/* The schema version this binary knows (the last migration). */
int store_schema_latest(void);
/* The schema version recorded in the store. */
int store_schema_version(struct store *st);
/* Check that the store answers a trivial query. Returns 0 or -EIO. */
int store_ping(struct store *st);

/* Borrow a connection, waiting for one to be free. Give it back with
 * store_conn_put(). */
struct store_conn *store_conn_get(struct store *st);
/* Return a connection to the pool, rolling back a transaction left open.
 * Accepts NULL. */
void store_conn_put(struct store_conn *c);
/* The backend's last error message on c (borrowed). */
const char *store_errmsg(struct store_conn *c);

/* Begin a write transaction, or a savepoint inside one already open. */
int store_txn_begin(struct store_conn *c);
/* Commit the innermost transaction or release its savepoint. */
int store_txn_commit(struct store_conn *c);
/* Roll back the innermost transaction or savepoint. */
int store_txn_rollback(struct store_conn *c);
/* Nesting depth of open transactions (0: none). */
unsigned store_txn_depth(struct store_conn *c);

/* Run SQL without parameters (may hold several statements). */
int store_exec(struct store_conn *c, const char *sql);
/* Prepare sql and bind one argument per character of types:
 * 's' const char * (NULL binds SQL NULL), 'i' int64_t, 'b' bool (as 0/1).
 * Returns 0 and a statement freed with store_stmt_free(). */
int store_query(struct store_conn *c, struct store_stmt **ret, const char *sql,
		const char *types, ...);
/* Run a statement that returns no rows. Returns the number of rows changed
 * (>= 0) or a negative error. Same argument rules as store_query. */
int store_run(struct store_conn *c, const char *sql, const char *types, ...);
/* Fetch the next row: 1 for a row, 0 when done, negative on error. */
int store_step(struct store_stmt *s);
/* Column i of the current row as text (NULL for SQL NULL). Borrowed until
 * the next step or free. */
const char *store_col_text(struct store_stmt *s, int i);
/* Column i of the current row as an integer (0 for NULL). */
int64_t store_col_int(struct store_stmt *s, int i);
/* True when column i of the current row is NULL. */
bool store_col_null(struct store_stmt *s, int i);
/* Convert the current row of a statement into the item at out. */
typedef void (*store_row_fn)(struct store_stmt *s, void *out);
/* Step s through its rows, converting each with from_row into a growing
 * array of elem_size items; with limit > 0 stop after limit rows and set
 * *ret_more when another row follows (ret_more may be NULL). Frees s.
 * Returns 0 and an array the caller frees (never NULL), or a negative
 * store error (nothing to free). */
int store_fetch(struct store_stmt *s, size_t elem_size, size_t limit, store_row_fn from_row,
		void **ret, size_t *ret_n, bool *ret_more);
/* Step s once: convert its first row with from_row into out and return 1,
 * or return 0 when there is no row, or a negative store error. Frees s. */
int store_fetch_one(struct store_stmt *s, store_row_fn from_row, void *out);
/* Look up one row by reference: `select` ("SELECT cols FROM table") is
 * completed with "WHERE id = lower(?)" when ref has the form of a UUID, else
 * "WHERE name = ?"; the row goes through from_row into out. No row:
 * ERR_NOT_FOUND "no <what> '<ref>'". Returns 0 or a -ERR_* code. */
int store_get_ref(struct store_conn *c, const char *select, const char *ref,
		  store_row_fn from_row, void *out, const char *what, struct err *err);
/* Finish with a statement. Accepts NULL. */
void store_stmt_free(struct store_stmt *s);

/* Turn a store error r into an err for the caller to report: -EBUSY gives
 * ERR_BUSY ("retry"), anything else ERR_INTERNAL with the backend's message.
 * Returns the -ERR_* code. */
int store_fail(struct store_conn *c, int r, struct err *err);

/* A stored answer to a request made with an Idempotency-Key. */
struct store_idem {
	char request_hash[65]; /* SHA-256 of the request that first used the key */
	unsigned status;       /* HTTP status answered */
	char *body;            /* response body, owned; free with store_idem_release */
	char *location;        /* Location header or NULL, owned */
	int64_t created_ms;    /* when it was stored, Unix ms */
};

/* Look up key within scope (who made the request). Returns 0 and fills ret,
 * or -ENOENT, or another negative error. Records older than max_age_ms are
 * treated as absent and deleted. */
int store_idem_get(struct store_conn *c, const char *scope, const char *key,
		   int64_t max_age_ms, struct store_idem *ret);
/* Store the answer to a request made with key. -EEXIST when the key was
 * stored meanwhile. */
int store_idem_put(struct store_conn *c, const char *scope, const char *key,
		   const struct store_idem *idem);
/* Delete records created before before_ms. Returns how many, or negative. */
int store_idem_purge(struct store_conn *c, int64_t before_ms);
/* Free what store_idem_get allocated in idem. */
void store_idem_release(struct store_idem *idem);
