/* nubo-agent: see agent.h.
 *
 * State dir: host.json (mode 0600) holds the host id and its credential
 * once enrolled. The main loop is one thread: a heartbeat when one is due
 * (every --heartbeat-interval), then a reconcile pass whose fetch is a
 * long poll lasting until the next heartbeat is due: nubod answers as soon
 * as this host's desired state changes, and the pass converges at once. So
 * a pass runs at least once per interval (healing drift, sending consoles)
 * and within moments of any change.
 *
 * The termination signals stay blocked: pauses wait for them with
 * sigtimedwait(), and HTTP transfers ask sigpending() about once a second
 * (httpc_set_cancel), so SIGTERM ends even a long poll within a second. A
 * failed heartbeat is retried at the next interval; a failed fetch backs
 * off (1 s doubling up to 30 s); a refused credential (the host was
 * deleted) ends the agent with an error, since only a new enrollment can
 * fix that. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "lib/config.h"
#include "lib/httpc.h"
#include "lib/jsonreq.h"
#include "lib/log.h"
#include "lib/timeutil.h"
#include "lib/util.h"

#define AGENT_VERSION "0.1.0"
#define RESPONSE_LIMIT (1 << 20)
/* nubod's longest long poll, seconds */
#define POLL_MAX_S 60
/* longest pause after failed fetches, seconds */
#define BACKOFF_MAX_S 30

struct agent_config {
	char *server;       /* nubod's URL */
	char *enroll;       /* one-time enrollment token */
	char *state_dir;    /* where host.json lives */
	char *name;         /* host name; default: the machine's */
	char *virt_type;    /* auto, kvm or qemu */
	char *libvirt_uri;  /* where domains live */
	uint64_t stop_timeout; /* seconds of graceful stop before forcing off */
	uint64_t interval;  /* seconds between heartbeats */
	uint64_t image_cache_ttl; /* seconds an unused cached image is kept */
	char *storage_pools; /* NAME=DIR,... of the shared storage pools mounted here */
	char *underlay_ip;  /* VXLAN's local address; "" for none */
	char *external_if;  /* the interface facing the external network; "" for none */
	char *log_level;
	char *log_file;
};

#define OPT(sec, key, flag, type, field, def, min, max, help)                                   \
	{ sec, key, flag, type, offsetof(struct agent_config, field), def, min, max, help }

static const struct config_opt options[] = {
	OPT(NULL, NULL, "server", CONFIG_STRING, server, "http://127.0.0.1:8080", 0, 0,
	    "URL of nubod"),
	OPT(NULL, NULL, "enroll", CONFIG_STRING, enroll, "", 0, 0,
	    "one-time enrollment token (first start only)"),
	OPT(NULL, NULL, "state-dir", CONFIG_STRING, state_dir, "/var/lib/nubo-agent", 0, 0,
	    "directory for the host credential and, later, disks"),
	OPT(NULL, NULL, "name", CONFIG_STRING, name, "", 0, 0,
	    "host name to enroll with (default: this machine's host name)"),
	OPT(NULL, NULL, "virt-type", CONFIG_STRING, virt_type, "auto", 0, 0,
	    "auto (probe KVM, fall back to TCG), kvm or qemu"),
	OPT(NULL, NULL, "libvirt-uri", CONFIG_STRING, libvirt_uri, "qemu:///system", 0, 0,
	    "libvirt connection; qemu:///embed?root=DIR runs QEMU from this agent"),
	OPT(NULL, NULL, "stop-timeout", CONFIG_UINT, stop_timeout, "30", 1, 3600,
	    "seconds a guest gets to shut down before it is forced off"),
	OPT(NULL, NULL, "heartbeat-interval", CONFIG_UINT, interval, "10", 1, 3600,
	    "seconds between heartbeats"),
	OPT(NULL, NULL, "image-cache-ttl", CONFIG_UINT, image_cache_ttl, "86400", 1, 31536000,
	    "seconds a cached image no instance of this host uses is kept"),
	OPT(NULL, NULL, "storage-pools", CONFIG_STRING, storage_pools, "", 0, 0,
	    "shared storage pools mounted here, as NAME=DIR,... (NAME as nubod knows it)"),
	OPT(NULL, NULL, "underlay-ip", CONFIG_STRING, underlay_ip, "", 0, 0,
	    "IPv4 address of this host that VXLAN of tenant networks leaves from and "
	    "arrives at (none: the host takes no part in tenant networks)"),
	OPT(NULL, NULL, "external-interface", CONFIG_STRING, external_if, "", 0, 0,
	    "network interface facing the external network (outbound SNAT, floating IPs; "
	    "none: no routing to it)"),
	OPT(NULL, NULL, "log-level", CONFIG_STRING, log_level, "info", 0, 0,
	    "debug, info, warn or error"),
	OPT(NULL, NULL, "log-file", CONFIG_STRING, log_file, "-", 0, 0, "log file; - for stderr"),
};

struct agent {
	struct agent_config cfg;
	char host_id[64];
	char credential[64];
	struct driver *drv;       /* libvirt, once enrolled */
	struct agent_ctx rc;      /* reconcile state */
};

static char *state_path(const struct agent *a)
{
	return xasprintf("%s/host.json", a->cfg.state_dir);
}

static int load_state(struct agent *a)
{
	char *path = state_path(a);
	json_error_t je;
	json_t *j = json_load_file(path, 0, &je);
	free(path);
	if (!j)
		return -ENOENT;
	const char *id = json_string_value(json_object_get(j, "host_id"));
	const char *cred = json_string_value(json_object_get(j, "credential"));
	int r = -EINVAL;
	if (id && cred && str_copy(a->host_id, sizeof(a->host_id), id) &&
	    str_copy(a->credential, sizeof(a->credential), cred))
		r = 0;
	json_decref(j);
	return r;
}

static int save_state(const struct agent *a)
{
	char *path = state_path(a), *tmp = xasprintf("%s.tmp", path);
	json_t *j = json_pack("{s:s, s:s, s:s}", "host_id", a->host_id, "credential",
			      a->credential, "server", a->cfg.server);
	char *text = json_dumps(j, JSON_INDENT(2));
	json_decref(j);
	int r = 0;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	size_t n = strlen(text);
	if (fd < 0 || write(fd, text, n) != (ssize_t)n || fsync(fd) < 0 || rename(tmp, path) < 0)
		r = -errno;
	if (fd >= 0)
		close(fd);
	explicit_bzero(text, n);
	free(text);
	free(tmp);
	free(path);
	return r;
}

/* The capacity fields every report carries, added to o. */
static int add_report(const struct agent *a, json_t *o)
{
	struct agent_host_info hi;
	const char *vt = a->drv ? driver_virt_type(a->drv) : "qemu";
	if (!a->drv && strcmp(a->cfg.virt_type, "kvm") == 0)
		vt = "kvm";
	int r = agent_host_info(a->cfg.state_dir, vt, &hi);
	if (r < 0)
		return r;
	json_object_set_new(o, "cpus", json_integer(hi.cpus));
	json_object_set_new(o, "ram_mb", json_integer(hi.ram_mb));
	json_object_set_new(o, "disk_gb", json_integer(hi.disk_gb));
	json_object_set_new(o, "cpu_model", json_string(hi.cpu_model));
	json_object_set_new(o, "virt_type", json_string(hi.virt_type));
	json_object_set_new(o, "agent_version", json_string(AGENT_VERSION));
	if (*a->cfg.underlay_ip)
		json_object_set_new(o, "underlay_ip", json_string(a->cfg.underlay_ip));
	return 0;
}

/* POST a JSON object to nubod; answers in ret (caller releases its body). */
static int post(const struct agent *a, const char *path, const char *bearer, json_t *o,
		struct httpc_resp *ret)
{
	char *url = xasprintf("%s%s", a->cfg.server, path);
	size_t len;
	char *body = json_req_dump(o, &len);
	int r = httpc_request("POST", url, bearer, "application/json", body, len, 30,
			      RESPONSE_LIMIT, ret);
	explicit_bzero(body, len);
	free(body);
	free(url);
	return r;
}

/* The message of a nubod error answer, for the log. */
static const char *error_message(const struct httpc_resp *resp, char *out, size_t size)
{
	json_t *j = json_loadb(resp->body.data ? resp->body.data : "", resp->body.len, 0, NULL);
	const char *m = json_string_value(json_object_get(json_object_get(j, "error"), "message"));
	str_copy(out, size, m ? m : "no message");
	json_decref(j);
	return out;
}

static int enroll(struct agent *a)
{
	char name[256];
	if (*a->cfg.name)
		str_copy(name, sizeof(name), a->cfg.name);
	else if (gethostname(name, sizeof(name)) < 0)
		str_copy(name, sizeof(name), "host");
	json_t *o = json_pack("{s:s, s:s}", "token", a->cfg.enroll, "name", name);
	int r = add_report(a, o);
	struct httpc_resp resp;
	if (r == 0)
		r = post(a, "/v1/hosts/enroll", NULL, o, &resp);
	json_decref(o);
	if (r < 0) {
		log_error("cannot enroll with %s: %s", a->cfg.server, resp.error);
		buf_release(&resp.body);
		return -1;
	}
	char msg[256];
	if (resp.status != 201) {
		log_error("enrollment refused (%ld): %s", resp.status, error_message(&resp, msg,
										   sizeof(msg)));
		buf_release(&resp.body);
		return -1;
	}
	json_t *j = json_loadb(resp.body.data, resp.body.len, 0, NULL);
	const char *id = json_string_value(json_object_get(j, "id"));
	const char *cred = json_string_value(json_object_get(j, "credential"));
	r = -1;
	if (id && cred && str_copy(a->host_id, sizeof(a->host_id), id) &&
	    str_copy(a->credential, sizeof(a->credential), cred))
		r = save_state(a);
	json_decref(j);
	explicit_bzero(resp.body.data, resp.body.len);
	buf_release(&resp.body);
	if (r < 0) {
		log_error("enrolled, but cannot keep the credential in %s", a->cfg.state_dir);
		return -1;
	}
	log_line(LOGL_INFO, "enrolled", "host_id", a->host_id, "name", name, NULL);
	return 0;
}

/* One heartbeat. 0 sent, 1 failed (retry), -1 refused for good. */
static int heartbeat(struct agent *a)
{
	json_t *o = json_object();
	int r = add_report(a, o);
	json_t *pools = json_array();
	for (size_t k = 1; k < a->rc.npools; k++) /* the first is local storage */
		json_array_append_new(pools, json_string(a->rc.pools[k].name));
	json_object_set_new(o, "storage_pools", pools);
	struct httpc_resp resp = { 0 };
	char path[128];
	str_printf(path, sizeof(path), "/v1/hosts/%s/heartbeat", a->host_id);
	if (r == 0)
		r = post(a, path, a->credential, o, &resp);
	json_decref(o);
	char msg[256];
	if (r < 0) {
		log_warn("heartbeat failed: %s", resp.error[0] ? resp.error : strerror(-r));
		r = 1;
	} else if (resp.status == 401) {
		log_error("nubod refuses this host's credential (was the host deleted?): %s",
			  error_message(&resp, msg, sizeof(msg)));
		r = -1;
	} else if (resp.status != 200) {
		log_warn("heartbeat answered %ld: %s", resp.status,
			 error_message(&resp, msg, sizeof(msg)));
		r = 1;
	} else {
		log_debug("heartbeat sent");
		r = 0;
	}
	buf_release(&resp.body);
	return r;
}

/* A directory QEMU (another user) may traverse but not list. */
static int mkdir_traverse(const char *dir)
{
	if (mkdir(dir, 0711) < 0 && errno != EEXIST)
		return -errno;
	return chmod(dir, 0711) < 0 ? -errno : 0;
}

static int start_driver(struct agent *a)
{
	if (mkdir_traverse(a->rc.image_dir) < 0 || mkdir_traverse(a->rc.disk_dir) < 0) {
		log_error("cannot create the disk directories under %s", a->cfg.state_dir);
		return -1;
	}
	/* QEMU runs as another user: every parent of the disks must let it in */
	storage_warn_untraversable(a->rc.disk_dir);
	if (driver_open(a->cfg.libvirt_uri, a->cfg.virt_type, a->rc.disk_dir, &a->drv) < 0)
		return -1;
	a->rc.server = a->cfg.server;
	a->rc.host_id = a->host_id;
	a->rc.credential = a->credential;
	a->rc.drv = a->drv;
	a->rc.stop_timeout_s = (unsigned)a->cfg.stop_timeout;
	a->rc.image_cache_ttl_s = (unsigned)a->cfg.image_cache_ttl;
	/* without an underlay the host takes no part in tenant networks (and
	 * leaves any device of theirs alone: agents sharing a network
	 * namespace, as in tests, must not undo each other) */
	a->rc.net.dir = *a->cfg.underlay_ip ? xasprintf("%s/net", a->cfg.state_dir) : NULL;
	a->rc.net.underlay_ip = a->cfg.underlay_ip;
	a->rc.net.external_if = *a->cfg.external_if ? a->cfg.external_if : NULL;
	return 0;
}

/* A termination signal waits (they are blocked): asked by transfers. */
static bool stop_pending(void)
{
	sigset_t p;
	return sigpending(&p) == 0 && (sigismember(&p, SIGTERM) == 1 || sigismember(&p, SIGINT) == 1);
}

/* Pause secs seconds (none when <= 0) or until a termination signal,
 * which it takes: returns true when the agent must stop. */
static bool pause_for(const sigset_t *sigs, double secs)
{
	struct timespec wait = { 0, 0 };
	if (secs > 0) {
		wait.tv_sec = (time_t)secs;
		wait.tv_nsec = (long)((secs - (double)wait.tv_sec) * 1e9);
	}
	int sig = sigtimedwait(sigs, NULL, &wait);
	return sig == SIGTERM || sig == SIGINT;
}

/* Heartbeats and long-polled reconcile passes until a termination signal
 * (returns 0) or a refused credential (returns 1). */
/* Heartbeats run on a thread of their own, so that a long build (an image
 * download, QEMU's first probe) never makes the host look down. */
struct beats {
	struct agent *a;
	pthread_t thread;
	pthread_mutex_t lock;  /* protects stop and refused */
	pthread_cond_t wake;
	bool stop;             /* set by the main thread */
	bool refused;          /* nubod refused the credential: the agent ends */
};

static void *beats_main(void *arg)
{
	struct beats *b = arg;
	pthread_setname_np(pthread_self(), "nubo-beat");
	pthread_mutex_lock(&b->lock);
	while (!b->stop) {
		pthread_mutex_unlock(&b->lock);
		int r = heartbeat(b->a);
		pthread_mutex_lock(&b->lock);
		if (r < 0) {
			b->refused = true;
			break;
		}
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += (time_t)b->a->cfg.interval;
		while (!b->stop && pthread_cond_timedwait(&b->wake, &b->lock, &until) == 0)
			;
	}
	pthread_mutex_unlock(&b->lock);
	return NULL;
}

static bool beats_refused(struct beats *b)
{
	pthread_mutex_lock(&b->lock);
	bool r = b->refused;
	pthread_mutex_unlock(&b->lock);
	return r;
}

static int loop(struct agent *a, const sigset_t *sigs)
{
	struct beats b = { .a = a };
	pthread_mutex_init(&b.lock, NULL);
	pthread_cond_init(&b.wake, NULL);
	/* the first heartbeat before the first pass: nubod knows the host is up */
	if (heartbeat(a) < 0)
		return 1;
	pthread_create(&b.thread, NULL, beats_main, &b);
	double backoff = 0;
	int status = 0;
	/* long polls end at least once an interval: consoles go out and crashed
	 * domains are healed that often even when nothing changes */
	unsigned wait_s = a->cfg.interval < POLL_MAX_S ? (unsigned)a->cfg.interval : POLL_MAX_S;
	for (;;) {
		if (pause_for(sigs, 0))
			break;
		if (beats_refused(&b)) {
			status = 1;
			break;
		}
		char seen[sizeof(a->rc.version)];
		str_copy(seen, sizeof(seen), a->rc.version);
		double began = time_mono();
		int r = agent_reconcile(&a->rc, wait_s);
		double pause = 0;
		if (r < 0) {
			backoff = backoff ? backoff * 2 : 1;
			if (backoff > BACKOFF_MAX_S)
				backoff = BACKOFF_MAX_S;
			pause = backoff;
		} else if (!a->rc.version[0]) {
			backoff = 0;
			pause = (double)a->cfg.interval; /* no long polls here: a pass per interval */
		} else {
			backoff = 0;
			/* unchanged yet answered early (nubod draining): do not spin */
			if (strcmp(seen, a->rc.version) == 0 && time_mono() - began < wait_s - 1)
				pause = 1;
		}
		if (pause_for(sigs, pause))
			break;
	}
	pthread_mutex_lock(&b.lock);
	b.stop = true;
	pthread_cond_signal(&b.wake);
	pthread_mutex_unlock(&b.lock);
	pthread_join(b.thread, NULL);
	pthread_cond_destroy(&b.wake);
	pthread_mutex_destroy(&b.lock);
	if (status == 0)
		log_info("stopping");
	return status;
}

static int run(struct agent *a, const sigset_t *sigs)
{
	if (mkdir_traverse(a->cfg.state_dir) < 0) {
		log_error("cannot create %s: %s", a->cfg.state_dir, strerror(errno));
		return 1;
	}
	a->rc.image_dir = xasprintf("%s/images", a->cfg.state_dir);
	a->rc.disk_dir = xasprintf("%s/disks", a->cfg.state_dir);
	if (storage_pools_parse(a->cfg.storage_pools, a->rc.disk_dir, &a->rc.pools,
				&a->rc.npools) < 0)
		return 1;
	if (load_state(a) < 0) {
		if (!*a->cfg.enroll) {
			log_error("not enrolled yet: start once with --enroll TOKEN (from POST "
				  "/v1/hosts/enroll-tokens)");
			return 1;
		}
		if (enroll(a) < 0)
			return 1;
	}
	if (start_driver(a) < 0)
		return 1;
	log_line(LOGL_INFO, "nubo-agent running", "host_id", a->host_id, "server",
		 a->cfg.server, NULL);
	return loop(a, sigs);
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			printf("Usage: nubo-agent [OPTION]...\n"
			       "The nubo agent of one hypervisor host.\n\n");
			config_help(options, ARRAY_SIZE(options), stdout);
			return 0;
		}
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	struct agent a = { 0 };
	struct err err = { 0 };
	enum log_level level = LOGL_INFO;
	int status = 1;
	if (config_defaults(options, ARRAY_SIZE(options), &a.cfg, &err) < 0 ||
	    config_load_args(options, ARRAY_SIZE(options), &a.cfg, argc, argv, &err) < 0) {
		fprintf(stderr, "nubo-agent: %s\n", err.message);
		goto out;
	}
	if (strcmp(a.cfg.virt_type, "auto") != 0 && strcmp(a.cfg.virt_type, "kvm") != 0 &&
	    strcmp(a.cfg.virt_type, "qemu") != 0) {
		fprintf(stderr, "nubo-agent: --virt-type must be auto, kvm or qemu\n");
		goto out;
	}
	struct in_addr underlay;
	if (*a.cfg.underlay_ip && inet_pton(AF_INET, a.cfg.underlay_ip, &underlay) != 1) {
		fprintf(stderr, "nubo-agent: --underlay-ip must be an IPv4 address\n");
		goto out;
	}
	if (strlen(a.cfg.external_if) > 11 || !str_only(a.cfg.external_if, true, "-_.")) {
		fprintf(stderr, "nubo-agent: --external-interface must be an interface name of at "
				"most 11 characters\n");
		goto out;
	}
	if (log_level_parse(a.cfg.log_level, &level) < 0 || log_open(a.cfg.log_file, level) < 0) {
		fprintf(stderr, "nubo-agent: bad --log-level or --log-file\n");
		goto out;
	}
	httpc_global_init();
	httpc_set_cancel(stop_pending);
	status = run(&a, &sigs);
out:
	driver_free(a.drv);
	free(a.rc.image_dir);
	free(a.rc.disk_dir);
	storage_pools_free(a.rc.pools, a.rc.npools);
	agent_net_release(&a.rc.net);
	free((char *)a.rc.net.dir);
	free(a.rc.sent);
	explicit_bzero(a.credential, sizeof(a.credential));
	config_release(options, ARRAY_SIZE(options), &a.cfg);
	log_close();
	return status;
}
