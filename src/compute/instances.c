/* instances and jobs: see compute.h. State changes are conditional
 * updates ("... WHERE state = 'pending'"), so the scheduler and an API
 * call racing on one instance cannot both win. */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "compute.h"
#include "lib/util.h"

#define INSTANCE_COLS                                                                           \
	"id, project_id, name, flavor_id, image_id, COALESCE(zone_id, ''),"                    \
	" COALESCE(host_id, ''), vcpus, ram_mb, disk_gb, state, desired, error, created_at,"   \
	" updated_at, holds_quota, COALESCE(group_id, ''),"                                    \
	" COALESCE((SELECT last_heartbeat_ms FROM hosts h WHERE h.id = instances.host_id), 0),"\
	" key_name, task_image_id, migrate_host_id, source_host_id"
#define JOB_COLS                                                                                \
	"id, COALESCE(project_id, ''), kind, resource_id, status, progress, error, created_at,"\
	" updated_at"

static void instance_from_row(struct store_stmt *s, void *out)
{
	struct instance *i = out;
	str_copy(i->id, sizeof(i->id), store_col_text(s, 0));
	str_copy(i->project_id, sizeof(i->project_id), store_col_text(s, 1));
	str_copy(i->name, sizeof(i->name), store_col_text(s, 2));
	str_copy(i->flavor_id, sizeof(i->flavor_id), store_col_text(s, 3));
	str_copy(i->image_id, sizeof(i->image_id), store_col_text(s, 4));
	str_copy(i->zone_id, sizeof(i->zone_id), store_col_text(s, 5));
	str_copy(i->host_id, sizeof(i->host_id), store_col_text(s, 6));
	i->vcpus = store_col_int(s, 7);
	i->ram_mb = store_col_int(s, 8);
	i->disk_gb = store_col_int(s, 9);
	str_copy(i->state, sizeof(i->state), store_col_text(s, 10));
	str_copy(i->desired, sizeof(i->desired), store_col_text(s, 11));
	str_copy(i->error, sizeof(i->error), store_col_text(s, 12));
	str_copy(i->created_at, sizeof(i->created_at), store_col_text(s, 13));
	str_copy(i->updated_at, sizeof(i->updated_at), store_col_text(s, 14));
	i->holds_quota = store_col_int(s, 15) != 0;
	str_copy(i->group_id, sizeof(i->group_id), store_col_text(s, 16));
	i->host_heartbeat_ms = store_col_int(s, 17);
	str_copy(i->key_name, sizeof(i->key_name), store_col_text(s, 18));
	str_copy(i->task_image_id, sizeof(i->task_image_id), store_col_text(s, 19));
	str_copy(i->migrate_host_id, sizeof(i->migrate_host_id), store_col_text(s, 20));
	str_copy(i->source_host_id, sizeof(i->source_host_id), store_col_text(s, 21));
}

static int check_name(const char *name, struct err *err)
{
	return name_check("name", name, INSTANCE_NAME_MAX, true, "-._", err);
}

int instance_create(struct store_conn *c, const char *project_id,
		    const struct instance_spec *spec, struct instance *ret, struct err *err)
{
	int r = check_name(spec->name, err);
	if (r < 0)
		return r;
	if (spec->user_data && strlen(spec->user_data) > INSTANCE_USER_DATA_MAX)
		return err_set(err, ERR_INVALID, "user_data", "user_data is larger than %d bytes",
			       INSTANCE_USER_DATA_MAX);
	struct instance i = { .vcpus = spec->flavor->vcpus, .ram_mb = spec->flavor->ram_mb,
			      .disk_gb = spec->flavor->disk_gb, .holds_quota = true };
	uuid_generate(i.id);
	str_copy(i.project_id, sizeof(i.project_id), project_id);
	str_copy(i.name, sizeof(i.name), spec->name);
	str_copy(i.flavor_id, sizeof(i.flavor_id), spec->flavor->id);
	str_copy(i.image_id, sizeof(i.image_id), spec->image_id);
	str_copy(i.zone_id, sizeof(i.zone_id), spec->zone_id ? spec->zone_id : "");
	str_copy(i.group_id, sizeof(i.group_id), spec->group_id ? spec->group_id : "");
	str_copy(i.key_name, sizeof(i.key_name), spec->key_name ? spec->key_name : "");
	str_copy(i.state, sizeof(i.state), "pending");
	str_copy(i.desired, sizeof(i.desired), "running");
	time_rfc3339_now(i.created_at, sizeof(i.created_at));
	memcpy(i.updated_at, i.created_at, sizeof(i.created_at));
	r = store_run(c,
		      "INSERT INTO instances (id, project_id, name, flavor_id, image_id, zone_id,"
		      " group_id, vcpus, ram_mb, disk_gb, state, desired, user_data, created_at,"
		      " updated_at, key_name, public_key)"
		      " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		      "sssssssiiisssssss", i.id, i.project_id, i.name, i.flavor_id, i.image_id,
		      i.zone_id[0] ? i.zone_id : NULL, i.group_id[0] ? i.group_id : NULL, i.vcpus,
		      i.ram_mb, i.disk_gb, i.state, i.desired,
		      spec->user_data ? spec->user_data : "", i.created_at, i.updated_at, i.key_name,
		      spec->public_key ? spec->public_key : "");
	if (r == -EEXIST)
		return err_set(err, ERR_CONFLICT, "name", "an instance named '%s' already exists",
			       i.name);
	if (r < 0)
		return store_fail(c, r, err);
	*ret = i;
	return 0;
}

int instance_get(struct store_conn *c, const char *project_id, const char *id_or_name,
		 struct instance *ret, struct err *err)
{
	struct store_stmt *s = NULL;
	int r;
	if (uuid_valid(id_or_name))
		r = store_query(c, &s,
				"SELECT " INSTANCE_COLS " FROM instances WHERE id = lower(?)"
				" AND (? IS NULL OR project_id = ?)",
				"sss", id_or_name, project_id, project_id);
	else
		r = store_query(c, &s,
				"SELECT " INSTANCE_COLS " FROM instances WHERE name = ?"
				" AND project_id = ?",
				"ss", id_or_name, project_id ? project_id : "");
	if (r < 0)
		return store_fail(c, r, err);
	r = store_fetch_one(s, instance_from_row, ret);
	if (r == 0)
		return err_set(err, ERR_NOT_FOUND, "", "no instance '%.80s'", id_or_name);
	return r < 0 ? store_fail(c, r, err) : 0;
}

int instance_list(struct store_conn *c, const char *project_id, const char *after, size_t limit,
		  struct instance **ret, size_t *ret_n, bool *ret_more, struct err *err)
{
	assert(limit > 0);
	struct store_stmt *s = NULL;
	int r = store_query(c, &s,
			    "SELECT " INSTANCE_COLS " FROM instances"
			    " WHERE (? IS NULL OR project_id = ?) AND (? IS NULL OR name || ' ' || id > ?)"
			    " ORDER BY name, id LIMIT ?",
			    "ssssi", project_id, project_id, after, after, (int64_t)limit + 1);
	if (r < 0)
		return store_fail(c, r, err);
	void *items;
	r = store_fetch(s, sizeof(struct instance), limit, instance_from_row, &items, ret_n,
			ret_more);
	if (r < 0)
		return store_fail(c, r, err);
	*ret = items;
	return 0;
}

int instance_pending(struct store_conn *c, size_t limit, struct instance **ret, size_t *ret_n,
		     struct err *err)
{
	struct store_stmt *s = NULL;
	int r = store_query(c, &s,
			    "SELECT " INSTANCE_COLS " FROM instances WHERE state = 'pending'"
			    " ORDER BY created_at LIMIT ?",
			    "i", (int64_t)limit);
	if (r < 0)
		return store_fail(c, r, err);
	void *items;
	r = store_fetch(s, sizeof(struct instance), 0, instance_from_row, &items, ret_n, NULL);
	if (r < 0)
		return store_fail(c, r, err);
	*ret = items;
	return 0;
}

/* Move id from state `from` to `to` (with host and error); 1 when it moved. */
static int transition(struct store_conn *c, const char *id, const char *from, const char *to,
		      const char *host_id, const char *error)
{
	char now[TIME_RFC3339_SIZE];
	time_rfc3339_now(now, sizeof(now));
	return store_run(c,
			 "UPDATE instances SET state = ?, host_id = COALESCE(?, host_id),"
			 " error = ?, updated_at = ? WHERE id = ? AND (? IS NULL OR state = ?)",
			 "sssssss", to, host_id, error ? error : "", now, id, from, from);
}

int instance_place(struct store_conn *c, const char *id, const char *host_id, struct err *err)
{
	int r = transition(c, id, "pending", "scheduled", host_id, NULL);
	if (r < 0)
		return store_fail(c, r, err);
	if (r == 0)
		return err_set(err, ERR_CONFLICT, "", "instance %s is no longer pending", id);
	return 0;
}

int instance_fail(struct store_conn *c, const char *id, const char *reason, bool released,
		  struct err *err)
{
	int r = transition(c, id, NULL, "error", NULL, reason);
	if (r >= 0 && released)
		r = store_run(c, "UPDATE instances SET holds_quota = 0 WHERE id = ?", "s", id);
	return r < 0 ? store_fail(c, r, err) : 0;
}

int instance_request_delete(struct store_conn *c, const char *id, struct err *err)
{
	char now[TIME_RFC3339_SIZE];
	time_rfc3339_now(now, sizeof(now));
	int r = store_run(c,
			  "UPDATE instances SET desired = 'deleted', state = 'deleting',"
			  " updated_at = ? WHERE id = ?",
			  "ss", now, id);
	return r < 0 ? store_fail(c, r, err) : 0;
}

int instance_resize(struct store_conn *c, const char *id, const struct flavor *f,
		    struct err *err)
{
	struct instance i;
	int r = instance_get(c, NULL, id, &i, err);
	if (r < 0)
		return r;
	if (strcmp(i.flavor_id, f->id) == 0)
		return err_set(err, ERR_INVALID, "flavor", "the instance already has flavor '%s'",
			       f->name);
	if (f->disk_gb < i.disk_gb)
		return err_set(err, ERR_INVALID, "flavor",
			       "flavor '%s' has a %lld GB disk; the instance's %lld GB disk may only "
			       "grow", f->name, (long long)f->disk_gb, (long long)i.disk_gb);
	char now[TIME_RFC3339_SIZE];
	time_rfc3339_now(now, sizeof(now));
	r = store_run(c,
		      "UPDATE instances SET flavor_id = ?, vcpus = ?, ram_mb = ?, disk_gb = ?,"
		      " state = 'resizing', error = '', updated_at = ?"
		      " WHERE id = ? AND state = 'stopped' AND desired = 'stopped'",
		      "siiiss", f->id, f->vcpus, f->ram_mb, f->disk_gb, now, id);
	if (r < 0)
		return store_fail(c, r, err);
	if (r == 0)
		return err_set(err, ERR_CONFLICT, "", "only a stopped instance can be resized; this "
			       "one is %s", i.state);
	return 0;
}

int instance_snapshot_begin(struct store_conn *c, const char *id, const char *image_id,
			    struct err *err)
{
	char now[TIME_RFC3339_SIZE];
	time_rfc3339_now(now, sizeof(now));
	int r = store_run(c,
			  "UPDATE instances SET state = 'snapshotting', task_image_id = ?, error = '',"
			  " updated_at = ? WHERE id = ? AND state = 'stopped' AND desired = 'stopped'",
			  "sss", image_id, now, id);
	if (r < 0)
		return store_fail(c, r, err);
	if (r == 0)
		return err_set(err, ERR_CONFLICT, "",
			       "only a stopped instance can be snapshotted; stop it first");
	return 0;
}

int instance_by_task(struct store_conn *c, const char *host_id, const char *image_id,
		     struct instance *ret, struct err *err)
{
	struct store_stmt *s = NULL;
	int r = store_query(c, &s,
			    "SELECT " INSTANCE_COLS " FROM instances WHERE host_id = ?"
			    " AND task_image_id = ? AND (state = 'snapshotting' OR"
			    " (state = 'migrating' AND source_host_id = ''))",
			    "ss", host_id, image_id);
	if (r < 0)
		return store_fail(c, r, err);
	r = store_fetch_one(s, instance_from_row, ret);
	if (r == 0)
		return err_set(err, ERR_NOT_FOUND, "", "no instance of this host is making image %.64s",
			       image_id);
	return r < 0 ? store_fail(c, r, err) : 0;
}

int instance_migrate_begin(struct store_conn *c, const char *id, const char *image_id,
			   const char *target, struct err *err)
{
	char now[TIME_RFC3339_SIZE];
	time_rfc3339_now(now, sizeof(now));
	int r = store_run(c,
			  "UPDATE instances SET state = 'migrating', task_image_id = ?,"
			  " migrate_host_id = ?, error = '', updated_at = ?"
			  " WHERE id = ? AND state = 'stopped' AND desired = 'stopped'",
			  "ssss", image_id, target, now, id);
	if (r < 0)
		return store_fail(c, r, err);
	if (r == 0)
		return err_set(err, ERR_CONFLICT, "",
			       "only a stopped instance can be migrated; stop it first");
	return 0;
}

int instance_migrate_move(struct store_conn *c, const char *id, struct err *err)
{
	char now[TIME_RFC3339_SIZE];
	time_rfc3339_now(now, sizeof(now));
	int r = store_run(c,
			  "UPDATE instances SET source_host_id = host_id, host_id = migrate_host_id,"
			  " migrate_host_id = '', updated_at = ?"
			  " WHERE id = ? AND state = 'migrating' AND migrate_host_id != ''",
			  "ss", now, id);
	return r < 0 ? store_fail(c, r, err) : 0;
}

int instance_migrate_end(struct store_conn *c, const char *id, bool ok, struct err *err)
{
	char now[TIME_RFC3339_SIZE];
	time_rfc3339_now(now, sizeof(now));
	int r = store_run(c,
			  ok ? "UPDATE instances SET state = 'stopped', task_image_id = '',"
			       " migrate_host_id = '', source_host_id = '', updated_at = ?"
			       " WHERE id = ? AND state = 'migrating'"
			     : "UPDATE instances SET state = 'stopped', task_image_id = '',"
			       " host_id = CASE WHEN source_host_id != '' THEN source_host_id"
			       " ELSE host_id END, migrate_host_id = '', source_host_id = '',"
			       " updated_at = ? WHERE id = ? AND state = 'migrating'",
			  "ss", now, id);
	return r < 0 ? store_fail(c, r, err) : 0;
}

int instance_snapshot_end(struct store_conn *c, const char *id, struct err *err)
{
	char now[TIME_RFC3339_SIZE];
	time_rfc3339_now(now, sizeof(now));
	int r = store_run(c,
			  "UPDATE instances SET state = 'stopped', task_image_id = '', updated_at = ?"
			  " WHERE id = ? AND state = 'snapshotting'",
			  "ss", now, id);
	return r < 0 ? store_fail(c, r, err) : 0;
}

int instance_remove(struct store_conn *c, const char *id, struct err *err)
{
	int r = store_run(c, "DELETE FROM instances WHERE id = ?", "s", id);
	return r < 0 ? store_fail(c, r, err) : 0;
}

/* ---- jobs ---- */

static void job_from_row(struct store_stmt *s, void *out)
{
	struct job *j = out;
	str_copy(j->id, sizeof(j->id), store_col_text(s, 0));
	str_copy(j->project_id, sizeof(j->project_id), store_col_text(s, 1));
	str_copy(j->kind, sizeof(j->kind), store_col_text(s, 2));
	str_copy(j->resource_id, sizeof(j->resource_id), store_col_text(s, 3));
	str_copy(j->status, sizeof(j->status), store_col_text(s, 4));
	j->progress = store_col_int(s, 5);
	str_copy(j->error, sizeof(j->error), store_col_text(s, 6));
	str_copy(j->created_at, sizeof(j->created_at), store_col_text(s, 7));
	str_copy(j->updated_at, sizeof(j->updated_at), store_col_text(s, 8));
}

int job_create(struct store_conn *c, const char *project_id, const char *kind,
	       const char *resource_id, struct job *ret, struct err *err)
{
	struct job j = { 0 };
	uuid_generate(j.id);
	str_copy(j.project_id, sizeof(j.project_id), project_id);
	str_copy(j.kind, sizeof(j.kind), kind);
	str_copy(j.resource_id, sizeof(j.resource_id), resource_id);
	str_copy(j.status, sizeof(j.status), "running");
	time_rfc3339_now(j.created_at, sizeof(j.created_at));
	memcpy(j.updated_at, j.created_at, sizeof(j.created_at));
	int r = store_run(c,
			  "INSERT INTO jobs (id, project_id, kind, resource_id, status, progress, error,"
			  " created_at, updated_at) VALUES (?, ?, ?, ?, ?, 0, '', ?, ?)",
			  "sssssss", j.id, project_id[0] ? project_id : NULL, j.kind, j.resource_id,
			  j.status, j.created_at, j.updated_at);
	if (r < 0)
		return store_fail(c, r, err);
	*ret = j;
	return 0;
}

int job_get(struct store_conn *c, const char *project_id, const char *id, struct job *ret,
	    struct err *err)
{
	struct store_stmt *s = NULL;
	int r = store_query(c, &s,
			    "SELECT " JOB_COLS " FROM jobs WHERE id = lower(?)"
			    " AND (? IS NULL OR project_id = ?)",
			    "sss", id, project_id, project_id);
	if (r < 0)
		return store_fail(c, r, err);
	r = store_fetch_one(s, job_from_row, ret);
	if (r == 0)
		return err_set(err, ERR_NOT_FOUND, "", "no job '%.80s'", id);
	return r < 0 ? store_fail(c, r, err) : 0;
}

int job_finish(struct store_conn *c, const char *resource_id, bool ok, const char *error,
	       struct err *err)
{
	char now[TIME_RFC3339_SIZE];
	time_rfc3339_now(now, sizeof(now));
	int r = store_run(c,
			  "UPDATE jobs SET status = ?, progress = 100, error = ?, updated_at = ?"
			  " WHERE resource_id = ? AND status = 'running'",
			  "ssss", ok ? "succeeded" : "failed", error ? error : "", now, resource_id);
	return r < 0 ? store_fail(c, r, err) : 0;
}

int instance_request(struct store_conn *c, const char *id, const char *desired,
		     const char *state, struct err *err)
{
	char now[TIME_RFC3339_SIZE];
	time_rfc3339_now(now, sizeof(now));
	int r = store_run(c,
			  "UPDATE instances SET desired = ?, state = ?, error = '', updated_at = ?"
			  " WHERE id = ?",
			  "ssss", desired, state, now, id);
	return r < 0 ? store_fail(c, r, err) : 0;
}

static void boot_row(struct store_stmt *s, void *out)
{
	struct instance_boot *b = out;
	instance_from_row(s, &b->i);
	b->user_data = xstrdup(store_col_text(s, 22));
	b->public_key = xstrdup(store_col_text(s, 23));
}

int instance_list_host(struct store_conn *c, const char *host_id, struct instance_boot **ret,
		       size_t *ret_n, struct err *err)
{
	struct store_stmt *s = NULL;
	int r = store_query(c, &s,
			    "SELECT " INSTANCE_COLS ", user_data, public_key FROM instances"
			    " WHERE host_id = ? OR source_host_id = ? ORDER BY created_at",
			    "ss", host_id, host_id);
	if (r < 0)
		return store_fail(c, r, err);
	void *items;
	r = store_fetch(s, sizeof(struct instance_boot), 0, boot_row, &items, ret_n, NULL);
	if (r < 0)
		return store_fail(c, r, err);
	*ret = items;
	return 0;
}

void instance_boot_free(struct instance_boot *items, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		free(items[k].user_data);
		free(items[k].public_key);
	}
	free(items);
}

int instance_report(struct store_conn *c, const char *host_id, const char *id,
		    const char *state, const char *error, struct instance *ret,
		    struct err *err)
{
	struct instance i;
	int r = instance_get(c, NULL, id, &i, err);
	if (r < 0)
		return r;
	if (strcmp(i.host_id, host_id) != 0)
		return err_set(err, ERR_NOT_FOUND, "", "instance %s is not on this host", id);
	const char *to = NULL;
	bool done = false;
	if (strcmp(state, "error") == 0) {
		to = "error";
		done = true;
	} else if (strcmp(state, "building") == 0) {
		to = strcmp(i.state, "scheduled") == 0 ? "building" : NULL;
	} else if (strcmp(state, "running") == 0 && strcmp(i.desired, "running") == 0) {
		done = strcmp(i.state, "running") != 0;
		to = "running";
	} else if (strcmp(state, "stopped") == 0 && strcmp(i.desired, "stopped") == 0 &&
		   strcmp(i.state, "snapshotting") != 0 && strcmp(i.state, "migrating") != 0) {
		done = strcmp(i.state, "stopped") != 0;
		to = "stopped";
	}
	if (!to || (strcmp(to, i.state) == 0 && !done)) {
		*ret = i;
		return 0;
	}
	r = transition(c, i.id, NULL, to, NULL, error);
	if (r < 0)
		return store_fail(c, r, err);
	r = instance_get(c, NULL, id, ret, err);
	return r < 0 ? r : (done ? 1 : 0);
}
