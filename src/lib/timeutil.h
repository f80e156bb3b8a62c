/* timeutil: wall-clock time as RFC 3339 UTC text, and a monotonic clock for
 * durations. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Length of an RFC 3339 timestamp with milliseconds, plus NUL. */
#define TIME_RFC3339_SIZE 25

/* Write now as "YYYY-MM-DDTHH:MM:SS.mmmZ" into out (at least
 * TIME_RFC3339_SIZE bytes). */
void time_rfc3339_now(char *out, size_t size);
/* Write the Unix time ms (milliseconds) as RFC 3339 with milliseconds. */
void time_rfc3339_from_ms(int64_t ms, char *out, size_t size);
/* Parse an RFC 3339 UTC timestamp ("Z", optional fraction) into Unix ms.
 * Returns 0 or -EINVAL. */
int time_rfc3339_parse(const char *s, int64_t *ret_ms);
/* Milliseconds since the Unix epoch. */
int64_t time_now_ms(void);
/* Seconds on the monotonic clock, for measuring durations. */
double time_mono(void);
