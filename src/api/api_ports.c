/* api_ports: /v1/ports. A port belongs to the project of the token that
 * creates it (member role) and lives on one of its networks, with a MAC
 * and a fixed IP from nubod's IPAM and the project's security groups
 * ("default" unless named). A port an instance was given at its creation
 * goes with the instance; one a user made can be handed to a new instance
 * ("ports" of POST /v1/instances) and outlives it. Another project's port
 * is a 404. */
#include <string.h>

#include "api-priv.h"
#include "lib/jsonreq.h"
#include "lib/log.h"
#include "lib/util.h"

int api_net_changed(struct api_ctx *ctx, enum net_scope scope, const char *id)
{
	char(*hosts)[UUID_SIZE];
	size_t n;
	if (net_hosts(api_conn(ctx), scope, id, &hosts, &n, &ctx->err) < 0)
		return -1;
	for (size_t k = 0; k < n; k++)
		api_host_changed(ctx, hosts[k]);
	free(hosts);
	return 0;
}

json_t *api_port_json(struct api_ctx *ctx, const void *port)
{
	const struct port *p = port;
	char(*groups)[UUID_SIZE];
	size_t ng;
	if (port_groups(api_conn(ctx), p->id, &groups, &ng, &ctx->err) < 0)
		return NULL;
	json_t *sg = json_array();
	for (size_t k = 0; k < ng; k++)
		json_array_append_new(sg, json_string(groups[k]));
	free(groups);
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:[{s:s, s:s}], s:s, s:o, s:s, s:s}", "id",
			      p->id, "name", p->name, "project_id", p->project_id, "network_id",
			      p->network_id, "mac", p->mac, "fixed_ips", "ip", p->ip, "subnet",
			      p->subnet_id, "owner", p->owner, "security_groups", sg, "created_at",
			      p->created_at, "updated_at", p->updated_at);
	json_object_set_new(o, "instance_id",
			    p->instance_id[0] ? json_string(p->instance_id) : json_null());
	json_object_set_new(o, "host", p->host_id[0] ? json_string(p->host_id) : json_null());
	json_object_set_new(o, "floating_ip",
			    p->floating_ip[0] ? json_string(p->floating_ip) : json_null());
	json_object_set_new(o, "status", json_string(p->host_id[0] ? "active" : "down"));
	return o;
}

/* Answer status with port p. */
static void reply_port(struct api_ctx *ctx, unsigned status, const struct port *p)
{
	json_t *o = api_port_json(ctx, p);
	if (!o)
		api_reply_error(ctx);
	else if (status == 201)
		api_reply_created(ctx, "/v1/ports", p->id, o);
	else
		api_reply_json(ctx, status, o);
}

static void ports_create(struct api_ctx *ctx)
{
	static const char *const fields[] = { "network", "name", "ip", "security_groups", NULL };
	const char *net_ref, *name, *ip;
	const struct principal *pr = &ctx->principal;
	ctx->audit_type = "port";
	json_t *b = api_body(ctx, fields);
	if (!b)
		return;
	if (json_req_string(b, "network", true, 128, false, &net_ref, &ctx->err) < 0 ||
	    json_req_string(b, "name", false, NET_NAME_MAX, false, &name, &ctx->err) < 0 ||
	    json_req_string(b, "ip", false, IPV4_SIZE, false, &ip, &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	if (api_creating_in_project(ctx, "ports") < 0)
		return;
	struct store_conn *c = api_conn(ctx);
	struct network n;
	if (network_get(c, pr->project_id, net_ref, &n, &ctx->err) < 0) {
		api_fail(ctx, ERR_INVALID, "network", "no network '%.80s'", net_ref);
		return;
	}
	const char *const *groups;
	size_t ng;
	if (api_body_groups(ctx, b, pr->project_id, &groups, &ng) < 0)
		return;
	struct port_spec spec = { .name = name, .ip = ip, .owner = PORT_OWNER_USER,
				  .groups = groups, .ngroups = ng };
	struct port p;
	if (port_create(c, pr->project_id, &n, &spec, &p, &ctx->err) < 0 ||
	    api_net_changed(ctx, NET_SCOPE_PORT, p.id) < 0) {
		api_reply_error(ctx);
		return;
	}
	str_copy(ctx->audit_project, sizeof(ctx->audit_project), p.project_id);
	reply_port(ctx, 201, &p);
}

static void ports_list(struct api_ctx *ctx)
{
	size_t limit, n;
	const char *after, *net_ref, *inst_ref;
	bool more;
	struct port *items;
	if (api_page_params(ctx, &limit, &after) < 0 || api_query(ctx, "network", &net_ref) < 0 ||
	    api_query(ctx, "instance", &inst_ref) < 0)
		return;
	struct store_conn *c = api_conn(ctx);
	struct network net;
	struct instance inst;
	if (net_ref && network_get(c, api_scope(ctx), net_ref, &net, &ctx->err) < 0) {
		api_fail(ctx, ERR_INVALID, "network", "no network '%.80s'", net_ref);
		return;
	}
	if (inst_ref && instance_get(c, api_scope(ctx), inst_ref, &inst, &ctx->err) < 0) {
		api_fail(ctx, ERR_INVALID, "instance", "no instance '%.80s'", inst_ref);
		return;
	}
	if (port_list(c, api_scope(ctx), net_ref ? net.id : NULL, inst_ref ? inst.id : NULL, after,
		      limit, &items, &n, &more, &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	char *last = more ? xasprintf("%s %s", items[n - 1].created_at, items[n - 1].id) : NULL;
	api_reply_page(ctx, items, n, sizeof(*items), api_port_json, last);
	free(last);
	free(items);
}

static int visible_port(struct api_ctx *ctx, enum role need, struct port *ret)
{
	int r = port_get(api_conn(ctx), api_scope(ctx), api_param(ctx, "id"), ret, &ctx->err);
	return api_owned(ctx, r, ret->id, ret->project_id, need);
}

static void ports_get(struct api_ctx *ctx)
{
	struct port p;
	if (visible_port(ctx, ROLE_READER, &p) == 0)
		reply_port(ctx, 200, &p);
}

/* PATCH /v1/ports/{id} {"name"?, "security_groups"?}: rename a port or
 * replace its security groups; the hosts that see it learn at once. */
static void ports_update(struct api_ctx *ctx)
{
	static const char *const fields[] = { "name", "security_groups", NULL };
	const char *name;
	struct port p;
	ctx->audit_type = "port";
	json_t *b = api_body(ctx, fields);
	if (!b || visible_port(ctx, ROLE_MEMBER, &p) < 0)
		return;
	if (json_req_string(b, "name", false, NET_NAME_MAX, false, &name, &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	const char *const *groups;
	size_t ng;
	if (api_body_groups(ctx, b, p.project_id, &groups, &ng) < 0)
		return;
	struct store_conn *c = api_conn(ctx);
	/* the hosts that see its groups, before and after */
	if (api_net_changed(ctx, NET_SCOPE_PORT, p.id) < 0 ||
	    port_update(c, p.id, name, ng ? groups : NULL, ng, &ctx->err) < 0 ||
	    api_net_changed(ctx, NET_SCOPE_PORT, p.id) < 0 ||
	    port_get(c, NULL, p.id, &p, &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	reply_port(ctx, 200, &p);
}

static void ports_delete(struct api_ctx *ctx)
{
	struct port p;
	ctx->audit_type = "port";
	if (visible_port(ctx, ROLE_MEMBER, &p) < 0)
		return;
	/* the hosts that see it, before it goes */
	if (api_net_changed(ctx, NET_SCOPE_PORT, p.id) < 0 ||
	    port_delete(api_conn(ctx), p.id, &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	api_reply_empty(ctx, 204);
}

const struct api_route api_port_routes[] = {
	{ "POST", "/v1/ports", ports_create, API_USER, "port.create", 0, NULL },
	{ "GET", "/v1/ports", ports_list, API_USER, NULL, 0, NULL },
	{ "GET", "/v1/ports/{id}", ports_get, API_USER, NULL, 0, NULL },
	{ "PATCH", "/v1/ports/{id}", ports_update, API_USER, "port.update", 0, NULL },
	{ "DELETE", "/v1/ports/{id}", ports_delete, API_USER, "port.delete", 0, NULL },
	{ NULL, NULL, NULL, API_PUBLIC, NULL, 0, NULL },
};
