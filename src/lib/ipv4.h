/* ipv4: strict parsing and formatting of IPv4 addresses and CIDR blocks.
 * Addresses are host-order uint32_t. Only the canonical dotted quad is
 * taken ("10.0.0.1": four decimal parts 0-255, no leading zeros, no
 * spaces), so one address has exactly one spelling. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Room for "255.255.255.255" and its NUL. */
#define IPV4_SIZE 16
/* Room for "255.255.255.255/32" and its NUL. */
#define IPV4_CIDR_SIZE 19

/* Parse a dotted quad into *ret. Returns 0 or -EINVAL (ret untouched). */
int ipv4_parse(const char *s, uint32_t *ret);
/* Parse "A.B.C.D/N" (N 0..32) into address and prefix length. The address
 * may have host bits set (see ipv4_mask). Returns 0 or -EINVAL. */
int ipv4_cidr_parse(const char *s, uint32_t *ret_addr, unsigned *ret_prefix);
/* The netmask of a prefix length (0..32). */
uint32_t ipv4_mask(unsigned prefix);
/* Write addr as a dotted quad into out (IPV4_SIZE bytes). */
void ipv4_format(uint32_t addr, char out[IPV4_SIZE]);
/* Write addr/prefix into out (IPV4_CIDR_SIZE bytes). */
void ipv4_cidr_format(uint32_t addr, unsigned prefix, char out[IPV4_CIDR_SIZE]);
/* True when addr lies in net/prefix. */
bool ipv4_in(uint32_t addr, uint32_t net, unsigned prefix);
