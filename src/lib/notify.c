/* notify: see notify.h.
 *
 * A chained hash table of keys, each with its version and a doubly linked
 * list of the watches registered on it. The watches are the watchers' own
 * memory (nothing is allocated per wait), so a watch costs nothing but
 * the lock. Keys stay once made: one small entry per key ever watched or
 * bumped, which for nubod means one per host. One mutex guards the table,
 * every entry and every registered watch; callbacks run under it, which is
 * what lets notify_unwatch() promise that a callback is not running. */
#include "notify.h"

#include <assert.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define BUCKETS_MIN 64

struct notify_entry {
	struct notify_entry *next;     /* next entry of the bucket */
	uint64_t version;              /* bumps so far */
	struct notify_watch *watchers; /* registered watches, newest first */
	char key[];                    /* the key, terminated */
};

struct notify_board {
	pthread_mutex_t lock;          /* protects everything below and every entry */
	struct notify_entry **buckets; /* nbuckets chains */
	size_t nbuckets;               /* a power of two */
	size_t nentries;               /* keys in the table */
};

static uint64_t key_hash(const char *key)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
		h ^= *p;
		h *= 1099511628211ULL;
	}
	return h;
}

struct notify_board *notify_board_new(void)
{
	struct notify_board *b = xcalloc(1, sizeof(*b));
	pthread_mutex_init(&b->lock, NULL);
	b->nbuckets = BUCKETS_MIN;
	b->buckets = xcalloc(b->nbuckets, sizeof(*b->buckets));
	return b;
}

void notify_board_free(struct notify_board *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->nbuckets; i++) {
		struct notify_entry *e = b->buckets[i], *next;
		for (; e; e = next) {
			next = e->next;
			free(e);
		}
	}
	free(b->buckets);
	pthread_mutex_destroy(&b->lock);
	free(b);
}

/* Double the table once it holds more keys than buckets. Under the lock. */
static void grow(struct notify_board *b)
{
	size_t n = b->nbuckets * 2;
	struct notify_entry **nb = xcalloc(n, sizeof(*nb));
	for (size_t i = 0; i < b->nbuckets; i++) {
		struct notify_entry *e = b->buckets[i], *next;
		for (; e; e = next) {
			next = e->next;
			size_t k = key_hash(e->key) & (n - 1);
			e->next = nb[k];
			nb[k] = e;
		}
	}
	free(b->buckets);
	b->buckets = nb;
	b->nbuckets = n;
}

/* The entry of key, made when create is set (else NULL when absent). Under
 * the lock. */
static struct notify_entry *entry_find(struct notify_board *b, const char *key, bool create)
{
	size_t k = key_hash(key) & (b->nbuckets - 1);
	for (struct notify_entry *e = b->buckets[k]; e; e = e->next)
		if (strcmp(e->key, key) == 0)
			return e;
	if (!create)
		return NULL;
	if (b->nentries >= b->nbuckets) {
		grow(b);
		k = key_hash(key) & (b->nbuckets - 1);
	}
	size_t len = strlen(key);
	struct notify_entry *e = xcalloc(1, sizeof(*e) + len + 1);
	memcpy(e->key, key, len + 1);
	e->next = b->buckets[k];
	b->buckets[k] = e;
	b->nentries++;
	return e;
}

uint64_t notify_version(struct notify_board *b, const char *key)
{
	pthread_mutex_lock(&b->lock);
	struct notify_entry *e = entry_find(b, key, false);
	uint64_t v = e ? e->version : 0;
	pthread_mutex_unlock(&b->lock);
	return v;
}

uint64_t notify_bump(struct notify_board *b, const char *key)
{
	pthread_mutex_lock(&b->lock);
	struct notify_entry *e = entry_find(b, key, true);
	uint64_t v = ++e->version;
	struct notify_watch *w = e->watchers, *next;
	e->watchers = NULL;
	for (; w; w = next) {
		next = w->next;
		w->prev = w->next = NULL;
		w->entry = NULL;
		w->fn(w, w->arg);
	}
	pthread_mutex_unlock(&b->lock);
	return v;
}

int notify_watch(struct notify_board *b, struct notify_watch *w, const char *key,
		 uint64_t seen, notify_fn fn, void *arg)
{
	pthread_mutex_lock(&b->lock);
	struct notify_entry *e = entry_find(b, key, true);
	int r = 1;
	assert(!w->entry); /* one registration at a time */
	if (e->version == seen) {
		w->fn = fn;
		w->arg = arg;
		w->entry = e;
		w->prev = NULL;
		w->next = e->watchers;
		if (e->watchers)
			e->watchers->prev = w;
		e->watchers = w;
		r = 0;
	}
	pthread_mutex_unlock(&b->lock);
	return r;
}

bool notify_unwatch(struct notify_board *b, struct notify_watch *w)
{
	pthread_mutex_lock(&b->lock);
	struct notify_entry *e = w->entry;
	if (e) {
		if (w->prev)
			w->prev->next = w->next;
		else
			e->watchers = w->next;
		if (w->next)
			w->next->prev = w->prev;
		w->prev = w->next = NULL;
		w->entry = NULL;
	}
	pthread_mutex_unlock(&b->lock);
	return e != NULL;
}
