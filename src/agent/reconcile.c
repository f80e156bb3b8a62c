/* reconcile: one level-triggered pass of the agent; see agent.h. Nothing
 * here remembers what it did last time except which console bytes went
 * out: every pass compares what nubod wants with what libvirt has and
 * acts on the difference, so a lost message or an agent restart is healed
 * by the next pass. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

/* Create disk, a qcow2 overlay of disk_gb on base, unless it exists. It
 * is made aside and renamed, so an agent killed meanwhile leaves no half
 * disk that a later pass would take for whole. Returns 0 or -1 with why. */
static int make_disk(const char *base, const char *disk, int64_t disk_gb, char *why,
		     size_t why_size)
{
	if (access(disk, F_OK) == 0)
		return 0;
	char *part = xasprintf("%s.part", disk);
	char size[32];
	str_printf(size, sizeof(size), "%lldG", (long long)disk_gb);
	char *argv[] = { "qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b",
			 (char *)base, part, size, NULL };
	struct buf err;
	buf_init(&err, 2048);
	int r = -1;
	if (proc_run(argv, NULL, &err, 120) != 0)
		str_printf(why, why_size, "creating the disk failed: %s",
			   err.data && *err.data ? err.data : "qemu-img failed");
	else if (rename(part, disk) < 0)
		str_printf(why, why_size, "creating the disk failed: %s", strerror(errno));
	else
		r = 0;
	if (r < 0)
		unlink(part);
	buf_release(&err);
	free(part);
	return r;
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
	int r = make_disk(base, disk, disk_gb, why, why_size);
	if (r == 0)
		r = driver_start(a->drv, id, vcpus, ram, disk, console, why, why_size);
	if (r == 0)
		log_line(LOGL_INFO, "instance started", "instance", id, NULL);
	free(base);
	free(disk);
	free(console);
	return r;
}

/* Remove an instance's domain and files. */
static void destroy(struct agent_ctx *a, const char *id)
{
	driver_remove(a->drv, id);
	char *disk = disk_path(a, id), *console = console_path(a, id);
	char *part = xasprintf("%s.part", disk);
	unlink(disk);
	unlink(part);
	unlink(console);
	free(part);
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

/* POST reports (an array of {"id", "state", "error"?}) to nubod; logs a refusal. */
static void send_reports(struct agent_ctx *a, json_t *reports)
{
	json_t *body = json_pack("{s:O}", "instances", reports);
	size_t len;
	char *text = json_req_dump(body, &len);
	char *url = xasprintf("%s/v1/hosts/%s/report", a->server, a->host_id);
	struct httpc_resp rr;
	if (httpc_request("POST", url, a->credential, "application/json", text, len, 30, 4096,
			  &rr) < 0 || rr.status != 204)
		log_warn("report not taken (%ld): %s", rr.status, rr.body.data ? rr.body.data
									: rr.error);
	buf_release(&rr.body);
	free(url);
	free(text);
	json_decref(body);
}

/* Report one instance at once rather than with the pass's batch: around a
 * build, which may take minutes (image download, QEMU's first probe), so
 * that an instance shows building meanwhile and running as soon as it
 * runs, not when the builds after it in the pass are done too. */
static void report_now(struct agent_ctx *a, const char *id, const char *state,
		       const char *error)
{
	json_t *reports = json_array();
	add_report(reports, id, state, error);
	send_reports(a, reports);
	json_decref(reports);
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
		add_report(reports, id, "stopped", NULL);
	} else if (strcmp(state, "error") == 0) {
		return; /* failed to build: waits for the user to delete it */
	} else if (st == DOM_ABSENT) {
		if (strcmp(state, "scheduled") == 0)
			report_now(a, id, "building", NULL);
		int r = build(a, it, why, sizeof(why));
		report_now(a, id, r == 0 ? "running" : "error", r == 0 ? NULL : why);
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
	char *url = xasprintf("%s/v1/hosts/%s/instances/%s/console", a->server, a->host_id, id);
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

int agent_reconcile(struct agent_ctx *a)
{
	char *url = xasprintf("%s/v1/hosts/%s/instances", a->server, a->host_id);
	struct httpc_resp resp;
	int r = httpc_request("GET", url, a->credential, NULL, NULL, 0, 30, LIST_LIMIT, &resp);
	free(url);
	if (r < 0 || resp.status != 200) {
		log_warn("cannot fetch this host's instances: %s",
			 r < 0 ? resp.error : "nubod refused");
		buf_release(&resp.body);
		return -1;
	}
	json_t *list = json_loadb(resp.body.data, resp.body.len, 0, NULL);
	buf_release(&resp.body);
	json_t *items = json_object_get(list, "items");
	if (!json_is_array(items)) {
		json_decref(list);
		return -1;
	}
	json_t *reports = json_array();
	size_t k;
	json_t *it;
	json_array_foreach(items, k, it)
		converge(a, it, reports);
	remove_strays(a, items);
	if (json_array_size(reports))
		send_reports(a, reports);
	json_array_foreach(items, k, it) {
		const char *id = json_string_value(json_object_get(it, "id"));
		if (id && uuid_valid(id) && driver_state(a->drv, id) != DOM_ABSENT)
			send_console(a, id);
	}
	json_decref(reports);
	json_decref(list);
	return 0;
}
