/* api_netstate: the network part of a host's desired state, as its agent
 * reads it from GET /v1/hosts/{id}/instances (the contract with the agent
 * is in docs/api.md, "The agents' API"): the networks with ports bound to
 * the host, each with the underlay IPs of the other hosts that have ports
 * on it (its VXLAN peers) and its ports on this host; every security group
 * those ports use, with rules whose remote group is resolved to the
 * group's members' addresses; the external network; and each instance's
 * NICs in the order the guest sees them. */
#include <string.h>

#include "api-priv.h"
#include "lib/util.h"

static json_t *opt(const char *s)
{
	return s[0] ? json_string(s) : json_null();
}

/* The rules of group id for a host; NULL after a store error. */
static json_t *group_state(struct api_ctx *ctx, const char *id)
{
	struct store_conn *c = api_conn(ctx);
	struct sg_rule *rules;
	size_t n;
	if (secgroup_rules(c, id, &rules, &n, &ctx->err) < 0)
		return NULL;
	json_t *arr = json_array();
	for (size_t k = 0; k < n; k++) {
		const struct sg_rule *r = &rules[k];
		json_t *o = json_pack("{s:s, s:s, s:s}", "id", r->id, "direction", r->direction,
				      "ethertype", "IPv4");
		json_object_set_new(o, "protocol", opt(r->protocol));
		json_object_set_new(o, "port_min",
				    r->port_min >= 0 ? json_integer(r->port_min) : json_null());
		json_object_set_new(o, "port_max",
				    r->port_max >= 0 ? json_integer(r->port_max) : json_null());
		json_object_set_new(o, "cidr", opt(r->cidr));
		json_t *remote = json_null();
		char(*ips)[IPV4_SIZE];
		size_t ni;
		if (r->remote_group_id[0]) {
			if (secgroup_member_ips(c, r->remote_group_id, &ips, &ni, &ctx->err) < 0) {
				json_decref(o);
				json_decref(arr);
				free(rules);
				return NULL;
			}
			remote = json_array();
			for (size_t m = 0; m < ni; m++)
				json_array_append_new(remote, json_string(ips[m]));
			free(ips);
		}
		json_object_set_new(o, "remote_ips", remote);
		json_array_append_new(arr, o);
	}
	free(rules);
	return json_pack("{s:s, s:o}", "id", id, "rules", arr);
}

/* Port p as its host sees it; its groups are added to the set `groups`
 * (an object keyed by group id). NULL after a store error. */
static json_t *port_state(struct api_ctx *ctx, const struct port *p, json_t *groups)
{
	char(*ids)[UUID_SIZE];
	size_t n;
	if (port_groups(api_conn(ctx), p->id, &ids, &n, &ctx->err) < 0)
		return NULL;
	json_t *sg = json_array();
	for (size_t k = 0; k < n; k++) {
		json_array_append_new(sg, json_string(ids[k]));
		json_object_set_new(groups, ids[k], json_true());
	}
	free(ids);
	json_t *o = json_pack("{s:s, s:s, s:s, s:o}", "id", p->id, "mac", p->mac, "ip", p->ip,
			      "security_groups", sg);
	json_object_set_new(o, "instance", opt(p->instance_id));
	json_object_set_new(o, "floating_ip", opt(p->floating_ip));
	return o;
}

/* Network n as this host sees it, with its ports here. */
static json_t *network_state(struct api_ctx *ctx, const struct network *n, bool snat,
			     const struct port *ports, size_t np, json_t *groups)
{
	struct store_conn *c = api_conn(ctx);
	struct subnet *subs;
	size_t ns;
	char(*peers)[IPV4_SIZE];
	size_t npeers;
	if (subnet_list(c, n->id, &subs, &ns, &ctx->err) < 0)
		return NULL;
	if (network_peers(c, n->id, ctx->host.id, &peers, &npeers, &ctx->err) < 0) {
		free(subs);
		return NULL;
	}
	json_t *o = json_pack("{s:s, s:I, s:I, s:b, s:b}", "id", n->id, "vni", (json_int_t)n->vni,
			      "mtu", (json_int_t)n->mtu, "external", n->external, "snat", snat);
	json_t *dns = json_array();
	for (size_t k = 0; ns > 0 && k < subs[0].ndns; k++)
		json_array_append_new(dns, json_string(subs[0].dns[k]));
	json_object_set_new(o, "cidr", ns > 0 ? json_string(subs[0].cidr) : json_null());
	json_object_set_new(o, "gateway", ns > 0 ? opt(subs[0].gateway) : json_null());
	json_object_set_new(o, "dns", dns);
	/* an addition to the contract: every subnet, for ports of the later ones */
	json_t *sa = json_array();
	for (size_t k = 0; k < ns; k++) {
		json_t *x = json_pack("{s:s}", "cidr", subs[k].cidr);
		json_object_set_new(x, "gateway", opt(subs[k].gateway));
		json_array_append_new(sa, x);
	}
	json_object_set_new(o, "subnets", sa);
	free(subs);
	json_t *pa = json_array();
	for (size_t k = 0; k < npeers; k++)
		json_array_append_new(pa, json_string(peers[k]));
	free(peers);
	json_object_set_new(o, "peers", pa);
	json_t *arr = json_array();
	json_object_set_new(o, "ports", arr);
	for (size_t k = 0; k < np; k++) {
		if (strcmp(ports[k].network_id, n->id) != 0)
			continue;
		json_t *p = port_state(ctx, &ports[k], groups);
		if (!p) {
			json_decref(o);
			return NULL;
		}
		json_array_append_new(arr, p);
	}
	return o;
}

/* Add each instance's "nics" to the objects of items (with "id"). */
static int add_nics(struct api_ctx *ctx, json_t *items)
{
	size_t k;
	json_t *item;
	json_array_foreach(items, k, item) {
		struct port *ports;
		size_t n;
		const char *id = json_string_value(json_object_get(item, "id"));
		if (port_list_instance(api_conn(ctx), id, &ports, &n, &ctx->err) < 0)
			return -1;
		json_t *nics = json_array();
		for (size_t m = 0; m < n; m++)
			json_array_append_new(nics, json_pack("{s:s, s:s, s:s, s:s}", "port",
							      ports[m].id, "mac", ports[m].mac,
							      "ip", ports[m].ip, "network",
							      ports[m].network_id));
		free(ports);
		json_object_set_new(item, "nics", nics);
	}
	return 0;
}

/* The external network for hosts, or null; 1 in *ret_has when there is one. */
static json_t *external_state(struct api_ctx *ctx, bool *ret_has)
{
	struct network ext;
	struct subnet *subs;
	size_t ns;
	int r = network_external(api_conn(ctx), &ext, &ctx->err);
	*ret_has = r == 1;
	if (r <= 0)
		return r < 0 ? NULL : json_null();
	if (subnet_list(api_conn(ctx), ext.id, &subs, &ns, &ctx->err) < 0)
		return NULL;
	json_t *o = json_pack("{s:s}", "id", ext.id);
	json_object_set_new(o, "cidr", ns > 0 ? json_string(subs[0].cidr) : json_null());
	json_object_set_new(o, "gateway", ns > 0 ? opt(subs[0].gateway) : json_null());
	free(subs);
	return o;
}

int api_host_network_state(struct api_ctx *ctx, json_t *o, json_t *items)
{
	struct store_conn *c = api_conn(ctx);
	struct port *ports = NULL;
	struct network *nets = NULL;
	size_t np = 0, nn = 0;
	bool has_ext;
	int r = -1;
	json_t *ext = external_state(ctx, &has_ext), *groups = json_object(),
	       *networks = json_array(), *sgs = json_array();
	if (!ext || port_list_host(c, ctx->host.id, &ports, &np, &ctx->err) < 0 ||
	    network_list_host(c, ctx->host.id, &nets, &nn, &ctx->err) < 0)
		goto out;
	for (size_t k = 0; k < nn; k++) {
		json_t *n = network_state(ctx, &nets[k], has_ext && !nets[k].external, ports, np,
					  groups);
		if (!n)
			goto out;
		json_array_append_new(networks, n);
	}
	const char *gid;
	json_t *unused;
	json_object_foreach(groups, gid, unused) {
		json_t *g = group_state(ctx, gid);
		if (!g)
			goto out;
		json_array_append_new(sgs, g);
	}
	if (add_nics(ctx, items) < 0)
		goto out;
	json_object_set(o, "networks", networks);
	json_object_set(o, "security_groups", sgs);
	json_object_set(o, "external_network", ext);
	r = 0;
out:
	json_decref(ext);
	json_decref(groups);
	json_decref(networks);
	json_decref(sgs);
	free(ports);
	free(nets);
	return r;
}
