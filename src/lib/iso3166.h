/* iso3166: validation of ISO 3166-1 alpha-2 country codes against the list
 * of officially assigned codes (no user-assigned ones such as "XX"). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* True when code is an assigned alpha-2 code, in upper case ("FR"). */
bool iso3166_alpha2_valid(const char *code);
/* How many codes the table holds. */
size_t iso3166_count(void);
