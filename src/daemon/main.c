/* nubod: the management server. Reads its settings (defaults < INI file <
 * flags), opens the state store (applying migrations), serves the API on a
 * thread pool, and runs a housekeeping thread. Signals are blocked in every
 * thread and taken synchronously here with sigwait(): SIGTERM and SIGINT
 * drain requests in flight and exit 0; SIGHUP reopens the log file. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fcntl.h>

#include "api/api.h"
#include "daemon.h"
#include "identity/identity.h"
#include "lib/config.h"
#include "lib/http.h"
#include "lib/log.h"
#include "lib/metrics.h"
#include "lib/notify.h"
#include "lib/util.h"
#include "objects/objects.h"
#include "store/store.h"
#include "version.h"

#define HOUSEKEEP_INTERVAL_S 600

struct nubod_config {
	char *config;           /* INI file given with --config */
	char *listen;           /* HOST:PORT of the API */
	char *s3_listen;        /* HOST:PORT of the S3 service */
	char *s3_domain;        /* virtual-hosted addressing: bucket.<s3_domain> */
	char *s3_region;        /* the region the S3 service names */
	char *s3_tls_cert;      /* HTTPS for S3: PEM certificate (chain); "": plain HTTP */
	char *s3_tls_key;       /* and its private key */
	uint64_t s3_upload_expiry; /* seconds before an unfinished multipart upload is aborted */
	char *data_dir;         /* where the store and keys live */
	char *store_url;        /* "sqlite:PATH"; empty: <data_dir>/nubo.db */
	char *log_level;        /* debug, info, warn, error */
	char *log_file;         /* path, or "-" for stderr */
	uint64_t body_limit;    /* largest request body, bytes */
	uint64_t threads;       /* HTTP worker threads */
	uint64_t idle_timeout;  /* seconds before an idle connection is closed */
	uint64_t max_conns;     /* open client connections at most */
	uint64_t drain_timeout; /* seconds to finish requests on SIGTERM */
	bool metrics_public;    /* /metrics without authentication */
	uint64_t token_ttl;     /* seconds a login token lives */
	uint64_t argon2_memory; /* KiB of memory per password hash */
	uint64_t argon2_passes; /* Argon2id passes */
	bool reset_admin;       /* --reset-admin-password: new password, then exit */
	uint64_t image_max;     /* largest image upload, bytes */
	uint64_t host_down_after; /* seconds without heartbeat before a host is down */
	char *cpu_ratio;        /* vCPUs per host CPU */
	char *ram_ratio;        /* guest RAM per host RAM */
	char *placement;        /* spread or pack */
	char *web_dir;          /* the web console's files */
	uint64_t quota[QUOTA__COUNT]; /* default limits of new projects (as given) */
};

#define OPT(sec, key, flag, type, field, def, min, max, help)                                   \
	{ sec, key, flag, type, offsetof(struct nubod_config, field), def, min, max, help }

/* Default quota of new projects; "unlimited" is written -1 in the API but
 * here as the largest number, which the code treats the same. */
#define QUOTA_OPT(q, name, def)                                                                  \
	{ "quotas", name, "quota-" name, CONFIG_UINT, offsetof(struct nubod_config, quota[q]),    \
	  def, 0, INT64_MAX, "default limit of " name " for new projects" }

static const struct config_opt options[] = {
	OPT(NULL, NULL, "config", CONFIG_STRING, config, NULL, 0, 0,
	    "read settings from this INI file (flags override it)"),
	OPT("server", "listen", "listen", CONFIG_STRING, listen, "127.0.0.1:8080", 0, 0,
	    "address and port of the API, HOST:PORT or [IPV6]:PORT"),
	OPT("s3", "listen", "s3-listen", CONFIG_STRING, s3_listen, "127.0.0.1:8081", 0, 0,
	    "address and port of the S3 service, HOST:PORT or [IPV6]:PORT"),
	OPT("s3", "domain", "s3-domain", CONFIG_STRING, s3_domain, "localhost", 0, 0,
	    "requests to BUCKET.<domain> address that bucket (virtual-hosted style); empty: "
	    "path-style only"),
	OPT("s3", "region", "s3-region", CONFIG_STRING, s3_region, "us-east-1", 0, 0,
	    "the region the S3 service reports (GetBucketLocation)"),
	OPT("s3", "tls_cert", "s3-tls-cert", CONFIG_STRING, s3_tls_cert, "", 0, 0,
	    "serve S3 over HTTPS with this PEM certificate (chain); with --s3-tls-key"),
	OPT("s3", "tls_key", "s3-tls-key", CONFIG_STRING, s3_tls_key, "", 0, 0,
	    "the private key (PEM, unencrypted) of --s3-tls-cert"),
	OPT("s3", "upload_expiry", "s3-upload-expiry", CONFIG_UINT, s3_upload_expiry, "604800", 1,
	    315360000, "seconds after which an unfinished multipart upload is aborted"),
	OPT("server", "data_dir", "data-dir", CONFIG_STRING, data_dir, NUBO_DEFAULT_DATA_DIR, 0, 0,
	    "directory for the state store and server keys"),
	OPT("server", "threads", "threads", CONFIG_UINT, threads, "4", 1, 256,
	    "HTTP worker threads"),
	OPT("server", "body_limit", "body-limit", CONFIG_SIZE, body_limit, "1M", 1024,
	    1024ULL * 1024 * 1024, "largest request body accepted; larger ones get 413"),
	OPT("server", "idle_timeout", "idle-timeout", CONFIG_UINT, idle_timeout, "60", 1, 3600,
	    "seconds before an idle client connection is closed"),
	OPT("server", "max_connections", "max-connections", CONFIG_UINT, max_conns, "4096", 16,
	    1000000, "open client connections at most, agents' long polls included"),
	OPT("server", "web_dir", "web-dir", CONFIG_STRING, web_dir, NUBO_DEFAULT_WEB_DIR, 0, 0,
	    "directory of the web console's files, served at / (empty: no console)"),
	OPT("server", "drain_timeout", "drain-timeout", CONFIG_UINT, drain_timeout, "8", 0, 60,
	    "seconds to let requests in flight finish on SIGTERM"),
	OPT("store", "url", "store", CONFIG_STRING, store_url, "", 0, 0,
	    "state store: sqlite:PATH (empty: DATA_DIR/nubo.db)"),
	OPT("server", "metrics_public", "metrics-public", CONFIG_BOOL, metrics_public, "true", 0, 0,
	    "serve /metrics without authentication (false: system administrators only)"),
	OPT("identity", "token_ttl", "token-ttl", CONFIG_UINT, token_ttl, "43200", 1, 31622400,
	    "seconds a login token stays valid"),
	OPT("identity", "argon2_memory", "argon2-memory", CONFIG_UINT, argon2_memory, "19456",
	    1024, 4194304, "KiB of memory for each Argon2id password hash"),
	OPT("identity", "argon2_passes", "argon2-passes", CONFIG_UINT, argon2_passes, "2", 1, 64,
	    "Argon2id passes for each password hash"),
	OPT("storage", "image_max", "image-max", CONFIG_SIZE, image_max, "64G", 1024,
	    1024ULL * 1024 * 1024 * 1024, "largest image upload accepted; larger ones get 413"),
	OPT("compute", "host_down_after", "host-down-after", CONFIG_UINT, host_down_after, "60", 1,
	    86400, "seconds without a heartbeat after which a host counts as down"),
	OPT("compute", "cpu_allocation_ratio", "cpu-allocation-ratio", CONFIG_STRING, cpu_ratio,
	    "4.0", 0, 0, "vCPUs placed per host CPU (overcommit)"),
	OPT("compute", "ram_allocation_ratio", "ram-allocation-ratio", CONFIG_STRING, ram_ratio,
	    "1.0", 0, 0, "guest memory placed per unit of host memory"),
	OPT("compute", "placement", "placement", CONFIG_STRING, placement, "spread", 0, 0,
	    "spread (the host with the most free memory) or pack (fill hosts one after "
	    "another)"),
	OPT(NULL, NULL, "reset-admin-password", CONFIG_BOOL, reset_admin, "false", 0, 0,
	    "give the user 'admin' a new random password, write it to DATA_DIR/admin.password, "
	    "and exit"),
	QUOTA_OPT(QUOTA_INSTANCES, "instances", "10"),
	QUOTA_OPT(QUOTA_VCPUS, "vcpus", "20"),
	QUOTA_OPT(QUOTA_RAM_MB, "ram_mb", "51200"),
	QUOTA_OPT(QUOTA_VOLUMES, "volumes", "10"),
	QUOTA_OPT(QUOTA_VOLUME_GB, "volume_gb", "1000"),
	QUOTA_OPT(QUOTA_NETWORKS, "networks", "10"),
	QUOTA_OPT(QUOTA_FLOATING_IPS, "floating_ips", "5"),
	QUOTA_OPT(QUOTA_BUCKETS, "buckets", "100"),
	QUOTA_OPT(QUOTA_OBJECT_BYTES, "object_bytes", "1099511627776"),
	QUOTA_OPT(QUOTA_ACCESS_KEYS, "access_keys", "20"),
	OPT("log", "level", "log-level", CONFIG_STRING, log_level, "info", 0, 0,
	    "least severe level logged: debug, info, warn or error"),
	OPT("log", "file", "log-file", CONFIG_STRING, log_file, "-", 0, 0,
	    "log to this file (reopened on SIGHUP); - for stderr"),
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: nubod [OPTION]...\n"
		"The nubo management server: the REST API and the state store.\n\n"
		"  --help      show this help and exit\n"
		"  --version   show the version and exit\n");
	config_help(options, ARRAY_SIZE(options), out);
}

static int mkdir_p(const char *path, mode_t mode)
{
	char *p = xstrdup(path);
	int r = 0;
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST)
			r = -errno;
		*s = '/';
		if (r < 0)
			break;
	}
	if (r == 0 && mkdir(p, mode) < 0 && errno != EEXIST)
		r = -errno;
	free(p);
	return r;
}

static int load_config(int argc, char **argv, struct nubod_config *cfg)
{
	struct err err = { 0 };
	const char *file = config_find_arg(argc, argv, "config");
	if (config_defaults(options, ARRAY_SIZE(options), cfg, &err) < 0 ||
	    (file && config_load_file(options, ARRAY_SIZE(options), cfg, file, &err) < 0) ||
	    config_load_args(options, ARRAY_SIZE(options), cfg, argc, argv, &err) < 0) {
		fprintf(stderr, "nubod: %s\n", err.message);
		return -1;
	}
	enum log_level level;
	if (log_level_parse(cfg->log_level, &level) < 0) {
		fprintf(stderr, "nubod: --log-level must be debug, info, warn or error\n");
		return -1;
	}
	int r = log_open(cfg->log_file, level);
	if (r < 0) {
		fprintf(stderr, "nubod: cannot open log file %s: %s\n", cfg->log_file, strerror(-r));
		return -1;
	}
	return 0;
}

/* Read the server key from DATA_DIR/server.key, creating it (0600) with
 * random bytes on first start. */
static int server_key_load(const char *data_dir, unsigned char key[CRYPTO_KEY_SIZE])
{
	char *path = xasprintf("%s/server.key", data_dir);
	int r = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT) {
		crypto_random(key, CRYPTO_KEY_SIZE);
		char *tmp = xasprintf("%s.tmp", path);
		fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd < 0 || write(fd, key, CRYPTO_KEY_SIZE) != CRYPTO_KEY_SIZE || fsync(fd) < 0 ||
		    rename(tmp, path) < 0)
			r = -errno;
		if (fd >= 0)
			close(fd);
		free(tmp);
		if (r == 0)
			log_info("created the server key %s", path);
	} else if (fd < 0) {
		r = -errno;
	} else {
		ssize_t n = read(fd, key, CRYPTO_KEY_SIZE);
		r = n == CRYPTO_KEY_SIZE ? 0 : -EINVAL;
		close(fd);
	}
	if (r < 0)
		log_error("cannot use the server key %s: %s", path,
			  r == -EINVAL ? "it is not 32 bytes" : strerror(-r));
	free(path);
	return r;
}

/* Write the admin password to DATA_DIR/admin.password (0600). */
static int write_admin_password(const char *data_dir, const char *pw, char **ret_path)
{
	char *path = xasprintf("%s/admin.password", data_dir);
	char *tmp = xasprintf("%s.tmp", path);
	int r = 0;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	size_t n = strlen(pw);
	if (fd < 0 || write(fd, pw, n) != (ssize_t)n || write(fd, "\n", 1) != 1 || fsync(fd) < 0 ||
	    rename(tmp, path) < 0)
		r = -errno;
	if (fd >= 0)
		close(fd);
	free(tmp);
	if (r < 0) {
		log_error("cannot write %s: %s", path, strerror(-r));
		free(path);
		return r;
	}
	*ret_path = path;
	return 0;
}

/* First start: create the administrator and say where its password is.
 * With reset: give it a new password. */
static int bootstrap_admin(struct store *st, const struct identity_settings *ids,
			   const char *data_dir, bool reset)
{
	struct store_conn *c = store_conn_get(st);
	struct err err = { 0 };
	char *pw = NULL, *path = NULL;
	int r = store_txn_begin(c);
	if (r < 0) {
		log_error("cannot lock the store: %s", store_errmsg(c));
		store_conn_put(c);
		return r;
	}
	r = reset ? identity_reset_admin(c, ids, &pw, &err)
		  : identity_bootstrap(c, ids, &pw, &err);
	if (r < 0)
		log_error("%s", err.message);
	if (pw && r >= 0)
		r = write_admin_password(data_dir, pw, &path) < 0 ? -1 : r;
	if (r >= 0 && store_txn_commit(c) < 0) {
		log_error("cannot commit the administrator: %s", store_errmsg(c));
		r = -1;
	}
	if (r >= 0 && path)
		log_line(LOGL_WARN,
			 reset ? "new password for the administrator 'admin'"
			       : "created the administrator 'admin'",
			 "password_file", path, NULL);
	if (pw)
		explicit_bzero(pw, strlen(pw));
	free(pw);
	free(path);
	store_conn_put(c);
	return r < 0 ? -1 : 0;
}

/* Housekeeping: periodic clean-up that must not run on request threads. */
struct housekeeper {
	pthread_t thread;
	pthread_mutex_t lock; /* protects stop */
	pthread_cond_t wake;  /* signalled to stop */
	bool stop;
	struct api *api;
	struct s3 *s3;
};

static void *housekeep_main(void *arg)
{
	struct housekeeper *h = arg;
	pthread_setname_np(pthread_self(), "nubo-housekeep");
	pthread_mutex_lock(&h->lock);
	while (!h->stop) {
		pthread_mutex_unlock(&h->lock);
		int r = api_housekeep(h->api);
		if (r < 0)
			log_warn("housekeeping: purging idempotency keys failed (%d)", r);
		else if (r > 0)
			log_info("housekeeping: purged %d expired idempotency keys", r);
		s3_housekeep(h->s3);
		pthread_mutex_lock(&h->lock);
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += HOUSEKEEP_INTERVAL_S;
		while (!h->stop && pthread_cond_timedwait(&h->wake, &h->lock, &until) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&h->lock);
	return NULL;
}

static void housekeep_stop(struct housekeeper *h)
{
	pthread_mutex_lock(&h->lock);
	h->stop = true;
	pthread_cond_signal(&h->wake);
	pthread_mutex_unlock(&h->lock);
	pthread_join(h->thread, NULL);
}

/* Let the process open want descriptors when the hard limit allows (each
 * connection, waiting or not, holds one). */
static void raise_fd_limit(uint64_t want)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= want)
		return;
	rlim_t was = rl.rlim_cur;
	rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
	if (rl.rlim_cur > was && setrlimit(RLIMIT_NOFILE, &rl) < 0)
		rl.rlim_cur = was;
	if (rl.rlim_cur < want)
		log_warn("only %llu open files allowed (ulimit -n); --max-connections needs about "
			 "%llu", (unsigned long long)rl.rlim_cur, (unsigned long long)want);
}

/* Say so when the web console's files are not where --web-dir points. */
static void web_dir_check(const char *dir)
{
	if (!dir[0]) {
		log_info("the web console is off (--web-dir is empty)");
		return;
	}
	char *index = xasprintf("%s/index.html", dir);
	if (access(index, R_OK) < 0)
		log_warn("the web console's files are not in %s (--web-dir): / answers 404", dir);
	free(index);
}

/* The S3 service: its data backend, handler and listener. */
struct s3_service {
	struct objects *objects;
	struct s3 *s3;
	struct http_server *srv;
};

static void s3_service_stop(struct s3_service *sv)
{
	http_server_free(sv->srv);
	s3_free(sv->s3);
	objects_free(sv->objects);
	memset(sv, 0, sizeof(*sv));
}

/* Open the object store under DATA_DIR/objects, sweep what a crash left
 * there, and start listening for S3 requests. */
static int s3_service_start(const struct nubod_config *cfg, struct store *st, struct metrics *m,
			    const struct identity_settings *ids, struct s3_service *sv)
{
	struct err err = { 0 };
	char *dir = xasprintf("%s/objects", cfg->data_dir);
	int r = objects_open_fs(dir, &sv->objects, &err);
	free(dir);
	if (r == 0) {
		struct store_conn *c = store_conn_get(st);
		r = objects_recover(sv->objects, c, &err);
		store_conn_put(c);
		if (r > 0)
			log_info("object store: removed %d files a crash left behind", r);
	}
	if (r < 0) {
		log_error("%s", err.message);
		s3_service_stop(sv);
		return -1;
	}
	struct s3_opts so = { .store = st, .identity = ids, .objects = sv->objects,
			      .domain = cfg->s3_domain, .region = cfg->s3_region,
			      .upload_expiry_ms = (int64_t)cfg->s3_upload_expiry * 1000,
			      .metrics = m };
	sv->s3 = s3_new(&so);
	struct http_server_opts hopts = {
		.listen = cfg->s3_listen, .threads = (unsigned)cfg->threads,
		.body_limit = S3_BODY_LIMIT, .timeout_s = (unsigned)cfg->idle_timeout,
		.handler = s3_handle, .prepare = s3_prepare, .userdata = sv->s3, .metrics = m,
		.max_conns = (unsigned)cfg->max_conns,
		.tls_cert = cfg->s3_tls_cert[0] ? cfg->s3_tls_cert : NULL,
		.tls_key = cfg->s3_tls_key[0] ? cfg->s3_tls_key : NULL,
	};
	r = http_server_start(&hopts, &sv->srv);
	if (r < 0) {
		log_error("cannot serve S3 on %s (--s3-listen%s): %s", cfg->s3_listen,
			  hopts.tls_cert || hopts.tls_key ? ", --s3-tls-cert, --s3-tls-key" : "",
			  strerror(-r));
		s3_service_stop(sv);
		return -1;
	}
	return 0;
}

/* "http[s]://HOST:PORT" of a server listening as listen asked. */
static void server_url(const char *listen, struct http_server *srv, bool tls, char *out,
		       size_t size)
{
	char host[256];
	uint16_t port;
	http_parse_hostport(listen, host, sizeof(host), &port);
	str_printf(out, size, strchr(host, ':') ? "%s://[%s]:%u" : "%s://%s:%u",
		   tls ? "https" : "http", host, http_server_port(srv));
}

static int serve(const struct nubod_config *cfg, struct store *st, struct metrics *m,
		 const struct identity_settings *ids, const sigset_t *sigs)
{
	char *end1 = NULL, *end2 = NULL;
	struct sched_opts so = { .cpu_ratio = strtod(cfg->cpu_ratio, &end1),
				 .ram_ratio = strtod(cfg->ram_ratio, &end2),
				 .down_after_ms = (int64_t)cfg->host_down_after * 1000,
				 .pack = strcmp(cfg->placement, "pack") == 0 };
	if (*end1 || *end2 || so.cpu_ratio <= 0 || so.ram_ratio <= 0 ||
	    so.cpu_ratio > ZONE_CPU_RATIO_MAX || so.ram_ratio > ZONE_RAM_RATIO_MAX) {
		log_error("the allocation ratios must be numbers above 0 (cpu at most 64, ram 16)");
		return 1;
	}
	if (!so.pack && strcmp(cfg->placement, "spread") != 0) {
		log_error("placement must be spread or pack");
		return 1;
	}
	struct sched *index = sched_new(&so);
	struct store_conn *sc = store_conn_get(st);
	struct err serr = { 0 };
	int lr = sched_load(index, sc, &serr);
	store_conn_put(sc);
	if (lr < 0) {
		log_error("cannot load the scheduler's index: %s", serr.message);
		sched_free(index);
		return 1;
	}
	struct notify_board *board = notify_board_new();
	struct scheduler *sch = scheduler_start(st, index, board);
	char *image_dir = xasprintf("%s/images", cfg->data_dir);
	char *console_dir = xasprintf("%s/consoles", cfg->data_dir);
	struct storage_settings storage = { .image_dir = image_dir,
					    .image_max_bytes = cfg->image_max };
	struct api_opts aopts = { .store = st, .metrics = m, .version = NUBO_VERSION,
				  .commit = NUBO_COMMIT, .identity = ids, .storage = &storage,
				  .metrics_public = cfg->metrics_public,
				  .host_down_after_ms = (int64_t)cfg->host_down_after * 1000,
				  .sched = index, .wake_scheduler = scheduler_wake, .wake_arg = sch,
				  .console_dir = console_dir, .board = board,
				  .web_dir = cfg->web_dir };
	struct api *api = api_new(&aopts);
	struct http_server_opts hopts = {
		.listen = cfg->listen, .threads = (unsigned)cfg->threads,
		.body_limit = cfg->body_limit, .timeout_s = (unsigned)cfg->idle_timeout,
		.handler = api_handle, .prepare = api_prepare, .userdata = api, .metrics = m,
		.max_conns = (unsigned)cfg->max_conns,
	};
	raise_fd_limit(cfg->max_conns + cfg->threads + 64);
	struct http_server *srv = NULL;
	struct s3_service s3 = { 0 };
	int r = http_server_start(&hopts, &srv);
	if (r < 0)
		log_error("cannot listen on %s: %s", cfg->listen, strerror(-r));
	else if (s3_service_start(cfg, st, m, ids, &s3) < 0)
		r = -1;
	if (r < 0) {
		http_server_free(srv);
		api_free(api);
		free(image_dir);
		free(console_dir);
		scheduler_stop(sch);
		sched_free(index);
		notify_board_free(board);
		return 1;
	}
	char url[300], s3_url[300];
	server_url(cfg->listen, srv, false, url, sizeof(url));
	server_url(cfg->s3_listen, s3.srv, cfg->s3_tls_cert[0] != '\0', s3_url, sizeof(s3_url));
	web_dir_check(cfg->web_dir);
	log_line(LOGL_INFO, "nubod ready", "url", url, "s3_url", s3_url, "data_dir",
		 cfg->data_dir, "version", NUBO_VERSION, NULL);

	struct housekeeper hk = { .api = api, .s3 = s3.s3, .lock = PTHREAD_MUTEX_INITIALIZER,
				  .wake = PTHREAD_COND_INITIALIZER };
	pthread_create(&hk.thread, NULL, housekeep_main, &hk);

	for (;;) {
		int sig = 0;
		if (sigwait(sigs, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			r = log_reopen();
			log_info(r < 0 ? "SIGHUP: could not reopen the log file" : "SIGHUP: log reopened");
			continue;
		}
		log_info("%s: draining requests (up to %llus)", sig == SIGINT ? "SIGINT" : "SIGTERM",
			 (unsigned long long)cfg->drain_timeout);
		break;
	}
	unsigned left = http_server_drain(s3.srv, (unsigned)cfg->drain_timeout * 1000);
	left += http_server_drain(srv, (unsigned)cfg->drain_timeout * 1000);
	if (left)
		log_warn("shutting down with %u requests still in flight", left);
	s3_service_stop(&s3);
	http_server_free(srv);
	housekeep_stop(&hk);
	scheduler_stop(sch);
	api_free(api);
	sched_free(index);
	notify_board_free(board);
	free(image_dir);
	free(console_dir);
	return 0;
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		}
		if (strcmp(argv[i], "--version") == 0) {
			printf("nubod %s (%s)\n", NUBO_VERSION, NUBO_COMMIT);
			return 0;
		}
	}
	/* Block the signals we wait for before any thread exists, so every
	 * thread inherits the mask and only sigwait() below receives them. */
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	struct nubod_config cfg = { 0 };
	int status = 1;
	struct metrics *m = NULL;
	struct store *st = NULL;
	char *url = NULL;
	if (load_config(argc, argv, &cfg) < 0)
		goto out;
	int r = mkdir_p(cfg.data_dir, 0750);
	if (r < 0) {
		log_error("cannot create data directory %s: %s", cfg.data_dir, strerror(-r));
		goto out;
	}
	m = metrics_new();
	char labels[128];
	str_printf(labels, sizeof(labels), "version=\"%s\",commit=\"%s\"", NUBO_VERSION,
		   NUBO_COMMIT);
	metrics_describe(m, "nubo_build_info", METRIC_GAUGE, "Version of this nubod; always 1.");
	metrics_gauge_set(m, "nubo_build_info", labels, 1);
	url = *cfg.store_url ? xstrdup(cfg.store_url) : xasprintf("sqlite:%s/nubo.db", cfg.data_dir);
	struct store_opts sopts = { .url = url, .pool_size = (unsigned)cfg.threads + 1,
				    .busy_timeout_ms = 10000, .metrics = m };
	struct err err = { 0 };
	if (store_open(&sopts, &st, &err) < 0) {
		log_error("%s", err.message);
		goto out;
	}
	log_info("state store ready: schema version %d", store_schema_version(st));
	unsigned char key[CRYPTO_KEY_SIZE];
	if (server_key_load(cfg.data_dir, key) < 0)
		goto out;
	int64_t quotas[QUOTA__COUNT];
	for (int i = 0; i < QUOTA__COUNT; i++)
		quotas[i] = cfg.quota[i] >= (uint64_t)INT64_MAX ? -1 : (int64_t)cfg.quota[i];
	struct identity_settings ids = {
		.token_ttl_ms = (int64_t)cfg.token_ttl * 1000,
		.cost = { .t_cost = (uint32_t)cfg.argon2_passes,
			  .m_kib = (uint32_t)cfg.argon2_memory, .lanes = 1 },
		.server_key = key, .quota_defaults = quotas,
	};
	if (bootstrap_admin(st, &ids, cfg.data_dir, cfg.reset_admin) < 0)
		goto out;
	if (cfg.reset_admin)
		status = 0;
	else
		status = serve(&cfg, st, m, &ids, &sigs);
	explicit_bzero(key, sizeof(key));
out:
	store_free(st);
	metrics_free(m);
	free(url);
	config_release(options, ARRAY_SIZE(options), &cfg);
	log_close();
	return status;
}
