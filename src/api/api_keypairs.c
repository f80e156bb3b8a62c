/* api_keypairs: /v1/keypairs. A keypair belongs to the caller's user, in
 * whatever project the token is scoped to; another user's keypair is a
 * 404. Without "public_key" nubod makes an Ed25519 key and answers its
 * private key once ("private_key"); it is never stored. */
#include <string.h>

#include "api-priv.h"
#include "lib/jsonreq.h"
#include "lib/util.h"

static json_t *keypair_json(const struct keypair *k)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "id", k->id, "name", k->name,
			 "user_id", k->user_id, "type", k->type, "fingerprint", k->fingerprint,
			 "public_key", k->public_key, "created_at", k->created_at);
}

static void keypairs_create(struct api_ctx *ctx)
{
	static const char *const fields[] = { "name", "public_key", NULL };
	const char *name, *public_key;
	ctx->audit_type = "keypair";
	json_t *b = api_body(ctx, fields);
	if (!b)
		return;
	if (json_req_string(b, "name", true, KEYPAIR_NAME_MAX, false, &name, &ctx->err) < 0 ||
	    json_req_string(b, "public_key", false, SSHKEY_LINE_MAX, true, &public_key,
			    &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	struct keypair k;
	char *priv = NULL;
	if (keypair_create(api_conn(ctx), ctx->principal.user_id, name, public_key, &k, &priv,
			   &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	str_copy(ctx->audit_id, sizeof(ctx->audit_id), k.id);
	json_t *o = keypair_json(&k);
	if (priv) {
		json_object_set_new(o, "private_key", json_string(priv));
		explicit_bzero(priv, strlen(priv));
		free(priv);
	}
	keypair_release(&k);
	api_reply_created(ctx, "/v1/keypairs", k.id, o);
}

static void keypairs_list(struct api_ctx *ctx)
{
	struct keypair *items;
	size_t n;
	if (keypair_list(api_conn(ctx), ctx->principal.user_id, &items, &n, &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	json_t *arr = json_array();
	for (size_t k = 0; k < n; k++)
		json_array_append_new(arr, keypair_json(&items[k]));
	keypair_list_free(items, n);
	api_reply_json(ctx, 200, api_list(arr, NULL));
}

static void keypairs_get(struct api_ctx *ctx)
{
	struct keypair k;
	if (keypair_get(api_conn(ctx), ctx->principal.user_id, api_param(ctx, "id"), &k,
			&ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	json_t *o = keypair_json(&k);
	keypair_release(&k);
	api_reply_json(ctx, 200, o);
}

static void keypairs_delete(struct api_ctx *ctx)
{
	ctx->audit_type = "keypair";
	if (keypair_delete(api_conn(ctx), ctx->principal.user_id, api_param(ctx, "id"),
			   &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	api_reply_empty(ctx, 204);
}

const struct api_route api_keypair_routes[] = {
	{ "POST", "/v1/keypairs", keypairs_create, API_USER, "keypair.create", API_F_SECRET, NULL },
	{ "GET", "/v1/keypairs", keypairs_list, API_USER, NULL, 0, NULL },
	{ "GET", "/v1/keypairs/{id}", keypairs_get, API_USER, NULL, 0, NULL },
	{ "DELETE", "/v1/keypairs/{id}", keypairs_delete, API_USER, "keypair.delete", 0, NULL },
	{ NULL, NULL, NULL, API_PUBLIC, NULL, 0, NULL },
};
