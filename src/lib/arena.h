/* arena: a region allocator for data that lives as long as one request.
 * Everything allocated from an arena is freed at once by arena_free
 * (after nginx pools and h2o's h2o_mem_pool_t). */
#pragma once

#include <stddef.h>

struct arena;

/* Create an empty arena. Caller frees with arena_free(). */
struct arena *arena_new(void);
/* Free the arena and everything allocated from it. Accepts NULL. */
void arena_free(struct arena *a);
/* Allocate n zeroed bytes, aligned for any type; owned by the arena. */
void *arena_alloc(struct arena *a, size_t n);
/* Copy a string into the arena (NULL gives NULL). */
char *arena_strdup(struct arena *a, const char *s);
/* Copy n bytes of s into the arena and terminate them. */
char *arena_strndup(struct arena *a, const char *s, size_t n);
/* printf into arena memory. */
char *arena_printf(struct arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
