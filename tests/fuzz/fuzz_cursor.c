/* fuzz_cursor: the base64url codec behind page cursors (api_page_params
 * decodes the client's ?cursor=, api_list encodes the next one).
 *
 * Decoding the input as text must either fail with -EINVAL, leaving the
 * outputs alone, or give bytes that encode back to exactly the input: the
 * decoder accepts only canonical unpadded base64url. Encoding the raw input
 * must give text of the right length, in the base64url alphabet, that
 * decodes back to the same bytes. */
#include <errno.h>
#include <stdbool.h>

#include "fuzz.h"
#include "lib/crypto.h"

/* api_page_params refuses longer cursors before decoding them; try a bit
 * more, the codec has no limit of its own. */
#define CURSOR_MAX 4096

static bool b64url_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_';
}

static void check_decode(const uint8_t *data, size_t size)
{
	char *text = fuzz_strndup(data, size);
	unsigned char *raw = (unsigned char *)&raw;
	size_t len = (size_t)-1;
	int r = base64url_decode(text, &raw, &len);
	if (r < 0) {
		CHECK(r == -EINVAL);
		CHECK(raw == (unsigned char *)&raw && len == (size_t)-1); /* written only on success */
	} else {
		CHECK(r == 0 && raw != NULL);
		size_t n = strlen(text);
		CHECK(len == n * 3 / 4);
		CHECK(raw[len] == '\0');
		char *again = base64url_encode(raw, len);
		CHECK(again && strcmp(again, text) == 0);
		free(again);
		free(raw);
	}
	free(text);
}

static void check_encode(const uint8_t *data, size_t size)
{
	char *text = base64url_encode(data, size);
	CHECK(text != NULL);
	size_t n = strlen(text);
	CHECK(n == (size * 4 + 2) / 3);
	for (size_t i = 0; i < n; i++)
		CHECK(b64url_char(text[i]));
	unsigned char *raw = NULL;
	size_t len = 0;
	CHECK(base64url_decode(text, &raw, &len) == 0);
	CHECK(len == size && (size == 0 || memcmp(raw, data, size) == 0));
	free(raw);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > CURSOR_MAX)
		return 0;
	check_decode(data, size);
	check_encode(data, size);
	return 0;
}
