/* metrics: counters, gauges and histograms rendered in the Prometheus text
 * exposition format. A series is a family name plus a label string such as
 * `method="GET",route="/v1/zones"`; callers keep label values bounded
 * (route patterns, never raw paths). Thread-safe. */
#pragma once

#include "buf.h"

enum metric_type { METRIC_COUNTER, METRIC_GAUGE, METRIC_HISTOGRAM };

struct metrics;

/* Create an empty registry. Caller frees with metrics_free(). */
struct metrics *metrics_new(void);
/* Free the registry. Accepts NULL. */
void metrics_free(struct metrics *m);
/* Declare a family with its type and help text (once, before use). */
void metrics_describe(struct metrics *m, const char *name, enum metric_type type,
		      const char *help);
/* Add v to counter series name{labels} (labels may be ""). */
void metrics_counter_add(struct metrics *m, const char *name, const char *labels, double v);
/* Set gauge series name{labels} to v. */
void metrics_gauge_set(struct metrics *m, const char *name, const char *labels, double v);
/* Add v to gauge series name{labels} (v may be negative). */
void metrics_gauge_add(struct metrics *m, const char *name, const char *labels, double v);
/* Record one observation v (seconds) in histogram series name{labels}. */
void metrics_observe(struct metrics *m, const char *name, const char *labels, double v);
/* Refresh process_resident_memory_bytes, process_open_fds and
 * process_start_time_seconds from /proc. */
void metrics_process_update(struct metrics *m);
/* Append the whole registry in Prometheus text format to out. */
void metrics_render(struct metrics *m, struct buf *out);
