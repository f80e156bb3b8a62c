/* ports: interfaces on networks, and floating IPs; see network.h. A port's
 * address, its instance's host and its floating IP are read with it by
 * joins, so none of them is ever copied (and never stale). */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "network-priv.h"

#define MAC_TRIES 16

#define PORT_COLS                                                                               \
	"p.id, p.project_id, p.network_id, p.name, p.mac, COALESCE(a.ip, ''),"                  \
	" COALESCE(a.subnet_id, ''), COALESCE(p.instance_id, ''), p.device_index, p.owner,"     \
	" COALESCE(i.host_id, ''), COALESCE(f.ip, ''), p.created_at, p.updated_at"
#define PORT_FROM                                                                               \
	" FROM ports p LEFT JOIN ip_allocations a ON a.port_id = p.id"                          \
	" LEFT JOIN instances i ON i.id = p.instance_id"                                        \
	" LEFT JOIN floating_ips f ON f.port_id = p.id"

static void port_from_row(struct store_stmt *s, void *out)
{
	struct port *p = out;
	memset(p, 0, sizeof(*p));
	str_copy(p->id, sizeof(p->id), store_col_text(s, 0));
	str_copy(p->project_id, sizeof(p->project_id), store_col_text(s, 1));
	str_copy(p->network_id, sizeof(p->network_id), store_col_text(s, 2));
	str_copy(p->name, sizeof(p->name), store_col_text(s, 3));
	str_copy(p->mac, sizeof(p->mac), store_col_text(s, 4));
	str_copy(p->ip, sizeof(p->ip), store_col_text(s, 5));
	str_copy(p->subnet_id, sizeof(p->subnet_id), store_col_text(s, 6));
	str_copy(p->instance_id, sizeof(p->instance_id), store_col_text(s, 7));
	p->device_index = store_col_int(s, 8);
	str_copy(p->owner, sizeof(p->owner), store_col_text(s, 9));
	str_copy(p->host_id, sizeof(p->host_id), store_col_text(s, 10));
	str_copy(p->floating_ip, sizeof(p->floating_ip), store_col_text(s, 11));
	str_copy(p->created_at, sizeof(p->created_at), store_col_text(s, 12));
	str_copy(p->updated_at, sizeof(p->updated_at), store_col_text(s, 13));
}

/* Insert port p (its MAC chosen here, fa:16:3e and three random bytes, as
 * OpenStack's), trying again with another MAC when one is taken. */
static int insert_port(struct store_conn *c, struct port *p, struct err *err)
{
	for (int k = 0; k < MAC_TRIES; k++) {
		unsigned char b[3];
		crypto_random(b, sizeof(b));
		str_printf(p->mac, sizeof(p->mac), "fa:16:3e:%02x:%02x:%02x", b[0], b[1], b[2]);
		int r = store_txn_begin(c);
		if (r < 0)
			return store_fail(c, r, err);
		r = store_run(c,
			      "INSERT INTO ports (id, project_id, network_id, name, mac,"
			      " device_index, owner, created_at, updated_at)"
			      " VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?)",
			      "ssssssss", p->id, p->project_id, p->network_id, p->name, p->mac,
			      p->owner, p->created_at, p->updated_at);
		if (r == -EEXIST) {
			store_txn_rollback(c);
			continue; /* that MAC is taken: another */
		}
		if (r < 0) {
			r = store_fail(c, r, err);
			store_txn_rollback(c);
			return r;
		}
		r = store_txn_commit(c);
		return r < 0 ? store_fail(c, r, err) : 0;
	}
	return err_set(err, ERR_BUSY, "", "no free MAC address found; retry");
}

/* Put port_id in groups (none: the project's default group). */
static int join_groups(struct store_conn *c, const char *project_id, const char *port_id,
		       const char *const *groups, size_t n, struct err *err)
{
	struct secgroup def;
	const char *one[1];
	if (n > NET_GROUPS_PER_PORT)
		return err_set(err, ERR_INVALID, "security_groups",
			       "a port is in at most %d security groups", NET_GROUPS_PER_PORT);
	if (n == 0) {
		int r = secgroup_default(c, project_id, &def, err);
		if (r < 0)
			return r;
		one[0] = def.id;
		groups = one;
		n = 1;
	}
	for (size_t k = 0; k < n; k++) {
		int r = store_run(c,
				  "INSERT INTO port_security_groups (port_id, group_id) VALUES (?, ?)"
				  " ON CONFLICT (port_id, group_id) DO NOTHING",
				  "ss", port_id, groups[k]);
		if (r < 0)
			return store_fail(c, r, err);
	}
	return 0;
}

/* Check that a given port name is free in the project. */
static int port_name_free(struct store_conn *c, const char *project_id, const char *name,
			  struct err *err)
{
	struct port p;
	int r = port_get(c, project_id, name, &p, err);
	if (r == -ERR_NOT_FOUND) {
		err_clear(err);
		return 0;
	}
	return r < 0 ? r : err_set(err, ERR_CONFLICT, "name", "a port named '%s' exists already",
				  name);
}

int port_create(struct store_conn *c, const char *project_id, const struct network *n,
		const struct port_spec *spec, struct port *ret, struct err *err)
{
	struct port p = { 0 };
	int r;
	if (spec->name && spec->name[0] &&
	    ((r = net_name_check("name", spec->name, err)) < 0 ||
	     (r = port_name_free(c, project_id, spec->name, err)) < 0))
		return r;
	if (n->external)
		return err_set(err, ERR_INVALID, "network",
			       "'%s' is the external network: it gives floating IPs, not ports",
			       n->name);
	if (strcmp(n->project_id, project_id) != 0)
		return err_set(err, ERR_INVALID, "network", "no network '%s' in the project", n->name);
	int64_t have;
	if ((r = net_count(c, "SELECT COUNT(*) FROM ports WHERE project_id = ?", project_id, &have,
			   err)) < 0)
		return r;
	if (have >= NET_PORTS_PER_PROJECT)
		return err_set(err, ERR_QUOTA, "", "a project has at most %d ports",
			       NET_PORTS_PER_PROJECT);
	if ((r = net_id_new(c, "ports", p.id, err)) < 0)
		return r;
	str_copy(p.project_id, sizeof(p.project_id), project_id);
	str_copy(p.network_id, sizeof(p.network_id), n->id);
	str_copy(p.name, sizeof(p.name), spec->name ? spec->name : "");
	str_copy(p.owner, sizeof(p.owner), spec->owner ? spec->owner : PORT_OWNER_USER);
	time_rfc3339_now(p.created_at, sizeof(p.created_at));
	memcpy(p.updated_at, p.created_at, sizeof(p.created_at));
	if ((r = store_txn_begin(c)) < 0)
		return store_fail(c, r, err);
	if ((r = insert_port(c, &p, err)) < 0 ||
	    (r = ipam_allocate(c, n->id, spec->ip, p.id, NULL, p.ip, p.subnet_id, err)) < 0 ||
	    (r = join_groups(c, project_id, p.id, spec->groups, spec->ngroups, err)) < 0) {
		store_txn_rollback(c);
		return r;
	}
	if ((r = store_txn_commit(c)) < 0)
		return store_fail(c, r, err);
	*ret = p;
	return 0;
}

int port_get(struct store_conn *c, const char *project_id, const char *id_or_name,
	     struct port *ret, struct err *err)
{
	if (uuid_valid(id_or_name))
		return net_get(c,
			       "SELECT " PORT_COLS PORT_FROM " WHERE p.id = lower(?)"
			       " AND (? IS NULL OR p.project_id = ?)",
			       "sss", id_or_name, project_id, project_id, port_from_row, ret, "port",
			       id_or_name, err);
	return net_get(c,
		       "SELECT " PORT_COLS PORT_FROM " WHERE p.name = ? AND p.name <> ''"
		       " AND p.project_id = ?",
		       "ss", id_or_name, project_id ? project_id : "", NULL, port_from_row, ret,
		       "port", id_or_name, err);
}

int port_list(struct store_conn *c, const char *project_id, const char *network_id,
	      const char *instance_id, const char *after, size_t limit, struct port **ret,
	      size_t *ret_n, bool *ret_more, struct err *err)
{
	assert(limit > 0);
	struct store_stmt *s = NULL;
	int r = store_query(c, &s,
			    "SELECT " PORT_COLS PORT_FROM " WHERE (? IS NULL OR p.project_id = ?)"
			    " AND (? IS NULL OR p.network_id = ?) AND (? IS NULL OR p.instance_id = ?)"
			    " AND (? IS NULL OR p.created_at || ' ' || p.id > ?)"
			    " ORDER BY p.created_at, p.id LIMIT ?",
			    "ssssssssi", project_id, project_id, network_id, network_id, instance_id,
			    instance_id, after, after, (int64_t)limit + 1);
	if (r == 0)
		r = store_fetch(s, sizeof(struct port), limit, port_from_row, (void **)ret, ret_n,
				ret_more);
	return r < 0 ? store_fail(c, r, err) : 0;
}

int port_list_instance(struct store_conn *c, const char *instance_id, struct port **ret,
		       size_t *ret_n, struct err *err)
{
	return net_fetch_all(c,
			     "SELECT " PORT_COLS PORT_FROM " WHERE p.instance_id = ?"
			     " ORDER BY p.device_index, p.id",
			     instance_id, sizeof(struct port), port_from_row, (void **)ret, ret_n, err);
}

int port_list_host(struct store_conn *c, const char *host_id, struct port **ret, size_t *ret_n,
		   struct err *err)
{
	return net_fetch_all(c,
			     "SELECT " PORT_COLS PORT_FROM " WHERE i.host_id = ?"
			     " ORDER BY p.network_id, p.instance_id, p.device_index",
			     host_id, sizeof(struct port), port_from_row, (void **)ret, ret_n, err);
}

int port_groups(struct store_conn *c, const char *port_id, char (**ret)[UUID_SIZE],
		size_t *ret_n, struct err *err)
{
	struct store_stmt *s = NULL;
	int r = store_query(c, &s,
			    "SELECT group_id FROM port_security_groups WHERE port_id = ?"
			    " ORDER BY group_id",
			    "s", port_id);
	if (r < 0)
		return store_fail(c, r, err);
	void *items;
	r = net_fetch_strings(c, s, UUID_SIZE, &items, ret_n, err);
	if (r == 0)
		*ret = items;
	return r;
}

int port_update(struct store_conn *c, const char *id, const char *name,
		const char *const *groups, size_t ngroups, struct err *err)
{
	struct port p;
	int r = port_get(c, NULL, id, &p, err);
	if (r < 0)
		return r;
	if (name && name[0] && strcmp(name, p.name) != 0 &&
	    ((r = net_name_check("name", name, err)) < 0 ||
	     (r = port_name_free(c, p.project_id, name, err)) < 0))
		return r;
	char now[TIME_RFC3339_SIZE];
	time_rfc3339_now(now, sizeof(now));
	if ((r = store_txn_begin(c)) < 0)
		return store_fail(c, r, err);
	r = store_run(c, "UPDATE ports SET name = ?, updated_at = ? WHERE id = ?", "sss",
		      name ? name : p.name, now, p.id);
	if (r >= 0 && groups)
		r = store_run(c, "DELETE FROM port_security_groups WHERE port_id = ?", "s", p.id);
	if (r < 0) {
		r = store_fail(c, r, err);
		store_txn_rollback(c);
		return r;
	}
	if (groups && (r = join_groups(c, p.project_id, p.id, groups, ngroups, err)) < 0) {
		store_txn_rollback(c);
		return r;
	}
	r = store_txn_commit(c);
	return r < 0 ? store_fail(c, r, err) : 0;
}

int port_attach(struct store_conn *c, const char *id, const char *instance_id,
		int64_t device_index, struct err *err)
{
	char now[TIME_RFC3339_SIZE];
	time_rfc3339_now(now, sizeof(now));
	int r = store_run(c,
			  "UPDATE ports SET instance_id = ?, device_index = ?, updated_at = ?"
			  " WHERE id = ? AND instance_id IS NULL",
			  "siss", instance_id, device_index, now, id);
	if (r < 0)
		return store_fail(c, r, err);
	return r == 0 ? err_set(err, ERR_CONFLICT, "ports", "port %s is in use by an instance", id)
		      : 0;
}

/* Delete port id with its address, groups and floating IP association. */
static int port_remove(struct store_conn *c, const char *id, struct err *err)
{
	static const char *const sql[] = {
		"UPDATE floating_ips SET port_id = NULL WHERE port_id = ?",
		"DELETE FROM ip_allocations WHERE port_id = ?",
		"DELETE FROM port_security_groups WHERE port_id = ?",
		"DELETE FROM ports WHERE id = ?",
	};
	int r = net_run_all(c, sql, ARRAY_SIZE(sql), id, err);
	return r < 0 ? r : 0;
}

int port_delete(struct store_conn *c, const char *id, struct err *err)
{
	struct port p;
	int r = port_get(c, NULL, id, &p, err);
	if (r < 0)
		return r;
	if (p.instance_id[0])
		return err_set(err, ERR_CONFLICT, "",
			       "the port is attached to instance %s; delete the instance first",
			       p.instance_id);
	return port_remove(c, p.id, err);
}

int port_release_instance(struct store_conn *c, const char *instance_id, struct err *err)
{
	struct port *ports;
	size_t n;
	int r = port_list_instance(c, instance_id, &ports, &n, err);
	if (r < 0)
		return r;
	char now[TIME_RFC3339_SIZE];
	time_rfc3339_now(now, sizeof(now));
	for (size_t k = 0; k < n && r == 0; k++) {
		if (strcmp(ports[k].owner, PORT_OWNER_INSTANCE) == 0) {
			r = port_remove(c, ports[k].id, err);
			continue;
		}
		r = store_run(c,
			      "UPDATE ports SET instance_id = NULL, device_index = 0, updated_at = ?"
			      " WHERE id = ?",
			      "ss", now, ports[k].id);
		r = r < 0 ? store_fail(c, r, err) : 0;
	}
	free(ports);
	return r;
}

/* ---- floating IPs ---- */

#define FIP_COLS                                                                                \
	"f.id, f.project_id, f.network_id, f.ip, COALESCE(f.port_id, ''),"                      \
	" COALESCE(p.instance_id, ''), COALESCE(a.ip, ''), f.created_at, f.updated_at"           \
	" FROM floating_ips f LEFT JOIN ports p ON p.id = f.port_id"                             \
	" LEFT JOIN ip_allocations a ON a.port_id = f.port_id"

static void fip_from_row(struct store_stmt *s, void *out)
{
	struct floating_ip *f = out;
	memset(f, 0, sizeof(*f));
	str_copy(f->id, sizeof(f->id), store_col_text(s, 0));
	str_copy(f->project_id, sizeof(f->project_id), store_col_text(s, 1));
	str_copy(f->network_id, sizeof(f->network_id), store_col_text(s, 2));
	str_copy(f->ip, sizeof(f->ip), store_col_text(s, 3));
	str_copy(f->port_id, sizeof(f->port_id), store_col_text(s, 4));
	str_copy(f->instance_id, sizeof(f->instance_id), store_col_text(s, 5));
	str_copy(f->fixed_ip, sizeof(f->fixed_ip), store_col_text(s, 6));
	str_copy(f->created_at, sizeof(f->created_at), store_col_text(s, 7));
	str_copy(f->updated_at, sizeof(f->updated_at), store_col_text(s, 8));
}

int floating_ip_create(struct store_conn *c, const char *project_id, const struct network *n,
		       struct floating_ip *ret, struct err *err)
{
	if (!n->external)
		return err_set(err, ERR_INVALID, "network",
			       "floating IPs come from the external network; '%s' is not it",
			       n->name);
	struct floating_ip f = { 0 };
	char subnet[UUID_SIZE];
	uuid_generate(f.id);
	str_copy(f.project_id, sizeof(f.project_id), project_id);
	str_copy(f.network_id, sizeof(f.network_id), n->id);
	time_rfc3339_now(f.created_at, sizeof(f.created_at));
	memcpy(f.updated_at, f.created_at, sizeof(f.created_at));
	int r = store_txn_begin(c);
	if (r < 0)
		return store_fail(c, r, err);
	r = store_run(c,
		      "INSERT INTO floating_ips (id, project_id, network_id, ip, created_at,"
		      " updated_at) VALUES (?, ?, ?, '', ?, ?)",
		      "sssss", f.id, project_id, n->id, f.created_at, f.updated_at);
	if (r < 0)
		r = store_fail(c, r, err);
	else if ((r = ipam_allocate(c, n->id, NULL, NULL, f.id, f.ip, subnet, err)) == 0 &&
		 (r = store_run(c, "UPDATE floating_ips SET ip = ? WHERE id = ?", "ss", f.ip,
				f.id)) < 0)
		r = store_fail(c, r, err);
	if (r < 0) {
		store_txn_rollback(c);
		return r;
	}
	if ((r = store_txn_commit(c)) < 0)
		return store_fail(c, r, err);
	*ret = f;
	return 0;
}

int floating_ip_get(struct store_conn *c, const char *project_id, const char *id_or_ip,
		    struct floating_ip *ret, struct err *err)
{
	return net_get(c,
		       "SELECT " FIP_COLS " WHERE lower(?) IN (f.id, f.ip)"
		       " AND (? IS NULL OR f.project_id = ?)",
		       "sss", id_or_ip, project_id, project_id, fip_from_row, ret,
		       "floating IP", id_or_ip, err);
}

int floating_ip_list(struct store_conn *c, const char *project_id, const char *after,
		     size_t limit, struct floating_ip **ret, size_t *ret_n, bool *ret_more,
		     struct err *err)
{
	return net_fetch_page(c,
			      "SELECT " FIP_COLS " WHERE (? IS NULL OR f.project_id = ?)"
			      " AND (? IS NULL OR f.created_at || ' ' || f.id > ?)"
			      " ORDER BY f.created_at, f.id LIMIT ?",
			      project_id, after, limit, sizeof(struct floating_ip), fip_from_row,
			      (void **)ret, ret_n, ret_more, err);
}

int floating_ip_associate(struct store_conn *c, const char *id, const struct port *p,
			  struct err *err)
{
	char now[TIME_RFC3339_SIZE];
	time_rfc3339_now(now, sizeof(now));
	if (p->floating_ip[0])
		return err_set(err, ERR_CONFLICT, "port", "the port has floating IP %s already",
			       p->floating_ip);
	int r = store_run(c,
			  "UPDATE floating_ips SET port_id = ?, updated_at = ?"
			  " WHERE id = ? AND port_id IS NULL",
			  "sss", p->id, now, id);
	if (r == -EEXIST)
		return err_set(err, ERR_CONFLICT, "port", "the port has a floating IP already");
	if (r < 0)
		return store_fail(c, r, err);
	return r == 0 ? err_set(err, ERR_CONFLICT, "",
				"the floating IP is associated already; disassociate it first")
		      : 0;
}

int floating_ip_disassociate(struct store_conn *c, const char *id, struct err *err)
{
	char now[TIME_RFC3339_SIZE];
	time_rfc3339_now(now, sizeof(now));
	int r = store_run(c,
			  "UPDATE floating_ips SET port_id = NULL, updated_at = ?"
			  " WHERE id = ? AND port_id IS NOT NULL",
			  "ss", now, id);
	if (r < 0)
		return store_fail(c, r, err);
	return r == 0 ? err_set(err, ERR_CONFLICT, "", "the floating IP is not associated") : 0;
}

int floating_ip_delete(struct store_conn *c, const char *id, struct err *err)
{
	static const char *const sql[] = { "DELETE FROM ip_allocations WHERE floating_ip_id = ?",
					    "DELETE FROM floating_ips WHERE id = ?" };
	int r = net_run_all(c, sql, 2, id, err);
	return r < 0 ? r : 0;
}
