/* fuzz_awschunked: the aws-chunked body decoder, fed random bodies in
 * random pieces.
 *
 * The first input byte picks the mode (low two bits) and seeds the cuts;
 * the rest is the body. It is decoded twice: in one piece, and in pieces
 * whose sizes come from a generator seeded by the first byte (1 to 64
 * bytes, sometimes one at a time). The signed modes use the key and seed of
 * AWS's published example, so bodies taken from it verify.
 *
 * Contracts checked: every result is 0, AWSCHUNKED_EMALFORMED or
 * AWSCHUNKED_ESIGNATURE, with a reason whenever it is an error; how the
 * body is cut changes nothing (same result, same decoded bytes, same
 * trailers); the decoded length is the number of bytes the sink got and
 * never more than the body; an error is final; trailers are bounded, with
 * lower-case names and no trailer signature among them. */
#include <errno.h>
#include <stdbool.h>

#include "fuzz.h"
#include "lib/awschunked.h"
#include "lib/util.h"

#define MAX_INPUT (1 << 17)

struct out {
	unsigned char *data;
	size_t len;
	size_t cap;
};

static int sink(void *ctx, const void *data, size_t n)
{
	struct out *o = ctx;
	CHECK(n > 0);
	CHECK(o->len + n <= o->cap);
	memcpy(o->data + o->len, data, n);
	o->len += n;
	return 0;
}

struct result {
	int r;
	uint64_t decoded;
	size_t ntrailers;
	char trailers[AWSCHUNKED_MAX_TRAILERS][AWSCHUNKED_MAX_TRAILER_NAME +
					       AWSCHUNKED_MAX_TRAILER_VALUE + 2];
};

static bool valid_result(int r)
{
	return r == 0 || r == AWSCHUNKED_EMALFORMED || r == AWSCHUNKED_ESIGNATURE;
}

static void run(enum awschunked_mode mode, const uint8_t *body, size_t n, unsigned seed,
		struct out *o, struct result *res)
{
	struct sigv4_auth a = { 0 };
	str_copy(a.date, sizeof(a.date), "20130524");
	str_copy(a.region, sizeof(a.region), "us-east-1");
	str_copy(a.service, sizeof(a.service), "s3");
	str_copy(a.amz_date, sizeof(a.amz_date), "20130524T000000Z");
	str_copy(a.signature, sizeof(a.signature),
		 "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9");
	unsigned char key[SIGV4_KEY_SIZE];
	sigv4_signing_key("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", a.date, a.region, a.service,
			  key);
	struct awschunked_opts opts = { .mode = mode, .auth = &a, .key = key, .data = sink,
					.ctx = o };
	struct awschunked *d = awschunked_new(&opts);
	int r = 0;
	size_t off = 0;
	uint32_t x = seed * 2654435761u + 1;
	while (off < n) {
		size_t step = n - off;
		if (seed) {
			x ^= x << 13;
			x ^= x >> 17;
			x ^= x << 5;
			step = (x & 3) == 0 ? 1 : 1 + (x >> 8) % 64;
			if (step > n - off)
				step = n - off;
		}
		r = awschunked_feed(d, body + off, step);
		CHECK(valid_result(r));
		if (r < 0) {
			CHECK(*awschunked_error(d));
			CHECK(awschunked_feed(d, "x", 1) == r); /* final */
			break;
		}
		off += step;
	}
	int f = awschunked_finish(d);
	CHECK(valid_result(f));
	CHECK(r == 0 || f == r);
	if (f < 0)
		CHECK(*awschunked_error(d));
	res->r = f;
	res->decoded = awschunked_decoded_len(d);
	CHECK(res->decoded == o->len);
	CHECK(res->decoded <= n);
	const struct awschunked_trailer *t = awschunked_trailers(d, &res->ntrailers);
	CHECK(res->ntrailers <= AWSCHUNKED_MAX_TRAILERS);
	CHECK(mode != AWSCHUNKED_SIGNED || res->ntrailers == 0);
	for (size_t i = 0; i < res->ntrailers; i++) {
		CHECK(t[i].name[0]);
		CHECK(strcmp(t[i].name, "x-amz-trailer-signature") != 0);
		for (const char *p = t[i].name; *p; p++)
			CHECK(!(*p >= 'A' && *p <= 'Z'));
		CHECK(awschunked_trailer(d, t[i].name) == t[i].value);
		str_printf(res->trailers[i], sizeof(res->trailers[i]), "%s:%s", t[i].name,
			   t[i].value);
	}
	awschunked_free(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > MAX_INPUT)
		return 0;
	static const enum awschunked_mode modes[] = { AWSCHUNKED_UNSIGNED_TRAILER,
						      AWSCHUNKED_SIGNED,
						      AWSCHUNKED_SIGNED_TRAILER,
						      AWSCHUNKED_UNSIGNED_TRAILER };
	enum awschunked_mode mode = modes[data[0] & 3];
	unsigned seed = (data[0] >> 2) + 1u;
	const uint8_t *body = data + 1;
	size_t n = size - 1;

	struct out whole = { .data = malloc(n + 1), .cap = n };
	struct out cut = { .data = malloc(n + 1), .cap = n };
	CHECK(whole.data && cut.data);
	struct result *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	CHECK(a && b);
	run(mode, body, n, 0, &whole, a);
	run(mode, body, n, seed, &cut, b);
	CHECK(a->r == b->r);
	CHECK(a->decoded == b->decoded);
	CHECK(memcmp(whole.data, cut.data, whole.len) == 0);
	CHECK(a->ntrailers == b->ntrailers);
	for (size_t i = 0; i < a->ntrailers; i++)
		CHECK(strcmp(a->trailers[i], b->trailers[i]) == 0);
	free(a);
	free(b);
	free(whole.data);
	free(cut.data);
	return 0;
}
