/* err: the error a domain operation reports to its caller. A code says what
 * kind of failure it is (the API maps each code to an HTTP status in one
 * table); field names the offending input, message says what to do. */
#pragma once

#include <stdarg.h>

enum err_code {
	ERR_NONE = 0,
	ERR_INVALID,       /* the input is wrong; the message says how */
	ERR_MALFORMED,     /* the request body could not be parsed */
	ERR_NOT_FOUND,     /* no such resource (or not visible to the caller) */
	ERR_CONFLICT,      /* clashes with existing state (duplicate name...) */
	ERR_TOO_LARGE,     /* a size limit was passed */
	ERR_UNAUTHORIZED,  /* no or bad credentials */
	ERR_FORBIDDEN,     /* credentials fine, action not allowed */
	ERR_QUOTA,         /* a project quota would be passed */
	ERR_IDEMPOTENCY,   /* an Idempotency-Key was reused with another request */
	ERR_RATE_LIMITED,  /* too many attempts; retry later */
	ERR_BUSY,          /* try again: a lock or a concurrent request */
	ERR_UNAVAILABLE,   /* a dependency (the store) is not reachable */
	ERR_INTERNAL,      /* a bug or an unexpected failure */
	ERR__COUNT
};

struct err {
	enum err_code code; /* ERR_NONE until set */
	char field[64];     /* input field at fault, or "" */
	char message[512];  /* one sentence a person can act on */
};

/* Record an error in e (which may be NULL). Returns -(int)code so callers
 * can write `return err_set(...)`. */
int err_set(struct err *e, enum err_code code, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Clear e to ERR_NONE. */
void err_clear(struct err *e);
/* The stable name of a code, e.g. "NotFound". */
const char *err_code_name(enum err_code code);
