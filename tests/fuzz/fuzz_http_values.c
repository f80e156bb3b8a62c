/* fuzz_http_values: http_parse_range, the Range header the S3 service
 * answers (HTTP dates are webroot_parse_date's, fuzzed by fuzz_webroot).
 *
 * Input: 8 bytes of body size (little-endian, top bit cleared) then the
 * header text. Contracts: a range answer of 1 lies inside the body and is
 * not empty. */
#include <stdbool.h>

#include "fuzz.h"
#include "lib/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 8)
		return 0;
	uint64_t raw = 0;
	for (int i = 0; i < 8; i++)
		raw |= (uint64_t)data[i] << (8 * i);
	int64_t body = (int64_t)(raw & 0x7fffffffffffffffULL);
	char *text = fuzz_strndup(data + 8, size - 8);

	int64_t off = -1, len = -1;
	int r = http_parse_range(text, body, &off, &len);
	CHECK(r >= -1 && r <= 1);
	if (r == 1) {
		CHECK(off >= 0 && len > 0);
		CHECK(off < body && len <= body - off);
	}

	free(text);
	return 0;
}
