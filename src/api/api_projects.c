/* api_projects: /v1/projects, their members and quotas. A project the
 * caller holds no role in is a 404; a role too low for the action is a
 * 403. System administrators create and delete projects and set quotas;
 * project admins manage members and the description. */
#include <string.h>

#include "api-priv.h"
#include "lib/jsonreq.h"
#include "lib/util.h"

static json_t *project_json(const struct project *p)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", p->id, "name", p->name,
			 "description", p->description, "created_at", p->created_at,
			 "updated_at", p->updated_at);
}

static void projects_create(struct api_ctx *ctx)
{
	static const char *const fields[] = { "name", "description", NULL };
	const char *name, *desc;
	struct project p;
	ctx->audit_type = "project";
	json_t *b = api_body(ctx, fields);
	if (!b)
		return;
	if (json_req_string(b, "name", true, PROJECT_NAME_MAX, false, &name, &ctx->err) < 0 ||
	    json_req_string(b, "description", false, PROJECT_DESCRIPTION_MAX, true, &desc,
			    &ctx->err) < 0 ||
	    project_create(api_conn(ctx), ctx->api->opts.identity, name, desc, &p, &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	str_copy(ctx->audit_project, sizeof(ctx->audit_project), p.id);
	api_reply_created(ctx, "/v1/projects", p.id, project_json(&p));
}

static void projects_list(struct api_ctx *ctx)
{
	size_t limit, n;
	const char *after;
	struct project *items;
	bool more;
	if (api_page_params(ctx, &limit, &after) < 0)
		return;
	const char *only = api_is_sysadmin(ctx) ? NULL : ctx->principal.user_id;
	if (project_list(api_conn(ctx), only, after, limit, &items, &n, &more, &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++) {
		/* a token scoped to one project sees only that one */
		const char *scope = ctx->principal.project_id;
		if (!api_is_sysadmin(ctx) && scope[0] && strcmp(scope, items[i].id) != 0)
			continue;
		json_array_append_new(arr, project_json(&items[i]));
	}
	api_reply_json(ctx, 200, api_list(arr, more ? items[n - 1].name : NULL));
	free(items);
}

static void projects_get(struct api_ctx *ctx)
{
	struct project p;
	if (api_project_access(ctx, api_param(ctx, "id"), ROLE_READER, &p) == 0)
		api_reply_json(ctx, 200, project_json(&p));
}

static void projects_update(struct api_ctx *ctx)
{
	static const char *const fields[] = { "name", "description", NULL };
	const char *name, *desc;
	struct project p;
	ctx->audit_type = "project";
	if (api_project_access(ctx, api_param(ctx, "id"), ROLE_ADMIN, &p) < 0)
		return;
	str_copy(ctx->audit_id, sizeof(ctx->audit_id), p.id);
	json_t *b = api_body(ctx, fields);
	if (!b)
		return;
	if (json_req_string(b, "name", false, PROJECT_NAME_MAX, false, &name, &ctx->err) < 0 ||
	    json_req_string(b, "description", false, PROJECT_DESCRIPTION_MAX, true, &desc,
			    &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	if (name && !api_is_sysadmin(ctx)) {
		api_fail(ctx, ERR_FORBIDDEN, "name", "only a system administrator renames projects");
		return;
	}
	if (project_update(api_conn(ctx), p.id, name, desc, &p, &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	api_reply_json(ctx, 200, project_json(&p));
}

static void projects_delete(struct api_ctx *ctx)
{
	struct project p;
	ctx->audit_type = "project";
	if (api_project_access(ctx, api_param(ctx, "id"), ROLE_ADMIN, &p) < 0)
		return;
	str_copy(ctx->audit_id, sizeof(ctx->audit_id), p.id);
	if (!api_is_sysadmin(ctx)) {
		api_fail(ctx, ERR_FORBIDDEN, "", "only a system administrator deletes projects");
		return;
	}
	/* its security groups go with it (the default one is made unasked) */
	if (secgroup_release_project(api_conn(ctx), p.id, &ctx->err) < 0 ||
	    project_delete(api_conn(ctx), p.id, &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	api_reply_empty(ctx, 204);
}

static json_t *member_json(const struct member *m)
{
	return json_pack("{s:s, s:s, s:s, s:s}", "user_id", m->user_id, "user_name", m->user_name,
			 "role", role_name(m->role), "created_at", m->created_at);
}

static void members_list(struct api_ctx *ctx)
{
	struct project p;
	struct member *items;
	size_t n;
	if (api_project_access(ctx, api_param(ctx, "id"), ROLE_READER, &p) < 0)
		return;
	if (member_list(api_conn(ctx), p.id, &items, &n, &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, member_json(&items[i]));
	free(items);
	api_reply_json(ctx, 200, api_list(arr, NULL));
}

static void members_set(struct api_ctx *ctx)
{
	static const char *const fields[] = { "user", "role", NULL };
	const char *user, *role_s;
	enum role role;
	struct project p;
	struct member m;
	ctx->audit_type = "member";
	if (api_project_access(ctx, api_param(ctx, "id"), ROLE_ADMIN, &p) < 0)
		return;
	json_t *b = api_body(ctx, fields);
	if (!b)
		return;
	if (json_req_string(b, "user", true, 128, false, &user, &ctx->err) < 0 ||
	    json_req_string(b, "role", true, 16, false, &role_s, &ctx->err) < 0 ||
	    role_parse(role_s, &role, &ctx->err) < 0 ||
	    member_set(api_conn(ctx), p.id, user, role, &m, &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	char prefix[128];
	str_printf(prefix, sizeof(prefix), "/v1/projects/%s/members", p.id);
	api_reply_created(ctx, prefix, m.user_id, member_json(&m));
}

static void members_remove(struct api_ctx *ctx)
{
	struct project p;
	ctx->audit_type = "member";
	if (api_project_access(ctx, api_param(ctx, "id"), ROLE_ADMIN, &p) < 0)
		return;
	str_copy(ctx->audit_id, sizeof(ctx->audit_id), api_param(ctx, "user"));
	if (member_remove(api_conn(ctx), p.id, api_param(ctx, "user"), &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	api_reply_empty(ctx, 204);
}

static void quota_reply(struct api_ctx *ctx, const struct project *p)
{
	struct quota q;
	if (quota_get(api_conn(ctx), p->id, &q, &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	json_t *quotas = json_object();
	for (int i = 0; i < QUOTA__COUNT; i++)
		json_object_set_new(quotas, quota_name((enum quota_resource)i),
				    json_pack("{s:I, s:I}", "limit", (json_int_t)q.limit[i], "used",
					      (json_int_t)q.used[i]));
	api_reply_json(ctx, 200, json_pack("{s:s, s:o}", "project_id", p->id, "quotas", quotas));
}

static void quotas_get(struct api_ctx *ctx)
{
	struct project p;
	if (api_project_access(ctx, api_param(ctx, "id"), ROLE_READER, &p) == 0)
		quota_reply(ctx, &p);
}

static void quotas_update(struct api_ctx *ctx)
{
	struct project p;
	ctx->audit_type = "quota";
	if (api_project_access(ctx, api_param(ctx, "id"), ROLE_READER, &p) < 0)
		return;
	str_copy(ctx->audit_id, sizeof(ctx->audit_id), p.id);
	if (!api_is_sysadmin(ctx)) {
		api_fail(ctx, ERR_FORBIDDEN, "", "only a system administrator sets quotas");
		return;
	}
	const char *fields[QUOTA__COUNT + 1];
	for (int i = 0; i < QUOTA__COUNT; i++)
		fields[i] = quota_name((enum quota_resource)i);
	fields[QUOTA__COUNT] = NULL;
	json_t *b = api_body(ctx, fields);
	if (!b)
		return;
	for (int i = 0; i < QUOTA__COUNT; i++) {
		int64_t limit;
		bool given;
		const char *name = fields[i];
		if (json_req_int(b, name, false, -1, INT64_MAX / 2, &limit, &given, &ctx->err) < 0) {
			api_reply_error(ctx);
			return;
		}
		if (given &&
		    quota_set(api_conn(ctx), p.id, (enum quota_resource)i, limit, &ctx->err) < 0) {
			api_reply_error(ctx);
			return;
		}
	}
	quota_reply(ctx, &p);
}

const struct api_route api_project_routes[] = {
	{ "POST", "/v1/projects", projects_create, API_SYSADMIN, "project.create", 0, NULL },
	{ "GET", "/v1/projects", projects_list, API_USER, NULL, 0, NULL },
	{ "GET", "/v1/projects/{id}", projects_get, API_USER, NULL, 0, NULL },
	{ "PATCH", "/v1/projects/{id}", projects_update, API_USER, "project.update", 0, NULL },
	{ "DELETE", "/v1/projects/{id}", projects_delete, API_USER, "project.delete", 0, NULL },
	{ "GET", "/v1/projects/{id}/members", members_list, API_USER, NULL, 0, NULL },
	{ "POST", "/v1/projects/{id}/members", members_set, API_USER, "member.set", 0, NULL },
	{ "DELETE", "/v1/projects/{id}/members/{user}", members_remove, API_USER, "member.remove",
	  0, NULL },
	{ "GET", "/v1/projects/{id}/quotas", quotas_get, API_USER, NULL, 0, NULL },
	{ "PATCH", "/v1/projects/{id}/quotas", quotas_update, API_USER, "quota.update", 0, NULL },
	{ NULL, NULL, NULL, API_PUBLIC, NULL, 0, NULL },
};
