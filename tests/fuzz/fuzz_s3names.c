/* fuzz_s3names: objects_address_parse (Host header and path of an S3
 * request) and objects_copy_source_parse (x-amz-copy-source).
 *
 * Input: the first byte picks how the rest splits: up to its first newline
 * the Host header (none when there is no newline), then the path, which
 * also serves as a copy source. Contracts: an address has a key only with a
 * bucket, and a key is never empty; a copy source names a non-empty bucket
 * and key, and a version id only when it is not empty. */
#include <stdbool.h>

#include "fuzz.h"
#include "lib/arena.h"
#include "objects/objects.h"

static void check_name(const char *s)
{
	if (!s)
		return;
	CHECK(strlen(s) <= 65536);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena *a = arena_new();
	char *all = fuzz_strndup(data, size);
	char *nl = strchr(all, '\n');
	const char *host = NULL, *path = all;
	if (nl) {
		*nl = '\0';
		host = all;
		path = nl + 1;
	}
	struct objects_address ad;
	if (objects_address_parse(a, host, path, "s3.example.org", &ad) == 0) {
		CHECK(path[0] == '/');
		check_name(ad.bucket);
		check_name(ad.key);
		if (!ad.bucket)
			CHECK(!ad.key);
		if (ad.key)
			CHECK(ad.key[0]);
	}
	const char *version = NULL;
	if (objects_copy_source_parse(a, path, &ad, &version) == 0) {
		CHECK(ad.bucket && ad.bucket[0] && ad.key && ad.key[0]);
		CHECK(!version || version[0]);
		check_name(ad.bucket);
		check_name(ad.key);
	}
	free(all);
	arena_free(a);
	return 0;
}
