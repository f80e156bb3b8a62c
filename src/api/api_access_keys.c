/* api_access_keys: /v1/access-keys. The secret is in the answer to the
 * create call and nowhere else, ever. Users see and delete their own keys;
 * system administrators everyone's. */
#include <string.h>

#include "api-priv.h"
#include "lib/jsonreq.h"
#include "lib/util.h"

static json_t *key_json(const struct access_key *k)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "access_key_id", k->id, "user_id",
			      k->user_id, "user_name", k->user_name, "created_at", k->created_at);
	json_object_set_new(o, "project_id", k->project_id[0] ? json_string(k->project_id)
							      : json_null());
	if (k->secret[0])
		json_object_set_new(o, "secret_access_key", json_string(k->secret));
	return o;
}

static void keys_create(struct api_ctx *ctx)
{
	static const char *const fields[] = { "project", NULL };
	const char *project;
	struct access_key k;
	ctx->audit_type = "access_key";
	json_t *b = api_body_optional(ctx, fields);
	if (!b)
		return;
	if (json_req_string(b, "project", false, 128, false, &project, &ctx->err) < 0 ||
	    access_key_create(api_conn(ctx), ctx->api->opts.identity, &ctx->principal, project, &k,
			      &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	str_copy(ctx->audit_project, sizeof(ctx->audit_project), k.project_id);
	json_t *out = key_json(&k);
	char id[ACCESS_KEY_ID_SIZE];
	str_copy(id, sizeof(id), k.id);
	explicit_bzero(&k, sizeof(k));
	api_reply_created(ctx, "/v1/access-keys", id, out);
}

static void keys_list(struct api_ctx *ctx)
{
	struct access_key *items;
	size_t n;
	const char *owner = api_is_sysadmin(ctx) ? NULL : ctx->principal.user_id;
	if (access_key_list(api_conn(ctx), owner, &items, &n, &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, key_json(&items[i]));
	free(items);
	api_reply_json(ctx, 200, api_list(arr, NULL));
}

static void keys_delete(struct api_ctx *ctx)
{
	ctx->audit_type = "access_key";
	const char *owner = api_is_sysadmin(ctx) ? NULL : ctx->principal.user_id;
	if (access_key_delete(api_conn(ctx), owner, api_param(ctx, "id"), &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	api_reply_empty(ctx, 204);
}

const struct api_route api_access_key_routes[] = {
	{ "POST", "/v1/access-keys", keys_create, API_USER, "access_key.create", API_F_SECRET, NULL },
	{ "GET", "/v1/access-keys", keys_list, API_USER, NULL, 0, NULL },
	{ "DELETE", "/v1/access-keys/{id}", keys_delete, API_USER, "access_key.delete", 0, NULL },
	{ NULL, NULL, NULL, API_PUBLIC, NULL, 0, NULL },
};
