/* bench/scheduler: the scheduler's capacity index at cloud scale, in one
 * process. It loads HOSTS hosts (mixed sizes, four zones, 1% disabled, 1%
 * silent) and makes PLACEMENTS placements of mixed flavors, some in a
 * requested zone, some in anti-affinity and affinity server groups, with
 * one release for every RELEASE_EVERY placements. It prints placements/s,
 * the p50/p99/max decision time and the index's memory per host.
 *
 * Beside it, in the same run, a naive placement — one linear pass over all
 * hosts per decision with the same filters and the same weigher — decides
 * NAIVE placements sampled evenly over the whole input, in lockstep: it sees
 * the same state as the index at that moment (each decision of the index
 * is applied to the shared state), and must pick a host with as much free
 * memory as the index's (spread) or the very same host (pack, first fit
 * in zone then enrollment order) — a disagreement fails the run. A linear
 * pass is what a scheduler that scans its store, or a flat array, does per
 * decision.
 *
 * Usage: scheduler [--hosts N] [--placements N] [--naive N] [--pack]
 *                  [--seed N]                   (`make bench-scheduler`) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "compute/compute.h"
#include "lib/util.h"

#define ZONES 4
#define GROUPS 20000
#define RELEASE_EVERY 10
#define NOW 2000000000000LL
#define DOWN_AFTER 60000
#define CPU_RATIO 4.0
#define RAM_RATIO 1.0

struct bhost {
	struct host h;
	int64_t used_vcpus, used_ram, used_disk;
};

struct bgroup {
	char id[UUID_SIZE];
	bool anti;
	uint32_t *hosts; /* where members run (one entry per member) */
	uint32_t n, cap;
};

struct op {
	struct sched_request req;
	int group;       /* -1: none */
	uint32_t host;   /* where it went, or UINT32_MAX */
};

static uint64_t rng = 88172645463325252ULL;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static long rss_kb(void)
{
	long pages = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
			rss = 0;
		fclose(f);
	}
	return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static char zone_ids[ZONES][UUID_SIZE];

/* The naive placement: one pass over every host. Returns the host index
 * or UINT32_MAX; the weigher is spread (most free memory) or pack (first
 * fit in host order). */
static uint32_t naive_place(const struct bhost *hs, size_t n, const struct sched_request *req,
			    const struct bgroup *g, bool pack)
{
	uint32_t best = UINT32_MAX;
	int64_t best_free = -1;
	/* in the index's order: zone by zone (hosts are dealt round-robin to
	 * zones), then by enrollment */
	for (size_t j = 0; j < n; j++) {
		size_t per = (n + ZONES - 1) / ZONES, z = j / per, i = j % per * ZONES + z;
		if (i >= n)
			continue;
		const struct bhost *x = &hs[i];
		if (!x->h.enabled || NOW - x->h.last_heartbeat_ms > DOWN_AFTER)
			continue;
		if (req->zone_id && strcmp(req->zone_id, x->h.zone_id) != 0)
			continue;
		if (g) {
			bool here = false;
			for (uint32_t k = 0; k < g->n && !here; k++)
				here = g->hosts[k] == i;
			if (g->anti ? here : (g->n > 0 && !here))
				continue;
		}
		int64_t v = (int64_t)floor((double)x->h.cpus * CPU_RATIO) - x->used_vcpus;
		int64_t r = (int64_t)floor((double)x->h.ram_mb * RAM_RATIO) - x->used_ram;
		int64_t d = x->h.disk_gb - x->used_disk;
		if (v < req->vcpus || r < req->ram_mb || d < req->disk_gb)
			continue;
		if (pack)
			return (uint32_t)i;
		if (r > best_free) {
			best_free = r;
			best = (uint32_t)i;
		}
	}
	return best;
}

static void usage(void)
{
	fprintf(stderr, "usage: scheduler [--hosts N] [--placements N] [--naive N] [--pack] "
			"[--seed N]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	size_t nhosts = 100000, nplace = 1000000, nnaive = 2000;
	bool pack = false;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--pack") == 0)
			pack = true;
		else if (i + 1 < argc && strcmp(argv[i], "--hosts") == 0)
			nhosts = strtoul(argv[++i], NULL, 10);
		else if (i + 1 < argc && strcmp(argv[i], "--placements") == 0)
			nplace = strtoul(argv[++i], NULL, 10);
		else if (i + 1 < argc && strcmp(argv[i], "--naive") == 0)
			nnaive = strtoul(argv[++i], NULL, 10);
		else if (i + 1 < argc && strcmp(argv[i], "--seed") == 0)
			rng = strtoull(argv[++i], NULL, 10) | 1;
		else
			usage();
	}
	if (nhosts == 0 || nplace == 0 || nnaive > nplace)
		usage();
	size_t stride = nnaive ? nplace / nnaive : 0;

	/* the input: hosts, groups and requests, all made before measuring */
	static const int64_t host_sizes[][3] = { { 32, 131072, 2000 },
						 { 64, 262144, 4000 },
						 { 128, 524288, 8000 },
						 { 96, 786432, 4000 } };
	static const int64_t flavors[][3] = { { 1, 1024, 10 },    { 2, 4096, 20 },
					      { 4, 8192, 40 },    { 8, 16384, 80 },
					      { 16, 65536, 160 }, { 32, 131072, 320 },
					      { 2, 2048, 20 },    { 4, 16384, 40 } };
	for (int z = 0; z < ZONES; z++)
		snprintf(zone_ids[z], UUID_SIZE, "2a6e0000-0000-4000-8000-%012d", z);
	struct bhost *hs = xcalloc(nhosts, sizeof(*hs));
	for (size_t i = 0; i < nhosts; i++) {
		struct host *h = &hs[i].h;
		const int64_t *sz = host_sizes[next() % 4];
		snprintf(h->id, sizeof(h->id), "00000000-0000-4000-8000-%012u", (unsigned)i);
		str_copy(h->zone_id, sizeof(h->zone_id), zone_ids[i % ZONES]);
		h->enabled = next() % 100 != 0;
		h->last_heartbeat_ms = next() % 100 == 0 ? NOW - DOWN_AFTER - 1000 : NOW;
		h->cpus = sz[0];
		h->ram_mb = sz[1];
		h->disk_gb = sz[2];
	}
	struct bgroup *gs = xcalloc(GROUPS, sizeof(*gs));
	for (int g = 0; g < GROUPS; g++) {
		snprintf(gs[g].id, UUID_SIZE, "9b0c0000-0000-4000-8000-%012d", g);
		gs[g].anti = g % 10 != 0; /* one group in ten: affinity */
	}
	struct op *ops = xcalloc(nplace, sizeof(*ops));
	for (size_t k = 0; k < nplace; k++) {
		const int64_t *f = flavors[next() % 8];
		struct op *o = &ops[k];
		o->req.vcpus = f[0];
		o->req.ram_mb = f[1];
		o->req.disk_gb = f[2];
		o->req.zone_id = next() % 10 == 0 ? zone_ids[next() % ZONES] : NULL;
		o->group = next() % 20 == 0 ? (int)(next() % GROUPS) : -1;
		if (o->group >= 0) {
			o->req.group_id = gs[o->group].id;
			o->req.anti_affinity = gs[o->group].anti;
		}
		o->host = UINT32_MAX;
	}

	long rss0 = rss_kb();
	struct sched_opts so = { .cpu_ratio = CPU_RATIO, .ram_ratio = RAM_RATIO,
				 .down_after_ms = DOWN_AFTER, .pack = pack };
	struct sched *s = sched_new(&so);
	int64_t t0 = now_ns();
	for (size_t i = 0; i < nhosts; i++)
		sched_host_update(s, &hs[i].h);
	int64_t load_ns = now_ns() - t0;
	long rss1 = rss_kb();

	int64_t *lat = xmalloc(nplace * sizeof(*lat));
	int64_t *naive_lat = xmalloc((nnaive ? nnaive : 1) * sizeof(*naive_lat));
	size_t placed = 0, refused = 0, released = 0, mismatches = 0;
	int64_t total_ns = 0, naive_ns = 0;
	size_t next_release = 0;
	char host[UUID_SIZE], why[256];
	for (size_t k = 0; k < nplace; k++) {
		struct op *o = &ops[k];
		struct bgroup *g = o->group >= 0 ? &gs[o->group] : NULL;
		uint32_t want = UINT32_MAX;
		bool sample = stride && k % stride == 0 && k / stride < nnaive;
		if (sample) {
			int64_t a = now_ns();
			want = naive_place(hs, nhosts, &o->req, g, pack);
			naive_lat[k / stride] = now_ns() - a;
			naive_ns += naive_lat[k / stride];
		}
		int64_t a = now_ns();
		int r = sched_place(s, &o->req, NOW, host, why, sizeof(why));
		lat[k] = now_ns() - a;
		total_ns += lat[k];
		uint32_t got = r == 0 ? (uint32_t)strtoul(host + 24, NULL, 10) : UINT32_MAX;
		if (sample) {
			bool same = (want == UINT32_MAX) == (got == UINT32_MAX);
			if (same && got != UINT32_MAX)
				same = pack ? want == got
					    : hs[want].h.ram_mb - hs[want].used_ram ==
						      hs[got].h.ram_mb - hs[got].used_ram;
			if (!same && mismatches++ < 5)
				fprintf(stderr, "mismatch at placement %zu: naive %u, index %u (%s)\n",
					k, want, got, r == 0 ? "placed" : why);
		}
		if (r != 0) {
			refused++;
			continue;
		}
		placed++;
		o->host = got;
		hs[got].used_vcpus += o->req.vcpus;
		hs[got].used_ram += o->req.ram_mb;
		hs[got].used_disk += o->req.disk_gb;
		if (g) {
			if (g->n == g->cap) {
				g->cap = g->cap ? g->cap * 2 : 4;
				g->hosts = xrealloc(g->hosts, g->cap * sizeof(*g->hosts));
			}
			g->hosts[g->n++] = got;
		}
		if (k % RELEASE_EVERY == RELEASE_EVERY - 1) { /* an instance goes away */
			while (next_release < k && ops[next_release].host == UINT32_MAX)
				next_release++;
			struct op *d = &ops[next_release++];
			if (d->host == UINT32_MAX || d == o)
				continue;
			int64_t b = now_ns();
			sched_release(s, hs[d->host].h.id, &d->req);
			total_ns += now_ns() - b;
			hs[d->host].used_vcpus -= d->req.vcpus;
			hs[d->host].used_ram -= d->req.ram_mb;
			hs[d->host].used_disk -= d->req.disk_gb;
			if (d->group >= 0) {
				struct bgroup *dg = &gs[d->group];
				for (uint32_t m = 0; m < dg->n; m++)
					if (dg->hosts[m] == d->host) {
						dg->hosts[m] = dg->hosts[--dg->n];
						break;
					}
			}
			d->host = UINT32_MAX;
			released++;
		}
	}
	long rss2 = rss_kb();
	int64_t ram_total = 0, ram_used = 0;
	for (size_t i = 0; i < nhosts; i++) {
		ram_total += hs[i].h.ram_mb;
		ram_used += hs[i].used_ram;
	}
	qsort(lat, nplace, sizeof(*lat), cmp_i64);
	if (nnaive)
		qsort(naive_lat, nnaive, sizeof(*naive_lat), cmp_i64);
	size_t bytes = sched_bytes(s);

	printf("scheduler bench: %zu hosts in %d zones, %zu placements (%s), 1 release per %d, "
	       "%d server groups\n",
	       nhosts, ZONES, nplace, pack ? "pack" : "spread", RELEASE_EVERY, GROUPS);
	printf("  index: loaded %zu hosts in %.1f ms; memory %.0f bytes/host (index), "
	       "RSS +%.0f bytes/host after load, +%ld KiB after placements\n",
	       nhosts, (double)load_ns / 1e6, (double)bytes / (double)nhosts,
	       (double)(rss1 - rss0) * 1024.0 / (double)nhosts, rss2 - rss1);
	printf("  index: %zu placed, %zu refused, %zu released; memory in use at the end %.1f%%\n",
	       placed, refused, released, 100.0 * (double)ram_used / (double)ram_total);
	printf("%-28s %14s %10s %10s %10s\n", "", "placements/s", "p50 us", "p99 us", "max us");
	printf("%-28s %14.0f %10.2f %10.2f %10.2f\n", "index (all placements)",
	       (double)nplace / ((double)total_ns / 1e9), (double)lat[nplace / 2] / 1e3,
	       (double)lat[nplace * 99 / 100] / 1e3, (double)lat[nplace - 1] / 1e3);
	if (nnaive) {
		printf("%-28s %14.0f %10.2f %10.2f %10.2f\n", "naive linear scan (sampled)",
		       (double)nnaive / ((double)naive_ns / 1e9), (double)naive_lat[nnaive / 2] / 1e3,
		       (double)naive_lat[nnaive * 99 / 100] / 1e3,
		       (double)naive_lat[nnaive - 1] / 1e3);
		printf("  naive decided %zu placements (one in %zu) in lockstep: %zu disagreements\n",
		       nnaive, stride, mismatches);
	}
	for (int g = 0; g < GROUPS; g++)
		free(gs[g].hosts);
	free(gs);
	free(ops);
	free(lat);
	free(naive_lat);
	free(hs);
	sched_free(s);
	return mismatches ? 1 : 0;
}
