/* network-priv.h: what the network module's files share. Not for other
 * modules. */
#pragma once

#include "network.h"

/* Name check shared by networks, subnets, ports and groups. */
int net_name_check(const char *field, const char *name, struct err *err);
/* Give out one address of network_id: want (NULL: the lowest free one of
 * the first subnet with room) for port_id or floating_ip_id (the other
 * NULL). Fills ret_ip and ret_subnet. ERR_CONFLICT when nothing is free or
 * want is taken, ERR_INVALID when want is in no subnet or not a host
 * address. */
int ipam_allocate(struct store_conn *c, const char *network_id, const char *want,
		  const char *port_id, const char *floating_ip_id, char ret_ip[IPV4_SIZE],
		  char ret_subnet[UUID_SIZE], struct err *err);
/* Step s through rows of one text column into an array of fixed-size
 * strings (size bytes each). Frees s. Caller frees *ret. */
int net_fetch_strings(struct store_conn *c, struct store_stmt *s, size_t size, void **ret,
		      size_t *ret_n, struct err *err);
/* Run sql (with one 's' argument, id) and return 1 when it yields a row
 * whose first column is non-zero, 0 when not, or an error. */
int net_exists(struct store_conn *c, const char *sql, const char *id, struct err *err);
