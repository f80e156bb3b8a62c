/* ipv4: see ipv4.h. */
#include <errno.h>

#include "ipv4.h"
#include "util.h"

/* Parse one decimal part 0..max with no leading zero at *p; advance *p. */
static int part(const char **p, unsigned max, unsigned *ret)
{
	const char *s = *p;
	unsigned v = 0;
	size_t n = 0;
	while (s[n] >= '0' && s[n] <= '9') {
		v = v * 10 + (unsigned)(s[n] - '0');
		if (++n > 3 || v > max)
			return -EINVAL;
	}
	if (n == 0 || (n > 1 && s[0] == '0'))
		return -EINVAL;
	*p = s + n;
	*ret = v;
	return 0;
}

/* Parse a dotted quad at *p, leaving *p after it. */
static int quad(const char **p, uint32_t *ret)
{
	uint32_t a = 0;
	for (int k = 0; k < 4; k++) {
		unsigned v;
		if (k > 0 && *(*p)++ != '.')
			return -EINVAL;
		if (part(p, 255, &v) < 0)
			return -EINVAL;
		a = a << 8 | v;
	}
	*ret = a;
	return 0;
}

int ipv4_parse(const char *s, uint32_t *ret)
{
	uint32_t a;
	if (!s || quad(&s, &a) < 0 || *s)
		return -EINVAL;
	*ret = a;
	return 0;
}

int ipv4_cidr_parse(const char *s, uint32_t *ret_addr, unsigned *ret_prefix)
{
	uint32_t a;
	unsigned prefix;
	if (!s || quad(&s, &a) < 0 || *s++ != '/' || part(&s, 32, &prefix) < 0 || *s)
		return -EINVAL;
	*ret_addr = a;
	*ret_prefix = prefix;
	return 0;
}

uint32_t ipv4_mask(unsigned prefix)
{
	return prefix == 0 ? 0 : prefix >= 32 ? 0xffffffffu : ~(0xffffffffu >> prefix);
}

void ipv4_format(uint32_t a, char out[IPV4_SIZE])
{
	str_printf(out, IPV4_SIZE, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255,
		   a & 255);
}

void ipv4_cidr_format(uint32_t addr, unsigned prefix, char out[IPV4_CIDR_SIZE])
{
	char a[IPV4_SIZE];
	ipv4_format(addr, a);
	str_printf(out, IPV4_CIDR_SIZE, "%s/%u", a, prefix);
}

bool ipv4_in(uint32_t addr, uint32_t net, unsigned prefix)
{
	return (addr & ipv4_mask(prefix)) == (net & ipv4_mask(prefix));
}
