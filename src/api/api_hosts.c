/* api_hosts: /v1/hosts — enrollment, the agents' heartbeats, and the
 * operators' view of their hypervisors. */
#include <string.h>

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

const struct api_route api_host_routes[] = {
	{ "POST", "/v1/hosts/enroll-tokens", tokens_create, API_SYSADMIN, "host.enroll_token",
	  API_F_SECRET, NULL },
	{ "POST", "/v1/hosts/enroll", enroll, API_PUBLIC, "host.enroll", API_F_SECRET, NULL },
	{ "POST", "/v1/hosts/{id}/heartbeat", heartbeat, API_HOST, NULL, 0, NULL },
	{ "GET", "/v1/hosts", hosts_list, API_SYSADMIN, NULL, 0, NULL },
	{ "GET", "/v1/hosts/{id}", hosts_get, API_SYSADMIN, NULL, 0, NULL },
	{ "PATCH", "/v1/hosts/{id}", hosts_update, API_SYSADMIN, "host.update", 0, NULL },
	{ "DELETE", "/v1/hosts/{id}", hosts_delete, API_SYSADMIN, "host.delete", 0, NULL },
	{ NULL, NULL, NULL, API_PUBLIC, NULL, 0, NULL },
};
