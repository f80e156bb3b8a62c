/* idempotency: stored answers to requests made with an Idempotency-Key, so
 * that a client retrying after a lost response gets the first answer
 * instead of a second resource. The API writes the answer in the same
 * transaction as the work it answers for. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/timeutil.h"
#include "lib/util.h"
#include "store-priv.h"

int store_idem_get(struct store_conn *c, const char *scope, const char *key,
		   int64_t max_age_ms, struct store_idem *ret)
{
	struct store_stmt *s = NULL;
	int r = store_query(c, &s,
			    "SELECT request_hash, status, body, location, created_ms"
			    " FROM idempotency_keys WHERE scope = ? AND idem_key = ?",
			    "ss", scope, key);
	if (r < 0)
		return r;
	r = store_step(s);
	if (r == STORE_ROW) {
		int64_t created = store_col_int(s, 4);
		if (time_now_ms() - created > max_age_ms) {
			r = -ESTALE;
		} else {
			memset(ret, 0, sizeof(*ret));
			str_copy(ret->request_hash, sizeof(ret->request_hash), store_col_text(s, 0));
			ret->status = (unsigned)store_col_int(s, 1);
			ret->body = xstrdup(store_col_text(s, 2));
			ret->location = xstrdup(store_col_text(s, 3));
			ret->created_ms = created;
			r = 0;
		}
	} else if (r == STORE_DONE) {
		r = -ENOENT;
	}
	store_stmt_free(s);
	if (r == -ESTALE) {
		r = store_run(c, "DELETE FROM idempotency_keys WHERE scope = ? AND idem_key = ?",
			      "ss", scope, key);
		r = r < 0 ? r : -ENOENT;
	}
	return r;
}

int store_idem_put(struct store_conn *c, const char *scope, const char *key,
		   const struct store_idem *idem)
{
	int r = store_run(c,
			  "INSERT INTO idempotency_keys (scope, idem_key, request_hash, status,"
			  " body, location, created_ms) VALUES (?, ?, ?, ?, ?, ?, ?)",
			  "sssissi", scope, key, idem->request_hash, (int64_t)idem->status,
			  idem->body ? idem->body : "", idem->location, idem->created_ms);
	return r < 0 ? r : 0;
}

int store_idem_purge(struct store_conn *c, int64_t before_ms)
{
	return store_run(c, "DELETE FROM idempotency_keys WHERE created_ms < ?", "i", before_ms);
}

void store_idem_release(struct store_idem *idem)
{
	if (!idem)
		return;
	free(idem->body);
	free(idem->location);
	idem->body = NULL;
	idem->location = NULL;
}
