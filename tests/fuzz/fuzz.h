/* fuzz: what every libFuzzer target in tests/fuzz shares. A target turns
 * outside bytes into calls of one parser and checks, besides what ASan and
 * UBSan catch, the contracts its callers rely on; a broken contract aborts,
 * which libFuzzer reports as a crash and saves the input. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The entry points libFuzzer calls (declared for -Wmissing-prototypes). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Abort with the failed condition when a contract does not hold. */
#define CHECK(cond)                                                                  \
	do {                                                                         \
		if (!(cond)) {                                                       \
			fprintf(stderr, "%s:%d: contract broken: %s\n", __FILE__,    \
				__LINE__, #cond);                                    \
			abort();                                                     \
		}                                                                    \
	} while (0)

/* Copy n bytes of data into a new NUL-terminated string (the parsers under
 * test take C strings; libFuzzer's data is not terminated). Caller frees. */
static inline char *fuzz_strndup(const uint8_t *data, size_t n)
{
	char *s = malloc(n + 1);
	if (!s)
		abort();
	if (n)
		memcpy(s, data, n);
	s[n] = '\0';
	return s;
}

/* Value of hex digit c, or -1. */
static inline int fuzz_hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Reference percent-decoder, written independently of router_unescape as
 * the oracle the targets compare it with: decodes n bytes of s into out (at
 * least n bytes) and returns the decoded length, or -1 when s holds a raw
 * NUL, a '%' not followed by two hex digits, or an encoded NUL (%00). */
static inline long fuzz_unescape_ref(const char *s, size_t n, char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\0')
			return -1;
		if (c != '%') {
			out[o++] = (char)c;
			continue;
		}
		if (n - i < 3)
			return -1;
		int hi = fuzz_hexval((unsigned char)s[i + 1]);
		int lo = fuzz_hexval((unsigned char)s[i + 2]);
		if (hi < 0 || lo < 0 || (hi | lo) == 0)
			return -1;
		out[o++] = (char)(hi * 16 + lo);
		i += 2;
	}
	return (long)o;
}
