/* password: Argon2id password hashes in the PHC string form
 * ($argon2id$v=19$m=...,t=...,p=...$salt$hash), over libargon2. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct password_cost {
	uint32_t t_cost;   /* passes */
	uint32_t m_kib;    /* memory, KiB */
	uint32_t lanes;    /* parallelism */
};

/* OWASP's recommended Argon2id setting: 19 MiB, 2 passes, 1 lane. */
#define PASSWORD_COST_DEFAULT ((struct password_cost){ 2, 19 * 1024, 1 })

/* Hash password with a random salt. Returns a PHC string the caller frees. */
char *password_hash(const char *password, const struct password_cost *cost);
/* True when password matches the PHC string encoded. Constant time in the
 * password; false for a malformed encoding. */
bool password_verify(const char *encoded, const char *password);
