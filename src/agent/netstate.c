/* netstate: the host's tenant networking as nubod describes it (the
 * "networks", "security_groups" and "external_network" members of the
 * desired state, see /docs/design/networking.md), parsed and checked, and
 * rendered into what the kernel and dnsmasq take: an nftables script and
 * dnsmasq's files. Pure functions: net.c applies what they render. Every
 * value that reaches a command line or a generated file is checked here
 * (uuids, MACs, canonical IPv4 text, numbers in range), so nothing nubod
 * sends can inject into them. */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent-priv.h"
#include "lib/crypto.h"
#include "lib/util.h"

/* The ruleset's packet marks. Bridged: the port a frame came from (bits
 * 0-14) and the port it goes to (bits 16-30), set in the bridge family
 * where ports are known, read in the inet family where conntrack is.
 * Routed between a network and the outside: bit 31 and the network's zone
 * (net_route_mark), kept in the connection's mark and chosen by the
 * network's routing rule. */
#define MARK_SRC_MASK 0x80007fffu
#define MARK_DST_MASK 0xffff0000u
#define MARK_DST_SHIFT 16
#define META_IP "169.254.169.254"

struct parse {
	struct arena *ar;
	char *why;
	size_t why_size;
};

static int bad(struct parse *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int bad(struct parse *p, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *m = xvasprintf(fmt, ap);
	va_end(ap);
	str_copy(p->why, p->why_size, m);
	free(m);
	return -1;
}

/* s as canonical IPv4 text in out. */
static bool ip_parse(const char *s, net_ip out)
{
	struct in_addr a;
	return s && inet_pton(AF_INET, s, &a) == 1 && inet_ntop(AF_INET, &a, out, sizeof(net_ip));
}

/* "a.b.c.d/n" as its network address (host bits cleared) and prefix. */
static bool cidr_parse(const char *s, net_ip addr, unsigned *ret_prefix)
{
	char ip[20];
	const char *slash = s ? strchr(s, '/') : NULL;
	uint64_t prefix;
	if (!slash || (size_t)(slash - s) >= sizeof(ip) || parse_u64(slash + 1, 0, 32, &prefix) < 0)
		return false;
	memcpy(ip, s, (size_t)(slash - s));
	ip[slash - s] = '\0';
	struct in_addr a;
	if (inet_pton(AF_INET, ip, &a) != 1)
		return false;
	uint32_t mask = prefix ? ~0u << (32 - prefix) : 0;
	a.s_addr = htonl(ntohl(a.s_addr) & mask);
	inet_ntop(AF_INET, &a, addr, sizeof(net_ip));
	*ret_prefix = (unsigned)prefix;
	return true;
}

static void mask_of(unsigned prefix, net_ip out)
{
	struct in_addr a = { htonl(prefix ? ~0u << (32 - prefix) : 0) };
	inet_ntop(AF_INET, &a, out, sizeof(net_ip));
}

/* Whether ip lies in addr/prefix. */
static bool ip_in(const char *ip, const char *addr, unsigned prefix)
{
	struct in_addr a, n;
	uint32_t mask = prefix ? ~0u << (32 - prefix) : 0;
	return inet_pton(AF_INET, ip, &a) == 1 && inet_pton(AF_INET, addr, &n) == 1 &&
	       (ntohl(a.s_addr) & mask) == ntohl(n.s_addr);
}

/* A unicast MAC as lower-case text in out. */
bool net_mac_parse(const char *s, char out[18])
{
	unsigned v[6];
	char end;
	if (!s || strlen(s) != 17 ||
	    sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
		   &end) != 6 ||
	    (v[0] & 1) || !str_only(s, true, ":"))
		return false;
	return str_printf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", v[0], v[1], v[2], v[3], v[4],
			  v[5]);
}

void net_suffix(const char *id, char out[12])
{
	size_t n = 0;
	for (const char *c = id; *c && n < 11; c++)
		if (*c != '-')
			out[n++] = *c;
	out[n] = '\0';
}

unsigned net_zone(const struct net_net *n)
{
	return 1 + n->vni % 65535;
}

uint32_t net_route_mark(const struct net_net *n)
{
	return 0x80000000u | net_zone(n);
}

uint32_t net_table(const struct net_net *n)
{
	return 0x6e620000u | net_zone(n);
}

void net_gw_mac(const struct net_net *n, char out[18])
{
	str_printf(out, 18, "02:6e:62:%02x:%02x:%02x", n->vni >> 16, (n->vni >> 8) & 0xff,
		   n->vni & 0xff);
}

static const char *id_of(struct parse *p, json_t *o, const char *what)
{
	const char *id = json_string_value(json_object_get(o, "id"));
	if (!id || !uuid_valid(id)) {
		bad(p, "%s without a valid id", what);
		return NULL;
	}
	return arena_strdup(p->ar, id);
}

/* An array member (NULL or absent allowed when nullable) with at most max
 * elements; *ret NULL when absent. */
static int array_of(struct parse *p, json_t *o, const char *key, size_t max, bool nullable,
		    json_t **ret)
{
	json_t *a = json_object_get(o, key);
	*ret = NULL;
	if ((!a || json_is_null(a)) && nullable)
		return 0;
	if (!json_is_array(a))
		return bad(p, "\"%s\" is not an array", key);
	if (json_array_size(a) > max)
		return bad(p, "\"%s\" has too many elements", key);
	*ret = a;
	return 0;
}

/* An array of IPv4 addresses. */
static int ips_of(struct parse *p, json_t *o, const char *key, size_t max, bool nullable,
		  net_ip **ret, size_t *ret_n)
{
	json_t *a;
	*ret = NULL;
	*ret_n = 0;
	if (array_of(p, o, key, max, nullable, &a) < 0)
		return -1;
	if (!a)
		return 0;
	net_ip *ips = arena_alloc(p->ar, (json_array_size(a) + 1) * sizeof(*ips));
	size_t k;
	json_t *v;
	json_array_foreach(a, k, v) if (!ip_parse(json_string_value(v), ips[k])) return bad(
		p, "\"%s\" holds something that is not an IPv4 address", key);
	*ret = ips;
	*ret_n = json_array_size(a);
	return 0;
}

/* An optional IPv4 member (null or absent: ""). */
static int opt_ip(struct parse *p, json_t *o, const char *key, net_ip out)
{
	json_t *v = json_object_get(o, key);
	out[0] = '\0';
	if (!v || json_is_null(v))
		return 0;
	return ip_parse(json_string_value(v), out) ? 0 : bad(p, "\"%s\" is not an IPv4 address", key);
}

static int port_parse(struct parse *p, json_t *o, const struct net_net *n, struct net_port *pt)
{
	json_t *groups;
	if (!(pt->id = id_of(p, o, "a port")))
		return -1;
	char sfx[12];
	net_suffix(pt->id, sfx);
	str_printf(pt->tap, sizeof(pt->tap), "nt-%s", sfx);
	if (!net_mac_parse(json_string_value(json_object_get(o, "mac")), pt->mac))
		return bad(p, "port %s has no valid unicast MAC", pt->id);
	bool in = false;
	if (ip_parse(json_string_value(json_object_get(o, "ip")), pt->ip))
		for (size_t k = 0; k < n->nsubnets; k++)
			in |= ip_in(pt->ip, n->subnets[k].addr, n->subnets[k].prefix);
	if (!in)
		return bad(p, "port %s has no IPv4 address in its network", pt->id);
	const char *inst = json_string_value(json_object_get(o, "instance"));
	pt->instance = inst && uuid_valid(inst) ? arena_strdup(p->ar, inst) : NULL;
	if (opt_ip(p, o, "floating_ip", pt->fip) < 0 ||
	    array_of(p, o, "security_groups", NET_MAX_GROUPS, true, &groups) < 0)
		return -1;
	pt->groups = arena_alloc(p->ar, (json_array_size(groups) + 1) * sizeof(*pt->groups));
	size_t k;
	json_t *g;
	json_array_foreach(groups, k, g) {
		const char *gid = json_string_value(g);
		if (!gid || !uuid_valid(gid))
			return bad(p, "port %s names a security group that is not a uuid", pt->id);
		pt->groups[pt->ngroups++] = arena_strdup(p->ar, gid);
	}
	return 0;
}

/* One subnet (cidr and gateway members of o). */
static int subnet_parse(struct parse *p, json_t *o, const struct net_net *n,
			struct net_subnet *s)
{
	if (!cidr_parse(json_string_value(json_object_get(o, "cidr")), s->addr, &s->prefix) ||
	    s->prefix > 30 || s->prefix < 8)
		return bad(p, "network %s has a subnet that is no IPv4 CIDR of /8 to /30", n->id);
	mask_of(s->prefix, s->mask);
	if (opt_ip(p, o, "gateway", s->gw) < 0)
		return -1;
	if (s->gw[0] && !ip_in(s->gw, s->addr, s->prefix))
		return bad(p, "network %s has a gateway outside its subnet", n->id);
	return 0;
}

/* The subnets: "subnets" when given, else the network's own cidr and
 * gateway (none when its cidr is null). */
static int subnets_parse(struct parse *p, json_t *o, struct net_net *n)
{
	json_t *subs;
	if (array_of(p, o, "subnets", NET_MAX_SUBNETS, true, &subs) < 0)
		return -1;
	if (!json_array_size(subs)) {
		json_t *cidr = json_object_get(o, "cidr");
		n->subnets = arena_alloc(p->ar, sizeof(*n->subnets));
		if (!cidr || json_is_null(cidr))
			return 0;
		n->nsubnets = 1;
		return subnet_parse(p, o, n, &n->subnets[0]);
	}
	n->subnets = arena_alloc(p->ar, json_array_size(subs) * sizeof(*n->subnets));
	size_t k;
	json_t *s;
	json_array_foreach(subs, k, s) {
		if (!json_is_object(s) || subnet_parse(p, s, n, &n->subnets[n->nsubnets++]) < 0)
			return json_is_object(s) ? -1 : bad(p, "%s", "a subnet is not an object");
	}
	return 0;
}

static int network_parse(struct parse *p, json_t *o, struct net_net *n)
{
	json_t *ports;
	if (!json_is_object(o) || !(n->id = id_of(p, o, "a network")))
		return json_is_object(o) ? -1 : bad(p, "%s", "a network is not an object");
	char sfx[12];
	net_suffix(n->id, sfx);
	str_printf(n->br, sizeof(n->br), "nb-%s", sfx);
	str_printf(n->vx, sizeof(n->vx), "nx-%s", sfx);
	json_int_t vni = json_integer_value(json_object_get(o, "vni"));
	json_int_t mtu = json_integer_value(json_object_get(o, "mtu"));
	if (vni < 1 || vni > 16777215)
		return bad(p, "network %s has no VNI in 1..16777215", n->id);
	n->vni = (uint32_t)vni;
	n->mtu = mtu >= 576 && mtu <= 9000 ? (unsigned)mtu : 1450;
	if (subnets_parse(p, o, n) < 0)
		return -1;
	n->external = json_is_true(json_object_get(o, "external"));
	n->snat = json_is_true(json_object_get(o, "snat"));
	if (ips_of(p, o, "dns", NET_MAX_DNS, true, &n->dns, &n->ndns) < 0 ||
	    ips_of(p, o, "peers", NET_MAX_PEERS, true, &n->peers, &n->npeers) < 0 ||
	    array_of(p, o, "ports", NET_MAX_PORTS, true, &ports) < 0)
		return -1;
	n->ports = arena_alloc(p->ar, (json_array_size(ports) + 1) * sizeof(*n->ports));
	size_t k;
	json_t *pt;
	json_array_foreach(ports, k, pt) {
		if (!json_is_object(pt) || port_parse(p, pt, n, &n->ports[n->nports++]) < 0)
			return json_is_object(pt) ? -1 : bad(p, "%s", "a port is not an object");
	}
	return 0;
}

static int rule_parse(struct parse *p, json_t *o, struct net_rule *r)
{
	const char *dir = json_string_value(json_object_get(o, "direction"));
	const char *et = json_string_value(json_object_get(o, "ethertype"));
	json_t *proto = json_object_get(o, "protocol");
	if (!dir || (strcmp(dir, "ingress") != 0 && strcmp(dir, "egress") != 0))
		return bad(p, "%s", "a rule has no direction ingress or egress");
	r->ingress = strcmp(dir, "ingress") == 0;
	if (et && strcmp(et, "IPv4") != 0)
		return bad(p, "a rule has ethertype %s: only IPv4 is supported", et);
	if (proto && !json_is_null(proto)) {
		const char *s = json_string_value(proto);
		if (!s || (strcmp(s, "tcp") != 0 && strcmp(s, "udp") != 0 && strcmp(s, "icmp") != 0 &&
			   strcmp(s, "any") != 0))
			return bad(p, "%s", "a rule's protocol is not tcp, udp, icmp, any or null");
		if (strcmp(s, "any") != 0)
			str_copy(r->proto, sizeof(r->proto), s);
	}
	static const char *const keys[] = { "port_min", "port_max" };
	int *vals[] = { &r->port_min, &r->port_max };
	for (size_t k = 0; k < 2; k++) {
		json_t *v = json_object_get(o, keys[k]);
		*vals[k] = -1;
		if (!v || json_is_null(v))
			continue;
		json_int_t i = json_integer_value(v);
		if (!json_is_integer(v) || i < 0 || i > 65535)
			return bad(p, "a rule's %s is not a port number", keys[k]);
		*vals[k] = (int)i;
	}
	if (r->port_min >= 0 && r->port_max >= 0 && r->port_max < r->port_min &&
	    strcmp(r->proto, "icmp") != 0)
		return bad(p, "%s", "a rule's port_max is below its port_min");
	json_t *cidr = json_object_get(o, "cidr");
	if (cidr && !json_is_null(cidr)) {
		net_ip a;
		unsigned prefix;
		if (!cidr_parse(json_string_value(cidr), a, &prefix))
			return bad(p, "%s", "a rule's cidr is not an IPv4 CIDR");
		str_printf(r->cidr, sizeof(r->cidr), "%s/%u", a, prefix);
	}
	json_t *remote = json_object_get(o, "remote_ips");
	r->has_remote = remote && !json_is_null(remote);
	return ips_of(p, o, "remote_ips", NET_MAX_REMOTE, true, &r->remote, &r->nremote);
}

static int group_parse(struct parse *p, json_t *o, struct net_group *g)
{
	json_t *rules;
	if (!json_is_object(o))
		return bad(p, "%s", "a security group is not an object");
	if (!(g->id = id_of(p, o, "a security group")) ||
	    array_of(p, o, "rules", NET_MAX_RULES, true, &rules) < 0)
		return -1;
	g->rules = arena_alloc(p->ar, (json_array_size(rules) + 1) * sizeof(*g->rules));
	size_t k;
	json_t *r;
	json_array_foreach(rules, k, r) {
		if (!json_is_object(r) || rule_parse(p, r, &g->rules[g->nrules++]) < 0)
			return json_is_object(r) ? -1 : bad(p, "%s", "a rule is not an object");
	}
	return 0;
}

/* Names derive from the first 11 hex digits of ids: two networks or two
 * ports sharing them would share a device. Fills st->all. */
static int check_unique(struct parse *p, struct net_state *st)
{
	size_t total = 0;
	for (size_t i = 0; i < st->nnets; i++) {
		for (size_t j = 0; j < i; j++)
			if (strcmp(st->nets[i].br, st->nets[j].br) == 0)
				return bad(p, "two networks share the device name %s", st->nets[i].br);
		total += st->nets[i].nports;
	}
	if (total > NET_MAX_PORTS)
		return bad(p, "%s", "this host has more ports than it supports");
	st->all = arena_alloc(p->ar, (total + 1) * sizeof(*st->all));
	for (size_t i = 0; i < st->nnets; i++)
		for (size_t k = 0; k < st->nets[i].nports; k++) {
			const char *t = st->nets[i].ports[k].tap;
			for (size_t j = 0; j < st->nall; j++)
				if (strcmp(st->all[j]->tap, t) == 0)
					return bad(p, "two ports share the device name %s", t);
			st->all[st->nall++] = &st->nets[i].ports[k];
		}
	return 0;
}

int net_state_parse(json_t *desired, struct arena *ar, struct net_state *ret, char *why,
		    size_t why_size)
{
	struct parse p = { ar, why, why_size };
	struct net_state st = { 0 };
	json_t *nets, *groups;
	memset(ret, 0, sizeof(*ret));
	if (!json_object_get(desired, "networks"))
		return 0;
	st.present = true;
	if (array_of(&p, desired, "networks", NET_MAX_NETWORKS, false, &nets) < 0 ||
	    array_of(&p, desired, "security_groups", NET_MAX_GROUPS, true, &groups) < 0)
		return -1;
	st.nets = arena_alloc(ar, (json_array_size(nets) + 1) * sizeof(*st.nets));
	st.groups = arena_alloc(ar, (json_array_size(groups) + 1) * sizeof(*st.groups));
	size_t k;
	json_t *o;
	json_array_foreach(nets, k, o) if (network_parse(&p, o, &st.nets[st.nnets++]) < 0) return -1;
	json_array_foreach(groups, k, o) if (group_parse(&p, o, &st.groups[st.ngroups++]) < 0) return -1;
	json_t *ext = json_object_get(desired, "external_network");
	if (ext && !json_is_null(ext)) {
		net_ip a;
		unsigned prefix;
		if (!json_is_object(ext) ||
		    !cidr_parse(json_string_value(json_object_get(ext, "cidr")), a, &prefix))
			return bad(&p, "%s", "the external network has no IPv4 cidr");
		str_printf(st.ext_cidr, sizeof(st.ext_cidr), "%s/%u", a, prefix);
		if (opt_ip(&p, ext, "gateway", st.ext_gw) < 0)
			return -1;
		st.has_ext = true;
	}
	if (check_unique(&p, &st) < 0)
		return -1;
	*ret = st;
	return 0;
}

/* ---- rendering ---- */

static const struct net_group *group_find(const struct net_state *st, const char *id)
{
	for (size_t k = 0; k < st->ngroups; k++)
		if (strcmp(st->groups[k].id, id) == 0)
			return &st->groups[k];
	return NULL;
}

/* The match part of rule r (peer addresses as saddr for ingress, daddr
 * for egress); false when it can match nothing. */
static bool rule_match(const struct net_rule *r, struct buf *b)
{
	const char *dir = r->ingress ? "saddr" : "daddr";
	if (r->has_remote && r->nremote == 0)
		return false;
	if (r->cidr[0])
		buf_printf(b, " ip %s %s", dir, r->cidr);
	if (r->has_remote) {
		buf_printf(b, " ip %s {", dir);
		for (size_t k = 0; k < r->nremote; k++)
			buf_printf(b, "%s %s", k ? "," : "", r->remote[k]);
		buf_puts(b, " }");
	}
	if (strcmp(r->proto, "icmp") == 0) {
		buf_puts(b, " ip protocol icmp");
		if (r->port_min >= 0 && r->port_min <= 255)
			buf_printf(b, " icmp type %d", r->port_min);
		if (r->port_max >= 0 && r->port_max <= 255)
			buf_printf(b, " icmp code %d", r->port_max);
	} else if (r->proto[0]) {
		buf_printf(b, " ip protocol %s", r->proto);
		/* one bound alone is that single port */
		int lo = r->port_min, hi = r->port_max;
		if (lo >= 0 || hi >= 0) {
			lo = lo >= 0 ? lo : hi;
			hi = hi >= 0 ? hi : lo;
			if (lo == hi)
				buf_printf(b, " %s dport %d", r->proto, lo);
			else
				buf_printf(b, " %s dport %d-%d", r->proto, lo, hi);
		}
	}
	return true;
}

/* The rules of port pt's groups in one direction, each ending in verdict;
 * returns how many it wrote. */
static size_t port_rules(const struct net_state *st, const struct net_port *pt, bool ingress,
			 const char *verdict, struct buf *b)
{
	size_t n = 0;
	for (size_t g = 0; g < pt->ngroups; g++) {
		const struct net_group *grp = group_find(st, pt->groups[g]);
		for (size_t k = 0; grp && k < grp->nrules; k++) {
			const struct net_rule *r = &grp->rules[k];
			if (r->ingress != ingress)
				continue;
			struct buf m;
			buf_init(&m, 0);
			if (rule_match(r, &m))
				buf_printf(b, "\t\t%s%s%s\n", m.data ? m.data + 1 : "",
					   m.data ? " " : "", verdict);
			buf_release(&m);
			n++;
		}
	}
	return n;
}

/* The security-group chains of the port with mark index i: eg_i (its
 * outbound traffic: returns when allowed) and in_i (its inbound). */
static void port_chains(const struct net_state *st, const struct net_port *pt, size_t i,
			struct buf *b)
{
	buf_printf(b,
		   "\tchain eg_%zu {\n"
		   "\t\tct state established,related return\n"
		   "\t\tct state invalid drop\n",
		   i);
	/* outbound is open until a group of the port has egress rules */
	if (port_rules(st, pt, false, "return", b))
		buf_puts(b, "\t\tdrop\n");
	buf_printf(b,
		   "\t}\n"
		   "\tchain in_%zu {\n"
		   "\t\tct state established,related accept\n"
		   "\t\tct state invalid drop\n",
		   i);
	port_rules(st, pt, true, "accept", b);
	buf_puts(b, "\t\tdrop\n\t}\n");
}

/* Conntrack zones, before conntrack: a network's bridged traffic has
 * its own zone; its routed traffic (to the gateway's MAC) has it in the
 * original direction only, so that the replies from outside (zone 0) find
 * their connection. A guest's new connection is marked with its network
 * (priority mangle); a packet from outside takes its connection's mark
 * after NAT (dstnat + 1), so the network's routing rule picks it up. */
static void zone_chains(const struct net_state *st, const char *ext_if, struct buf *b)
{
	buf_puts(b, "\tchain zone {\n"
		    "\t\ttype filter hook prerouting priority raw; policy accept;\n");
	for (size_t k = 0; k < st->nnets; k++) {
		const struct net_net *n = &st->nets[k];
		char mac[18];
		net_gw_mac(n, mac);
		buf_printf(b,
			   "\t\tiifname \"%s\" ether daddr %s ct original zone set %u\n"
			   "\t\tiifname \"%s\" ether daddr != %s ct zone set %u\n",
			   n->br, mac, net_zone(n), n->br, mac, net_zone(n));
	}
	buf_puts(b, "\t}\n"
		    "\tchain connmark {\n"
		    "\t\ttype filter hook prerouting priority mangle; policy accept;\n");
	for (size_t k = 0; k < st->nnets; k++)
		buf_printf(b, "\t\tiifname \"%s\" ct state new ct mark set 0x%x\n",
			   st->nets[k].br, net_route_mark(&st->nets[k]));
	buf_puts(b, "\t}\n");
	if (ext_if)
		buf_printf(b,
			   "\tchain route_back {\n"
			   "\t\ttype filter hook prerouting priority dstnat + 1; policy accept;\n"
			   "\t\tiifname \"%s\" ct mark & 0x80000000 != 0 meta mark set ct mark\n"
			   "\t}\n",
			   ext_if);
}

/* The forward hook: routed traffic leaves a network only for the outside
 * (ext_if) and enters one only as a connection of its own (NAT); a packet
 * passes its sender's egress and its receiver's ingress chains. */
static void relay_chain(const struct net_state *st, const char *ext_if, struct buf *b)
{
	buf_puts(b, "\tchain relay {\n"
		    "\t\ttype filter hook forward priority filter; policy accept;\n");
	for (size_t k = 0; k < st->nnets; k++) {
		buf_printf(b, "\t\tiifname \"%s\" oifname != \"%s\"", st->nets[k].br,
			   st->nets[k].br);
		if (ext_if && st->has_ext)
			buf_printf(b, " oifname != \"%s\"", ext_if);
		buf_puts(b, " drop\n");
	}
	buf_puts(b, "\t\toifname \"nb-*\" iifname != \"nb-*\" ct mark & 0x80000000 == 0 drop\n");
	/* a port's mark index is its place in st->all, plus one */
	struct buf src, dst;
	buf_init(&src, 0);
	buf_init(&dst, 0);
	for (size_t i = 1; i <= st->nall; i++) {
		buf_printf(&src, "%s0x%zx : jump eg_%zu", i > 1 ? ", " : "", i, i);
		buf_printf(&dst, "%s0x%zx : jump in_%zu", i > 1 ? ", " : "", i << MARK_DST_SHIFT, i);
	}
	if (st->nall)
		buf_printf(b,
			   "\t\tmeta mark & 0x%x vmap { %s }\n"
			   "\t\tmeta mark & 0x%x vmap { %s }\n",
			   MARK_SRC_MASK, src.data, MARK_DST_MASK, dst.data);
	buf_release(&src);
	buf_release(&dst);
	/* routed in (NAT): the receiver by its bridge and address */
	for (size_t n = 0, i = 1; n < st->nnets; n++)
		for (size_t k = 0; k < st->nets[n].nports; k++, i++)
			buf_printf(b, "\t\toifname \"%s\" ip daddr %s jump in_%zu\n", st->nets[n].br,
				   st->nets[n].ports[k].ip, i);
	buf_puts(b, "\t}\n");
}

static void inet_table(const struct net_state *st, const char *ext_if, struct buf *b)
{
	buf_puts(b, "table inet nubo {\n");
	zone_chains(st, ext_if, b);
	/* guests reach the host only for DHCP and the metadata service */
	buf_puts(b, "\tchain host_in {\n"
		    "\t\ttype filter hook input priority filter; policy accept;\n"
		    "\t\tiifname \"nb-*\" jump from_guests\n"
		    "\t}\n"
		    "\tchain from_guests {\n"
		    "\t\tct state established,related accept\n"
		    "\t\tudp dport 67 accept\n"
		    "\t\tip daddr " META_IP " tcp dport 80 accept\n"
		    "\t\tdrop\n"
		    "\t}\n");
	relay_chain(st, ext_if, b);
	for (size_t i = 1; i <= st->nall; i++)
		port_chains(st, st->all[i - 1], i, b);
	buf_puts(b, "}\n");
}

/* Outbound SNAT (masquerade on ext_if) of networks with snat, and 1:1
 * NAT of floating IPs. */
static void nat_table(const struct net_state *st, const char *ext_if, struct buf *b)
{
	buf_puts(b, "table ip nubo_nat {\n"
		    "\tchain pre {\n"
		    "\t\ttype nat hook prerouting priority dstnat; policy accept;\n");
	for (size_t n = 0; n < st->nnets; n++)
		for (size_t k = 0; k < st->nets[n].nports; k++) {
			const struct net_port *p = &st->nets[n].ports[k];
			if (p->fip[0])
				buf_printf(b, "\t\tiifname \"%s\" ip daddr %s ct mark set 0x%x dnat to %s\n",
					   ext_if, p->fip, net_route_mark(&st->nets[n]), p->ip);
		}
	buf_puts(b, "\t}\n"
		    "\tchain post {\n"
		    "\t\ttype nat hook postrouting priority srcnat; policy accept;\n");
	for (size_t n = 0; n < st->nnets; n++) {
		const struct net_net *net = &st->nets[n];
		for (size_t k = 0; k < net->nports; k++)
			if (net->ports[k].fip[0])
				buf_printf(b, "\t\toifname \"%s\" ct mark 0x%x ip saddr %s snat to %s\n",
					   ext_if, net_route_mark(net), net->ports[k].ip,
					   net->ports[k].fip);
		if (net->snat)
			buf_printf(b, "\t\toifname \"%s\" ct mark 0x%x masquerade\n", ext_if,
				   net_route_mark(net));
	}
	buf_puts(b, "\t}\n}\n");
}

/* Anti-spoofing of the port with mark index i: it sends from its MAC and
 * IP only (and DHCP requests), never as a DHCP server. */
static void spoof_chain(const struct net_port *pt, size_t i, struct buf *b)
{
	buf_printf(b,
		   "\tchain sp_%zu {\n"
		   "\t\tether saddr != %s drop\n"
		   "\t\tmeta mark set 0x%zx\n"
		   "\t\tarp saddr ether %s arp saddr ip { %s, 0.0.0.0 } accept\n"
		   "\t\tether type ip ip saddr 0.0.0.0 ip daddr 255.255.255.255 udp sport 68 "
		   "udp dport 67 accept\n"
		   "\t\tether type ip udp sport 67 drop\n"
		   "\t\tether type ip ip saddr %s accept\n"
		   "\t\tdrop\n"
		   "\t}\n",
		   i, pt->mac, i, pt->mac, pt->ip, pt->ip);
}

static void bridge_table(const struct net_state *st, struct buf *b)
{
	buf_puts(b, "table bridge nubo {\n"
		    "\tchain pre {\n"
		    "\t\ttype filter hook prerouting priority filter; policy accept;\n"
		    "\t\tiifname \"nx-*\" meta mark set 0\n");
	for (size_t i = 1; i <= st->nall; i++)
		buf_printf(b, "\t\tiifname \"%s\" jump sp_%zu\n", st->all[i - 1]->tap, i);
	/* a tap of no port (yet to be removed) sends nothing */
	buf_puts(b, "\t\tiifname \"nt-*\" drop\n");
	/* DHCP stays on its host; so does everything of the host itself, which
	 * holds the same gateway address on every host (a distributed
	 * gateway): its ARP must not meet the other hosts' */
	buf_puts(b, "\t}\n"
		    "\tchain relay {\n"
		    "\t\ttype filter hook forward priority filter; policy accept;\n"
		    "\t\toifname \"nx-*\" udp dport { 67, 68 } drop\n");
	for (size_t i = 1; i <= st->nall; i++)
		buf_printf(b, "\t\toifname \"%s\" meta mark set meta mark | 0x%zx\n",
			   st->all[i - 1]->tap, i << MARK_DST_SHIFT);
	buf_puts(b, "\t}\n"
		    "\tchain host_in {\n"
		    "\t\ttype filter hook input priority filter; policy accept;\n"
		    "\t\tiifname \"nx-*\" drop\n"
		    "\t}\n"
		    "\tchain host_out {\n"
		    "\t\ttype filter hook output priority filter; policy accept;\n"
		    "\t\toifname \"nx-*\" drop\n"
		    "\t}\n"
		    "\tchain post {\n"
		    "\t\ttype filter hook postrouting priority filter; policy accept;\n"
		    "\t\toifname \"nx-*\" meta mark set 0\n"
		    "\t}\n");
	for (size_t i = 1; i <= st->nall; i++)
		spoof_chain(st->all[i - 1], i, b);
	buf_puts(b, "}\n");
}

void net_ruleset(const struct net_state *st, const char *ext_if, struct buf *b)
{
	/* declaring a table before deleting it makes the deletion succeed
	 * when it is absent; the whole file is one transaction */
	buf_puts(b, "table inet nubo\n"
		    "delete table inet nubo\n"
		    "table bridge nubo\n"
		    "delete table bridge nubo\n"
		    "table ip nubo_nat\n"
		    "delete table ip nubo_nat\n");
	if (!st->nnets)
		return;
	inet_table(st, ext_if, b);
	bridge_table(st, b);
	if (ext_if && st->has_ext)
		nat_table(st, ext_if, b);
}

/* The DHCP range of subnet number k and its options (tag sK). */
static void dnsmasq_subnet(const struct net_net *n, size_t k, struct buf *b)
{
	const struct net_subnet *s = &n->subnets[k];
	buf_printf(b, "dhcp-range=set:s%zu,%s,static,%s,86400\n", k, s->addr, s->mask);
	if (s->gw[0])
		/* the classless routes replace the router option for clients
		 * that know them: both name the gateway */
		buf_printf(b,
			   "dhcp-option=tag:s%zu,option:router,%s\n"
			   "dhcp-option=tag:s%zu,option:classless-static-route," META_IP "/32,%s,"
			   "0.0.0.0/0,%s\n",
			   k, s->gw, k, s->gw, s->gw);
	else
		/* no address of the bridge is in the subnet: dnsmasq serves it
		 * as a shared network, as the server 169.254.169.254, which the
		 * guest reaches on its link; no router */
		buf_printf(b,
			   "shared-network=%s,%s\n"
			   "dhcp-option=tag:s%zu,option:router\n"
			   "dhcp-option=tag:s%zu,option:classless-static-route," META_IP
			   "/32,0.0.0.0\n",
			   n->br, s->addr, k, k);
}

void net_dnsmasq_conf(const struct net_net *n, const char *dir, struct buf *b)
{
	buf_printf(b,
		   "# written by nubo-agent: DHCP of network %s, static leases only\n"
		   "port=0\n"
		   "interface=%s\n"
		   "bind-interfaces\n"
		   "no-resolv\n"
		   "no-hosts\n"
		   "dhcp-hostsfile=%s/hosts\n"
		   "dhcp-leasefile=%s/leases\n"
		   "pid-file=%s/dnsmasq.pid\n"
		   "log-facility=%s/dnsmasq.log\n"
		   "dhcp-option=option:mtu,%u\n",
		   n->id, n->br, dir, dir, dir, dir, n->mtu);
	for (size_t k = 0; k < n->nsubnets; k++)
		dnsmasq_subnet(n, k, b);
	buf_puts(b, "dhcp-option=option:dns-server");
	for (size_t k = 0; k < n->ndns; k++)
		buf_printf(b, ",%s", n->dns[k]);
	buf_puts(b, "\n");
}

void net_dnsmasq_hosts(const struct net_net *n, struct buf *b)
{
	for (size_t k = 0; k < n->nports; k++)
		buf_printf(b, "%s,%s\n", n->ports[k].mac, n->ports[k].ip);
}
