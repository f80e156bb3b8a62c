/* api_snapshots: /v1/snapshots. A snapshot belongs to its volume's project
 * (member role to make or delete one, reader to see it); it is taken and
 * kept by the volume's host, which reports when it is done. */
#include <string.h>

#include "api-priv.h"
#include "lib/jsonreq.h"
#include "lib/util.h"

static json_t *snapshot_json(const struct snapshot *p)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:s, s:s}", "id", p->id,
			      "name", p->name, "project_id", p->project_id, "volume_id",
			      p->volume_id, "size_gb", (json_int_t)p->size_gb, "host", p->host_id,
			      "state", p->state, "created_at", p->created_at, "updated_at",
			      p->updated_at);
	json_object_set_new(o, "pool", p->pool[0] ? json_string(p->pool) : json_null());
	if (strcmp(p->state, "error") == 0)
		json_object_set_new(o, "error", json_string(p->error));
	return o;
}

static int visible_snapshot(struct api_ctx *ctx, enum role need, struct snapshot *ret)
{
	int r = snapshot_get(api_conn(ctx), api_scope(ctx), api_param(ctx, "id"), ret, &ctx->err);
	return api_owned(ctx, r, ret->id, ret->project_id, need);
}

/* Answer a snapshot with a new job on it. */
static void reply_job(struct api_ctx *ctx, const struct snapshot *p, const char *kind,
		      unsigned status)
{
	struct job j;
	if (job_create(api_conn(ctx), p->project_id, kind, p->id, &j, &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	api_host_changed(ctx, p->host_id);
	json_t *o = snapshot_json(p);
	json_object_set_new(o, "job_id", json_string(j.id));
	api_reply_json(ctx, status, o);
}

static void snapshots_create(struct api_ctx *ctx)
{
	static const char *const fields[] = { "volume", "name", NULL };
	const char *vol_ref, *name;
	ctx->audit_type = "snapshot";
	json_t *b = api_body(ctx, fields);
	if (!b)
		return;
	if (json_req_string(b, "volume", true, 128, false, &vol_ref, &ctx->err) < 0 ||
	    json_req_string(b, "name", true, VOLUME_NAME_MAX, false, &name, &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	if (api_creating_in_project(ctx, "snapshots") < 0)
		return;
	struct store_conn *c = api_conn(ctx);
	struct volume v;
	struct instance i;
	struct snapshot p;
	if (volume_get(c, ctx->principal.project_id, vol_ref, &v, &ctx->err) < 0) {
		api_fail(ctx, ERR_INVALID, "volume", "no volume '%.80s'", vol_ref);
		return;
	}
	bool running = v.instance_id[0] && instance_get(c, NULL, v.instance_id, &i, &ctx->err) == 0 &&
		       strcmp(i.state, "stopped") != 0;
	if (snapshot_create(c, &v, running, name, &p, &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	str_copy(ctx->audit_id, sizeof(ctx->audit_id), p.id);
	str_copy(ctx->audit_project, sizeof(ctx->audit_project), p.project_id);
	reply_job(ctx, &p, "snapshot.create", 202);
}

static void snapshots_list(struct api_ctx *ctx)
{
	struct snapshot *items;
	size_t n;
	if (snapshot_list(api_conn(ctx), api_scope(ctx), &items, &n, &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	json_t *arr = json_array();
	for (size_t k = 0; k < n; k++)
		json_array_append_new(arr, snapshot_json(&items[k]));
	free(items);
	api_reply_json(ctx, 200, api_list(arr, NULL));
}

static void snapshots_get(struct api_ctx *ctx)
{
	struct snapshot p;
	if (visible_snapshot(ctx, ROLE_READER, &p) == 0)
		api_reply_json(ctx, 200, snapshot_json(&p));
}

static void snapshots_delete(struct api_ctx *ctx)
{
	struct snapshot p;
	ctx->audit_type = "snapshot";
	if (visible_snapshot(ctx, ROLE_MEMBER, &p) < 0)
		return;
	if (snapshot_request_delete(api_conn(ctx), p.id, &ctx->err) < 0 ||
	    snapshot_get(api_conn(ctx), NULL, p.id, &p, &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	reply_job(ctx, &p, "snapshot.delete", 202);
}

const struct api_route api_snapshot_routes[] = {
	{ "POST", "/v1/snapshots", snapshots_create, API_USER, "snapshot.create", 0, NULL },
	{ "GET", "/v1/snapshots", snapshots_list, API_USER, NULL, 0, NULL },
	{ "GET", "/v1/snapshots/{id}", snapshots_get, API_USER, NULL, 0, NULL },
	{ "DELETE", "/v1/snapshots/{id}", snapshots_delete, API_USER, "snapshot.delete", 0, NULL },
	{ NULL, NULL, NULL, API_PUBLIC, NULL, 0, NULL },
};
