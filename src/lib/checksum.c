/* checksum: see checksum.h.
 *
 * CRC32, CRC32C and CRC64NVME share one table-driven engine for reflected
 * CRCs of up to 64 bits (slicing-by-8: eight 256-entry tables, the k-th
 * giving a byte's effect followed by k zero bytes), built once on first
 * use. Where the CPU has them, CRC32 and CRC64NVME use carry-less
 * multiplication (PCLMULQDQ) and CRC32C the SSE4.2 crc32 instruction;
 * without PCLMULQDQ, CRC32 is zlib's. A CRC is kept in its final form
 * (register xor all-ones), so the CRC of nothing is 0 and updates chain as
 * zlib's crc32() does.
 *
 * The PCLMULQDQ path folds: with the register xored into the first bytes,
 * the data is a polynomial M, and the CRC depends only on M mod P.
 * Four 128-bit accumulators take 64 bytes a round, each replaced by
 * A * x^512 + B, computed as lo(A) * (x^575 mod P) + hi(A) * (x^511 mod P)
 * + B (one power less than the shift, because the carry-less product of
 * two bit-reflected 64-bit values is the reflected product times x; a
 * 32-bit CRC's constants sit in the top half of the 64 bits). The four
 * are folded into one by 128 bits at a time, and the last 16 bytes of
 * state and the tail go through the tables.
 *
 * Combining follows zlib's crc32_combine: with init equal to xorout (true
 * of all three), CRC(A|B) = CRC(A) * x^(8 len(B)) mod P  xor  CRC(B), the
 * product taken in GF(2) in the reflected bit order; x^(8n) comes from
 * repeated squaring of x^8. SHA1, SHA256 and MD5 are OpenSSL's EVP. */
#include "checksum.h"
#include "checksum-priv.h"

#include <errno.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "crypto.h"
#include "util.h"

struct crc_model {
	uint64_t poly;           /* reflected polynomial */
	uint64_t mask;           /* all ones over the CRC's width */
	uint64_t top;            /* x^0 in reflected order: the width's top bit */
	uint64_t table[8][256];  /* slicing-by-8 tables */
	/* folding constants x^575, x^511, x^191, x^127 mod P, reflected in 64
	 * bits whatever the width (see above) */
	uint64_t k575, k511, k191, k127;
};

static struct crc_model crc32c_model = { .poly = 0x82f63b78, .mask = 0xffffffff,
					 .top = 0x80000000 };
static struct crc_model crc64_model = { .poly = 0x9a6c9329ac4bc9b5ULL, .mask = UINT64_MAX,
					.top = 0x8000000000000000ULL };
/* CRC32's tables serve the PCLMULQDQ path; without it zlib computes CRC32. */
static struct crc_model crc32_model = { .poly = 0xedb88320, .mask = 0xffffffff,
					.top = 0x80000000 };
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;
static bool crc32c_hw;   /* the CPU has SSE4.2's crc32 */
static bool crc_clmul;   /* the CPU has PCLMULQDQ (and SSE4.1) */

static uint64_t gf2_mult(const struct crc_model *m, uint64_t a, uint64_t b);
static uint64_t gf2_xpow(const struct crc_model *m, uint64_t n);

static void model_build(struct crc_model *m)
{
	/* a CRC narrower than 64 bits sits in the top bits of the 64-bit
	 * reflected form the folding multiplies in */
	int shift = m->mask == UINT64_MAX ? 0 : 32;
	m->k575 = gf2_xpow(m, 575) << shift;
	m->k511 = gf2_xpow(m, 511) << shift;
	m->k191 = gf2_xpow(m, 191) << shift;
	m->k127 = gf2_xpow(m, 127) << shift;
	for (unsigned b = 0; b < 256; b++) {
		uint64_t c = b;
		for (int i = 0; i < 8; i++)
			c = c & 1 ? (c >> 1) ^ m->poly : c >> 1;
		m->table[0][b] = c;
	}
	for (int k = 1; k < 8; k++)
		for (unsigned b = 0; b < 256; b++) {
			uint64_t prev = m->table[k - 1][b];
			m->table[k][b] = (prev >> 8) ^ m->table[0][prev & 0xff];
		}
}

static void tables_build(void)
{
	model_build(&crc32_model);
	model_build(&crc32c_model);
	model_build(&crc64_model);
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
	__builtin_cpu_init();
	crc32c_hw = __builtin_cpu_supports("sse4.2");
	crc_clmul = __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1");
#endif
}

/* Run the register reg of model m over n bytes. */
static uint64_t crc_run(const struct crc_model *m, uint64_t reg, const unsigned char *p, size_t n)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	const uint64_t(*t)[256] = m->table;
	while (n >= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		w ^= reg;
		reg = t[7][w & 0xff] ^ t[6][(w >> 8) & 0xff] ^ t[5][(w >> 16) & 0xff] ^
		      t[4][(w >> 24) & 0xff] ^ t[3][(w >> 32) & 0xff] ^ t[2][(w >> 40) & 0xff] ^
		      t[1][(w >> 48) & 0xff] ^ t[0][w >> 56];
		p += 8;
		n -= 8;
	}
#endif
	while (n--)
		reg = (reg >> 8) ^ m->table[0][(reg ^ *p++) & 0xff];
	return reg;
}

uint64_t checksum_crc32c_sw(uint64_t crc, const void *data, size_t n)
{
	pthread_once(&tables_once, tables_build);
	return crc_run(&crc32c_model, crc ^ 0xffffffff, data, n) ^ 0xffffffff;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
__attribute__((target("sse4.2"))) static uint64_t crc32c_run_hw(uint64_t reg,
								 const unsigned char *p, size_t n)
{
	while (n >= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		reg = __builtin_ia32_crc32di(reg, w);
		p += 8;
		n -= 8;
	}
	uint32_t r = (uint32_t)reg;
	while (n--)
		r = __builtin_ia32_crc32qi(r, *p++);
	return r;
}
#else
static uint64_t crc32c_run_hw(uint64_t reg, const unsigned char *p, size_t n)
{
	return crc_run(&crc32c_model, reg, p, n);
}
#endif

uint64_t checksum_crc64nvme_sw(uint64_t crc, const void *data, size_t n)
{
	pthread_once(&tables_once, tables_build);
	return crc_run(&crc64_model, ~crc, data, n) ^ UINT64_MAX;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
/* a * x^D + b for the 128-bit a, by the constants of D in k. */
__attribute__((target("pclmul,sse4.1"))) static inline __m128i fold(__m128i a, __m128i k,
								      __m128i b)
{
	__m128i lo = _mm_clmulepi64_si128(a, k, 0x00), hi = _mm_clmulepi64_si128(a, k, 0x11);
	return _mm_xor_si128(_mm_xor_si128(lo, hi), b);
}

__attribute__((target("pclmul,sse4.1"))) static uint64_t crc_run_clmul(const struct crc_model *m,
									 uint64_t reg,
									 const unsigned char *p, size_t n)
{
	if (n < 128)
		return crc_run(m, reg, p, n);
	__m128i a0 = _mm_loadu_si128((const __m128i *)p);
	__m128i a1 = _mm_loadu_si128((const __m128i *)(p + 16));
	__m128i a2 = _mm_loadu_si128((const __m128i *)(p + 32));
	__m128i a3 = _mm_loadu_si128((const __m128i *)(p + 48));
	a0 = _mm_xor_si128(a0, _mm_cvtsi64_si128((long long)reg));
	p += 64;
	n -= 64;
	const __m128i by512 = _mm_set_epi64x((long long)m->k511, (long long)m->k575);
	while (n >= 64) {
		a0 = fold(a0, by512, _mm_loadu_si128((const __m128i *)p));
		a1 = fold(a1, by512, _mm_loadu_si128((const __m128i *)(p + 16)));
		a2 = fold(a2, by512, _mm_loadu_si128((const __m128i *)(p + 32)));
		a3 = fold(a3, by512, _mm_loadu_si128((const __m128i *)(p + 48)));
		p += 64;
		n -= 64;
	}
	const __m128i by128 = _mm_set_epi64x((long long)m->k127, (long long)m->k191);
	a0 = fold(fold(fold(a0, by128, a1), by128, a2), by128, a3);
	for (; n >= 16; p += 16, n -= 16)
		a0 = fold(a0, by128, _mm_loadu_si128((const __m128i *)p));
	unsigned char state[16];
	_mm_storeu_si128((__m128i *)state, a0);
	return crc_run(m, crc_run(m, 0, state, 16), p, n);
}
#else
static uint64_t crc_run_clmul(const struct crc_model *m, uint64_t reg, const unsigned char *p,
			      size_t n)
{
	return crc_run(m, reg, p, n);
}
#endif

static const EVP_MD *digest_of(enum checksum_algo algo)
{
	switch (algo) {
	case CHECKSUM_SHA1:
		return EVP_sha1();
	case CHECKSUM_SHA256:
		return EVP_sha256();
	case CHECKSUM_MD5:
		return EVP_md5();
	default:
		return NULL;
	}
}

void checksum_init(struct checksum *c, enum checksum_algo algo)
{
	pthread_once(&tables_once, tables_build);
	c->algo = algo;
	c->crc = 0;
	c->md = NULL;
	const EVP_MD *md = digest_of(algo);
	if (md) {
		EVP_MD_CTX *ctx = EVP_MD_CTX_new();
		if (!ctx || EVP_DigestInit_ex(ctx, md, NULL) != 1) {
			fprintf(stderr, "nubo: cannot start a %s digest\n", checksum_algo_name(algo));
			abort();
		}
		c->md = ctx;
	}
}

void checksum_update(struct checksum *c, const void *data, size_t n)
{
	switch (c->algo) {
	case CHECKSUM_NONE:
		break;
	case CHECKSUM_CRC32:
		c->crc = crc_clmul ? crc_run_clmul(&crc32_model, c->crc ^ 0xffffffff, data, n) ^
					     0xffffffff
				   : crc32_z(c->crc, data, n);
		break;
	case CHECKSUM_CRC32C:
		c->crc = (crc32c_hw ? crc32c_run_hw(c->crc ^ 0xffffffff, data, n)
				    : crc_run(&crc32c_model, c->crc ^ 0xffffffff, data, n)) ^
			 0xffffffff;
		break;
	case CHECKSUM_CRC64NVME:
		c->crc = (crc_clmul ? crc_run_clmul(&crc64_model, ~c->crc, data, n)
				    : crc_run(&crc64_model, ~c->crc, data, n)) ^
			 UINT64_MAX;
		break;
	default:
		if (c->md)
			EVP_DigestUpdate(c->md, data, n);
		break;
	}
}

void checksum_final(struct checksum *c, unsigned char out[CHECKSUM_MAX], size_t *ret_len)
{
	if (checksum_is_crc(c->algo)) {
		*ret_len = checksum_crc_to_raw(c->algo, c->crc, out);
		return;
	}
	unsigned int len = 0;
	if (c->md)
		EVP_DigestFinal_ex(c->md, out, &len);
	*ret_len = len;
}

void checksum_release(struct checksum *c)
{
	if (!c)
		return;
	EVP_MD_CTX_free(c->md);
	c->md = NULL;
}

size_t checksum_buf(enum checksum_algo algo, const void *data, size_t n,
		    unsigned char out[CHECKSUM_MAX])
{
	struct checksum c;
	size_t len;
	checksum_init(&c, algo);
	checksum_update(&c, data, n);
	checksum_final(&c, out, &len);
	checksum_release(&c);
	return len;
}

static const struct {
	enum checksum_algo algo;
	const char *name;
	const char *header;
	size_t size;
} algos[] = {
	{ CHECKSUM_CRC32, "CRC32", "x-amz-checksum-crc32", 4 },
	{ CHECKSUM_CRC32C, "CRC32C", "x-amz-checksum-crc32c", 4 },
	{ CHECKSUM_CRC64NVME, "CRC64NVME", "x-amz-checksum-crc64nvme", 8 },
	{ CHECKSUM_SHA1, "SHA1", "x-amz-checksum-sha1", 20 },
	{ CHECKSUM_SHA256, "SHA256", "x-amz-checksum-sha256", 32 },
	{ CHECKSUM_MD5, "MD5", NULL, 16 },
};

size_t checksum_size(enum checksum_algo algo)
{
	for (size_t i = 0; i < ARRAY_SIZE(algos); i++)
		if (algos[i].algo == algo)
			return algos[i].size;
	return 0;
}

bool checksum_is_crc(enum checksum_algo algo)
{
	return algo == CHECKSUM_CRC32 || algo == CHECKSUM_CRC32C || algo == CHECKSUM_CRC64NVME;
}

void checksum_base64(const unsigned char *raw, size_t len, char out[CHECKSUM_BASE64_SIZE])
{
	char *b = base64_encode(raw, len < CHECKSUM_MAX ? len : CHECKSUM_MAX);
	str_copy(out, CHECKSUM_BASE64_SIZE, b);
	free(b);
}

int checksum_parse_base64(enum checksum_algo algo, const char *b64,
			  unsigned char out[CHECKSUM_MAX])
{
	size_t want = checksum_size(algo);
	if (want == 0 || strlen(b64) != (want + 2) / 3 * 4)
		return -EINVAL;
	unsigned char *raw = NULL;
	size_t len = 0;
	if (base64_decode(b64, &raw, &len) < 0)
		return -EINVAL;
	int r = -EINVAL;
	if (len == want) {
		memcpy(out, raw, len);
		r = 0;
	}
	free(raw);
	return r;
}

enum checksum_algo checksum_parse_algo(const char *s)
{
	for (size_t i = 0; i < ARRAY_SIZE(algos); i++)
		if (str_eq_nocase(s, algos[i].name))
			return algos[i].algo;
	return CHECKSUM_NONE;
}

const char *checksum_algo_name(enum checksum_algo algo)
{
	for (size_t i = 0; i < ARRAY_SIZE(algos); i++)
		if (algos[i].algo == algo)
			return algos[i].name;
	return "";
}

const char *checksum_header(enum checksum_algo algo)
{
	for (size_t i = 0; i < ARRAY_SIZE(algos); i++)
		if (algos[i].algo == algo)
			return algos[i].header;
	return NULL;
}

enum checksum_algo checksum_from_header(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(algos); i++)
		if (algos[i].header && str_eq_nocase(name, algos[i].header))
			return algos[i].algo;
	return CHECKSUM_NONE;
}

/* a * b modulo m's polynomial, both in reflected order. */
static uint64_t gf2_mult(const struct crc_model *m, uint64_t a, uint64_t b)
{
	uint64_t p = 0;
	for (uint64_t bit = m->top; bit; bit >>= 1) {
		if (a & bit)
			p ^= b;
		b = b & 1 ? (b >> 1) ^ m->poly : b >> 1;
	}
	return p;
}

/* base^n modulo m's polynomial, reflected, by repeated squaring. */
static uint64_t gf2_pow(const struct crc_model *m, uint64_t base, uint64_t n)
{
	uint64_t result = m->top; /* x^0 */
	for (; n; n >>= 1) {
		if (n & 1)
			result = gf2_mult(m, base, result);
		base = gf2_mult(m, base, base);
	}
	return result;
}

/* x^n modulo m's polynomial. */
static uint64_t gf2_xpow(const struct crc_model *m, uint64_t n)
{
	return gf2_pow(m, m->top >> 1, n);
}

uint64_t checksum_combine(enum checksum_algo algo, uint64_t crc_a, uint64_t crc_b,
			  uint64_t len_b)
{
	const struct crc_model *m = algo == CHECKSUM_CRC32	  ? &crc32_model
				    : algo == CHECKSUM_CRC32C	  ? &crc32c_model
				    : algo == CHECKSUM_CRC64NVME ? &crc64_model
								  : NULL;
	if (!m)
		return crc_a;
	/* x^(8 len_b) as (x^8)^len_b, so that 8 len_b cannot overflow */
	uint64_t shift = gf2_pow(m, m->top >> 8, len_b);
	return (gf2_mult(m, shift, crc_a & m->mask) ^ crc_b) & m->mask;
}

uint64_t checksum_crc_from_raw(enum checksum_algo algo, const unsigned char *raw)
{
	size_t n = checksum_is_crc(algo) ? checksum_size(algo) : 0;
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++)
		v = v << 8 | raw[i];
	return v;
}

size_t checksum_crc_to_raw(enum checksum_algo algo, uint64_t crc, unsigned char out[8])
{
	size_t n = checksum_is_crc(algo) ? checksum_size(algo) : 0;
	for (size_t i = 0; i < n; i++)
		out[i] = (unsigned char)(crc >> (8 * (n - 1 - i)));
	return n;
}
