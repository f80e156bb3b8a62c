/* api_hosts: /v1/hosts — enrollment, the agents' heartbeats, and the
 * operators' view of their hypervisors. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api-priv.h"
#include "lib/jsonreq.h"
#include "lib/util.h"

#define ENROLL_TTL_DEFAULT_S 3600
#define ENROLL_TTL_MAX_S (7 * 24 * 3600)

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
	/* as the scheduler counts them: what its placements go by */
	struct sched_usage u;
	sched_host_usage(ctx->api->opts.sched, h->id, &u);
	json_object_set_new(o, "vcpus_used", json_integer(u.vcpus));
	json_object_set_new(o, "ram_mb_used", json_integer(u.ram_mb));
	json_object_set_new(o, "disk_gb_used", json_integer(u.disk_gb));
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

/* Read what an agent reports; enrollment also takes token and name. */
static int read_report(struct api_ctx *ctx, bool enroll, struct host_report *rep,
		       const char **token)
{
	static const char *const enroll_fields[] = { "token", "name", "cpus", "ram_mb", "disk_gb",
						     "cpu_model", "virt_type", "agent_version",
						     NULL };
	json_t *b = api_body(ctx, enroll ? enroll_fields : enroll_fields + 2);
	if (!b)
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
			    &ctx->err) < 0) {
		api_reply_error(ctx);
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
	if (host_heartbeat(api_conn(ctx), ctx->host.id, &rep, &h, &ctx->err) < 0) {
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

/* GET /v1/hosts/{id}/instances: what the agent must run. */
static void host_instances(struct api_ctx *ctx)
{
	struct instance *items;
	char **user_data;
	size_t n;
	if (own_host(ctx) < 0)
		return;
	if (instance_list_host(api_conn(ctx), ctx->host.id, &items, &user_data, &n,
			       &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	json_t *arr = json_array();
	for (size_t k = 0; k < n; k++) {
		const struct instance *i = &items[k];
		struct image im;
		struct err e = { 0 };
		const char *sha = image_get(api_conn(ctx), i->image_id, "", &im, &e) == 0
					  ? im.sha256
					  : "";
		json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:s, s:s, "
						     "s:s}",
						     "id", i->id, "name", i->name, "state", i->state,
						     "desired", i->desired, "vcpus",
						     (json_int_t)i->vcpus, "ram_mb",
						     (json_int_t)i->ram_mb, "disk_gb",
						     (json_int_t)i->disk_gb, "image_id", i->image_id,
						     "image_sha256", sha, "user_data", user_data[k]));
		free(user_data[k]);
	}
	free(items);
	free(user_data);
	api_reply_json(ctx, 200, api_list(arr, NULL));
}

/* GET /v1/hosts/{id}/images/{image}: an image an instance of this host uses. */
static void host_image(struct api_ctx *ctx)
{
	struct instance *items;
	char **user_data;
	size_t n;
	if (own_host(ctx) < 0)
		return;
	if (instance_list_host(api_conn(ctx), ctx->host.id, &items, &user_data, &n,
			       &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	const char *want = api_param(ctx, "image");
	bool used = false;
	for (size_t k = 0; k < n; k++) {
		used |= strcmp(items[k].image_id, want) == 0;
		free(user_data[k]);
	}
	free(items);
	free(user_data);
	struct image im;
	if (!used) {
		api_fail(ctx, ERR_NOT_FOUND, "", "no instance of this host uses image '%.80s'", want);
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
	if (instance_remove(c, i->id, &ctx->err) < 0 || job_finish(c, i->id, true, NULL,
								    &ctx->err) < 0)
		return -1;
	struct sched_request req = { .vcpus = i->vcpus, .ram_mb = i->ram_mb,
				     .disk_gb = i->disk_gb, .group_id = i->group_id };
	sched_release(ctx->api->opts.sched, i->host_id, &req);
	char *path = api_console_path(ctx, i->id);
	unlink(path);
	free(path);
	return 0;
}

/* One entry of a report: {"id", "state", "error"?}. */
static int report_one(struct api_ctx *ctx, json_t *e)
{
	static const char *const fields[] = { "id", "state", "error", NULL };
	const char *id, *state, *error;
	if (!json_is_object(e))
		return err_set(&ctx->err, ERR_INVALID, "instances", "each report is an object");
	if (json_req_only(e, fields, &ctx->err) < 0 ||
	    json_req_string(e, "id", true, 64, false, &id, &ctx->err) < 0 ||
	    json_req_string(e, "state", true, 16, false, &state, &ctx->err) < 0 ||
	    json_req_string(e, "error", false, 255, false, &error, &ctx->err) < 0)
		return -1;
	struct store_conn *c = api_conn(ctx);
	struct instance i;
	if (strcmp(state, "gone") == 0) {
		if (instance_get(c, NULL, id, &i, &ctx->err) < 0)
			return ctx->err.code == ERR_NOT_FOUND ? 0 : -1; /* gone already */
		if (strcmp(i.host_id, ctx->host.id) != 0 || strcmp(i.desired, "deleted") != 0)
			return 0; /* not ours, or not asked for: the next report corrects it */
		return finish_delete(ctx, &i);
	}
	static const char *const known[] = { "building", "running", "stopped", "error" };
	bool ok = false;
	for (size_t k = 0; k < ARRAY_SIZE(known); k++)
		ok |= strcmp(state, known[k]) == 0;
	if (!ok)
		return err_set(&ctx->err, ERR_INVALID, "state",
			       "state must be building, running, stopped, error or gone");
	int r = instance_report(c, ctx->host.id, id, state, error, &i, &ctx->err);
	if (r == 1)
		r = job_finish(c, id, strcmp(state, "error") != 0, error, &ctx->err);
	return r < 0 ? -1 : 0;
}

/* POST /v1/hosts/{id}/report {"instances": [...]}: what the agent sees. */
static void host_report(struct api_ctx *ctx)
{
	static const char *const fields[] = { "instances", NULL };
	if (own_host(ctx) < 0)
		return;
	json_t *b = api_body(ctx, fields);
	if (!b)
		return;
	json_t *list = json_object_get(b, "instances");
	if (!json_is_array(list)) {
		api_fail(ctx, ERR_INVALID, "instances", "instances must be an array");
		return;
	}
	struct store_conn *c = api_conn(ctx);
	size_t k;
	json_t *e;
	json_array_foreach(list, k, e) {
		if (store_txn_begin(c) < 0) {
			api_fail(ctx, ERR_BUSY, "", "the store is busy; retry");
			return;
		}
		if (report_one(ctx, e) < 0) {
			store_txn_rollback(c);
			api_reply_error(ctx);
			return;
		}
		if (store_txn_commit(c) < 0) {
			api_fail(ctx, ERR_BUSY, "", "the store is busy; retry");
			return;
		}
	}
	api_reply_empty(ctx, 204);
}

char *api_console_path(struct api_ctx *ctx, const char *id)
{
	return xasprintf("%s/%s.log", ctx->api->opts.console_dir, id);
}

/* PUT /v1/hosts/{id}/instances/{instance}/console: the console's tail. */
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
	mkdir(ctx->api->opts.console_dir, 0750);
	char *path = api_console_path(ctx, i.id), *tmp = xasprintf("%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	const struct buf *b = &ctx->req->body;
	int ok = fd >= 0 && (b->len == 0 || write(fd, b->data, b->len) == (ssize_t)b->len) &&
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
	{ "POST", "/v1/hosts/{id}/report", host_report, API_HOST, NULL, 0, NULL },
	{ "PUT", "/v1/hosts/{id}/instances/{instance}/console", host_console, API_HOST, NULL, 0,
	  NULL },
	{ "GET", "/v1/hosts", hosts_list, API_SYSADMIN, NULL, 0, NULL },
	{ "GET", "/v1/hosts/{id}", hosts_get, API_SYSADMIN, NULL, 0, NULL },
	{ "PATCH", "/v1/hosts/{id}", hosts_update, API_SYSADMIN, "host.update", 0, NULL },
	{ "DELETE", "/v1/hosts/{id}", hosts_delete, API_SYSADMIN, "host.delete", 0, NULL },
	{ NULL, NULL, NULL, API_PUBLIC, NULL, 0, NULL },
};
