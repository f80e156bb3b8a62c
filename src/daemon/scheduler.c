/* scheduler: the nubod thread that places pending instances. It wakes
 * when the API signals a new instance, or every second, takes pending
 * instances from the store, asks the in-memory capacity index for a host,
 * and records each decision in its own transaction. An instance no host
 * can take goes to state error with the reason, gives its quota back, and
 * its job fails. A placement, once committed, bumps the host's key on the
 * notify board, which wakes its agent's long poll, and the keys of the
 * hosts whose network state the instance's ports change (their VXLAN
 * peers and security group members). */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "compute/compute.h"
#include "daemon.h"
#include "identity/identity.h"
#include "lib/log.h"
#include "lib/timeutil.h"
#include "lib/util.h"
#include "network/network.h"

#define BATCH 100

struct scheduler {
	struct store *store;      /* borrowed */
	struct sched *index;      /* borrowed */
	struct notify_board *board; /* borrowed; NULL: nobody to wake */
	pthread_t thread;
	pthread_mutex_t lock;     /* protects stop and woken */
	pthread_cond_t wake;
	bool stop, woken;
};

static int give_back(struct store_conn *c, const struct instance *i, struct err *err)
{
	if (quota_release(c, i->project_id, QUOTA_INSTANCES, 1, err) < 0 ||
	    quota_release(c, i->project_id, QUOTA_VCPUS, i->vcpus, err) < 0 ||
	    quota_release(c, i->project_id, QUOTA_RAM_MB, i->ram_mb, err) < 0)
		return -1;
	return 0;
}

/* Wake the hosts (but `placed`, woken already) whose network state the
 * ports of instance id, now bound, change. */
static void wake_network(struct scheduler *s, struct store_conn *c, const char *id,
			 const char *placed)
{
	char(*hosts)[UUID_SIZE];
	size_t n;
	struct err err = { 0 };
	if (net_hosts(c, NET_SCOPE_INSTANCE, id, &hosts, &n, &err) < 0) {
		log_line(LOGL_WARN, "cannot find the hosts a placement concerns", "instance", id,
			 "error", err.message, NULL);
		return;
	}
	for (size_t k = 0; k < n; k++)
		if (strcmp(hosts[k], placed) != 0)
			notify_bump(s->board, hosts[k]);
	free(hosts);
}

/* Record one decision; returns 0 or -1 (logged). */
static int decide(struct scheduler *s, struct store_conn *c, const struct instance *i)
{
	struct sched_request req = { .vcpus = i->vcpus, .ram_mb = i->ram_mb,
				     .disk_gb = i->disk_gb, .zone_id = i->zone_id,
				     .group_id = i->group_id };
	char host[UUID_SIZE], why[256];
	struct err err = { 0 };
	struct server_group g;
	if (i->group_id[0] && group_get(c, NULL, i->group_id, &g, &err) == 0)
		req.anti_affinity = strcmp(g.policy, "anti-affinity") == 0;
	bool placed = sched_place(s->index, &req, time_now_ms(), host, why, sizeof(why)) == 0;
	int r = store_txn_begin(c);
	if (r == 0) {
		if (placed)
			r = instance_place(c, i->id, host, &err);
		else if ((r = give_back(c, i, &err)) == 0 &&
			 (r = instance_fail(c, i->id, why, true, &err)) == 0)
			r = job_finish(c, i->id, false, why, &err);
	}
	if (r == 0 && store_txn_commit(c) == 0) {
		if (placed && s->board) {
			notify_bump(s->board, host);
			wake_network(s, c, i->id, host);
		}
		log_line(LOGL_INFO, placed ? "instance placed" : "instance not placed", "instance",
			 i->id, "host", placed ? host : "-", "reason", placed ? "-" : why, NULL);
		return 0;
	}
	store_txn_rollback(c);
	if (placed)
		sched_release(s->index, host, &req);
	log_line(LOGL_WARN, "scheduling decision not recorded", "instance", i->id, "error",
		 err.message[0] ? err.message : store_errmsg(c), NULL);
	return -1;
}

static void pass(struct scheduler *s)
{
	struct store_conn *c = store_conn_get(s->store);
	struct instance *items = NULL;
	size_t n = 0;
	struct err err = { 0 };
	if (instance_pending(c, BATCH, &items, &n, &err) < 0)
		log_warn("scheduler: cannot read pending instances: %s", err.message);
	for (size_t k = 0; k < n; k++)
		decide(s, c, &items[k]);
	free(items);
	store_conn_put(c);
}

static void *scheduler_main(void *arg)
{
	struct scheduler *s = arg;
	pthread_setname_np(pthread_self(), "nubo-sched");
	pthread_mutex_lock(&s->lock);
	while (!s->stop) {
		s->woken = false;
		pthread_mutex_unlock(&s->lock);
		pass(s);
		pthread_mutex_lock(&s->lock);
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 1;
		while (!s->stop && !s->woken &&
		       pthread_cond_timedwait(&s->wake, &s->lock, &until) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

struct scheduler *scheduler_start(struct store *store, struct sched *index,
				  struct notify_board *board)
{
	struct scheduler *s = xcalloc(1, sizeof(*s));
	s->store = store;
	s->index = index;
	s->board = board;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->wake, NULL);
	pthread_create(&s->thread, NULL, scheduler_main, s);
	return s;
}

void scheduler_wake(void *arg)
{
	struct scheduler *s = arg;
	pthread_mutex_lock(&s->lock);
	s->woken = true;
	pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->lock);
}

void scheduler_stop(struct scheduler *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->lock);
	s->stop = true;
	pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->thread, NULL);
	pthread_cond_destroy(&s->wake);
	pthread_mutex_destroy(&s->lock);
	free(s);
}
