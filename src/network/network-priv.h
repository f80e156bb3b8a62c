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
/* The count sql (a SELECT COUNT(*) with one 's' argument, id) gives, in
 * *ret. 0 or an error. */
int net_count(struct store_conn *c, const char *sql, const char *id, int64_t *ret,
	      struct err *err);
/* A new id for a row of table ("networks" or "ports") whose first 11 hex
 * digits no other row's share: hosts name devices after them (nb-, nx-,
 * nt- and those digits), so two that shared them would share a device. */
int net_id_new(struct store_conn *c, const char *table, char out[UUID_SIZE], struct err *err);
/* 1 when a row of table has an id with the first 11 hex digits of id, 0
 * when none has, or a negative store error. */
int net_id_taken(struct store_conn *c, const char *table, const char *id);
/* Run sql with the string arguments a, b, d as types says ("s", "ss" or
 * "sss") and convert its first row with from_row into out. No row:
 * ERR_NOT_FOUND "no <what> '<ref>'". */
int net_get(struct store_conn *c, const char *sql, const char *types, const char *a,
	    const char *b, const char *d, store_row_fn from_row, void *out, const char *what,
	    const char *ref, struct err *err);
/* Run sql (one 's' argument, arg) and convert every row with from_row into
 * an array of elem_size items. Caller frees *ret. */
int net_fetch_all(struct store_conn *c, const char *sql, const char *arg, size_t elem_size,
		  store_row_fn from_row, void **ret, size_t *ret_n, struct err *err);
/* One page of a list: sql takes (scope, scope, after, after, limit + 1) as
 * in "(? IS NULL OR project_id = ?) AND (? IS NULL OR key > ?) ... LIMIT ?".
 * Caller frees *ret. */
int net_fetch_page(struct store_conn *c, const char *sql, const char *scope, const char *after,
		   size_t limit, size_t elem_size, store_row_fn from_row, void **ret,
		   size_t *ret_n, bool *ret_more, struct err *err);
/* Run the n statements of sql, each with id for every '?' (at most 3), in
 * one transaction. Returns the rows the last one changed, or an error. */
int net_run_all(struct store_conn *c, const char *const sql[], size_t n, const char *id,
		struct err *err);
