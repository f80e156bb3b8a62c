/* api_volumes: /v1/volumes. A volume belongs to the project of the token
 * that creates it (member role to change it, reader to see it); another
 * project's volume is a 404. Attach, detach, extend and delete wait for
 * the agent of the volume's host and answer 202 with a job; see storage.h
 * for the states. */
#include <string.h>

#include "api-priv.h"
#include "identity/identity.h"
#include "lib/jsonreq.h"
#include "lib/util.h"

#define GIB (1024LL * 1024 * 1024)

static json_t *opt(const char *s)
{
	return s[0] ? json_string(s) : json_null();
}

static json_t *volume_json(const struct volume *v)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:I, s:s, s:s, s:s}", "id", v->id, "name", v->name,
			      "project_id", v->project_id, "size_gb", (json_int_t)v->size_gb,
			      "state", v->state, "created_at", v->created_at, "updated_at",
			      v->updated_at);
	json_object_set_new(o, "image_id", opt(v->image_id));
	json_object_set_new(o, "snapshot_id", opt(v->snapshot_id));
	json_object_set_new(o, "host", opt(v->host_id));
	json_object_set_new(o, "pool", opt(v->pool));
	json_object_set_new(o, "instance_id", opt(v->instance_id));
	json_object_set_new(o, "device", opt(v->device));
	if (strcmp(v->state, "error") == 0)
		json_object_set_new(o, "error", json_string(v->error));
	return o;
}

static int visible_volume(struct api_ctx *ctx, enum role need, struct volume *ret)
{
	int r = volume_get(api_conn(ctx), api_scope(ctx), api_param(ctx, "id"), ret, &ctx->err);
	return api_owned(ctx, r, ret->id, ret->project_id, need);
}

/* Answer v with a new job of kind; with done, the job has already
 * succeeded (nothing waits for a host). */
static void reply_job(struct api_ctx *ctx, const struct volume *v, const char *kind, bool done,
		      bool gone)
{
	struct store_conn *c = api_conn(ctx);
	struct job j;
	if (job_finish(c, v->id, false, "superseded by a newer action", &ctx->err) < 0 ||
	    job_create(c, v->project_id, kind, v->id, &j, &ctx->err) < 0 ||
	    (done && (job_finish(c, v->id, true, NULL, &ctx->err) < 0 ||
		      job_get(c, NULL, j.id, &j, &ctx->err) < 0))) {
		api_reply_error(ctx);
		return;
	}
	if (v->host_id[0])
		api_host_changed(ctx, v->host_id); /* its agent has work */
	json_t *o = gone ? json_object() : volume_json(v);
	json_object_set_new(o, "job_id", json_string(j.id));
	json_object_set_new(o, "job", api_job_json(&j));
	api_reply_json(ctx, 202, o);
}

static void volumes_create(struct api_ctx *ctx)
{
	static const char *const fields[] = { "name", "size_gb", "image", "snapshot", "pool",
					       NULL };
	const char *name, *image_ref, *snap_ref, *pool_ref;
	int64_t size_gb;
	const struct principal *p = &ctx->principal;
	ctx->audit_type = "volume";
	json_t *b = api_body(ctx, fields);
	if (!b)
		return;
	if (json_req_string(b, "name", true, VOLUME_NAME_MAX, false, &name, &ctx->err) < 0 ||
	    json_req_int(b, "size_gb", true, 1, VOLUME_SIZE_GB_MAX, &size_gb, NULL, &ctx->err) < 0 ||
	    json_req_string(b, "image", false, 128, false, &image_ref, &ctx->err) < 0 ||
	    json_req_string(b, "snapshot", false, 128, false, &snap_ref, &ctx->err) < 0 ||
	    json_req_string(b, "pool", false, 128, false, &pool_ref, &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	if (api_creating_in_project(ctx, "volumes") < 0)
		return;
	struct store_conn *c = api_conn(ctx);
	struct image im = { 0 };
	if (image_ref) {
		if (api_active_image(ctx, image_ref, &im) < 0)
			return;
		int64_t need = (im.virtual_size + GIB - 1) / GIB;
		if (size_gb < need) {
			api_fail(ctx, ERR_INVALID, "size_gb",
				 "image '%s' holds a %lld GB disk; the volume needs at least that",
				 im.name, (long long)need);
			return;
		}
	}
	struct snapshot snap;
	if (snap_ref && image_ref) {
		api_fail(ctx, ERR_INVALID, "snapshot", "give image or snapshot, not both");
		return;
	}
	if (snap_ref && (snapshot_get(c, p->project_id, snap_ref, &snap, &ctx->err) < 0 ||
			 strcmp(snap.state, "available") != 0)) {
		api_fail(ctx, ERR_INVALID, "snapshot", "no available snapshot '%.80s'", snap_ref);
		return;
	}
	struct storage_pool pool;
	if (pool_ref && storage_pool_get(c, pool_ref, &pool, &ctx->err) < 0) {
		api_fail(ctx, ERR_INVALID, "pool", "no storage pool '%.80s'", pool_ref);
		return;
	}
	struct volume v;
	if (quota_charge(c, p->project_id, QUOTA_VOLUMES, 1, &ctx->err) < 0 ||
	    quota_charge(c, p->project_id, QUOTA_VOLUME_GB, size_gb, &ctx->err) < 0 ||
	    volume_create(c, p->project_id, name, size_gb, image_ref ? im.id : NULL,
			  snap_ref ? &snap : NULL, pool_ref ? &pool : NULL, &v, &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	str_copy(ctx->audit_id, sizeof(ctx->audit_id), v.id);
	api_reply_created(ctx, "/v1/volumes", v.id, volume_json(&v));
}

static void volumes_list(struct api_ctx *ctx)
{
	size_t limit, n;
	const char *after;
	bool more;
	struct volume *items;
	if (api_page_params(ctx, &limit, &after) < 0)
		return;
	if (volume_list(api_conn(ctx), api_scope(ctx), after, limit, &items, &n, &more,
			&ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	json_t *arr = json_array();
	for (size_t k = 0; k < n; k++)
		json_array_append_new(arr, volume_json(&items[k]));
	api_reply_json(ctx, 200, api_list(arr, more ? items[n - 1].name : NULL));
	free(items);
}

static void volumes_get(struct api_ctx *ctx)
{
	struct volume v;
	if (visible_volume(ctx, ROLE_READER, &v) == 0)
		api_reply_json(ctx, 200, volume_json(&v));
}

/* The instance named in the body, in the volume's project. */
static int body_instance(struct api_ctx *ctx, json_t *b, bool required, const struct volume *v,
			 struct instance *ret)
{
	const char *ref;
	if (json_req_string(b, "instance", required, 128, false, &ref, &ctx->err) < 0) {
		api_reply_error(ctx);
		return -1;
	}
	if (!ref)
		return 0;
	if (instance_get(api_conn(ctx), v->project_id, ref, ret, &ctx->err) < 0) {
		api_fail(ctx, ERR_INVALID, "instance", "no instance '%.80s' in the volume's project",
			 ref);
		return -1;
	}
	return 1;
}

static void volumes_attach(struct api_ctx *ctx)
{
	static const char *const fields[] = { "instance", NULL };
	struct volume v;
	struct instance i;
	ctx->audit_type = "volume";
	json_t *b = api_body(ctx, fields);
	if (!b || visible_volume(ctx, ROLE_MEMBER, &v) < 0 ||
	    body_instance(ctx, b, true, &v, &i) < 0)
		return;
	if (strcmp(i.state, "running") != 0 && strcmp(i.state, "stopped") != 0) {
		api_fail(ctx, ERR_CONFLICT, "instance",
			 "volumes attach to running or stopped instances; '%s' is %s", i.name,
			 i.state);
		return;
	}
	struct host h;
	if (v.pool[0] && (host_get(api_conn(ctx), i.host_id, &h, &ctx->err) < 0 ||
			  !host_has_pool(&h, v.pool))) {
		api_fail(ctx, ERR_CONFLICT, "instance",
			 "the volume is in storage pool '%s', which the host of '%s' does not mount",
			 v.pool, i.name);
		return;
	}
	if (volume_attach(api_conn(ctx), v.id, i.id, i.host_id, &v, &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	reply_job(ctx, &v, "volume.attach", false, false);
}

static void volumes_detach(struct api_ctx *ctx)
{
	static const char *const fields[] = { "instance", NULL };
	struct volume v;
	struct instance i;
	ctx->audit_type = "volume";
	json_t *b = api_body_optional(ctx, fields);
	if (!b || visible_volume(ctx, ROLE_MEMBER, &v) < 0)
		return;
	int given = body_instance(ctx, b, false, &v, &i);
	if (given < 0)
		return;
	if (volume_detach(api_conn(ctx), v.id, given ? i.id : NULL, &v, &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	reply_job(ctx, &v, "volume.detach", false, false);
}

static void volumes_extend(struct api_ctx *ctx)
{
	static const char *const fields[] = { "size_gb", NULL };
	struct volume v;
	int64_t size_gb;
	ctx->audit_type = "volume";
	json_t *b = api_body(ctx, fields);
	if (!b || visible_volume(ctx, ROLE_MEMBER, &v) < 0)
		return;
	if (json_req_int(b, "size_gb", true, 1, VOLUME_SIZE_GB_MAX, &size_gb, NULL, &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	int64_t grow = size_gb - v.size_gb;
	int r = volume_extend(api_conn(ctx), v.id, size_gb, &v, &ctx->err);
	if (r < 0 || quota_charge(api_conn(ctx), v.project_id, QUOTA_VOLUME_GB, grow, &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	reply_job(ctx, &v, "volume.extend", r == 1, false);
}

static void volumes_delete(struct api_ctx *ctx)
{
	struct volume v;
	ctx->audit_type = "volume";
	if (visible_volume(ctx, ROLE_MEMBER, &v) < 0)
		return;
	struct store_conn *c = api_conn(ctx);
	int r = volume_request_delete(c, v.id, &ctx->err);
	if (r == 1 && (quota_release(c, v.project_id, QUOTA_VOLUMES, 1, &ctx->err) < 0 ||
		       quota_release(c, v.project_id, QUOTA_VOLUME_GB, v.size_gb, &ctx->err) < 0))
		r = -1;
	if (r < 0) {
		api_reply_error(ctx);
		return;
	}
	reply_job(ctx, &v, "volume.delete", r == 1, true);
}

const struct api_route api_volume_routes[] = {
	{ "POST", "/v1/volumes", volumes_create, API_USER, "volume.create", 0, NULL },
	{ "GET", "/v1/volumes", volumes_list, API_USER, NULL, 0, NULL },
	{ "GET", "/v1/volumes/{id}", volumes_get, API_USER, NULL, 0, NULL },
	{ "POST", "/v1/volumes/{id}/attach", volumes_attach, API_USER, "volume.attach", 0, NULL },
	{ "POST", "/v1/volumes/{id}/detach", volumes_detach, API_USER, "volume.detach", 0, NULL },
	{ "POST", "/v1/volumes/{id}/extend", volumes_extend, API_USER, "volume.extend", 0, NULL },
	{ "DELETE", "/v1/volumes/{id}", volumes_delete, API_USER, "volume.delete", 0, NULL },
	{ NULL, NULL, NULL, API_PUBLIC, NULL, 0, NULL },
};
