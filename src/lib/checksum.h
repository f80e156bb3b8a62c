/* checksum: the streaming checksums of S3 (CRC32, CRC32C, CRC64NVME, SHA1,
 * SHA256 and MD5) behind one init/update/final interface, their names and
 * header names, and the combination of two CRCs into the CRC of the
 * concatenated data, so that a multipart upload's full-object CRC comes
 * from its parts' CRCs without reading the data again. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum checksum_algo {
	CHECKSUM_NONE,
	CHECKSUM_CRC32,     /* ISO-HDLC, as zlib's crc32 */
	CHECKSUM_CRC32C,    /* Castagnoli */
	CHECKSUM_CRC64NVME, /* reflected 0x9a6c9329ac4bc9b5, all-ones init and xorout */
	CHECKSUM_SHA1,
	CHECKSUM_SHA256,
	CHECKSUM_MD5,
};

/* Largest raw checksum, bytes (SHA-256). */
#define CHECKSUM_MAX 32
/* Size of the base64 text of the largest checksum, plus NUL. */
#define CHECKSUM_BASE64_SIZE 45

struct checksum {
	enum checksum_algo algo; /* what is computed; CHECKSUM_NONE computes nothing */
	uint64_t crc;            /* running CRC register (CRC algorithms) */
	void *md;                /* owned EVP_MD_CTX (digest algorithms), or NULL */
};

/* Start a checksum of algo in c (caller's memory). Release it with
 * checksum_release() when done, whether or not it was finalised. */
void checksum_init(struct checksum *c, enum checksum_algo algo);
/* Add n bytes of data. */
void checksum_update(struct checksum *c, const void *data, size_t n);
/* Write the raw checksum of everything added (big-endian for the CRCs, as S3
 * base64-encodes it) into out and its length into *ret_len (0 for
 * CHECKSUM_NONE). c must not be updated afterwards, only released. */
void checksum_final(struct checksum *c, unsigned char out[CHECKSUM_MAX], size_t *ret_len);
/* Free what c holds. Accepts a zeroed or released c. */
void checksum_release(struct checksum *c);
/* One-shot checksum of n bytes into out; returns its length. */
size_t checksum_buf(enum checksum_algo algo, const void *data, size_t n,
		    unsigned char out[CHECKSUM_MAX]);
/* Length of algo's raw checksum, bytes (0 for CHECKSUM_NONE). */
size_t checksum_size(enum checksum_algo algo);
/* True for the three CRC algorithms. */
bool checksum_is_crc(enum checksum_algo algo);

/* Standard base64 of len raw bytes (len <= CHECKSUM_MAX) into out. */
void checksum_base64(const unsigned char *raw, size_t len, char out[CHECKSUM_BASE64_SIZE]);
/* Decode a base64 checksum value as sent in a header, trailer or XML
 * element: it must be padded canonical base64 of exactly algo's length.
 * Returns 0 and the raw bytes in out, or -EINVAL. */
int checksum_parse_base64(enum checksum_algo algo, const char *b64,
			  unsigned char out[CHECKSUM_MAX]);
/* The algorithm named s ("CRC64NVME", any case); CHECKSUM_NONE when s names
 * none (CHECKSUM_NONE is never a valid name). */
enum checksum_algo checksum_parse_algo(const char *s);
/* S3's name of algo: "CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256", "MD5";
 * "" for CHECKSUM_NONE. Static. */
const char *checksum_algo_name(enum checksum_algo algo);
/* The header carrying algo's value: "x-amz-checksum-crc64nvme"... ; NULL for
 * CHECKSUM_NONE and MD5 (which travels as Content-MD5). Static. */
const char *checksum_header(enum checksum_algo algo);
/* The algorithm whose header (or trailer) is name, any case; CHECKSUM_NONE
 * when name is none of them. */
enum checksum_algo checksum_from_header(const char *name);

/* The CRC of A followed by B from crc_a = CRC(A), crc_b = CRC(B) and the
 * length of B, for the three CRC algorithms (values as numbers, not bytes);
 * returns crc_a for the others. Costs O(log len_b). */
uint64_t checksum_combine(enum checksum_algo algo, uint64_t crc_a, uint64_t crc_b,
			  uint64_t len_b);
/* The CRC held in raw big-endian bytes (checksum_size(algo) of them). */
uint64_t checksum_crc_from_raw(enum checksum_algo algo, const unsigned char *raw);
/* Write crc as algo's raw big-endian bytes into out; returns their count. */
size_t checksum_crc_to_raw(enum checksum_algo algo, uint64_t crc, unsigned char out[8]);
