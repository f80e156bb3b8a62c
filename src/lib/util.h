/* util: allocation that aborts on out-of-memory, bounded string helpers and
 * checked number parsing. Everything else in nubo builds on these instead of
 * the unbounded or unchecked libc calls (strcpy, sprintf, atoi...). */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct err;

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Allocate; abort with a message when memory is exhausted. Caller frees. */
void *xmalloc(size_t n);
/* Allocate zeroed memory for nmemb * size bytes (overflow-checked). Caller frees. */
void *xcalloc(size_t nmemb, size_t size);
/* Resize p to n bytes; aborts on exhaustion. Caller frees the result. */
void *xrealloc(void *p, size_t n);
/* Duplicate a string (NULL gives NULL). Caller frees. */
char *xstrdup(const char *s);
/* Duplicate at most n bytes of s and terminate. Caller frees. */
char *xstrndup(const char *s, size_t n);
/* printf into a new string. Caller frees. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* vprintf into a new string. Caller frees. */
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

/* Copy src into dst of size dstsz, always terminated. Returns false when
 * src did not fit (dst then holds a truncated copy). */
bool str_copy(char *dst, size_t dstsz, const char *src);
/* snprintf that returns false when the output was truncated or failed. */
bool str_printf(char *dst, size_t dstsz, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* True when s begins with prefix. */
bool str_starts_with(const char *s, const char *prefix);
/* Case-insensitive ASCII comparison of two strings for equality. */
bool str_eq_nocase(const char *a, const char *b);
/* Lower-case ASCII letters of s in place. */
void str_lower(char *s);
/* True when every character of s is a lower-case ASCII letter, a digit,
 * an upper-case letter (only when upper) or one of the characters of
 * punct. The usual test of names. */
bool str_only(const char *s, bool upper, const char *punct);
/* Check a resource name given as field: 1 to max characters, only letters
 * (upper case too when upper), digits and the characters of punct, and not
 * the form of a UUID (ids and names share one namespace in paths). Returns 0
 * or -ERR_INVALID with a message naming field. */
int name_check(const char *field, const char *value, size_t max, bool upper, const char *punct,
	       struct err *err);
/* Number of Unicode code points in the valid UTF-8 string s. */
size_t str_utf8_len(const char *s);
/* Replace each byte of s that does not start a valid UTF-8 sequence with
 * '?', in place, so that s is valid UTF-8 (JSON strings must be). */
void str_utf8_fix(char *s);

/* Parse a whole decimal string into an unsigned integer within [min, max].
 * Returns 0 and writes ret, or -EINVAL (not a number) / -ERANGE. */
int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *ret);
/* Parse a whole decimal string into a signed integer within [min, max]. */
int parse_i64(const char *s, int64_t min, int64_t max, int64_t *ret);
/* Parse a size with an optional K/M/G suffix (powers of 1024) into bytes. */
int parse_size(const char *s, uint64_t *ret);
/* Parse a boolean: true/false, yes/no, on/off, 1/0. */
int parse_bool(const char *s, bool *ret);

/* Compare two byte strings in time independent of their contents. */
bool mem_equal_ct(const void *a, const void *b, size_t n);
