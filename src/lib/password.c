/* password: see password.h. */
#include "password.h"

#include <argon2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "util.h"

#define SALT_LEN 16
#define HASH_LEN 32

char *password_hash(const char *password, const struct password_cost *cost)
{
	unsigned char salt[SALT_LEN];
	crypto_random(salt, sizeof(salt));
	size_t len = argon2_encodedlen(cost->t_cost, cost->m_kib, cost->lanes, SALT_LEN, HASH_LEN,
				       Argon2_id);
	char *out = xmalloc(len);
	int r = argon2id_hash_encoded(cost->t_cost, cost->m_kib, cost->lanes, password,
				      strlen(password), salt, SALT_LEN, HASH_LEN, out, len);
	if (r != ARGON2_OK) {
		fprintf(stderr, "nubo: argon2id failed: %s\n", argon2_error_message(r));
		abort();
	}
	return out;
}

bool password_verify(const char *encoded, const char *password)
{
	if (!str_starts_with(encoded, "$argon2id$"))
		return false;
	return argon2id_verify(encoded, password, strlen(password)) == ARGON2_OK;
}
