/* api_audit: GET /v1/audit. System administrators read everything;
 * a project admin reads the events of their project. Nothing in the API
 * changes or deletes an event. */
#include <stdlib.h>

#include "api-priv.h"
#include "lib/util.h"

static json_t *event_json(const struct audit_event *e)
{
	return json_pack("{s:s, s:s, s:{s:s, s:s}, s:s, s:s, s:s, s:s, s:{s:s, s:s}, s:s, s:i}",
			 "id", e->id, "time", e->time, "user", "id", e->user_id, "name",
			 e->user_name, "project_id", e->project_id, "source", e->source,
			 "request_id", e->request_id, "action", e->action, "resource", "type",
			 e->resource_type, "id", e->resource_id, "outcome", e->outcome, "status",
			 (int)e->status);
}

static void audit_list_h(struct api_ctx *ctx)
{
	struct audit_filter f = { 0 };
	const char *project = NULL;
	if (api_page_params(ctx, &f.limit, &f.after) < 0 || api_query(ctx, "since", &f.since) < 0 ||
	    api_query(ctx, "until", &f.until) < 0 || api_query(ctx, "user", &f.user) < 0 ||
	    api_query(ctx, "action", &f.action) < 0 || api_query(ctx, "resource", &f.resource) < 0 ||
	    api_query(ctx, "project", &project) < 0)
		return;
	struct project p;
	if (!api_is_sysadmin(ctx)) {
		if (!project)
			project = ctx->principal.project_id[0] ? ctx->principal.project_id : NULL;
		if (!project) {
			api_fail(ctx, ERR_FORBIDDEN, "project",
				 "name a project you administer with ?project=, or use a token "
				 "scoped to it");
			return;
		}
	}
	if (project) {
		if (api_project_access(ctx, project, ROLE_ADMIN, &p) < 0)
			return;
		f.project = p.id;
	}
	struct audit_event *items;
	size_t n;
	char *next = NULL;
	if (audit_list(api_conn(ctx), &f, &items, &n, &next, &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, event_json(&items[i]));
	free(items);
	api_reply_json(ctx, 200, api_list(arr, next));
	free(next);
}

const struct api_route api_audit_routes[] = {
	{ "GET", "/v1/audit", audit_list_h, API_USER, NULL, 0, NULL },
	{ NULL, NULL, NULL, API_PUBLIC, NULL, 0, NULL },
};
