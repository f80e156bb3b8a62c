/* volumes: see storage.h. Every change of state is a conditional update
 * ("... WHERE state = 'available'"), so two requests racing on one volume
 * cannot both win; a lost race is ERR_CONFLICT naming the state found. */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "storage.h"

#define VOLUME_COLS                                                                             \
	"id, project_id, name, size_gb, COALESCE(image_id, ''), COALESCE(host_id, ''),"        \
	" COALESCE(instance_id, ''), device, state, error, created_at, updated_at, snapshot_id,"\
	" COALESCE(pool_id, ''), COALESCE((SELECT p.name FROM storage_pools p"                \
	" WHERE p.id = pool_id), '')"

static void volume_from_row(struct store_stmt *s, void *out)
{
	struct volume *v = out;
	memset(v, 0, sizeof(*v));
	str_copy(v->id, sizeof(v->id), store_col_text(s, 0));
	str_copy(v->project_id, sizeof(v->project_id), store_col_text(s, 1));
	str_copy(v->name, sizeof(v->name), store_col_text(s, 2));
	v->size_gb = store_col_int(s, 3);
	str_copy(v->image_id, sizeof(v->image_id), store_col_text(s, 4));
	str_copy(v->host_id, sizeof(v->host_id), store_col_text(s, 5));
	str_copy(v->instance_id, sizeof(v->instance_id), store_col_text(s, 6));
	str_copy(v->device, sizeof(v->device), store_col_text(s, 7));
	str_copy(v->state, sizeof(v->state), store_col_text(s, 8));
	str_copy(v->error, sizeof(v->error), store_col_text(s, 9));
	str_copy(v->created_at, sizeof(v->created_at), store_col_text(s, 10));
	str_copy(v->updated_at, sizeof(v->updated_at), store_col_text(s, 11));
	str_copy(v->snapshot_id, sizeof(v->snapshot_id), store_col_text(s, 12));
	str_copy(v->pool_id, sizeof(v->pool_id), store_col_text(s, 13));
	str_copy(v->pool, sizeof(v->pool), store_col_text(s, 14));
}

static int check_name(const char *name, struct err *err)
{
	return name_check("name", name, VOLUME_NAME_MAX, true, "-._", err);
}

int volume_create(struct store_conn *c, const char *project_id, const char *name,
		  int64_t size_gb, const char *image_id, const struct snapshot *snap,
		  const struct storage_pool *pool, struct volume *ret, struct err *err)
{
	int r = check_name(name, err);
	if (r < 0)
		return r;
	if (size_gb < 1 || size_gb > VOLUME_SIZE_GB_MAX)
		return err_set(err, ERR_INVALID, "size_gb", "size_gb must be from 1 to %d",
			       VOLUME_SIZE_GB_MAX);
	struct volume v = { .size_gb = size_gb };
	uuid_generate(v.id);
	str_copy(v.project_id, sizeof(v.project_id), project_id);
	str_copy(v.name, sizeof(v.name), name);
	str_copy(v.image_id, sizeof(v.image_id), image_id ? image_id : "");
	if (snap) {
		if (snap->size_gb > size_gb)
			return err_set(err, ERR_INVALID, "size_gb",
				       "snapshot '%s' holds %lld GB; the volume needs at least that",
				       snap->name, (long long)snap->size_gb);
		if (pool && strcmp(pool->id, snap->pool_id) != 0)
			return err_set(err, ERR_INVALID, "pool",
				       "a volume from snapshot '%s' lives where the snapshot does (%s)",
				       snap->name, snap->pool[0] ? snap->pool : "local storage");
		str_copy(v.snapshot_id, sizeof(v.snapshot_id), snap->id);
		str_copy(v.host_id, sizeof(v.host_id), snap->host_id);
		str_copy(v.pool_id, sizeof(v.pool_id), snap->pool_id);
		str_copy(v.pool, sizeof(v.pool), snap->pool);
	} else if (pool) {
		str_copy(v.pool_id, sizeof(v.pool_id), pool->id);
		str_copy(v.pool, sizeof(v.pool), pool->name);
	}
	str_copy(v.state, sizeof(v.state), "available");
	time_rfc3339_now(v.created_at, sizeof(v.created_at));
	memcpy(v.updated_at, v.created_at, sizeof(v.created_at));
	r = store_run(c,
		      "INSERT INTO volumes (id, project_id, name, size_gb, image_id, state,"
		      " created_at, updated_at, snapshot_id, host_id, pool_id)"
		      " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		      "sssisssssss", v.id, v.project_id, v.name, v.size_gb,
		      v.image_id[0] ? v.image_id : NULL, v.state, v.created_at, v.updated_at,
		      v.snapshot_id, v.host_id[0] ? v.host_id : NULL,
		      v.pool_id[0] ? v.pool_id : NULL);
	if (r == -EEXIST)
		return err_set(err, ERR_CONFLICT, "name", "a volume named '%s' already exists", name);
	if (r < 0)
		return store_fail(c, r, err);
	*ret = v;
	return 0;
}

int volume_get(struct store_conn *c, const char *project_id, const char *id_or_name,
	       struct volume *ret, struct err *err)
{
	struct store_stmt *s = NULL;
	int r;
	if (uuid_valid(id_or_name))
		r = store_query(c, &s,
				"SELECT " VOLUME_COLS " FROM volumes WHERE id = lower(?)"
				" AND (? IS NULL OR project_id = ?)",
				"sss", id_or_name, project_id, project_id);
	else
		r = store_query(c, &s,
				"SELECT " VOLUME_COLS " FROM volumes WHERE name = ? AND project_id = ?",
				"ss", id_or_name, project_id ? project_id : "");
	if (r < 0)
		return store_fail(c, r, err);
	r = store_fetch_one(s, volume_from_row, ret);
	if (r == 0)
		return err_set(err, ERR_NOT_FOUND, "", "no volume '%.80s'", id_or_name);
	return r < 0 ? store_fail(c, r, err) : 0;
}

int volume_list(struct store_conn *c, const char *project_id, const char *after, size_t limit,
		struct volume **ret, size_t *ret_n, bool *ret_more, struct err *err)
{
	assert(limit > 0);
	struct store_stmt *s = NULL;
	int r = store_query(c, &s,
			    "SELECT " VOLUME_COLS " FROM volumes WHERE (? IS NULL OR project_id = ?)"
			    " AND (? IS NULL OR name > ?) ORDER BY name LIMIT ?",
			    "ssssi", project_id, project_id, after, after, (int64_t)limit + 1);
	if (r < 0)
		return store_fail(c, r, err);
	void *items;
	r = store_fetch(s, sizeof(struct volume), limit, volume_from_row, &items, ret_n, ret_more);
	if (r < 0)
		return store_fail(c, r, err);
	*ret = items;
	return 0;
}

/* Why a conditional update found nothing: the volume's current state. */
static int not_in(struct store_conn *c, const char *id, const char *what, struct err *err)
{
	struct volume v;
	int r = volume_get(c, NULL, id, &v, err);
	if (r < 0)
		return r;
	return err_set(err, ERR_CONFLICT, "", "%s; the volume is %s", what, v.state);
}

int volume_attach(struct store_conn *c, const char *id, const char *instance_id,
		  const char *host_id, struct volume *ret, struct err *err)
{
	struct volume v;
	int r = volume_get(c, NULL, id, &v, err);
	if (r < 0)
		return r;
	if (v.host_id[0] && strcmp(v.host_id, host_id) != 0 && !v.pool_id[0])
		return err_set(err, ERR_CONFLICT, "instance",
			       "the volume's data lives on another host than the instance's (local "
			       "storage); attach it to an instance on host %s", v.host_id);
	/* the instance's first free device */
	struct store_stmt *s = NULL;
	r = store_query(c, &s, "SELECT device FROM volumes WHERE instance_id = ?", "s",
			instance_id);
	if (r < 0)
		return store_fail(c, r, err);
	char used[sizeof(VOLUME_DEVICES)] = "";
	while ((r = store_step(s)) == 1) {
		const char *d = store_col_text(s, 0);
		if (strlen(d) == 3 && strchr(VOLUME_DEVICES, d[2]) && !strchr(used, d[2]))
			used[strlen(used)] = d[2];
	}
	store_stmt_free(s);
	if (r < 0)
		return store_fail(c, r, err);
	const char *letter = VOLUME_DEVICES;
	while (*letter && strchr(used, *letter))
		letter++;
	if (!*letter)
		return err_set(err, ERR_CONFLICT, "instance", "the instance has no free disk device");
	char dev[8], now[TIME_RFC3339_SIZE];
	str_printf(dev, sizeof(dev), "vd%c", *letter);
	time_rfc3339_now(now, sizeof(now));
	r = store_run(c,
		      "UPDATE volumes SET state = 'attaching', instance_id = ?, host_id = ?,"
		      " device = ?, error = '', updated_at = ? WHERE id = ? AND state = 'available'",
		      "sssss", instance_id, host_id, dev, now, v.id);
	if (r < 0)
		return store_fail(c, r, err);
	if (r == 0)
		return not_in(c, v.id, "only an available volume can be attached", err);
	return volume_get(c, NULL, v.id, ret, err);
}

int volume_detach(struct store_conn *c, const char *id, const char *instance_id,
		  struct volume *ret, struct err *err)
{
	struct volume v;
	int r = volume_get(c, NULL, id, &v, err);
	if (r < 0)
		return r;
	if (instance_id && strcmp(v.instance_id, instance_id) != 0)
		return err_set(err, ERR_CONFLICT, "instance",
			       "the volume is not attached to that instance");
	char now[TIME_RFC3339_SIZE];
	time_rfc3339_now(now, sizeof(now));
	r = store_run(c,
		      "UPDATE volumes SET state = 'detaching', error = '', updated_at = ?"
		      " WHERE id = ? AND state = 'in-use'",
		      "ss", now, v.id);
	if (r < 0)
		return store_fail(c, r, err);
	if (r == 0)
		return not_in(c, v.id, "only an in-use volume can be detached", err);
	return volume_get(c, NULL, v.id, ret, err);
}

int volume_extend(struct store_conn *c, const char *id, int64_t size_gb, struct volume *ret,
		  struct err *err)
{
	struct volume v;
	int r = volume_get(c, NULL, id, &v, err);
	if (r < 0)
		return r;
	if (size_gb <= v.size_gb || size_gb > VOLUME_SIZE_GB_MAX)
		return err_set(err, ERR_INVALID, "size_gb",
			       "size_gb must be larger than the volume's %lld and at most %d",
			       (long long)v.size_gb, VOLUME_SIZE_GB_MAX);
	char now[TIME_RFC3339_SIZE];
	time_rfc3339_now(now, sizeof(now));
	bool has_host = v.host_id[0] != '\0';
	r = store_run(c,
		      "UPDATE volumes SET size_gb = ?, state = CASE WHEN host_id IS NULL THEN state"
		      " ELSE 'extending' END, updated_at = ? WHERE id = ? AND state = ?"
		      " AND state IN ('available', 'in-use')",
		      "isss", size_gb, now, v.id, v.state);
	if (r < 0)
		return store_fail(c, r, err);
	if (r == 0)
		return not_in(c, v.id, "only an available or in-use volume can be extended", err);
	r = volume_get(c, NULL, v.id, ret, err);
	return r < 0 ? r : (has_host ? 0 : 1);
}

int volume_request_delete(struct store_conn *c, const char *id, struct err *err)
{
	struct volume v;
	int r = volume_get(c, NULL, id, &v, err);
	if (r < 0)
		return r;
	char now[TIME_RFC3339_SIZE];
	time_rfc3339_now(now, sizeof(now));
	struct store_stmt *q = NULL;
	int64_t snaps = 0;
	r = store_query(c, &q, "SELECT COUNT(*) FROM snapshots WHERE volume_id = ?", "s", v.id);
	if (r == 0 && (r = store_step(q)) == 1)
		snaps = store_col_int(q, 0);
	store_stmt_free(q);
	if (r < 0)
		return store_fail(c, r, err);
	if (snaps > 0)
		return err_set(err, ERR_CONFLICT, "", "the volume has %lld snapshot(s); delete them first",
			       (long long)snaps);
	if (!v.host_id[0])
		r = store_run(c, "DELETE FROM volumes WHERE id = ? AND state = 'available'", "s",
			      v.id);
	else
		r = store_run(c,
			      "UPDATE volumes SET state = 'deleting', updated_at = ?"
			      " WHERE id = ? AND state IN ('available', 'error')"
			      " AND instance_id IS NULL",
			      "ss", now, v.id);
	if (r < 0)
		return store_fail(c, r, err);
	if (r == 0)
		return err_set(err, ERR_CONFLICT, "",
			       "only a volume that is not attached can be deleted; the volume is %s",
			       v.state);
	return v.host_id[0] ? 0 : 1;
}

/* The volumes on host_id or attached to instance_id (the other NULL). */
static int volume_fetch(struct store_conn *c, const char *host_id, const char *instance_id,
			struct volume **ret, size_t *ret_n, struct err *err)
{
	struct store_stmt *s = NULL;
	int r = store_query(c, &s,
			    "SELECT " VOLUME_COLS " FROM volumes WHERE (? IS NULL OR host_id = ?)"
			    " AND (? IS NULL OR instance_id = ?) ORDER BY created_at",
			    "ssss", host_id, host_id, instance_id, instance_id);
	if (r < 0)
		return store_fail(c, r, err);
	void *items;
	r = store_fetch(s, sizeof(struct volume), 0, volume_from_row, &items, ret_n, NULL);
	if (r < 0)
		return store_fail(c, r, err);
	*ret = items;
	return 0;
}

int volume_list_host(struct store_conn *c, const char *host_id, struct volume **ret,
		     size_t *ret_n, struct err *err)
{
	return volume_fetch(c, host_id, NULL, ret, ret_n, err);
}

int volume_report(struct store_conn *c, const char *host_id, const char *id, const char *state,
		  const char *error, struct volume *ret, struct err *err)
{
	struct volume v;
	int r = volume_get(c, NULL, id, &v, err);
	if (r < 0)
		return r;
	if (strcmp(v.host_id, host_id) != 0)
		return err_set(err, ERR_NOT_FOUND, "", "volume %s is not on this host", id);
	*ret = v;
	const char *to = NULL;
	if (strcmp(state, "gone") == 0) {
		if (strcmp(v.state, "deleting") != 0)
			return 0;
		r = store_run(c, "DELETE FROM volumes WHERE id = ?", "s", v.id);
		return r < 0 ? store_fail(c, r, err) : 1;
	}
	bool attached = v.instance_id[0] != '\0';
	if (strcmp(state, "error") == 0 && strcmp(v.state, "error") != 0)
		to = "error";
	else if (strcmp(state, "in-use") == 0 && attached &&
		 (strcmp(v.state, "attaching") == 0 || strcmp(v.state, "extending") == 0))
		to = "in-use";
	else if (strcmp(state, "available") == 0 &&
		 (strcmp(v.state, "detaching") == 0 ||
		  (!attached && strcmp(v.state, "extending") == 0)))
		to = "available";
	if (!to)
		return 0;
	char now[TIME_RFC3339_SIZE];
	time_rfc3339_now(now, sizeof(now));
	bool detached = strcmp(to, "available") == 0;
	r = store_run(c,
		      "UPDATE volumes SET state = ?, error = ?, updated_at = ?,"
		      " instance_id = CASE WHEN ? THEN NULL ELSE instance_id END,"
		      " device = CASE WHEN ? THEN '' ELSE device END WHERE id = ? AND state = ?",
		      "sssiiss", to, strcmp(to, "error") == 0 && error ? error : "", now,
		      (int64_t)detached, (int64_t)detached, v.id, v.state);
	if (r < 0)
		return store_fail(c, r, err);
	if (r == 0)
		return 0; /* changed meanwhile: the next report decides */
	r = volume_get(c, NULL, v.id, ret, err);
	return r < 0 ? r : 1;
}

int volume_list_instance(struct store_conn *c, const char *instance_id, struct volume **ret,
			 size_t *ret_n, struct err *err)
{
	return volume_fetch(c, NULL, instance_id, ret, ret_n, err);
}

int volume_follow_instance(struct store_conn *c, const char *instance_id, const char *host_id,
			   struct err *err)
{
	char now[TIME_RFC3339_SIZE];
	time_rfc3339_now(now, sizeof(now));
	int r = store_run(c,
			  "UPDATE volumes SET host_id = ?, updated_at = ? WHERE instance_id = ?"
			  " AND pool_id IS NOT NULL",
			  "sss", host_id, now, instance_id);
	return r < 0 ? store_fail(c, r, err) : 0;
}

int volume_release_instance(struct store_conn *c, const char *instance_id, struct err *err)
{
	char now[TIME_RFC3339_SIZE];
	time_rfc3339_now(now, sizeof(now));
	int r = store_run(c,
			  "UPDATE volumes SET instance_id = NULL, device = '', updated_at = ?,"
			  " state = CASE WHEN state IN ('attaching', 'in-use', 'detaching',"
			  " 'extending') THEN 'available' ELSE state END WHERE instance_id = ?",
			  "ss", now, instance_id);
	return r < 0 ? store_fail(c, r, err) : 0;
}

/* ---- snapshots ---- */

#define SNAPSHOT_COLS                                                                           \
	"id, project_id, volume_id, name, size_gb, host_id, state, error, created_at, updated_at"
#define SNAPSHOT_SELECT                                                                         \
	"SELECT " SNAPSHOT_COLS ", COALESCE(pool_id, ''), COALESCE((SELECT p.name"            \
	" FROM storage_pools p WHERE p.id = pool_id), '') FROM snapshots"

static void snapshot_from_row(struct store_stmt *s, void *out)
{
	struct snapshot *p = out;
	memset(p, 0, sizeof(*p));
	str_copy(p->id, sizeof(p->id), store_col_text(s, 0));
	str_copy(p->project_id, sizeof(p->project_id), store_col_text(s, 1));
	str_copy(p->volume_id, sizeof(p->volume_id), store_col_text(s, 2));
	str_copy(p->name, sizeof(p->name), store_col_text(s, 3));
	p->size_gb = store_col_int(s, 4);
	str_copy(p->host_id, sizeof(p->host_id), store_col_text(s, 5));
	str_copy(p->state, sizeof(p->state), store_col_text(s, 6));
	str_copy(p->error, sizeof(p->error), store_col_text(s, 7));
	str_copy(p->created_at, sizeof(p->created_at), store_col_text(s, 8));
	str_copy(p->updated_at, sizeof(p->updated_at), store_col_text(s, 9));
	str_copy(p->pool_id, sizeof(p->pool_id), store_col_text(s, 10));
	str_copy(p->pool, sizeof(p->pool), store_col_text(s, 11));
}

int snapshot_create(struct store_conn *c, const struct volume *v, bool running,
		    const char *name, struct snapshot *ret, struct err *err)
{
	int r = check_name(name, err);
	if (r < 0)
		return r;
	if (!v->host_id[0])
		return err_set(err, ERR_CONFLICT, "volume",
			       "the volume has no data yet (it gets it at its first attach)");
	if (strcmp(v->state, "available") != 0 && strcmp(v->state, "in-use") != 0)
		return err_set(err, ERR_CONFLICT, "volume", "the volume is %s", v->state);
	if (running)
		return err_set(err, ERR_CONFLICT, "volume",
			       "the volume's instance is running: stop it or detach the volume, so "
			       "the snapshot is consistent");
	struct snapshot p = { .size_gb = v->size_gb };
	uuid_generate(p.id);
	str_copy(p.project_id, sizeof(p.project_id), v->project_id);
	str_copy(p.volume_id, sizeof(p.volume_id), v->id);
	str_copy(p.name, sizeof(p.name), name);
	str_copy(p.host_id, sizeof(p.host_id), v->host_id);
	str_copy(p.pool_id, sizeof(p.pool_id), v->pool_id);
	str_copy(p.pool, sizeof(p.pool), v->pool);
	str_copy(p.state, sizeof(p.state), "creating");
	time_rfc3339_now(p.created_at, sizeof(p.created_at));
	memcpy(p.updated_at, p.created_at, sizeof(p.created_at));
	r = store_run(c,
		      "INSERT INTO snapshots (" SNAPSHOT_COLS ", pool_id)"
		      " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		      "ssssissssss", p.id, p.project_id, p.volume_id, p.name, p.size_gb, p.host_id,
		      p.state, "", p.created_at, p.updated_at, p.pool_id[0] ? p.pool_id : NULL);
	if (r == -EEXIST)
		return err_set(err, ERR_CONFLICT, "name", "a snapshot named '%s' already exists", name);
	if (r < 0)
		return store_fail(c, r, err);
	*ret = p;
	return 0;
}

int snapshot_get(struct store_conn *c, const char *project_id, const char *id_or_name,
		 struct snapshot *ret, struct err *err)
{
	struct store_stmt *s = NULL;
	int r;
	if (uuid_valid(id_or_name))
		r = store_query(c, &s,
				SNAPSHOT_SELECT " WHERE id = lower(?)"
				" AND (? IS NULL OR project_id = ?)",
				"sss", id_or_name, project_id, project_id);
	else
		r = store_query(c, &s,
				SNAPSHOT_SELECT " WHERE name = ?"
				" AND project_id = ?",
				"ss", id_or_name, project_id ? project_id : "");
	if (r < 0)
		return store_fail(c, r, err);
	r = store_fetch_one(s, snapshot_from_row, ret);
	if (r == 0)
		return err_set(err, ERR_NOT_FOUND, "", "no snapshot '%.80s'", id_or_name);
	return r < 0 ? store_fail(c, r, err) : 0;
}

/* The snapshots of project_id and on host_id (either NULL: any), by name. */
static int snapshot_fetch(struct store_conn *c, const char *project_id, const char *host_id,
			  struct snapshot **ret, size_t *ret_n, struct err *err)
{
	struct store_stmt *s = NULL;
	int r = store_query(c, &s,
			    SNAPSHOT_SELECT " WHERE (? IS NULL OR project_id = ?)"
			    " AND (? IS NULL OR host_id = ?) ORDER BY name",
			    "ssss", project_id, project_id, host_id, host_id);
	if (r < 0)
		return store_fail(c, r, err);
	void *items;
	r = store_fetch(s, sizeof(struct snapshot), 0, snapshot_from_row, &items, ret_n, NULL);
	if (r < 0)
		return store_fail(c, r, err);
	*ret = items;
	return 0;
}

int snapshot_list(struct store_conn *c, const char *project_id, struct snapshot **ret,
		  size_t *ret_n, struct err *err)
{
	return snapshot_fetch(c, project_id, NULL, ret, ret_n, err);
}

int snapshot_list_host(struct store_conn *c, const char *host_id, struct snapshot **ret,
		       size_t *ret_n, struct err *err)
{
	return snapshot_fetch(c, NULL, host_id, ret, ret_n, err);
}

int snapshot_request_delete(struct store_conn *c, const char *id, struct err *err)
{
	char now[TIME_RFC3339_SIZE];
	time_rfc3339_now(now, sizeof(now));
	int r = store_run(c,
			  "UPDATE snapshots SET state = 'deleting', updated_at = ? WHERE id = ?"
			  " AND state IN ('available', 'error')",
			  "ss", now, id);
	if (r < 0)
		return store_fail(c, r, err);
	if (r == 0)
		return err_set(err, ERR_CONFLICT, "", "only an available snapshot can be deleted");
	return 0;
}

int snapshot_report(struct store_conn *c, const char *host_id, const char *id,
		    const char *state, const char *error, struct err *err)
{
	struct snapshot p;
	int r = snapshot_get(c, NULL, id, &p, err);
	if (r < 0)
		return r;
	if (strcmp(p.host_id, host_id) != 0)
		return err_set(err, ERR_NOT_FOUND, "", "snapshot %s is not on this host", id);
	char now[TIME_RFC3339_SIZE];
	time_rfc3339_now(now, sizeof(now));
	if (strcmp(state, "gone") == 0) {
		if (strcmp(p.state, "deleting") != 0)
			return 0;
		r = store_run(c, "DELETE FROM snapshots WHERE id = ?", "s", p.id);
		return r < 0 ? store_fail(c, r, err) : 1;
	}
	const char *to = strcmp(state, "available") == 0 && strcmp(p.state, "creating") == 0
				 ? "available"
			 : strcmp(state, "error") == 0 && strcmp(p.state, "error") != 0 ? "error"
											 : NULL;
	if (!to)
		return 0;
	r = store_run(c,
		      "UPDATE snapshots SET state = ?, error = ?, updated_at = ? WHERE id = ?"
		      " AND state = ?",
		      "sssss", to, strcmp(to, "error") == 0 && error ? error : "", now, p.id, p.state);
	return r < 0 ? store_fail(c, r, err) : r > 0 ? 1 : 0;
}
