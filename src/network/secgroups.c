/* secgroups: security groups and their rules; see network.h. Rules are
 * checked strictly here (a port range only with tcp or udp, a canonical
 * CIDR, a CIDR or a remote group but not both), so what reaches a host's
 * nftables is always well formed. */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "network-priv.h"

#define GROUP_COLS "id, project_id, name, description, created_at"
#define RULE_COLS                                                                               \
	"id, group_id, direction, protocol, port_min, port_max, cidr,"                          \
	" COALESCE(remote_group_id, ''), created_at"

static void group_from_row(struct store_stmt *s, void *out)
{
	struct secgroup *g = out;
	memset(g, 0, sizeof(*g));
	str_copy(g->id, sizeof(g->id), store_col_text(s, 0));
	str_copy(g->project_id, sizeof(g->project_id), store_col_text(s, 1));
	str_copy(g->name, sizeof(g->name), store_col_text(s, 2));
	str_copy(g->description, sizeof(g->description), store_col_text(s, 3));
	str_copy(g->created_at, sizeof(g->created_at), store_col_text(s, 4));
}

static void rule_from_row(struct store_stmt *s, void *out)
{
	struct sg_rule *r = out;
	memset(r, 0, sizeof(*r));
	str_copy(r->id, sizeof(r->id), store_col_text(s, 0));
	str_copy(r->group_id, sizeof(r->group_id), store_col_text(s, 1));
	str_copy(r->direction, sizeof(r->direction), store_col_text(s, 2));
	str_copy(r->protocol, sizeof(r->protocol), store_col_text(s, 3));
	r->port_min = store_col_int(s, 4);
	r->port_max = store_col_int(s, 5);
	str_copy(r->cidr, sizeof(r->cidr), store_col_text(s, 6));
	str_copy(r->remote_group_id, sizeof(r->remote_group_id), store_col_text(s, 7));
	str_copy(r->created_at, sizeof(r->created_at), store_col_text(s, 8));
}

/* Insert group g (filled but for id and created_at). */
static int insert_group(struct store_conn *c, struct secgroup *g)
{
	uuid_generate(g->id);
	time_rfc3339_now(g->created_at, sizeof(g->created_at));
	return store_run(c,
			 "INSERT INTO security_groups (id, project_id, name, description, created_at)"
			 " VALUES (?, ?, ?, ?, ?)",
			 "sssss", g->id, g->project_id, g->name, g->description, g->created_at);
}

/* Insert rule r (checked; filled but for id and created_at). */
static int insert_rule(struct store_conn *c, struct sg_rule *r)
{
	uuid_generate(r->id);
	time_rfc3339_now(r->created_at, sizeof(r->created_at));
	return store_run(c,
			 "INSERT INTO security_group_rules (id, group_id, direction, protocol,"
			 " port_min, port_max, cidr, remote_group_id, created_at)"
			 " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
			 "ssssiisss", r->id, r->group_id, r->direction, r->protocol, r->port_min,
			 r->port_max, r->cidr, r->remote_group_id[0] ? r->remote_group_id : NULL,
			 r->created_at);
}

int secgroup_get(struct store_conn *c, const char *project_id, const char *id_or_name,
		 struct secgroup *ret, struct err *err)
{
	if (uuid_valid(id_or_name))
		return net_get(c,
			       "SELECT " GROUP_COLS " FROM security_groups WHERE id = lower(?)"
			       " AND (? IS NULL OR project_id = ?)",
			       "sss", id_or_name, project_id, project_id, group_from_row, ret,
			       "security group", id_or_name, err);
	return net_get(c,
		       "SELECT " GROUP_COLS " FROM security_groups WHERE name = ? AND project_id = ?",
		       "ss", id_or_name, project_id ? project_id : "", NULL, group_from_row, ret,
		       "security group", id_or_name, err);
}

int secgroup_default(struct store_conn *c, const char *project_id, struct secgroup *ret,
		     struct err *err)
{
	int r = secgroup_get(c, project_id, SECGROUP_DEFAULT, ret, err);
	if (r != -ERR_NOT_FOUND)
		return r;
	err_clear(err);
	struct secgroup g = { 0 };
	str_copy(g.project_id, sizeof(g.project_id), project_id);
	str_copy(g.name, sizeof(g.name), SECGROUP_DEFAULT);
	str_copy(g.description, sizeof(g.description),
		 "egress to anywhere, ingress from members of this group");
	struct sg_rule out = { .port_min = -1, .port_max = -1 }, in = out;
	if ((r = store_txn_begin(c)) < 0)
		return store_fail(c, r, err);
	r = insert_group(c, &g);
	if (r == -EEXIST) { /* made meanwhile by a concurrent request */
		store_txn_rollback(c);
		return secgroup_get(c, project_id, SECGROUP_DEFAULT, ret, err);
	}
	str_copy(out.group_id, sizeof(out.group_id), g.id);
	str_copy(out.direction, sizeof(out.direction), "egress");
	str_copy(in.group_id, sizeof(in.group_id), g.id);
	str_copy(in.direction, sizeof(in.direction), "ingress");
	str_copy(in.remote_group_id, sizeof(in.remote_group_id), g.id);
	if (r >= 0 && (r = insert_rule(c, &out)) >= 0)
		r = insert_rule(c, &in);
	if (r >= 0)
		r = store_txn_commit(c);
	if (r < 0) {
		r = store_fail(c, r, err);
		store_txn_rollback(c);
		return r;
	}
	*ret = g;
	return 0;
}

int secgroup_create(struct store_conn *c, const char *project_id, const char *name,
		    const char *description, struct secgroup *ret, struct err *err)
{
	int r = net_name_check("name", name, err);
	if (r < 0)
		return r;
	struct secgroup g = { 0 };
	str_copy(g.project_id, sizeof(g.project_id), project_id);
	str_copy(g.name, sizeof(g.name), name);
	str_copy(g.description, sizeof(g.description), description ? description : "");
	/* the default group exists before any other, so "default" is taken */
	struct secgroup def;
	int64_t have;
	if ((r = secgroup_default(c, project_id, &def, err)) < 0 ||
	    (r = net_count(c, "SELECT COUNT(*) FROM security_groups WHERE project_id = ?",
			   project_id, &have, err)) < 0)
		return r;
	if (have >= NET_GROUPS_PER_PROJECT)
		return err_set(err, ERR_QUOTA, "", "a project has at most %d security groups",
			       NET_GROUPS_PER_PROJECT);
	r = insert_group(c, &g);
	if (r == -EEXIST)
		return err_set(err, ERR_CONFLICT, "name", "a security group named '%s' exists already",
			       name);
	if (r < 0)
		return store_fail(c, r, err);
	*ret = g;
	return 0;
}

int secgroup_list(struct store_conn *c, const char *project_id, const char *after,
		  size_t limit, struct secgroup **ret, size_t *ret_n, bool *ret_more,
		  struct err *err)
{
	return net_fetch_page(c,
			      "SELECT " GROUP_COLS " FROM security_groups WHERE (? IS NULL OR"
			      " project_id = ?) AND (? IS NULL OR name || ' ' || id > ?)"
			      " ORDER BY name, id LIMIT ?",
			      project_id, after, limit, sizeof(struct secgroup), group_from_row,
			      (void **)ret, ret_n, ret_more, err);
}

int secgroup_delete(struct store_conn *c, const char *id, struct err *err)
{
	struct secgroup g;
	int r = secgroup_get(c, NULL, id, &g, err);
	if (r < 0)
		return r;
	if (strcmp(g.name, SECGROUP_DEFAULT) == 0)
		return err_set(err, ERR_CONFLICT, "", "the default security group cannot be deleted");
	int64_t users;
	r = net_count(c, "SELECT COUNT(*) FROM port_security_groups WHERE group_id = ?", g.id,
		      &users, err);
	if (r < 0)
		return r;
	if (users)
		return err_set(err, ERR_CONFLICT, "",
			       "%lld port(s) use the security group; change them first",
			       (long long)users);
	static const char *const sql[] = {
		"DELETE FROM security_group_rules WHERE remote_group_id = ? OR group_id = ?",
		"DELETE FROM security_groups WHERE id = ?",
	};
	r = net_run_all(c, sql, 2, g.id, err);
	return r < 0 ? r : 0;
}

/* Check spec into rule r (its group set by the caller). */
static int rule_check(const struct sg_rule_spec *spec, struct sg_rule *r, struct err *err)
{
	if (!spec->direction ||
	    (strcmp(spec->direction, "ingress") != 0 && strcmp(spec->direction, "egress") != 0))
		return err_set(err, ERR_INVALID, "direction", "direction must be ingress or egress");
	str_copy(r->direction, sizeof(r->direction), spec->direction);
	const char *proto = spec->protocol && strcmp(spec->protocol, "any") != 0 ? spec->protocol
										 : "";
	if (proto[0] && strcmp(proto, "tcp") != 0 && strcmp(proto, "udp") != 0 &&
	    strcmp(proto, "icmp") != 0)
		return err_set(err, ERR_INVALID, "protocol",
			       "protocol must be tcp, udp, icmp or any");
	str_copy(r->protocol, sizeof(r->protocol), proto);
	bool ports = spec->port_min >= 0 || spec->port_max >= 0;
	bool l4 = strcmp(proto, "tcp") == 0 || strcmp(proto, "udp") == 0;
	if (ports && !l4)
		return err_set(err, ERR_INVALID, "port_min",
			       "port ranges apply to tcp and udp only");
	r->port_min = spec->port_min >= 0 ? spec->port_min : spec->port_max;
	r->port_max = spec->port_max >= 0 ? spec->port_max : spec->port_min;
	if (ports && (r->port_min < 1 || r->port_max > 65535 || r->port_min > r->port_max))
		return err_set(err, ERR_INVALID, "port_min",
			       "port_min and port_max must be from 1 to 65535, min <= max");
	if (spec->cidr && spec->remote_group_id)
		return err_set(err, ERR_INVALID, "cidr", "give cidr or remote_group, not both");
	if (spec->cidr) {
		uint32_t a;
		unsigned prefix;
		if (ipv4_cidr_parse(spec->cidr, &a, &prefix) < 0)
			return err_set(err, ERR_INVALID, "cidr",
				       "cidr must be an IPv4 block such as 10.0.0.0/24");
		if (a & ~ipv4_mask(prefix))
			return err_set(err, ERR_INVALID, "cidr", "cidr has host bits set");
		ipv4_cidr_format(a, prefix, r->cidr);
	}
	str_copy(r->remote_group_id, sizeof(r->remote_group_id),
		 spec->remote_group_id ? spec->remote_group_id : "");
	return 0;
}

int secgroup_rule_add(struct store_conn *c, const struct secgroup *g,
		      const struct sg_rule_spec *spec, struct sg_rule *ret, struct err *err)
{
	struct sg_rule r = { 0 };
	int rc = rule_check(spec, &r, err);
	if (rc < 0)
		return rc;
	str_copy(r.group_id, sizeof(r.group_id), g->id);
	struct sg_rule *rules;
	size_t n;
	if ((rc = secgroup_rules(c, g->id, &rules, &n, err)) < 0)
		return rc;
	bool dup = false;
	for (size_t k = 0; k < n; k++)
		dup |= strcmp(rules[k].direction, r.direction) == 0 &&
		       strcmp(rules[k].protocol, r.protocol) == 0 &&
		       rules[k].port_min == r.port_min && rules[k].port_max == r.port_max &&
		       strcmp(rules[k].cidr, r.cidr) == 0 &&
		       strcmp(rules[k].remote_group_id, r.remote_group_id) == 0;
	free(rules);
	if (dup)
		return err_set(err, ERR_CONFLICT, "", "the group has that rule already");
	if (n >= NET_RULES_PER_GROUP)
		return err_set(err, ERR_CONFLICT, "", "a group holds at most %d rules",
			       NET_RULES_PER_GROUP);
	if ((rc = insert_rule(c, &r)) < 0)
		return store_fail(c, rc, err);
	*ret = r;
	return 0;
}

int secgroup_rules(struct store_conn *c, const char *group_id, struct sg_rule **ret,
		   size_t *ret_n, struct err *err)
{
	return net_fetch_all(c,
			     "SELECT " RULE_COLS " FROM security_group_rules WHERE group_id = ?"
			     " ORDER BY created_at, id",
			     group_id, sizeof(struct sg_rule), rule_from_row, (void **)ret, ret_n,
			     err);
}

int secgroup_rule_get(struct store_conn *c, const char *group_id, const char *rule_id,
		      struct sg_rule *ret, struct err *err)
{
	return net_get(c,
		       "SELECT " RULE_COLS " FROM security_group_rules WHERE group_id = ?"
		       " AND id = lower(?)",
		       "ss", group_id, rule_id, NULL, rule_from_row, ret, "rule",
		       rule_id, err);
}

int secgroup_rule_delete(struct store_conn *c, const char *group_id, const char *rule_id,
			 struct err *err)
{
	struct sg_rule rule;
	int r = secgroup_rule_get(c, group_id, rule_id, &rule, err);
	if (r < 0)
		return r;
	r = store_run(c, "DELETE FROM security_group_rules WHERE id = ?", "s", rule.id);
	return r < 0 ? store_fail(c, r, err) : 0;
}

int secgroup_member_ips(struct store_conn *c, const char *group_id, char (**ret)[IPV4_SIZE],
			size_t *ret_n, struct err *err)
{
	struct store_stmt *s = NULL;
	int r = store_query(c, &s,
			    "SELECT a.ip FROM port_security_groups x JOIN ip_allocations a"
			    " ON a.port_id = x.port_id WHERE x.group_id = ? ORDER BY a.ip_num, a.ip",
			    "s", group_id);
	if (r < 0)
		return store_fail(c, r, err);
	void *items;
	r = net_fetch_strings(c, s, IPV4_SIZE, &items, ret_n, err);
	if (r == 0)
		*ret = items;
	return r;
}

int secgroup_release_project(struct store_conn *c, const char *project_id, struct err *err)
{
	int64_t ports;
	int r = net_count(c, "SELECT COUNT(*) FROM ports WHERE project_id = ?", project_id, &ports,
			  err);
	if (r < 0 || ports)
		return r;
	r = store_run(c,
		      "DELETE FROM security_group_rules WHERE group_id IN"
		      " (SELECT id FROM security_groups WHERE project_id = ?)",
		      "s", project_id);
	if (r >= 0)
		r = store_run(c, "DELETE FROM security_groups WHERE project_id = ?", "s", project_id);
	return r < 0 ? store_fail(c, r, err) : 0;
}
