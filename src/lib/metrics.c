/* metrics: see metrics.h. One mutex guards the registry; each update is a
 * short linear search over a family's series (tens of them) and an add, so
 * the lock is held for well under a microsecond. */
#include "metrics.h"

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "timeutil.h"
#include "util.h"

static const double buckets[] = { 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
				  0.1,    0.25,  0.5,    1,     2.5,  5,     10 };
#define NBUCKETS ARRAY_SIZE(buckets)

struct series {
	char *labels;               /* label string without braces */
	double value;               /* counter/gauge value; histogram sum */
	uint64_t count;             /* histogram: observations */
	uint64_t bucket[NBUCKETS];  /* histogram: per-bucket (not cumulative) */
};

struct family {
	char *name;
	char *help;
	enum metric_type type;
	struct series *series; /* owned array */
	size_t n, cap;
};

struct metrics {
	pthread_mutex_t lock;   /* protects families and everything below it */
	struct family *families;
	size_t n, cap;
	double start_time;      /* Unix seconds when the registry was made */
};

struct metrics *metrics_new(void)
{
	struct metrics *m = xcalloc(1, sizeof(*m));
	pthread_mutex_init(&m->lock, NULL);
	m->start_time = (double)time_now_ms() / 1000.0;
	metrics_describe(m, "process_resident_memory_bytes", METRIC_GAUGE,
			 "Resident memory size in bytes.");
	metrics_describe(m, "process_open_fds", METRIC_GAUGE, "Number of open file descriptors.");
	metrics_describe(m, "process_start_time_seconds", METRIC_GAUGE,
			 "Start time of the process since the Unix epoch in seconds.");
	return m;
}

void metrics_free(struct metrics *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++) {
		struct family *f = &m->families[i];
		for (size_t j = 0; j < f->n; j++)
			free(f->series[j].labels);
		free(f->series);
		free(f->name);
		free(f->help);
	}
	free(m->families);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

static struct family *find_family(struct metrics *m, const char *name)
{
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->families[i].name, name) == 0)
			return &m->families[i];
	return NULL;
}

void metrics_describe(struct metrics *m, const char *name, enum metric_type type,
		      const char *help)
{
	pthread_mutex_lock(&m->lock);
	if (!find_family(m, name)) {
		if (m->n == m->cap) {
			m->cap = m->cap ? m->cap * 2 : 16;
			m->families = xrealloc(m->families, m->cap * sizeof(*m->families));
		}
		struct family *f = &m->families[m->n++];
		memset(f, 0, sizeof(*f));
		f->name = xstrdup(name);
		f->help = xstrdup(help);
		f->type = type;
	}
	pthread_mutex_unlock(&m->lock);
}

/* Called with the lock held. NULL when the family was never described. */
static struct series *get_series(struct metrics *m, const char *name, const char *labels)
{
	struct family *f = find_family(m, name);
	if (!f)
		return NULL;
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->series[i].labels, labels) == 0)
			return &f->series[i];
	if (f->n == f->cap) {
		f->cap = f->cap ? f->cap * 2 : 8;
		f->series = xrealloc(f->series, f->cap * sizeof(*f->series));
	}
	struct series *s = &f->series[f->n++];
	memset(s, 0, sizeof(*s));
	s->labels = xstrdup(labels);
	return s;
}

void metrics_counter_add(struct metrics *m, const char *name, const char *labels, double v)
{
	pthread_mutex_lock(&m->lock);
	struct series *s = get_series(m, name, labels);
	if (s)
		s->value += v;
	pthread_mutex_unlock(&m->lock);
}

void metrics_gauge_set(struct metrics *m, const char *name, const char *labels, double v)
{
	pthread_mutex_lock(&m->lock);
	struct series *s = get_series(m, name, labels);
	if (s)
		s->value = v;
	pthread_mutex_unlock(&m->lock);
}

void metrics_gauge_add(struct metrics *m, const char *name, const char *labels, double v)
{
	metrics_counter_add(m, name, labels, v);
}

void metrics_observe(struct metrics *m, const char *name, const char *labels, double v)
{
	pthread_mutex_lock(&m->lock);
	struct series *s = get_series(m, name, labels);
	if (s) {
		s->value += v;
		s->count++;
		for (size_t i = 0; i < NBUCKETS; i++) {
			if (v <= buckets[i]) {
				s->bucket[i]++;
				break;
			}
		}
	}
	pthread_mutex_unlock(&m->lock);
}

void metrics_process_update(struct metrics *m)
{
	long pages = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "re");
	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
			rss = 0;
		fclose(f);
	}
	metrics_gauge_set(m, "process_resident_memory_bytes", "",
			  (double)rss * (double)sysconf(_SC_PAGESIZE));
	int fds = 0;
	DIR *d = opendir("/proc/self/fd");
	if (d) {
		struct dirent *e;
		while ((e = readdir(d)))
			if (e->d_name[0] != '.')
				fds++;
		closedir(d);
		fds--; /* the directory stream itself */
	}
	metrics_gauge_set(m, "process_open_fds", "", fds);
	metrics_gauge_set(m, "process_start_time_seconds", "", m->start_time);
}

static void render_labels(struct buf *out, const char *name, const char *suffix,
			  const char *labels, const char *extra)
{
	buf_printf(out, "%s%s", name, suffix);
	if (*labels || extra)
		buf_printf(out, "{%s%s%s}", labels, *labels && extra ? "," : "", extra ? extra : "");
}

static const char *const type_names[] = { "counter", "gauge", "histogram" };

void metrics_render(struct metrics *m, struct buf *out)
{
	pthread_mutex_lock(&m->lock);
	for (size_t i = 0; i < m->n; i++) {
		struct family *f = &m->families[i];
		if (f->n == 0)
			continue;
		buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help, f->name,
			   type_names[f->type]);
		for (size_t j = 0; j < f->n; j++) {
			struct series *s = &f->series[j];
			if (f->type != METRIC_HISTOGRAM) {
				render_labels(out, f->name, "", s->labels, NULL);
				buf_printf(out, " %.17g\n", s->value);
				continue;
			}
			uint64_t cum = 0;
			for (size_t b = 0; b < NBUCKETS; b++) {
				char le[32];
				cum += s->bucket[b];
				str_printf(le, sizeof(le), "le=\"%g\"", buckets[b]);
				render_labels(out, f->name, "_bucket", s->labels, le);
				buf_printf(out, " %llu\n", (unsigned long long)cum);
			}
			render_labels(out, f->name, "_bucket", s->labels, "le=\"+Inf\"");
			buf_printf(out, " %llu\n", (unsigned long long)s->count);
			render_labels(out, f->name, "_sum", s->labels, NULL);
			buf_printf(out, " %.9g\n", s->value);
			render_labels(out, f->name, "_count", s->labels, NULL);
			buf_printf(out, " %llu\n", (unsigned long long)s->count);
		}
	}
	pthread_mutex_unlock(&m->lock);
}
