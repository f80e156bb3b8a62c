/* store-priv.h: the backend interface behind store.h, and what store.c,
 * its backends and unit tests share. Not for other modules. */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "store.h"

/* Return codes of backend step(). */
#define STORE_ROW 1
#define STORE_DONE 0

/* One pluggable database engine (sqlite now, postgres later). */
struct store_backend {
	const char *name;
	/* Open one connection to target. Returns 0 or -EIO with message in err. */
	int (*open)(const char *target, unsigned busy_timeout_ms, void **ret_db,
		    struct err *err);
	void (*close)(void *db);
	int (*exec)(void *db, const char *sql);
	int (*prepare)(void *db, const char *sql, void **ret_stmt);
	int (*bind_text)(void *stmt, int idx, const char *v);
	int (*bind_int)(void *stmt, int idx, int64_t v);
	int (*bind_null)(void *stmt, int idx);
	int (*step)(void *stmt);
	const char *(*col_text)(void *stmt, int i);
	int64_t (*col_int)(void *stmt, int i);
	bool (*col_null)(void *stmt, int i);
	int (*changes)(void *db);
	void (*finalize)(void *stmt);
	const char *(*errmsg)(void *db);
	const char *begin_sql; /* starts a write transaction */
};

extern const struct store_backend store_sqlite_backend;

struct store_conn {
	struct store *st;     /* the pool this connection belongs to */
	void *db;             /* backend handle */
	unsigned depth;       /* open transaction nesting */
	struct store_conn *next_free; /* free-list link, protected by st->lock */
};

struct store_stmt {
	struct store_conn *c; /* connection the statement runs on */
	void *stmt;           /* backend statement */
	double busy;          /* seconds spent in step so far */
};

struct store {
	const struct store_backend *be;
	pthread_mutex_t lock;    /* protects free and waiting */
	pthread_cond_t freed;    /* signalled when a connection is returned */
	struct store_conn *free; /* connections not in use */
	struct store_conn *conns;/* all connections, owned array */
	unsigned nconns;
	struct metrics *metrics; /* borrowed; may be NULL */
};

/* One numbered schema change. */
struct store_migration {
	int version;     /* 1, 2, 3... in order, never reused */
	const char *name;/* what it does, for the migrations table */
	const char *sql; /* portable SQL, may hold several statements */
};

/* The migrations this binary knows, in order. */
extern const struct store_migration store_migrations[];
extern const size_t store_migrations_count;
