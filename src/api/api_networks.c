/* api_networks: /v1/networks and their subnets. A network belongs to the
 * project of the token that creates it (member role; the "networks" quota)
 * and is made with its first subnet in one call. The external network
 * ("external": true) is made by a system administrator, belongs to no
 * project and is visible to all (floating IPs come from it). Another
 * project's network is a 404. See network.h for the rules. */
#include <string.h>

#include "api-priv.h"
#include "identity/identity.h"
#include "lib/jsonreq.h"
#include "lib/util.h"

static json_t *subnet_json(const struct subnet *s)
{
	json_t *dns = json_array();
	for (size_t k = 0; k < s->ndns; k++)
		json_array_append_new(dns, json_string(s->dns[k]));
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:o, s:{s:s, s:s}, s:s}", "id", s->id,
			      "network_id", s->network_id, "name", s->name, "cidr", s->cidr,
			      "dns", dns, "allocation_pool", "start", s->pool_start, "end",
			      s->pool_end, "created_at", s->created_at);
	json_object_set_new(o, "gateway", s->gateway[0] ? json_string(s->gateway) : json_null());
	return o;
}

/* A network with its subnets (the first one's cidr, gateway and dns also
 * at the top, as the agent and most clients want them). NULL after a
 * store error. */
static json_t *network_json(struct api_ctx *ctx, const void *item)
{
	const struct network *n = item;
	struct subnet *subs;
	size_t ns;
	if (subnet_list(api_conn(ctx), n->id, &subs, &ns, &ctx->err) < 0)
		return NULL;
	json_t *o = json_pack("{s:s, s:s, s:b, s:I, s:s, s:s}", "id", n->id, "name", n->name,
			      "external", n->external, "mtu", (json_int_t)n->mtu, "created_at",
			      n->created_at, "updated_at", n->updated_at);
	json_object_set_new(o, "project_id",
			    n->project_id[0] ? json_string(n->project_id) : json_null());
	if (api_is_sysadmin(ctx))
		json_object_set_new(o, "vni", json_integer(n->vni));
	json_t *arr = json_array();
	for (size_t k = 0; k < ns; k++)
		json_array_append_new(arr, subnet_json(&subs[k]));
	if (ns > 0) {
		json_t *first = json_array_get(arr, 0);
		json_object_set(o, "cidr", json_object_get(first, "cidr"));
		json_object_set(o, "gateway", json_object_get(first, "gateway"));
		json_object_set(o, "dns", json_object_get(first, "dns"));
	}
	json_object_set_new(o, "subnets", arr);
	free(subs);
	return o;
}

/* Read a subnet's fields from body b into spec (strings borrowed from b;
 * dns into the caller's array of NET_DNS_MAX). 0, or -1 after a 400. */
static int read_subnet(struct api_ctx *ctx, json_t *b, struct subnet_spec *spec,
		       const char *dns[NET_DNS_MAX])
{
	struct err *e = &ctx->err;
	json_t *gw = json_object_get(b, "gateway"), *d = json_object_get(b, "dns"),
	       *pool = json_object_get(b, "allocation_pool");
	if (json_req_string(b, "cidr", true, IPV4_CIDR_SIZE, false, &spec->cidr, e) < 0 ||
	    (!json_is_null(gw) &&
	     json_req_string(b, "gateway", false, IPV4_SIZE, false, &spec->gateway, e) < 0))
		goto bad;
	if (json_is_null(gw))
		spec->gateway = ""; /* null: no gateway */
	if (d && (!json_is_array(d) || json_array_size(d) > NET_DNS_MAX)) {
		err_set(e, ERR_INVALID, "dns", "dns must be a list of at most %d addresses",
			NET_DNS_MAX);
		goto bad;
	}
	for (size_t k = 0; d && k < json_array_size(d); k++) {
		dns[k] = json_string_value(json_array_get(d, k));
		if (!dns[k]) {
			err_set(e, ERR_INVALID, "dns", "each DNS server is an address string");
			goto bad;
		}
	}
	spec->dns = dns;
	spec->ndns = d ? json_array_size(d) : 0;
	if (pool) {
		static const char *const pf[] = { "start", "end", NULL };
		if (!json_is_object(pool) || json_req_only(pool, pf, e) < 0 ||
		    json_req_string(pool, "start", true, IPV4_SIZE, false, &spec->pool_start, e) < 0 ||
		    json_req_string(pool, "end", true, IPV4_SIZE, false, &spec->pool_end, e) < 0) {
			err_set(e, ERR_INVALID, "allocation_pool",
				"allocation_pool must be {\"start\": ADDRESS, \"end\": ADDRESS}");
			goto bad;
		}
	}
	return 0;
bad:
	api_reply_error(ctx);
	return -1;
}

static void networks_create(struct api_ctx *ctx)
{
	static const char *const fields[] = { "name", "cidr", "gateway", "dns", "external",
					       "allocation_pool", NULL };
	const char *name, *dns[NET_DNS_MAX];
	bool external = false, given;
	struct subnet_spec spec = { 0 };
	const struct principal *p = &ctx->principal;
	ctx->audit_type = "network";
	json_t *b = api_body(ctx, fields);
	if (!b)
		return;
	if (json_req_string(b, "name", true, NET_NAME_MAX, false, &name, &ctx->err) < 0 ||
	    json_req_bool(b, "external", false, &external, &given, &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	if (read_subnet(ctx, b, &spec, dns) < 0)
		return;
	if (external && !api_is_sysadmin(ctx)) {
		api_fail(ctx, ERR_FORBIDDEN, "external",
			 "only system administrators make the external network");
		return;
	}
	if (!external && api_creating_in_project(ctx, "networks") < 0)
		return;
	struct store_conn *c = api_conn(ctx);
	struct network n;
	if ((!external && quota_charge(c, p->project_id, QUOTA_NETWORKS, 1, &ctx->err) < 0) ||
	    network_create(c, external ? NULL : p->project_id, name, external, &spec, &n, NULL,
			   &ctx->err) < 0 ||
	    (external && api_net_changed(ctx, NET_SCOPE_ALL, NULL) < 0)) {
		api_reply_error(ctx);
		return;
	}
	str_copy(ctx->audit_project, sizeof(ctx->audit_project), n.project_id);
	json_t *o = network_json(ctx, &n);
	if (!o) {
		api_reply_error(ctx);
		return;
	}
	api_reply_created(ctx, "/v1/networks", n.id, o);
}

static void networks_list(struct api_ctx *ctx)
{
	size_t limit, n;
	const char *after;
	bool more;
	struct network *items;
	if (api_page_params(ctx, &limit, &after) < 0)
		return;
	if (network_list(api_conn(ctx), api_scope(ctx), after, limit, &items, &n, &more,
			 &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	char *last = more ? xasprintf("%s %s", items[n - 1].name, items[n - 1].id) : NULL;
	api_reply_page(ctx, items, n, sizeof(*items), network_json, last);
	free(last);
	free(items);
}

/* The network {id} as the caller may see it; changing the external one
 * takes a system administrator. */
static int visible_network(struct api_ctx *ctx, enum role need, struct network *ret)
{
	int r = network_get(api_conn(ctx), api_scope(ctx), api_param(ctx, "id"), ret, &ctx->err);
	if (api_owned(ctx, r, ret->id, ret->project_id, need) < 0)
		return -1;
	if (ret->external && need > ROLE_READER && !api_is_sysadmin(ctx)) {
		api_fail(ctx, ERR_FORBIDDEN, "", "only system administrators change the external "
						 "network");
		return -1;
	}
	return 0;
}

static void networks_get(struct api_ctx *ctx)
{
	struct network n;
	if (visible_network(ctx, ROLE_READER, &n) < 0)
		return;
	json_t *o = network_json(ctx, &n);
	if (o)
		api_reply_json(ctx, 200, o);
	else
		api_reply_error(ctx);
}

static void networks_delete(struct api_ctx *ctx)
{
	struct network n;
	ctx->audit_type = "network";
	if (visible_network(ctx, ROLE_MEMBER, &n) < 0)
		return;
	struct store_conn *c = api_conn(ctx);
	if (network_delete(c, n.id, &ctx->err) < 0 ||
	    (!n.external && quota_release(c, n.project_id, QUOTA_NETWORKS, 1, &ctx->err) < 0) ||
	    (n.external && api_net_changed(ctx, NET_SCOPE_ALL, NULL) < 0)) {
		api_reply_error(ctx);
		return;
	}
	api_reply_empty(ctx, 204);
}

static void subnets_list(struct api_ctx *ctx)
{
	struct network n;
	struct subnet *subs;
	size_t ns;
	if (visible_network(ctx, ROLE_READER, &n) < 0)
		return;
	if (subnet_list(api_conn(ctx), n.id, &subs, &ns, &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	json_t *arr = json_array();
	for (size_t k = 0; k < ns; k++)
		json_array_append_new(arr, subnet_json(&subs[k]));
	free(subs);
	api_reply_json(ctx, 200, api_list(arr, NULL));
}

static void subnets_create(struct api_ctx *ctx)
{
	static const char *const fields[] = { "name", "cidr", "gateway", "dns",
					       "allocation_pool", NULL };
	const char *dns[NET_DNS_MAX];
	struct subnet_spec spec = { 0 };
	struct network n;
	struct subnet s;
	ctx->audit_type = "network";
	json_t *b = api_body(ctx, fields);
	if (!b || visible_network(ctx, ROLE_MEMBER, &n) < 0)
		return;
	if (json_req_string(b, "name", true, NET_NAME_MAX, false, &spec.name, &ctx->err) < 0) {
		api_reply_error(ctx);
		return;
	}
	if (read_subnet(ctx, b, &spec, dns) < 0)
		return;
	if (subnet_create(api_conn(ctx), &n, &spec, &s, &ctx->err) < 0 ||
	    api_net_changed(ctx, NET_SCOPE_NETWORK, n.id) < 0) {
		api_reply_error(ctx);
		return;
	}
	char prefix[96];
	str_printf(prefix, sizeof(prefix), "/v1/networks/%s/subnets", n.id);
	api_reply_created(ctx, prefix, s.id, subnet_json(&s));
}

static void subnets_delete(struct api_ctx *ctx)
{
	struct network n;
	struct subnet s;
	ctx->audit_type = "network";
	if (visible_network(ctx, ROLE_MEMBER, &n) < 0)
		return;
	struct store_conn *c = api_conn(ctx);
	if (subnet_get(c, n.id, api_param(ctx, "subnet"), &s, &ctx->err) < 0 ||
	    subnet_delete(c, s.id, &ctx->err) < 0 ||
	    api_net_changed(ctx, NET_SCOPE_NETWORK, n.id) < 0) {
		api_reply_error(ctx);
		return;
	}
	api_reply_empty(ctx, 204);
}

const struct api_route api_network_routes[] = {
	{ "POST", "/v1/networks", networks_create, API_USER, "network.create", 0, NULL },
	{ "GET", "/v1/networks", networks_list, API_USER, NULL, 0, NULL },
	{ "GET", "/v1/networks/{id}", networks_get, API_USER, NULL, 0, NULL },
	{ "DELETE", "/v1/networks/{id}", networks_delete, API_USER, "network.delete", 0, NULL },
	{ "GET", "/v1/networks/{id}/subnets", subnets_list, API_USER, NULL, 0, NULL },
	{ "POST", "/v1/networks/{id}/subnets", subnets_create, API_USER, "subnet.create", 0,
	  NULL },
	{ "DELETE", "/v1/networks/{id}/subnets/{subnet}", subnets_delete, API_USER,
	  "subnet.delete", 0, NULL },
	{ NULL, NULL, NULL, API_PUBLIC, NULL, 0, NULL },
};
