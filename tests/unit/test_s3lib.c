/* test_s3lib: unit tests of the S3 protocol building blocks in src/lib:
 * checksums (lib/checksum) and standard base64 (lib/crypto). */
#include <errno.h>
#include <stdbool.h>
#include <zlib.h>

#include "unit.h"

#include "lib/checksum-priv.h"
#include "lib/checksum.h"
#include "lib/crypto.h"
#include "lib/util.h"

/* A small deterministic generator, so that a failure replays. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void fill_random(unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)rng();
}

/* ----------------------------------------------------------------- base64 */

static void test_base64_vectors(void **state)
{
	/* RFC 4648 section 10 */
	static const char *plain[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
	static const char *coded[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=",
				       "Zm9vYmFy" };
	for (size_t i = 0; i < ARRAY_SIZE(plain); i++) {
		char *e = base64_encode(plain[i], strlen(plain[i]));
		assert_string_equal(e, coded[i]);
		free(e);
		unsigned char *d = NULL;
		size_t len = 0;
		assert_int_equal(base64_decode(coded[i], &d, &len), 0);
		assert_int_equal(len, strlen(plain[i]));
		assert_memory_equal(d, plain[i], len);
		free(d);
	}
	/* the standard alphabet: '+' and '/' */
	const unsigned char hi[3] = { 0xfb, 0xff, 0xbf };
	char *e = base64_encode(hi, 3);
	assert_string_equal(e, "+/+/");
	free(e);
}

static void test_base64_rejects(void **state)
{
	static const char *bad[] = {
		"Zg",      /* padding missing */
		"Zg=",     /* padding short */
		"Zh==",    /* unused bits set: not canonical */
		"Zm9=",    /* unused bits set */
		"Z===",    /* three pads */
		"====",    /* nothing but padding */
		"Zg==Zg==", /* padding in the middle */
		"Zm-v",    /* URL alphabet */
		"Zm9v\n",  /* stray byte */
		"Zm 9v",   /* space */
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		unsigned char *d = NULL;
		size_t len = 0;
		assert_int_equal(base64_decode(bad[i], &d, &len), -EINVAL);
		assert_null(d);
	}
}

/* --------------------------------------------------------------- checksum */

static const struct {
	enum checksum_algo algo;
	const char *hex;    /* of "123456789" */
	const char *base64; /* as S3 sends it */
} check_values[] = {
	{ CHECKSUM_CRC32, "cbf43926", "y/Q5Jg==" },
	{ CHECKSUM_CRC32C, "e3069283", "4waSgw==" },
	{ CHECKSUM_CRC64NVME, "ae8b14860a799888", "rosUhgp5mIg=" },
	{ CHECKSUM_SHA1, "f7c3bc1d808e04732adf679965ccc34ca7ae3441", "98O8HYCOBHMq32eZZczDTKeuNEE=" },
	{ CHECKSUM_SHA256, "15e2b0d3c33891ebb0f1ef609ec419420c20e320ce94c65fbc8c3312448eb225",
	  "FeKw08M4keuw8e9gnsQZQgwg4yDOlMZfvIwzEkSOsiU=" },
	{ CHECKSUM_MD5, "25f9e794323b453885f5181f1b624d0b", "JfnnlDI7RTiF9RgfG2JNCw==" },
};

static void test_checksum_check_values(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(check_values); i++) {
		unsigned char raw[CHECKSUM_MAX];
		char hex[2 * CHECKSUM_MAX + 1], b64[CHECKSUM_BASE64_SIZE];
		size_t len = checksum_buf(check_values[i].algo, "123456789", 9, raw);
		assert_int_equal(len, checksum_size(check_values[i].algo));
		hex_encode(raw, len, hex);
		assert_string_equal(hex, check_values[i].hex);
		checksum_base64(raw, len, b64);
		assert_string_equal(b64, check_values[i].base64);
		unsigned char back[CHECKSUM_MAX];
		assert_int_equal(checksum_parse_base64(check_values[i].algo, b64, back), 0);
		assert_memory_equal(back, raw, len);
	}
	/* the CRC of nothing is 0; the SHA-256 of nothing is the well-known one */
	unsigned char raw[CHECKSUM_MAX];
	char b64[CHECKSUM_BASE64_SIZE];
	assert_int_equal(checksum_buf(CHECKSUM_CRC64NVME, "", 0, raw), 8);
	checksum_base64(raw, 8, b64);
	assert_string_equal(b64, "AAAAAAAAAAA=");
	checksum_base64(raw, checksum_buf(CHECKSUM_SHA256, "", 0, raw), b64);
	assert_string_equal(b64, "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
	assert_int_equal(checksum_buf(CHECKSUM_NONE, "x", 1, raw), 0);
}

/* Feeding in pieces gives what feeding at once gives, for every algorithm. */
static void test_checksum_streaming_matches_one_shot(void **state)
{
	size_t n = 100003;
	unsigned char *data = xmalloc(n);
	fill_random(data, n);
	for (size_t a = 0; a < ARRAY_SIZE(check_values); a++) {
		enum checksum_algo algo = check_values[a].algo;
		unsigned char whole[CHECKSUM_MAX], parts[CHECKSUM_MAX];
		size_t wlen = checksum_buf(algo, data, n, whole), plen;
		struct checksum c;
		checksum_init(&c, algo);
		for (size_t off = 0; off < n;) {
			size_t step = 1 + rng() % 9000;
			if (step > n - off)
				step = n - off;
			checksum_update(&c, data + off, step);
			off += step;
		}
		checksum_final(&c, parts, &plen);
		checksum_release(&c);
		assert_int_equal(plen, wlen);
		assert_memory_equal(parts, whole, wlen);
	}
	free(data);
}

/* The SSE4.2 path (when the CPU has it) and the tables agree, at every
 * alignment and length near the 8-byte steps. */
static void test_checksum_crc32c_paths_agree(void **state)
{
	unsigned char buf[300];
	fill_random(buf, sizeof(buf));
	for (size_t off = 0; off < 9; off++)
		for (size_t n = 0; n + off <= sizeof(buf); n += 1 + n / 16) {
			unsigned char raw[CHECKSUM_MAX];
			checksum_buf(CHECKSUM_CRC32C, buf + off, n, raw);
			uint64_t sw = checksum_crc32c_sw(0, buf + off, n);
			assert_int_equal(checksum_crc_from_raw(CHECKSUM_CRC32C, raw), sw);
		}
	/* continuing from a previous value */
	uint64_t a = checksum_crc32c_sw(0, "12345", 5);
	assert_int_equal(checksum_crc32c_sw(a, "6789", 4), 0xe3069283);
}

static uint64_t crc_of(enum checksum_algo algo, const void *p, size_t n)
{
	unsigned char raw[CHECKSUM_MAX];
	checksum_buf(algo, p, n, raw);
	return checksum_crc_from_raw(algo, raw);
}

/* Combining the CRCs of two pieces gives the CRC of the whole, for random
 * splits (empty pieces too); CRC32's agrees with zlib's crc32_combine. */
static void test_checksum_combine(void **state)
{
	static const enum checksum_algo crcs[] = { CHECKSUM_CRC32, CHECKSUM_CRC32C,
						   CHECKSUM_CRC64NVME };
	size_t n = 70000;
	unsigned char *data = xmalloc(n);
	fill_random(data, n);
	for (size_t a = 0; a < ARRAY_SIZE(crcs); a++) {
		enum checksum_algo algo = crcs[a];
		uint64_t whole = crc_of(algo, data, n);
		for (int i = 0; i < 40; i++) {
			size_t cut = i == 0 ? 0 : i == 1 ? n : rng() % (n + 1);
			uint64_t ca = crc_of(algo, data, cut), cb = crc_of(algo, data + cut, n - cut);
			assert_int_equal(checksum_combine(algo, ca, cb, n - cut), whole);
			if (algo == CHECKSUM_CRC32)
				assert_int_equal(crc32_combine64(ca, cb, (z_off64_t)(n - cut)), whole);
		}
		/* many parts folded left, as a multipart upload's FULL_OBJECT CRC */
		uint64_t acc = 0;
		for (size_t off = 0; off < n;) {
			size_t step = 1 + rng() % 5000;
			if (step > n - off)
				step = n - off;
			acc = checksum_combine(algo, acc, crc_of(algo, data + off, step), step);
			off += step;
		}
		assert_int_equal(acc, whole);
	}
	/* "12345" then "6789" */
	uint64_t c = checksum_combine(CHECKSUM_CRC64NVME, crc_of(CHECKSUM_CRC64NVME, "12345", 5),
				      crc_of(CHECKSUM_CRC64NVME, "6789", 4), 4);
	assert_int_equal(c, 0xae8b14860a799888ULL);
	/* a part of 5 GiB, far beyond the test data: zlib is the oracle */
	uint64_t big = 5ULL << 30;
	assert_int_equal(checksum_combine(CHECKSUM_CRC32, 0x12345678, 0x9abcdef0, big),
			 crc32_combine64(0x12345678, 0x9abcdef0, (z_off64_t)big));
	/* not a CRC: the first value back */
	assert_int_equal(checksum_combine(CHECKSUM_SHA256, 7, 8, 9), 7);
	free(data);
}

static void test_checksum_names(void **state)
{
	assert_int_equal(checksum_parse_algo("CRC64NVME"), CHECKSUM_CRC64NVME);
	assert_int_equal(checksum_parse_algo("crc64nvme"), CHECKSUM_CRC64NVME);
	assert_int_equal(checksum_parse_algo("crc32c"), CHECKSUM_CRC32C);
	assert_int_equal(checksum_parse_algo("Crc32"), CHECKSUM_CRC32);
	assert_int_equal(checksum_parse_algo("sha1"), CHECKSUM_SHA1);
	assert_int_equal(checksum_parse_algo("SHA256"), CHECKSUM_SHA256);
	assert_int_equal(checksum_parse_algo("MD5"), CHECKSUM_MD5);
	assert_int_equal(checksum_parse_algo(""), CHECKSUM_NONE);
	assert_int_equal(checksum_parse_algo("CRC64"), CHECKSUM_NONE);
	assert_int_equal(checksum_parse_algo("SHA-256"), CHECKSUM_NONE);
	assert_string_equal(checksum_algo_name(CHECKSUM_CRC64NVME), "CRC64NVME");
	assert_string_equal(checksum_algo_name(CHECKSUM_CRC32C), "CRC32C");
	assert_string_equal(checksum_algo_name(CHECKSUM_NONE), "");
	assert_string_equal(checksum_header(CHECKSUM_CRC64NVME), "x-amz-checksum-crc64nvme");
	assert_string_equal(checksum_header(CHECKSUM_SHA1), "x-amz-checksum-sha1");
	assert_null(checksum_header(CHECKSUM_MD5));
	assert_null(checksum_header(CHECKSUM_NONE));
	assert_int_equal(checksum_from_header("X-Amz-Checksum-CRC32C"), CHECKSUM_CRC32C);
	assert_int_equal(checksum_from_header("x-amz-checksum-crc32"), CHECKSUM_CRC32);
	assert_int_equal(checksum_from_header("x-amz-checksum-md5"), CHECKSUM_NONE);
	assert_int_equal(checksum_from_header("x-amz-checksum-mode"), CHECKSUM_NONE);
	assert_true(checksum_is_crc(CHECKSUM_CRC64NVME));
	assert_false(checksum_is_crc(CHECKSUM_SHA1));
}

static void test_checksum_parse_base64_rejects(void **state)
{
	unsigned char out[CHECKSUM_MAX];
	/* right base64, wrong length for the algorithm */
	assert_int_equal(checksum_parse_base64(CHECKSUM_CRC32, "rosUhgp5mIg=", out), -EINVAL);
	assert_int_equal(checksum_parse_base64(CHECKSUM_CRC64NVME, "y/Q5Jg==", out), -EINVAL);
	/* not canonical, not base64, empty, no algorithm */
	assert_int_equal(checksum_parse_base64(CHECKSUM_CRC32, "y/Q5Jh==", out), -EINVAL);
	assert_int_equal(checksum_parse_base64(CHECKSUM_CRC32, "y/Q5Jg", out), -EINVAL);
	assert_int_equal(checksum_parse_base64(CHECKSUM_CRC32, "y_Q5Jg==", out), -EINVAL);
	assert_int_equal(checksum_parse_base64(CHECKSUM_CRC32, "", out), -EINVAL);
	assert_int_equal(checksum_parse_base64(CHECKSUM_NONE, "", out), -EINVAL);
	/* numbers and bytes */
	unsigned char raw[8];
	assert_int_equal(checksum_crc_to_raw(CHECKSUM_CRC32C, 0xe3069283, raw), 4);
	assert_int_equal(raw[0], 0xe3);
	assert_int_equal(raw[3], 0x83);
	assert_int_equal(checksum_crc_from_raw(CHECKSUM_CRC32C, raw), 0xe3069283);
	assert_int_equal(checksum_crc_to_raw(CHECKSUM_SHA1, 1, raw), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base64_vectors),
		cmocka_unit_test(test_base64_rejects),
		cmocka_unit_test(test_checksum_check_values),
		cmocka_unit_test(test_checksum_streaming_matches_one_shot),
		cmocka_unit_test(test_checksum_crc32c_paths_agree),
		cmocka_unit_test(test_checksum_combine),
		cmocka_unit_test(test_checksum_names),
		cmocka_unit_test(test_checksum_parse_base64_rejects),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
