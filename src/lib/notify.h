/* notify: keyed change counters that others can wait on. Each key (any
 * string, e.g. the id of something whose state changed) has a version, 0
 * until the key is first bumped; notify_bump() raises it by one and calls
 * every watcher of that key, once. A watch is registered against the
 * version its owner last saw, under the lock that bumps take, so no change
 * can slip by between reading a version and starting to watch it.
 *
 * The board knows nothing of what the keys mean or of who waits: the HTTP
 * server (http_req_wait) parks requests on it, and whoever changes the
 * state behind a key bumps it. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct notify_board;
struct notify_watch;

/* Called once when the watched key changes. It runs in the bumping thread
 * with the board's lock held: it must be short and must not call the
 * board. */
typedef void (*notify_fn)(struct notify_watch *w, void *arg);

/* One registration; the watcher's memory, which must stay valid while it
 * is registered. Zero-initialise it before first use. */
struct notify_watch {
	/* private to notify.c */
	struct notify_watch *prev, *next; /* neighbours among the key's watchers */
	struct notify_entry *entry;       /* the key watched; NULL when not registered */
	notify_fn fn;                     /* what to call on a change */
	void *arg;                        /* handed to fn */
};

/* An empty board. Caller frees with notify_board_free(). */
struct notify_board *notify_board_new(void);
/* Free the board and its keys. Accepts NULL. No watch may be registered. */
void notify_board_free(struct notify_board *b);
/* The current version of key (0 when it was never bumped). */
uint64_t notify_version(struct notify_board *b, const char *key);
/* Raise key's version by one and call (then forget) each of its watchers.
 * Returns the new version. */
uint64_t notify_bump(struct notify_board *b, const char *key);
/* Watch key for a version other than seen. Returns 1 without registering
 * when the version already differs from seen (the caller goes on at once),
 * or 0 when w is registered: fn(w, arg) is then called once, by the next
 * notify_bump() of key, unless notify_unwatch() comes first. */
int notify_watch(struct notify_board *b, struct notify_watch *w, const char *key,
		 uint64_t seen, notify_fn fn, void *arg);
/* Cancel a watch. Returns true when it was still registered (fn will not
 * be called), false when it had fired already or was never registered.
 * Once it returns, fn is not running and will not run for w. */
bool notify_unwatch(struct notify_board *b, struct notify_watch *w);
