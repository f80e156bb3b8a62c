/* networks: networks, subnets and IPAM; see network.h.
 *
 * IPAM takes the lowest free address of a subnet's pool: it reads the
 * addresses given out in the pool in order, takes the first gap, and
 * inserts it inside a savepoint. Under SQLite the write transaction already
 * serialises creators; under PostgreSQL two creators may pick the same gap,
 * and the primary key of ip_allocations refuses the second, which rolls its
 * savepoint back and looks again. */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "network-priv.h"

#define IPAM_TRIES 32

#define NETWORK_COLS "id, COALESCE(project_id, ''), name, vni, external, mtu, created_at, updated_at"
#define SUBNET_COLS                                                                             \
	"id, network_id, name, cidr, gateway, dns, pool_start, pool_end, created_at, net_addr,"  \
	" prefix"

static void network_from_row(struct store_stmt *s, void *out)
{
	struct network *n = out;
	memset(n, 0, sizeof(*n));
	str_copy(n->id, sizeof(n->id), store_col_text(s, 0));
	str_copy(n->project_id, sizeof(n->project_id), store_col_text(s, 1));
	str_copy(n->name, sizeof(n->name), store_col_text(s, 2));
	n->vni = store_col_int(s, 3);
	n->external = store_col_int(s, 4) != 0;
	n->mtu = store_col_int(s, 5);
	str_copy(n->created_at, sizeof(n->created_at), store_col_text(s, 6));
	str_copy(n->updated_at, sizeof(n->updated_at), store_col_text(s, 7));
}

static void subnet_from_row(struct store_stmt *s, void *out)
{
	struct subnet *n = out;
	memset(n, 0, sizeof(*n));
	str_copy(n->id, sizeof(n->id), store_col_text(s, 0));
	str_copy(n->network_id, sizeof(n->network_id), store_col_text(s, 1));
	str_copy(n->name, sizeof(n->name), store_col_text(s, 2));
	str_copy(n->cidr, sizeof(n->cidr), store_col_text(s, 3));
	str_copy(n->gateway, sizeof(n->gateway), store_col_text(s, 4));
	const char *dns = store_col_text(s, 5);
	while (dns && *dns && n->ndns < NET_DNS_MAX) {
		size_t len = strcspn(dns, ",");
		if (len < IPV4_SIZE) {
			memcpy(n->dns[n->ndns], dns, len);
			n->dns[n->ndns++][len] = '\0';
		}
		dns += len + (dns[len] == ',');
	}
	ipv4_format((uint32_t)store_col_int(s, 6), n->pool_start);
	ipv4_format((uint32_t)store_col_int(s, 7), n->pool_end);
	str_copy(n->created_at, sizeof(n->created_at), store_col_text(s, 8));
}

int net_name_check(const char *field, const char *name, struct err *err)
{
	return name_check(field, name, NET_NAME_MAX, true, "-._", err);
}

int net_count(struct store_conn *c, const char *sql, const char *id, int64_t *ret,
	      struct err *err)
{
	struct store_stmt *s = NULL;
	int r = store_query(c, &s, sql, "s", id);
	*ret = 0;
	if (r == 0 && (r = store_step(s)) == 1)
		*ret = store_col_int(s, 0);
	store_stmt_free(s);
	return r < 0 ? store_fail(c, r, err) : 0;
}

int net_fetch_strings(struct store_conn *c, struct store_stmt *s, size_t size, void **ret,
		      size_t *ret_n, struct err *err)
{
	size_t n = 0, cap = 8;
	char *items = xcalloc(cap, size);
	int r;
	while ((r = store_step(s)) == 1) {
		if (n == cap) {
			items = xrealloc(items, cap * 2 * size);
			memset(items + cap * size, 0, cap * size);
			cap *= 2;
		}
		str_copy(items + n++ * size, size, store_col_text(s, 0));
	}
	store_stmt_free(s);
	if (r < 0) {
		free(items);
		return store_fail(c, r, err);
	}
	*ret = items;
	*ret_n = n;
	return 0;
}

int net_id_taken(struct store_conn *c, const char *table, const char *id)
{
	char lo[16], hi[16];
	str_printf(lo, sizeof(lo), "%.12s", id); /* "xxxxxxxx-xxx": 11 hex digits */
	str_printf(hi, sizeof(hi), "%s~", lo);
	char *sql = xasprintf("SELECT COUNT(*) FROM %s WHERE id >= ? AND id < ?", table);
	struct store_stmt *s = NULL;
	int r = store_query(c, &s, sql, "ss", lo, hi);
	free(sql);
	int64_t n = 0;
	if (r == 0 && (r = store_step(s)) == 1)
		n = store_col_int(s, 0);
	store_stmt_free(s);
	return r < 0 ? r : n > 0;
}

int net_id_new(struct store_conn *c, const char *table, char out[UUID_SIZE], struct err *err)
{
	for (int k = 0; k < 16; k++) {
		uuid_generate(out);
		int r = net_id_taken(c, table, out);
		if (r < 0)
			return store_fail(c, r, err);
		if (r == 0)
			return 0;
	}
	return err_set(err, ERR_BUSY, "", "no free id found; retry");
}

int net_get(struct store_conn *c, const char *sql, const char *types, const char *a,
	    const char *b, const char *d, store_row_fn from_row, void *out, const char *what,
	    const char *ref, struct err *err)
{
	struct store_stmt *s = NULL;
	int r = store_query(c, &s, sql, types, a, b, d);
	if (r < 0)
		return store_fail(c, r, err);
	r = store_fetch_one(s, from_row, out);
	if (r == 0)
		return err_set(err, ERR_NOT_FOUND, "", "no %s '%.80s'", what, ref);
	return r < 0 ? store_fail(c, r, err) : 0;
}

int net_fetch_all(struct store_conn *c, const char *sql, const char *arg, size_t elem_size,
		  store_row_fn from_row, void **ret, size_t *ret_n, struct err *err)
{
	struct store_stmt *s = NULL;
	int r = store_query(c, &s, sql, "s", arg);
	if (r == 0)
		r = store_fetch(s, elem_size, 0, from_row, ret, ret_n, NULL);
	return r < 0 ? store_fail(c, r, err) : 0;
}

int net_fetch_page(struct store_conn *c, const char *sql, const char *scope, const char *after,
		   size_t limit, size_t elem_size, store_row_fn from_row, void **ret,
		   size_t *ret_n, bool *ret_more, struct err *err)
{
	assert(limit > 0);
	struct store_stmt *s = NULL;
	int r = store_query(c, &s, sql, "ssssi", scope, scope, after, after, (int64_t)limit + 1);
	if (r == 0)
		r = store_fetch(s, elem_size, limit, from_row, ret, ret_n, ret_more);
	return r < 0 ? store_fail(c, r, err) : 0;
}

int net_run_all(struct store_conn *c, const char *const sql[], size_t n, const char *id,
		struct err *err)
{
	static const char *const types[] = { "", "s", "ss", "sss" };
	int r = store_txn_begin(c);
	if (r < 0)
		return store_fail(c, r, err);
	for (size_t k = 0; k < n && r >= 0; k++) {
		size_t q = 0;
		for (const char *p = sql[k]; *p; p++)
			q += *p == '?';
		assert(q < 4);
		r = store_run(c, sql[k], types[q], id, id, id);
	}
	int changed = r;
	if (r >= 0)
		r = store_txn_commit(c);
	if (r < 0) {
		r = store_fail(c, r, err);
		store_txn_rollback(c);
		return r;
	}
	return changed;
}

/* An address field of a subnet spec: a dotted quad that is a host of
 * net/prefix (neither its network nor its broadcast address). */
static int host_addr(const char *field, const char *text, uint32_t net, unsigned prefix,
		     uint32_t *ret, struct err *err)
{
	uint32_t a, bcast = net | ~ipv4_mask(prefix);
	char cidr[IPV4_CIDR_SIZE];
	ipv4_cidr_format(net, prefix, cidr);
	if (ipv4_parse(text, &a) < 0)
		return err_set(err, ERR_INVALID, field, "%s must be an IPv4 address such as 10.0.0.1",
			       field);
	if (!ipv4_in(a, net, prefix) || a == net || a == bcast)
		return err_set(err, ERR_INVALID, field,
			       "%s must be a host address of %s (not its network or broadcast "
			       "address)", field, cidr);
	*ret = a;
	return 0;
}

int subnet_check(const struct subnet_spec *spec, struct subnet *ret, struct err *err)
{
	uint32_t addr, gw = 0, start, end;
	unsigned prefix;
	memset(ret, 0, sizeof(*ret));
	if (!spec->cidr || ipv4_cidr_parse(spec->cidr, &addr, &prefix) < 0)
		return err_set(err, ERR_INVALID, "cidr",
			       "cidr must be an IPv4 block such as 10.0.0.0/24");
	if (prefix < NET_PREFIX_MIN || prefix > NET_PREFIX_MAX)
		return err_set(err, ERR_INVALID, "cidr", "the prefix length must be from /%d to /%d",
			       NET_PREFIX_MIN, NET_PREFIX_MAX);
	if (addr & ~ipv4_mask(prefix)) {
		char canon[IPV4_CIDR_SIZE];
		ipv4_cidr_format(addr & ipv4_mask(prefix), prefix, canon);
		return err_set(err, ERR_INVALID, "cidr",
			       "cidr has host bits set: did you mean %s?", canon);
	}
	ipv4_cidr_format(addr, prefix, ret->cidr);
	uint32_t first = addr + 1, last = (addr | ~ipv4_mask(prefix)) - 1;
	bool has_gw = !spec->gateway || spec->gateway[0];
	if (spec->gateway && spec->gateway[0] &&
	    host_addr("gateway", spec->gateway, addr, prefix, &gw, err) < 0)
		return -ERR_INVALID;
	if (has_gw && !spec->gateway)
		gw = first;
	if (has_gw)
		ipv4_format(gw, ret->gateway);
	if (spec->ndns > NET_DNS_MAX)
		return err_set(err, ERR_INVALID, "dns", "at most %d DNS servers", NET_DNS_MAX);
	for (size_t k = 0; k < spec->ndns; k++) {
		uint32_t d;
		if (ipv4_parse(spec->dns[k], &d) < 0)
			return err_set(err, ERR_INVALID, "dns",
				       "each DNS server must be an IPv4 address such as 10.0.0.1");
		ipv4_format(d, ret->dns[ret->ndns++]);
	}
	start = has_gw && gw == first ? first + 1 : first;
	end = has_gw && gw == last ? last - 1 : last;
	if (spec->pool_start && host_addr("allocation_pool", spec->pool_start, addr, prefix,
					  &start, err) < 0)
		return -ERR_INVALID;
	if (spec->pool_end &&
	    host_addr("allocation_pool", spec->pool_end, addr, prefix, &end, err) < 0)
		return -ERR_INVALID;
	if (start > end)
		return err_set(err, ERR_INVALID, "allocation_pool",
			       "the allocation pool's start must not be after its end");
	if (has_gw && gw >= start && gw <= end && (spec->pool_start || spec->pool_end))
		return err_set(err, ERR_INVALID, "allocation_pool",
			       "the allocation pool must not hold the gateway %s", ret->gateway);
	ipv4_format(start, ret->pool_start);
	ipv4_format(end, ret->pool_end);
	if (spec->name && net_name_check("name", spec->name, err) < 0)
		return -ERR_INVALID;
	str_copy(ret->name, sizeof(ret->name), spec->name ? spec->name : "");
	return 0;
}

/* Insert a checked subnet s of network_id (s->name set). */
static int subnet_insert(struct store_conn *c, const char *network_id, struct subnet *s,
			 struct err *err)
{
	uint32_t addr, start, end;
	unsigned prefix;
	ipv4_cidr_parse(s->cidr, &addr, &prefix);
	ipv4_parse(s->pool_start, &start);
	ipv4_parse(s->pool_end, &end);
	/* no overlap with the network's other subnets: one contains the other's
	 * network address */
	struct store_stmt *q = NULL;
	int r = store_query(c, &q,
			    "SELECT cidr FROM subnets WHERE network_id = ? AND"
			    " ((? >= net_addr AND ? < net_addr + (1 << (32 - prefix))) OR"
			    " (net_addr >= ? AND net_addr < ?))",
			    "siiii", network_id, (int64_t)addr, (int64_t)addr, (int64_t)addr,
			    (int64_t)addr + ((int64_t)1 << (32 - prefix)));
	char clash[IPV4_CIDR_SIZE] = "";
	if (r == 0 && (r = store_step(q)) == 1)
		str_copy(clash, sizeof(clash), store_col_text(q, 0));
	store_stmt_free(q);
	if (r < 0)
		return store_fail(c, r, err);
	if (clash[0])
		return err_set(err, ERR_CONFLICT, "cidr", "%s overlaps the network's subnet %s",
			       s->cidr, clash);
	char dns[NET_DNS_MAX * IPV4_SIZE] = "";
	for (size_t k = 0; k < s->ndns; k++)
		str_printf(dns + strlen(dns), sizeof(dns) - strlen(dns), "%s%s", k ? "," : "",
			   s->dns[k]);
	uuid_generate(s->id);
	str_copy(s->network_id, sizeof(s->network_id), network_id);
	time_rfc3339_now(s->created_at, sizeof(s->created_at));
	r = store_run(c,
		      "INSERT INTO subnets (id, network_id, name, cidr, net_addr, prefix, gateway,"
		      " dns, pool_start, pool_end, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		      "ssssiissiis", s->id, network_id, s->name, s->cidr, (int64_t)addr,
		      (int64_t)prefix, s->gateway, dns, (int64_t)start, (int64_t)end, s->created_at);
	if (r == -EEXIST)
		return err_set(err, ERR_CONFLICT, "name",
			       "the network has a subnet named '%s' already", s->name);
	return r < 0 ? store_fail(c, r, err) : 0;
}

/* A VNI no network has (random, so that a deleted network's VNI is not
 * at once handed to the next one). */
static int free_vni(struct store_conn *c, int64_t *ret, struct err *err)
{
	for (int k = 0; k < 64; k++) {
		uint32_t raw;
		crypto_random(&raw, sizeof(raw));
		int64_t vni = NET_VNI_MIN + raw % (NET_VNI_MAX - NET_VNI_MIN + 1);
		struct store_stmt *s = NULL;
		int r = store_query(c, &s, "SELECT COUNT(*) FROM networks WHERE vni = ?", "i", vni);
		int64_t used = 1;
		if (r == 0 && (r = store_step(s)) == 1)
			used = store_col_int(s, 0);
		store_stmt_free(s);
		if (r < 0)
			return store_fail(c, r, err);
		if (!used) {
			*ret = vni;
			return 0;
		}
	}
	return err_set(err, ERR_CONFLICT, "", "no free VXLAN network identifier is left");
}

int network_create(struct store_conn *c, const char *project_id, const char *name,
		   bool external, const struct subnet_spec *sub, struct network *ret,
		   struct subnet *ret_subnet, struct err *err)
{
	struct subnet s;
	struct network n = { .external = external, .mtu = NET_MTU };
	int r = net_name_check("name", name, err);
	if (r < 0 || (r = subnet_check(sub, &s, err)) < 0)
		return r;
	if (!s.name[0])
		str_copy(s.name, sizeof(s.name), name);
	if (external) {
		struct network other;
		r = network_external(c, &other, err);
		if (r < 0)
			return r;
		if (r == 1)
			return err_set(err, ERR_CONFLICT, "external",
				       "there is an external network already ('%s')", other.name);
	}
	if ((r = net_id_new(c, "networks", n.id, err)) < 0)
		return r;
	str_copy(n.project_id, sizeof(n.project_id), external ? "" : project_id);
	str_copy(n.name, sizeof(n.name), name);
	time_rfc3339_now(n.created_at, sizeof(n.created_at));
	memcpy(n.updated_at, n.created_at, sizeof(n.created_at));
	if ((r = free_vni(c, &n.vni, err)) < 0)
		return r;
	if ((r = store_txn_begin(c)) < 0)
		return store_fail(c, r, err);
	r = store_run(c,
		      "INSERT INTO networks (id, project_id, name, vni, external, mtu, created_at,"
		      " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
		      "sssibiss", n.id, external ? NULL : project_id, n.name, n.vni, external,
		      n.mtu, n.created_at, n.updated_at);
	if (r == -EEXIST)
		r = err_set(err, ERR_CONFLICT, "name", "a network named '%s' exists already", name);
	else if (r < 0)
		r = store_fail(c, r, err);
	else
		r = subnet_insert(c, n.id, &s, err);
	if (r < 0) {
		store_txn_rollback(c);
		return r;
	}
	if ((r = store_txn_commit(c)) < 0)
		return store_fail(c, r, err);
	*ret = n;
	if (ret_subnet)
		*ret_subnet = s;
	return 0;
}

int network_get(struct store_conn *c, const char *project_id, const char *id_or_name,
		struct network *ret, struct err *err)
{
	if (uuid_valid(id_or_name))
		return net_get(c,
			       "SELECT " NETWORK_COLS " FROM networks WHERE id = lower(?)"
			       " AND (? IS NULL OR project_id = ? OR external = 1)",
			       "sss", id_or_name, project_id, project_id, network_from_row, ret,
			       "network", id_or_name, err);
	return net_get(c,
		       "SELECT " NETWORK_COLS " FROM networks WHERE name = ?"
		       " AND (project_id = ? OR external = 1) ORDER BY external LIMIT 1",
		       "ss", id_or_name, project_id ? project_id : "", NULL, network_from_row, ret,
		       "network", id_or_name, err);
}

int network_list(struct store_conn *c, const char *project_id, const char *after, size_t limit,
		 struct network **ret, size_t *ret_n, bool *ret_more, struct err *err)
{
	return net_fetch_page(c,
			      "SELECT " NETWORK_COLS " FROM networks"
			      " WHERE (? IS NULL OR project_id = ? OR external = 1)"
			      " AND (? IS NULL OR name || ' ' || id > ?) ORDER BY name, id LIMIT ?",
			      project_id, after, limit, sizeof(struct network), network_from_row,
			      (void **)ret, ret_n, ret_more, err);
}

int network_delete(struct store_conn *c, const char *id, struct err *err)
{
	int64_t ports, fips;
	int r = net_count(c, "SELECT COUNT(*) FROM ports WHERE network_id = ?", id, &ports, err);
	if (r < 0 ||
	    (r = net_count(c, "SELECT COUNT(*) FROM floating_ips WHERE network_id = ?", id, &fips,
		       err)) < 0)
		return r;
	if (ports)
		return err_set(err, ERR_CONFLICT, "",
			       "the network has %lld port(s); delete them (or their instances) "
			       "first", (long long)ports);
	if (fips)
		return err_set(err, ERR_CONFLICT, "",
			       "%lld floating IP(s) come from the network; release them first",
			       (long long)fips);
	static const char *const sql[] = { "DELETE FROM subnets WHERE network_id = ?",
					    "DELETE FROM networks WHERE id = ?" };
	r = net_run_all(c, sql, 2, id, err);
	if (r == 0)
		return err_set(err, ERR_NOT_FOUND, "", "no network '%.80s'", id);
	return r < 0 ? r : 0;
}

/* The first network sql (one 's' argument, LIMIT 2) yields, and how many
 * (0, 1 or 2 for "several"). */
static int first_network(struct store_conn *c, const char *sql, const char *arg,
			 struct network *ret, size_t *ret_n, struct err *err)
{
	struct store_stmt *s = NULL;
	int r = store_query(c, &s, sql, "s", arg);
	if (r < 0)
		return store_fail(c, r, err);
	void *items;
	r = store_fetch(s, sizeof(struct network), 0, network_from_row, &items, ret_n, NULL);
	if (r < 0)
		return store_fail(c, r, err);
	if (*ret_n)
		*ret = *(struct network *)items;
	free(items);
	return 0;
}

int network_default(struct store_conn *c, const char *project_id, struct network *ret,
		    struct err *err)
{
	size_t n;
	int r = first_network(c,
			      "SELECT " NETWORK_COLS " FROM networks WHERE project_id = ?"
			      " ORDER BY name <> 'default', name LIMIT 2",
			      project_id, ret, &n, err);
	if (r < 0)
		return r;
	if (n == 2 && strcmp(ret->name, "default") != 0)
		return err_set(err, ERR_INVALID, "network",
			       "the project has several networks and none is named 'default': name "
			       "one with \"network\"");
	return n > 0 ? 1 : 0;
}

int network_external(struct store_conn *c, struct network *ret, struct err *err)
{
	size_t n;
	int r = first_network(c,
			      "SELECT " NETWORK_COLS " FROM networks WHERE external = 1"
			      " AND id <> ? ORDER BY created_at LIMIT 2",
			      "", ret, &n, err);
	return r < 0 ? r : n > 0 ? 1 : 0;
}

int subnet_create(struct store_conn *c, const struct network *n, const struct subnet_spec *spec,
		  struct subnet *ret, struct err *err)
{
	struct subnet s;
	int r = subnet_check(spec, &s, err);
	if (r < 0)
		return r;
	if (!s.name[0])
		return err_set(err, ERR_INVALID, "name", "name is required");
	int64_t have;
	if ((r = net_count(c, "SELECT COUNT(*) FROM subnets WHERE network_id = ?", n->id, &have,
		       err)) < 0)
		return r;
	if (have >= NET_SUBNETS_PER_NETWORK)
		return err_set(err, ERR_CONFLICT, "", "a network has at most %d subnets",
			       NET_SUBNETS_PER_NETWORK);
	if ((r = subnet_insert(c, n->id, &s, err)) < 0)
		return r;
	*ret = s;
	return 0;
}

int subnet_list(struct store_conn *c, const char *network_id, struct subnet **ret,
		size_t *ret_n, struct err *err)
{
	return net_fetch_all(c,
			     "SELECT " SUBNET_COLS " FROM subnets WHERE network_id = ?"
			     " ORDER BY created_at, id",
			     network_id, sizeof(struct subnet), subnet_from_row, (void **)ret, ret_n,
			     err);
}

int subnet_get(struct store_conn *c, const char *network_id, const char *id_or_name,
	       struct subnet *ret, struct err *err)
{
	return net_get(c,
		       "SELECT " SUBNET_COLS " FROM subnets WHERE network_id = ?"
		       " AND (id = lower(?) OR name = ?)",
		       "sss", network_id, id_or_name, id_or_name, subnet_from_row, ret,
		       "subnet", id_or_name, err);
}

int subnet_delete(struct store_conn *c, const char *id, struct err *err)
{
	int64_t used, siblings;
	int r = net_count(c, "SELECT COUNT(*) FROM ip_allocations WHERE subnet_id = ?", id, &used,
			  err);
	if (r < 0 ||
	    (r = net_count(c,
			   "SELECT COUNT(*) FROM subnets WHERE network_id ="
			   " (SELECT network_id FROM subnets WHERE id = ?)",
			   id, &siblings, err)) < 0)
		return r;
	if (used)
		return err_set(err, ERR_CONFLICT, "", "%lld address(es) of the subnet are in use",
			       (long long)used);
	if (siblings <= 1)
		return err_set(err, ERR_CONFLICT, "",
			       "a network keeps at least one subnet; delete the network instead");
	r = store_run(c, "DELETE FROM subnets WHERE id = ?", "s", id);
	return r < 0 ? store_fail(c, r, err) : 0;
}

/* ---- IPAM ---- */

/* Insert address a of subnet sub in a savepoint. 0, -EEXIST (taken), or
 * another store error. */
static int claim(struct store_conn *c, const char *sub, uint32_t a, const char *port_id,
		 const char *fip_id)
{
	char ip[IPV4_SIZE];
	ipv4_format(a, ip);
	int r = store_txn_begin(c);
	if (r < 0)
		return r;
	r = store_run(c,
		      "INSERT INTO ip_allocations (subnet_id, ip_num, ip, port_id, floating_ip_id)"
		      " VALUES (?, ?, ?, ?, ?)",
		      "sisss", sub, (int64_t)a, ip, port_id, fip_id);
	if (r < 0) {
		store_txn_rollback(c);
		return r;
	}
	return store_txn_commit(c);
}

/* The lowest address of [start, end] that is not the gateway gw and not
 * given out in subnet sub: 1 and *ret, or 0 when the pool is full. */
static int lowest_free(struct store_conn *c, const char *sub, uint32_t start, uint32_t end,
		       uint32_t gw, uint32_t *ret)
{
	struct store_stmt *s = NULL;
	int r = store_query(c, &s,
			    "SELECT ip_num FROM ip_allocations WHERE subnet_id = ?"
			    " AND ip_num >= ? AND ip_num <= ? ORDER BY ip_num",
			    "sii", sub, (int64_t)start, (int64_t)end);
	if (r < 0)
		return r;
	uint64_t cand = start == gw ? (uint64_t)start + 1 : start;
	while ((r = store_step(s)) == 1) {
		uint64_t v = (uint64_t)store_col_int(s, 0);
		if (v < cand)
			continue;
		if (v > cand)
			break;
		cand++;
		if (cand == gw)
			cand++;
	}
	store_stmt_free(s);
	if (r < 0)
		return r;
	if (cand > end)
		return 0;
	*ret = (uint32_t)cand;
	return 1;
}

/* Claim the address want (text) of one of subs. */
static int claim_wanted(struct store_conn *c, const struct subnet *subs, size_t n,
			const char *want, const char *port_id, const char *fip_id,
			char ret_ip[IPV4_SIZE], char ret_subnet[UUID_SIZE], struct err *err)
{
	uint32_t a;
	if (ipv4_parse(want, &a) < 0)
		return err_set(err, ERR_INVALID, "ip", "ip must be an IPv4 address such as 10.0.0.5");
	for (size_t k = 0; k < n; k++) {
		uint32_t net, gw = 0;
		unsigned prefix;
		ipv4_cidr_parse(subs[k].cidr, &net, &prefix);
		if (!ipv4_in(a, net, prefix))
			continue;
		if (subs[k].gateway[0])
			ipv4_parse(subs[k].gateway, &gw);
		if (a == net || a == (net | ~ipv4_mask(prefix)) || a == gw)
			return err_set(err, ERR_INVALID, "ip",
				       "%s is the network, broadcast or gateway address of %s", want,
				       subs[k].cidr);
		int r = claim(c, subs[k].id, a, port_id, fip_id);
		if (r == -EEXIST)
			return err_set(err, ERR_CONFLICT, "ip", "%s is in use", want);
		if (r < 0)
			return store_fail(c, r, err);
		ipv4_format(a, ret_ip);
		str_copy(ret_subnet, UUID_SIZE, subs[k].id);
		return 0;
	}
	return err_set(err, ERR_INVALID, "ip", "%s is in none of the network's subnets", want);
}

int ipam_allocate(struct store_conn *c, const char *network_id, const char *want,
		  const char *port_id, const char *floating_ip_id, char ret_ip[IPV4_SIZE],
		  char ret_subnet[UUID_SIZE], struct err *err)
{
	struct subnet *subs;
	size_t n;
	int r = subnet_list(c, network_id, &subs, &n, err);
	if (r < 0)
		return r;
	if (want) {
		r = claim_wanted(c, subs, n, want, port_id, floating_ip_id, ret_ip, ret_subnet, err);
		free(subs);
		return r;
	}
	for (size_t k = 0; k < n; k++) {
		uint32_t start = 0, end = 0, gw = 0, a = 0;
		ipv4_parse(subs[k].pool_start, &start);
		ipv4_parse(subs[k].pool_end, &end);
		if (subs[k].gateway[0])
			ipv4_parse(subs[k].gateway, &gw);
		for (int tries = 0; tries < IPAM_TRIES; tries++) {
			r = lowest_free(c, subs[k].id, start, end, gw, &a);
			if (r == 0)
				break; /* full: the next subnet */
			if (r > 0)
				r = claim(c, subs[k].id, a, port_id, floating_ip_id);
			if (r == -EEXIST)
				continue; /* a concurrent creator took it: look again */
			if (r < 0) {
				free(subs);
				return store_fail(c, r, err);
			}
			ipv4_format(a, ret_ip);
			str_copy(ret_subnet, UUID_SIZE, subs[k].id);
			free(subs);
			return 0;
		}
	}
	free(subs);
	return err_set(err, ERR_CONFLICT, "network", "the network has no free address left");
}

/* ---- who a change concerns ---- */

/* Ports (as "p") bound to a host (as "i": their instance). */
#define BOUND " FROM ports p JOIN instances i ON i.id = p.instance_id WHERE i.host_id IS NOT NULL"

/* The ports whose groups name, as remote, one of the groups of ports that
 * `ports` (a subquery of port ids) selects. */
#define REMOTE_OF(ports)                                                                        \
	" p.id IN (SELECT x.port_id FROM port_security_groups x JOIN security_group_rules r"  \
	" ON r.group_id = x.group_id WHERE r.remote_group_id IN (SELECT y.group_id FROM"       \
	" port_security_groups y WHERE y.port_id IN (" ports ")))"

int net_hosts(struct store_conn *c, enum net_scope scope, const char *id,
	      char (**ret)[UUID_SIZE], size_t *ret_n, struct err *err)
{
	/* each query takes id once per '?' */
	static const struct {
		const char *sql, *types;
	} q[] = {
		[NET_SCOPE_PORT] = { "SELECT DISTINCT i.host_id" BOUND " AND (p.network_id IN"
				     " (SELECT network_id FROM ports WHERE id = ?) OR"
				     REMOTE_OF("?") ")", "ss" },
		[NET_SCOPE_INSTANCE] = { "SELECT DISTINCT i.host_id" BOUND " AND (p.network_id IN"
					 " (SELECT network_id FROM ports WHERE instance_id = ?) OR"
					 REMOTE_OF("SELECT id FROM ports WHERE instance_id = ?")
					 ")", "ss" },
		[NET_SCOPE_GROUP] = { "SELECT DISTINCT i.host_id" BOUND " AND (p.id IN (SELECT"
				      " port_id FROM port_security_groups WHERE group_id = ?) OR"
				      REMOTE_OF("SELECT port_id FROM port_security_groups WHERE"
						" group_id = ?") ")", "ss" },
		[NET_SCOPE_NETWORK] = { "SELECT DISTINCT i.host_id" BOUND " AND p.network_id = ?",
					"s" },
		[NET_SCOPE_ALL] = { "SELECT DISTINCT i.host_id" BOUND, "" },
	};
	struct store_stmt *s = NULL;
	int r = store_query(c, &s, q[scope].sql, q[scope].types, id, id);
	if (r < 0)
		return store_fail(c, r, err);
	void *items;
	r = net_fetch_strings(c, s, UUID_SIZE, &items, ret_n, err);
	if (r == 0)
		*ret = items;
	return r;
}

int network_list_host(struct store_conn *c, const char *host_id, struct network **ret,
		      size_t *ret_n, struct err *err)
{
	return net_fetch_all(c,
			     "SELECT " NETWORK_COLS " FROM networks WHERE id IN (SELECT p.network_id"
			     " FROM ports p JOIN instances i ON i.id = p.instance_id"
			     " WHERE i.host_id = ?) ORDER BY name, id",
			     host_id, sizeof(struct network), network_from_row, (void **)ret, ret_n,
			     err);
}

int network_peers(struct store_conn *c, const char *network_id, const char *host_id,
		  char (**ret)[IPV4_SIZE], size_t *ret_n, struct err *err)
{
	struct store_stmt *s = NULL;
	int r = store_query(c, &s,
			    "SELECT DISTINCT h.underlay_ip FROM ports p JOIN instances i"
			    " ON i.id = p.instance_id JOIN hosts h ON h.id = i.host_id"
			    " WHERE p.network_id = ? AND h.id <> ? AND h.underlay_ip <> ''"
			    " ORDER BY h.underlay_ip",
			    "ss", network_id, host_id);
	if (r < 0)
		return store_fail(c, r, err);
	void *items;
	r = net_fetch_strings(c, s, IPV4_SIZE, &items, ret_n, err);
	if (r == 0)
		*ret = items;
	return r;
}
