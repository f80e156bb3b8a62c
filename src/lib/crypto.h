/* crypto: random bytes, UUIDs, SHA-256, base64url and base64, over OpenSSL and the
 * kernel's getrandom(2). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
/* Size of an AES-256 key. */
#define CRYPTO_KEY_SIZE 32

/* HMAC-SHA256 of data under key into out (32 bytes). */
void hmac_sha256(const void *key, size_t keylen, const void *data, size_t n,
		 unsigned char out[32]);
/* Hex-encode n bytes into out (2n+1 bytes). */
void hex_encode(const void *data, size_t n, char *out);
/* Encrypt n bytes with AES-256-GCM under key (random nonce). Returns
 * base64url(nonce | ciphertext | tag), which the caller frees. */
char *crypto_seal(const unsigned char key[CRYPTO_KEY_SIZE], const void *data, size_t n);
/* Decrypt what crypto_seal made. Returns 0 and a NUL-terminated buffer the
 * caller frees (length in ret_len), or -EBADMSG when it was tampered with or
 * sealed under another key. */
int crypto_open(const unsigned char key[CRYPTO_KEY_SIZE], const char *sealed,
		unsigned char **ret, size_t *ret_len);
/* Hex SHA-256 of the file at path into out; its size into *ret_size when
 * not NULL. Returns 0 or a negative errno. */
int sha256_file_hex(const char *path, char out[SHA256_HEX_SIZE], int64_t *ret_size);
/* Encode n bytes as unpadded base64url. Caller frees. */
char *base64url_encode(const void *data, size_t n);
/* Decode unpadded base64url text. Returns 0 and a buffer the caller frees
 * (NUL-terminated, length in ret_len), or -EINVAL on bad input. */
int base64url_decode(const char *s, unsigned char **ret, size_t *ret_len);
/* Encode n bytes as standard base64 (RFC 4648 section 4, '+' and '/', padded
 * with '='), the form of Content-MD5 and S3's checksum headers. Caller frees. */
char *base64_encode(const void *data, size_t n);
/* Decode padded standard base64 in its canonical form only (length a
 * multiple of four, unused bits zero). Returns 0 and a buffer the caller
 * frees (NUL-terminated, length in ret_len), or -EINVAL on bad input. */
int base64_decode(const char *s, unsigned char **ret, size_t *ret_len);
