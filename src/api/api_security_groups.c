/* api_security_groups: /v1/security-groups and their rules. A group
 * belongs to the project of the token that creates it (member role);
 * every project has a group "default" (made on first use) that lets its
 * members reach each other and everything out. A rule change reaches every
 * host with a port in the group (or in a group whose rules name it) at
 * once: their long polls are woken after the commit. Another project's
 * group is a 404. */
#include <string.h>

#include "api-priv.h"
#include "lib/arena.h"
#include "lib/jsonreq.h"
#include "lib/util.h"

static json_t *rule_json(const struct sg_rule *r)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "id", r->id, "direction", r->direction,
			      "ethertype", "IPv4", "created_at", r->created_at);
	json_object_set_new(o, "protocol", r->protocol[0] ? json_string(r->protocol) : json_null());
	json_object_set_new(o, "port_min", r->port_min >= 0 ? json_integer(r->port_min) : json_null());
	json_object_set_new(o, "port_max", r->port_max >= 0 ? json_integer(r->port_max) : json_null());
	json_object_set_new(o, "cidr", r->cidr[0] ? json_string(r->cidr) : json_null());
	json_object_set_new(o, "remote_group",
			    r->remote_group_id[0] ? json_string(r->remote_group_id) : json_null());
	return o;
}

/* A group with its rules; NULL after a store error. */
static json_t *group_json(struct api_ctx *ctx, const void *item)
{
	const struct secgroup *g = item;
	struct sg_rule *rules;
	size_t n;
	if (secgroup_rules(api_conn(ctx), g->id, &rules, &n, &ctx->err) < 0)
		return NULL;
	json_t *arr = json_array();
	for (size_t k = 0; k < n; k++)
		json_array_append_new(arr, rule_json(&rules[k]));
	free(rules);
	return json_pack("{s:s, s:s, s:s, s:s, s:o, s:s}", "id", g->id, "name", g->name,
			 "project_id", g->project_id, "description", g->description, "rules", arr,
			 "created_at", g->created_at);
}

int api_body_groups(struct api_ctx *ctx, json_t *b, const char *project_id,
		    const char *const **ret, size_t *ret_n)
{
	json_t *list = json_object_get(b, "security_groups");
	*ret_n = 0;
	*ret = NULL;
	if (!list)
		return 0;
	if (!json_is_array(list) || json_array_size(list) == 0 ||
	    json_array_size(list) > NET_GROUPS_PER_PORT) {
		api_fail(ctx, ERR_INVALID, "security_groups",
			 "security_groups must be a list of 1 to %d group names or ids",
			 NET_GROUPS_PER_PORT);
		return -1;
	}
	size_t n = json_array_size(list);
	const char **ids = arena_alloc(ctx->req->arena, n * sizeof(*ids));
	for (size_t k = 0; k < n; k++) {
		const char *ref = json_string_value(json_array_get(list, k));
		struct secgroup g;
		struct err e = { 0 };
		if (!ref || strlen(ref) > 128) {
			api_fail(ctx, ERR_INVALID, "security_groups",
				 "each security group is a name or an id");
			return -1;
		}
		if (strcmp(ref, SECGROUP_DEFAULT) == 0
			    ? secgroup_default(api_conn(ctx), project_id, &g, &e) < 0
			    : secgroup_get(api_conn(ctx), project_id, ref, &g, &e) < 0) {
			api_fail(ctx, ERR_INVALID, "security_groups", "no security group '%.80s'", ref);
			return -1;
		}
		ids[k] = arena_strdup(ctx->req->arena, g.id);
	}
	*ret = ids;
	*ret_n = n;
	return 0;
}

/* Answer status with group g. */
static void reply_group(struct api_ctx *ctx, unsigned status, const struct secgroup *g)
{
	json_t *o = group_json(ctx, g);
	if (!o)
		api_reply_error(ctx);
	else if (status == 201)
		api_reply_created(ctx, "/v1/security-groups", g->id, o);
	else
		api_reply_json(ctx, status, o);
}

static void groups_create(struct api_ctx *ctx)
{
	static const char *const fields[] = { "name", "description", NULL };
	const char *name, *description;
	struct secgroup g;
	ctx->audit_type = "security_group";
	json_t *b = api_body(ctx, fields);
	if (!b)
		return;
	if (json_req_string(b, "name", true, NET_NAME_MAX, false, &name, &ctx->err) < 0 ||
	    json_req_string(b, "description", false, NET_DESCRIPTION_MAX, false, &description,
			    &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	if (api_creating_in_project(ctx, "security groups") < 0)
		return;
	if (secgroup_create(api_conn(ctx), ctx->principal.project_id, name, description, &g,
			    &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	str_copy(ctx->audit_project, sizeof(ctx->audit_project), g.project_id);
	reply_group(ctx, 201, &g);
}

static void groups_list(struct api_ctx *ctx)
{
	size_t limit, n;
	const char *after;
	bool more;
	struct secgroup *items, def;
	if (api_page_params(ctx, &limit, &after) < 0)
		return;
	struct store_conn *c = api_conn(ctx);
	/* the project's default group shows from the start, as in OpenStack */
	const char *project = ctx->principal.project_id;
	if (project[0] && secgroup_default(c, project, &def, &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	if (secgroup_list(c, api_scope(ctx), after, limit, &items, &n, &more, &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	char *last = more ? xasprintf("%s %s", items[n - 1].name, items[n - 1].id) : NULL;
	api_reply_page(ctx, items, n, sizeof(*items), group_json, last);
	free(last);
	free(items);
}

static int visible_group(struct api_ctx *ctx, enum role need, struct secgroup *ret)
{
	int r = secgroup_get(api_conn(ctx), api_scope(ctx), api_param(ctx, "id"), ret, &ctx->err);
	return api_owned(ctx, r, ret->id, ret->project_id, need);
}

static void groups_get(struct api_ctx *ctx)
{
	struct secgroup g;
	if (visible_group(ctx, ROLE_READER, &g) == 0)
		reply_group(ctx, 200, &g);
}

static void groups_delete(struct api_ctx *ctx)
{
	struct secgroup g;
	ctx->audit_type = "security_group";
	if (visible_group(ctx, ROLE_MEMBER, &g) < 0)
		return;
	/* the hosts whose rules name it as remote, before it goes */
	if (api_net_changed(ctx, NET_SCOPE_GROUP, g.id) < 0 ||
	    secgroup_delete(api_conn(ctx), g.id, &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	api_reply_empty(ctx, 204);
}

/* Read an optional port number field (null or absent: -1). */
static int read_port_field(struct api_ctx *ctx, json_t *b, const char *key, int64_t *ret)
{
	*ret = -1;
	if (json_is_null(json_object_get(b, key)))
		return 0;
	return json_req_int(b, key, false, 0, 65535, ret, NULL, &ctx->err);
}

static void rules_create(struct api_ctx *ctx)
{
	static const char *const fields[] = { "direction", "protocol", "port_min", "port_max",
					       "cidr", "remote_group", "ethertype", NULL };
	struct sg_rule_spec spec = { 0 };
	const char *remote = NULL, *ethertype = NULL;
	struct secgroup g, rg;
	struct sg_rule r;
	ctx->audit_type = "security_group";
	json_t *b = api_body(ctx, fields);
	if (!b || visible_group(ctx, ROLE_MEMBER, &g) < 0)
		return;
	json_t *proto = json_object_get(b, "protocol");
	if (json_req_string(b, "direction", true, 16, false, &spec.direction, &ctx->err) < 0 ||
	    (!json_is_null(proto) &&
	     json_req_string(b, "protocol", false, 16, false, &spec.protocol, &ctx->err) < 0) ||
	    read_port_field(ctx, b, "port_min", &spec.port_min) < 0 ||
	    read_port_field(ctx, b, "port_max", &spec.port_max) < 0 ||
	    json_req_string(b, "cidr", false, IPV4_CIDR_SIZE, false, &spec.cidr, &ctx->err) < 0 ||
	    json_req_string(b, "remote_group", false, 128, false, &remote, &ctx->err) < 0 ||
	    json_req_string(b, "ethertype", false, 8, false, &ethertype, &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	if (ethertype && strcmp(ethertype, "IPv4") != 0) {
		api_fail(ctx, ERR_INVALID, "ethertype", "only IPv4 rules are supported");
		return;
	}
	struct store_conn *c = api_conn(ctx);
	if (remote && secgroup_get(c, g.project_id, remote, &rg, &ctx->err) < 0) {
		api_fail(ctx, ERR_INVALID, "remote_group", "no security group '%.80s'", remote);
		return;
	}
	spec.remote_group_id = remote ? rg.id : NULL;
	if (secgroup_rule_add(c, &g, &spec, &r, &ctx->err) < 0 ||
	    api_net_changed(ctx, NET_SCOPE_GROUP, g.id) < 0) {
		api_reply_error(ctx);
		return;
	}
	char prefix[96];
	str_printf(prefix, sizeof(prefix), "/v1/security-groups/%s/rules", g.id);
	api_reply_created(ctx, prefix, r.id, rule_json(&r));
	str_copy(ctx->audit_id, sizeof(ctx->audit_id), g.id);
}

static void rules_delete(struct api_ctx *ctx)
{
	struct secgroup g;
	ctx->audit_type = "security_group";
	if (visible_group(ctx, ROLE_MEMBER, &g) < 0)
		return;
	if (secgroup_rule_delete(api_conn(ctx), g.id, api_param(ctx, "rule"), &ctx->err) < 0 ||
	    api_net_changed(ctx, NET_SCOPE_GROUP, g.id) < 0) {
		api_reply_error(ctx);
		return;
	}
	api_reply_empty(ctx, 204);
}

const struct api_route api_security_group_routes[] = {
	{ "POST", "/v1/security-groups", groups_create, API_USER, "security_group.create", 0,
	  NULL },
	{ "GET", "/v1/security-groups", groups_list, API_USER, NULL, 0, NULL },
	{ "GET", "/v1/security-groups/{id}", groups_get, API_USER, NULL, 0, NULL },
	{ "DELETE", "/v1/security-groups/{id}", groups_delete, API_USER, "security_group.delete",
	  0, NULL },
	{ "POST", "/v1/security-groups/{id}/rules", rules_create, API_USER,
	  "security_group.rule_create", 0, NULL },
	{ "DELETE", "/v1/security-groups/{id}/rules/{rule}", rules_delete, API_USER,
	  "security_group.rule_delete", 0, NULL },
	{ NULL, NULL, NULL, API_PUBLIC, NULL, 0, NULL },
};
