/* fuzz_query: router_unescape, the percent-decoder behind path parameters
 * and query values (http_req_query turns '+' into ' ' and then calls it).
 *
 * Two calls per input: on the raw bytes (which may hold a NUL, which must
 * be refused) and as http_req_query runs it, on the text up to the first
 * NUL with '+' turned into ' '. Both answers are compared with a reference
 * decoder: NULL exactly when the input holds a bad escape, an encoded NUL
 * or a raw NUL, and otherwise the decoded bytes, with no NUL before the
 * terminator (so a decoded value is never silently cut short). */
#include <stdbool.h>

#include "fuzz.h"
#include "lib/arena.h"
#include "lib/router.h"

static void check_unescape(struct arena *a, const char *s, size_t n)
{
	char *want = malloc(n + 1);
	CHECK(want);
	long wn = fuzz_unescape_ref(s, n, want);
	char *got = router_unescape(a, s, n);
	if (wn < 0) {
		CHECK(got == NULL);
	} else {
		CHECK(got != NULL);
		CHECK(strlen(got) == (size_t)wn);
		CHECK(memcmp(got, want, (size_t)wn) == 0);
	}
	free(want);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena *a = arena_new();
	check_unescape(a, (const char *)data, size);

	char *q = fuzz_strndup(data, size);
	size_t n = strlen(q);
	for (char *p = q; *p; p++)
		if (*p == '+')
			*p = ' ';
	check_unescape(a, q, n);
	free(q);
	arena_free(a);
	return 0;
}
