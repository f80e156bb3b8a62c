/* bench_s3: the S3 load generator of bench/s3. N clients (libcurl easy
 * handles driven by one multi handle, one connection each, kept alive)
 * send PutObject or GetObject requests signed with SigV4 by nubo's own
 * signer (lib/sigv4, payload UNSIGNED-PAYLOAD) for a given time, or one
 * request for a stream; it also measures the PUT ceiling of the disk: N
 * threads that write a file of the same size, fsync it and rename it into
 * place, as nubod's data backend does.
 *
 *   bench_s3 put|get URL BUCKET SIZE CLIENTS SECONDS OBJECTS  (keys k0..k(OBJECTS-1))
 *   bench_s3 mkbucket URL BUCKET
 *   bench_s3 fsync DIR SIZE CLIENTS SECONDS
 *
 * Credentials come from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; GET
 * works against any server holding BUCKET/k<i> (nginx too, which ignores
 * the signature). Prints one line of JSON: ops, ops_per_s, mb_per_s,
 * p50_ms, p99_ms, errors. Exits 1 when a request failed. */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/sigv4.h"
#include "lib/timeutil.h"
#include "lib/util.h"

#define MAX_CLIENTS 1024

struct run;

struct client {
	struct run *r;      /* the run it belongs to */
	CURL *easy;
	struct curl_slist *headers;
	uint64_t sent;      /* body bytes sent of the current PUT */
	double started;     /* time_mono() of the current request */
	char host[300];     /* Host header value */
	char amz_date[17];
};

struct run {
	const char *url, *bucket, *op, *key_id, *secret;
	uint64_t size;
	unsigned clients, objects;
	double seconds;
	char *body;         /* PUT body (size bytes) */
	double *lat;        /* latencies, seconds */
	size_t nlat, caplat;
	uint64_t bytes;     /* body bytes moved */
	unsigned errors;
	unsigned next_key;
};

static const char *client_header(void *ctx, const char *name)
{
	struct client *c = ctx;
	if (strcmp(name, "host") == 0)
		return c->host;
	if (strcmp(name, "x-amz-date") == 0)
		return c->amz_date;
	if (strcmp(name, "x-amz-content-sha256") == 0)
		return SIGV4_UNSIGNED_PAYLOAD;
	return NULL;
}

static size_t discard(char *p, size_t size, size_t n, void *arg)
{
	struct run *r = arg;
	(void)p;
	r->bytes += size * n;
	return size * n;
}

static size_t read_body(char *out, size_t size, size_t n, void *arg)
{
	struct client *c = arg;
	struct run *r = c->r;
	size_t want = size * n;
	uint64_t left = r->size - c->sent;
	if (want > left)
		want = (size_t)left;
	memcpy(out, r->body + (c->sent % (r->size ? r->size : 1)), want);
	c->sent += want;
	return want;
}

/* Set up c's next request: method, URL, signed headers. */
static void client_prepare(struct run *r, struct client *c, const char *method, const char *path)
{
	char url[1024], auth[512];
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(c->amz_date, sizeof(c->amz_date), "%Y%m%dT%H%M%SZ", &tm);
	struct sigv4_auth a = { 0 };
	str_copy(a.access_key, sizeof(a.access_key), r->key_id);
	memcpy(a.date, c->amz_date, 8);
	str_copy(a.region, sizeof(a.region), "us-east-1");
	str_copy(a.service, sizeof(a.service), "s3");
	str_copy(a.signed_headers, sizeof(a.signed_headers), "host;x-amz-content-sha256;x-amz-date");
	str_copy(a.amz_date, sizeof(a.amz_date), c->amz_date);
	struct sigv4_request sr = { .method = method, .path = path, .header = client_header,
				    .header_ctx = c, .payload_hash = SIGV4_UNSIGNED_PAYLOAD,
				    .s3 = true };
	char *canonical = NULL;
	sigv4_canonical_request(&sr, &a, &canonical);
	char *sts = sigv4_string_to_sign(&a, canonical);
	char sig[65];
	sigv4_sign(r->secret, &a, sts, sig);
	free(canonical);
	free(sts);
	str_printf(auth, sizeof(auth),
		   "Authorization: " SIGV4_ALGORITHM " Credential=%s/%.8s/us-east-1/s3/aws4_request, "
		   "SignedHeaders=%s, Signature=%s",
		   r->key_id, c->amz_date, a.signed_headers, sig);
	char date_h[64];
	str_printf(date_h, sizeof(date_h), "x-amz-date: %s", c->amz_date);
	curl_slist_free_all(c->headers);
	c->headers = curl_slist_append(NULL, auth);
	c->headers = curl_slist_append(c->headers, date_h);
	c->headers = curl_slist_append(c->headers, "x-amz-content-sha256: " SIGV4_UNSIGNED_PAYLOAD);
	c->headers = curl_slist_append(c->headers, "Expect:");
	str_printf(url, sizeof(url), "%s%s", r->url, path);
	curl_easy_setopt(c->easy, CURLOPT_URL, url);
	curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, c->headers);
	c->sent = 0;
	c->started = time_mono();
	if (strcmp(method, "PUT") == 0) {
		curl_easy_setopt(c->easy, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c->easy, CURLOPT_INFILESIZE_LARGE, (curl_off_t)r->size);
		curl_easy_setopt(c->easy, CURLOPT_READFUNCTION, read_body);
		curl_easy_setopt(c->easy, CURLOPT_READDATA, c);
	} else {
		curl_easy_setopt(c->easy, CURLOPT_UPLOAD, 0L);
		curl_easy_setopt(c->easy, CURLOPT_HTTPGET, 1L);
	}
}

static void next_request(struct run *r, struct client *c)
{
	char path[512];
	unsigned k = r->next_key++ % (r->objects ? r->objects : 1);
	str_printf(path, sizeof(path), "/%s/k%u", r->bucket, k);
	client_prepare(r, c, strcmp(r->op, "put") == 0 ? "PUT" : "GET", path);
}

static void record(struct run *r, double secs)
{
	if (r->nlat == r->caplat) {
		r->caplat = r->caplat ? r->caplat * 2 : 4096;
		r->lat = xrealloc(r->lat, r->caplat * sizeof(*r->lat));
	}
	r->lat[r->nlat++] = secs;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double percentile(double *v, size_t n, double p)
{
	if (!n)
		return 0;
	size_t i = (size_t)(p * (double)(n - 1) + 0.5);
	return v[i];
}

static void report(struct run *r, const char *op, double elapsed)
{
	qsort(r->lat, r->nlat, sizeof(*r->lat), cmp_double);
	printf("{\"op\": \"%s\", \"size\": %llu, \"clients\": %u, \"ops\": %zu, \"seconds\": %.3f, "
	       "\"ops_per_s\": %.1f, \"mb_per_s\": %.2f, \"p50_ms\": %.3f, \"p99_ms\": %.3f, "
	       "\"errors\": %u}\n",
	       op, (unsigned long long)r->size, r->clients, r->nlat, elapsed,
	       (double)r->nlat / elapsed, (double)r->bytes / elapsed / 1e6,
	       percentile(r->lat, r->nlat, 0.5) * 1e3, percentile(r->lat, r->nlat, 0.99) * 1e3,
	       r->errors);
}

/* PUT or GET with r->clients connections for r->seconds. */
static int run_http(struct run *r)
{
	CURLM *multi = curl_multi_init();
	struct client *cl = xcalloc(r->clients, sizeof(*cl));
	char host[300];
	const char *h = strstr(r->url, "://");
	str_copy(host, sizeof(host), h ? h + 3 : r->url);
	for (unsigned i = 0; i < r->clients; i++) {
		struct client *c = &cl[i];
		c->r = r;
		str_copy(c->host, sizeof(c->host), host);
		c->easy = curl_easy_init();
		curl_easy_setopt(c->easy, CURLOPT_PRIVATE, c);
		curl_easy_setopt(c->easy, CURLOPT_WRITEFUNCTION, discard);
		curl_easy_setopt(c->easy, CURLOPT_WRITEDATA, r);
		curl_easy_setopt(c->easy, CURLOPT_TCP_NODELAY, 1L);
		next_request(r, c);
		curl_multi_add_handle(multi, c->easy);
	}
	double start = time_mono(), end = start + r->seconds;
	int running = 1;
	while (running) {
		curl_multi_perform(multi, &running);
		CURLMsg *m;
		int left;
		while ((m = curl_multi_info_read(multi, &left))) {
			if (m->msg != CURLMSG_DONE)
				continue;
			struct client *c = NULL;
			long status = 0;
			curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&c);
			curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &status);
			if (m->data.result != CURLE_OK || status / 100 != 2) {
				if (r->errors++ < 3)
					fprintf(stderr, "bench_s3: request failed: %s, HTTP %ld\n",
						curl_easy_strerror(m->data.result), status);
			} else {
				record(r, time_mono() - c->started);
				if (strcmp(r->op, "put") == 0)
					r->bytes += r->size;
			}
			curl_multi_remove_handle(multi, c->easy);
			if (time_mono() < end && r->errors == 0) {
				next_request(r, c);
				curl_multi_add_handle(multi, c->easy);
				running = 1;
			}
		}
		if (running)
			curl_multi_poll(multi, NULL, 0, 100, NULL);
	}
	double elapsed = time_mono() - start;
	report(r, r->op, elapsed);
	for (unsigned i = 0; i < r->clients; i++) {
		curl_easy_cleanup(cl[i].easy);
		curl_slist_free_all(cl[i].headers);
	}
	free(cl);
	curl_multi_cleanup(multi);
	return r->errors ? 1 : 0;
}

/* ---- the disk's PUT ceiling ---- */

struct fsync_worker {
	pthread_t t;
	struct run *r;
	const char *dir;
	unsigned id;
	double *lat;
	size_t n, cap;
	int error;
};

static void *fsync_main(void *arg)
{
	struct fsync_worker *w = arg;
	double end = time_mono() + w->r->seconds;
	char tmp[600], dst[600];
	/* at least one file: a zero-second run measures one write */
	for (unsigned i = 0; i == 0 || time_mono() < end; i++) {
		double t0 = time_mono();
		str_printf(tmp, sizeof(tmp), "%s/tmp-%u", w->dir, w->id);
		str_printf(dst, sizeof(dst), "%s/f-%u-%u", w->dir, w->id, i % 64);
		int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		uint64_t done = 0;
		while (fd >= 0 && done < w->r->size) {
			ssize_t k = write(fd, w->r->body, (size_t)(w->r->size - done));
			if (k <= 0)
				break;
			done += (uint64_t)k;
		}
		if (fd < 0 || done != w->r->size || fsync(fd) < 0 || close(fd) < 0 ||
		    rename(tmp, dst) < 0) {
			w->error = errno ? errno : EIO;
			return NULL;
		}
		if (w->n == w->cap) {
			w->cap = w->cap ? w->cap * 2 : 1024;
			w->lat = xrealloc(w->lat, w->cap * sizeof(*w->lat));
		}
		w->lat[w->n++] = time_mono() - t0;
	}
	return NULL;
}

static int run_fsync(struct run *r, const char *dir)
{
	struct fsync_worker *w = xcalloc(r->clients, sizeof(*w));
	double start = time_mono();
	for (unsigned i = 0; i < r->clients; i++) {
		w[i] = (struct fsync_worker){ .r = r, .dir = dir, .id = i };
		pthread_create(&w[i].t, NULL, fsync_main, &w[i]);
	}
	for (unsigned i = 0; i < r->clients; i++) {
		pthread_join(w[i].t, NULL);
		for (size_t j = 0; j < w[i].n; j++)
			record(r, w[i].lat[j]);
		r->bytes += w[i].n * r->size;
		if (w[i].error)
			r->errors++;
		free(w[i].lat);
	}
	report(r, "fsync", time_mono() - start);
	free(w);
	return r->errors ? 1 : 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: bench_s3 put|get URL BUCKET SIZE CLIENTS SECONDS OBJECTS\n"
			"       bench_s3 mkbucket URL BUCKET\n"
			"       bench_s3 fsync DIR SIZE CLIENTS SECONDS\n");
	exit(2);
}

static uint64_t num(const char *s)
{
	uint64_t v;
	if (parse_size(s, &v) < 0)
		usage();
	return v;
}

int main(int argc, char **argv)
{
	struct run r = { 0 };
	r.key_id = getenv("AWS_ACCESS_KEY_ID");
	r.secret = getenv("AWS_SECRET_ACCESS_KEY");
	if (argc < 3)
		usage();
	r.op = argv[1];
	curl_global_init(CURL_GLOBAL_DEFAULT);
	int status;
	if (strcmp(r.op, "fsync") == 0 && argc == 6) {
		r.size = num(argv[3]);
		r.clients = (unsigned)num(argv[4]);
		r.seconds = (double)num(argv[5]);
		r.body = xcalloc(1, r.size ? r.size : 1);
		status = run_fsync(&r, argv[2]);
	} else if (!r.key_id || !r.secret) {
		fprintf(stderr, "bench_s3: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY\n");
		status = 2;
	} else if (strcmp(r.op, "mkbucket") == 0 && argc == 4) {
		r.url = argv[2];
		r.bucket = argv[3];
		r.op = "put";
		r.clients = 1;
		r.seconds = 0;
		char path[300];
		str_printf(path, sizeof(path), "/%s", r.bucket);
		struct client c = { .r = &r };
		const char *h = strstr(r.url, "://");
		str_copy(c.host, sizeof(c.host), h ? h + 3 : r.url);
		c.easy = curl_easy_init();
		r.body = xcalloc(1, 1);
		client_prepare(&r, &c, "PUT", path);
		curl_easy_setopt(c.easy, CURLOPT_WRITEFUNCTION, discard);
		curl_easy_setopt(c.easy, CURLOPT_WRITEDATA, &r);
		long code = 0;
		status = curl_easy_perform(c.easy) == CURLE_OK &&
				 curl_easy_getinfo(c.easy, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK &&
				 code == 200
			 ? 0
			 : 1;
		curl_easy_cleanup(c.easy);
		curl_slist_free_all(c.headers);
	} else if ((strcmp(r.op, "put") == 0 || strcmp(r.op, "get") == 0) && argc == 8) {
		r.url = argv[2];
		r.bucket = argv[3];
		r.size = num(argv[4]);
		r.clients = (unsigned)num(argv[5]);
		r.seconds = (double)num(argv[6]);
		r.objects = (unsigned)num(argv[7]);
		if (r.clients < 1 || r.clients > MAX_CLIENTS)
			usage();
		r.body = xmalloc(r.size ? r.size : 1);
		for (uint64_t i = 0; i < r.size; i++)
			r.body[i] = (char)('a' + i % 26);
		status = run_http(&r);
	} else {
		usage();
		status = 2;
	}
	free(r.body);
	free(r.lat);
	curl_global_cleanup();
	return status;
}
