/* api_users: /v1/users. System administrators manage users; a user may
 * read their own record and change their own password (giving the current
 * one) and e-mail. Anyone else's record is a 404. */
#include <string.h>

#include "api-priv.h"
#include "lib/jsonreq.h"
#include "lib/util.h"

static json_t *user_json(const struct user *u)
{
	return json_pack("{s:s, s:s, s:s, s:b, s:b, s:s, s:s}", "id", u->id, "name", u->name,
			 "email", u->email, "system_admin", u->system_admin, "disabled",
			 u->disabled, "created_at", u->created_at, "updated_at", u->updated_at);
}

/* Read the user fields of a body into spec. */
static int read_spec(struct api_ctx *ctx, bool create, struct user_spec *spec,
		     const char **current)
{
	static const char *const create_fields[] = { "name", "password", "email", "system_admin",
						      "disabled", NULL };
	static const char *const update_fields[] = { "name", "password", "email", "system_admin",
						      "disabled", "current_password", NULL };
	json_t *b = api_body(ctx, create ? create_fields : update_fields);
	if (!b)
		return -1;
	*current = NULL;
	if (json_req_string(b, "name", create, USER_NAME_MAX, false, &spec->name, &ctx->err) < 0 ||
	    json_req_string(b, "password", create, PASSWORD_MAX, false, &spec->password,
			    &ctx->err) < 0 ||
	    json_req_string(b, "current_password", false, PASSWORD_MAX, false, current,
			    &ctx->err) < 0 ||
	    json_req_string(b, "email", false, USER_EMAIL_MAX, false, &spec->email, &ctx->err) < 0 ||
	    json_req_bool(b, "system_admin", false, &spec->system_admin, &spec->has_system_admin,
			  &ctx->err) < 0 ||
	    json_req_bool(b, "disabled", false, &spec->disabled, &spec->has_disabled,
			  &ctx->err) < 0) {
		api_reply_error(ctx);
		return -1;
	}
	return 0;
}

static void users_create(struct api_ctx *ctx)
{
	struct user_spec spec = { 0 };
	const char *current;
	struct user u;
	ctx->audit_type = "user";
	if (read_spec(ctx, true, &spec, &current) < 0)
		return;
	if (user_create(api_conn(ctx), ctx->api->opts.identity, &spec, &u, &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	api_reply_created(ctx, "/v1/users", u.id, user_json(&u));
}

static void users_list(struct api_ctx *ctx)
{
	size_t limit, n;
	const char *after;
	struct user *items;
	bool more;
	if (api_page_params(ctx, &limit, &after) < 0)
		return;
	if (user_list(api_conn(ctx), after, limit, &items, &n, &more, &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, user_json(&items[i]));
	api_reply_json(ctx, 200, api_list(arr, more ? items[n - 1].name : NULL));
	free(items);
}

/* Resolve {id}; only the user themself or a system administrator sees it. */
static int visible_user(struct api_ctx *ctx, struct user *u)
{
	const char *id = api_param(ctx, "id");
	if (user_get(api_conn(ctx), id, u, &ctx->err) == 0 &&
	    (api_is_sysadmin(ctx) || strcmp(u->id, ctx->principal.user_id) == 0))
		return 0;
	if (ctx->err.code == ERR_NONE || ctx->err.code == ERR_NOT_FOUND)
		err_set(&ctx->err, ERR_NOT_FOUND, "", "no user '%.80s'", id);
	api_reply_error(ctx);
	return -1;
}

static void users_get(struct api_ctx *ctx)
{
	struct user u;
	if (visible_user(ctx, &u) == 0)
		api_reply_json(ctx, 200, user_json(&u));
}

static void users_update(struct api_ctx *ctx)
{
	struct user_spec spec = { 0 };
	const char *current;
	struct user u;
	ctx->audit_type = "user";
	if (visible_user(ctx, &u) < 0 || read_spec(ctx, false, &spec, &current) < 0)
		return;
	str_copy(ctx->audit_id, sizeof(ctx->audit_id), u.id);
	if (!api_is_sysadmin(ctx)) {
		if (spec.name || spec.has_system_admin || spec.has_disabled) {
			api_fail(ctx, ERR_FORBIDDEN, "",
				 "only a system administrator changes names, roles or the disabled "
				 "flag");
			return;
		}
		if (spec.password && !current) {
			api_fail(ctx, ERR_INVALID, "current_password",
				 "give current_password to change your password");
			return;
		}
		if (spec.password && user_verify_password(api_conn(ctx), u.id, current,
							  &ctx->err) < 0) {
			api_reply_error(ctx);
			return;
		}
	}
	if (user_update(api_conn(ctx), ctx->api->opts.identity, u.id, &spec, &u, &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	api_reply_json(ctx, 200, user_json(&u));
}

static void users_delete(struct api_ctx *ctx)
{
	struct user u;
	ctx->audit_type = "user";
	if (user_get(api_conn(ctx), api_param(ctx, "id"), &u, &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	str_copy(ctx->audit_id, sizeof(ctx->audit_id), u.id);
	if (strcmp(u.id, ctx->principal.user_id) == 0) {
		api_fail(ctx, ERR_CONFLICT, "", "you cannot delete your own account");
		return;
	}
	if (user_delete(api_conn(ctx), u.id, &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	api_reply_empty(ctx, 204);
}

const struct api_route api_user_routes[] = {
	{ "POST", "/v1/users", users_create, API_SYSADMIN, "user.create", 0, NULL },
	{ "GET", "/v1/users", users_list, API_SYSADMIN, NULL, 0, NULL },
	{ "GET", "/v1/users/{id}", users_get, API_USER, NULL, 0, NULL },
	{ "PATCH", "/v1/users/{id}", users_update, API_USER, "user.update", 0, NULL },
	{ "DELETE", "/v1/users/{id}", users_delete, API_SYSADMIN, "user.delete", 0, NULL },
	{ NULL, NULL, NULL, API_PUBLIC, NULL, 0, NULL },
};
