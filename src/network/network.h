/* network: tenant networks, subnets and their IPAM, ports, security groups
 * and floating IPs. nubod decides everything here (VNIs, MACs, addresses);
 * each host's agent builds what its desired state lists.
 *
 * A network belongs to a project (or, external, to the system: at most one,
 * made by a system administrator, from which floating IPs come). It has
 * one or more IPv4 subnets that do not overlap each other; networks of
 * different projects may overlap freely (each has its own VNI). A port is
 * an interface on a network with a MAC (fa:16:3e:xx:xx:xx) and one fixed
 * IP from the first subnet that has room; every address given out (port or
 * floating IP) is a row of ip_allocations whose primary key is (subnet,
 * address), so one address can never be handed out twice, even by two
 * nubods racing on one PostgreSQL: the loser's insert fails in its own
 * savepoint and it tries the next free address.
 *
 * A port is bound to the host of the instance it is attached to. Ports made
 * for an instance (owner "instance") go with it; ports a user made
 * (owner "user") are only detached. Security groups hold rules (ingress or
 * egress, tcp/udp/icmp or any, a port range, a CIDR or a remote group);
 * what no rule allows is dropped inbound; a port's groups apply together.
 * Every project has a group "default" (made on first use, as OpenStack's):
 * egress to anywhere, ingress from the members of the group itself.
 *
 * Functions take a borrowed store connection and report errors as -ERR_*
 * with err filled in. Those that write several rows run in a (nested)
 * transaction of their own. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/crypto.h"
#include "lib/err.h"
#include "lib/ipv4.h"
#include "lib/timeutil.h"
#include "store/store.h"

#define NET_NAME_MAX 63
#define NET_DESCRIPTION_MAX 255
#define NET_DNS_MAX 4          /* DNS servers per subnet */
#define NET_PREFIX_MIN 8       /* largest subnet: /8 */
#define NET_PREFIX_MAX 29      /* smallest: /29 (6 hosts) */
#define NET_MTU 1450           /* 1500 less the VXLAN header */
#define NET_VNI_MIN 4096       /* VNIs below are left to the operator */
#define NET_VNI_MAX 16777215
#define NET_PORTS_PER_INSTANCE 8
#define NET_GROUPS_PER_PORT 8
#define NET_RULES_PER_GROUP 100
#define NET_SUBNETS_PER_NETWORK 16
#define NET_PORTS_PER_PROJECT 10000  /* a bound, not a quota (none exists for ports) */
#define NET_GROUPS_PER_PROJECT 100
#define SECGROUP_DEFAULT "default"

struct network {
	char id[UUID_SIZE];
	char project_id[UUID_SIZE];  /* "" for the external network */
	char name[NET_NAME_MAX + 1];
	int64_t vni;                 /* VXLAN id, unique */
	bool external;               /* floating IPs come from it */
	int64_t mtu;
	char created_at[TIME_RFC3339_SIZE];
	char updated_at[TIME_RFC3339_SIZE];
};

struct subnet {
	char id[UUID_SIZE];
	char network_id[UUID_SIZE];
	char name[NET_NAME_MAX + 1];
	char cidr[IPV4_CIDR_SIZE];   /* canonical: no host bits */
	char gateway[IPV4_SIZE];     /* "" for none */
	char dns[NET_DNS_MAX][IPV4_SIZE];
	size_t ndns;
	char pool_start[IPV4_SIZE];  /* first and last address IPAM gives out */
	char pool_end[IPV4_SIZE];
	char created_at[TIME_RFC3339_SIZE];
};

/* A subnet to create. Strings are outside input, checked here. */
struct subnet_spec {
	const char *name;            /* NULL: the network's name */
	const char *cidr;            /* required, e.g. "10.0.0.0/24" */
	const char *gateway;         /* NULL: the first address; "" : none */
	const char *const *dns;      /* ndns servers */
	size_t ndns;
	const char *pool_start;      /* NULL: after the gateway (or the first host) */
	const char *pool_end;        /* NULL: the last host */
};

/* Check a subnet spec without writing anything: strict CIDR with no host
 * bits and a prefix from NET_PREFIX_MIN to NET_PREFIX_MAX, the gateway and
 * the pool inside it and neither the network nor the broadcast address.
 * Fills ret (but its ids). */
int subnet_check(const struct subnet_spec *spec, struct subnet *ret, struct err *err);

/* Create a network with its first subnet, in project_id (NULL with
 * external: the system's external network, of which there is at most one).
 * The caller charges the quota. */
int network_create(struct store_conn *c, const char *project_id, const char *name,
		   bool external, const struct subnet_spec *sub, struct network *ret,
		   struct subnet *ret_subnet, struct err *err);
/* Find a network by id, or by name within project_id; project_id NULL: any
 * project. The external network is visible to every project. */
int network_get(struct store_conn *c, const char *project_id, const char *id_or_name,
		struct network *ret, struct err *err);
/* List up to limit (> 0) networks of project_id (NULL: all) and the external
 * one, by name after `after`. Caller frees. */
int network_list(struct store_conn *c, const char *project_id, const char *after, size_t limit,
		 struct network **ret, size_t *ret_n, bool *ret_more, struct err *err);
/* Delete a network and its subnets. ERR_CONFLICT while it has ports or
 * floating IPs. */
int network_delete(struct store_conn *c, const char *id, struct err *err);
/* The network an instance gets when it names none: the project's only
 * network, else the one named "default". Returns 1 and fills ret, 0 when
 * the project has no network, ERR_INVALID when it has several and none is
 * "default". */
int network_default(struct store_conn *c, const char *project_id, struct network *ret,
		    struct err *err);
/* The external network. Returns 1 and fills ret, or 0 when there is none. */
int network_external(struct store_conn *c, struct network *ret, struct err *err);

/* Add a subnet to network n; it must not overlap the network's others. */
int subnet_create(struct store_conn *c, const struct network *n, const struct subnet_spec *spec,
		  struct subnet *ret, struct err *err);
/* The subnets of network_id, oldest first. Caller frees. */
int subnet_list(struct store_conn *c, const char *network_id, struct subnet **ret,
		size_t *ret_n, struct err *err);
/* Find a subnet of network_id by id or name. */
int subnet_get(struct store_conn *c, const char *network_id, const char *id_or_name,
	       struct subnet *ret, struct err *err);
/* Delete a subnet (ERR_CONFLICT while addresses of it are in use, or when
 * it is the network's last). */
int subnet_delete(struct store_conn *c, const char *id, struct err *err);

/* ---- ports ---- */

#define PORT_OWNER_USER "user"
#define PORT_OWNER_INSTANCE "instance"

struct port {
	char id[UUID_SIZE];
	char project_id[UUID_SIZE];
	char network_id[UUID_SIZE];
	char name[NET_NAME_MAX + 1];
	char mac[18];                /* fa:16:3e:xx:xx:xx */
	char ip[IPV4_SIZE];          /* its fixed IP */
	char subnet_id[UUID_SIZE];   /* of that IP */
	char instance_id[UUID_SIZE]; /* attached to, or "" */
	int64_t device_index;        /* its place among the instance's NICs (0: eth0) */
	char owner[12];              /* PORT_OWNER_USER or PORT_OWNER_INSTANCE */
	char host_id[UUID_SIZE];     /* where it is bound: its instance's host, or "" */
	char floating_ip[IPV4_SIZE]; /* associated floating IP, or "" */
	char created_at[TIME_RFC3339_SIZE];
	char updated_at[TIME_RFC3339_SIZE];
};

/* What a port to create is. */
struct port_spec {
	const char *name;            /* NULL: "" */
	const char *ip;              /* NULL: IPAM chooses; else this address */
	const char *owner;           /* PORT_OWNER_* */
	const char *const *groups;   /* ngroups security group ids (already
					resolved); none: the project's default */
	size_t ngroups;
};

/* Create a port on network n in project_id with its MAC and fixed IP.
 * ERR_CONFLICT when the network has no free address (or ip is taken). */
int port_create(struct store_conn *c, const char *project_id, const struct network *n,
		const struct port_spec *spec, struct port *ret, struct err *err);
/* Find a port by id or name within project_id (NULL: any project). */
int port_get(struct store_conn *c, const char *project_id, const char *id_or_name,
	     struct port *ret, struct err *err);
/* List up to limit (> 0) ports of project_id (NULL: all), optionally only
 * those of network_id or instance_id, by creation after `after` (a port
 * id). Caller frees. */
int port_list(struct store_conn *c, const char *project_id, const char *network_id,
	      const char *instance_id, const char *after, size_t limit, struct port **ret,
	      size_t *ret_n, bool *ret_more, struct err *err);
/* The ports of instance_id in device order. Caller frees. */
int port_list_instance(struct store_conn *c, const char *instance_id, struct port **ret,
		       size_t *ret_n, struct err *err);
/* The ports bound to host_id (attached to its instances). Caller frees. */
int port_list_host(struct store_conn *c, const char *host_id, struct port **ret, size_t *ret_n,
		   struct err *err);
/* The security group ids of port_id, in ret (caller frees, n ids of
 * UUID_SIZE). */
int port_groups(struct store_conn *c, const char *port_id, char (**ret)[UUID_SIZE],
		size_t *ret_n, struct err *err);
/* Change port id: its name (NULL: kept) and, with groups set, its
 * security groups (ngroups resolved ids, 1 to NET_GROUPS_PER_PORT). */
int port_update(struct store_conn *c, const char *id, const char *name,
		const char *const *groups, size_t ngroups, struct err *err);
/* Attach a free port to instance_id as its NIC number device_index.
 * ERR_CONFLICT when it is attached already. */
int port_attach(struct store_conn *c, const char *id, const char *instance_id,
		int64_t device_index, struct err *err);
/* Delete a port, its address and its floating IP's association.
 * ERR_CONFLICT while it is attached to an instance. */
int port_delete(struct store_conn *c, const char *id, struct err *err);
/* Instance instance_id is gone: delete the ports made for it, detach the
 * others. */
int port_release_instance(struct store_conn *c, const char *instance_id, struct err *err);

/* ---- security groups ---- */

struct secgroup {
	char id[UUID_SIZE];
	char project_id[UUID_SIZE];
	char name[NET_NAME_MAX + 1];
	char description[NET_DESCRIPTION_MAX * 4 + 1];
	char created_at[TIME_RFC3339_SIZE];
};

struct sg_rule {
	char id[UUID_SIZE];
	char group_id[UUID_SIZE];
	char direction[8];           /* "ingress" or "egress" */
	char protocol[8];            /* "tcp", "udp", "icmp" or "" (any) */
	int64_t port_min, port_max;  /* -1: any (tcp/udp only) */
	char cidr[IPV4_CIDR_SIZE];   /* "" : anywhere, or remote group */
	char remote_group_id[UUID_SIZE]; /* "" or a group of the same project */
	char created_at[TIME_RFC3339_SIZE];
};

/* A rule to add: outside input, checked by secgroup_rule_add. */
struct sg_rule_spec {
	const char *direction;       /* required */
	const char *protocol;        /* NULL or "any": any */
	int64_t port_min, port_max;  /* -1: not given */
	const char *cidr;            /* NULL: not given */
	const char *remote_group_id; /* NULL: not given (resolved id) */
};

/* The project's "default" group, made (with its two rules) if missing. */
int secgroup_default(struct store_conn *c, const char *project_id, struct secgroup *ret,
		     struct err *err);
/* Create an empty group (no rules: nothing in, nothing out). */
int secgroup_create(struct store_conn *c, const char *project_id, const char *name,
		    const char *description, struct secgroup *ret, struct err *err);
/* Find a group by id or name within project_id (NULL: any project). */
int secgroup_get(struct store_conn *c, const char *project_id, const char *id_or_name,
		 struct secgroup *ret, struct err *err);
/* List up to limit (> 0) groups of project_id (NULL: all) by name after
 * `after`. Caller frees. */
int secgroup_list(struct store_conn *c, const char *project_id, const char *after,
		  size_t limit, struct secgroup **ret, size_t *ret_n, bool *ret_more,
		  struct err *err);
/* Delete a group and its rules, and the rules of other groups that name it
 * as their remote group. ERR_CONFLICT for "default" or while ports use it. */
int secgroup_delete(struct store_conn *c, const char *id, struct err *err);
/* Add a checked rule to group g. */
int secgroup_rule_add(struct store_conn *c, const struct secgroup *g,
		      const struct sg_rule_spec *spec, struct sg_rule *ret, struct err *err);
/* The rules of group_id, oldest first. Caller frees. */
int secgroup_rules(struct store_conn *c, const char *group_id, struct sg_rule **ret,
		   size_t *ret_n, struct err *err);
/* Find rule rule_id of group_id. */
int secgroup_rule_get(struct store_conn *c, const char *group_id, const char *rule_id,
		      struct sg_rule *ret, struct err *err);
/* Delete rule rule_id of group_id. */
int secgroup_rule_delete(struct store_conn *c, const char *group_id, const char *rule_id,
			 struct err *err);
/* Project project_id is about to be deleted: delete its security groups
 * (the default one is made without asking) when none of its ports is
 * left to use them; else change nothing (the project's deletion then
 * fails on its ports). */
int secgroup_release_project(struct store_conn *c, const char *project_id, struct err *err);
/* The fixed IPs of the ports in group_id (what a remote-group rule means),
 * sorted. Caller frees (n entries of IPV4_SIZE). */
int secgroup_member_ips(struct store_conn *c, const char *group_id, char (**ret)[IPV4_SIZE],
			size_t *ret_n, struct err *err);

/* ---- floating IPs ---- */

struct floating_ip {
	char id[UUID_SIZE];
	char project_id[UUID_SIZE];
	char network_id[UUID_SIZE];  /* the external network */
	char ip[IPV4_SIZE];
	char port_id[UUID_SIZE];     /* associated port, or "" */
	char instance_id[UUID_SIZE]; /* that port's instance, or "" */
	char fixed_ip[IPV4_SIZE];    /* that port's address, or "" */
	char created_at[TIME_RFC3339_SIZE];
	char updated_at[TIME_RFC3339_SIZE];
};

/* Allocate a floating IP from external network n for project_id. The
 * caller charges the quota. ERR_CONFLICT when n has no free address. */
int floating_ip_create(struct store_conn *c, const char *project_id, const struct network *n,
		       struct floating_ip *ret, struct err *err);
/* Find a floating IP by id (or address) within project_id (NULL: any). */
int floating_ip_get(struct store_conn *c, const char *project_id, const char *id_or_ip,
		    struct floating_ip *ret, struct err *err);
/* List up to limit (> 0) floating IPs of project_id (NULL: all) after
 * `after` (an id), by creation. Caller frees. */
int floating_ip_list(struct store_conn *c, const char *project_id, const char *after,
		     size_t limit, struct floating_ip **ret, size_t *ret_n, bool *ret_more,
		     struct err *err);
/* Associate floating IP id with port p (1:1). ERR_CONFLICT when either is
 * associated already or p is on the external network. */
int floating_ip_associate(struct store_conn *c, const char *id, const struct port *p,
			  struct err *err);
/* Remove floating IP id's association (ERR_CONFLICT when it has none). */
int floating_ip_disassociate(struct store_conn *c, const char *id, struct err *err);
/* Give floating IP id back to its network. */
int floating_ip_delete(struct store_conn *c, const char *id, struct err *err);

/* ---- who a change concerns ---- */

/* What a change touched, to find the hosts whose desired state it alters. */
enum net_scope {
	NET_SCOPE_PORT,     /* a port: its network's hosts, and the hosts of
			       ports whose groups name its groups as remote */
	NET_SCOPE_INSTANCE, /* every port of an instance, as above */
	NET_SCOPE_GROUP,    /* a security group: hosts of its ports, and of
			       ports of groups that name it as remote */
	NET_SCOPE_NETWORK,  /* the hosts with ports on a network */
	NET_SCOPE_ALL,      /* every host with a bound port */
};

/* The distinct hosts with bound ports that a change of `id` (of kind
 * scope) concerns. Caller frees (n ids of UUID_SIZE). */
int net_hosts(struct store_conn *c, enum net_scope scope, const char *id,
	      char (**ret)[UUID_SIZE], size_t *ret_n, struct err *err);
/* The networks with a port bound to host_id, by name. Caller frees. */
int network_list_host(struct store_conn *c, const char *host_id, struct network **ret,
		      size_t *ret_n, struct err *err);
/* The underlay IPs of the hosts other than host_id with ports bound on
 * network_id (and an underlay IP), sorted. Caller frees. */
int network_peers(struct store_conn *c, const char *network_id, const char *host_id,
		  char (**ret)[IPV4_SIZE], size_t *ret_n, struct err *err);
