/* test_agent: unit tests of the agent's pure parts: the networking part of
 * the desired state (netstate.c), parsed and checked, and what it renders
 * (the nftables script, dnsmasq's configuration and static leases). */
#include <stdbool.h>

#include "unit.h"

#include "agent/agent-priv.h"
#include "lib/arena.h"
#include "lib/buf.h"
#include "lib/util.h"

#define NET1 "a1000000-0000-4000-8000-000000000001"
#define PORT1 "b0000001-0000-4000-8000-000000000000"
#define PORT2 "b0000002-0000-4000-8000-000000000000"
#define SG1 "5a000000-0000-4000-8000-000000000001"

static const char *const good =
	"{\"items\": [], \"networks\": [{\"id\": \"" NET1 "\", \"vni\": 4097,"
	" \"cidr\": \"10.0.0.9/24\", \"gateway\": \"10.0.0.1\", \"dns\": [\"10.0.0.2\"],"
	" \"mtu\": 1450, \"external\": false, \"snat\": true, \"peers\": [\"192.168.77.2\"],"
	" \"ports\": [{\"id\": \"" PORT1 "\", \"mac\": \"FA:16:3E:00:00:01\", \"ip\": \"10.0.0.5\","
	" \"instance\": null, \"security_groups\": [\"" SG1 "\"], \"floating_ip\": null},"
	" {\"id\": \"" PORT2 "\", \"mac\": \"fa:16:3e:00:00:02\", \"ip\": \"10.0.0.6\","
	" \"security_groups\": []}]}],"
	" \"security_groups\": [{\"id\": \"" SG1 "\", \"rules\": ["
	" {\"direction\": \"ingress\", \"ethertype\": \"IPv4\", \"protocol\": \"tcp\","
	"  \"port_min\": 22, \"port_max\": 22, \"cidr\": \"10.1.2.3/16\", \"remote_ips\": null},"
	" {\"direction\": \"ingress\", \"protocol\": \"udp\", \"port_min\": 1000,"
	"  \"port_max\": 2000, \"remote_ips\": [\"10.0.0.7\", \"10.0.0.8\"]},"
	" {\"direction\": \"ingress\", \"protocol\": \"any\", \"remote_ips\": []},"
	" {\"direction\": \"ingress\", \"protocol\": \"udp\", \"port_max\": 53},"
	" {\"direction\": \"egress\", \"protocol\": \"icmp\", \"port_min\": 8}]}],"
	" \"external_network\": {\"id\": \"" SG1 "\", \"cidr\": \"203.0.113.0/24\","
	" \"gateway\": \"203.0.113.1\"}}";

/* Parse text; 0 or -1 with the reason in why. */
static int parse(const char *text, struct arena *ar, struct net_state *st, char *why)
{
	json_t *j = json_loads(text, 0, NULL);
	assert_non_null(j);
	int r = net_state_parse(j, ar, st, why, 256);
	json_decref(j);
	return r;
}

static void test_parse_good(void **state)
{
	(void)state;
	struct arena *ar = arena_new();
	struct net_state st;
	char why[256] = "";
	assert_int_equal(parse(good, ar, &st, why), 0);
	assert_true(st.present);
	assert_int_equal(st.nnets, 1);
	const struct net_net *n = &st.nets[0];
	assert_string_equal(n->br, "nb-a1000000000");
	assert_string_equal(n->vx, "nx-a1000000000");
	assert_int_equal(n->nsubnets, 1);
	assert_string_equal(n->subnets[0].addr, "10.0.0.0"); /* host bits cleared */
	assert_string_equal(n->subnets[0].mask, "255.255.255.0");
	assert_int_equal(n->subnets[0].prefix, 24);
	assert_int_equal(n->nports, 2);
	assert_string_equal(n->ports[0].tap, "nt-b0000001000");
	assert_string_equal(n->ports[0].mac, "fa:16:3e:00:00:01"); /* lower case */
	assert_int_equal(n->npeers, 1);
	assert_true(n->snat);
	assert_int_equal(st.ngroups, 1);
	assert_int_equal(st.groups[0].nrules, 5);
	assert_string_equal(st.groups[0].rules[0].cidr, "10.1.0.0/16");
	assert_true(st.has_ext);
	assert_string_equal(st.ext_gw, "203.0.113.1");
	arena_free(ar);
}

static void test_parse_absent_networks_is_not_present(void **state)
{
	(void)state;
	struct arena *ar = arena_new();
	struct net_state st;
	char why[256];
	assert_int_equal(parse("{\"items\": []}", ar, &st, why), 0);
	assert_false(st.present);
	arena_free(ar);
}

/* good with the first from replaced by to. Caller frees. */
static char *replaced(const char *from, const char *to)
{
	const char *at = strstr(good, from);
	assert_non_null(at);
	return xasprintf("%.*s%s%s", (int)(at - good), good, to, at + strlen(from));
}

/* good with one substring replaced must be refused. */
static void refused(const char *from, const char *to)
{
	char *bad = replaced(from, to);
	struct arena *ar = arena_new();
	struct net_state st;
	char why[256] = "";
	assert_int_equal(parse(bad, ar, &st, why), -1);
	assert_true(why[0] != '\0');
	arena_free(ar);
	free(bad);
}

static void test_parse_refuses_bad_values(void **state)
{
	(void)state;
	refused("\"vni\": 4097", "\"vni\": 0");
	refused("\"vni\": 4097", "\"vni\": 16777216");
	refused("10.0.0.9/24", "10.0.0.9/33");
	refused("10.0.0.9/24", "10.0.0.9");
	refused("\"gateway\": \"10.0.0.1\"", "\"gateway\": \"10.9.0.1\"");
	refused("FA:16:3E:00:00:01", "fa:16:3e:00:00:0g");
	refused("FA:16:3E:00:00:01", "01:16:3e:00:00:01"); /* multicast */
	refused("\"ip\": \"10.0.0.5\"", "\"ip\": \"10.0.1.5\""); /* outside the CIDR */
	refused("\"ip\": \"10.0.0.5\"", "\"ip\": \"10.0.0.5; drop\"");
	refused("192.168.77.2", "192.168.77.2 dev x");
	refused("\"protocol\": \"tcp\"", "\"protocol\": \"sctp\"");
	refused("\"port_min\": 22", "\"port_min\": 70000");
	refused("\"port_min\": 1000", "\"port_min\": 3000"); /* above port_max */
	refused("\"direction\": \"egress\"", "\"direction\": \"out\"");
	refused(PORT2, PORT1 "\", \"x\": \""); /* two ports, one tap name */
	refused(PORT2, "b0000001-0000-4000-8000-00000000ffff");
	refused("\"security_groups\": [\"" SG1, "\"security_groups\": [\"x");
	struct arena *ar = arena_new();
	struct net_state st;
	char why[256];
	assert_int_equal(parse("{\"networks\": {}}", ar, &st, why), -1);
	assert_int_equal(parse("{\"networks\": [7]}", ar, &st, why), -1);
	assert_int_equal(parse("{\"networks\": [], \"security_groups\": [[]]}", ar, &st, why), -1);
	arena_free(ar);
}

static void test_ruleset(void **state)
{
	(void)state;
	struct arena *ar = arena_new();
	struct net_state st;
	char why[256];
	assert_int_equal(parse(good, ar, &st, why), 0);
	struct buf b;
	buf_init(&b, 0);
	net_ruleset(&st, NULL, &b);
	static const char *const want[] = {
		"delete table inet nubo\n",
		"iifname \"nb-a1000000000\" ether daddr != 02:6e:62:00:10:01 ct zone set 4098\n",
		"iifname \"nb-a1000000000\" ether daddr 02:6e:62:00:10:01 ct original zone set 4098\n",
		"meta mark & 0x80007fff vmap { 0x1 : jump eg_1, 0x2 : jump eg_2 }\n",
		"ip saddr 10.1.0.0/16 ip protocol tcp tcp dport 22 accept\n",
		"ip saddr { 10.0.0.7, 10.0.0.8 } ip protocol udp udp dport 1000-2000 accept\n",
		"ip daddr 0.0.0.0/0", /* absent: egress rule has no cidr */
		"ip protocol icmp icmp type 8 return\n\t\tdrop\n",
		"\t\tip protocol udp udp dport 53 accept\n", /* one bound: one port */
		"iifname \"nt-b0000001000\" jump sp_1\n",
		"oifname \"nt-b0000002000\" meta mark set meta mark | 0x20000\n",
		"ether saddr != fa:16:3e:00:00:01 drop\n",
		"ether type ip ip saddr 10.0.0.5 accept\n",
	};
	for (size_t k = 0; k < sizeof(want) / sizeof(want[0]); k++)
		if (k == 6)
			assert_null(strstr(b.data, want[k]));
		else if (!strstr(b.data, want[k]))
			fail_msg("ruleset lacks %s:\n%s", want[k], b.data);
	/* the empty remote group matches nothing: no rule at all */
	assert_null(strstr(b.data, "ip saddr { }"));
	/* port 2 has no group: everything in is dropped, everything out allowed */
	const char *in2 = strstr(b.data, "chain in_2 {");
	assert_non_null(in2);
	assert_true(str_starts_with(in2, "chain in_2 {\n\t\tct state established,related accept\n"
					 "\t\tct state invalid drop\n\t\tdrop\n\t}"));
	buf_release(&b);
	arena_free(ar);
}

static void test_ruleset_without_networks_only_deletes(void **state)
{
	(void)state;
	struct arena *ar = arena_new();
	struct net_state st;
	char why[256];
	assert_int_equal(parse("{\"networks\": []}", ar, &st, why), 0);
	struct buf b;
	buf_init(&b, 0);
	net_ruleset(&st, NULL, &b);
	assert_string_equal(b.data, "table inet nubo\ndelete table inet nubo\n"
				    "table bridge nubo\ndelete table bridge nubo\n"
				    "table ip nubo_nat\ndelete table ip nubo_nat\n");
	buf_release(&b);
	arena_free(ar);
}

static void test_subnets(void **state)
{
	(void)state;
	struct arena *ar = arena_new();
	struct net_state st;
	char why[256];
	/* "subnets" (an addition to the contract) wins over cidr/gateway */
	char *text = replaced("\"mtu\": 1450,", "\"mtu\": 1450, \"subnets\": [{\"cidr\": "
				 "\"10.0.0.0/24\", \"gateway\": \"10.0.0.1\"}, {\"cidr\": "
				 "\"10.0.1.0/24\", \"gateway\": null}],");
	char *later = xasprintf("%s", text);
	char *at = strstr(later, "\"10.0.0.6\"");
	memcpy(at, "\"10.0.1.6\"", 10); /* a port of the second subnet */
	assert_int_equal(parse(later, ar, &st, why), 0);
	assert_int_equal(st.nets[0].nsubnets, 2);
	struct buf b;
	buf_init(&b, 0);
	net_dnsmasq_conf(&st.nets[0], "/d", &b);
	assert_non_null(strstr(b.data, "\ndhcp-range=set:s0,10.0.0.0,static,255.255.255.0,86400\n"
					"dhcp-option=tag:s0,option:router,10.0.0.1\n"));
	assert_non_null(strstr(b.data, "\ndhcp-range=set:s1,10.0.1.0,static,255.255.255.0,86400\n"
					"shared-network=nb-a1000000000,10.0.1.0\n"
					"dhcp-option=tag:s1,option:router\n"));
	buf_release(&b);
	memcpy(at, "\"10.0.2.6\"", 10); /* in no subnet */
	assert_int_equal(parse(later, ar, &st, why), -1);
	free(later);
	free(text);
	arena_free(ar);
}

static void test_nat(void **state)
{
	(void)state;
	struct arena *ar = arena_new();
	struct net_state st;
	char why[256];
	refused("\"floating_ip\": null", "\"floating_ip\": \"9.9.9\"");
	char *fixed = replaced("\"floating_ip\": null", "\"floating_ip\": \"9.9.9.9\"");
	assert_int_equal(parse(fixed, ar, &st, why), 0);
	struct buf b;
	buf_init(&b, 0);
	net_ruleset(&st, NULL, &b);
	assert_null(strstr(b.data, "table ip nubo_nat {")); /* no external interface */
	buf_reset(&b);
	net_ruleset(&st, "ext0", &b);
	static const char *const want[] = {
		"iifname \"ext0\" ip daddr 9.9.9.9 ct mark set 0x80001002 dnat to 10.0.0.5\n",
		"oifname \"ext0\" ct mark 0x80001002 ip saddr 10.0.0.5 snat to 9.9.9.9\n",
		"oifname \"ext0\" ct mark 0x80001002 masquerade\n",
		"iifname \"nb-a1000000000\" oifname != \"nb-a1000000000\" oifname != \"ext0\" drop\n",
		"iifname \"nb-a1000000000\" ct state new ct mark set 0x80001002\n",
		"iifname \"ext0\" ct mark & 0x80000000 != 0 meta mark set ct mark\n",
		"oifname \"nb-a1000000000\" ip daddr 10.0.0.5 jump in_1\n",
	};
	for (size_t k = 0; k < sizeof(want) / sizeof(want[0]); k++)
		if (!strstr(b.data, want[k]))
			fail_msg("ruleset lacks %s:\n%s", want[k], b.data);
	buf_release(&b);
	free(fixed);
	arena_free(ar);
}

static void test_dnsmasq_files(void **state)
{
	(void)state;
	struct arena *ar = arena_new();
	struct net_state st;
	char why[256];
	assert_int_equal(parse(good, ar, &st, why), 0);
	struct buf b;
	buf_init(&b, 0);
	net_dnsmasq_hosts(&st.nets[0], &b);
	assert_string_equal(b.data, "fa:16:3e:00:00:01,10.0.0.5\nfa:16:3e:00:00:02,10.0.0.6\n");
	buf_reset(&b);
	net_dnsmasq_conf(&st.nets[0], "/d", &b);
	assert_non_null(strstr(b.data, "\ninterface=nb-a1000000000\nbind-interfaces\n"));
	assert_non_null(strstr(b.data, "\ndhcp-range=set:s0,10.0.0.0,static,255.255.255.0,86400\n"));
	assert_non_null(strstr(b.data, "\nport=0\n"));
	assert_non_null(strstr(b.data, "\ndhcp-hostsfile=/d/hosts\n"));
	assert_non_null(strstr(b.data, "\ndhcp-option=option:dns-server,10.0.0.2\n"));
	assert_non_null(strstr(b.data, "169.254.169.254/32,10.0.0.1,0.0.0.0/0,10.0.0.1\n"));
	assert_null(strstr(b.data, "shared-network"));
	/* without a gateway: served as a shared network, metadata on the link */
	st.nets[0].subnets[0].gw[0] = '\0';
	buf_reset(&b);
	net_dnsmasq_conf(&st.nets[0], "/d", &b);
	assert_non_null(strstr(b.data, "\nshared-network=nb-a1000000000,10.0.0.0\n"));
	assert_non_null(strstr(b.data, "\ndhcp-option=tag:s0,option:router\n"));
	assert_non_null(strstr(b.data, "classless-static-route,169.254.169.254/32,0.0.0.0\n"));
	buf_release(&b);
	arena_free(ar);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_parse_absent_networks_is_not_present),
		cmocka_unit_test(test_parse_refuses_bad_values),
		cmocka_unit_test(test_ruleset),
		cmocka_unit_test(test_ruleset_without_networks_only_deletes),
		cmocka_unit_test(test_subnets),
		cmocka_unit_test(test_nat),
		cmocka_unit_test(test_dnsmasq_files),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
