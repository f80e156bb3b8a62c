/* fuzz_ipv4: the strict IPv4 address and CIDR parsers behind every
 * network, subnet, port and security group rule a client sends.
 *
 * A parse either fails with -EINVAL, leaving its outputs alone, or
 * succeeds on text that is exactly the canonical form of what it gives
 * back (one spelling per address), with a prefix length of at most 32. */
#include <errno.h>

#include "fuzz.h"
#include "lib/ipv4.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 64)
		return 0;
	char *text = fuzz_strndup(data, size);
	uint32_t a = 0xdeadbeef;
	unsigned prefix = 99;
	if (ipv4_parse(text, &a) == 0) {
		char out[IPV4_SIZE];
		ipv4_format(a, out);
		CHECK(strcmp(out, text) == 0);
	} else {
		CHECK(a == 0xdeadbeef);
	}
	a = 0xdeadbeef;
	if (ipv4_cidr_parse(text, &a, &prefix) == 0) {
		char out[IPV4_CIDR_SIZE];
		CHECK(prefix <= 32);
		ipv4_cidr_format(a, prefix, out);
		CHECK(strcmp(out, text) == 0);
		CHECK(ipv4_in(a, a & ipv4_mask(prefix), prefix));
	} else {
		CHECK(a == 0xdeadbeef && prefix == 99);
	}
	free(text);
	return 0;
}
