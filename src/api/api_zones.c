/* api_zones: /v1/zones. A zone is addressed by id or by name. */
#include "api-priv.h"
#include "compute/compute.h"
#include "lib/jsonreq.h"
#include "lib/util.h"

static const char *const zone_fields[] = { "name", "description", "jurisdiction",
					    "cpu_allocation_ratio", "ram_allocation_ratio", NULL };

/* A ratio, or null where the zone takes nubod's default. */
static json_t *ratio_json(double r)
{
	return r > 0 ? json_real(r) : json_null();
}

static json_t *zone_json(const struct zone *z)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:s, s:s}", "id", z->id, "name", z->name,
			 "description", z->description, "jurisdiction", z->jurisdiction,
			 "cpu_allocation_ratio", ratio_json(z->cpu_ratio), "ram_allocation_ratio",
			 ratio_json(z->ram_ratio), "created_at", z->created_at, "updated_at",
			 z->updated_at);
}

/* Read an allocation ratio field (null: back to the default). */
static int ratio_read(json_t *body, const char *key, double max, bool *set, double *ret,
		      struct err *err)
{
	bool null;
	if (json_req_number(body, key, 0.001, max, true, ret, &null, set, err) < 0)
		return -1;
	if (null)
		*ret = 0;
	return 0;
}

/* Read the zone fields of a body into spec; name and jurisdiction are
 * required on create only. */
static int zone_spec_read(struct api_ctx *ctx, bool create, struct zone_spec *spec)
{
	json_t *body = api_body(ctx, zone_fields);
	if (!body)
		return -1;
	if (json_req_string(body, "name", create, ZONE_NAME_MAX, false, &spec->name,
			    &ctx->err) < 0 ||
	    json_req_string(body, "jurisdiction", create, 8, false, &spec->jurisdiction,
			    &ctx->err) < 0 ||
	    json_req_string(body, "description", false, ZONE_DESCRIPTION_MAX, true,
			    &spec->description, &ctx->err) < 0 ||
	    ratio_read(body, "cpu_allocation_ratio", ZONE_CPU_RATIO_MAX, &spec->set_cpu_ratio,
		       &spec->cpu_ratio, &ctx->err) < 0 ||
	    ratio_read(body, "ram_allocation_ratio", ZONE_RAM_RATIO_MAX, &spec->set_ram_ratio,
		       &spec->ram_ratio, &ctx->err) < 0) {
		api_reply_error(ctx);
		return -1;
	}
	return 0;
}

static void zone_reply(struct api_ctx *ctx, unsigned status, const struct zone *z)
{
	str_copy(ctx->audit_id, sizeof(ctx->audit_id), z->id);
	if (status == 201)
		api_reply_created(ctx, "/v1/zones", z->id, zone_json(z));
	else
		api_reply_json(ctx, status, zone_json(z));
}

static void zones_create(struct api_ctx *ctx)
{
	struct zone_spec spec = { 0 };
	struct zone z;
	ctx->audit_type = "zone";
	if (zone_spec_read(ctx, true, &spec) < 0)
		return;
	if (zone_create(api_conn(ctx), &spec, &z, &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	sched_zone_update(ctx->api->opts.sched, z.id, z.cpu_ratio, z.ram_ratio);
	zone_reply(ctx, 201, &z);
}

static void zones_list(struct api_ctx *ctx)
{
	size_t limit;
	const char *after, *name;
	struct zone_page page;
	if (api_page_params(ctx, &limit, &after) < 0 || api_query(ctx, "name", &name) < 0)
		return;
	if (zone_list(api_conn(ctx), after, name, limit, &page, &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	json_t *items = json_array();
	for (size_t i = 0; i < page.n; i++)
		json_array_append_new(items, zone_json(&page.items[i]));
	api_reply_json(ctx, 200, api_list(items, page.more ? page.items[page.n - 1].name : NULL));
	zone_page_release(&page);
}

static void zones_get(struct api_ctx *ctx)
{
	struct zone z;
	if (zone_get(api_conn(ctx), api_param(ctx, "id"), &z, &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	zone_reply(ctx, 200, &z);
}

static void zones_update(struct api_ctx *ctx)
{
	struct zone_spec spec = { 0 };
	struct zone z;
	ctx->audit_type = "zone";
	if (zone_spec_read(ctx, false, &spec) < 0)
		return;
	if (zone_update(api_conn(ctx), api_param(ctx, "id"), &spec, &z, &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	sched_zone_update(ctx->api->opts.sched, z.id, z.cpu_ratio, z.ram_ratio);
	zone_reply(ctx, 200, &z);
}

static void zones_delete(struct api_ctx *ctx)
{
	ctx->audit_type = "zone";
	if (zone_delete(api_conn(ctx), api_param(ctx, "id"), &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	api_reply_empty(ctx, 204);
}

const struct api_route api_zone_routes[] = {
	{ "POST", "/v1/zones", zones_create, API_SYSADMIN, "zone.create", 0, NULL },
	{ "GET", "/v1/zones", zones_list, API_USER, NULL, 0, NULL },
	{ "GET", "/v1/zones/{id}", zones_get, API_USER, NULL, 0, NULL },
	{ "PATCH", "/v1/zones/{id}", zones_update, API_SYSADMIN, "zone.update", 0, NULL },
	{ "DELETE", "/v1/zones/{id}", zones_delete, API_SYSADMIN, "zone.delete", 0, NULL },
	{ NULL, NULL, NULL, API_PUBLIC, NULL, 0, NULL },
};
