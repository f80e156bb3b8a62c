/* api_floating_ips: /v1/floating-ips. A floating IP is an address of the
 * external network held by a project (member role; the "floating_ips"
 * quota) and associated with at most one port (given as the port, or as an
 * instance: its first port), whose host then maps it 1:1 to the port's
 * fixed IP. Another project's floating IP is a 404. */
#include <string.h>

#include "api-priv.h"
#include "identity/identity.h"
#include "lib/jsonreq.h"
#include "lib/util.h"

static json_t *opt(const char *s)
{
	return s[0] ? json_string(s) : json_null();
}

static json_t *fip_json(const struct floating_ip *f)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "id", f->id, "ip", f->ip,
			      "project_id", f->project_id, "network_id", f->network_id,
			      "created_at", f->created_at, "updated_at", f->updated_at);
	json_object_set_new(o, "port_id", opt(f->port_id));
	json_object_set_new(o, "instance_id", opt(f->instance_id));
	json_object_set_new(o, "fixed_ip", opt(f->fixed_ip));
	return o;
}

static void fips_create(struct api_ctx *ctx)
{
	static const char *const fields[] = { "network", NULL };
	const char *net_ref = NULL;
	const struct principal *p = &ctx->principal;
	ctx->audit_type = "floating_ip";
	json_t *b = api_body_optional(ctx, fields);
	if (!b)
		return;
	if (json_req_string(b, "network", false, 128, false, &net_ref, &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	if (api_creating_in_project(ctx, "floating IPs") < 0)
		return;
	struct store_conn *c = api_conn(ctx);
	struct network n;
	int r = net_ref ? network_get(c, p->project_id, net_ref, &n, &ctx->err)
			: network_external(c, &n, &ctx->err);
	if (r < 0 && net_ref) {
		api_fail(ctx, ERR_INVALID, "network", "no network '%.80s'", net_ref);
		return;
	}
	if (r < 0) {
		api_reply_error(ctx);
		return;
	}
	if (!net_ref && r == 0) {
		api_fail(ctx, ERR_CONFLICT, "network",
			 "there is no external network to take floating IPs from");
		return;
	}
	struct floating_ip f;
	if (quota_charge(c, p->project_id, QUOTA_FLOATING_IPS, 1, &ctx->err) < 0 ||
	    floating_ip_create(c, p->project_id, &n, &f, &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	str_copy(ctx->audit_project, sizeof(ctx->audit_project), f.project_id);
	api_reply_created(ctx, "/v1/floating-ips", f.id, fip_json(&f));
}

static void fips_list(struct api_ctx *ctx)
{
	size_t limit, n;
	const char *after;
	bool more;
	struct floating_ip *items;
	if (api_page_params(ctx, &limit, &after) < 0)
		return;
	if (floating_ip_list(api_conn(ctx), api_scope(ctx), after, limit, &items, &n, &more,
			     &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	json_t *arr = json_array();
	for (size_t k = 0; k < n; k++)
		json_array_append_new(arr, fip_json(&items[k]));
	char *last = more ? xasprintf("%s %s", items[n - 1].created_at, items[n - 1].id) : NULL;
	api_reply_json(ctx, 200, api_list(arr, last));
	free(last);
	free(items);
}

static int visible_fip(struct api_ctx *ctx, enum role need, struct floating_ip *ret)
{
	int r = floating_ip_get(api_conn(ctx), api_scope(ctx), api_param(ctx, "id"), ret,
				&ctx->err);
	return api_owned(ctx, r, ret->id, ret->project_id, need);
}

static void fips_get(struct api_ctx *ctx)
{
	struct floating_ip f;
	if (visible_fip(ctx, ROLE_READER, &f) == 0)
		api_reply_json(ctx, 200, fip_json(&f));
}

/* The port named by body b: "port", or "instance" (its first port), of
 * the floating IP's project. 0, or -1 after answering. */
static int body_port(struct api_ctx *ctx, json_t *b, const struct floating_ip *f,
		     struct port *ret)
{
	const char *port_ref, *inst_ref;
	struct store_conn *c = api_conn(ctx);
	if (json_req_string(b, "port", false, 128, false, &port_ref, &ctx->err) < 0 ||
	    json_req_string(b, "instance", false, 128, false, &inst_ref, &ctx->err) < 0) {
		api_reply_error(ctx);
		return -1;
	}
	if (!port_ref == !inst_ref) {
		api_fail(ctx, ERR_INVALID, "port", "give port or instance (one of them)");
		return -1;
	}
	if (port_ref) {
		if (port_get(c, f->project_id, port_ref, ret, &ctx->err) < 0) {
			api_fail(ctx, ERR_INVALID, "port", "no port '%.80s'", port_ref);
			return -1;
		}
		return 0;
	}
	struct instance i;
	struct port *ports;
	size_t n;
	if (instance_get(c, f->project_id, inst_ref, &i, &ctx->err) < 0) {
		api_fail(ctx, ERR_INVALID, "instance", "no instance '%.80s'", inst_ref);
		return -1;
	}
	if (port_list_instance(c, i.id, &ports, &n, &ctx->err) < 0) {
		api_reply_error(ctx);
		return -1;
	}
	if (n > 0)
		*ret = ports[0];
	free(ports);
	if (n == 0) {
		api_fail(ctx, ERR_CONFLICT, "instance", "instance '%s' has no network port", i.name);
		return -1;
	}
	return 0;
}

static void fips_associate(struct api_ctx *ctx)
{
	static const char *const fields[] = { "port", "instance", NULL };
	struct floating_ip f;
	struct port p;
	ctx->audit_type = "floating_ip";
	json_t *b = api_body(ctx, fields);
	if (!b || visible_fip(ctx, ROLE_MEMBER, &f) < 0 || body_port(ctx, b, &f, &p) < 0)
		return;
	struct store_conn *c = api_conn(ctx);
	if (floating_ip_associate(c, f.id, &p, &ctx->err) < 0 ||
	    api_net_changed(ctx, NET_SCOPE_PORT, p.id) < 0 ||
	    floating_ip_get(c, NULL, f.id, &f, &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	api_reply_json(ctx, 200, fip_json(&f));
}

/* Undo f's association, waking its port's hosts. 0 or -1 (ctx->err). */
static int disassociate(struct api_ctx *ctx, const struct floating_ip *f)
{
	if (api_net_changed(ctx, NET_SCOPE_PORT, f->port_id) < 0 ||
	    floating_ip_disassociate(api_conn(ctx), f->id, &ctx->err) < 0)
		return -1;
	return 0;
}

static void fips_disassociate(struct api_ctx *ctx)
{
	struct floating_ip f;
	ctx->audit_type = "floating_ip";
	if (visible_fip(ctx, ROLE_MEMBER, &f) < 0)
		return;
	if (disassociate(ctx, &f) < 0 || floating_ip_get(api_conn(ctx), NULL, f.id, &f,
							  &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	api_reply_json(ctx, 200, fip_json(&f));
}

static void fips_delete(struct api_ctx *ctx)
{
	struct floating_ip f;
	ctx->audit_type = "floating_ip";
	if (visible_fip(ctx, ROLE_MEMBER, &f) < 0)
		return;
	struct store_conn *c = api_conn(ctx);
	if ((f.port_id[0] && disassociate(ctx, &f) < 0) ||
	    floating_ip_delete(c, f.id, &ctx->err) < 0 ||
	    quota_release(c, f.project_id, QUOTA_FLOATING_IPS, 1, &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	api_reply_empty(ctx, 204);
}

const struct api_route api_floating_ip_routes[] = {
	{ "POST", "/v1/floating-ips", fips_create, API_USER, "floating_ip.create", 0, NULL },
	{ "GET", "/v1/floating-ips", fips_list, API_USER, NULL, 0, NULL },
	{ "GET", "/v1/floating-ips/{id}", fips_get, API_USER, NULL, 0, NULL },
	{ "DELETE", "/v1/floating-ips/{id}", fips_delete, API_USER, "floating_ip.delete", 0,
	  NULL },
	{ "POST", "/v1/floating-ips/{id}/associate", fips_associate, API_USER,
	  "floating_ip.associate", 0, NULL },
	{ "POST", "/v1/floating-ips/{id}/disassociate", fips_disassociate, API_USER,
	  "floating_ip.disassociate", 0, NULL },
	{ NULL, NULL, NULL, API_PUBLIC, NULL, 0, NULL },
};
