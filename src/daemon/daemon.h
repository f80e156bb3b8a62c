/* daemon.h: nubod's background threads, shared by the daemon's files. */
#pragma once

#include "compute/compute.h"
#include "lib/notify.h"
#include "store/store.h"

struct scheduler;

/* Start the scheduler thread over store and the capacity index; each
 * placement bumps its host's key on board (may be NULL). All three are
 * borrowed and outlive it. Stop and free it with scheduler_stop(). */
struct scheduler *scheduler_start(struct store *store, struct sched *index,
				  struct notify_board *board);
/* Make the scheduler look for pending instances now (arg: the scheduler). */
void scheduler_wake(void *arg);
/* Stop the thread, wait for it, and free it. Accepts NULL. */
void scheduler_stop(struct scheduler *s);
