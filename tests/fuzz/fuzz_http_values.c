/* fuzz_http_values: the header values the S3 service parses itself:
 * http_parse_range (Range) and http_parse_date (If-Modified-Since and the
 * other conditions).
 *
 * Input: 8 bytes of body size (little-endian, top bit cleared) then the
 * header text. Contracts: a range answer of 1 lies inside the body and is
 * not empty; -1 only for a body the range cannot touch; a date that parses
 * formats back to the same text when its weekday is the right one, and
 * parses again to the same time. */
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

	int64_t ms;
	if (http_parse_date(text, &ms) == 0) {
		CHECK(ms % 1000 == 0);
		char back[HTTP_DATE_SIZE];
		http_format_date(ms, back);
		int64_t again;
		CHECK(http_parse_date(back, &again) == 0);
		CHECK(again == ms);
		if (strncmp(back, text, 3) == 0 && strncmp(back + 5, text + 5, 20) == 0)
			CHECK(strcmp(back, text) == 0);
	}
	free(text);
	return 0;
}
