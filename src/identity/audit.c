/* audit: the trail of who did what. Events are inserted, never updated or
 * deleted by any API call. Listed newest first; the cursor key is
 * "<time> <id>" of the last event of a page. */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "identity-priv.h"
#include "lib/util.h"

int audit_record(struct store_conn *c, struct audit_event *ev, struct err *err)
{
	if (!ev->id[0])
		uuid_generate(ev->id);
	if (!ev->time[0])
		time_rfc3339_now(ev->time, sizeof(ev->time));
	int r = store_run(c,
			  "INSERT INTO audit_events (id, ts, user_id, user_name, project_id, source,"
			  " request_id, action, resource_type, resource_id, outcome, status)"
			  " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
			  "sssssssssssi", ev->id, ev->time, ev->user_id, ev->user_name,
			  ev->project_id, ev->source, ev->request_id, ev->action, ev->resource_type,
			  ev->resource_id, ev->outcome, (int64_t)ev->status);
	return r < 0 ? store_fail(c, r, err) : 0;
}

static void event_from_row(struct store_stmt *st, void *out)
{
	struct audit_event *ev = out;
	memset(ev, 0, sizeof(*ev));
	str_copy(ev->id, sizeof(ev->id), store_col_text(st, 0));
	str_copy(ev->time, sizeof(ev->time), store_col_text(st, 1));
	str_copy(ev->user_id, sizeof(ev->user_id), store_col_text(st, 2));
	str_copy(ev->user_name, sizeof(ev->user_name), store_col_text(st, 3));
	str_copy(ev->project_id, sizeof(ev->project_id), store_col_text(st, 4));
	str_copy(ev->source, sizeof(ev->source), store_col_text(st, 5));
	str_copy(ev->request_id, sizeof(ev->request_id), store_col_text(st, 6));
	str_copy(ev->action, sizeof(ev->action), store_col_text(st, 7));
	str_copy(ev->resource_type, sizeof(ev->resource_type), store_col_text(st, 8));
	str_copy(ev->resource_id, sizeof(ev->resource_id), store_col_text(st, 9));
	str_copy(ev->outcome, sizeof(ev->outcome), store_col_text(st, 10));
	ev->status = (unsigned)store_col_int(st, 11);
}

int audit_list(struct store_conn *c, const struct audit_filter *f, struct audit_event **ret,
	       size_t *ret_n, char **ret_next_key, struct err *err)
{
	assert(f->limit > 0);
	char after_ts[TIME_RFC3339_SIZE + 8] = "", after_id[UUID_SIZE] = "";
	if (f->after) {
		const char *sp = strchr(f->after, ' ');
		if (!sp || (size_t)(sp - f->after) >= sizeof(after_ts) || !uuid_valid(sp + 1))
			return err_set(err, ERR_INVALID, "cursor", "cursor is not valid");
		memcpy(after_ts, f->after, (size_t)(sp - f->after));
		str_copy(after_id, sizeof(after_id), sp + 1);
	}
	int64_t ms;
	if (f->since && time_rfc3339_parse(f->since, &ms) < 0)
		return err_set(err, ERR_INVALID, "since",
			       "since must be an RFC 3339 UTC time such as 2026-01-31T12:00:00Z");
	if (f->until && time_rfc3339_parse(f->until, &ms) < 0)
		return err_set(err, ERR_INVALID, "until",
			       "until must be an RFC 3339 UTC time such as 2026-01-31T12:00:00Z");
	char since[TIME_RFC3339_SIZE] = "", until[TIME_RFC3339_SIZE] = "";
	if (f->since && time_rfc3339_parse(f->since, &ms) == 0)
		time_rfc3339_from_ms(ms, since, sizeof(since));
	if (f->until && time_rfc3339_parse(f->until, &ms) == 0)
		time_rfc3339_from_ms(ms, until, sizeof(until));
	struct store_stmt *st = NULL;
	int r = store_query(
		c, &st,
		"SELECT id, ts, user_id, user_name, project_id, source, request_id, action,"
		" resource_type, resource_id, outcome, status FROM audit_events"
		" WHERE (? = '' OR ts >= ?) AND (? = '' OR ts < ?)"
		" AND (? IS NULL OR user_id = ? OR user_name = ?)"
		" AND (? IS NULL OR action = ?) AND (? IS NULL OR resource_id = ?)"
		" AND (? IS NULL OR project_id = ?)"
		" AND (? = '' OR ts < ? OR (ts = ? AND id < ?))"
		" ORDER BY ts DESC, id DESC LIMIT ?",
		"sssssssssssssssssi", since, since, until, until, f->user, f->user, f->user,
		f->action, f->action, f->resource, f->resource, f->project, f->project, after_ts,
		after_ts, after_ts, after_id, (int64_t)f->limit + 1);
	if (r < 0)
		return store_fail(c, r, err);
	void *items;
	size_t n;
	bool more;
	r = store_fetch(st, sizeof(struct audit_event), f->limit, event_from_row, &items, &n, &more);
	if (r < 0)
		return store_fail(c, r, err);
	struct audit_event *ev = items;
	*ret = ev;
	*ret_n = n;
	*ret_next_key = more ? xasprintf("%s %s", ev[n - 1].time, ev[n - 1].id) : NULL;
	return 0;
}
