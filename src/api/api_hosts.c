/* api_hosts: /v1/hosts — enrollment, the agents' heartbeats, and the
 * operators' view of their hypervisors.
 *
 * An agent long-polls for its host's desired state: each answer carries a
 * version ("<epoch>.<counter>": the epoch is random per start of nubod, the
 * counter the host's key on the notify board), and a request whose `since`
 * is the current version waits, holding no worker thread, until something
 * bumps the host's key (a placement, an action, a deletion, a change of the
 * host) or `wait` seconds pass. The version is read before the store, so
 * a change committed after the read is always seen by the next poll. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api-priv.h"
#include "lib/jsonreq.h"
#include "lib/log.h"
#include "lib/util.h"

#define ENROLL_TTL_DEFAULT_S 3600
#define ENROLL_TTL_MAX_S (7 * 24 * 3600)
/* Longest long poll, seconds. */
#define HOST_WAIT_MAX_S 60
/* Most shared storage pools one host reports. */
#define HOST_POOLS_MAX 16

static json_t *host_json(struct api_ctx *ctx, const struct host *h)
{
	char hb[TIME_RFC3339_SIZE] = "";
	if (h->last_heartbeat_ms)
		time_rfc3339_from_ms(h->last_heartbeat_ms, hb, sizeof(hb));
	json_t *o = json_pack("{s:s, s:s, s:b, s:s, s:I, s:I, s:I, s:s, s:s, s:s, s:s, s:s}", "id",
			      h->id, "name", h->name, "enabled", h->enabled, "state",
			      host_state(h, time_now_ms(), ctx->api->opts.host_down_after_ms),
			      "cpus", (json_int_t)h->cpus, "ram_mb", (json_int_t)h->ram_mb,
			      "disk_gb", (json_int_t)h->disk_gb, "cpu_model", h->cpu_model,
			      "virt_type", h->virt_type, "agent_version", h->agent_version,
			      "created_at", h->created_at, "updated_at", h->updated_at);
	json_object_set_new(o, "zone_id", h->zone_id[0] ? json_string(h->zone_id) : json_null());
	json_object_set_new(o, "last_heartbeat", hb[0] ? json_string(hb) : json_null());
	json_object_set_new(o, "underlay_ip",
			    h->underlay_ip[0] ? json_string(h->underlay_ip) : json_null());
	json_t *pools = json_array();
	for (const char *p = h->storage_pools; *p;) {
		const char *end = strchrnul(p, ',');
		json_array_append_new(pools, json_stringn(p, (size_t)(end - p)));
		p = *end ? end + 1 : end;
	}
	json_object_set_new(o, "storage_pools", pools);
	struct sched_usage u;
	if (sched_host_usage(ctx->api->opts.sched, h->id, &u))
		json_object_set_new(o, "allocation",
				    json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "vcpus_used",
					      (json_int_t)u.vcpus, "ram_mb_used", (json_int_t)u.ram_mb,
					      "disk_gb_used", (json_int_t)u.disk_gb, "vcpus_total",
					      (json_int_t)u.vcpus_total, "ram_mb_total",
					      (json_int_t)u.ram_mb_total, "disk_gb_total",
					      (json_int_t)u.disk_gb_total));
	return o;
}

static void tokens_create(struct api_ctx *ctx)
{
	static const char *const fields[] = { "zone", "expires_in", NULL };
	const char *zone;
	int64_t ttl = ENROLL_TTL_DEFAULT_S;
	struct enroll_token t;
	ctx->audit_type = "enroll_token";
	json_t *b = api_body_optional(ctx, fields);
	if (!b)
		return;
	if (json_req_string(b, "zone", false, 128, false, &zone, &ctx->err) < 0 ||
	    json_req_int(b, "expires_in", false, 60, ENROLL_TTL_MAX_S, &ttl, NULL, &ctx->err) < 0 ||
	    host_enroll_token_create(api_conn(ctx), zone, ttl * 1000, &t, &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	json_t *o = json_pack("{s:s, s:s, s:s}", "id", t.id, "token", t.secret, "expires_at",
			      t.expires_at);
	json_object_set_new(o, "zone_id", t.zone_id[0] ? json_string(t.zone_id) : json_null());
	str_copy(ctx->audit_id, sizeof(ctx->audit_id), t.id);
	explicit_bzero(&t, sizeof(t));
	api_reply_json(ctx, 201, o);
}

/* The names of the shared storage pools a heartbeat reports, joined with
 * commas into rep (arena memory). */
static int read_pools(struct api_ctx *ctx, json_t *pools, struct host_report *rep)
{
	if (!pools)
		return 0;
	struct buf names;
	buf_init(&names, 0);
	size_t k;
	json_t *p;
	const char *why = json_is_array(pools) && json_array_size(pools) <= HOST_POOLS_MAX
				  ? NULL
				  : "storage_pools must be a list of at most 16 pool names";
	json_array_foreach(pools, k, p) {
		const char *name = json_string_value(p);
		if (why || !name || name_check("storage_pools", name, STORAGE_POOL_NAME_MAX, false,
					       "-", &ctx->err) < 0) {
			why = why ? why : "storage_pools holds a bad pool name";
			break;
		}
		buf_printf(&names, "%s%s", k ? "," : "", name);
	}
	if (why) {
		buf_release(&names);
		api_fail(ctx, ERR_INVALID, "storage_pools", "%s", why);
		return -1;
	}
	rep->storage_pools = arena_strdup(ctx->req->arena, names.len ? names.data : "");
	buf_release(&names);
	return 0;
}

/* Read what an agent reports; enrollment also takes token and name. */
static int read_report(struct api_ctx *ctx, bool enroll, struct host_report *rep,
		       const char **token)
{
	static const char *const enroll_fields[] = { "token", "name", "cpus", "ram_mb", "disk_gb",
						     "cpu_model", "virt_type", "agent_version",
						     "underlay_ip", NULL };
	static const char *const beat_fields[] = { "cpus", "ram_mb", "disk_gb", "cpu_model",
						   "virt_type", "agent_version", "storage_pools",
						   "underlay_ip", NULL };
	json_t *b = api_body(ctx, enroll ? enroll_fields : beat_fields);
	if (!b)
		return -1;
	if (!enroll && read_pools(ctx, json_object_get(b, "storage_pools"), rep) < 0)
		return -1;
	if ((enroll && (json_req_string(b, "token", true, 128, false, token, &ctx->err) < 0 ||
			json_req_string(b, "name", true, COMPUTE_HOST_NAME_MAX, false, &rep->name,
					&ctx->err) < 0)) ||
	    json_req_int(b, "cpus", true, 1, 65536, &rep->cpus, NULL, &ctx->err) < 0 ||
	    json_req_int(b, "ram_mb", true, 64, 1LL << 40, &rep->ram_mb, NULL, &ctx->err) < 0 ||
	    json_req_int(b, "disk_gb", true, 0, 1LL << 40, &rep->disk_gb, NULL, &ctx->err) < 0 ||
	    json_req_string(b, "cpu_model", false, 63, false, &rep->cpu_model, &ctx->err) < 0 ||
	    json_req_string(b, "virt_type", false, 15, false, &rep->virt_type, &ctx->err) < 0 ||
	    json_req_string(b, "agent_version", false, 31, false, &rep->agent_version,
			    &ctx->err) < 0 ||
	    json_req_string(b, "underlay_ip", false, 15, false, &rep->underlay_ip, &ctx->err) < 0) {
		api_reply_error(ctx);
		return -1;
	}
	uint32_t addr;
	if (rep->underlay_ip && ipv4_parse(rep->underlay_ip, &addr) < 0) {
		api_fail(ctx, ERR_INVALID, "underlay_ip",
			 "underlay_ip must be an IPv4 address such as 192.0.2.10");
		return -1;
	}
	return 0;
}

static void enroll(struct api_ctx *ctx)
{
	struct host_report rep = { 0 };
	const char *token = NULL;
	struct host h;
	char cred[64];
	ctx->audit_type = "host";
	if (read_report(ctx, true, &rep, &token) < 0)
		return;
	str_printf(ctx->audit_user, sizeof(ctx->audit_user), "host:%.50s", rep.name);
	if (host_enroll(api_conn(ctx), token, &rep, &h, cred, &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	sched_host_update(ctx->api->opts.sched, &h);
	json_t *o = host_json(ctx, &h);
	json_object_set_new(o, "credential", json_string(cred));
	explicit_bzero(cred, sizeof(cred));
	api_reply_created(ctx, "/v1/hosts", h.id, o);
}

static void heartbeat(struct api_ctx *ctx)
{
	struct host_report rep = { 0 };
	struct host h;
	if (!uuid_valid(api_param(ctx, "id")) || strcmp(api_param(ctx, "id"), ctx->host.id) != 0) {
		api_fail(ctx, ERR_FORBIDDEN, "", "a host reports only for itself");
		return;
	}
	if (read_report(ctx, false, &rep, NULL) < 0)
		return;
	if (host_heartbeat(api_conn(ctx), ctx->host.id, &rep, &h, &ctx->err) < 0 ||
	    /* a new underlay address: its peers must learn it */
	    (strcmp(h.underlay_ip, ctx->host.underlay_ip) != 0 &&
	     api_net_changed(ctx, NET_SCOPE_ALL, NULL) < 0)) {
		api_reply_error(ctx);
		return;
	}
	sched_host_update(ctx->api->opts.sched, &h);
	api_reply_json(ctx, 200, host_json(ctx, &h));
}

static void hosts_list(struct api_ctx *ctx)
{
	size_t limit, n;
	const char *after;
	struct host *items;
	bool more;
	if (api_page_params(ctx, &limit, &after) < 0)
		return;
	if (host_list(api_conn(ctx), after, limit, &items, &n, &more, &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, host_json(ctx, &items[i]));
	api_reply_json(ctx, 200, api_list(arr, more ? items[n - 1].name : NULL));
	free(items);
}

static void hosts_get(struct api_ctx *ctx)
{
	struct host h;
	if (host_get(api_conn(ctx), api_param(ctx, "id"), &h, &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	api_reply_json(ctx, 200, host_json(ctx, &h));
}

static void hosts_update(struct api_ctx *ctx)
{
	static const char *const fields[] = { "enabled", NULL };
	bool enabled, given;
	struct host h;
	ctx->audit_type = "host";
	json_t *b = api_body(ctx, fields);
	if (!b)
		return;
	if (json_req_bool(b, "enabled", true, &enabled, &given, &ctx->err) < 0 ||
	    host_set_enabled(api_conn(ctx), api_param(ctx, "id"), enabled, &h, &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	str_copy(ctx->audit_id, sizeof(ctx->audit_id), h.id);
	sched_host_update(ctx->api->opts.sched, &h);
	api_host_changed(ctx, h.id);
	api_reply_json(ctx, 200, host_json(ctx, &h));
}

static void hosts_delete(struct api_ctx *ctx)
{
	struct host h;
	ctx->audit_type = "host";
	if (host_get(api_conn(ctx), api_param(ctx, "id"), &h, &ctx->err) < 0 ||
	    host_delete(api_conn(ctx), h.id, &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	str_copy(ctx->audit_id, sizeof(ctx->audit_id), h.id);
	sched_host_remove(ctx->api->opts.sched, h.id);
	api_host_changed(ctx, h.id); /* its waiting agent learns it is gone */
	api_reply_empty(ctx, 204);
}

/* The agent's own host: {id} must be it. */
static int own_host(struct api_ctx *ctx)
{
	const char *id = api_param(ctx, "id");
	if (!uuid_valid(id) || strcmp(id, ctx->host.id) != 0) {
		api_fail(ctx, ERR_FORBIDDEN, "", "a host acts only for itself");
		return -1;
	}
	return 0;
}

/* The volumes whose data lives on this host, as its agent needs them; NULL
 * on a store error (ctx->err set). */
static json_t *host_volumes_json(struct api_ctx *ctx)
{
	struct volume *vols;
	size_t n;
	if (volume_list_host(api_conn(ctx), ctx->host.id, &vols, &n, &ctx->err) < 0)
		return NULL;
	json_t *arr = json_array();
	for (size_t k = 0; k < n; k++) {
		const struct volume *v = &vols[k];
		struct image im;
		struct err e = { 0 };
		const char *sha = v->image_id[0] && image_get(api_conn(ctx), v->image_id, "", &im,
							      &e) == 0
					  ? im.sha256
					  : "";
		json_array_append_new(arr, json_pack("{s:s, s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
						     "id", v->id, "size_gb", (json_int_t)v->size_gb,
						     "state", v->state, "instance_id",
						     v->instance_id, "device", v->device,
						     "image_id", v->image_id, "image_sha256", sha,
						     "snapshot_id", v->snapshot_id, "pool",
						     v->pool));
	}
	free(vols);
	return arr;
}

/* Read `wait` (seconds, 0 to HOST_WAIT_MAX_S) and `since` (a version,
 * "<16 hex digits>.<counter>"). ret_counter is set when since is of this
 * run's epoch; ret_wait is 0 when absent. Returns 0, or -1 after a 400. */
static int poll_params(struct api_ctx *ctx, uint64_t *ret_wait, bool *ret_same_epoch,
		       uint64_t *ret_counter)
{
	const char *wait, *since;
	*ret_wait = 0;
	*ret_same_epoch = false;
	if (api_query(ctx, "wait", &wait) < 0 || api_query(ctx, "since", &since) < 0)
		return -1;
	if (wait && parse_u64(wait, 0, HOST_WAIT_MAX_S, ret_wait) < 0) {
		api_fail(ctx, ERR_INVALID, "wait", "wait must be a whole number of seconds, 0 to %d",
			 HOST_WAIT_MAX_S);
		return -1;
	}
	if (!since)
		return 0;
	const char *dot = strchr(since, '.');
	bool ok = dot && dot - since == 16;
	for (const char *p = since; ok && p < dot; p++)
		ok = (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f');
	if (!ok || parse_u64(dot + 1, 0, UINT64_MAX, ret_counter) < 0) {
		api_fail(ctx, ERR_INVALID, "since",
			 "since must be a version from an earlier answer (its \"version\")");
		return -1;
	}
	*ret_same_epoch = strncmp(since, ctx->api->epoch, 16) == 0;
	return 0;
}

/* The snapshots this host keeps; NULL on a store error (ctx->err set). */
static json_t *host_snapshots_json(struct api_ctx *ctx)
{
	struct snapshot *snaps;
	size_t n;
	if (snapshot_list_host(api_conn(ctx), ctx->host.id, &snaps, &n, &ctx->err) < 0)
		return NULL;
	json_t *arr = json_array();
	for (size_t k = 0; k < n; k++)
		json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s}", "id", snaps[k].id,
						     "volume_id", snaps[k].volume_id, "state",
						     snaps[k].state, "pool", snaps[k].pool));
	free(snaps);
	return arr;
}

/* GET /v1/hosts/{id}/instances[?wait=S&since=V]: what the agent must run,
 * at once when it changed since V, else once it changes or S seconds pass. */
static void host_instances(struct api_ctx *ctx)
{
	struct instance_boot *items;
	size_t n;
	uint64_t wait_s, counter = 0;
	bool same_epoch;
	if (own_host(ctx) < 0 || poll_params(ctx, &wait_s, &same_epoch, &counter) < 0)
		return;
	struct notify_board *b = ctx->api->opts.board;
	if (b && same_epoch && wait_s > 0 && notify_version(b, ctx->host.id) == counter &&
	    http_req_wait(ctx->req, b, ctx->host.id, counter, (unsigned)wait_s * 1000) == 0)
		return; /* called again when it changes or the time is up */
	char version[48];
	api_host_version(ctx->api, ctx->host.id, version); /* before the store: see top */
	if (instance_list_host(api_conn(ctx), ctx->host.id, &items, &n, &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	json_t *arr = json_array();
	for (size_t k = 0; k < n; k++) {
		const struct instance *i = &items[k].i;
		struct image im;
		struct err e = { 0 };
		const char *sha = image_get(api_conn(ctx), i->image_id, "", &im, &e) == 0
					  ? im.sha256
					  : "";
		/* a migration: this host uploads the disk, keeps its copy until the
		 * target has built it, or receives it */
		const char *mig = "";
		struct image disk = { 0 };
		if (strcmp(i->state, "migrating") == 0) {
			mig = !i->source_host_id[0] ? "upload"
			      : strcmp(i->source_host_id, ctx->host.id) == 0 ? "keep" : "receive";
			if (strcmp(mig, "receive") == 0 &&
			    image_get(api_conn(ctx), i->task_image_id, "", &disk, &e) < 0)
				disk.sha256[0] = '\0';
		}
		json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:s, s:s, "
						     "s:s, s:s, s:s}",
						     "id", i->id, "name", i->name, "state", i->state,
						     "desired", i->desired, "vcpus",
						     (json_int_t)i->vcpus, "ram_mb",
						     (json_int_t)i->ram_mb, "disk_gb",
						     (json_int_t)i->disk_gb, "image_id", i->image_id,
						     "image_sha256", sha, "user_data",
						     items[k].user_data, "public_key",
						     items[k].public_key, "snapshot_image_id",
						     i->task_image_id));
		json_t *last = json_array_get(arr, json_array_size(arr) - 1);
		json_object_set_new(last, "migration", json_string(mig));
		json_object_set_new(last, "disk_image_sha256", json_string(disk.sha256));
	}
	instance_boot_free(items, n);
	json_t *vols = host_volumes_json(ctx);
	json_t *snaps = vols ? host_snapshots_json(ctx) : NULL;
	json_t *o = api_list(arr, NULL); /* arr stays valid: o holds it */
	if (!snaps || api_host_network_state(ctx, o, arr) < 0) {
		json_decref(o);
		json_decref(vols);
		json_decref(snaps);
		api_reply_error(ctx);
		return;
	}
	json_object_set_new(o, "volumes", vols);
	json_object_set_new(o, "snapshots", snaps);
	json_object_set_new(o, "version", json_string(version));
	api_reply_json(ctx, 200, o);
}

/* GET /v1/hosts/{id}/images/{image}: an image an instance of this host uses. */
static void host_image(struct api_ctx *ctx)
{
	struct instance_boot *items;
	size_t n;
	if (own_host(ctx) < 0)
		return;
	if (instance_list_host(api_conn(ctx), ctx->host.id, &items, &n, &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	const char *want = api_param(ctx, "image");
	bool used = false;
	for (size_t k = 0; k < n; k++) {
		const struct instance *i = &items[k].i;
		used |= strcmp(i->image_id, want) == 0;
		/* the disk of an instance migrating to this host */
		used |= strcmp(i->state, "migrating") == 0 && i->source_host_id[0] &&
			strcmp(i->host_id, ctx->host.id) == 0 && strcmp(i->task_image_id, want) == 0;
	}
	instance_boot_free(items, n);
	/* or the image a volume of this host is made from */
	struct volume *vols = NULL;
	size_t nv = 0;
	if (!used && volume_list_host(api_conn(ctx), ctx->host.id, &vols, &nv, &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	for (size_t k = 0; k < nv; k++)
		used |= strcmp(vols[k].image_id, want) == 0;
	free(vols);
	struct image im;
	if (!used) {
		api_fail(ctx, ERR_NOT_FOUND, "", "nothing on this host uses image '%.80s'", want);
		return;
	}
	if (image_get(api_conn(ctx), want, "", &im, &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	api_send_image(ctx, &im);
}

/* An instance reported gone after its deletion: forget it. */
static int finish_delete(struct api_ctx *ctx, const struct instance *i)
{
	struct store_conn *c = api_conn(ctx);
	if (i->holds_quota &&
	    (quota_release(c, i->project_id, QUOTA_INSTANCES, 1, &ctx->err) < 0 ||
	     quota_release(c, i->project_id, QUOTA_VCPUS, i->vcpus, &ctx->err) < 0 ||
	     quota_release(c, i->project_id, QUOTA_RAM_MB, i->ram_mb, &ctx->err) < 0))
		return -1;
	/* the hosts of its networks' other ports lose a peer or a member */
	if (api_net_changed(ctx, NET_SCOPE_INSTANCE, i->id) < 0 ||
	    volume_release_instance(c, i->id, &ctx->err) < 0 ||
	    port_release_instance(c, i->id, &ctx->err) < 0 ||
	    instance_remove(c, i->id, &ctx->err) < 0 ||
	    job_finish(c, i->id, true, NULL, &ctx->err) < 0)
		return -1;
	struct sched_request req = { .vcpus = i->vcpus, .ram_mb = i->ram_mb,
				     .disk_gb = i->disk_gb, .group_id = i->group_id };
	sched_release(ctx->api->opts.sched, i->host_id, &req);
	api_host_changed(ctx, i->host_id);
	char *path = api_console_path(ctx, i->id);
	unlink(path);
	free(path);
	return 0;
}

/* End a migration: ok (the target built it) or not (back on the old
 * host); the capacity the other side held goes back, the disk image goes. */
static int end_migration(struct api_ctx *ctx, const struct instance *i, bool ok,
			 const char *error)
{
	struct store_conn *c = api_conn(ctx);
	/* the side that does not keep the instance: its reservation goes */
	const char *gone = ok ? i->source_host_id : i->source_host_id[0] ? i->host_id
									 : i->migrate_host_id;
	struct sched_request req = { .vcpus = i->vcpus, .ram_mb = i->ram_mb,
				     .disk_gb = i->disk_gb, .group_id = i->group_id };
	const char *home = ok || !i->source_host_id[0] ? i->host_id : i->source_host_id;
	if (instance_migrate_end(c, i->id, ok, &ctx->err) < 0 ||
	    volume_follow_instance(c, i->id, home, &ctx->err) < 0 ||
	    image_delete(c, ctx->api->opts.storage, i->task_image_id, &ctx->err) < 0 ||
	    job_finish(c, i->id, ok, error, &ctx->err) < 0)
		return -1;
	sched_release(ctx->api->opts.sched, gone, &req);
	api_host_changed(ctx, i->host_id);
	api_host_changed(ctx, i->source_host_id);
	/* its ports moved with it: their networks' peers change */
	if (api_net_changed(ctx, NET_SCOPE_INSTANCE, i->id) < 0)
		return -1;
	log_line(LOGL_INFO, ok ? "instance migrated" : "instance migration failed", "instance",
		 i->id, "error", error ? error : "-", NULL);
	return 0;
}

/* A report about a migrating instance: the target's "stopped" ends it
 * well, its "error" or the old host's failed upload ends it badly; the
 * rest changes nothing. */
static int report_migration(struct api_ctx *ctx, const struct instance *i, const char *host,
			    const char *state, const char *error)
{
	bool target = i->source_host_id[0] && strcmp(i->host_id, host) == 0;
	bool uploader = !i->source_host_id[0] && strcmp(i->host_id, host) == 0;
	if (target && strcmp(state, "stopped") == 0 && !error)
		return end_migration(ctx, i, true, NULL);
	if ((target && (strcmp(state, "error") == 0 || error)) ||
	    (uploader && strcmp(state, "stopped") == 0 && error))
		return end_migration(ctx, i, false, error ? error : "the target host failed");
	return 0;
}

/* One entry of a report, read and its state checked by report_list. */
struct report {
	const char *id, *state, *error; /* error: NULL when none */
};

static bool report_is(const struct report *e, const char *state)
{
	return strcmp(e->state, state) == 0;
}

/* What an instance's host reports of it. */
static int report_instance(struct api_ctx *ctx, const struct report *e)
{
	struct store_conn *c = api_conn(ctx);
	struct instance i;
	if (instance_get(c, NULL, e->id, &i, &ctx->err) < 0)
		/* gone already, or the next report corrects it */
		return ctx->err.code == ERR_NOT_FOUND && report_is(e, "gone") ? 0 : -1;
	if (report_is(e, "gone"))
		return strcmp(i.host_id, ctx->host.id) == 0 && strcmp(i.desired, "deleted") == 0
			       ? finish_delete(ctx, &i)
			       : 0; /* not ours, or not asked for */
	if (strcmp(i.state, "migrating") == 0)
		return report_migration(ctx, &i, ctx->host.id, e->state, e->error);
	if (report_is(e, "stopped") && e->error && strcmp(i.host_id, ctx->host.id) == 0 &&
	    strcmp(i.state, "snapshotting") == 0) {
		/* the host could not make the snapshot: the image fails, not the
		 * instance */
		if (image_fail(c, i.task_image_id, e->error, &ctx->err) < 0 ||
		    instance_snapshot_end(c, i.id, &ctx->err) < 0 ||
		    job_finish(c, i.id, false, e->error, &ctx->err) < 0)
			return -1;
		return 0;
	}
	int r = instance_report(c, ctx->host.id, e->id, e->state, e->error, &i, &ctx->err);
	if (r == 1)
		r = job_finish(c, e->id, !report_is(e, "error"), e->error, &ctx->err);
	return r < 0 ? -1 : 0;
}

/* What a volume's host reports of it. */
static int report_volume(struct api_ctx *ctx, const struct report *e)
{
	struct store_conn *c = api_conn(ctx);
	struct volume v;
	int r = volume_report(c, ctx->host.id, e->id, e->state, e->error, &v, &ctx->err);
	if (r < 0 && ctx->err.code == ERR_NOT_FOUND && report_is(e, "gone"))
		return 0; /* gone already */
	if (r == 1 && report_is(e, "gone") &&
	    (quota_release(c, v.project_id, QUOTA_VOLUMES, 1, &ctx->err) < 0 ||
	     quota_release(c, v.project_id, QUOTA_VOLUME_GB, v.size_gb, &ctx->err) < 0))
		return -1;
	if (r == 1)
		r = job_finish(c, e->id, !report_is(e, "error"), e->error, &ctx->err);
	return r < 0 ? -1 : 0;
}

/* What a snapshot's host reports of it. */
static int report_snapshot(struct api_ctx *ctx, const struct report *e)
{
	int r = snapshot_report(api_conn(ctx), ctx->host.id, e->id, e->state, e->error, &ctx->err);
	if (r < 0 && ctx->err.code == ERR_NOT_FOUND && report_is(e, "gone"))
		return 0; /* gone already */
	if (r == 1)
		r = job_finish(api_conn(ctx), e->id, !report_is(e, "error"), e->error, &ctx->err);
	return r < 0 ? -1 : 0;
}

/* Read entry e of report list key: {"id", "state" (one of known), "error"?}. */
static int report_read(struct api_ctx *ctx, const char *key, const char *const known[],
		       json_t *e, struct report *ret)
{
	static const char *const fields[] = { "id", "state", "error", NULL };
	if (!json_is_object(e))
		return err_set(&ctx->err, ERR_INVALID, key, "each report is an object");
	if (json_req_only(e, fields, &ctx->err) < 0 ||
	    json_req_string(e, "id", true, 64, false, &ret->id, &ctx->err) < 0 ||
	    json_req_string(e, "state", true, 16, false, &ret->state, &ctx->err) < 0 ||
	    json_req_string(e, "error", false, 255, false, &ret->error, &ctx->err) < 0)
		return -1;
	char list[128] = "";
	for (size_t k = 0; known[k]; k++) {
		if (report_is(ret, known[k]))
			return 0;
		str_printf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
			   k == 0 ? "" : known[k + 1] ? ", " : " or ", known[k]);
	}
	return err_set(&ctx->err, ERR_INVALID, "state", "a state in %s must be %s", key, list);
}

/* Apply report list key (when the body has it) entry by entry, each in its
 * own transaction. 0, or -1 after answering the error. */
static int report_list(struct api_ctx *ctx, json_t *b, const char *key,
		       const char *const known[],
		       int (*one)(struct api_ctx *, const struct report *))
{
	json_t *list = json_object_get(b, key);
	if (!list)
		return 0;
	if (!json_is_array(list)) {
		api_fail(ctx, ERR_INVALID, key, "%s must be an array", key);
		return -1;
	}
	struct store_conn *c = api_conn(ctx);
	size_t k;
	json_t *e;
	json_array_foreach(list, k, e) {
		struct report r;
		if (store_txn_begin(c) < 0) {
			api_fail(ctx, ERR_BUSY, "", "the store is busy; retry");
			return -1;
		}
		if (report_read(ctx, key, known, e, &r) < 0 || one(ctx, &r) < 0) {
			store_txn_rollback(c);
			api_reply_error(ctx);
			return -1;
		}
		if (store_txn_commit(c) < 0) {
			api_fail(ctx, ERR_BUSY, "", "the store is busy; retry");
			return -1;
		}
	}
	return 0;
}

/* POST /v1/hosts/{id}/report {"instances": [...], "volumes": [...]}: what
 * the agent sees. */
static void host_report(struct api_ctx *ctx)
{
	static const char *const fields[] = { "instances", "volumes", "snapshots", NULL };
	if (own_host(ctx) < 0)
		return;
	json_t *b = api_body(ctx, fields);
	if (!b)
		return;
	if (!json_object_get(b, "instances") && !json_object_get(b, "volumes") &&
	    !json_object_get(b, "snapshots")) {
		api_fail(ctx, ERR_INVALID, "instances",
			 "a report needs instances, volumes or snapshots");
		return;
	}
	static const char *const instance_states[] = { "building", "running", "stopped",
							"error", "gone", NULL };
	static const char *const volume_states[] = { "in-use", "available", "gone", "error",
						      NULL };
	static const char *const snapshot_states[] = { "available", "gone", "error", NULL };
	if (report_list(ctx, b, "instances", instance_states, report_instance) < 0 ||
	    report_list(ctx, b, "volumes", volume_states, report_volume) < 0 ||
	    report_list(ctx, b, "snapshots", snapshot_states, report_snapshot) < 0)
		return;
	api_reply_empty(ctx, 204);
}

/* PUT /v1/hosts/{id}/images/{image}/file: the bytes of the snapshot one
 * of this host's instances is making (streamed, like a user's upload). */
static void host_upload_prepare(struct api_ctx *ctx)
{
	struct instance i;
	if (own_host(ctx) < 0)
		return;
	if (instance_by_task(api_conn(ctx), ctx->host.id, api_param(ctx, "image"), &i,
			     &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	api_image_upload_begin(ctx, i.task_image_id);
}

static void host_upload(struct api_ctx *ctx)
{
	struct image im;
	struct instance i;
	if (api_image_upload_end(ctx, &im) < 0)
		return;
	struct store_conn *c = api_conn(ctx);
	if (store_txn_begin(c) < 0) {
		api_fail(ctx, ERR_BUSY, "", "the store is busy; retry");
		return;
	}
	bool found = instance_by_task(c, ctx->host.id, im.id, &i, &ctx->err) == 0;
	bool moving = found && strcmp(i.state, "migrating") == 0;
	if (moving && (instance_migrate_move(c, i.id, &ctx->err) < 0 ||
		       volume_follow_instance(c, i.id, i.migrate_host_id, &ctx->err) < 0)) {
		store_txn_rollback(c);
		api_reply_error(ctx);
		return;
	}
	if (moving)
		api_host_changed(ctx, i.migrate_host_id); /* the target builds it now */
	if (found && !moving &&
	    (instance_snapshot_end(c, i.id, &ctx->err) < 0 ||
	     job_finish(c, i.id, true, NULL, &ctx->err) < 0)) {
		store_txn_rollback(c);
		api_reply_error(ctx);
		return;
	}
	if (store_txn_commit(c) < 0) {
		api_fail(ctx, ERR_BUSY, "", "the store is busy; retry");
		return;
	}
	api_reply_json(ctx, 200, api_image_json(&im));
}

char *api_console_path(struct api_ctx *ctx, const char *id)
{
	return xasprintf("%s/%s.log", ctx->api->opts.console_dir, id);
}

/* PUT /v1/hosts/{id}/instances/{instance}/console?offset=N: the console's
 * tail, whose first byte is byte N of the whole console. */
static void host_console(struct api_ctx *ctx)
{
	struct instance i;
	if (own_host(ctx) < 0)
		return;
	if (instance_get(api_conn(ctx), NULL, api_param(ctx, "instance"), &i, &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	if (strcmp(i.host_id, ctx->host.id) != 0) {
		api_fail(ctx, ERR_NOT_FOUND, "", "no instance of this host");
		return;
	}
	uint64_t offset = 0;
	bool given;
	if (api_query_u64(ctx, "offset", API_CONSOLE_OFFSET_MAX, &offset, &given) < 0)
		return;
	mkdir(ctx->api->opts.console_dir, 0750);
	/* kept as "<offset of the first byte>\n<bytes>" */
	char *path = api_console_path(ctx, i.id), *tmp = xasprintf("%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	const struct buf *b = &ctx->req->body;
	char head[32];
	int hn = snprintf(head, sizeof(head), "%llu\n", (unsigned long long)offset);
	int ok = fd >= 0 && write(fd, head, (size_t)hn) == hn &&
		 (b->len == 0 || write(fd, b->data, b->len) == (ssize_t)b->len) &&
		 rename(tmp, path) == 0;
	if (fd >= 0)
		close(fd);
	free(tmp);
	free(path);
	if (!ok) {
		api_fail(ctx, ERR_INTERNAL, "", "cannot keep the console log: %s", strerror(errno));
		return;
	}
	api_reply_empty(ctx, 204);
}

const struct api_route api_host_routes[] = {
	{ "POST", "/v1/hosts/enroll-tokens", tokens_create, API_SYSADMIN, "host.enroll_token",
	  API_F_SECRET, NULL },
	{ "POST", "/v1/hosts/enroll", enroll, API_PUBLIC, "host.enroll", API_F_SECRET, NULL },
	{ "POST", "/v1/hosts/{id}/heartbeat", heartbeat, API_HOST, NULL, 0, NULL },
	{ "GET", "/v1/hosts/{id}/instances", host_instances, API_HOST, NULL, 0, NULL },
	{ "GET", "/v1/hosts/{id}/images/{image}", host_image, API_HOST, NULL, 0, NULL },
	{ "PUT", "/v1/hosts/{id}/images/{image}/file", host_upload, API_HOST, NULL, API_F_STREAM,
	  host_upload_prepare },
	{ "POST", "/v1/hosts/{id}/report", host_report, API_HOST, NULL, 0, NULL },
	{ "PUT", "/v1/hosts/{id}/instances/{instance}/console", host_console, API_HOST, NULL, 0,
	  NULL },
	{ "GET", "/v1/hosts", hosts_list, API_SYSADMIN, NULL, 0, NULL },
	{ "GET", "/v1/hosts/{id}", hosts_get, API_SYSADMIN, NULL, 0, NULL },
	{ "PATCH", "/v1/hosts/{id}", hosts_update, API_SYSADMIN, "host.update", 0, NULL },
	{ "DELETE", "/v1/hosts/{id}", hosts_delete, API_SYSADMIN, "host.delete", 0, NULL },
	{ NULL, NULL, NULL, API_PUBLIC, NULL, 0, NULL },
};
