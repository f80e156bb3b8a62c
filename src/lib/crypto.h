/* crypto: random bytes, UUIDs, SHA-256 and base64url, over OpenSSL and the
 * kernel's getrandom(2). */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Length of a UUID in text form, plus NUL. */
#define UUID_SIZE 37
/* Length of a hex SHA-256 digest, plus NUL. */
#define SHA256_HEX_SIZE 65

/* Fill out with n cryptographically secure random bytes. Aborts if the
 * kernel cannot provide them (it always can after early boot). */
void crypto_random(void *out, size_t n);
/* Write a random (version 4) UUID in lower-case text form into out. */
void uuid_generate(char out[UUID_SIZE]);
/* True when s is a UUID in canonical 8-4-4-4-12 hex text form. */
bool uuid_valid(const char *s);
/* Hex SHA-256 of n bytes of data into out. */
void sha256_hex(const void *data, size_t n, char out[SHA256_HEX_SIZE]);
/* Encode n bytes as unpadded base64url. Caller frees. */
char *base64url_encode(const void *data, size_t n);
/* Decode unpadded base64url text. Returns 0 and a buffer the caller frees
 * (NUL-terminated, length in ret_len), or -EINVAL on bad input. */
int base64url_decode(const char *s, unsigned char **ret, size_t *ret_len);
