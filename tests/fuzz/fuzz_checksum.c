/* fuzz_checksum: the parsers of checksum header values (standard base64,
 * checksum_parse_base64, algorithm and header names) and the checksums
 * themselves.
 *
 * The whole input, as text, goes to base64_decode, checksum_parse_base64
 * under every algorithm, checksum_parse_algo and checksum_from_header. The
 * input as data is checksummed under the algorithm its first byte picks,
 * whole and cut in two where its second byte says.
 *
 * Contracts checked: base64 that decodes encodes back to the same text (only
 * canonical forms are accepted); checksum_parse_base64 accepts exactly the
 * decodable values of the algorithm's length; a name that parses is the
 * algorithm's name in some case; fed in two pieces a checksum is what it is
 * fed whole, and the CRC of the whole is the combination of the pieces'. */
#include <errno.h>
#include <stdbool.h>

#include "fuzz.h"
#include "lib/checksum.h"
#include "lib/crypto.h"
#include "lib/util.h"

#define MAX_INPUT 65536

static void check_text(const char *s)
{
	unsigned char *raw = NULL;
	size_t len = 0;
	int r = base64_decode(s, &raw, &len);
	CHECK(r == 0 || r == -EINVAL);
	if (r == 0) {
		char *back = base64_encode(raw, len);
		CHECK(strcmp(back, s) == 0);
		free(back);
	}
	for (int a = CHECKSUM_NONE; a <= CHECKSUM_MD5; a++) {
		unsigned char out[CHECKSUM_MAX];
		int p = checksum_parse_base64(a, s, out);
		CHECK(p == 0 || p == -EINVAL);
		bool want = r == 0 && a != CHECKSUM_NONE && len == checksum_size(a);
		CHECK((p == 0) == want);
		if (p == 0)
			CHECK(memcmp(out, raw, len) == 0);
	}
	free(raw);
	enum checksum_algo algo = checksum_parse_algo(s);
	if (algo != CHECKSUM_NONE)
		CHECK(str_eq_nocase(checksum_algo_name(algo), s));
	algo = checksum_from_header(s);
	if (algo != CHECKSUM_NONE)
		CHECK(checksum_header(algo) && str_eq_nocase(checksum_header(algo), s));
}

static void check_data(const uint8_t *data, size_t size)
{
	static const enum checksum_algo algos[] = { CHECKSUM_CRC32, CHECKSUM_CRC32C,
						    CHECKSUM_CRC64NVME, CHECKSUM_SHA1,
						    CHECKSUM_SHA256, CHECKSUM_MD5 };
	enum checksum_algo algo = algos[data[0] % ARRAY_SIZE(algos)];
	size_t cut = size > 1 ? data[1] % size : 0;
	unsigned char whole[CHECKSUM_MAX], parts[CHECKSUM_MAX], a[CHECKSUM_MAX], b[CHECKSUM_MAX];
	size_t wlen = checksum_buf(algo, data, size, whole), plen;
	CHECK(wlen == checksum_size(algo));
	struct checksum c;
	checksum_init(&c, algo);
	checksum_update(&c, data, cut);
	checksum_update(&c, data + cut, size - cut);
	checksum_final(&c, parts, &plen);
	checksum_release(&c);
	CHECK(plen == wlen && memcmp(parts, whole, wlen) == 0);
	if (checksum_is_crc(algo)) {
		checksum_buf(algo, data, cut, a);
		checksum_buf(algo, data + cut, size - cut, b);
		uint64_t combined = checksum_combine(algo, checksum_crc_from_raw(algo, a),
						     checksum_crc_from_raw(algo, b), size - cut);
		CHECK(combined == checksum_crc_from_raw(algo, whole));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > MAX_INPUT)
		return 0;
	char *s = fuzz_strndup(data, size);
	check_text(s);
	free(s);
	check_data(data, size);
	return 0;
}
