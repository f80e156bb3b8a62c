/* idxmap: see idxmap.h. Linear probing at most half full; deletion shifts
 * the following entries of the run back, so there are no tombstones and
 * look-ups stay short however many keys come and go. */
#include <stdlib.h>
#include <string.h>

#include "idxmap.h"
#include "util.h"

static uint64_t hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h ^ (h >> 29);
}

void idxmap_init(struct idxmap *m, idxmap_key_fn key, const void *ctx)
{
	memset(m, 0, sizeof(*m));
	m->key = key;
	m->ctx = ctx;
}

void idxmap_free(struct idxmap *m)
{
	free(m->slots);
	m->slots = NULL;
	m->cap = m->n = 0;
}

/* The slot holding key, or the empty slot where it would go. */
static size_t probe(const struct idxmap *m, const char *key)
{
	size_t mask = m->cap - 1;
	for (size_t i = hash(key) & mask;; i = (i + 1) & mask)
		if (m->slots[i] == IDXMAP_NONE || strcmp(m->key(m->ctx, m->slots[i]), key) == 0)
			return i;
}

uint32_t idxmap_get(const struct idxmap *m, const char *key)
{
	if (m->n == 0)
		return IDXMAP_NONE;
	return m->slots[probe(m, key)];
}

static void grow(struct idxmap *m)
{
	uint32_t *old = m->slots;
	size_t old_cap = m->cap;
	m->cap = old_cap ? old_cap * 2 : 64;
	m->slots = xmalloc(m->cap * sizeof(*m->slots));
	memset(m->slots, 0xff, m->cap * sizeof(*m->slots));
	for (size_t i = 0; i < old_cap; i++)
		if (old[i] != IDXMAP_NONE)
			m->slots[probe(m, m->key(m->ctx, old[i]))] = old[i];
	free(old);
}

void idxmap_put(struct idxmap *m, const char *key, uint32_t pos)
{
	if ((m->n + 1) * 2 > m->cap)
		grow(m);
	m->slots[probe(m, key)] = pos;
	m->n++;
}

void idxmap_del(struct idxmap *m, const char *key)
{
	if (m->n == 0)
		return;
	size_t mask = m->cap - 1, i = probe(m, key);
	if (m->slots[i] == IDXMAP_NONE)
		return;
	m->slots[i] = IDXMAP_NONE;
	m->n--;
	/* Move back each later entry of the run whose home slot is not in
	 * the cyclic range (i, j]; it could no longer be found otherwise. */
	for (size_t j = (i + 1) & mask; m->slots[j] != IDXMAP_NONE; j = (j + 1) & mask) {
		size_t home = hash(m->key(m->ctx, m->slots[j])) & mask;
		bool between = i <= j ? (i < home && home <= j) : (i < home || home <= j);
		if (!between) {
			m->slots[i] = m->slots[j];
			m->slots[j] = IDXMAP_NONE;
			i = j;
		}
	}
}

size_t idxmap_bytes(const struct idxmap *m)
{
	return m->cap * sizeof(*m->slots);
}
