/* buf: a growable byte buffer with an explicit size limit, so that sizes a
 * client controls are always bounded (after curl's dynbuf). The data is
 * always NUL-terminated, so text can be read as a C string. */
#pragma once

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *data;   /* owned storage, NUL-terminated; NULL until first append */
	size_t len;   /* bytes in use, excluding the terminator */
	size_t cap;   /* bytes allocated */
	size_t limit; /* largest len allowed; 0 means no limit */
};

/* Prepare b (caller's memory) with a size limit (0: unlimited). */
void buf_init(struct buf *b, size_t limit);
/* Free b's storage and reset it; the limit is kept. */
void buf_release(struct buf *b);
/* Forget the contents but keep the storage. */
void buf_reset(struct buf *b);
/* Append n bytes. Returns 0, or -E2BIG when the limit would be passed
 * (b is then unchanged). */
int buf_append(struct buf *b, const void *data, size_t n);
/* Append a C string. Same return as buf_append. */
int buf_puts(struct buf *b, const char *s);
/* Append formatted text. Same return as buf_append. */
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append formatted text from a va_list. */
int buf_vprintf(struct buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Hand the storage to the caller (who frees it) and reset b. Never NULL;
 * ret_len, when given, receives the length. */
char *buf_detach(struct buf *b, size_t *ret_len);
