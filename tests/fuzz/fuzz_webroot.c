/* fuzz_webroot: the web console's path check and the conditional-request
 * headers (If-None-Match, If-Modified-Since), all bytes from clients.
 *
 * The first byte picks the parser, the rest is its input:
 * - webroot_path_ok is compared with a reference written here from the
 *   rule in webroot.h, and a path it accepts must hold no "." or ".."
 *   segment, no empty segment and no byte outside [A-Za-z0-9._-/];
 * - webroot_parse_date must round-trip: a date it accepts formats back to
 *   exactly the bytes given (IMF-fixdate has one spelling per instant);
 * - webroot_not_modified must answer without reading out of bounds, and
 *   an If-None-Match of separators and then the file's own ETag matches. */
#include <stdbool.h>

#include "fuzz.h"
#include "lib/webroot.h"

static bool ref_path_ok(const char *p, size_t n)
{
	if (n == 0 || n > WEBROOT_PATH_MAX)
		return false;
	size_t seg = 0; /* bytes in the current segment */
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c == '/') {
			if (seg == 0)
				return false;
			seg = 0;
			continue;
		}
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
		if (!ok || (seg == 0 && c == '.'))
			return false;
		seg++;
	}
	return seg > 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	/* the callers hand C strings (the router refuses a NUL): up to a NUL */
	char *s = fuzz_strndup(data + 1, size - 1);
	size_t n = strlen(s);
	switch (data[0] % 3) {
	case 0: {
		bool ok = webroot_path_ok(s);
		CHECK(ok == ref_path_ok(s, n));
		if (ok) {
			CHECK(s[0] != '/' && !strstr(s, "//") && !strstr(s, "/.") && s[0] != '.');
			CHECK(strcmp(webroot_type(s), "") != 0);
		}
		break;
	}
	case 1: {
		int64_t t;
		if (webroot_parse_date(s, &t) == 0) {
			char back[WEBROOT_DATE_SIZE];
			webroot_format_date(t, back);
			CHECK(strcmp(back, s) == 0);
		}
		break;
	}
	default: {
		struct webroot_file f = { .fd = -1, .mtime_s = 784111777 };
		memcpy(f.etag, "\"2a-1f\"", 8);
		webroot_not_modified(&f, s, NULL);
		webroot_not_modified(&f, NULL, s);
		char *list = malloc(n + 16);
		CHECK(list);
		memcpy(list, s, strlen(s));
		memcpy(list + strlen(s), ", \"2a-1f\"", 10);
		/* after separators only, the ETag itself is reached */
		if (strspn(s, " \t,") == strlen(s))
			CHECK(webroot_not_modified(&f, list, NULL));
		free(list);
		break;
	}
	}
	free(s);
	return 0;
}
