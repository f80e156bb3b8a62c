/* ratelimit: see ratelimit.h. A chained hash table under one mutex; when
 * it is full, entries whose window has passed are swept, and if it is
 * still full the oldest entry goes. */
#include "ratelimit.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "timeutil.h"
#include "util.h"

#define NBUCKETS 1024

struct rl_entry {
	struct rl_entry *next;  /* bucket chain */
	char *key;
	unsigned failures;      /* failures within the window */
	int64_t last_ms;        /* time of the last failure */
	int64_t blocked_until;  /* no attempt before this time */
};

struct ratelimit {
	struct ratelimit_opts opts;
	pthread_mutex_t lock;   /* protects buckets and count */
	struct rl_entry *buckets[NBUCKETS];
	size_t count;
};

static unsigned hash(const char *s)
{
	unsigned h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h % NBUCKETS;
}

struct ratelimit *ratelimit_new(const struct ratelimit_opts *opts)
{
	struct ratelimit *rl = xcalloc(1, sizeof(*rl));
	rl->opts = *opts;
	pthread_mutex_init(&rl->lock, NULL);
	return rl;
}

static void entry_free(struct rl_entry *e)
{
	free(e->key);
	free(e);
}

void ratelimit_free(struct ratelimit *rl)
{
	if (!rl)
		return;
	for (size_t i = 0; i < NBUCKETS; i++) {
		struct rl_entry *e = rl->buckets[i];
		while (e) {
			struct rl_entry *next = e->next;
			entry_free(e);
			e = next;
		}
	}
	pthread_mutex_destroy(&rl->lock);
	free(rl);
}

/* With the lock held: the entry for key, or NULL. */
static struct rl_entry **find(struct ratelimit *rl, const char *key)
{
	struct rl_entry **pe = &rl->buckets[hash(key)];
	while (*pe && strcmp((*pe)->key, key) != 0)
		pe = &(*pe)->next;
	return pe;
}

static void sweep(struct ratelimit *rl, int64_t now, bool oldest_too)
{
	struct rl_entry **oldest = NULL;
	for (size_t i = 0; i < NBUCKETS; i++) {
		struct rl_entry **pe = &rl->buckets[i];
		while (*pe) {
			struct rl_entry *e = *pe;
			if (now - e->last_ms > rl->opts.window_ms && now >= e->blocked_until) {
				*pe = e->next;
				entry_free(e);
				rl->count--;
				continue;
			}
			if (!oldest || e->last_ms < (*oldest)->last_ms)
				oldest = pe;
			pe = &e->next;
		}
	}
	if (oldest_too && rl->count >= rl->opts.max_keys && oldest) {
		struct rl_entry *e = *oldest;
		*oldest = e->next;
		entry_free(e);
		rl->count--;
	}
}

int64_t ratelimit_check(struct ratelimit *rl, const char *key)
{
	int64_t now = time_now_ms(), wait = 0;
	pthread_mutex_lock(&rl->lock);
	struct rl_entry *e = *find(rl, key);
	if (e && e->blocked_until > now)
		wait = e->blocked_until - now;
	pthread_mutex_unlock(&rl->lock);
	return wait;
}

void ratelimit_fail(struct ratelimit *rl, const char *key)
{
	int64_t now = time_now_ms();
	pthread_mutex_lock(&rl->lock);
	struct rl_entry **pe = find(rl, key);
	struct rl_entry *e = *pe;
	if (!e) {
		if (rl->count >= rl->opts.max_keys)
			sweep(rl, now, true);
		e = xcalloc(1, sizeof(*e));
		e->key = xstrdup(key);
		pe = find(rl, key);
		*pe = e;
		rl->count++;
	}
	if (now - e->last_ms > rl->opts.window_ms)
		e->failures = 0;
	e->failures++;
	e->last_ms = now;
	if (e->failures > rl->opts.free_failures) {
		unsigned shift = e->failures - rl->opts.free_failures - 1;
		int64_t delay = (int64_t)rl->opts.base_delay_ms << (shift > 20 ? 20 : shift);
		if (delay > rl->opts.max_delay_ms)
			delay = rl->opts.max_delay_ms;
		e->blocked_until = now + delay;
	}
	pthread_mutex_unlock(&rl->lock);
}

void ratelimit_reset(struct ratelimit *rl, const char *key)
{
	pthread_mutex_lock(&rl->lock);
	struct rl_entry **pe = find(rl, key);
	struct rl_entry *e = *pe;
	if (e) {
		*pe = e->next;
		entry_free(e);
		rl->count--;
	}
	pthread_mutex_unlock(&rl->lock);
}
