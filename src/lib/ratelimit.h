/* ratelimit: failure counting with exponential back-off per key (a user
 * name, a client address). A key may fail a few times freely; after that
 * each failure blocks it for twice as long as the one before, up to a
 * ceiling. Counts fade after a quiet window. Bounded memory; thread-safe. */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct ratelimit;

struct ratelimit_opts {
	unsigned free_failures; /* failures allowed before any delay */
	unsigned base_delay_ms; /* delay after the first counted failure */
	unsigned max_delay_ms;  /* ceiling of the delay */
	unsigned window_ms;     /* failures older than this are forgotten */
	size_t max_keys;        /* keys tracked at most */
};

/* Create a limiter. Caller frees with ratelimit_free(). */
struct ratelimit *ratelimit_new(const struct ratelimit_opts *opts);
/* Free the limiter. Accepts NULL. */
void ratelimit_free(struct ratelimit *rl);
/* Milliseconds key must still wait (0: it may try now). */
int64_t ratelimit_check(struct ratelimit *rl, const char *key);
/* Record a failure of key. */
void ratelimit_fail(struct ratelimit *rl, const char *key);
/* Forget key's failures (after a success). */
void ratelimit_reset(struct ratelimit *rl, const char *key);
