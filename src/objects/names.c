/* names: bucket and key from what an S3 request names (see objects.h).
 * Pure string work on outside bytes; fuzzed by tests/fuzz/fuzz_s3names. */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "lib/arena.h"
#include "lib/router.h"
#include "lib/util.h"
#include "objects.h"

int objects_address_parse(struct arena *a, const char *host, const char *path,
			  const char *domain, struct objects_address *ret)
{
	struct objects_address out = { 0 };
	if (path[0] != '/')
		return -EINVAL;
	path++;
	if (host && domain && domain[0] && host[0] != '[') {
		size_t hl = strcspn(host, ":");
		size_t dl = strlen(domain);
		if (hl > dl + 1 && host[hl - dl - 1] == '.' &&
		    strncasecmp(host + hl - dl, domain, dl) == 0) {
			char *b = arena_strndup(a, host, hl - dl - 1);
			str_lower(b);
			out.bucket = b;
			out.virtual_host = true;
			if (*path && !(out.key = router_unescape(a, path, strlen(path))))
				return -EINVAL;
			*ret = out;
			return 0;
		}
	}
	if (*path) {
		size_t bl = strcspn(path, "/");
		if (!(out.bucket = router_unescape(a, path, bl)))
			return -EINVAL;
		const char *k = path + bl;
		if (*k == '/' && k[1] && !(out.key = router_unescape(a, k + 1, strlen(k + 1))))
			return -EINVAL;
	}
	*ret = out;
	return 0;
}

int objects_copy_source_parse(struct arena *a, const char *src, struct objects_address *ret,
			      const char **ret_version)
{
	const char *version = NULL;
	if (src[0] == '/')
		src++;
	const char *q = strchr(src, '?');
	size_t n = q ? (size_t)(q - src) : strlen(src);
	const char *slash = memchr(src, '/', n);
	if (q) {
		if (!str_starts_with(q + 1, "versionId="))
			return -EINVAL;
		if (!(version = router_unescape(a, q + 11, strlen(q + 11))) || !version[0])
			return -EINVAL;
	}
	if (!slash || slash == src || (size_t)(slash - src) + 1 >= n)
		return -EINVAL;
	struct objects_address out = { 0 };
	out.bucket = router_unescape(a, src, (size_t)(slash - src));
	out.key = router_unescape(a, slash + 1, n - (size_t)(slash - src) - 1);
	if (!out.bucket || !out.key)
		return -EINVAL;
	*ret = out;
	*ret_version = version;
	return 0;
}
