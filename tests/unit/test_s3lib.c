/* test_s3lib: unit tests of the S3 protocol building blocks in src/lib:
 * checksums (lib/checksum), standard base64 (lib/crypto), the aws-chunked
 * decoder (lib/awschunked), the SigV4 signing-key helpers, the XML
 * bodies and writer (lib/s3xml) and HTTPS in
 * lib/http (with a self-signed certificate made by the openssl command at
 * test time, and curl as the client, over 127.0.0.1 only). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <zlib.h>

#include "unit.h"

#include "lib/arena.h"
#include "lib/awschunked.h"
#include "lib/buf.h"
#include "lib/checksum-priv.h"
#include "lib/checksum.h"
#include "lib/crypto.h"
#include "lib/http.h"
#include "lib/s3xml.h"
#include "lib/sigv4.h"
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

/* The SSE4.2 path of CRC32C and the PCLMULQDQ paths of CRC32 and CRC64NVME
 * (when the CPU has them) agree with the tables and with zlib, at every
 * alignment, at lengths around their block sizes, and continuing from
 * earlier values. */
static void test_checksum_hw_paths_agree(void **state)
{
	unsigned char buf[1200];
	fill_random(buf, sizeof(buf));
	for (size_t off = 0; off < 17; off++)
		for (size_t n = 0; n + off <= sizeof(buf); n += n < 300 ? 1 : 1 + n / 16) {
			unsigned char raw[CHECKSUM_MAX];
			checksum_buf(CHECKSUM_CRC32C, buf + off, n, raw);
			uint64_t sw = checksum_crc32c_sw(0, buf + off, n);
			assert_int_equal(checksum_crc_from_raw(CHECKSUM_CRC32C, raw), sw);
			checksum_buf(CHECKSUM_CRC64NVME, buf + off, n, raw);
			sw = checksum_crc64nvme_sw(0, buf + off, n);
			assert_int_equal(checksum_crc_from_raw(CHECKSUM_CRC64NVME, raw), sw);
			checksum_buf(CHECKSUM_CRC32, buf + off, n, raw);
			assert_int_equal(checksum_crc_from_raw(CHECKSUM_CRC32, raw),
					 crc32_z(0, buf + off, n));
		}
	/* continuing from a previous value */
	uint64_t a = checksum_crc32c_sw(0, "12345", 5);
	assert_int_equal(checksum_crc32c_sw(a, "6789", 4), 0xe3069283);
	a = checksum_crc64nvme_sw(0, "1234", 4);
	assert_int_equal(checksum_crc64nvme_sw(a, "56789", 5), 0xae8b14860a799888ULL);
	struct checksum c;
	unsigned char raw[CHECKSUM_MAX];
	size_t len;
	checksum_init(&c, CHECKSUM_CRC64NVME);
	checksum_update(&c, buf, 700);
	checksum_update(&c, buf + 700, 500);
	checksum_final(&c, raw, &len);
	checksum_release(&c);
	assert_int_equal(checksum_crc_from_raw(CHECKSUM_CRC64NVME, raw),
			 checksum_crc64nvme_sw(checksum_crc64nvme_sw(0, buf, 300), buf + 300, 900));
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

/* ------------------------------------------------------------- awschunked */

/* AWS's published example of a signed chunked upload ("Example: PUT
 * Object" in "Signature Calculations for the Authorization Header:
 * Transferring Payload in Multiple Chunks"): 66560 bytes of 'a' in chunks
 * of 65536, 1024 and 0 bytes. The trailer signature over first:1st,
 * second:2nd, third:3rd after the same chunks is the one in aws-crt's
 * signer tests (ChunkSignerTests). */
#define EX_SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define EX_SEED "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
#define EX_SIG1 "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648"
#define EX_SIG2 "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497"
#define EX_SIG3 "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"
#define EX_TRAILER_SIG "df5735bd9f3295cd9386572292562fefc93ba94e80a0a1ddcbd652c4e0a75e6c"

static struct sigv4_auth example_auth(void)
{
	struct sigv4_auth a = { 0 };
	str_copy(a.access_key, sizeof(a.access_key), "AKIAIOSFODNN7EXAMPLE");
	str_copy(a.date, sizeof(a.date), "20130524");
	str_copy(a.region, sizeof(a.region), "us-east-1");
	str_copy(a.service, sizeof(a.service), "s3");
	str_copy(a.amz_date, sizeof(a.amz_date), "20130524T000000Z");
	str_copy(a.signed_headers, sizeof(a.signed_headers),
		 "content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;"
		 "x-amz-decoded-content-length;x-amz-storage-class");
	str_copy(a.signature, sizeof(a.signature), EX_SEED);
	return a;
}

static const char *example_header(void *ctx, const char *name)
{
	static const char *h[][2] = {
		{ "host", "s3.amazonaws.com" },
		{ "x-amz-date", "20130524T000000Z" },
		{ "x-amz-storage-class", "REDUCED_REDUNDANCY" },
		{ "x-amz-content-sha256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD" },
		{ "content-encoding", "aws-chunked" },
		{ "x-amz-decoded-content-length", "66560" },
		{ "content-length", "66824" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(h); i++)
		if (str_eq_nocase(h[i][0], name))
			return h[i][1];
	return NULL;
}

/* The body of the example; with trailers, the trailer section of the
 * aws-crt vector instead of the final empty line. */
static char *example_body(bool trailers, size_t *ret_len)
{
	struct buf b;
	buf_init(&b, 0);
	char *a = xmalloc(65536);
	memset(a, 'a', 65536);
	buf_puts(&b, "10000;chunk-signature=" EX_SIG1 "\r\n");
	buf_append(&b, a, 65536);
	buf_puts(&b, "\r\n400;chunk-signature=" EX_SIG2 "\r\n");
	buf_append(&b, a, 1024);
	buf_puts(&b, "\r\n0;chunk-signature=" EX_SIG3 "\r\n");
	if (trailers)
		buf_puts(&b, "first:1st\r\nsecond:2nd\r\nthird:3rd\r\n"
			     "x-amz-trailer-signature:" EX_TRAILER_SIG "\r\n");
	buf_puts(&b, "\r\n");
	free(a);
	return buf_detach(&b, ret_len);
}

/* A sink that keeps what it is given, up to a limit. */
struct sink {
	struct buf out;
	int fail_after;   /* calls before it fails with -EIO; < 0: never */
};

static int sink_data(void *ctx, const void *data, size_t n)
{
	struct sink *s = ctx;
	if (s->fail_after == 0)
		return -EIO;
	if (s->fail_after > 0)
		s->fail_after--;
	assert_true(n > 0);
	return buf_append(&s->out, data, n);
}

struct run {
	int feed;             /* first error of a feed, or 0 */
	int finish;           /* what awschunked_finish returned */
	uint64_t decoded;     /* awschunked_decoded_len */
	char why[128];        /* awschunked_error */
};

/* Decode body in pieces cut at the cuts given (sorted offsets), with the
 * example's key when the mode signs; the output goes to s. */
static struct run decode_cut(enum awschunked_mode mode, const char *body, size_t len,
			     const size_t *cuts, size_t ncuts, struct sink *s,
			     struct awschunked **ret_d)
{
	struct sigv4_auth a = example_auth();
	unsigned char key[SIGV4_KEY_SIZE];
	sigv4_signing_key(EX_SECRET, a.date, a.region, a.service, key);
	struct awschunked_opts o = { .mode = mode, .auth = &a, .key = key, .data = sink_data,
				     .ctx = s };
	struct awschunked *d = awschunked_new(&o);
	struct run r = { 0 };
	size_t off = 0;
	for (size_t i = 0; i <= ncuts && !r.feed; i++) {
		size_t end = i < ncuts ? cuts[i] : len;
		r.feed = awschunked_feed(d, body + off, end - off);
		off = end;
	}
	r.finish = awschunked_finish(d);
	r.decoded = awschunked_decoded_len(d);
	str_copy(r.why, sizeof(r.why), awschunked_error(d));
	if (ret_d)
		*ret_d = d;
	else
		awschunked_free(d);
	return r;
}

static struct run decode(enum awschunked_mode mode, const char *body, size_t len)
{
	struct sink s = { .fail_after = -1 };
	buf_init(&s.out, 0);
	struct run r = decode_cut(mode, body, len, NULL, 0, &s, NULL);
	buf_release(&s.out);
	return r;
}

static void assert_all_a(const struct sink *s, size_t n)
{
	assert_int_equal(s->out.len, n);
	for (size_t i = 0; i < n; i++)
		if (s->out.data[i] != 'a')
			fail_msg("byte %zu of the decoded data is %d", i, s->out.data[i]);
}

/* The seed signature of the example comes out of lib/sigv4 as published. */
static void test_awschunked_example_seed(void **state)
{
	struct sigv4_auth a = example_auth();
	struct sigv4_request r = { .method = "PUT", .path = "/examplebucket/chunkObject.txt",
				   .header = example_header,
				   .payload_hash = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", .s3 = true };
	char *canonical = NULL, sig[65];
	assert_int_equal(sigv4_canonical_request(&r, &a, &canonical), 0);
	char *sts = sigv4_string_to_sign(&a, canonical);
	sigv4_sign(EX_SECRET, &a, sts, sig);
	assert_string_equal(sig, EX_SEED);
	/* the same through the derived key */
	unsigned char key[SIGV4_KEY_SIZE];
	sigv4_signing_key(EX_SECRET, a.date, a.region, a.service, key);
	sigv4_sign_key(key, sts, strlen(sts), sig);
	assert_string_equal(sig, EX_SEED);
	free(sts);
	free(canonical);
}

static void check_example(bool trailers, const size_t *cuts, size_t ncuts)
{
	size_t len;
	char *body = example_body(trailers, &len);
	struct sink s = { .fail_after = -1 };
	buf_init(&s.out, 0);
	struct awschunked *d = NULL;
	struct run r = decode_cut(trailers ? AWSCHUNKED_SIGNED_TRAILER : AWSCHUNKED_SIGNED, body,
				  len, cuts, ncuts, &s, &d);
	if (r.feed || r.finish)
		fail_msg("decoding failed (%d, %d): %s", r.feed, r.finish, r.why);
	assert_int_equal(r.decoded, 66560);
	assert_all_a(&s, 66560);
	size_t n;
	const struct awschunked_trailer *t = awschunked_trailers(d, &n);
	assert_int_equal(n, trailers ? 3 : 0);
	if (trailers) {
		assert_string_equal(t[0].name, "first");
		assert_string_equal(t[2].value, "3rd");
		assert_string_equal(awschunked_trailer(d, "Second"), "2nd");
	}
	assert_null(awschunked_trailer(d, "x-amz-trailer-signature"));
	awschunked_free(d);
	buf_release(&s.out);
	free(body);
}

/* The published body decodes to its 66560 bytes whole, byte by byte, and cut
 * in two at every offset of its framing (and every 97th inside the data). */
static void test_awschunked_example_every_split(void **state)
{
	size_t len;
	char *body = example_body(false, &len);
	free(body);
	assert_int_equal(len, 66824); /* the example's Content-Length */
	for (int t = 0; t <= 1; t++) {
		check_example(t, NULL, 0);
		size_t blen;
		free(example_body(t, &blen));
		size_t *cuts = xmalloc(blen * sizeof(*cuts));
		for (size_t i = 0; i < blen; i++)
			cuts[i] = i + 1;
		check_example(t, cuts, blen - 1); /* byte by byte */
		free(cuts);
		for (size_t cut = 1; cut < blen; cut++) {
			bool framing = cut < 120 || (cut > 65600 && cut < 65760) || cut > 66650;
			if (framing || cut % 97 == 0)
				check_example(t, &cut, 1);
		}
		/* random pieces */
		for (int i = 0; i < 20; i++) {
			size_t rc[12];
			size_t k = 1 + rng() % 11;
			for (size_t j = 0; j < k; j++)
				rc[j] = rng() % blen;
			for (size_t x = 1; x < k; x++) /* sort */
				for (size_t y = x; y > 0 && rc[y - 1] > rc[y]; y--) {
					size_t tmp = rc[y];
					rc[y] = rc[y - 1];
					rc[y - 1] = tmp;
				}
			check_example(t, rc, k);
		}
	}
}

/* Changing any one byte of a signature, of the data or of a trailer makes it
 * a signature mismatch, not a success. */
static void test_awschunked_example_tampered(void **state)
{
	size_t len;
	char *body = example_body(true, &len);
	/* offsets: in the first signature, in chunk 1's data, in chunk 2's data,
	 * in the zero chunk's signature, in a trailer value, in the trailer signature */
	size_t first = strlen("10000;chunk-signature=") + 3;
	size_t data1 = 88 + 1000, data2 = 65626 + 86 + 10;
	char *zero = strstr(body + 66000, "0;chunk-signature=");
	char *tr = strstr(body + 66000, "2nd");
	char *tsig = strstr(body + 66000, "x-amz-trailer-signature:");
	assert_non_null(zero);
	assert_non_null(tr);
	assert_non_null(tsig);
	size_t offs[] = { first, data1, data2, (size_t)(zero - body) + 20, (size_t)(tr - body),
			  (size_t)(tsig - body) + 30 };
	for (size_t i = 0; i < ARRAY_SIZE(offs); i++) {
		char saved = body[offs[i]];
		body[offs[i]] = saved == 'a' ? 'b' : saved == '0' ? '1' : '0';
		struct run r = decode(AWSCHUNKED_SIGNED_TRAILER, body, len);
		assert_int_equal(r.feed, AWSCHUNKED_ESIGNATURE);
		assert_int_equal(r.finish, AWSCHUNKED_ESIGNATURE);
		assert_true(strstr(r.why, "signature does not match") != NULL);
		body[offs[i]] = saved;
	}
	/* a different secret: the first chunk fails */
	struct sigv4_auth a = example_auth();
	unsigned char key[SIGV4_KEY_SIZE];
	sigv4_signing_key("another secret", a.date, a.region, a.service, key);
	struct awschunked_opts o = { .mode = AWSCHUNKED_SIGNED_TRAILER, .auth = &a, .key = key };
	struct awschunked *d = awschunked_new(&o);
	assert_int_equal(awschunked_feed(d, body, len), AWSCHUNKED_ESIGNATURE);
	assert_int_equal(awschunked_decoded_len(d), 65536);
	/* the error is final */
	assert_int_equal(awschunked_feed(d, "", 0), AWSCHUNKED_ESIGNATURE);
	awschunked_free(d);
	/* trailers are signed in name order, whatever order they come in */
	char *tblock = strstr(body + 66000, "first:1st\r\nsecond:2nd\r\nthird:3rd\r\n");
	assert_non_null(tblock);
	memcpy(tblock, "third:3rd\r\nfirst:1st\r\nsecond:2nd\r\n", 34);
	struct run sorted = decode(AWSCHUNKED_SIGNED_TRAILER, body, len);
	assert_int_equal(sorted.finish, 0);
	memcpy(tblock, "first:1st\r\nsecond:2nd\r\nthird:3rd\r\n", 34);
	/* unchanged, it passes (the loop restored every byte) */
	struct run r = decode(AWSCHUNKED_SIGNED_TRAILER, body, len);
	assert_int_equal(r.finish, 0);
	free(body);
}

/* STREAMING-UNSIGNED-PAYLOAD-TRAILER as botocore sends it, at every split. */
static void test_awschunked_unsigned_trailer(void **state)
{
	static const char body[] = "5\r\nhello\r\nA\r\n, world!!!\r\n0\r\n"
				   "x-amz-checksum-crc32:c8nx1Q==\r\n\r\n";
	size_t len = sizeof(body) - 1;
	for (size_t cut = 0; cut <= len; cut++) {
		struct sink s = { .fail_after = -1 };
		buf_init(&s.out, 0);
		struct awschunked *d = NULL;
		struct run r = decode_cut(AWSCHUNKED_UNSIGNED_TRAILER, body, len, &cut, 1, &s, &d);
		assert_int_equal(r.feed, 0);
		assert_int_equal(r.finish, 0);
		assert_int_equal(r.decoded, 15);
		assert_int_equal(s.out.len, 15);
		assert_memory_equal(s.out.data, "hello, world!!!", 15);
		assert_string_equal(awschunked_trailer(d, "x-amz-checksum-crc32"), "c8nx1Q==");
		awschunked_free(d);
		buf_release(&s.out);
	}
	/* an empty object: the zero chunk and trailers only */
	static const char empty[] = "0\r\nx-amz-checksum-crc64nvme:AAAAAAAAAAA=\r\n\r\n";
	struct run r = decode(AWSCHUNKED_UNSIGNED_TRAILER, empty, sizeof(empty) - 1);
	assert_int_equal(r.finish, 0);
	assert_int_equal(r.decoded, 0);
	/* chunk extensions are ignored in the unsigned form */
	static const char ext[] = "3;foo=bar\r\nabc\r\n0\r\n\r\n";
	r = decode(AWSCHUNKED_UNSIGNED_TRAILER, ext, sizeof(ext) - 1);
	assert_int_equal(r.finish, 0);
	assert_int_equal(r.decoded, 3);
}

static void test_awschunked_parse_mode(void **state)
{
	enum awschunked_mode m;
	assert_int_equal(awschunked_parse_mode("STREAMING-AWS4-HMAC-SHA256-PAYLOAD", &m), 0);
	assert_int_equal(m, AWSCHUNKED_SIGNED);
	assert_int_equal(awschunked_parse_mode("STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER", &m), 0);
	assert_int_equal(m, AWSCHUNKED_SIGNED_TRAILER);
	assert_int_equal(awschunked_parse_mode("STREAMING-UNSIGNED-PAYLOAD-TRAILER", &m), 0);
	assert_int_equal(m, AWSCHUNKED_UNSIGNED_TRAILER);
	assert_int_equal(awschunked_parse_mode("UNSIGNED-PAYLOAD", &m), -ENOENT);
	assert_int_equal(awschunked_parse_mode(EX_SEED, &m), -ENOENT);
	assert_int_equal(awschunked_parse_mode("streaming-aws4-hmac-sha256-payload", &m), -ENOENT);
	assert_int_equal(awschunked_parse_mode("STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD", &m),
			 -ENOENT);
	assert_int_equal(awschunked_parse_mode(NULL, &m), -ENOENT);
}

/* Each malformed body gets AWSCHUNKED_EMALFORMED with a reason, at the feed
 * or at the end. */
static void test_awschunked_malformed(void **state)
{
	static const struct {
		enum awschunked_mode mode;
		const char *body;
		const char *why; /* part of the reason */
	} cases[] = {
		{ AWSCHUNKED_UNSIGNED_TRAILER, "", "ended before" },
		{ AWSCHUNKED_UNSIGNED_TRAILER, "5\r\nhel", "ended before" },
		{ AWSCHUNKED_UNSIGNED_TRAILER, "5\r\nhello\r\n", "ended before" },
		{ AWSCHUNKED_UNSIGNED_TRAILER, "0\r\n", "ended before" },
		{ AWSCHUNKED_UNSIGNED_TRAILER, "0\r\nx-amz-checksum-crc32:AAAAAA==\r\n", "ended before" },
		{ AWSCHUNKED_UNSIGNED_TRAILER, "x\r\n", "hex size" },
		{ AWSCHUNKED_UNSIGNED_TRAILER, "\r\n", "hex size" },
		{ AWSCHUNKED_UNSIGNED_TRAILER, "-5\r\nhello\r\n", "hex size" },
		{ AWSCHUNKED_UNSIGNED_TRAILER, "5x\r\nhello\r\n", "not a hex number" },
		{ AWSCHUNKED_UNSIGNED_TRAILER, " 5\r\nhello\r\n", "hex size" },
		{ AWSCHUNKED_UNSIGNED_TRAILER, "5\nhello\r\n", "CRLF" },
		{ AWSCHUNKED_UNSIGNED_TRAILER, "5\r\nhello\n0\r\n\r\n", "CRLF" },
		{ AWSCHUNKED_UNSIGNED_TRAILER, "5\r\nhello!\r\n0\r\n\r\n", "longer than its size" },
		{ AWSCHUNKED_UNSIGNED_TRAILER, "00000000000000005\r\nhello\r\n", "too many digits" },
		{ AWSCHUNKED_UNSIGNED_TRAILER, "140000001\r\n", "larger than 5 GiB" },
		{ AWSCHUNKED_UNSIGNED_TRAILER, "ffffffffffffffff\r\n", "larger than 5 GiB" },
		{ AWSCHUNKED_UNSIGNED_TRAILER, "0\r\n\r\nmore", "after its end" },
		{ AWSCHUNKED_UNSIGNED_TRAILER, "0\r\nnocolon\r\n\r\n", "name:value" },
		{ AWSCHUNKED_UNSIGNED_TRAILER, "0\r\n:value\r\n\r\n", "name:value" },
		{ AWSCHUNKED_UNSIGNED_TRAILER, "0\r\nba d:value\r\n\r\n", "bad character" },
		{ AWSCHUNKED_UNSIGNED_TRAILER, "0\r\na:1\r\nA:2\r\n\r\n", "repeated" },
		{ AWSCHUNKED_UNSIGNED_TRAILER, "0\r\na:1\r\nb:1\r\nc:1\r\nd:1\r\ne:1\r\nf:1\r\n"
					       "g:1\r\nh:1\r\ni:1\r\n\r\n", "too many trailers" },
		{ AWSCHUNKED_UNSIGNED_TRAILER, "0\r\nx-amz-trailer-signature:" EX_SEED "\r\n\r\n",
		  "unsigned body" },
		{ AWSCHUNKED_UNSIGNED_TRAILER, "0\r\na:\x01\r\n\r\n", "control character" },
		{ AWSCHUNKED_UNSIGNED_TRAILER, "0\r\na:b\rc\r\n\r\n", "control character" },
		{ AWSCHUNKED_SIGNED, "5\r\nhello\r\n", "chunk-signature" },
		{ AWSCHUNKED_SIGNED, "5;chunk-signature=abc\r\nhello\r\n", "chunk-signature" },
		{ AWSCHUNKED_SIGNED, "5;chunk-signature=" EX_SEED "0\r\nhello\r\n", "chunk-signature" },
		{ AWSCHUNKED_SIGNED, "5;chunk-signature=AD80C730A21E5B8D04586A2213DD63B9A0E99E0E2307B0ADE35A65485A288648\r\n",
		  "chunk-signature" },
		{ AWSCHUNKED_SIGNED, "5;chunk-signatur=" EX_SIG1 "\r\n", "chunk-signature" },
		{ AWSCHUNKED_SIGNED, "10000;chunk-signature=" EX_SIG1, "ended before" },
		{ AWSCHUNKED_SIGNED_TRAILER, "0;chunk-signature=" EX_SEED "\r\n", "" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct run r = decode(cases[i].mode, cases[i].body, strlen(cases[i].body));
		if (i == ARRAY_SIZE(cases) - 1) {
			/* the zero chunk under the wrong signature */
			assert_int_equal(r.finish, AWSCHUNKED_ESIGNATURE);
			continue;
		}
		if (r.finish != AWSCHUNKED_EMALFORMED || !strstr(r.why, cases[i].why))
			fail_msg("case %zu (%s): finish %d, why \"%s\"", i, cases[i].body, r.finish,
				 r.why);
	}
	/* a line longer than any chunk header or trailer */
	char *long_line = xmalloc(2000);
	memset(long_line, '0', 1999);
	long_line[1999] = '\0';
	memcpy(long_line, "0\r\nname:", 8);
	struct run r = decode(AWSCHUNKED_UNSIGNED_TRAILER, long_line, 1999);
	assert_int_equal(r.feed, AWSCHUNKED_EMALFORMED);
	assert_non_null(strstr(r.why, "too long"));
	free(long_line);
	/* a trailer value over the limit (but within a line) */
	struct buf b;
	buf_init(&b, 0);
	buf_puts(&b, "0\r\nx-amz-checksum-crc32:");
	for (int i = 0; i < AWSCHUNKED_MAX_TRAILER_VALUE + 1; i++)
		buf_puts(&b, "A");
	buf_puts(&b, "\r\n\r\n");
	r = decode(AWSCHUNKED_UNSIGNED_TRAILER, b.data, b.len);
	assert_int_equal(r.feed, AWSCHUNKED_EMALFORMED);
	assert_non_null(strstr(r.why, "value is too long"));
	buf_release(&b);
	/* signed trailers without their signature */
	size_t len;
	char *body = example_body(true, &len);
	char *sig = strstr(body + 66000, "x-amz-trailer-signature:");
	memcpy(sig, "\r\n", 3);
	r = decode(AWSCHUNKED_SIGNED_TRAILER, body, strlen(body));
	assert_int_equal(r.finish, AWSCHUNKED_EMALFORMED);
	assert_non_null(strstr(r.why, "no signature"));
	free(body);
	/* a signed body whose final chunk is followed by more chunks */
	body = example_body(false, &len);
	struct buf more;
	buf_init(&more, 0);
	buf_append(&more, body, len - 2);
	buf_puts(&more, "5;chunk-signature=" EX_SIG1 "\r\n");
	r = decode(AWSCHUNKED_SIGNED, more.data, more.len);
	assert_int_equal(r.finish, AWSCHUNKED_EMALFORMED);
	assert_non_null(strstr(r.why, "after its end"));
	buf_release(&more);
	free(body);
}

/* A body signed by an independent signer (Python's hmac, in the manner of
 * aws-c-auth) with the example's key and seed: one chunk, a trailing
 * checksum and the trailer signature. */
static void test_awschunked_signed_trailer_independent(void **state)
{
	static const char body[] =
		"b;chunk-signature=658a49ee7b49af44c11311d3461346a5688fb3ce5daa61dd95377587f0149255\r\n"
		"hello world\r\n"
		"0;chunk-signature=1172018d76cd25eb7956fc92d1935d976024a1d96841533ea7b72efe5e8d7463\r\n"
		"x-amz-checksum-crc32c:yZRlqg==\r\n"
		"x-amz-trailer-signature:b6b860481e7a17a1b23ae6aa3b24152089b1aec92c351bcfc64524c243e1820c\r\n"
		"\r\n";
	struct sink s = { .fail_after = -1 };
	buf_init(&s.out, 0);
	struct awschunked *d = NULL;
	struct run r = decode_cut(AWSCHUNKED_SIGNED_TRAILER, body, sizeof(body) - 1, NULL, 0, &s,
				  &d);
	if (r.finish)
		fail_msg("decoding failed: %s", r.why);
	assert_int_equal(s.out.len, 11);
	assert_memory_equal(s.out.data, "hello world", 11);
	assert_string_equal(awschunked_trailer(d, "x-amz-checksum-crc32c"), "yZRlqg==");
	awschunked_free(d);
	buf_release(&s.out);
}

/* botocore's own aws-chunked writer (the one boto3 and the aws CLI send
 * with) makes bodies of random data with trailing checksums, in chunks of
 * several sizes; each decodes to its data, and its trailer equals the
 * checksum lib/checksum computes over what came out. Uses Debian's
 * python3-botocore (scripts/deps). */
static const char botocore_script[] =
	"import io, os, random, sys\n"
	"from botocore import httpchecksum as h\n"
	"random.seed(7)\n"
	"algos = [('x-amz-checksum-crc32', h.Crc32Checksum),\n"
	"         ('x-amz-checksum-sha1', h.Sha1Checksum),\n"
	"         ('x-amz-checksum-sha256', h.Sha256Checksum)]\n"
	"if hasattr(h, 'CrtCrc32cChecksum'):\n"
	"    try:\n"
	"        h.CrtCrc32cChecksum()\n"
	"        algos.append(('x-amz-checksum-crc32c', h.CrtCrc32cChecksum))\n"
	"    except Exception:\n"
	"        pass\n"
	"i = 0\n"
	"for name, cls in algos:\n"
	"    for size in (0, 1, 100, 8191, 70000, 300000):\n"
	"        data = os.urandom(size)\n"
	"        chunk = random.choice((8192, 65536, 1 << 20))\n"
	"        w = h.AwsChunkedWrapper(io.BytesIO(data), checksum_cls=cls,\n"
	"                                checksum_name=name, chunk_size=chunk)\n"
	"        open('%s/data-%d' % (sys.argv[1], i), 'wb').write(data)\n"
	"        open('%s/body-%d' % (sys.argv[1], i), 'wb').write(w.read())\n"
	"        print(i, name)\n"
	"        i += 1\n";

/* The contents of the file at path; its length in *ret_len. Caller frees. */
static char *slurp(const char *path, size_t *ret_len)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	struct buf b;
	buf_init(&b, 0);
	char chunk[65536];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_append(&b, chunk, n);
	fclose(f);
	return buf_detach(&b, ret_len);
}

static void test_awschunked_botocore_bodies(void **state)
{
	char dir[UNIT_DIR_SIZE];
	assert_int_equal(unit_tmpdir_make(dir), 0);
	char script[UNIT_DIR_SIZE + 16];
	snprintf(script, sizeof(script), "%s/make.py", dir);
	FILE *f = fopen(script, "w");
	assert_non_null(f);
	fputs(botocore_script, f);
	fclose(f);
	char *cmd = xasprintf("/usr/bin/python3 %s %s", script, dir);
	FILE *p = popen(cmd, "r");
	free(cmd);
	assert_non_null(p);
	int i, count = 0;
	char name[64];
	while (fscanf(p, "%d %63s", &i, name) == 2) {
		char path[UNIT_DIR_SIZE + 32];
		size_t blen, dlen;
		snprintf(path, sizeof(path), "%s/body-%d", dir, i);
		char *body = slurp(path, &blen);
		snprintf(path, sizeof(path), "%s/data-%d", dir, i);
		char *data = slurp(path, &dlen);
		struct sink s = { .fail_after = -1 };
		buf_init(&s.out, 0);
		struct awschunked *d = NULL;
		size_t cut = blen / 3;
		struct run r = decode_cut(AWSCHUNKED_UNSIGNED_TRAILER, body, blen, &cut, 1, &s, &d);
		if (r.finish)
			fail_msg("botocore body %d (%s): %s", i, name, r.why);
		assert_int_equal(s.out.len, dlen);
		assert_true(dlen == 0 || memcmp(s.out.data, data, dlen) == 0);
		enum checksum_algo algo = checksum_from_header(name);
		unsigned char raw[CHECKSUM_MAX];
		char b64[CHECKSUM_BASE64_SIZE];
		checksum_base64(raw, checksum_buf(algo, data, dlen, raw), b64);
		assert_non_null(awschunked_trailer(d, name));
		assert_string_equal(awschunked_trailer(d, name), b64);
		awschunked_free(d);
		buf_release(&s.out);
		free(body);
		free(data);
		unlink(path);
		snprintf(path, sizeof(path), "%s/body-%d", dir, i);
		unlink(path);
		count++;
	}
	int st = pclose(p);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_true(count >= 18);
	assert_int_equal(unit_tmpdir_remove(dir), 0);
}

/* The sink's error stops the decoder and comes back as it was. */
static void test_awschunked_sink_error(void **state)
{
	size_t len;
	char *body = example_body(false, &len);
	struct sink s = { .fail_after = 3 };
	buf_init(&s.out, 0);
	size_t cuts[] = { 1000, 2000, 3000, 4000, 5000 };
	struct run r = decode_cut(AWSCHUNKED_SIGNED, body, len, cuts, ARRAY_SIZE(cuts), &s, NULL);
	assert_int_equal(r.feed, -EIO);
	assert_int_equal(r.finish, -EIO);
	assert_int_equal(s.out.len, r.decoded);
	assert_true(r.decoded < 5000);
	assert_non_null(strstr(r.why, "stored"));
	buf_release(&s.out);
	free(body);
}

/* ------------------------------------------------------------------ s3xml */

static void test_s3xml_complete(void **state)
{
	/* AWS's example, with an escaped quote form and a checksum */
	static const char body[] =
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\n"
		"  <Part>\n    <ETag>\"a54357aff0632cce46d942af68356b38\"</ETag>\n"
		"    <PartNumber>1</PartNumber>\n  </Part>\n"
		"  <Part><PartNumber> 2 </PartNumber><ETag>0c78aef83f66abc1fa1e8477f296d394</ETag>"
		"<ChecksumCRC32>y/Q5Jg==</ChecksumCRC32>"
		"<ChecksumCRC64NVME>rosUhgp5mIg=</ChecksumCRC64NVME></Part>\n"
		"  <Part><ETag>&quot;acbd18db4cc2f85cedef654fccc4a4d8&quot;</ETag>"
		"<PartNumber>10000</PartNumber><Size>5</Size></Part>\n"
		"</CompleteMultipartUpload>";
	struct arena *a = arena_new();
	struct s3xml_complete c;
	const char *why = NULL;
	assert_int_equal(s3xml_parse_complete(a, body, strlen(body), &c, &why), 0);
	assert_int_equal(c.nparts, 3);
	assert_int_equal(c.parts[0].number, 1);
	assert_string_equal(c.parts[0].etag, "a54357aff0632cce46d942af68356b38");
	assert_null(c.parts[0].checksum[CHECKSUM_CRC32]);
	assert_int_equal(c.parts[1].number, 2);
	assert_string_equal(c.parts[1].etag, "0c78aef83f66abc1fa1e8477f296d394");
	assert_string_equal(c.parts[1].checksum[CHECKSUM_CRC32], "y/Q5Jg==");
	assert_string_equal(c.parts[1].checksum[CHECKSUM_CRC64NVME], "rosUhgp5mIg=");
	assert_null(c.parts[1].checksum[CHECKSUM_SHA256]);
	assert_int_equal(c.parts[2].number, 10000);
	assert_string_equal(c.parts[2].etag, "acbd18db4cc2f85cedef654fccc4a4d8");
	/* 10000 parts is the most */
	struct buf b;
	buf_init(&b, 0);
	buf_puts(&b, "<CompleteMultipartUpload>");
	for (int i = 1; i <= S3XML_MAX_PARTS; i++)
		buf_printf(&b, "<Part><PartNumber>%d</PartNumber><ETag>e%d</ETag></Part>", i, i);
	buf_puts(&b, "</CompleteMultipartUpload>");
	assert_int_equal(s3xml_parse_complete(a, b.data, b.len, &c, &why), 0);
	assert_int_equal(c.nparts, 10000);
	assert_string_equal(c.parts[9999].etag, "e10000");
	b.len -= strlen("</CompleteMultipartUpload>");
	buf_puts(&b, "<Part><PartNumber>1</PartNumber><ETag>x</ETag></Part></CompleteMultipartUpload>");
	assert_int_equal(s3xml_parse_complete(a, b.data, b.len, &c, &why), -EINVAL);
	assert_non_null(strstr(why, "more than 10000"));
	buf_release(&b);
	arena_free(a);
}

/* Each bad document is refused with a reason that says what is wrong. */
static void test_s3xml_rejects(void **state)
{
	static const struct {
		int kind; /* 0 complete, 1 delete, 2 versioning, 3 cors, 4 create bucket */
		const char *body;
		const char *why;
	} cases[] = {
		{ 0, "", "empty" },
		{ 0, "<CompleteMultipartUpload>", "not well-formed" },
		{ 0, "<CompleteMultipartUpload></Complete>", "not well-formed" },
		{ 0, "not xml at all", "not well-formed" },
		{ 0, "<Delete></Delete>", "root element" },
		{ 0, "<CompleteMultipartUpload/>", "no <Part>" },
		{ 0, "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber></Part>"
		     "</CompleteMultipartUpload>", "<ETag>" },
		{ 0, "<CompleteMultipartUpload><Part><ETag>x</ETag></Part>"
		     "</CompleteMultipartUpload>", "<PartNumber>" },
		{ 0, "<CompleteMultipartUpload><Part><PartNumber>0</PartNumber><ETag>x</ETag></Part>"
		     "</CompleteMultipartUpload>", "1 to 10000" },
		{ 0, "<CompleteMultipartUpload><Part><PartNumber>10001</PartNumber><ETag>x</ETag>"
		     "</Part></CompleteMultipartUpload>", "1 to 10000" },
		{ 0, "<CompleteMultipartUpload><Part><PartNumber>-1</PartNumber><ETag>x</ETag>"
		     "</Part></CompleteMultipartUpload>", "1 to 10000" },
		{ 0, "<CompleteMultipartUpload><Part><PartNumber>1x</PartNumber><ETag>x</ETag>"
		     "</Part></CompleteMultipartUpload>", "1 to 10000" },
		{ 0, "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><PartNumber>2"
		     "</PartNumber><ETag>x</ETag></Part></CompleteMultipartUpload>", "more than once" },
		{ 0, "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag><b/></ETag>"
		     "</Part></CompleteMultipartUpload>", "must hold text" },
		{ 0, "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>\"\"</ETag>"
		     "</Part></CompleteMultipartUpload>", "empty <ETag>" },
		{ 0, "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>x</ETag>"
		     "<ChecksumCRC32>rosUhgp5mIg=</ChecksumCRC32></Part></CompleteMultipartUpload>",
		  "CRC32 checksum" },
		{ 0, "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>x&undefined;"
		     "</ETag></Part></CompleteMultipartUpload>", "not well-formed" },
		/* XXE: an external entity */
		{ 0, "<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
		     "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&x;</ETag>"
		     "</Part></CompleteMultipartUpload>", "DOCTYPE" },
		/* billion laughs */
		{ 1, "<!DOCTYPE Delete [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;"
		     "&a;&a;&a;&a;\"><!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">]>"
		     "<Delete><Object><Key>&c;</Key></Object></Delete>", "DOCTYPE" },
		{ 1, "<!DOCTYPE Delete SYSTEM \"http://127.0.0.1:1/x.dtd\"><Delete/>", "DOCTYPE" },
		{ 1, "<Delete/>", "no <Object>" },
		{ 1, "<Delete><Object><Key></Key></Object></Delete>", "non-empty <Key>" },
		{ 1, "<Delete><Object><VersionId>v</VersionId></Object></Delete>", "non-empty <Key>" },
		{ 1, "<Delete><Object><Key>a</Key><Key>b</Key></Object></Delete>", "more than once" },
		{ 1, "<Delete><Quiet>yes</Quiet><Object><Key>a</Key></Object></Delete>",
		  "true or false" },
		{ 2, "<VersioningConfiguration><Status>enabled</Status></VersioningConfiguration>",
		  "Enabled or Suspended" },
		{ 2, "<VersioningConfiguration><Status>Disabled</Status></VersioningConfiguration>",
		  "Enabled or Suspended" },
		{ 2, "<VersioningConfiguration><Status>Enabled</Status><Status>Enabled</Status>"
		     "</VersioningConfiguration>", "more than once" },
		{ 3, "<CORSConfiguration/>", "no <CORSRule>" },
		{ 3, "<CORSConfiguration><CORSRule><AllowedMethod>GET</AllowedMethod></CORSRule>"
		     "</CORSConfiguration>", "<AllowedOrigin>" },
		{ 3, "<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin></CORSRule>"
		     "</CORSConfiguration>", "<AllowedMethod>" },
		{ 3, "<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin>"
		     "<AllowedMethod>PATCH</AllowedMethod></CORSRule></CORSConfiguration>",
		  "GET, PUT" },
		{ 3, "<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin>"
		     "<AllowedMethod>get</AllowedMethod></CORSRule></CORSConfiguration>", "GET, PUT" },
		{ 3, "<CORSConfiguration><CORSRule><AllowedOrigin> </AllowedOrigin>"
		     "<AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>", "is empty" },
		{ 3, "<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin>"
		     "<AllowedMethod>GET</AllowedMethod><MaxAgeSeconds>-1</MaxAgeSeconds></CORSRule>"
		     "</CORSConfiguration>", "whole number" },
		{ 3, "<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin>"
		     "<AllowedMethod>GET</AllowedMethod><MaxAgeSeconds>3000000000</MaxAgeSeconds>"
		     "</CORSRule></CORSConfiguration>", "whole number" },
		{ 4, "<CreateBucketConfiguration><LocationConstraint>eu west"
		     "</LocationConstraint></CreateBucketConfiguration>", "region name" },
		{ 4, "<CreateBucketConfiguration><LocationConstraint>a</LocationConstraint>"
		     "<LocationConstraint>b</LocationConstraint></CreateBucketConfiguration>",
		  "more than once" },
	};
	struct arena *a = arena_new();
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		const char *b = cases[i].body, *why = "";
		size_t n = strlen(b);
		struct s3xml_complete c;
		struct s3xml_delete d;
		struct s3xml_versioning v;
		struct s3xml_cors cors;
		struct s3xml_create_bucket cb;
		int r = cases[i].kind == 0   ? s3xml_parse_complete(a, b, n, &c, &why)
			: cases[i].kind == 1 ? s3xml_parse_delete(a, b, n, &d, &why)
			: cases[i].kind == 2 ? s3xml_parse_versioning(a, b, n, &v, &why)
			: cases[i].kind == 3 ? s3xml_parse_cors(a, b, n, &cors, &why)
					     : s3xml_parse_create_bucket(a, b, n, &cb, &why);
		if (r != -EINVAL || !strstr(why, cases[i].why))
			fail_msg("case %zu: %d \"%s\" for %s", i, r, why, b);
	}
	arena_free(a);
}

/* A body over the limit is refused before parsing; so are 1001 keys. */
static void test_s3xml_limits(void **state)
{
	struct arena *a = arena_new();
	const char *why = NULL;
	struct s3xml_cors cors;
	size_t n = S3XML_MAX_CORS_BODY + 1;
	char *big = xmalloc(n);
	memset(big, ' ', n);
	assert_int_equal(s3xml_parse_cors(a, big, n, &cors, &why), -EINVAL);
	assert_non_null(strstr(why, "too large"));
	free(big);
	struct buf b;
	buf_init(&b, 0);
	buf_puts(&b, "<Delete>");
	for (int i = 0; i < S3XML_MAX_DELETE_KEYS; i++)
		buf_printf(&b, "<Object><Key>k%d</Key></Object>", i);
	buf_puts(&b, "</Delete>");
	struct s3xml_delete d;
	assert_int_equal(s3xml_parse_delete(a, b.data, b.len, &d, &why), 0);
	assert_int_equal(d.nobjects, 1000);
	b.len -= strlen("</Delete>");
	buf_puts(&b, "<Object><Key>one more</Key></Object></Delete>");
	assert_int_equal(s3xml_parse_delete(a, b.data, b.len, &d, &why), -EINVAL);
	assert_non_null(strstr(why, "more than 1000"));
	buf_reset(&b);
	buf_puts(&b, "<CORSConfiguration>");
	for (int i = 0; i <= S3XML_MAX_CORS_RULES; i++)
		buf_puts(&b, "<CORSRule><AllowedOrigin>*</AllowedOrigin>"
			     "<AllowedMethod>GET</AllowedMethod></CORSRule>");
	buf_puts(&b, "</CORSConfiguration>");
	assert_int_equal(s3xml_parse_cors(a, b.data, b.len, &cors, &why), -EINVAL);
	assert_non_null(strstr(why, "more than 100"));
	buf_release(&b);
	arena_free(a);
}

static void test_s3xml_delete(void **state)
{
	static const char body[] =
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
		"<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
		"<Object><Key>sample1.txt</Key></Object>"
		"<Object><Key> spaced &amp; &lt;odd&gt; &#233;t&#xE9; </Key>"
		"<VersionId>OYcLXagmS.WaD..oyH4KRguB95_YhLs7</VersionId></Object>"
		"<Object><Key><![CDATA[a<b]]></Key><ETag>x</ETag></Object>"
		"<Quiet>true</Quiet></Delete>";
	struct arena *a = arena_new();
	struct s3xml_delete d;
	const char *why = NULL;
	assert_int_equal(s3xml_parse_delete(a, body, strlen(body), &d, &why), 0);
	assert_int_equal(d.nobjects, 3);
	assert_true(d.quiet);
	assert_string_equal(d.objects[0].key, "sample1.txt");
	assert_null(d.objects[0].version_id);
	assert_string_equal(d.objects[1].key, " spaced & <odd> \xc3\xa9t\xc3\xa9 ");
	assert_string_equal(d.objects[1].version_id, "OYcLXagmS.WaD..oyH4KRguB95_YhLs7");
	assert_string_equal(d.objects[2].key, "a<b");
	static const char loud[] = "<Delete><Object><Key>k</Key></Object><Quiet>False</Quiet>"
				   "</Delete>";
	assert_int_equal(s3xml_parse_delete(a, loud, strlen(loud), &d, &why), 0);
	assert_false(d.quiet);
	arena_free(a);
}

static void test_s3xml_versioning_and_location(void **state)
{
	struct arena *a = arena_new();
	const char *why = NULL;
	struct s3xml_versioning v;
	static const char on[] = "<VersioningConfiguration xmlns=\"http://s3.amazonaws.com/doc/"
				 "2006-03-01/\"><Status>Enabled</Status><MfaDelete>Disabled"
				 "</MfaDelete></VersioningConfiguration>";
	assert_int_equal(s3xml_parse_versioning(a, on, strlen(on), &v, &why), 0);
	assert_int_equal(v.status, S3XML_VERSIONING_ENABLED);
	static const char off[] = "<VersioningConfiguration><Status>Suspended</Status>"
				  "</VersioningConfiguration>";
	assert_int_equal(s3xml_parse_versioning(a, off, strlen(off), &v, &why), 0);
	assert_int_equal(v.status, S3XML_VERSIONING_SUSPENDED);
	static const char none[] = "<VersioningConfiguration/>";
	assert_int_equal(s3xml_parse_versioning(a, none, strlen(none), &v, &why), 0);
	assert_int_equal(v.status, S3XML_VERSIONING_ABSENT);

	struct s3xml_create_bucket cb;
	static const char eu[] = "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/"
				 "2006-03-01/\"><LocationConstraint>eu-west-1</LocationConstraint>"
				 "</CreateBucketConfiguration>";
	assert_int_equal(s3xml_parse_create_bucket(a, eu, strlen(eu), &cb, &why), 0);
	assert_string_equal(cb.location, "eu-west-1");
	static const char empty[] = "<CreateBucketConfiguration><LocationConstraint/>"
				    "</CreateBucketConfiguration>";
	assert_int_equal(s3xml_parse_create_bucket(a, empty, strlen(empty), &cb, &why), 0);
	assert_null(cb.location);
	static const char bare[] = "<CreateBucketConfiguration></CreateBucketConfiguration>";
	assert_int_equal(s3xml_parse_create_bucket(a, bare, strlen(bare), &cb, &why), 0);
	assert_null(cb.location);
	arena_free(a);
}

static void test_s3xml_cors(void **state)
{
	/* AWS's example configuration */
	static const char body[] =
		"<CORSConfiguration>"
		" <CORSRule>"
		"   <AllowedOrigin>http://www.example.com</AllowedOrigin>"
		"   <AllowedMethod>PUT</AllowedMethod><AllowedMethod>POST</AllowedMethod>"
		"   <AllowedMethod>DELETE</AllowedMethod>"
		"   <AllowedHeader>*</AllowedHeader>"
		"   <MaxAgeSeconds>3000</MaxAgeSeconds>"
		"   <ExposeHeader>x-amz-server-side-encryption</ExposeHeader>"
		"   <ExposeHeader>x-amz-request-id</ExposeHeader>"
		"   <ExposeHeader>x-amz-id-2</ExposeHeader>"
		" </CORSRule>"
		" <CORSRule><ID>public read</ID>"
		"   <AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>"
		" </CORSRule>"
		"</CORSConfiguration>";
	struct arena *a = arena_new();
	struct s3xml_cors c;
	const char *why = NULL;
	assert_int_equal(s3xml_parse_cors(a, body, strlen(body), &c, &why), 0);
	assert_int_equal(c.nrules, 2);
	const struct s3xml_cors_rule *r = &c.rules[0];
	assert_null(r->id);
	assert_int_equal(r->norigins, 1);
	assert_string_equal(r->allowed_origins[0], "http://www.example.com");
	assert_int_equal(r->nmethods, 3);
	assert_string_equal(r->allowed_methods[2], "DELETE");
	assert_int_equal(r->nallowed_headers, 1);
	assert_string_equal(r->allowed_headers[0], "*");
	assert_int_equal(r->nexpose_headers, 3);
	assert_string_equal(r->expose_headers[1], "x-amz-request-id");
	assert_int_equal(r->max_age, 3000);
	r = &c.rules[1];
	assert_string_equal(r->id, "public read");
	assert_int_equal(r->max_age, -1);
	assert_int_equal(r->nallowed_headers, 0);
	assert_int_equal(r->nexpose_headers, 0);
	arena_free(a);
}

/* What the writer escapes reads back as it was, through libxml2. */
static void test_s3xml_writer_round_trip(void **state)
{
	static const char *keys[] = {
		"plain", "a&b<c>d\"e'f", "tab\tnew\nline\r\nend", "  spaces  ", "\xc3\xa9t\xc3\xa9",
		"]]>", "&amp;", "",
	};
	struct arena *a = arena_new();
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		struct buf b;
		buf_init(&b, 0);
		s3xml_declaration(&b);
		buf_puts(&b, "<Delete><Object>");
		s3xml_element(&b, "Key", keys[i]);
		buf_puts(&b, "</Object></Delete>");
		struct s3xml_delete d;
		const char *why = NULL;
		int r = s3xml_parse_delete(a, b.data, b.len, &d, &why);
		if (!*keys[i]) {
			assert_int_equal(r, -EINVAL);
		} else {
			assert_int_equal(r, 0);
			assert_string_equal(d.objects[0].key, keys[i]);
		}
		buf_release(&b);
	}
	struct buf b;
	buf_init(&b, 0);
	s3xml_escape(&b, "a\x01z\x1f<", 5);
	assert_string_equal(b.data, "a&#x1;z&#x1F;&lt;");
	buf_reset(&b);
	s3xml_element(&b, "Key", "x\r\ny");
	assert_string_equal(b.data, "<Key>x&#13;&#10;y</Key>");
	buf_release(&b);
	arena_free(a);
}

/* ------------------------------------------------------------------ https */

struct tls_files {
	char dir[UNIT_DIR_SIZE];
	char cert[UNIT_DIR_SIZE + 16];  /* self-signed for IP 127.0.0.1 */
	char key[UNIT_DIR_SIZE + 16];   /* its key */
	char other[UNIT_DIR_SIZE + 16]; /* a key of another certificate */
	char junk[UNIT_DIR_SIZE + 16];  /* not PEM */
	char enc[UNIT_DIR_SIZE + 16];   /* the key, encrypted with a passphrase */
};

static int run_cmd(const char *cmd)
{
	int st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void tls_files_make(struct tls_files *f)
{
	assert_int_equal(unit_tmpdir_make(f->dir), 0);
	snprintf(f->cert, sizeof(f->cert), "%s/cert.pem", f->dir);
	snprintf(f->key, sizeof(f->key), "%s/key.pem", f->dir);
	snprintf(f->other, sizeof(f->other), "%s/other.pem", f->dir);
	snprintf(f->junk, sizeof(f->junk), "%s/junk.pem", f->dir);
	snprintf(f->enc, sizeof(f->enc), "%s/enc.pem", f->dir);
	char *cmd = xasprintf("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
			      "-nodes -days 1 -subj /CN=127.0.0.1 "
			      "-addext subjectAltName=IP:127.0.0.1 -keyout %s -out %s "
			      ">/dev/null 2>&1 && "
			      "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 "
			      "-out %s >/dev/null 2>&1 && echo 'not a certificate' > %s && "
			      "openssl pkey -in %s -aes256 -passout pass:secret -out %s "
			      ">/dev/null 2>&1",
			      f->key, f->cert, f->other, f->junk, f->key, f->enc);
	assert_int_equal(run_cmd(cmd), 0);
	free(cmd);
}

/* Answers "METHOD PATH BODYLEN". */
static void echo_handler(struct http_req *req, void *userdata)
{
	char *t = xasprintf("%s %s %zu", req->method, req->path, req->body.len);
	http_resp_take(req, 200, "text/plain", t, strlen(t));
}

static int serve(const char *cert, const char *key, unsigned max_conns,
		 struct http_server **ret)
{
	struct http_server_opts o = { .listen = "127.0.0.1:0", .threads = 1,
				      .body_limit = 1 << 20, .timeout_s = 10,
				      .handler = echo_handler, .max_conns = max_conns,
				      .tls_cert = cert, .tls_key = key };
	return http_server_start(&o, ret);
}

/* Run curl with args; returns its exit status and its output in out. */
static int curl_run(const char *args, char *out, size_t outsz)
{
	char *cmd = xasprintf("curl -sS --max-time 10 %s 2>/dev/null", args);
	FILE *p = popen(cmd, "r");
	free(cmd);
	assert_non_null(p);
	size_t n = fread(out, 1, outsz - 1, p);
	out[n] = '\0';
	int st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_https_serves_over_tls(void **state)
{
	struct tls_files f;
	tls_files_make(&f);
	struct http_server *srv = NULL;
	assert_int_equal(serve(f.cert, f.key, 0, &srv), 0);
	uint16_t port = http_server_port(srv);
	char out[256], args[512];

	/* a GET, verified against the certificate */
	snprintf(args, sizeof(args), "--cacert %s https://127.0.0.1:%u/hello", f.cert, port);
	assert_int_equal(curl_run(args, out, sizeof(out)), 0);
	assert_string_equal(out, "GET /hello 0");

	/* a PUT with a body sent after 100 Continue, chunked, as SDKs do */
	char body[UNIT_DIR_SIZE + 16];
	snprintf(body, sizeof(body), "%s/body", f.dir);
	FILE *b = fopen(body, "w");
	assert_non_null(b);
	for (int i = 0; i < 5000; i++)
		fputs("0123456789", b);
	fclose(b);
	snprintf(args, sizeof(args),
		 "--cacert %s -X PUT -H 'Expect: 100-continue' -H 'Transfer-Encoding: chunked' "
		 "--data-binary @%s https://127.0.0.1:%u/bucket/key",
		 f.cert, body, port);
	assert_int_equal(curl_run(args, out, sizeof(out)), 0);
	assert_string_equal(out, "PUT /bucket/key 50000");

	/* the certificate is checked: without the CA curl refuses it */
	snprintf(args, sizeof(args), "https://127.0.0.1:%u/hello", port);
	assert_int_not_equal(curl_run(args, out, sizeof(out)), 0);
	/* plain HTTP to the TLS port gets no answer */
	snprintf(args, sizeof(args), "http://127.0.0.1:%u/hello", port);
	assert_int_not_equal(curl_run(args, out, sizeof(out)), 0);
	assert_string_equal(out, "");
	http_server_free(srv);
	assert_int_equal(unit_tmpdir_remove(f.dir), 0);
}

static void test_https_refuses_bad_certificates(void **state)
{
	struct tls_files f;
	tls_files_make(&f);
	struct http_server *srv = NULL;
	char missing[UNIT_DIR_SIZE + 16];
	snprintf(missing, sizeof(missing), "%s/missing.pem", f.dir);
	assert_int_equal(serve(missing, f.key, 0, &srv), -ENOENT);
	assert_int_equal(serve(f.cert, missing, 0, &srv), -ENOENT);
	assert_int_equal(serve(f.junk, f.key, 0, &srv), -EINVAL);
	assert_int_equal(serve(f.cert, f.junk, 0, &srv), -EINVAL);
	assert_int_equal(serve(f.cert, f.other, 0, &srv), -EINVAL); /* not its key */
	assert_int_equal(serve(f.key, f.cert, 0, &srv), -EINVAL);   /* swapped */
	assert_int_equal(serve(f.cert, f.enc, 0, &srv), -EINVAL);   /* encrypted: no prompt */
	assert_int_equal(serve(f.cert, NULL, 0, &srv), -EINVAL);
	assert_int_equal(serve(NULL, f.key, 0, &srv), -EINVAL);
	assert_null(srv);
	assert_int_equal(unit_tmpdir_remove(f.dir), 0);
}

static int connect_local(uint16_t port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* True when fd has something to read (an answer, or the close) within ms. */
static bool answered_within(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	return poll(&p, 1, ms) > 0;
}

/* Plain HTTP is as before: served, and the connection limit still holds
 * (the limit now travels in an option array beside the TLS options). */
static void test_http_plain_unchanged(void **state)
{
	struct http_server *srv = NULL;
	assert_int_equal(serve(NULL, NULL, 2, &srv), 0);
	uint16_t port = http_server_port(srv);
	char out[256], args[128];
	snprintf(args, sizeof(args), "http://127.0.0.1:%u/plain", port);
	assert_int_equal(curl_run(args, out, sizeof(out)), 0);
	assert_string_equal(out, "GET /plain 0");
	/* two idle connections fill the limit: a third waits unanswered until
	 * one of them goes */
	int a = connect_local(port), b = connect_local(port);
	usleep(100 * 1000);
	int c = connect_local(port);
	static const char get[] = "GET /third HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
	assert_int_equal(write(c, get, sizeof(get) - 1), (ssize_t)(sizeof(get) - 1));
	assert_false(answered_within(c, 300));
	close(a);
	assert_true(answered_within(c, 3000));
	char resp[512];
	ssize_t n = read(c, resp, sizeof(resp) - 1);
	assert_true(n > 0);
	resp[n] = '\0';
	assert_non_null(strstr(resp, "GET /third 0"));
	close(b);
	close(c);
	http_server_free(srv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base64_vectors),
		cmocka_unit_test(test_base64_rejects),
		cmocka_unit_test(test_checksum_check_values),
		cmocka_unit_test(test_checksum_streaming_matches_one_shot),
		cmocka_unit_test(test_checksum_hw_paths_agree),
		cmocka_unit_test(test_checksum_combine),
		cmocka_unit_test(test_checksum_names),
		cmocka_unit_test(test_checksum_parse_base64_rejects),
		cmocka_unit_test(test_awschunked_example_seed),
		cmocka_unit_test(test_awschunked_example_every_split),
		cmocka_unit_test(test_awschunked_example_tampered),
		cmocka_unit_test(test_awschunked_unsigned_trailer),
		cmocka_unit_test(test_awschunked_parse_mode),
		cmocka_unit_test(test_awschunked_malformed),
		cmocka_unit_test(test_awschunked_signed_trailer_independent),
		cmocka_unit_test(test_awschunked_botocore_bodies),
		cmocka_unit_test(test_awschunked_sink_error),
		cmocka_unit_test(test_s3xml_complete),
		cmocka_unit_test(test_s3xml_rejects),
		cmocka_unit_test(test_s3xml_limits),
		cmocka_unit_test(test_s3xml_delete),
		cmocka_unit_test(test_s3xml_versioning_and_location),
		cmocka_unit_test(test_s3xml_cors),
		cmocka_unit_test(test_s3xml_writer_round_trip),
		cmocka_unit_test(test_https_serves_over_tls),
		cmocka_unit_test(test_https_refuses_bad_certificates),
		cmocka_unit_test(test_http_plain_unchanged),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
