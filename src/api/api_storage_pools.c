/* api_storage_pools: /v1/storage-pools. System admins define the shared
 * storage pools; every user may list them, to choose one for a volume. A
 * pool is addressed by id or by name. */
#include "api-priv.h"
#include "lib/jsonreq.h"
#include "lib/util.h"

static json_t *pool_json(const struct storage_pool *p)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", p->id, "name", p->name, "driver",
			 p->driver, "description", p->description, "created_at", p->created_at);
}

static void pools_create(struct api_ctx *ctx)
{
	static const char *const fields[] = { "name", "driver", "description", NULL };
	const char *name, *driver = NULL, *description;
	struct storage_pool p;
	ctx->audit_type = "storage_pool";
	json_t *b = api_body(ctx, fields);
	if (!b)
		return;
	if (json_req_string(b, "name", true, STORAGE_POOL_NAME_MAX, false, &name, &ctx->err) < 0 ||
	    json_req_string(b, "driver", false, 16, false, &driver, &ctx->err) < 0 ||
	    json_req_string(b, "description", false, IMAGE_DESCRIPTION_MAX, true, &description,
			    &ctx->err) < 0 ||
	    storage_pool_create(api_conn(ctx), name, driver ? driver : "dir", description, &p,
				&ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	str_copy(ctx->audit_id, sizeof(ctx->audit_id), p.id);
	api_reply_created(ctx, "/v1/storage-pools", p.id, pool_json(&p));
}

static void pools_list(struct api_ctx *ctx)
{
	size_t limit, n;
	const char *after;
	bool more;
	struct storage_pool *items;
	if (api_page_params(ctx, &limit, &after) < 0)
		return;
	if (storage_pool_list(api_conn(ctx), after, limit, &items, &n, &more, &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	json_t *arr = json_array();
	for (size_t k = 0; k < n; k++)
		json_array_append_new(arr, pool_json(&items[k]));
	api_reply_json(ctx, 200, api_list(arr, more ? items[n - 1].name : NULL));
	free(items);
}

static void pools_get(struct api_ctx *ctx)
{
	struct storage_pool p;
	if (storage_pool_get(api_conn(ctx), api_param(ctx, "id"), &p, &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	api_reply_json(ctx, 200, pool_json(&p));
}

static void pools_delete(struct api_ctx *ctx)
{
	ctx->audit_type = "storage_pool";
	if (storage_pool_delete(api_conn(ctx), api_param(ctx, "id"), &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	api_reply_empty(ctx, 204);
}

const struct api_route api_storage_pool_routes[] = {
	{ "POST", "/v1/storage-pools", pools_create, API_SYSADMIN, "storage_pool.create", 0, NULL },
	{ "GET", "/v1/storage-pools", pools_list, API_USER, NULL, 0, NULL },
	{ "GET", "/v1/storage-pools/{id}", pools_get, API_USER, NULL, 0, NULL },
	{ "DELETE", "/v1/storage-pools/{id}", pools_delete, API_SYSADMIN, "storage_pool.delete", 0,
	  NULL },
	{ NULL, NULL, NULL, API_PUBLIC, NULL, 0, NULL },
};
