/* sched: the scheduler's capacity index; see compute.h.
 *
 * Hosts live in an array indexed by a hash of their ids. Each zone keeps
 * its hosts as the leaves of a max-tree (a segment tree): every node holds
 * the largest free vCPUs, memory and disk of the eligible hosts below it
 * (free = capacity times the zone's overcommit ratio, minus what placed
 * instances use; an ineligible host counts as -1). A placement descends
 * only into subtrees whose maxima could fit the request:
 *
 *   spread  branch and bound for the fitting host with the most free
 *           memory, larger subtree first, pruning subtrees that cannot
 *           beat the best host found;
 *   pack    first fit in the zone's stable host order: hosts fill one
 *           after another and the rest stay empty for large flavors.
 *
 * Either visits O(log n) nodes when the maxima of a subtree come from one
 * host, a few times that otherwise. Heartbeat freshness changes with time
 * alone, so it is checked at the leaves a search reaches: a silent host is
 * taken out of its tree there and comes back with its next report. An
 * anti-affinity group's hosts are skipped at the leaves; an affinity group
 * already placed is checked directly on its host. Server groups are kept
 * as small arrays of (host, members) under a second hash. */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "compute.h"
#include "lib/idxmap.h"
#include "lib/util.h"

#define NO_POS UINT32_MAX
#define STALE_MAX 16 /* silent hosts taken out per search */

struct sched_host {
	char id[UUID_SIZE];        /* "" for a free slot */
	uint32_t zone;             /* index into zones */
	uint32_t leaf;             /* position in the zone's tree */
	bool enabled, silent;      /* silent: taken out until the next report */
	int64_t last_heartbeat_ms;
	int64_t cpus, ram_mb, disk_gb;                 /* physical, as reported */
	int64_t used_vcpus, used_ram_mb, used_disk_gb; /* by placed instances */
};

/* Largest free amounts among the eligible hosts under a tree node. */
struct node {
	int64_t vcpus, ram_mb, disk_gb;
};

struct sched_zone {
	char id[UUID_SIZE];        /* "" holds the hosts without a zone */
	double cpu_ratio, ram_ratio; /* 0: the default */
	uint32_t *leaves;          /* host index per leaf, NO_POS when free */
	struct node *tree;         /* 2 * cap nodes, root at 1, leaves at cap.. */
	uint32_t n, cap;           /* leaves in use (high mark), capacity */
	uint32_t *free_leaves;     /* leaves given back by removed hosts */
	uint32_t nfree;
	uint32_t eligible;         /* hosts enabled and not silent */
};

/* Where a server group's members run. */
struct group_host {
	uint32_t host;
	int64_t count;
};

struct sched_group {
	char id[UUID_SIZE];        /* "" for a free slot */
	struct group_host *hosts;  /* owned */
	uint32_t n, cap;
};

struct sched {
	struct sched_opts opts;
	pthread_mutex_t lock;      /* protects everything below */
	struct sched_host *hosts;
	uint32_t nhosts, caphosts;
	uint32_t *free_hosts;      /* free slots of hosts */
	uint32_t nfree_hosts;
	struct idxmap host_ix;
	struct sched_zone *zones;
	uint32_t nzones;
	struct sched_group *groups;
	uint32_t ngroups, capgroups;
	uint32_t *free_groups;
	uint32_t nfree_groups;
	struct idxmap group_ix;
};

static const char *host_key(const void *ctx, uint32_t pos)
{
	return ((const struct sched *)ctx)->hosts[pos].id;
}

static const char *group_key(const void *ctx, uint32_t pos)
{
	return ((const struct sched *)ctx)->groups[pos].id;
}

struct sched *sched_new(const struct sched_opts *opts)
{
	struct sched *s = xcalloc(1, sizeof(*s));
	s->opts = *opts;
	pthread_mutex_init(&s->lock, NULL);
	idxmap_init(&s->host_ix, host_key, s);
	idxmap_init(&s->group_ix, group_key, s);
	return s;
}

static void clear(struct sched *s)
{
	for (uint32_t i = 0; i < s->nzones; i++) {
		free(s->zones[i].leaves);
		free(s->zones[i].tree);
		free(s->zones[i].free_leaves);
	}
	for (uint32_t i = 0; i < s->ngroups; i++)
		free(s->groups[i].hosts);
	free(s->zones);
	free(s->hosts);
	free(s->free_hosts);
	free(s->groups);
	free(s->free_groups);
	idxmap_free(&s->host_ix);
	idxmap_free(&s->group_ix);
	s->zones = NULL;
	s->hosts = NULL;
	s->groups = NULL;
	s->free_hosts = s->free_groups = NULL;
	s->nzones = s->nhosts = s->caphosts = s->nfree_hosts = 0;
	s->ngroups = s->capgroups = s->nfree_groups = 0;
}

void sched_free(struct sched *s)
{
	if (!s)
		return;
	clear(s);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* ---- zones and their trees (all with the lock held) ---- */

static double ratio(double zone, double dflt)
{
	return zone > 0 ? zone : dflt;
}

static bool eligible(const struct sched_host *h)
{
	return h->enabled && !h->silent;
}

/* What host h may hold in all: its capacity times its zone's ratios. */
static struct node capacity(const struct sched *s, const struct sched_host *h)
{
	const struct sched_zone *z = &s->zones[h->zone];
	return (struct node){
		(int64_t)floor((double)h->cpus * ratio(z->cpu_ratio, s->opts.cpu_ratio)),
		(int64_t)floor((double)h->ram_mb * ratio(z->ram_ratio, s->opts.ram_ratio)),
		h->disk_gb };
}

/* What is free on host h, whether or not it takes new instances; an
 * overcommitted host (its ratio lowered since) counts as -1. */
static struct node free_on(const struct sched *s, const struct sched_host *h)
{
	struct node v = capacity(s, h);
	v.vcpus -= h->used_vcpus;
	v.ram_mb -= h->used_ram_mb;
	v.disk_gb -= h->used_disk_gb;
	v.vcpus = v.vcpus < -1 ? -1 : v.vcpus;
	v.ram_mb = v.ram_mb < -1 ? -1 : v.ram_mb;
	v.disk_gb = v.disk_gb < -1 ? -1 : v.disk_gb;
	return v;
}

/* A host's free amounts as a leaf: -1 everywhere when it takes nothing. */
static struct node leaf_value(const struct sched *s, const struct sched_host *h)
{
	return eligible(h) ? free_on(s, h) : (struct node){ -1, -1, -1 };
}

static struct node node_max(struct node a, struct node b)
{
	return (struct node){ a.vcpus > b.vcpus ? a.vcpus : b.vcpus,
			      a.ram_mb > b.ram_mb ? a.ram_mb : b.ram_mb,
			      a.disk_gb > b.disk_gb ? a.disk_gb : b.disk_gb };
}

static const struct node EMPTY = { -1, -1, -1 };

/* Set leaf i of z to v and fix the maxima above it. */
static void tree_set(struct sched_zone *z, uint32_t i, struct node v)
{
	size_t k = (size_t)z->cap + i;
	z->tree[k] = v;
	for (k /= 2; k >= 1; k /= 2)
		z->tree[k] = node_max(z->tree[2 * k], z->tree[2 * k + 1]);
}

/* Recompute host h's leaf (after any change to it). */
static void host_refresh(struct sched *s, struct sched_host *h, bool was_eligible)
{
	struct sched_zone *z = &s->zones[h->zone];
	tree_set(z, h->leaf, leaf_value(s, h));
	if (was_eligible != eligible(h)) {
		if (eligible(h))
			z->eligible++;
		else
			z->eligible--;
	}
}

static uint32_t zone_find(struct sched *s, const char *zone_id)
{
	for (uint32_t i = 0; i < s->nzones; i++)
		if (strcmp(s->zones[i].id, zone_id) == 0)
			return i;
	return NO_POS;
}

static uint32_t zone_find_or_add(struct sched *s, const char *zone_id)
{
	uint32_t i = zone_find(s, zone_id);
	if (i != NO_POS)
		return i;
	s->zones = xrealloc(s->zones, (s->nzones + 1) * sizeof(*s->zones));
	struct sched_zone *z = &s->zones[s->nzones];
	memset(z, 0, sizeof(*z));
	str_copy(z->id, sizeof(z->id), zone_id);
	return s->nzones++;
}

/* Take a leaf in zone zi for host hi. */
static uint32_t leaf_take(struct sched *s, uint32_t zi, uint32_t hi)
{
	struct sched_zone *z = &s->zones[zi];
	uint32_t i;
	if (z->nfree) {
		i = z->free_leaves[--z->nfree];
	} else {
		if (z->n == z->cap) {
			uint32_t cap = z->cap ? z->cap * 2 : 16;
			z->leaves = xrealloc(z->leaves, cap * sizeof(*z->leaves));
			struct node *t = xmalloc(2 * (size_t)cap * sizeof(*t));
			for (size_t k = 0; k < 2 * (size_t)cap; k++)
				t[k] = EMPTY;
			for (uint32_t k = 0; k < z->n; k++)
				t[cap + k] = z->tree[z->cap + k];
			for (size_t k = cap - 1; k >= 1; k--)
				t[k] = node_max(t[2 * k], t[2 * k + 1]);
			free(z->tree);
			z->tree = t;
			z->cap = cap;
			z->free_leaves = xrealloc(z->free_leaves, cap * sizeof(*z->free_leaves));
		}
		i = z->n++;
	}
	z->leaves[i] = hi;
	return i;
}

static void leaf_give_back(struct sched *s, struct sched_host *h)
{
	struct sched_zone *z = &s->zones[h->zone];
	if (eligible(h))
		z->eligible--;
	tree_set(z, h->leaf, EMPTY);
	z->leaves[h->leaf] = NO_POS;
	z->free_leaves[z->nfree++] = h->leaf;
}

/* ---- hosts ---- */

static struct sched_host *host_find(struct sched *s, const char *id)
{
	uint32_t i = idxmap_get(&s->host_ix, id);
	return i == IDXMAP_NONE ? NULL : &s->hosts[i];
}

static struct sched_host *host_add(struct sched *s, const char *id, const char *zone_id)
{
	uint32_t i;
	if (s->nfree_hosts) {
		i = s->free_hosts[--s->nfree_hosts];
	} else {
		if (s->nhosts == s->caphosts) {
			s->caphosts = s->caphosts ? s->caphosts * 2 : 64;
			s->hosts = xrealloc(s->hosts, s->caphosts * sizeof(*s->hosts));
			s->free_hosts = xrealloc(s->free_hosts, s->caphosts * sizeof(*s->free_hosts));
		}
		i = s->nhosts++;
	}
	struct sched_host *h = &s->hosts[i];
	memset(h, 0, sizeof(*h));
	str_copy(h->id, sizeof(h->id), id);
	idxmap_put(&s->host_ix, h->id, i);
	h->zone = zone_find_or_add(s, zone_id);
	h->leaf = leaf_take(s, h->zone, i);
	return h;
}

static int64_t group_on(const struct sched_group *g, uint32_t hi);
static void group_add(struct sched *s, const char *id, uint32_t hi, int64_t delta);

/* Forget host h (its slot may serve another host later, so no server
 * group may still point at it). */
static void host_drop(struct sched *s, struct sched_host *h)
{
	uint32_t hi = (uint32_t)(h - s->hosts);
	for (uint32_t i = 0; i < s->ngroups; i++) {
		struct sched_group *g = &s->groups[i];
		int64_t n = g->id[0] ? group_on(g, hi) : 0;
		if (n > 0)
			group_add(s, g->id, hi, -n);
	}
	leaf_give_back(s, h);
	idxmap_del(&s->host_ix, h->id);
	h->id[0] = '\0';
	s->free_hosts[s->nfree_hosts++] = (uint32_t)(h - s->hosts);
}

/* With the lock held. */
static void host_update(struct sched *s, const struct host *host)
{
	struct sched_host *h = host_find(s, host->id);
	if (h && strcmp(s->zones[h->zone].id, host->zone_id) != 0) {
		/* moved to another zone: keep its usage, take a new leaf */
		struct sched_host keep = *h;
		host_drop(s, h);
		h = host_add(s, host->id, host->zone_id);
		h->used_vcpus = keep.used_vcpus;
		h->used_ram_mb = keep.used_ram_mb;
		h->used_disk_gb = keep.used_disk_gb;
	} else if (!h) {
		h = host_add(s, host->id, host->zone_id);
	}
	bool was = eligible(h);
	h->enabled = host->enabled;
	h->silent = false;
	h->last_heartbeat_ms = host->last_heartbeat_ms;
	h->cpus = host->cpus;
	h->ram_mb = host->ram_mb;
	h->disk_gb = host->disk_gb;
	host_refresh(s, h, was);
}

void sched_host_update(struct sched *s, const struct host *host)
{
	pthread_mutex_lock(&s->lock);
	host_update(s, host);
	pthread_mutex_unlock(&s->lock);
}

void sched_host_remove(struct sched *s, const char *host_id)
{
	pthread_mutex_lock(&s->lock);
	struct sched_host *h = host_find(s, host_id);
	if (h)
		host_drop(s, h);
	pthread_mutex_unlock(&s->lock);
}

void sched_zone_update(struct sched *s, const char *zone_id, double cpu_ratio, double ram_ratio)
{
	pthread_mutex_lock(&s->lock);
	uint32_t zi = zone_find_or_add(s, zone_id);
	struct sched_zone *z = &s->zones[zi];
	z->cpu_ratio = cpu_ratio;
	z->ram_ratio = ram_ratio;
	for (uint32_t i = 0; i < z->n; i++)
		if (z->leaves[i] != NO_POS)
			tree_set(z, i, leaf_value(s, &s->hosts[z->leaves[i]]));
	pthread_mutex_unlock(&s->lock);
}

bool sched_host_usage(struct sched *s, const char *host_id, struct sched_usage *ret)
{
	pthread_mutex_lock(&s->lock);
	struct sched_host *h = host_find(s, host_id);
	if (h) {
		struct node cap = capacity(s, h);
		ret->vcpus = h->used_vcpus;
		ret->ram_mb = h->used_ram_mb;
		ret->disk_gb = h->used_disk_gb;
		ret->vcpus_total = cap.vcpus;
		ret->ram_mb_total = cap.ram_mb;
		ret->disk_gb_total = cap.disk_gb;
	}
	pthread_mutex_unlock(&s->lock);
	return h != NULL;
}

size_t sched_bytes(struct sched *s)
{
	pthread_mutex_lock(&s->lock);
	size_t n = s->caphosts * (sizeof(*s->hosts) + sizeof(*s->free_hosts)) +
		   idxmap_bytes(&s->host_ix) + idxmap_bytes(&s->group_ix) +
		   s->capgroups * (sizeof(*s->groups) + sizeof(*s->free_groups)) +
		   s->nzones * sizeof(*s->zones);
	for (uint32_t i = 0; i < s->nzones; i++)
		n += s->zones[i].cap * (2 * sizeof(struct node) + 2 * sizeof(uint32_t));
	for (uint32_t i = 0; i < s->ngroups; i++)
		n += s->groups[i].cap * sizeof(struct group_host);
	pthread_mutex_unlock(&s->lock);
	return n;
}

/* ---- server groups (with the lock held) ---- */

static struct sched_group *group_find(struct sched *s, const char *id)
{
	uint32_t i = idxmap_get(&s->group_ix, id);
	return i == IDXMAP_NONE ? NULL : &s->groups[i];
}

static struct sched_group *group_find_or_add(struct sched *s, const char *id)
{
	struct sched_group *g = group_find(s, id);
	if (g)
		return g;
	uint32_t i;
	if (s->nfree_groups) {
		i = s->free_groups[--s->nfree_groups];
	} else {
		if (s->ngroups == s->capgroups) {
			s->capgroups = s->capgroups ? s->capgroups * 2 : 64;
			s->groups = xrealloc(s->groups, s->capgroups * sizeof(*s->groups));
			s->free_groups = xrealloc(s->free_groups,
						  s->capgroups * sizeof(*s->free_groups));
		}
		i = s->ngroups++;
	}
	g = &s->groups[i];
	memset(g, 0, sizeof(*g));
	str_copy(g->id, sizeof(g->id), id);
	idxmap_put(&s->group_ix, g->id, i);
	return g;
}

/* Members of g on host hi. */
static int64_t group_on(const struct sched_group *g, uint32_t hi)
{
	for (uint32_t i = 0; i < g->n; i++)
		if (g->hosts[i].host == hi)
			return g->hosts[i].count;
	return 0;
}

/* Add delta members of group id on host hi; a group left without members
 * is forgotten. */
static void group_add(struct sched *s, const char *id, uint32_t hi, int64_t delta)
{
	struct sched_group *g = delta > 0 ? group_find_or_add(s, id) : group_find(s, id);
	if (!g)
		return;
	uint32_t i = 0;
	while (i < g->n && g->hosts[i].host != hi)
		i++;
	if (i == g->n) {
		if (delta <= 0)
			return;
		if (g->n == g->cap) {
			g->cap = g->cap ? g->cap * 2 : 4;
			g->hosts = xrealloc(g->hosts, g->cap * sizeof(*g->hosts));
		}
		g->hosts[g->n++] = (struct group_host){ hi, 0 };
	}
	g->hosts[i].count += delta;
	if (g->hosts[i].count <= 0)
		g->hosts[i] = g->hosts[--g->n];
	if (g->n == 0) {
		free(g->hosts);
		idxmap_del(&s->group_ix, g->id);
		g->id[0] = '\0';
		g->hosts = NULL;
		g->cap = 0;
		s->free_groups[s->nfree_groups++] = (uint32_t)(g - s->groups);
	}
}

/* ---- loading ---- */

struct usage {
	char host_id[UUID_SIZE];
	char group_id[UUID_SIZE];
	int64_t count, vcpus, ram_mb, disk_gb;
};

static void usage_from_row(struct store_stmt *st, void *out)
{
	struct usage *u = out;
	str_copy(u->host_id, sizeof(u->host_id), store_col_text(st, 0));
	str_copy(u->group_id, sizeof(u->group_id), store_col_text(st, 1));
	u->count = store_col_int(st, 2);
	u->vcpus = store_col_int(st, 3);
	u->ram_mb = store_col_int(st, 4);
	u->disk_gb = store_col_int(st, 5);
}

int sched_load(struct sched *s, struct store_conn *c, struct err *err)
{
	struct host *hosts = NULL;
	size_t nh = 0;
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
	struct zone_page zp = { 0 };
	struct zone *zones = NULL;
	size_t nz = 0;
	for (more = true, after = NULL; more;) {
		int r = zone_list(c, after, NULL, 1000, &zp, err);
		if (r < 0) {
			free(hosts);
			free(zones);
			return r;
		}
		zones = xrealloc(zones, (nz + zp.n + 1) * sizeof(*zones));
		memcpy(zones + nz, zp.items, zp.n * sizeof(*zp.items));
		nz += zp.n;
		more = zp.more;
		if (zp.n)
			str_copy(last, sizeof(last), zp.items[zp.n - 1].name);
		after = last;
		zone_page_release(&zp);
	}
	struct store_stmt *st = NULL;
	void *items = NULL;
	size_t nu = 0;
	int r = store_query(c, &st,
			    "SELECT host_id, COALESCE(group_id, ''), COUNT(*), SUM(vcpus),"
			    " SUM(ram_mb), SUM(disk_gb) FROM instances WHERE host_id IS NOT NULL"
			    " GROUP BY host_id, group_id",
			    "");
	if (r == 0)
		r = store_fetch(st, sizeof(struct usage), 0, usage_from_row, &items, &nu, NULL);
	if (r < 0) {
		free(hosts);
		free(zones);
		return store_fail(c, r, err);
	}
	struct usage *use = items;
	pthread_mutex_lock(&s->lock);
	clear(s);
	for (size_t i = 0; i < nz; i++) {
		uint32_t zi = zone_find_or_add(s, zones[i].id);
		struct sched_zone *z = &s->zones[zi];
		z->cpu_ratio = zones[i].cpu_ratio;
		z->ram_ratio = zones[i].ram_ratio;
	}
	for (size_t i = 0; i < nh; i++)
		host_update(s, &hosts[i]);
	for (size_t i = 0; i < nu; i++) {
		struct sched_host *h = host_find(s, use[i].host_id);
		if (!h)
			continue;
		h->used_vcpus += use[i].vcpus;
		h->used_ram_mb += use[i].ram_mb;
		h->used_disk_gb += use[i].disk_gb;
		host_refresh(s, h, eligible(h));
		if (use[i].group_id[0])
			group_add(s, use[i].group_id, (uint32_t)(h - s->hosts), use[i].count);
	}
	pthread_mutex_unlock(&s->lock);
	free(hosts);
	free(zones);
	free(use);
	return 0;
}

/* ---- placement (with the lock held) ---- */

struct search {
	const struct sched_request *req;
	const struct sched_group *anti; /* hosts to skip, or NULL */
	int64_t now_ms;
	int64_t best_ram;               /* spread: free memory of best */
	uint32_t best;                  /* host index, or NO_POS */
	uint32_t stale[STALE_MAX];      /* silent hosts met on the way */
	uint32_t nstale;
	size_t skipped;                 /* fitting hosts skipped for the group */
	uint32_t avoid;                 /* a host not to take, or NO_POS */
	size_t filtered;                /* fitting hosts not among req->only_hosts */
};

static int cmp_id(const void *a, const void *b)
{
	return strcmp(a, b);
}

static bool fits(const struct node *v, const struct sched_request *req)
{
	return v->vcpus >= req->vcpus && v->ram_mb >= req->ram_mb && v->disk_gb >= req->disk_gb;
}

/* Whether a fitting leaf's host may take the request now. */
static bool leaf_ok(struct sched *s, struct search *q, uint32_t hi)
{
	struct sched_host *h = &s->hosts[hi];
	if (q->now_ms - h->last_heartbeat_ms > s->opts.down_after_ms) {
		if (q->nstale < STALE_MAX)
			q->stale[q->nstale++] = hi;
		return false;
	}
	if (q->anti && group_on(q->anti, hi) > 0) {
		q->skipped++;
		return false;
	}
	if (q->avoid != NO_POS && hi == q->avoid)
		return false;
	if (q->req->only_hosts &&
	    !bsearch(h->id, q->req->only_hosts, q->req->n_only_hosts, UUID_SIZE, cmp_id)) {
		q->filtered++;
		return false;
	}
	return true;
}

/* Spread: the fitting host with the most free memory under node k. */
static void search_spread(struct sched *s, struct sched_zone *z, size_t k, struct search *q)
{
	const struct node *v = &z->tree[k];
	if (!fits(v, q->req) || v->ram_mb <= q->best_ram)
		return;
	if (k >= z->cap) {
		uint32_t hi = z->leaves[k - z->cap];
		if (leaf_ok(s, q, hi)) {
			q->best = hi;
			q->best_ram = v->ram_mb;
		}
		return;
	}
	size_t a = 2 * k, b = 2 * k + 1;
	if (z->tree[b].ram_mb > z->tree[a].ram_mb) {
		a = b;
		b = 2 * k;
	}
	search_spread(s, z, a, q);
	search_spread(s, z, b, q);
}

/* Pack: the first fitting host under node k in leaf order. */
static bool search_pack(struct sched *s, struct sched_zone *z, size_t k, struct search *q)
{
	if (!fits(&z->tree[k], q->req))
		return false;
	if (k >= z->cap) {
		uint32_t hi = z->leaves[k - z->cap];
		if (!leaf_ok(s, q, hi))
			return false;
		q->best = hi;
		return true;
	}
	return search_pack(s, z, 2 * k, q) || search_pack(s, z, 2 * k + 1, q);
}

/* Take the silent hosts met by a search out of their trees. */
static void take_out_silent(struct sched *s, struct search *q)
{
	for (uint32_t i = 0; i < q->nstale; i++) {
		struct sched_host *h = &s->hosts[q->stale[i]];
		if (h->silent)
			continue;
		bool was = eligible(h);
		h->silent = true;
		host_refresh(s, h, was);
	}
	q->nstale = 0;
}

/* Affinity with members placed: their host, if it can take req. */
static uint32_t place_with_group(struct sched *s, const struct sched_group *g,
				 const struct sched_request *req, int64_t now_ms, uint32_t zi)
{
	for (uint32_t i = 0; i < g->n; i++) {
		struct sched_host *h = &s->hosts[g->hosts[i].host];
		struct node v = leaf_value(s, h);
		if ((zi == NO_POS || h->zone == zi) && fits(&v, req) &&
		    now_ms - h->last_heartbeat_ms <= s->opts.down_after_ms)
			return g->hosts[i].host;
	}
	return NO_POS;
}

static void why_not(struct sched *s, const struct sched_request *req, uint32_t zi,
		    const struct sched_group *g, const struct search *q, char *why,
		    size_t why_size)
{
	size_t skipped = q->skipped;
	uint32_t eligible_hosts = 0;
	struct node most = EMPTY;
	for (uint32_t i = 0; i < s->nzones; i++)
		if (zi == NO_POS || i == zi) {
			eligible_hosts += s->zones[i].eligible;
			if (s->zones[i].cap)
				most = node_max(most, s->zones[i].tree[1]);
		}
	if (eligible_hosts == 0) {
		str_printf(why, why_size, "no host is up and enabled%s",
			   zi == NO_POS ? "" : " in the requested zone");
	} else if (req->only_hosts && (q->filtered > 0 || req->n_only_hosts == 0)) {
		str_printf(why, why_size,
			   "none of the hosts that reach the instance's volumes (their storage "
			   "pools) is up and has room");
	} else if (g && !req->anti_affinity) {
		str_printf(why, why_size,
			   "affinity: the host that holds the server group's members is not "
			   "available or has no room");
	} else if (g && (skipped > 0 || g->n >= eligible_hosts)) {
		str_printf(why, why_size,
			   "anti-affinity: every host that is up and has room already holds a "
			   "member of the server group");
	} else {
		str_printf(why, why_size,
			   "no host has room: the instance needs %lld vCPUs, %lld MB of memory and "
			   "%lld GB of disk; the most any host has free is %lld vCPUs, %lld MB and "
			   "%lld GB",
			   (long long)req->vcpus, (long long)req->ram_mb, (long long)req->disk_gb,
			   (long long)(most.vcpus < 0 ? 0 : most.vcpus),
			   (long long)(most.ram_mb < 0 ? 0 : most.ram_mb),
			   (long long)(most.disk_gb < 0 ? 0 : most.disk_gb));
	}
}

int sched_place(struct sched *s, const struct sched_request *req, int64_t now_ms,
		char ret_host[UUID_SIZE], char *why, size_t why_size)
{
	bool grouped = req->group_id && req->group_id[0];
	pthread_mutex_lock(&s->lock);
	uint32_t zi = NO_POS;
	if (req->zone_id && req->zone_id[0] && (zi = zone_find(s, req->zone_id)) == NO_POS)
		zi = zone_find_or_add(s, req->zone_id); /* a zone without hosts yet */
	const struct sched_group *g = grouped ? group_find(s, req->group_id) : NULL;
	struct search q = { .req = req, .now_ms = now_ms, .best_ram = -1, .best = NO_POS,
			    .anti = req->anti_affinity ? g : NULL, .avoid = NO_POS };
	if (req->avoid_host) {
		struct sched_host *a = host_find(s, req->avoid_host);
		q.avoid = a ? (uint32_t)(a - s->hosts) : NO_POS;
	}
	if (req->only_host) {
		/* one host asked for by name: it takes the request if it can */
		struct sched_host *h = host_find(s, req->only_host);
		struct node v = h ? leaf_value(s, h) : EMPTY;
		uint32_t hi = h ? (uint32_t)(h - s->hosts) : NO_POS;
		if (h && (zi == NO_POS || h->zone == zi) && fits(&v, req) && leaf_ok(s, &q, hi) &&
		    (!g || req->anti_affinity || group_on(g, hi) > 0 || g->n == 0))
			q.best = hi;
		q.nstale = 0;
		if (q.best == NO_POS) {
			str_printf(why, why_size,
				   !h ? "the host is not known"
				   : !eligible(h) || now_ms - h->last_heartbeat_ms > s->opts.down_after_ms
					   ? "the host is not up and enabled"
				   : q.filtered ? "the host does not mount the storage pools of the "
						  "instance's volumes"
				   : q.skipped ? "anti-affinity: the host already holds a member of the "
						 "server group"
				   : g && !req->anti_affinity ? "affinity: the server group's members "
								"are on another host"
							      : "the host has no room for the instance");
			pthread_mutex_unlock(&s->lock);
			return -ERR_INVALID;
		}
	} else if (g && !req->anti_affinity) {
		q.best = place_with_group(s, g, req, now_ms, zi);
		if (q.best == q.avoid)
			q.best = NO_POS;
	} else {
		for (;;) {
			for (uint32_t i = 0; i < s->nzones; i++) {
				struct sched_zone *z = &s->zones[i];
				if ((zi != NO_POS && i != zi) || z->cap == 0)
					continue;
				if (s->opts.pack) {
					if (search_pack(s, z, 1, &q))
						break;
				} else {
					search_spread(s, z, 1, &q);
				}
			}
			if (q.best != NO_POS || q.nstale == 0)
				break;
			/* silent hosts hid the answer: take them out, search again */
			take_out_silent(s, &q);
			q.skipped = 0;
		}
		take_out_silent(s, &q);
	}
	int r = 0;
	if (q.best != NO_POS) {
		struct sched_host *h = &s->hosts[q.best];
		h->used_vcpus += req->vcpus;
		h->used_ram_mb += req->ram_mb;
		h->used_disk_gb += req->disk_gb;
		host_refresh(s, h, eligible(h));
		if (grouped)
			group_add(s, req->group_id, q.best, 1);
		memcpy(ret_host, h->id, UUID_SIZE);
	} else {
		why_not(s, req, zi, g, &q, why, why_size);
		r = -ERR_INVALID;
	}
	pthread_mutex_unlock(&s->lock);
	return r;
}

int sched_resize(struct sched *s, const char *host_id, const struct sched_request *from,
		 const struct sched_request *to, char *why, size_t why_size)
{
	pthread_mutex_lock(&s->lock);
	struct sched_host *h = host_find(s, host_id);
	int r = 0;
	if (!h) {
		str_printf(why, why_size, "the instance's host is gone");
		r = -ERR_CONFLICT;
	} else {
		struct node free = free_on(s, h);
		int64_t dv = to->vcpus - from->vcpus, dr = to->ram_mb - from->ram_mb,
			dd = to->disk_gb - from->disk_gb;
		if ((dv > 0 && free.vcpus < dv) || (dr > 0 && free.ram_mb < dr) ||
		    (dd > 0 && free.disk_gb < dd)) {
			str_printf(why, why_size,
				   "the instance's host has no room for the new flavor (it has %lld "
				   "vCPUs, %lld MB and %lld GB free); stop other instances there or "
				   "move this one first",
				   (long long)(free.vcpus < 0 ? 0 : free.vcpus),
				   (long long)(free.ram_mb < 0 ? 0 : free.ram_mb),
				   (long long)(free.disk_gb < 0 ? 0 : free.disk_gb));
			r = -ERR_CONFLICT;
		} else {
			h->used_vcpus += dv;
			h->used_ram_mb += dr;
			h->used_disk_gb += dd;
			host_refresh(s, h, eligible(h));
		}
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
	struct sched_host *h = host_find(s, host_id);
	if (h) {
		h->used_vcpus = minus(h->used_vcpus, req->vcpus);
		h->used_ram_mb = minus(h->used_ram_mb, req->ram_mb);
		h->used_disk_gb = minus(h->used_disk_gb, req->disk_gb);
		host_refresh(s, h, eligible(h));
		if (req->group_id && req->group_id[0])
			group_add(s, req->group_id, (uint32_t)(h - s->hosts), -1);
	}
	pthread_mutex_unlock(&s->lock);
}
