/* cors: matching a CORS request against a bucket's rules (see objects.h),
 * as S3 does: the first rule whose origin, method and headers all match. */
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "lib/s3xml.h"
#include "objects.h"

/* Does s match pattern, which holds at most one '*' (any run of bytes)? */
static bool wild_match(const char *pattern, const char *s, size_t n, bool nocase)
{
	int (*cmp)(const char *, const char *, size_t) = nocase ? strncasecmp : strncmp;
	const char *star = strchr(pattern, '*');
	size_t pl = strlen(pattern);
	if (!star)
		return pl == n && cmp(pattern, s, n) == 0;
	size_t head = (size_t)(star - pattern), tail = pl - head - 1;
	return n >= head + tail && cmp(pattern, s, head) == 0 &&
	       cmp(star + 1, s + n - tail, tail) == 0;
}

static bool any_match(const char **patterns, size_t np, const char *s, size_t n, bool nocase)
{
	for (size_t i = 0; i < np; i++)
		if (wild_match(patterns[i], s, n, nocase))
			return true;
	return false;
}

/* Every header of the comma list hs matches one of the rule's. */
static bool headers_match(const struct s3xml_cors_rule *r, const char *hs)
{
	while (hs && *hs) {
		while (*hs == ' ' || *hs == ',' || *hs == '\t')
			hs++;
		size_t n = strcspn(hs, ",");
		size_t t = n;
		while (t > 0 && (hs[t - 1] == ' ' || hs[t - 1] == '\t'))
			t--;
		if (t > 0 && !any_match(r->allowed_headers, r->nallowed_headers, hs, t, true))
			return false;
		hs += n;
	}
	return true;
}

const struct s3xml_cors_rule *objects_cors_match(const struct s3xml_cors *cfg,
						 const struct cors_request *q)
{
	for (size_t i = 0; i < cfg->nrules; i++) {
		const struct s3xml_cors_rule *r = &cfg->rules[i];
		bool method = false;
		for (size_t m = 0; m < r->nmethods; m++)
			method = method || strcmp(r->allowed_methods[m], q->method) == 0;
		if (method &&
		    any_match(r->allowed_origins, r->norigins, q->origin, strlen(q->origin), false) &&
		    headers_match(r, q->headers))
			return r;
	}
	return NULL;
}
