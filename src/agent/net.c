/* net: the data plane of tenant networks on this host; see agent.h and
 * docs/design/networking.md. Level-triggered like the domains: every pass
 * reads what the kernel has (`ip -j`, `bridge -j`), compares it with what
 * nubod wants (netstate.c) and runs iproute2 commands for the difference;
 * the nftables tables are rewritten whole in one transaction; dnsmasq is
 * (re)started when its configuration changed and told to reread its static
 * leases (SIGHUP) when they did. Devices named nb-, nx-, nt- and dnsmasq
 * directories under net/ that nubod no longer wants are strays and go.
 * Nothing is torn down when the agent stops: guests keep their network. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent-priv.h"
#include "agent.h"
#include "lib/crypto.h"
#include "lib/log.h"
#include "lib/proc.h"
#include "lib/util.h"

#define CMD_TIMEOUT_S 20
#define CMD_OUT_LIMIT (8 << 20)
#define VXLAN_PORT "4789"
#define META_IP "169.254.169.254"

/* A device of ours as the kernel has it. */
struct link {
	char name[16];
	char kind[16];             /* "bridge", "vxlan", "tun"... */
	char master[16];           /* "" when none */
	char mac[18];              /* its address */
	unsigned mtu;
	bool up;
	uint32_t vni;              /* vxlan */
	char local[16];            /* vxlan's local address */
	bool nf_call;              /* bridge: nf_call_iptables set */
	bool wanted;               /* named by the desired state */
};

struct links {
	struct link *v;
	size_t n;
};

/* Run argv; 0, or -1 logged with its complaint. out, when given, takes
 * stdout. */
static int run(char *const argv[], struct buf *out)
{
	struct buf err;
	buf_init(&err, 4096);
	int r = proc_run(argv, out, &err, CMD_TIMEOUT_S);
	if (r != 0) {
		struct buf cmd;
		buf_init(&cmd, 1024);
		for (size_t k = 0; argv[k]; k++)
			buf_printf(&cmd, "%s%s", k ? " " : "", argv[k]);
		log_warn("%s failed (%d): %s", cmd.data, r, err.data ? err.data : "");
		buf_release(&cmd);
	}
	buf_release(&err);
	return r == 0 ? 0 : -1;
}

#define RUN(...) run((char *const[]){ __VA_ARGS__, NULL }, NULL)

/* The JSON a command prints, or NULL. */
static json_t *run_json(char *const argv[])
{
	struct buf out;
	buf_init(&out, CMD_OUT_LIMIT);
	json_t *j = run(argv, &out) == 0 && out.data ? json_loadb(out.data, out.len, 0, NULL)
						     : NULL;
	buf_release(&out);
	return j;
}

static bool ours(const char *name)
{
	return str_starts_with(name, "nb-") || str_starts_with(name, "nx-") ||
	       str_starts_with(name, "nt-");
}

static const char *jstr(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

/* Our devices (nb-, nx-, nt-) as the kernel has them. */
static int links_read(struct links *ret)
{
	json_t *all = run_json((char *const[]){ "ip", "-d", "-j", "link", "show", NULL });
	if (!json_is_array(all)) {
		json_decref(all);
		return -1;
	}
	ret->v = xcalloc(json_array_size(all) + 1, sizeof(*ret->v));
	ret->n = 0;
	size_t k;
	json_t *o;
	json_array_foreach(all, k, o) {
		const char *name = jstr(o, "ifname");
		if (!ours(name) || strlen(name) > 15)
			continue;
		struct link *l = &ret->v[ret->n++];
		json_t *info = json_object_get(o, "linkinfo");
		json_t *data = json_object_get(info, "info_data");
		str_copy(l->name, sizeof(l->name), name);
		str_copy(l->kind, sizeof(l->kind), jstr(info, "info_kind"));
		str_copy(l->master, sizeof(l->master), jstr(o, "master"));
		str_copy(l->mac, sizeof(l->mac), jstr(o, "address"));
		l->mtu = (unsigned)json_integer_value(json_object_get(o, "mtu"));
		size_t f;
		json_t *flag;
		json_array_foreach(json_object_get(o, "flags"), f, flag)
			l->up |= strcmp(json_string_value(flag) ? json_string_value(flag) : "", "UP") == 0;
		l->vni = (uint32_t)json_integer_value(json_object_get(data, "id"));
		str_copy(l->local, sizeof(l->local), jstr(data, "local"));
		l->nf_call = json_integer_value(json_object_get(data, "nf_call_iptables")) == 1;
	}
	json_decref(all);
	return 0;
}

static struct link *link_find(struct links *ls, const char *name)
{
	for (size_t k = 0; k < ls->n; k++)
		if (strcmp(ls->v[k].name, name) == 0)
			return &ls->v[k];
	return NULL;
}

static void disable_ipv6(const char *dev)
{
	char path[96];
	str_printf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", dev);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return; /* no IPv6 here */
	if (write(fd, "1", 1) != 1)
		log_warn("cannot switch IPv6 off on %s: %s", dev, strerror(errno));
	close(fd);
}

/* Make sure the device has master (or none for ""), mtu, and is up. */
static int link_settle(const struct link *l, const char *name, const char *master, unsigned mtu)
{
	char m[16];
	str_printf(m, sizeof(m), "%u", mtu);
	int r = 0;
	if (master[0] && (!l || strcmp(l->master, master) != 0))
		r |= RUN("ip", "link", "set", "dev", (char *)name, "master", (char *)master);
	if (!l || l->mtu != mtu)
		r |= RUN("ip", "link", "set", "dev", (char *)name, "mtu", m);
	if (!l || !l->up)
		r |= RUN("ip", "link", "set", "dev", (char *)name, "up");
	return r ? -1 : 0;
}

/* Remove a device of the wrong kind (or vxlan of the wrong VNI or local
 * address) so it is made again; returns l, or NULL when gone. */
static struct link *link_check(struct link *l, const char *kind, bool ok)
{
	if (!l)
		return NULL;
	l->wanted = true;
	if (strcmp(l->kind, kind) == 0 && ok)
		return l;
	log_line(LOGL_INFO, "remaking a device that is not what it should be", "dev", l->name,
		 NULL);
	RUN("ip", "link", "del", "dev", l->name);
	return NULL;
}

static int bridge_converge(const struct net_net *n, struct links *ls)
{
	struct link *l = link_check(link_find(ls, n->br), "bridge", true);
	if (!l) {
		if (RUN("ip", "link", "add", "name", (char *)n->br, "type", "bridge") < 0)
			return -1;
		disable_ipv6(n->br);
		log_line(LOGL_INFO, "bridge made", "dev", n->br, "network", n->id, NULL);
	}
	/* bridged IPv4 passes the inet family's hooks (conntrack, security
	 * groups) on this bridge only, whatever the host-wide sysctl says */
	if ((!l || !l->nf_call) &&
	    RUN("ip", "link", "set", "dev", (char *)n->br, "type", "bridge", "nf_call_iptables",
		"1") < 0)
		return -1;
	/* the gateway's MAC: one per network, the same on every host (the
	 * host's side of a bridge never meets the other hosts') and whatever
	 * ports come and go */
	char mac[18];
	net_gw_mac(n, mac);
	if ((!l || strcmp(l->mac, mac) != 0) &&
	    RUN("ip", "link", "set", "dev", (char *)n->br, "address", mac) < 0)
		return -1;
	return link_settle(l, n->br, "", n->mtu);
}

/* The bridge's addresses: the metadata service's and each subnet's
 * gateway, without a route (the host routes nothing to tenants by its
 * main table; dnsmasq and the metadata service answer through sockets
 * bound to the bridge). */
static int addrs_converge(const struct net_net *n)
{
	size_t nwant = 1;
	char(*want)[32] = xcalloc(n->nsubnets + 1, sizeof(*want));
	bool *have = xcalloc(n->nsubnets + 1, sizeof(*have));
	str_copy(want[0], sizeof(want[0]), META_IP "/32");
	for (size_t k = 0; k < n->nsubnets; k++)
		if (n->subnets[k].gw[0])
			str_printf(want[nwant++], sizeof(want[0]), "%s/%u", n->subnets[k].gw,
				   n->subnets[k].prefix);
	json_t *j = run_json((char *const[]){ "ip", "-j", "addr", "show", "dev", (char *)n->br,
					      NULL });
	int r = 0;
	size_t k;
	json_t *a;
	json_array_foreach(json_object_get(json_array_get(j, 0), "addr_info"), k, a) {
		if (strcmp(jstr(a, "family"), "inet") != 0)
			continue;
		char got[32];
		str_printf(got, sizeof(got), "%s/%lld", jstr(a, "local"),
			   (long long)json_integer_value(json_object_get(a, "prefixlen")));
		bool known = false;
		for (size_t i = 0; i < nwant; i++)
			if (strcmp(got, want[i]) == 0)
				known = have[i] = true;
		if (!known)
			r |= RUN("ip", "addr", "del", got, "dev", (char *)n->br);
	}
	json_decref(j);
	for (size_t i = 0; i < nwant; i++)
		if (!have[i])
			r |= RUN("ip", "addr", "add", want[i], "dev", (char *)n->br, "noprefixroute");
	free(have);
	free(want);
	return r ? -1 : 0;
}

/* The static FDB entries of all-zero MAC towards each peer: broadcast and
 * unknown unicast go to every host of the network, with no multicast. */
static int fdb_converge(const struct net_net *n)
{
	json_t *j = run_json((char *const[]){ "bridge", "-j", "fdb", "show", "dev", (char *)n->vx,
					      NULL });
	bool *seen = xcalloc(n->npeers + 1, sizeof(*seen));
	int r = 0;
	size_t k;
	json_t *e;
	json_array_foreach(j, k, e) {
		const char *dst = jstr(e, "dst");
		if (strcmp(jstr(e, "mac"), "00:00:00:00:00:00") != 0 || !dst[0])
			continue;
		bool known = false;
		for (size_t p = 0; p < n->npeers; p++)
			if (strcmp(n->peers[p], dst) == 0)
				known = seen[p] = true;
		if (!known)
			r |= RUN("bridge", "fdb", "del", "00:00:00:00:00:00", "dev", (char *)n->vx,
				 "dst", (char *)dst);
	}
	for (size_t p = 0; p < n->npeers; p++)
		if (!seen[p])
			r |= RUN("bridge", "fdb", "append", "00:00:00:00:00:00", "dev", (char *)n->vx,
				 "dst", n->peers[p]);
	free(seen);
	json_decref(j);
	return r ? -1 : 0;
}

static int vxlan_converge(struct agent_net *cfg, const struct net_net *n, struct links *ls)
{
	struct link *l = link_find(ls, n->vx);
	l = link_check(l, "vxlan", l && l->vni == n->vni && strcmp(l->local, cfg->underlay_ip) == 0);
	if (!l) {
		char vni[16];
		str_printf(vni, sizeof(vni), "%u", n->vni);
		if (RUN("ip", "link", "add", "name", (char *)n->vx, "type", "vxlan", "id", vni, "local",
			(char *)cfg->underlay_ip, "dstport", VXLAN_PORT) < 0)
			return -1;
		disable_ipv6(n->vx);
		log_line(LOGL_INFO, "vxlan made", "dev", n->vx, "vni", vni, NULL);
	}
	if (link_settle(l, n->vx, n->br, n->mtu) < 0)
		return -1;
	return fdb_converge(n);
}

static int taps_converge(const struct net_net *n, struct links *ls)
{
	int r = 0;
	for (size_t k = 0; k < n->nports; k++) {
		const struct net_port *p = &n->ports[k];
		struct link *l = link_check(link_find(ls, p->tap), "tun", true);
		if (!l) {
			if (RUN("ip", "tuntap", "add", "dev", (char *)p->tap, "mode", "tap") < 0) {
				r = -1;
				continue;
			}
			disable_ipv6(p->tap);
			log_line(LOGL_INFO, "tap made", "dev", p->tap, "port", p->id, NULL);
		}
		r |= link_settle(l, p->tap, n->br, n->mtu);
	}
	return r ? -1 : 0;
}

/* ---- dnsmasq ---- */

static char *net_dir(struct agent_net *cfg, const char *id)
{
	return xasprintf("%s/%s", cfg->dir, id);
}

/* The whole of a small file, or NULL. Caller frees. */
static char *read_text(const char *path)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return NULL;
	struct buf b;
	buf_init(&b, 16 << 20);
	char chunk[4096];
	size_t got;
	while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_append(&b, chunk, got);
	fclose(f);
	return buf_detach(&b, NULL);
}

/* Write text to path through a file aside; returns 1 when it changed, 0
 * when it was already so, -1 on failure. */
static int write_if_changed(const char *path, const char *text)
{
	char *old = read_text(path);
	bool same = old && strcmp(old, text) == 0;
	free(old);
	if (same)
		return 0;
	char *tmp = xasprintf("%s.tmp", path);
	FILE *f = fopen(tmp, "we");
	int r = -1;
	if (f) {
		size_t n = strlen(text);
		r = fwrite(text, 1, n, f) == n ? 1 : -1;
		if (fclose(f) != 0 || (r == 1 && rename(tmp, path) < 0))
			r = -1;
	}
	if (r < 0) {
		log_warn("cannot write %s: %s", path, strerror(errno));
		unlink(tmp);
	}
	free(tmp);
	return r;
}

/* The pid of the dnsmasq serving from dir, or 0 when none runs. */
static pid_t dnsmasq_pid(const char *dir)
{
	char *pidfile = xasprintf("%s/dnsmasq.pid", dir), *conf = xasprintf("%s/dnsmasq.conf", dir);
	char *text = read_text(pidfile);
	int64_t pid = 0;
	if (text)
		text[strcspn(text, "\n")] = '\0';
	if (!text || parse_i64(text, 2, INT32_MAX, &pid) < 0 || !agent_cmdline_has((long)pid, conf))
		pid = 0;
	free(text);
	free(conf);
	free(pidfile);
	return (pid_t)pid;
}

static void dnsmasq_stop(const char *dir)
{
	pid_t pid = dnsmasq_pid(dir);
	if (!pid)
		return;
	kill(pid, SIGTERM);
	struct timespec step = { 0, 20 * 1000 * 1000 };
	for (int k = 0; k < 100 && kill(pid, 0) == 0; k++)
		nanosleep(&step, NULL);
	if (kill(pid, 0) == 0)
		kill(pid, SIGKILL);
}

/* dnsmasq for n when it has ports here; none otherwise. */
static int dnsmasq_converge(struct agent_net *cfg, const struct net_net *n)
{
	char *dir = net_dir(cfg, n->id);
	char *conf_path = xasprintf("%s/dnsmasq.conf", dir), *hosts_path = xasprintf("%s/hosts", dir);
	struct buf conf, hosts;
	buf_init(&conf, 0);
	buf_init(&hosts, 0);
	int r = 0;
	if (!n->nports) {
		dnsmasq_stop(dir);
		goto out;
	}
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		log_warn("cannot create %s: %s", dir, strerror(errno));
		r = -1;
		goto out;
	}
	net_dnsmasq_conf(n, dir, &conf);
	net_dnsmasq_hosts(n, &hosts);
	int hc = write_if_changed(hosts_path, hosts.data ? hosts.data : "");
	int cc = write_if_changed(conf_path, conf.data);
	pid_t pid = dnsmasq_pid(dir);
	if (hc < 0 || cc < 0) {
		r = -1;
	} else if (pid && cc == 0) {
		if (hc == 1)
			kill(pid, SIGHUP); /* rereads the hosts file */
	} else {
		if (pid)
			dnsmasq_stop(dir);
		char *arg = xasprintf("--conf-file=%s", conf_path);
		r = RUN("dnsmasq", arg);
		free(arg);
		if (r == 0)
			log_line(LOGL_INFO, "dnsmasq started", "network", n->id, NULL);
	}
out:
	buf_release(&conf);
	buf_release(&hosts);
	free(hosts_path);
	free(conf_path);
	free(dir);
	return r;
}

/* The directories of networks nubod no longer sends: their dnsmasq ends. */
static void dnsmasq_strays(struct agent_net *cfg, const struct net_state *st)
{
	DIR *d = opendir(cfg->dir);
	for (struct dirent *e; d && (e = readdir(d));) {
		if (!uuid_valid(e->d_name))
			continue;
		bool known = false;
		for (size_t k = 0; k < st->nnets; k++)
			known |= strcmp(st->nets[k].id, e->d_name) == 0;
		if (known)
			continue;
		char *dir = net_dir(cfg, e->d_name);
		dnsmasq_stop(dir);
		agent_remove_dir(dir);
		log_line(LOGL_INFO, "network's files removed", "network", e->d_name, NULL);
		free(dir);
	}
	if (d)
		closedir(d);
}

/* ---- routing to the external network ---- */

/* Our policy routing rules, one preference for all. */
#define RULE_PREF "20100"

static char *u32_text(uint32_t v, bool hex)
{
	return xasprintf(hex ? "0x%x" : "%u", v);
}

/* One rule (selector "iif" or "fwmark" with value, to table) wanted or
 * not: made when missing from have (ip -j rule show), marked seen there. */
static int rule_want(json_t *have, const char *sel, const char *value, const char *table)
{
	size_t k;
	json_t *r;
	json_array_foreach(have, k, r) {
		const char *v = jstr(r, sel);
		if (strcmp(v, value) == 0 && strcmp(jstr(r, "table"), table) == 0 &&
		    json_integer_value(json_object_get(r, "priority")) == 20100) {
			json_object_set_new(r, "nubo_seen", json_true());
			return 0;
		}
	}
	return RUN("ip", "rule", "add", "pref", RULE_PREF, (char *)sel, (char *)value, "lookup",
		   (char *)table);
}

/* A network's routed traffic: table net_table(n) sends the network's
 * subnets to its bridge and the rest to the external gateway; packets from the
 * bridge, and packets marked as the network's (replies and floating IPs,
 * see netstate.c), use it. The host's main table learns nothing. */
static int net_routes(const struct agent_net *cfg, const struct net_state *st,
		      const struct net_net *n, json_t *rules)
{
	char *table = u32_text(net_table(n), false), *mark = u32_text(net_route_mark(n), true);
	int r = 0;
	for (size_t k = 0; k < n->nsubnets; k++) {
		char cidr[24];
		str_printf(cidr, sizeof(cidr), "%s/%u", n->subnets[k].addr, n->subnets[k].prefix);
		r |= RUN("ip", "route", "replace", cidr, "dev", (char *)n->br, "table", table);
	}
	if (st->ext_gw[0])
		r |= RUN("ip", "route", "replace", "default", "via", (char *)st->ext_gw, "dev",
			 (char *)cfg->external_if, "table", table);
	r |= rule_want(rules, "iif", n->br, table);
	r |= rule_want(rules, "fwmark", mark, table);
	free(mark);
	free(table);
	return r ? -1 : 0;
}

/* Whether table id is one of ours (net_table) that no network of st has. */
static bool table_stray(const struct net_state *st, uint32_t id)
{
	if ((id & 0xffff0000u) != 0x6e620000u)
		return false;
	for (size_t k = 0; k < st->nnets; k++)
		if (net_table(&st->nets[k]) == id)
			return false;
	return true;
}

/* Our rules not seen as wanted go, and with them the tables of no
 * network they led to (found through the rules: listing every route of a
 * host that holds a full routing table would cost too much). */
static void routes_strays(const struct net_state *st, json_t *rules)
{
	uint32_t flushed[2 * 64];
	size_t nflushed = 0;
	size_t k;
	json_t *r;
	json_array_foreach(rules, k, r) {
		if (json_integer_value(json_object_get(r, "priority")) != 20100 ||
		    json_is_true(json_object_get(r, "nubo_seen")))
			continue;
		const char *sel = jstr(r, "iif")[0] ? "iif" : "fwmark";
		const char *table = jstr(r, "table");
		RUN("ip", "rule", "del", "pref", RULE_PREF, (char *)sel, (char *)jstr(r, sel), "lookup",
		    (char *)table);
		uint64_t id;
		bool done = false;
		if (parse_u64(table, 1, UINT32_MAX, &id) < 0 || !table_stray(st, (uint32_t)id))
			continue;
		for (size_t i = 0; i < nflushed; i++)
			done |= flushed[i] == id;
		if (done || nflushed == ARRAY_SIZE(flushed))
			continue;
		flushed[nflushed++] = (uint32_t)id;
		RUN("ip", "route", "flush", "table", (char *)table);
	}
}

/* The floating IPs of st's ports as /32 addresses on the external
 * interface (labelled IF:fip), so that the host answers ARP for them;
 * other addresses with that label go. */
static int fips_converge(const struct agent_net *cfg, const struct net_state *st)
{
	char label[32];
	str_printf(label, sizeof(label), "%s:fip", cfg->external_if);
	json_t *j = run_json((char *const[]){ "ip", "-j", "addr", "show", "dev",
					      (char *)cfg->external_if, NULL });
	bool *have = xcalloc(st->nall + 1, sizeof(*have));
	int r = 0;
	size_t k;
	json_t *a;
	json_array_foreach(json_object_get(json_array_get(j, 0), "addr_info"), k, a) {
		if (strcmp(jstr(a, "label"), label) != 0)
			continue;
		bool known = false;
		for (size_t i = 0; i < st->nall; i++)
			if (st->has_ext && strcmp(st->all[i]->fip, jstr(a, "local")) == 0)
				known = have[i] = true;
		char got[24];
		str_printf(got, sizeof(got), "%s/32", jstr(a, "local"));
		if (!known)
			r |= RUN("ip", "addr", "del", got, "dev", (char *)cfg->external_if);
	}
	for (size_t i = 0; st->has_ext && i < st->nall; i++) {
		if (have[i] || !st->all[i]->fip[0])
			continue;
		char want[24];
		str_printf(want, sizeof(want), "%s/32", st->all[i]->fip);
		r |= RUN("ip", "addr", "add", want, "dev", (char *)cfg->external_if, "label", label);
	}
	free(have);
	json_decref(j);
	return r ? -1 : 0;
}

/* Routing between networks and the external network: IPv4 forwarding
 * on, each network's table and rules, the floating IPs; strays go. */
static int external_converge(const struct agent_net *cfg, const struct net_state *st)
{
	json_t *rules = run_json((char *const[]){ "ip", "-j", "rule", "show", NULL });
	int r = 0;
	if (cfg->external_if && st->has_ext) {
		int fd = open("/proc/sys/net/ipv4/ip_forward", O_WRONLY | O_CLOEXEC);
		if (fd < 0 || write(fd, "1", 1) != 1) {
			log_warn("cannot switch IPv4 forwarding on: %s", strerror(errno));
			r = -1;
		}
		if (fd >= 0)
			close(fd);
		for (size_t k = 0; k < st->nnets; k++)
			r |= net_routes(cfg, st, &st->nets[k], rules);
	}
	routes_strays(cfg->external_if && st->has_ext ? st : &(struct net_state){ 0 }, rules);
	if (cfg->external_if)
		r |= fips_converge(cfg, st);
	json_decref(rules);
	return r ? -1 : 0;
}

/* ---- the whole ---- */

static int ruleset_apply(struct agent_net *cfg, const struct net_state *st)
{
	struct buf b;
	buf_init(&b, 0);
	net_ruleset(st, cfg->external_if, &b);
	char *path = xasprintf("%s/nubo.nft", cfg->dir);
	int r = write_if_changed(path, b.data) < 0 ? -1 : RUN("nft", "-f", path);
	free(path);
	buf_release(&b);
	return r;
}

/* Devices of ours nubod does not want: taps first, then VXLAN, then
 * bridges (a bridge goes with what is still plugged in). */
static void links_strays(struct links *ls)
{
	static const char *const order[] = { "nt-", "nx-", "nb-" };
	for (size_t o = 0; o < ARRAY_SIZE(order); o++)
		for (size_t k = 0; k < ls->n; k++) {
			struct link *l = &ls->v[k];
			if (l->wanted || !str_starts_with(l->name, order[o]))
				continue;
			if (RUN("ip", "link", "del", "dev", l->name) == 0)
				log_line(LOGL_INFO, "stray device removed", "dev", l->name, NULL);
		}
}

static int converge_state(struct agent_net *cfg, const struct net_state *st, json_t *items)
{
	struct links ls = { 0 };
	if (links_read(&ls) < 0) {
		log_warn("cannot read this host's network devices");
		return -1;
	}
	int r = 0;
	for (size_t k = 0; k < st->nnets; k++) {
		const struct net_net *n = &st->nets[k];
		if (bridge_converge(n, &ls) < 0) {
			r = -1;
			continue;
		}
		r |= addrs_converge(n);
		r |= vxlan_converge(cfg, n, &ls);
		r |= taps_converge(n, &ls);
	}
	links_strays(&ls);
	free(ls.v);
	r |= ruleset_apply(cfg, st);
	r |= external_converge(cfg, st);
	r |= agent_metadata_converge(cfg, st, items);
	for (size_t k = 0; k < st->nnets; k++)
		r |= dnsmasq_converge(cfg, &st->nets[k]);
	dnsmasq_strays(cfg, st);
	return r ? -1 : 0;
}

int agent_net_converge(struct agent_net *cfg, json_t *desired)
{
	struct arena *ar = arena_new();
	struct net_state st;
	char why[256];
	int r = net_state_parse(desired, ar, &st, why, sizeof(why));
	if (r < 0)
		log_warn("nubod's networks for this host are malformed; left as they are: %s", why);
	else if (st.present) {
		if (mkdir(cfg->dir, 0755) < 0 && errno != EEXIST) {
			log_warn("cannot create %s: %s", cfg->dir, strerror(errno));
			r = -1;
		} else {
			r = converge_state(cfg, &st, json_object_get(desired, "items"));
		}
	}
	arena_free(ar);
	return r;
}
