/* store: see store.h.
 *
 * The pool: all connections are opened at start; a request borrows one
 * for its whole life and gives it back. Waiting happens on a condition
 * variable, never while holding a connection, so the pool cannot deadlock
 * as long as nobody borrows two at once (nobody does).
 *
 * Nesting: the outermost store_txn_begin() runs the backend's BEGIN; inner
 * ones are SAVEPOINTs, so a domain function can wrap its own work in a
 * transaction and still be called inside a larger one (the API wraps a
 * request made with an Idempotency-Key, together with its stored answer). */
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/crypto.h"
#include "lib/timeutil.h"
#include "lib/util.h"
#include "store-priv.h"

static const char *backend_target(const char *url, const struct store_backend **ret_be)
{
	*ret_be = &store_sqlite_backend;
	if (str_starts_with(url, "sqlite:"))
		return url + strlen("sqlite:");
	if (strstr(url, "://"))
		return NULL; /* postgresql:// and friends are not built yet */
	return url;
}

struct store_conn *store_conn_get(struct store *st)
{
	pthread_mutex_lock(&st->lock);
	while (!st->free)
		pthread_cond_wait(&st->freed, &st->lock);
	struct store_conn *c = st->free;
	st->free = c->next_free;
	pthread_mutex_unlock(&st->lock);
	return c;
}

void store_conn_put(struct store_conn *c)
{
	if (!c)
		return;
	while (c->depth > 0)
		store_txn_rollback(c);
	struct store *st = c->st;
	pthread_mutex_lock(&st->lock);
	c->next_free = st->free;
	st->free = c;
	pthread_cond_signal(&st->freed);
	pthread_mutex_unlock(&st->lock);
}

const char *store_errmsg(struct store_conn *c)
{
	return c->st->be->errmsg(c->db);
}

static void observe(struct store *st, const char *op, double secs)
{
	if (!st->metrics)
		return;
	char labels[32];
	str_printf(labels, sizeof(labels), "op=\"%s\"", op);
	metrics_observe(st->metrics, "nubo_store_duration_seconds", labels, secs);
}

int store_exec(struct store_conn *c, const char *sql)
{
	return c->st->be->exec(c->db, sql);
}

int store_txn_begin(struct store_conn *c)
{
	char sql[32];
	const char *q = c->st->be->begin_sql;
	if (c->depth > 0) {
		str_printf(sql, sizeof(sql), "SAVEPOINT sp%u", c->depth);
		q = sql;
	}
	int r = store_exec(c, q);
	if (r == 0)
		c->depth++;
	return r;
}

int store_txn_commit(struct store_conn *c)
{
	if (c->depth == 0)
		return -EINVAL;
	if (c->depth > 1) {
		char sql[32];
		str_printf(sql, sizeof(sql), "RELEASE SAVEPOINT sp%u", c->depth - 1);
		int r = store_exec(c, sql);
		if (r == 0)
			c->depth--;
		return r;
	}
	double t0 = time_mono();
	int r = store_exec(c, "COMMIT");
	observe(c->st, "commit", time_mono() - t0);
	if (r < 0) {
		store_exec(c, "ROLLBACK");
	}
	c->depth = 0;
	return r;
}

int store_txn_rollback(struct store_conn *c)
{
	if (c->depth == 0)
		return -EINVAL;
	int r;
	if (c->depth > 1) {
		char sql[64];
		str_printf(sql, sizeof(sql), "ROLLBACK TO SAVEPOINT sp%u; RELEASE SAVEPOINT sp%u",
			   c->depth - 1, c->depth - 1);
		r = store_exec(c, sql);
	} else {
		r = store_exec(c, "ROLLBACK");
	}
	c->depth--;
	return r;
}

int store_fail(struct store_conn *c, int r, struct err *err)
{
	if (r == -EBUSY)
		return err_set(err, ERR_BUSY, "", "the store is busy; retry the request");
	return err_set(err, ERR_INTERNAL, "", "store error: %s", store_errmsg(c));
}

unsigned store_txn_depth(struct store_conn *c)
{
	return c->depth;
}

static int bind_args(struct store_stmt *s, const char *types, va_list ap)
{
	const struct store_backend *be = s->c->st->be;
	for (int i = 0; types[i]; i++) {
		int r;
		switch (types[i]) {
		case 's': {
			const char *v = va_arg(ap, const char *);
			r = v ? be->bind_text(s->stmt, i + 1, v) : be->bind_null(s->stmt, i + 1);
			break;
		}
		case 'i':
			r = be->bind_int(s->stmt, i + 1, va_arg(ap, int64_t));
			break;
		case 'b':
			r = be->bind_int(s->stmt, i + 1, va_arg(ap, int) ? 1 : 0);
			break;
		default:
			r = -EINVAL;
		}
		if (r < 0)
			return r;
	}
	return 0;
}

/* Placeholders in sql; our SQL never has '?' inside a literal. */
static size_t count_params(const char *sql)
{
	size_t n = 0;
	for (; *sql; sql++)
		n += *sql == '?';
	return n;
}

static int vquery(struct store_conn *c, struct store_stmt **ret, const char *sql,
		  const char *types, va_list ap)
{
	assert(count_params(sql) == strlen(types) && "SQL placeholders and bind types differ");
	double t0 = time_mono();
	void *stmt = NULL;
	int r = c->st->be->prepare(c->db, sql, &stmt);
	if (r < 0)
		return r;
	struct store_stmt *s = xcalloc(1, sizeof(*s));
	s->c = c;
	s->stmt = stmt;
	r = bind_args(s, types, ap);
	s->busy = time_mono() - t0;
	if (r < 0) {
		store_stmt_free(s);
		return r;
	}
	*ret = s;
	return 0;
}

int store_query(struct store_conn *c, struct store_stmt **ret, const char *sql,
		const char *types, ...)
{
	va_list ap;
	va_start(ap, types);
	int r = vquery(c, ret, sql, types, ap);
	va_end(ap);
	return r;
}

int store_run(struct store_conn *c, const char *sql, const char *types, ...)
{
	struct store_stmt *s = NULL;
	va_list ap;
	va_start(ap, types);
	int r = vquery(c, &s, sql, types, ap);
	va_end(ap);
	if (r < 0)
		return r;
	while ((r = store_step(s)) == STORE_ROW)
		;
	if (r == 0)
		r = c->st->be->changes(c->db);
	store_stmt_free(s);
	return r;
}

int store_step(struct store_stmt *s)
{
	double t0 = time_mono();
	int r = s->c->st->be->step(s->stmt);
	s->busy += time_mono() - t0;
	return r;
}

const char *store_col_text(struct store_stmt *s, int i)
{
	return s->c->st->be->col_text(s->stmt, i);
}

int64_t store_col_int(struct store_stmt *s, int i)
{
	return s->c->st->be->col_int(s->stmt, i);
}

bool store_col_null(struct store_stmt *s, int i)
{
	return s->c->st->be->col_null(s->stmt, i);
}

int store_fetch(struct store_stmt *s, size_t elem_size, size_t limit, store_row_fn from_row,
		void **ret, size_t *ret_n, bool *ret_more)
{
	size_t n = 0, cap = limit ? limit + 1 : 8;
	bool more = false;
	char *items = xcalloc(cap, elem_size);
	int r;
	while ((r = store_step(s)) == STORE_ROW) {
		if (limit && n == limit) {
			more = true;
			break;
		}
		if (n == cap) {
			cap *= 2;
			items = xrealloc(items, cap * elem_size);
		}
		memset(items + n * elem_size, 0, elem_size);
		from_row(s, items + n * elem_size);
		n++;
	}
	store_stmt_free(s);
	if (r < 0) {
		free(items);
		return r;
	}
	*ret = items;
	*ret_n = n;
	if (ret_more)
		*ret_more = more;
	return 0;
}

int store_fetch_one(struct store_stmt *s, store_row_fn from_row, void *out)
{
	int r = store_step(s);
	if (r == STORE_ROW)
		from_row(s, out);
	store_stmt_free(s);
	return r;
}

int store_get_ref(struct store_conn *c, const char *select, const char *ref,
		  store_row_fn from_row, void *out, const char *what, struct err *err)
{
	char *sql = xasprintf("%s WHERE %s", select,
			      uuid_valid(ref) ? "id = lower(?)" : "name = ?");
	struct store_stmt *s = NULL;
	int r = store_query(c, &s, sql, "s", ref);
	free(sql);
	if (r < 0)
		return store_fail(c, r, err);
	r = store_fetch_one(s, from_row, out);
	if (r == 0)
		return err_set(err, ERR_NOT_FOUND, "", "no %s '%.80s'", what, ref);
	return r < 0 ? store_fail(c, r, err) : 0;
}

void store_stmt_free(struct store_stmt *s)
{
	if (!s)
		return;
	observe(s->c->st, "statement", s->busy);
	s->c->st->be->finalize(s->stmt);
	free(s);
}

int store_schema_latest(void)
{
	return store_migrations[store_migrations_count - 1].version;
}

static int read_version(struct store_conn *c, int *ret)
{
	struct store_stmt *s = NULL;
	int r = store_query(c, &s, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", "");
	if (r == 0) {
		r = store_step(s);
		if (r == STORE_ROW) {
			*ret = (int)store_col_int(s, 0);
			r = 0;
		} else if (r == 0) {
			r = -EIO;
		}
	}
	store_stmt_free(s);
	return r;
}

int store_schema_version(struct store *st)
{
	struct store_conn *c = store_conn_get(st);
	int v = -1;
	if (read_version(c, &v) < 0)
		v = -1;
	store_conn_put(c);
	return v;
}

static int migrate(struct store_conn *c, struct err *err)
{
	char now[TIME_RFC3339_SIZE];
	int version = 0, r = store_txn_begin(c);
	if (r < 0)
		return err_set(err, ERR_UNAVAILABLE, "", "cannot lock the store: %s",
			       store_errmsg(c));
	r = store_exec(c, "CREATE TABLE IF NOT EXISTS schema_migrations ("
			  " version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
			  " applied_at TEXT NOT NULL)");
	if (r == 0)
		r = read_version(c, &version);
	if (r < 0) {
		r = err_set(err, ERR_UNAVAILABLE, "", "cannot read the schema version: %s",
			    store_errmsg(c));
		goto out;
	}
	if (version > store_schema_latest()) {
		r = err_set(err, ERR_CONFLICT, "",
			    "the store's schema is version %d but this nubod knows only up to "
			    "version %d: run a newer nubod, or restore a backup made for this one",
			    version, store_schema_latest());
		goto out;
	}
	for (size_t i = 0; i < store_migrations_count; i++) {
		const struct store_migration *m = &store_migrations[i];
		if (m->version <= version)
			continue;
		time_rfc3339_now(now, sizeof(now));
		r = store_exec(c, m->sql);
		if (r == 0)
			r = store_run(c, "INSERT INTO schema_migrations (version, name, applied_at)"
					 " VALUES (?, ?, ?)", "iss", (int64_t)m->version, m->name, now);
		if (r < 0) {
			r = err_set(err, ERR_INTERNAL, "", "schema migration %d (%s) failed: %s",
				    m->version, m->name, store_errmsg(c));
			goto out;
		}
	}
	r = store_txn_commit(c);
	if (r < 0)
		return err_set(err, ERR_UNAVAILABLE, "", "cannot commit the schema: %s",
			       store_errmsg(c));
	return 0;
out:
	store_txn_rollback(c);
	return r;
}

int store_open(const struct store_opts *opts, struct store **ret, struct err *err)
{
	const struct store_backend *be;
	const char *target = backend_target(opts->url, &be);
	if (!target)
		return err_set(err, ERR_INVALID, "store",
			       "store URL '%s' is not supported: use sqlite:PATH", opts->url);
	struct store *st = xcalloc(1, sizeof(*st));
	st->be = be;
	st->metrics = opts->metrics;
	pthread_mutex_init(&st->lock, NULL);
	pthread_cond_init(&st->freed, NULL);
	if (st->metrics)
		metrics_describe(st->metrics, "nubo_store_duration_seconds", METRIC_HISTOGRAM,
				 "Time spent in the state store per statement and per commit.");
	unsigned n = opts->pool_size ? opts->pool_size : 1;
	st->conns = xcalloc(n, sizeof(*st->conns));
	int r = 0;
	for (unsigned i = 0; i < n; i++) {
		struct store_conn *c = &st->conns[i];
		c->st = st;
		r = be->open(target, opts->busy_timeout_ms, &c->db, err);
		if (r < 0)
			goto fail;
		st->nconns++;
		c->next_free = st->free;
		st->free = c;
	}
	struct store_conn *c = store_conn_get(st);
	r = migrate(c, err);
	store_conn_put(c);
	if (r < 0)
		goto fail;
	*ret = st;
	return 0;
fail:
	store_free(st);
	return r;
}

void store_free(struct store *st)
{
	if (!st)
		return;
	for (unsigned i = 0; i < st->nconns; i++)
		st->be->close(st->conns[i].db);
	free(st->conns);
	pthread_cond_destroy(&st->freed);
	pthread_mutex_destroy(&st->lock);
	free(st);
}

int store_ping(struct store *st)
{
	struct store_conn *c = store_conn_get(st);
	struct store_stmt *s = NULL;
	int r = store_query(c, &s, "SELECT 1", "");
	if (r == 0)
		r = store_step(s) == STORE_ROW ? 0 : -EIO;
	store_stmt_free(s);
	store_conn_put(c);
	return r;
}
