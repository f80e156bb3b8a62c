/* sched: the scheduler's capacity index; see compute.h.
 *
 * Hosts live in a flat array; a placement filters them (zone, enabled,
 * heartbeat fresh, room for vCPUs and RAM with the overcommit ratios and
 * disk) and weighs the survivors by free RAM (spread). That is a linear
 * pass over the hosts in memory, with no store access. The index is
 * loaded once and then kept current by the calls of its users. */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "compute.h"
#include "lib/util.h"

struct sched_host {
	char id[UUID_SIZE];
	char zone_id[UUID_SIZE];
	bool enabled;
	int64_t last_heartbeat_ms;
	int64_t cpus, ram_mb, disk_gb;        /* physical, as reported */
	int64_t used_vcpus, used_ram_mb, used_disk_gb; /* by placed instances */
};

/* How many instances of a server group one host holds. */
struct sched_member {
	char group_id[UUID_SIZE];
	char host_id[UUID_SIZE];
	int64_t count;
};

struct sched {
	struct sched_opts opts;
	pthread_mutex_t lock;     /* protects everything below */
	struct sched_host *hosts; /* owned array */
	size_t n, cap;
	struct sched_member *members; /* owned array: group placements */
	size_t nm, capm;
};

struct sched *sched_new(const struct sched_opts *opts)
{
	struct sched *s = xcalloc(1, sizeof(*s));
	s->opts = *opts;
	pthread_mutex_init(&s->lock, NULL);
	return s;
}

void sched_free(struct sched *s)
{
	if (!s)
		return;
	pthread_mutex_destroy(&s->lock);
	free(s->members);
	free(s->hosts);
	free(s);
}

/* With the lock held: the host with id, or NULL. */
static struct sched_host *find(struct sched *s, const char *id)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->hosts[i].id, id) == 0)
			return &s->hosts[i];
	return NULL;
}

static struct sched_host *find_or_add(struct sched *s, const char *id)
{
	struct sched_host *h = find(s, id);
	if (h)
		return h;
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 64;
		s->hosts = xrealloc(s->hosts, s->cap * sizeof(*s->hosts));
	}
	h = &s->hosts[s->n++];
	memset(h, 0, sizeof(*h));
	str_copy(h->id, sizeof(h->id), id);
	return h;
}

/* With the lock held: group_id's member count on host_id (0 when none). */
static int64_t members_on(struct sched *s, const char *group_id, const char *host_id)
{
	for (size_t i = 0; i < s->nm; i++)
		if (strcmp(s->members[i].group_id, group_id) == 0 &&
		    strcmp(s->members[i].host_id, host_id) == 0)
			return s->members[i].count;
	return 0;
}

/* With the lock held: whether group_id has members anywhere. */
static bool group_placed(struct sched *s, const char *group_id)
{
	for (size_t i = 0; i < s->nm; i++)
		if (strcmp(s->members[i].group_id, group_id) == 0 && s->members[i].count > 0)
			return true;
	return false;
}

/* With the lock held: add delta to group_id's members on host_id. */
static void members_add(struct sched *s, const char *group_id, const char *host_id,
			int64_t delta)
{
	for (size_t i = 0; i < s->nm; i++)
		if (strcmp(s->members[i].group_id, group_id) == 0 &&
		    strcmp(s->members[i].host_id, host_id) == 0) {
			s->members[i].count += delta;
			if (s->members[i].count <= 0)
				s->members[i] = s->members[--s->nm];
			return;
		}
	if (delta <= 0)
		return;
	if (s->nm == s->capm) {
		s->capm = s->capm ? s->capm * 2 : 64;
		s->members = xrealloc(s->members, s->capm * sizeof(*s->members));
	}
	struct sched_member *m = &s->members[s->nm++];
	str_copy(m->group_id, sizeof(m->group_id), group_id);
	str_copy(m->host_id, sizeof(m->host_id), host_id);
	m->count = delta;
}

void sched_host_update(struct sched *s, const struct host *host)
{
	pthread_mutex_lock(&s->lock);
	struct sched_host *h = find_or_add(s, host->id);
	str_copy(h->zone_id, sizeof(h->zone_id), host->zone_id);
	h->enabled = host->enabled;
	h->last_heartbeat_ms = host->last_heartbeat_ms;
	h->cpus = host->cpus;
	h->ram_mb = host->ram_mb;
	h->disk_gb = host->disk_gb;
	pthread_mutex_unlock(&s->lock);
}

void sched_host_remove(struct sched *s, const char *host_id)
{
	pthread_mutex_lock(&s->lock);
	struct sched_host *h = find(s, host_id);
	if (h)
		*h = s->hosts[--s->n];
	pthread_mutex_unlock(&s->lock);
}

struct usage {
	char host_id[UUID_SIZE];
	int64_t vcpus, ram_mb, disk_gb;
};

static void usage_from_row(struct store_stmt *st, void *out)
{
	struct usage *u = out;
	str_copy(u->host_id, sizeof(u->host_id), store_col_text(st, 0));
	u->vcpus = store_col_int(st, 1);
	u->ram_mb = store_col_int(st, 2);
	u->disk_gb = store_col_int(st, 3);
}

static void member_from_row(struct store_stmt *st, void *out)
{
	struct sched_member *m = out;
	str_copy(m->group_id, sizeof(m->group_id), store_col_text(st, 0));
	str_copy(m->host_id, sizeof(m->host_id), store_col_text(st, 1));
	m->count = store_col_int(st, 2);
}

int sched_load(struct sched *s, struct store_conn *c, struct err *err)
{
	struct host *hosts = NULL;
	struct usage *use = NULL;
	size_t nh = 0, nu = 0;
	bool more = true;
	const char *after = NULL;
	char last[COMPUTE_HOST_NAME_MAX + 1];
	while (more) {
		struct host *page;
		size_t n;
		int r = host_list(c, after, 1000, &page, &n, &more, err);
		if (r < 0) {
			free(hosts);
			return r;
		}
		hosts = xrealloc(hosts, (nh + n + 1) * sizeof(*hosts));
		memcpy(hosts + nh, page, n * sizeof(*page));
		nh += n;
		if (n)
			str_copy(last, sizeof(last), page[n - 1].name);
		after = last;
		free(page);
	}
	struct store_stmt *st = NULL;
	int r = store_query(c, &st,
			    "SELECT host_id, SUM(vcpus), SUM(ram_mb), SUM(disk_gb) FROM instances"
			    " WHERE host_id IS NOT NULL GROUP BY host_id",
			    "");
	void *items = NULL;
	if (r == 0)
		r = store_fetch(st, sizeof(struct usage), 0, usage_from_row, &items, &nu, NULL);
	if (r < 0) {
		free(hosts);
		return store_fail(c, r, err);
	}
	use = items;
	r = store_query(c, &st,
			"SELECT group_id, host_id, COUNT(*) FROM instances"
			" WHERE group_id IS NOT NULL AND host_id IS NOT NULL GROUP BY group_id, host_id",
			"");
	size_t ng = 0;
	if (r == 0)
		r = store_fetch(st, sizeof(struct sched_member), 0, member_from_row, &items, &ng,
				NULL);
	if (r < 0) {
		free(hosts);
		free(use);
		return store_fail(c, r, err);
	}
	pthread_mutex_lock(&s->lock);
	s->n = 0;
	free(s->members);
	s->members = items;
	s->nm = s->capm = ng;
	pthread_mutex_unlock(&s->lock);
	for (size_t i = 0; i < nh; i++)
		sched_host_update(s, &hosts[i]);
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < nu; i++) {
		struct sched_host *h = find(s, use[i].host_id);
		if (!h)
			continue;
		h->used_vcpus = use[i].vcpus;
		h->used_ram_mb = use[i].ram_mb;
		h->used_disk_gb = use[i].disk_gb;
	}
	pthread_mutex_unlock(&s->lock);
	free(hosts);
	free(use);
	return 0;
}

int sched_place(struct sched *s, const struct sched_request *req, int64_t now_ms,
		char ret_host[UUID_SIZE], char *why, size_t why_size)
{
	bool any_zone = !req->zone_id || !req->zone_id[0];
	bool grouped = req->group_id && req->group_id[0];
	size_t candidates = 0, excluded_by_group = 0;
	int64_t best_free = -1, most_vcpus = 0, most_ram = 0;
	struct sched_host *best = NULL;
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->n; i++) {
		struct sched_host *h = &s->hosts[i];
		if (!any_zone && strcmp(h->zone_id, req->zone_id) != 0)
			continue;
		if (!h->enabled || now_ms - h->last_heartbeat_ms > s->opts.down_after_ms)
			continue;
		candidates++;
		if (grouped) {
			int64_t here = members_on(s, req->group_id, h->id);
			bool ok = req->anti_affinity ? here == 0
						     : (here > 0 || !group_placed(s, req->group_id));
			if (!ok) {
				excluded_by_group++;
				continue;
			}
		}
		int64_t vcpus = (int64_t)floor((double)h->cpus * s->opts.cpu_ratio) - h->used_vcpus;
		int64_t ram = (int64_t)floor((double)h->ram_mb * s->opts.ram_ratio) - h->used_ram_mb;
		int64_t disk = h->disk_gb - h->used_disk_gb;
		if (vcpus > most_vcpus)
			most_vcpus = vcpus;
		if (ram > most_ram)
			most_ram = ram;
		if (vcpus < req->vcpus || ram < req->ram_mb || disk < req->disk_gb)
			continue;
		if (ram > best_free) {
			best_free = ram;
			best = h;
		}
	}
	int r = 0;
	if (best) {
		best->used_vcpus += req->vcpus;
		best->used_ram_mb += req->ram_mb;
		best->used_disk_gb += req->disk_gb;
		if (grouped)
			members_add(s, req->group_id, best->id, 1);
		memcpy(ret_host, best->id, UUID_SIZE);
	} else if (candidates == 0) {
		str_printf(why, why_size, "no host is up and enabled%s",
			   any_zone ? "" : " in the requested zone");
		r = -ERR_INVALID;
	} else if (excluded_by_group == candidates) {
		str_printf(why, why_size,
			   req->anti_affinity
				   ? "anti-affinity: every host that is up already holds a member of "
				     "the server group"
				   : "affinity: the host that holds the server group's members is not "
				     "available");
		r = -ERR_INVALID;
	} else {
		str_printf(why, why_size,
			   "no host has room: the instance needs %lld vCPUs, %lld MB of memory and "
			   "%lld GB of disk; the most any host has free is %lld vCPUs and %lld MB",
			   (long long)req->vcpus, (long long)req->ram_mb, (long long)req->disk_gb,
			   (long long)most_vcpus, (long long)most_ram);
		r = -ERR_INVALID;
	}
	pthread_mutex_unlock(&s->lock);
	return r;
}

static int64_t minus(int64_t a, int64_t b)
{
	return a > b ? a - b : 0;
}

void sched_release(struct sched *s, const char *host_id, const struct sched_request *req)
{
	pthread_mutex_lock(&s->lock);
	struct sched_host *h = find(s, host_id);
	if (h) {
		h->used_vcpus = minus(h->used_vcpus, req->vcpus);
		h->used_ram_mb = minus(h->used_ram_mb, req->ram_mb);
		h->used_disk_gb = minus(h->used_disk_gb, req->disk_gb);
	}
	if (req->group_id && req->group_id[0])
		members_add(s, req->group_id, host_id, -1);
	pthread_mutex_unlock(&s->lock);
}

void sched_host_usage(struct sched *s, const char *host_id, struct sched_usage *ret)
{
	memset(ret, 0, sizeof(*ret));
	pthread_mutex_lock(&s->lock);
	const struct sched_host *h = find(s, host_id);
	if (h) {
		ret->vcpus = h->used_vcpus;
		ret->ram_mb = h->used_ram_mb;
		ret->disk_gb = h->used_disk_gb;
	}
	pthread_mutex_unlock(&s->lock);
}
