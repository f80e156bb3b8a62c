/* api_auth: /v1/auth — login, logout, whoami and personal API tokens.
 * Logins are rate-limited per user name and per client address with
 * exponential back-off; a locked-out attempt gets 429 with Retry-After
 * and does not even reach the password check. */
#include <stdio.h>
#include <string.h>

#include "api-priv.h"
#include "lib/jsonreq.h"
#include "lib/util.h"

#define PERSONAL_TTL_DEFAULT_S (90LL * 24 * 3600)
#define PERSONAL_TTL_MAX_S (366LL * 24 * 3600)

static json_t *principal_json(const struct principal *p)
{
	json_t *project = json_null();
	if (p->project_id[0])
		project = json_pack("{s:s, s:s}", "id", p->project_id, "name", p->project_name);
	return json_pack("{s:{s:s, s:s, s:b}, s:o, s:s}", "user", "id", p->user_id, "name",
			 p->user_name, "system_admin", p->system_admin, "project", project, "role",
			 p->project_id[0] ? role_name(p->role) : "none");
}

static void expiry_text(int64_t ms, char out[TIME_RFC3339_SIZE])
{
	time_rfc3339_from_ms(ms, out, TIME_RFC3339_SIZE);
}

static int login_limited(struct api_ctx *ctx, const char *ukey, const char *akey)
{
	int64_t wait = ratelimit_check(ctx->api->login_user, ukey);
	int64_t wait2 = ratelimit_check(ctx->api->login_addr, akey);
	if (wait2 > wait)
		wait = wait2;
	if (wait <= 0)
		return 0;
	char secs[32];
	str_printf(secs, sizeof(secs), "%lld", (long long)((wait + 999) / 1000));
	http_resp_header(ctx->req, "Retry-After", secs);
	api_fail(ctx, ERR_RATE_LIMITED, "",
		 "too many failed logins; try again in %s seconds", secs);
	return -1;
}

static void auth_login_h(struct api_ctx *ctx)
{
	static const char *const fields[] = { "username", "password", "project", NULL };
	const char *user, *pw, *project;
	ctx->audit_type = "token";
	json_t *body = api_body(ctx, fields);
	if (!body)
		return;
	if (json_req_string(body, "username", true, USER_NAME_MAX, false, &user, &ctx->err) < 0 ||
	    json_req_string(body, "password", true, PASSWORD_MAX, false, &pw, &ctx->err) < 0 ||
	    json_req_string(body, "project", false, 128, false, &project, &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	str_copy(ctx->audit_user, sizeof(ctx->audit_user), user);
	char ukey[USER_NAME_MAX + 8], akey[80];
	str_printf(ukey, sizeof(ukey), "u:%s", user);
	str_printf(akey, sizeof(akey), "a:%s", ctx->req->peer);
	if (login_limited(ctx, ukey, akey) < 0)
		return;
	struct login_result res;
	if (auth_login(api_conn(ctx), ctx->api->opts.identity, user, pw, project, &res,
		       &ctx->err) < 0) {
		if (ctx->err.code == ERR_UNAUTHORIZED) {
			ratelimit_fail(ctx->api->login_user, ukey);
			ratelimit_fail(ctx->api->login_addr, akey);
		}
		api_reply_error(ctx);
		return;
	}
	ratelimit_reset(ctx->api->login_user, ukey);
	str_copy(ctx->audit_user_id, sizeof(ctx->audit_user_id), res.principal.user_id);
	str_copy(ctx->audit_id, sizeof(ctx->audit_id), res.token_id);
	str_copy(ctx->audit_project, sizeof(ctx->audit_project), res.principal.project_id);
	char exp[TIME_RFC3339_SIZE];
	expiry_text(res.expires_ms, exp);
	json_t *out = principal_json(&res.principal);
	json_object_set_new(out, "token", json_string(res.token));
	json_object_set_new(out, "token_id", json_string(res.token_id));
	json_object_set_new(out, "expires_at", json_string(exp));
	explicit_bzero(&res, sizeof(res));
	api_reply_json(ctx, 200, out);
}

static void auth_logout_h(struct api_ctx *ctx)
{
	ctx->audit_type = "token";
	if (ctx->principal.kind != CRED_TOKEN) {
		api_fail(ctx, ERR_INVALID, "Authorization",
			 "logout ends a bearer token session; delete an access key instead");
		return;
	}
	str_copy(ctx->audit_id, sizeof(ctx->audit_id), ctx->principal.credential_id);
	if (token_revoke(api_conn(ctx), ctx->principal.credential_id, &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	api_reply_empty(ctx, 204);
}

static void auth_whoami_h(struct api_ctx *ctx)
{
	const struct principal *p = &ctx->principal;
	json_t *out = principal_json(p);
	json_t *cred = json_pack("{s:s, s:s}", "kind",
				 p->kind == CRED_TOKEN ? "token" : "access_key", "id",
				 p->credential_id);
	if (p->expires_ms) {
		char exp[TIME_RFC3339_SIZE];
		expiry_text(p->expires_ms, exp);
		json_object_set_new(cred, "expires_at", json_string(exp));
	}
	json_object_set_new(out, "credential", cred);
	api_reply_json(ctx, 200, out);
}

static json_t *token_json(const struct api_token *t)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", t->id, "name", t->name, "kind",
			      t->kind, "created_at", t->created_at, "expires_at", t->expires_at);
	json_object_set_new(o, "project_id", t->project_id[0] ? json_string(t->project_id)
							      : json_null());
	if (t->secret[0])
		json_object_set_new(o, "token", json_string(t->secret));
	return o;
}

static void tokens_create_h(struct api_ctx *ctx)
{
	static const char *const fields[] = { "name", "project", "expires_in", NULL };
	const char *name, *project;
	int64_t ttl = PERSONAL_TTL_DEFAULT_S;
	ctx->audit_type = "token";
	json_t *body = api_body(ctx, fields);
	if (!body)
		return;
	if (json_req_string(body, "name", true, TOKEN_NAME_MAX, false, &name, &ctx->err) < 0 ||
	    json_req_string(body, "project", false, 128, false, &project, &ctx->err) < 0 ||
	    json_req_int(body, "expires_in", false, 60, PERSONAL_TTL_MAX_S, &ttl, NULL,
			 &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	struct api_token t;
	if (token_create(api_conn(ctx), &ctx->principal, name, project, ttl * 1000, &t,
			 &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	json_t *out = token_json(&t);
	explicit_bzero(&t, sizeof(t));
	api_reply_created(ctx, "/v1/auth/tokens", json_string_value(json_object_get(out, "id")),
			  out);
}

static void tokens_list_h(struct api_ctx *ctx)
{
	struct api_token *items;
	size_t n;
	if (token_list(api_conn(ctx), ctx->principal.user_id, &items, &n, &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, token_json(&items[i]));
	free(items);
	api_reply_json(ctx, 200, api_list(arr, NULL));
}

static void tokens_delete_h(struct api_ctx *ctx)
{
	ctx->audit_type = "token";
	const char *owner = api_is_sysadmin(ctx) ? NULL : ctx->principal.user_id;
	if (token_delete(api_conn(ctx), owner, api_param(ctx, "id"), &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	api_reply_empty(ctx, 204);
}

const struct api_route api_auth_routes[] = {
	{ "POST", "/v1/auth/login", auth_login_h, API_PUBLIC, "auth.login", API_F_SECRET, NULL },
	{ "POST", "/v1/auth/logout", auth_logout_h, API_USER, "auth.logout", 0, NULL },
	{ "GET", "/v1/auth/whoami", auth_whoami_h, API_USER, NULL, 0, NULL },
	{ "POST", "/v1/auth/tokens", tokens_create_h, API_USER, "token.create", API_F_SECRET, NULL },
	{ "GET", "/v1/auth/tokens", tokens_list_h, API_USER, NULL, 0, NULL },
	{ "DELETE", "/v1/auth/tokens/{id}", tokens_delete_h, API_USER, "token.delete", 0, NULL },
	{ NULL, NULL, NULL, API_PUBLIC, NULL, 0, NULL },
};
