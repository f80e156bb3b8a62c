/* agent-priv: what net.c and its unit tests share: the host's tenant
 * networking as parsed from nubod's desired state, and the pure functions
 * that render it (nftables ruleset, dnsmasq files). */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/arena.h"
#include "lib/buf.h"

/* limits on what one desired state may hold (nubod is trusted, but its
 * answer is still outside bytes) */
#define NET_MAX_NETWORKS 4096
#define NET_MAX_PORTS 4096        /* per network, and on the host */
#define NET_MAX_PEERS 4096
#define NET_MAX_GROUPS 4096
#define NET_MAX_RULES 1024        /* per group */
#define NET_MAX_REMOTE 4096       /* remote_ips of one rule */
#define NET_MAX_DNS 8
#define NET_MAX_SUBNETS 64        /* per network */

/* An IPv4 address as dotted text, always canonical. */
typedef char net_ip[16];

/* A port of this host. */
struct net_port {
	const char *id;            /* uuid (arena) */
	char tap[16];              /* nt-... */
	char mac[18];              /* aa:bb:cc:dd:ee:ff, lower case */
	net_ip ip;
	const char *instance;      /* instance uuid (arena), or NULL */
	const char **groups;       /* security group uuids (arena) */
	size_t ngroups;
	net_ip fip;                /* floating IP, or "" */
};

/* A subnet of a network. */
struct net_subnet {
	net_ip addr;               /* network address of the CIDR */
	unsigned prefix;           /* CIDR prefix length */
	net_ip mask;               /* the same as a netmask */
	net_ip gw;                 /* gateway, or "" */
};

/* A network with ports (or peers) on this host. */
struct net_net {
	const char *id;            /* uuid (arena) */
	char br[16], vx[16];       /* nb-..., nx-... */
	uint32_t vni;
	struct net_subnet *subnets; /* the first is the network's "cidr" */
	size_t nsubnets;
	net_ip *dns;
	size_t ndns;
	unsigned mtu;
	bool external, snat;
	net_ip *peers;             /* underlay IPs of the other hosts */
	size_t npeers;
	struct net_port *ports;
	size_t nports;
};

/* A rule of a security group. */
struct net_rule {
	bool ingress;              /* else egress */
	char proto[8];             /* "tcp", "udp", "icmp" or "" (any) */
	int port_min, port_max;    /* -1: none (for icmp: type and code) */
	char cidr[20];             /* canonical a.b.c.d/n, or "" */
	bool has_remote;           /* remote_ips given (may be empty: no match) */
	net_ip *remote;
	size_t nremote;
};

struct net_group {
	const char *id;            /* uuid (arena) */
	struct net_rule *rules;
	size_t nrules;
};

/* The networking part of a host's desired state. */
struct net_state {
	bool present;              /* nubod sent "networks" at all */
	struct net_net *nets;
	size_t nnets;
	struct net_group *groups;
	size_t ngroups;
	struct net_port **all;     /* every port of every network, in order */
	size_t nall;
	bool has_ext;              /* an external network exists */
	char ext_cidr[20];
	net_ip ext_gw;             /* or "" */
};

/* Parse the "networks", "security_groups" and "external_network" members
 * of desired into ret, allocating from ar. Returns 0, or -1 with the
 * reason in why (ret is then unusable). A desired state without
 * "networks" gives present = false. */
int net_state_parse(json_t *desired, struct arena *ar, struct net_state *ret, char *why,
		    size_t why_size);
/* A unicast MAC as lower-case text in out; false when s is none. */
bool net_mac_parse(const char *s, char out[18]);
/* The interface-name suffix of an id: its first 11 hex digits, dashes
 * left out, in out (12 bytes). */
void net_suffix(const char *id, char out[12]);
/* The conntrack zone of a network (1..65535, from its VNI). */
unsigned net_zone(const struct net_net *n);
/* The mark of a network's routed connections and packets. */
uint32_t net_route_mark(const struct net_net *n);
/* The routing table of a network's routed traffic. */
uint32_t net_table(const struct net_net *n);
/* The MAC of the network's gateway (the bridge), the same on every host. */
void net_gw_mac(const struct net_net *n, char out[18]);
/* Append to b the nft script that replaces the tables inet nubo, bridge
 * nubo and (with an external interface ext_if, else NULL, and an external
 * network) ip nubo_nat with what st wants, in one transaction (only their
 * removal when st has no network). */
void net_ruleset(const struct net_state *st, const char *ext_if, struct buf *b);
/* Append to b the dnsmasq configuration of network n whose files live in
 * dir. */
void net_dnsmasq_conf(const struct net_net *n, const char *dir, struct buf *b);
struct agent_net;

/* Serve the metadata of the instances of items (nubod's desired
 * instances) to their ports on each network of st that has ports here;
 * stop the servers of the others. Returns 0 or -1 (logged). */
int agent_metadata_converge(struct agent_net *cfg, const struct net_state *st, json_t *items);
/* Append to b dnsmasq's static leases (dhcp-hostsfile) of n. */
void net_dnsmasq_hosts(const struct net_net *n, struct buf *b);
