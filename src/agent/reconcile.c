/* reconcile: one level-triggered pass of the agent; see agent.h. Nothing
 * here remembers what it did last time except which console bytes went
 * out: every pass compares what nubod wants with what libvirt has and
 * acts on the difference, so a lost message or an agent restart is healed
 * by the next pass. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "lib/crypto.h"
#include "lib/httpc.h"
#include "lib/jsonreq.h"
#include "lib/log.h"
#include "lib/proc.h"
#include "lib/util.h"

#define LIST_LIMIT (16 << 20)
#define CONSOLE_TAIL (64 * 1024)
#define IMAGE_TIMEOUT_S 3600

static char *disk_path(struct agent_ctx *a, const char *id)
{
	return xasprintf("%s/%s.qcow2", a->disk_dir, id);
}

static char *console_path(struct agent_ctx *a, const char *id)
{
	return xasprintf("%s/%s.console", a->disk_dir, id);
}

/* The cached copy of an image, downloaded and verified when missing. */
static char *cached_image(struct agent_ctx *a, const char *image_id, const char *sha256,
			  char *why, size_t why_size)
{
	char *path = xasprintf("%s/%s.qcow2", a->image_dir, image_id);
	if (access(path, R_OK) == 0)
		return path;
	char *url = xasprintf("%s/v1/hosts/%s/images/%s", a->server, a->host_id, image_id);
	struct httpc_resp resp;
	int r = httpc_download(url, a->credential, path, IMAGE_TIMEOUT_S, &resp);
	free(url);
	if (r < 0 || resp.status != 200) {
		str_printf(why, why_size, "downloading image %s failed: %s", image_id,
			   r < 0 ? resp.error : "nubod refused it");
		buf_release(&resp.body);
		free(path);
		return NULL;
	}
	buf_release(&resp.body);
	char got[SHA256_HEX_SIZE];
	if (sha256_file_hex(path, got, NULL) < 0 || strcmp(got, sha256) != 0) {
		str_printf(why, why_size, "image %s arrived with SHA-256 %s, not %s", image_id, got,
			   sha256);
		unlink(path);
		free(path);
		return NULL;
	}
	log_line(LOGL_INFO, "image cached", "image", image_id, NULL);
	return path;
}

/* Build the instance's disk (an overlay on the cached image) and start it. */
static int build(struct agent_ctx *a, json_t *it, char *why, size_t why_size)
{
	const char *id = json_string_value(json_object_get(it, "id"));
	const char *image = json_string_value(json_object_get(it, "image_id"));
	const char *sha = json_string_value(json_object_get(it, "image_sha256"));
	int64_t vcpus = json_integer_value(json_object_get(it, "vcpus"));
	int64_t ram = json_integer_value(json_object_get(it, "ram_mb"));
	int64_t disk_gb = json_integer_value(json_object_get(it, "disk_gb"));
	if (!image || !sha || !*sha) {
		str_copy(why, why_size, "the instance's image has no stored file");
		return -1;
	}
	char *base = cached_image(a, image, sha, why, why_size);
	if (!base)
		return -1;
	char *disk = disk_path(a, id), *console = console_path(a, id);
	char size[32];
	str_printf(size, sizeof(size), "%lldG", (long long)disk_gb);
	char *argv[] = { "qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", base,
			 disk, size, NULL };
	struct buf err;
	buf_init(&err, 2048);
	int r = 0;
	if (access(disk, F_OK) != 0 && proc_run(argv, NULL, &err, 120) != 0) {
		str_printf(why, why_size, "creating the disk failed: %s",
			   err.data ? err.data : "qemu-img failed");
		r = -1;
	}
	buf_release(&err);
	if (r == 0)
		r = driver_start(a->drv, id, vcpus, ram, disk, console, why, why_size);
	if (r == 0)
		log_line(LOGL_INFO, "instance started", "instance", id, NULL);
	free(base);
	free(disk);
	free(console);
	return r;
}

/* Apply a new flavor to a stopped instance: grow its disk to disk_gb and
 * redefine its domain with the new vCPUs and memory. Both are idempotent,
 * so a pass cut short is finished by the next. An instance never built
 * has nothing to change: it will be built with the new flavor. */
static int resize(struct agent_ctx *a, json_t *it, enum dom_state st, char *why,
		  size_t why_size)
{
	const char *id = json_string_value(json_object_get(it, "id"));
	int64_t vcpus = json_integer_value(json_object_get(it, "vcpus"));
	int64_t ram = json_integer_value(json_object_get(it, "ram_mb"));
	int64_t disk_gb = json_integer_value(json_object_get(it, "disk_gb"));
	char *disk = disk_path(a, id), *console = console_path(a, id);
	int r = 0;
	if (access(disk, F_OK) == 0) {
		char size[32];
		str_printf(size, sizeof(size), "%lldG", (long long)disk_gb);
		char *argv[] = { "qemu-img", "resize", "-q", "-f", "qcow2", disk, size, NULL };
		struct buf err;
		buf_init(&err, 2048);
		if (proc_run(argv, NULL, &err, 120) != 0) {
			str_printf(why, why_size, "growing the disk to %s failed: %s", size,
				   err.data ? err.data : "qemu-img failed");
			r = -1;
		}
		buf_release(&err);
	}
	if (r == 0 && st != DOM_ABSENT)
		r = driver_define(a->drv, id, vcpus, ram, disk, console, why, why_size);
	if (r == 0)
		log_line(LOGL_INFO, "instance resized", "instance", id, NULL);
	free(disk);
	free(console);
	return r;
}

/* Remove an instance's domain and files. */
static void destroy(struct agent_ctx *a, const char *id)
{
	driver_remove(a->drv, id);
	char *disk = disk_path(a, id), *console = console_path(a, id);
	unlink(disk);
	unlink(console);
	free(disk);
	free(console);
	for (size_t k = 0; k < a->nsent; k++)
		if (strcmp(a->sent[k].id, id) == 0)
			a->sent[k] = a->sent[--a->nsent];
}

static void add_report(json_t *reports, const char *id, const char *state, const char *error)
{
	json_t *o = json_pack("{s:s, s:s}", "id", id, "state", state);
	if (error) {
		/* one line of at most 255 characters, as nubod takes it */
		char line[256];
		str_copy(line, sizeof(line), error);
		for (char *p = line; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				*p = ' ';
		size_t n = strlen(line);
		while (n > 0 && ((unsigned char)line[n - 1] & 0xC0) == 0x80)
			line[--n] = '\0'; /* do not end inside a UTF-8 sequence */
		if (n > 0 && ((unsigned char)line[n - 1] & 0x80))
			line[--n] = '\0';
		json_object_set_new(o, "error", json_string(line));
	}
	json_array_append_new(reports, o);
}

/* Converge one instance towards what nubod wants. */
static void converge(struct agent_ctx *a, json_t *it, json_t *reports)
{
	const char *id = json_string_value(json_object_get(it, "id"));
	const char *desired = json_string_value(json_object_get(it, "desired"));
	const char *state = json_string_value(json_object_get(it, "state"));
	if (!id || !desired || !state || !uuid_valid(id))
		return;
	char why[512] = "";
	enum dom_state st = driver_state(a->drv, id);
	if (strcmp(desired, "deleted") == 0) {
		destroy(a, id);
		add_report(reports, id, "gone", NULL);
	} else if (strcmp(desired, "stopped") == 0) {
		if (st == DOM_RUNNING && driver_stop(a->drv, id, a->stop_timeout_s) < 0)
			return; /* still running: next pass */
		int r = strcmp(state, "resizing") == 0 ? resize(a, it, st, why, sizeof(why)) : 0;
		add_report(reports, id, r == 0 ? "stopped" : "error", r == 0 ? NULL : why);
	} else if (strcmp(state, "error") == 0) {
		return; /* failed to build: waits for the user to delete it */
	} else if (st == DOM_ABSENT) {
		int r = build(a, it, why, sizeof(why));
		add_report(reports, id, r == 0 ? "running" : "error", r == 0 ? NULL : why);
	} else if (strcmp(state, "rebooting") == 0 || st == DOM_STOPPED) {
		int r = strcmp(state, "rebooting") == 0 ? driver_reboot(a->drv, id, why, sizeof(why))
							 : driver_resume(a->drv, id, why, sizeof(why));
		add_report(reports, id, r == 0 ? "running" : "error", r == 0 ? NULL : why);
	} else {
		add_report(reports, id, "running", NULL);
	}
}

/* Domains of ours that nubod no longer knows: remove them. */
static void remove_strays(struct agent_ctx *a, json_t *items)
{
	char **ids;
	size_t n;
	if (driver_list(a->drv, &ids, &n) < 0)
		return;
	for (size_t k = 0; k < n; k++) {
		bool known = false;
		size_t i;
		json_t *it;
		json_array_foreach(items, i, it) {
			const char *id = json_string_value(json_object_get(it, "id"));
			known |= id && strcmp(id, ids[k]) == 0;
		}
		if (!known) {
			log_line(LOGL_INFO, "removing a domain nubod no longer knows", "instance",
				 ids[k], NULL);
			destroy(a, ids[k]);
		}
		free(ids[k]);
	}
	free(ids);
}

/* Send the console's last bytes when it grew since last time. */
static void send_console(struct agent_ctx *a, const char *id)
{
	char *path = console_path(a, id);
	struct stat st;
	FILE *f = NULL;
	struct console_sent *s = NULL;
	for (size_t k = 0; k < a->nsent; k++)
		if (strcmp(a->sent[k].id, id) == 0)
			s = &a->sent[k];
	if (stat(path, &st) < 0 || (s && s->size == (long long)st.st_size))
		goto out;
	f = fopen(path, "re");
	if (!f)
		goto out;
	long long from = st.st_size > CONSOLE_TAIL ? st.st_size - CONSOLE_TAIL : 0;
	fseek(f, (long)from, SEEK_SET);
	char *data = xmalloc(CONSOLE_TAIL);
	size_t n = fread(data, 1, CONSOLE_TAIL, f);
	char *url = xasprintf("%s/v1/hosts/%s/instances/%s/console?offset=%lld", a->server,
			      a->host_id, id, from);
	struct httpc_resp resp;
	if (httpc_request("PUT", url, a->credential, "text/plain", data, n, 30, 4096, &resp) == 0 &&
	    resp.status == 204) {
		if (!s) {
			a->sent = xrealloc(a->sent, (a->nsent + 1) * sizeof(*a->sent));
			s = &a->sent[a->nsent++];
			str_copy(s->id, sizeof(s->id), id);
		}
		s->size = (long long)st.st_size;
	}
	buf_release(&resp.body);
	free(url);
	free(data);
out:
	if (f)
		fclose(f);
	free(path);
}

/* Whether an instance in items uses image_id. */
static bool image_used(json_t *items, const char *image_id)
{
	size_t k;
	json_t *it;
	json_array_foreach(items, k, it) {
		const char *im = json_string_value(json_object_get(it, "image_id"));
		if (im && strcmp(im, image_id) == 0)
			return true;
	}
	return false;
}

/* The image cache: a cached image that an instance of this host uses has
 * its modification time set to now on every pass; one that none has used
 * for image_cache_ttl_s seconds is removed (so are download leftovers).
 * The time lives in the file system, so it survives agent restarts. */
static void clean_image_cache(struct agent_ctx *a, json_t *items)
{
	DIR *d = opendir(a->image_dir);
	if (!d)
		return;
	time_t now = time(NULL);
	struct dirent *e;
	while ((e = readdir(d))) {
		char id[UUID_SIZE];
		size_t n = strlen(e->d_name);
		bool part = n > 5 && strcmp(e->d_name + n - 5, ".part") == 0;
		if (e->d_name[0] == '.' || n < 7 || n - (part ? 11 : 6) != UUID_SIZE - 1)
			continue;
		str_copy(id, sizeof(id), e->d_name);
		if (!uuid_valid(id))
			continue;
		struct stat st;
		if (fstatat(dirfd(d), e->d_name, &st, 0) < 0)
			continue;
		if (!part && image_used(items, id)) {
			utimensat(dirfd(d), e->d_name, NULL, 0);
			continue;
		}
		if (now - st.st_mtime < (time_t)a->image_cache_ttl_s)
			continue;
		if (unlinkat(dirfd(d), e->d_name, 0) == 0)
			log_line(LOGL_INFO, part ? "removed an unfinished image download"
						 : "removed an unused image from the cache",
				 "image", id, NULL);
	}
	closedir(d);
}

/* Keep the version of an answer, if it is one we can send back in a URL. */
static void keep_version(struct agent_ctx *a, const char *v)
{
	if (!v || !str_only(v, true, ".-_") || !str_copy(a->version, sizeof(a->version), v))
		a->version[0] = '\0';
}

/* The desired state: at once without a version, else a long poll. */
static json_t *fetch_desired(struct agent_ctx *a, unsigned wait_s)
{
	char *url = a->version[0] ? xasprintf("%s/v1/hosts/%s/instances?wait=%u&since=%s",
					      a->server, a->host_id, wait_s, a->version)
				  : xasprintf("%s/v1/hosts/%s/instances", a->server, a->host_id);
	struct httpc_resp resp;
	int r = httpc_request("GET", url, a->credential, NULL, NULL, 0, wait_s + 30, LIST_LIMIT,
			      &resp);
	free(url);
	if (r == -ECANCELED) {
		buf_release(&resp.body);
		return NULL; /* stopping */
	}
	if (r < 0 || resp.status != 200) {
		log_warn("cannot fetch this host's instances: %s",
			 r < 0 ? resp.error : "nubod refused");
		buf_release(&resp.body);
		return NULL;
	}
	json_t *list = json_loadb(resp.body.data, resp.body.len, 0, NULL);
	buf_release(&resp.body);
	if (!json_is_array(json_object_get(list, "items"))) {
		log_warn("nubod's list of this host's instances is malformed");
		json_decref(list);
		return NULL;
	}
	keep_version(a, json_string_value(json_object_get(list, "version")));
	return list;
}

int agent_reconcile(struct agent_ctx *a, unsigned wait_s)
{
	json_t *list = fetch_desired(a, wait_s);
	if (!list)
		return -1;
	json_t *items = json_object_get(list, "items");
	json_t *reports = json_array();
	size_t k;
	json_t *it;
	json_array_foreach(items, k, it)
		converge(a, it, reports);
	remove_strays(a, items);
	if (json_array_size(reports)) {
		json_t *body = json_pack("{s:O}", "instances", reports);
		size_t len;
		char *text = json_req_dump(body, &len);
		char *rurl = xasprintf("%s/v1/hosts/%s/report", a->server, a->host_id);
		struct httpc_resp rr;
		if (httpc_request("POST", rurl, a->credential, "application/json", text, len, 30,
				  4096, &rr) < 0 || rr.status != 204)
			log_warn("report not taken (%ld): %s", rr.status, rr.body.data ? rr.body.data
										: rr.error);
		buf_release(&rr.body);
		free(rurl);
		free(text);
		json_decref(body);
	}
	json_array_foreach(items, k, it) {
		const char *id = json_string_value(json_object_get(it, "id"));
		if (id && uuid_valid(id) && driver_state(a->drv, id) != DOM_ABSENT)
			send_console(a, id);
	}
	clean_image_cache(a, items);
	json_decref(reports);
	json_decref(list);
	return 0;
}
