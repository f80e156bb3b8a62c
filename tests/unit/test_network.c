/* test_network: unit tests of src/network over a real SQLite store in a
 * scratch directory: strict subnet checks, networks of two projects with
 * one CIDR, IPAM filling a pool and reusing a freed address, the default
 * security group and rule checks, floating IPs and their 1:1 association. */
#include <errno.h>
#include <stdbool.h>

#include "unit.h"

#include "lib/util.h"
#include "network/network-priv.h"

struct fixture {
	char dir[UNIT_DIR_SIZE];
	char path[UNIT_DIR_SIZE + 16];
	struct store *st;
	struct store_conn *c;
};

static const char P1[] = "11111111-1111-4111-8111-111111111111";
static const char P2[] = "22222222-2222-4222-8222-222222222222";

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	if (unit_tmpdir_make(f->dir) < 0) {
		free(f);
		return -1;
	}
	snprintf(f->path, sizeof(f->path), "%s/nubo.db", f->dir);
	struct store_opts o = { .url = f->path, .pool_size = 1, .busy_timeout_ms = 5000 };
	struct err err;
	if (store_open(&o, &f->st, &err) < 0) {
		unit_tmpdir_remove(f->dir);
		free(f);
		return -1;
	}
	f->c = store_conn_get(f->st);
	const char *const ids[] = { P1, P2 };
	for (int k = 0; k < 2; k++) {
		char name[8];
		snprintf(name, sizeof(name), "p%d", k);
		store_run(f->c,
			  "INSERT INTO projects (id, name, created_at, updated_at) VALUES (?, ?, 'x', 'x')",
			  "ss", ids[k], name);
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	store_conn_put(f->c);
	store_free(f->st);
	int r = unit_tmpdir_remove(f->dir);
	free(f);
	return r;
}

static void test_ipv4_parsing_is_strict(void **state)
{
	(void)state;
	uint32_t a;
	unsigned p;
	assert_int_equal(ipv4_parse("10.0.0.1", &a), 0);
	assert_int_equal(a, 0x0a000001);
	static const char *const bad[] = { "", "10.0.0", "10.0.0.1.", "010.0.0.1", "256.0.0.1",
					   "1.2.3.4 ", " 1.2.3.4", "1..2.3", "1.2.3.-4", "1.2.3.4/8",
					   "0x1.2.3.4", "1.2.3.1000" };
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++)
		assert_int_equal(ipv4_parse(bad[k], &a), -EINVAL);
	assert_int_equal(ipv4_cidr_parse("192.168.0.0/16", &a, &p), 0);
	assert_int_equal(p, 16);
	assert_int_equal(ipv4_cidr_parse("192.168.0.0/33", &a, &p), -EINVAL);
	assert_int_equal(ipv4_cidr_parse("192.168.0.0/016", &a, &p), -EINVAL);
	assert_int_equal(ipv4_cidr_parse("192.168.0.0/", &a, &p), -EINVAL);
	char out[IPV4_CIDR_SIZE];
	ipv4_cidr_format(0xffffffff, 32, out);
	assert_string_equal(out, "255.255.255.255/32");
}

static void test_subnet_checks(void **state)
{
	(void)state;
	struct subnet s;
	struct err err;
	struct subnet_spec ok = { .cidr = "10.0.0.0/24" };
	assert_int_equal(subnet_check(&ok, &s, &err), 0);
	assert_string_equal(s.gateway, "10.0.0.1");
	assert_string_equal(s.pool_start, "10.0.0.2");
	assert_string_equal(s.pool_end, "10.0.0.254");
	struct subnet_spec nogw = { .cidr = "10.0.0.0/29", .gateway = "" };
	assert_int_equal(subnet_check(&nogw, &s, &err), 0);
	assert_string_equal(s.gateway, "");
	assert_string_equal(s.pool_start, "10.0.0.1");
	assert_string_equal(s.pool_end, "10.0.0.6");
	static const struct {
		struct subnet_spec spec;
		const char *field;
	} bad[] = {
		{ { .cidr = "10.0.0.1/24" }, "cidr" },
		{ { .cidr = "10.0.0.0/30" }, "cidr" },
		{ { .cidr = "10.0.0.0/7" }, "cidr" },
		{ { .cidr = "10.0.0.0" }, "cidr" },
		{ { .cidr = "10.0.0.0/24", .gateway = "10.0.1.1" }, "gateway" },
		{ { .cidr = "10.0.0.0/24", .gateway = "10.0.0.0" }, "gateway" },
		{ { .cidr = "10.0.0.0/24", .gateway = "10.0.0.255" }, "gateway" },
		{ { .cidr = "10.0.0.0/24", .pool_start = "10.0.0.9", .pool_end = "10.0.0.8" },
		  "allocation_pool" },
		{ { .cidr = "10.0.0.0/24", .pool_start = "10.0.0.1" }, "allocation_pool" },
	};
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		err_clear(&err);
		assert_int_equal(subnet_check(&bad[k].spec, &s, &err), -ERR_INVALID);
		assert_string_equal(err.field, bad[k].field);
	}
}

static void test_networks_of_two_projects_may_share_a_cidr(void **state)
{
	struct fixture *f = *state;
	struct network a, b, x;
	struct subnet s;
	struct err err = { 0 };
	struct subnet_spec spec = { .cidr = "10.0.0.0/24" };
	assert_int_equal(network_create(f->c, P1, "net", false, &spec, &a, &s, &err), 0);
	assert_int_equal(network_create(f->c, P2, "net", false, &spec, &b, &s, &err), 0);
	assert_true(a.vni != b.vni && a.vni >= NET_VNI_MIN && a.vni <= NET_VNI_MAX);
	assert_int_equal(network_create(f->c, P1, "net", false, &spec, &x, &s, &err),
			 -ERR_CONFLICT);
	assert_int_equal(network_get(f->c, P2, a.id, &x, &err), -ERR_NOT_FOUND);
	assert_int_equal(network_get(f->c, P2, "net", &x, &err), 0);
	assert_string_equal(x.id, b.id);
	/* a second, overlapping subnet of one network is refused */
	struct subnet_spec over = { .name = "more", .cidr = "10.0.0.128/25" };
	assert_int_equal(subnet_create(f->c, &a, &over, &s, &err), -ERR_CONFLICT);
	struct subnet_spec wide = { .name = "more", .cidr = "10.0.0.0/16" };
	assert_int_equal(subnet_create(f->c, &a, &wide, &s, &err), -ERR_CONFLICT);
	struct subnet_spec next = { .name = "more", .cidr = "10.0.1.0/24" };
	assert_int_equal(subnet_create(f->c, &a, &next, &s, &err), 0);
}

static void test_ipam_fills_a_pool_and_reuses_freed_addresses(void **state)
{
	struct fixture *f = *state;
	struct network n;
	struct subnet s;
	struct err err = { 0 };
	struct subnet_spec spec = { .cidr = "10.9.0.0/29" };
	assert_int_equal(network_create(f->c, P1, "small", false, &spec, &n, &s, &err), 0);
	struct port p[6];
	struct port_spec ps = { .owner = PORT_OWNER_USER };
	for (int k = 0; k < 5; k++) {
		assert_int_equal(port_create(f->c, P1, &n, &ps, &p[k], &err), 0);
		char want[IPV4_SIZE];
		snprintf(want, sizeof(want), "10.9.0.%d", k + 2);
		assert_string_equal(p[k].ip, want);
		assert_true(str_starts_with(p[k].mac, "fa:16:3e:"));
	}
	err_clear(&err);
	assert_int_equal(port_create(f->c, P1, &n, &ps, &p[5], &err), -ERR_CONFLICT);
	assert_string_equal(err.field, "network");
	assert_int_equal(port_delete(f->c, p[1].id, &err), 0);
	assert_int_equal(port_create(f->c, P1, &n, &ps, &p[5], &err), 0);
	assert_string_equal(p[5].ip, "10.9.0.3");
	/* a chosen address: taken, outside, or the gateway */
	struct port q;
	struct port_spec want = { .ip = "10.9.0.4" };
	assert_int_equal(port_create(f->c, P1, &n, &want, &q, &err), -ERR_CONFLICT);
	want.ip = "10.9.1.4";
	assert_int_equal(port_create(f->c, P1, &n, &want, &q, &err), -ERR_INVALID);
	want.ip = "10.9.0.1";
	assert_int_equal(port_create(f->c, P1, &n, &want, &q, &err), -ERR_INVALID);
	/* another project cannot put a port on it */
	assert_int_equal(port_create(f->c, P2, &n, &ps, &q, &err), -ERR_INVALID);
	assert_int_equal(network_delete(f->c, n.id, &err), -ERR_CONFLICT);
}

static void test_ids_differ_in_their_first_eleven_hex_digits(void **state)
{
	struct fixture *f = *state;
	struct network n;
	struct subnet s;
	struct err err = { 0 };
	struct subnet_spec spec = { .cidr = "10.0.0.0/24" };
	assert_int_equal(network_create(f->c, P1, "net", false, &spec, &n, &s, &err), 0);
	char twin[UUID_SIZE], other[UUID_SIZE];
	/* same "xxxxxxxx-xxx" (11 hex digits), another tail: taken */
	memcpy(twin, n.id, UUID_SIZE);
	twin[12] = twin[12] == '0' ? '1' : '0';
	assert_int_equal(net_id_taken(f->c, "networks", twin), 1);
	memcpy(other, n.id, UUID_SIZE);
	other[11] = other[11] == 'a' ? 'b' : 'a';
	assert_int_equal(net_id_taken(f->c, "networks", other), 0);
	assert_int_equal(net_id_taken(f->c, "ports", n.id), 0);
}

static void test_default_group_and_rule_checks(void **state)
{
	struct fixture *f = *state;
	struct secgroup g, d;
	struct sg_rule *rules, r;
	size_t n;
	struct err err = { 0 };
	assert_int_equal(secgroup_create(f->c, P1, "web", NULL, &g, &err), 0);
	assert_int_equal(secgroup_get(f->c, P1, SECGROUP_DEFAULT, &d, &err), 0);
	assert_int_equal(secgroup_rules(f->c, d.id, &rules, &n, &err), 0);
	assert_int_equal(n, 2);
	int in = strcmp(rules[0].direction, "ingress") == 0 ? 0 : 1;
	assert_string_equal(rules[1 - in].direction, "egress");
	assert_string_equal(rules[1 - in].cidr, "");
	assert_string_equal(rules[in].direction, "ingress");
	assert_string_equal(rules[in].remote_group_id, d.id);
	free(rules);
	assert_int_equal(secgroup_delete(f->c, d.id, &err), -ERR_CONFLICT);
	struct sg_rule_spec ssh = { .direction = "ingress", .protocol = "tcp", .port_min = 22,
				    .port_max = -1, .cidr = "192.168.0.0/24" };
	assert_int_equal(secgroup_rule_add(f->c, &g, &ssh, &r, &err), 0);
	assert_int_equal(r.port_max, 22);
	assert_int_equal(secgroup_rule_add(f->c, &g, &ssh, &r, &err), -ERR_CONFLICT);
	static const struct sg_rule_spec bad[] = {
		{ .direction = "in", .port_min = -1, .port_max = -1 },
		{ .direction = "ingress", .protocol = "sctp", .port_min = -1, .port_max = -1 },
		{ .direction = "ingress", .protocol = "icmp", .port_min = 1, .port_max = -1 },
		{ .direction = "ingress", .protocol = "tcp", .port_min = 0, .port_max = 10 },
		{ .direction = "ingress", .protocol = "tcp", .port_min = 20, .port_max = 10 },
		{ .direction = "ingress", .protocol = "udp", .port_min = 1, .port_max = 65536 },
		{ .direction = "ingress", .port_min = -1, .port_max = -1, .cidr = "10.0.0.1/8" },
		{ .direction = "ingress", .port_min = -1, .port_max = -1, .cidr = "10.0.0.0/8",
		  .remote_group_id = P1 },
	};
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++)
		assert_int_equal(secgroup_rule_add(f->c, &g, &bad[k], &r, &err), -ERR_INVALID);
	assert_int_equal(secgroup_delete(f->c, g.id, &err), 0);
}

static void test_floating_ips_are_one_to_one(void **state)
{
	struct fixture *f = *state;
	struct network ext, net, again;
	struct subnet s;
	struct err err = { 0 };
	struct subnet_spec es = { .cidr = "203.0.113.0/29" }, ns = { .cidr = "10.0.0.0/24" };
	assert_int_equal(network_create(f->c, NULL, "public", true, &es, &ext, &s, &err), 0);
	assert_int_equal(network_create(f->c, NULL, "public2", true, &es, &again, &s, &err),
			 -ERR_CONFLICT);
	assert_int_equal(network_create(f->c, P1, "net", false, &ns, &net, &s, &err), 0);
	struct port p, q;
	struct port_spec ps = { 0 };
	assert_int_equal(port_create(f->c, P1, &ext, &ps, &p, &err), -ERR_INVALID);
	assert_int_equal(port_create(f->c, P1, &net, &ps, &p, &err), 0);
	assert_int_equal(port_create(f->c, P1, &net, &ps, &q, &err), 0);
	struct floating_ip a, b;
	assert_int_equal(floating_ip_create(f->c, P1, &net, &a, &err), -ERR_INVALID);
	assert_int_equal(floating_ip_create(f->c, P1, &ext, &a, &err), 0);
	assert_string_equal(a.ip, "203.0.113.2");
	assert_int_equal(floating_ip_create(f->c, P1, &ext, &b, &err), 0);
	assert_int_equal(floating_ip_associate(f->c, a.id, &p, &err), 0);
	assert_int_equal(port_get(f->c, P1, p.id, &p, &err), 0);
	assert_string_equal(p.floating_ip, a.ip);
	assert_int_equal(floating_ip_associate(f->c, b.id, &p, &err), -ERR_CONFLICT);
	assert_int_equal(floating_ip_associate(f->c, a.id, &q, &err), -ERR_CONFLICT);
	assert_int_equal(floating_ip_get(f->c, P1, a.ip, &b, &err), 0);
	assert_string_equal(b.fixed_ip, p.ip);
	/* deleting the port frees the floating IP */
	assert_int_equal(port_delete(f->c, p.id, &err), 0);
	assert_int_equal(floating_ip_get(f->c, P1, a.id, &b, &err), 0);
	assert_string_equal(b.port_id, "");
	assert_int_equal(network_delete(f->c, ext.id, &err), -ERR_CONFLICT);
	assert_int_equal(floating_ip_delete(f->c, a.id, &err), 0);
	assert_int_equal(floating_ip_get(f->c, P1, a.id, &b, &err), -ERR_NOT_FOUND);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv4_parsing_is_strict),
		cmocka_unit_test(test_subnet_checks),
		cmocka_unit_test_setup_teardown(test_networks_of_two_projects_may_share_a_cidr,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_ipam_fills_a_pool_and_reuses_freed_addresses,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_ids_differ_in_their_first_eleven_hex_digits,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_default_group_and_rule_checks, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_floating_ips_are_one_to_one, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
