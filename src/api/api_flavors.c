/* api_flavors: /v1/flavors. System administrators define flavors; every
 * authenticated caller reads them. */
#include "api-priv.h"
#include "compute/compute.h"
#include "lib/jsonreq.h"

static json_t *flavor_json(const struct flavor *f)
{
	return json_pack("{s:s, s:s, s:I, s:I, s:I, s:s, s:s}", "id", f->id, "name", f->name,
			 "vcpus", (json_int_t)f->vcpus, "ram_mb", (json_int_t)f->ram_mb, "disk_gb",
			 (json_int_t)f->disk_gb, "created_at", f->created_at, "updated_at",
			 f->updated_at);
}

static void flavors_create(struct api_ctx *ctx)
{
	static const char *const fields[] = { "name", "vcpus", "ram_mb", "disk_gb", NULL };
	const char *name;
	int64_t vcpus, ram, disk;
	struct flavor f;
	ctx->audit_type = "flavor";
	json_t *b = api_body(ctx, fields);
	if (!b)
		return;
	if (json_req_string(b, "name", true, FLAVOR_NAME_MAX, false, &name, &ctx->err) < 0 ||
	    json_req_int(b, "vcpus", true, 1, FLAVOR_VCPUS_MAX, &vcpus, NULL, &ctx->err) < 0 ||
	    json_req_int(b, "ram_mb", true, FLAVOR_RAM_MB_MIN, FLAVOR_RAM_MB_MAX, &ram, NULL,
			 &ctx->err) < 0 ||
	    json_req_int(b, "disk_gb", true, 1, FLAVOR_DISK_GB_MAX, &disk, NULL, &ctx->err) < 0 ||
	    flavor_create(api_conn(ctx), name, vcpus, ram, disk, &f, &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	api_reply_created(ctx, "/v1/flavors", f.id, flavor_json(&f));
}

static void flavors_list(struct api_ctx *ctx)
{
	size_t limit, n;
	const char *after;
	struct flavor *items;
	bool more;
	if (api_page_params(ctx, &limit, &after) < 0)
		return;
	if (flavor_list(api_conn(ctx), after, limit, &items, &n, &more, &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, flavor_json(&items[i]));
	api_reply_json(ctx, 200, api_list(arr, more ? items[n - 1].name : NULL));
	free(items);
}

static void flavors_get(struct api_ctx *ctx)
{
	struct flavor f;
	if (flavor_get(api_conn(ctx), api_param(ctx, "id"), &f, &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	api_reply_json(ctx, 200, flavor_json(&f));
}

static void flavors_delete(struct api_ctx *ctx)
{
	ctx->audit_type = "flavor";
	if (flavor_delete(api_conn(ctx), api_param(ctx, "id"), &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	api_reply_empty(ctx, 204);
}

const struct api_route api_flavor_routes[] = {
	{ "POST", "/v1/flavors", flavors_create, API_SYSADMIN, "flavor.create", 0, NULL },
	{ "GET", "/v1/flavors", flavors_list, API_USER, NULL, 0, NULL },
	{ "GET", "/v1/flavors/{id}", flavors_get, API_USER, NULL, 0, NULL },
	{ "DELETE", "/v1/flavors/{id}", flavors_delete, API_SYSADMIN, "flavor.delete", 0, NULL },
	{ NULL, NULL, NULL, API_PUBLIC, NULL, 0, NULL },
};
