/* err: see err.h. */
#include "err.h"

#include <stdio.h>

#include "util.h"

static const char *const names[ERR__COUNT] = {
	[ERR_NONE] = "None",
	[ERR_INVALID] = "InvalidParameter",
	[ERR_MALFORMED] = "MalformedRequest",
	[ERR_NOT_FOUND] = "NotFound",
	[ERR_CONFLICT] = "Conflict",
	[ERR_TOO_LARGE] = "PayloadTooLarge",
	[ERR_UNAUTHORIZED] = "Unauthorized",
	[ERR_FORBIDDEN] = "Forbidden",
	[ERR_QUOTA] = "QuotaExceeded",
	[ERR_IDEMPOTENCY] = "IdempotencyKeyReused",
	[ERR_RATE_LIMITED] = "TooManyRequests",
	[ERR_BUSY] = "Busy",
	[ERR_UNAVAILABLE] = "ServiceUnavailable",
	[ERR_INTERNAL] = "InternalError",
};

int err_set(struct err *e, enum err_code code, const char *field, const char *fmt, ...)
{
	if (e) {
		e->code = code;
		str_copy(e->field, sizeof(e->field), field ? field : "");
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(e->message, sizeof(e->message), fmt, ap);
		va_end(ap);
	}
	return -(int)code;
}

void err_clear(struct err *e)
{
	if (!e)
		return;
	e->code = ERR_NONE;
	e->field[0] = '\0';
	e->message[0] = '\0';
}

const char *err_code_name(enum err_code code)
{
	if (code < 0 || code >= ERR__COUNT)
		return "InternalError";
	return names[code];
}
