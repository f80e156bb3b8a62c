/* idxmap: an open-addressing hash index from string keys to positions in
 * the caller's own array of entries. It stores only the positions (4 bytes
 * a slot) and reads keys back from the entries through a callback, so the
 * keys are not copied. Not thread-safe: the caller's lock guards it. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* The key of the entry at pos in the caller's array (ctx). */
typedef const char *(*idxmap_key_fn)(const void *ctx, uint32_t pos);

struct idxmap {
	uint32_t *slots;     /* owned; IDXMAP_NONE where empty */
	size_t cap;          /* slots, a power of two (0 before the first put) */
	size_t n;            /* keys held */
	idxmap_key_fn key;   /* reads a key back */
	const void *ctx;     /* passed to key */
};

#define IDXMAP_NONE UINT32_MAX

/* Start an empty map over the entries ctx holds. */
void idxmap_init(struct idxmap *m, idxmap_key_fn key, const void *ctx);
/* Free the slots; the map is empty and usable again. */
void idxmap_free(struct idxmap *m);
/* The position stored for key, or IDXMAP_NONE. */
uint32_t idxmap_get(const struct idxmap *m, const char *key);
/* Store pos for key (which must not be in the map yet). */
void idxmap_put(struct idxmap *m, const char *key, uint32_t pos);
/* Remove key; absent keys are ignored. Call it before the entry's key
 * changes or goes away. */
void idxmap_del(struct idxmap *m, const char *key);
/* Bytes the map uses. */
size_t idxmap_bytes(const struct idxmap *m);
