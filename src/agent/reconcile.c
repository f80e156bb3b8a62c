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

#include "agent-priv.h"
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

static char *cidata_path(struct agent_ctx *a, const char *id)
{
	return xasprintf("%s/%s.cidata.iso", a->disk_dir, id);
}

/* The pool of this host that holds a volume or snapshot p of nubod's
 * desired state, or NULL (with a reason in why, when given) when this
 * host does not mount it. */
static const struct storage_pool *pool_of(struct agent_ctx *a, json_t *p, char *why,
					  size_t why_size)
{
	const char *name = json_string_value(json_object_get(p, "pool"));
	const struct storage_pool *pool = storage_pool_find(a->pools, a->npools, name ? name : "");
	if (!pool && why)
		str_printf(why, why_size, "this host does not mount storage pool '%.64s'", name);
	return pool;
}

/* Whether a volume should be in its instance's domain. */
static bool volume_wanted(json_t *v)
{
	const char *state = json_string_value(json_object_get(v, "state"));
	const char *inst = json_string_value(json_object_get(v, "instance_id"));
	return state && inst && inst[0] &&
	       (strcmp(state, "attaching") == 0 || strcmp(state, "in-use") == 0 ||
		strcmp(state, "extending") == 0);
}

/* An instance's domain as nubod describes it; the paths are owned (free
 * with spec_release). */
static void spec_of(struct agent_ctx *a, json_t *it, struct domain_spec *sp)
{
	sp->id = json_string_value(json_object_get(it, "id"));
	sp->vcpus = json_integer_value(json_object_get(it, "vcpus"));
	sp->ram_mb = json_integer_value(json_object_get(it, "ram_mb"));
	sp->disk = disk_path(a, sp->id);
	sp->console = console_path(a, sp->id);
	char *cidata = cidata_path(a, sp->id);
	if (access(cidata, F_OK) != 0) {
		free(cidata);
		cidata = NULL;
	}
	sp->cidata = cidata;
	sp->nvols = 0;
	sp->nnics = 0;
	size_t k;
	json_t *v;
	json_array_foreach(json_object_get(it, "nics"), k, v) {
		const char *port = json_string_value(json_object_get(v, "port"));
		char mac[18], sfx[12];
		if (!port || !uuid_valid(port) ||
		    !net_mac_parse(json_string_value(json_object_get(v, "mac")), mac) ||
		    sp->nnics == DOMAIN_NICS_MAX)
			continue;
		net_suffix(port, sfx);
		sp->nics[sp->nnics++] = (struct domain_nic){ xasprintf("nt-%s", sfx), xstrdup(mac) };
	}
	json_array_foreach((json_t *)a->volumes, k, v) {
		const char *inst = json_string_value(json_object_get(v, "instance_id"));
		const char *vid = json_string_value(json_object_get(v, "id"));
		const char *dev = json_string_value(json_object_get(v, "device"));
		const struct storage_pool *pool = pool_of(a, v, NULL, 0);
		if (!inst || strcmp(inst, sp->id) != 0 || !vid || !uuid_valid(vid) || !dev ||
		    !volume_wanted(v) || sp->nvols == DOMAIN_DISKS_MAX || !pool ||
		    !pool->ops->volume_exists(pool, vid))
			continue;
		sp->vols[sp->nvols++] = (struct domain_disk){ pool->ops->volume_path(pool, vid), dev };
	}
}

static void spec_release(struct domain_spec *sp)
{
	for (size_t k = 0; k < sp->nvols; k++)
		free((char *)sp->vols[k].path);
	for (size_t k = 0; k < sp->nnics; k++) {
		free((char *)sp->nics[k].tap);
		free((char *)sp->nics[k].mac);
	}
	free((char *)sp->disk);
	free((char *)sp->console);
	free((char *)sp->cidata);
}

/* Write text to dir/name. */
static int write_file(const char *dir, const char *name, const char *text)
{
	char *path = xasprintf("%s/%s", dir, name);
	FILE *f = fopen(path, "we");
	free(path);
	if (!f)
		return -1;
	size_t n = strlen(text);
	int r = fwrite(text, 1, n, f) == n ? 0 : -1;
	return fclose(f) == 0 ? r : -1;
}

/* s as a YAML double-quoted scalar. Caller frees. */
static char *yaml_quote(const char *s)
{
	struct buf b;
	buf_init(&b, 0);
	buf_puts(&b, "\"");
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			buf_puts(&b, "\\");
		buf_append(&b, s, 1);
	}
	buf_puts(&b, "\"");
	return buf_detach(&b, NULL);
}

/* The NoCloud config drive (ISO 9660, label cidata) of a new instance:
 * meta-data (instance-id, local-hostname, public-keys), user-data as the
 * user gave it, and a version 2 network-config (DHCP on the NIC with the
 * instance's MAC). */
static int make_cidata(struct agent_ctx *a, json_t *it, char *why, size_t why_size)
{
	const char *id = json_string_value(json_object_get(it, "id"));
	const char *name = json_string_value(json_object_get(it, "name"));
	const char *user_data = json_string_value(json_object_get(it, "user_data"));
	const char *key = json_string_value(json_object_get(it, "public_key"));
	char *iso = cidata_path(a, id), *dir = xasprintf("%s/%s.cidata.d", a->disk_dir, id);
	struct buf meta;
	buf_init(&meta, 0);
	buf_printf(&meta, "instance-id: %s\nlocal-hostname: %s\n", id, name ? name : id);
	if (key && key[0]) {
		char *q = yaml_quote(key);
		buf_printf(&meta, "public-keys:\n  - %s\n", q);
		free(q);
	}
	/* the first NIC: the first tenant port's, else QEMU's user network's */
	char mac[18];
	json_t *nic0 = json_array_get(json_object_get(it, "nics"), 0);
	if (!net_mac_parse(json_string_value(json_object_get(nic0, "mac")), mac))
		str_printf(mac, sizeof(mac), "52:54:00:%.2s:%.2s:%.2s", id, id + 2, id + 4);
	char *net = xasprintf("version: 2\nethernets:\n  nic0:\n    match:\n"
			      "      macaddress: \"%s\"\n"
			      "    set-name: eth0\n    dhcp4: true\n",
			      mac);
	int r = 0;
	mkdir(dir, 0755);
	if (write_file(dir, "meta-data", meta.data) < 0 ||
	    write_file(dir, "user-data", user_data ? user_data : "") < 0 ||
	    write_file(dir, "network-config", net) < 0) {
		str_printf(why, why_size, "writing the config drive's files failed: %s",
			   strerror(errno));
		r = -1;
	}
	char *tmp = xasprintf("%s.tmp", iso);
	char *argv[] = { "xorriso", "-as", "mkisofs", "-quiet", "-o", tmp, "-V", "cidata",
			 "-J", "-r", dir, NULL };
	struct buf err;
	buf_init(&err, 2048);
	if (r == 0 && (proc_run(argv, NULL, &err, 60) != 0 || rename(tmp, iso) < 0)) {
		str_printf(why, why_size, "making the config drive failed: %s",
			   err.data ? err.data : "xorriso failed");
		unlink(tmp);
		r = -1;
	}
	buf_release(&err);
	static const char *const files[] = { "meta-data", "user-data", "network-config" };
	for (size_t k = 0; k < 3; k++) {
		char *f = xasprintf("%s/%s", dir, files[k]);
		unlink(f);
		free(f);
	}
	rmdir(dir);
	free(tmp);
	free(net);
	buf_release(&meta);
	free(dir);
	free(iso);
	return r;
}

/* Build the instance's disk (an overlay on the cached image) and config
 * drive, and start it. */
static int build(struct agent_ctx *a, json_t *it, char *why, size_t why_size)
{
	const char *id = json_string_value(json_object_get(it, "id"));
	const char *image = json_string_value(json_object_get(it, "image_id"));
	const char *sha = json_string_value(json_object_get(it, "image_sha256"));
	int64_t disk_gb = json_integer_value(json_object_get(it, "disk_gb"));
	if (!image || !sha || !*sha) {
		str_copy(why, why_size, "the instance's image has no stored file");
		return -1;
	}
	char *base = cached_image(a, image, sha, why, why_size);
	if (!base)
		return -1;
	char *disk = disk_path(a, id);
	char size[32];
	str_printf(size, sizeof(size), "%lldG", (long long)disk_gb);
	char *part = xasprintf("%s.part", disk);
	char *argv[] = { "qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", base,
			 part, size, NULL };
	int r = access(disk, F_OK) == 0
			? 0
			: storage_put_in_place(part, disk, storage_qemu_img(argv, "creating the disk", why, why_size),
				       why, why_size);
	free(part);
	free(disk);
	if (r == 0)
		r = make_cidata(a, it, why, why_size);
	if (r == 0) {
		struct domain_spec sp;
		spec_of(a, it, &sp);
		r = driver_start(a->drv, &sp, why, why_size);
		spec_release(&sp);
	}
	if (r == 0)
		log_line(LOGL_INFO, "instance started", "instance", id, NULL);
	free(base);
	return r;
}

/* Apply a new flavor to a stopped instance: grow its disk to disk_gb and
 * redefine its domain with the new vCPUs and memory. Both are idempotent,
 * so a pass cut short is finished by the next. An instance never built
 * has nothing to change: it will be built with the new flavor. */
static int resize(struct agent_ctx *a, json_t *it, enum dom_state st, char *why,
		  size_t why_size)
{
	int64_t disk_gb = json_integer_value(json_object_get(it, "disk_gb"));
	struct domain_spec sp;
	spec_of(a, it, &sp);
	int r = 0;
	if (access(sp.disk, F_OK) == 0) {
		char size[32];
		str_printf(size, sizeof(size), "%lldG", (long long)disk_gb);
		char *argv[] = { "qemu-img", "resize", "-q", "-f", "qcow2", (char *)sp.disk, size,
				 NULL };
		r = storage_qemu_img(argv, "growing the disk", why, why_size);
	}
	if (r == 0 && st != DOM_ABSENT)
		r = driver_define(a->drv, &sp, why, why_size);
	if (r == 0)
		log_line(LOGL_INFO, "instance resized", "instance", sp.id, NULL);
	spec_release(&sp);
	return r;
}

/* Upload a stopped instance's disk, flattened (its image and what it
 * wrote, in one qcow2), as the image snapshot_image_id. An upload cut short
 * leaves the image queued: the next pass tries again. */
static int snapshot(struct agent_ctx *a, json_t *it, char *why, size_t why_size)
{
	const char *id = json_string_value(json_object_get(it, "id"));
	const char *image = json_string_value(json_object_get(it, "snapshot_image_id"));
	if (!image || !uuid_valid(image)) {
		str_copy(why, why_size, "nubod named no image to make");
		return -1;
	}
	char *disk = disk_path(a, id);
	char *tmp = xasprintf("%s/snap-%s.qcow2", a->disk_dir, image);
	char *argv[] = { "qemu-img", "convert", "-q", "-O", "qcow2", disk, tmp, NULL };
	int r = access(disk, F_OK) == 0 ? storage_qemu_img(argv, "flattening the disk", why, why_size)
					: (str_copy(why, why_size, "the instance has no disk here"), -1);
	char sha[SHA256_HEX_SIZE];
	int64_t size = 0;
	int fd = -1;
	if (r == 0 && (sha256_file_hex(tmp, sha, &size) < 0 ||
		       (fd = open(tmp, O_RDONLY | O_CLOEXEC)) < 0)) {
		str_printf(why, why_size, "reading the flattened disk failed: %s", strerror(errno));
		r = -1;
	}
	if (r == 0) {
		char *url = xasprintf("%s/v1/hosts/%s/images/%s/file", a->server, a->host_id, image);
		char hdr[128];
		str_printf(hdr, sizeof(hdr), "X-Image-Sha256: %s", sha);
		const char *const headers[] = { hdr, NULL };
		struct httpc_req req = { .method = "PUT", .url = url, .bearer = a->credential,
					 .ctype = "application/octet-stream", .upload_fd = fd,
					 .upload_size = (uint64_t)size, .headers = headers,
					 .timeout_s = IMAGE_TIMEOUT_S, .stall_s = 120,
					 .body_limit = 64 * 1024 };
		struct httpc_resp resp;
		int s = httpc_send(&req, &resp);
		if (s == -ECANCELED) {
			r = 1; /* stopping: the next start tries again */
		} else if (s < 0 || resp.status != 200) {
			/* a conflict means the image has its bytes, or another upload runs */
			r = s == 0 && resp.status == 409 ? 1 : -1;
			if (r < 0)
				str_printf(why, why_size, "uploading the snapshot failed: %s",
					   s < 0 ? resp.error : resp.body.data ? resp.body.data : "?");
		} else {
			log_line(LOGL_INFO, "snapshot uploaded", "instance", id, "image", image, NULL);
		}
		httpc_resp_release(&resp);
		free(url);
	}
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	free(tmp);
	free(disk);
	return r < 0 ? -1 : 0;
}

/* The target of a migration: fetch the instance's disk (uploaded by its
 * old host as an image; the download checks its SHA-256), make it this
 * host's disk, and define the domain, stopped. */
static int receive(struct agent_ctx *a, json_t *it, char *why, size_t why_size)
{
	const char *id = json_string_value(json_object_get(it, "id"));
	const char *image = json_string_value(json_object_get(it, "snapshot_image_id"));
	const char *sha = json_string_value(json_object_get(it, "disk_image_sha256"));
	int64_t disk_gb = json_integer_value(json_object_get(it, "disk_gb"));
	if (!image || !uuid_valid(image) || !sha || !sha[0]) {
		str_copy(why, why_size, "nubod named no disk to fetch");
		return -1;
	}
	char *copy = cached_image(a, image, sha, why, why_size);
	if (!copy)
		return -1;
	char *disk = disk_path(a, id), *part = xasprintf("%s.part", disk);
	char size[32];
	str_printf(size, sizeof(size), "%lldG", (long long)disk_gb);
	int r = access(disk, F_OK) == 0
			? 0
			: storage_put_in_place(part, disk,
				       storage_copy(copy, part, size, "copying the disk", why,
						     why_size),
				       why, why_size);
	unlink(copy); /* used once: no other instance boots from it */
	if (r == 0)
		r = make_cidata(a, it, why, why_size);
	if (r == 0) {
		struct domain_spec sp;
		spec_of(a, it, &sp);
		r = driver_define(a->drv, &sp, why, why_size);
		spec_release(&sp);
	}
	if (r == 0)
		log_line(LOGL_INFO, "migrated instance received", "instance", id, NULL);
	free(part);
	free(disk);
	free(copy);
	return r;
}

/* Remove an instance's domain and files. */
static void destroy(struct agent_ctx *a, const char *id)
{
	driver_remove(a->drv, id);
	char *disk = disk_path(a, id), *console = console_path(a, id), *cidata = cidata_path(a, id);
	char *part = xasprintf("%s.part", disk);
	unlink(part);
	free(part);
	unlink(disk);
	unlink(console);
	unlink(cidata);
	free(disk);
	free(console);
	free(cidata);
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

/* One snapshot of this host: copy its volume's data (creating), or remove
 * it (deleting). The copy is made aside and renamed, so a pass cut short
 * starts it again. */
static void converge_snapshot(struct agent_ctx *a, json_t *p, json_t *reports)
{
	const char *id = json_string_value(json_object_get(p, "id"));
	const char *vid = json_string_value(json_object_get(p, "volume_id"));
	const char *state = json_string_value(json_object_get(p, "state"));
	if (!id || !uuid_valid(id) || !vid || !uuid_valid(vid) || !state)
		return;
	char why[512] = "";
	bool deleting = strcmp(state, "deleting") == 0;
	if (!deleting && strcmp(state, "creating") != 0)
		return;
	const struct storage_pool *pool = pool_of(a, p, why, sizeof(why));
	int r = !pool ? -1
		: deleting ? pool->ops->snapshot_remove(pool, id, why, sizeof(why))
			   : pool->ops->snapshot_make(pool, id, vid, why, sizeof(why));
	if (r == 0)
		log_line(LOGL_INFO, deleting ? "snapshot removed" : "snapshot taken", "snapshot", id,
			 "volume", vid, NULL);
	add_report(reports, id, r < 0 ? "error" : deleting ? "gone" : "available",
		   r < 0 ? why : NULL);
}

/* Send what changed, when anything did. */
static void send_reports(struct agent_ctx *a, json_t *instances, json_t *volumes,
			 json_t *snapshots)
{
	if (!json_array_size(instances) && !json_array_size(volumes) &&
	    !json_array_size(snapshots))
		return;
	json_t *body = json_pack("{s:O, s:O, s:O}", "instances", instances, "volumes", volumes,
				 "snapshots", snapshots);
	size_t len;
	char *text = json_req_dump(body, &len);
	char *rurl = xasprintf("%s/v1/hosts/%s/report", a->server, a->host_id);
	struct httpc_resp rr;
	if (httpc_request("POST", rurl, a->credential, "application/json", text, len, 30, 4096,
			  &rr) < 0 ||
	    rr.status != 204)
		log_warn("report not taken (%ld): %s", rr.status,
			 rr.body.data ? rr.body.data : rr.error);
	buf_release(&rr.body);
	free(rurl);
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
	json_t *reports = json_array(), *none = json_array();
	add_report(reports, id, state, error);
	send_reports(a, reports, none, none);
	json_decref(none);
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
		if (strcmp(state, "migrating") == 0) {
			const char *mig = json_string_value(json_object_get(it, "migration"));
			if (mig && strcmp(mig, "upload") == 0 && snapshot(a, it, why, sizeof(why)) < 0)
				add_report(reports, id, "stopped", why);
			if (mig && strcmp(mig, "receive") == 0) {
				int r = st == DOM_ABSENT ? receive(a, it, why, sizeof(why)) : 0;
				report_now(a, id, r == 0 ? "stopped" : "error", r == 0 ? NULL : why);
			}
			return; /* "keep": the old host waits until the target has it */
		}
		if (strcmp(state, "snapshotting") == 0) {
			/* done: nubod marks it stopped when the upload lands */
			if (snapshot(a, it, why, sizeof(why)) < 0)
				add_report(reports, id, "stopped", why);
			return;
		}
		int r = strcmp(state, "resizing") == 0 ? resize(a, it, st, why, sizeof(why)) : 0;
		add_report(reports, id, r == 0 ? "stopped" : "error", r == 0 ? NULL : why);
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

/* Make a volume in its pool: blank, or a full copy of its image or its
 * snapshot, of size_gb. */
static int make_volume(struct agent_ctx *a, json_t *v, const struct storage_pool *pool,
		       char *why, size_t why_size)
{
	const char *id = json_string_value(json_object_get(v, "id"));
	const char *image = json_string_value(json_object_get(v, "image_id"));
	const char *sha = json_string_value(json_object_get(v, "image_sha256"));
	const char *snap = json_string_value(json_object_get(v, "snapshot_id"));
	int64_t size_gb = json_integer_value(json_object_get(v, "size_gb"));
	char *base = NULL;
	if (!(snap && snap[0]) && image && image[0]) {
		base = sha && sha[0] ? cached_image(a, image, sha, why, why_size) : NULL;
		if (!base) {
			if (!why[0])
				str_copy(why, why_size, "the volume's image has no stored file");
			return -1;
		}
	}
	int r = pool->ops->volume_make(pool, id, size_gb, base,
				       snap && snap[0] && uuid_valid(snap) ? snap : NULL, why,
				       why_size);
	if (r == 0)
		log_line(LOGL_INFO, "volume made", "volume", id, "pool", pool->name, NULL);
	free(base);
	return r;
}

/* One volume of this host: make, attach, detach, grow or remove it as
 * nubod wants, and report the steps that complete what was asked. */
static void converge_volume(struct agent_ctx *a, json_t *v, json_t *reports)
{
	const char *id = json_string_value(json_object_get(v, "id"));
	const char *state = json_string_value(json_object_get(v, "state"));
	const char *inst = json_string_value(json_object_get(v, "instance_id"));
	const char *dev = json_string_value(json_object_get(v, "device"));
	int64_t size_gb = json_integer_value(json_object_get(v, "size_gb"));
	if (!id || !uuid_valid(id) || !state || !inst || !dev || strcmp(state, "error") == 0)
		return; /* an error waits for the user */
	if (inst[0] && !uuid_valid(inst))
		return;
	char why[512] = "";
	const struct storage_pool *pool = pool_of(a, v, why, sizeof(why));
	if (!pool) {
		add_report(reports, id, "error", why);
		return;
	}
	char *path = pool->ops->volume_path(pool, id);
	struct domain_disk disk = { path, dev };
	enum dom_state st = inst[0] ? driver_state(a->drv, inst) : DOM_ABSENT;
	if (strcmp(state, "deleting") == 0) {
		if (pool->ops->volume_remove(pool, id, why, sizeof(why)) < 0) {
			add_report(reports, id, "error", why);
		} else {
			log_line(LOGL_INFO, "volume removed", "volume", id, NULL);
			add_report(reports, id, "gone", NULL);
		}
		goto out;
	}
	if (!pool->ops->volume_exists(pool, id) && make_volume(a, v, pool, why, sizeof(why)) < 0) {
		add_report(reports, id, "error", why);
		goto out;
	}
	if (strcmp(state, "extending") == 0) {
		int r = st == DOM_RUNNING && driver_has_disk(a->drv, inst, path, true)
				? driver_resize_disk(a->drv, inst, dev, (uint64_t)size_gb << 30, why,
						     sizeof(why))
				: pool->ops->volume_grow(pool, id, size_gb, why, sizeof(why));
		add_report(reports, id, r < 0 ? "error" : inst[0] ? "in-use" : "available",
			   r < 0 ? why : NULL);
	} else if (volume_wanted(v)) {
		if (st == DOM_ABSENT)
			goto out; /* its instance is not built yet: the build takes it */
		if (!driver_has_disk(a->drv, inst, path, false) &&
		    driver_attach_disk(a->drv, inst, &disk, why, sizeof(why)) < 0) {
			add_report(reports, id, "error", why);
			goto out;
		}
		if (strcmp(state, "attaching") == 0) {
			log_line(LOGL_INFO, "volume attached", "volume", id, "instance", inst, NULL);
			add_report(reports, id, "in-use", NULL);
		}
	} else if (strcmp(state, "detaching") == 0) {
		if (st != DOM_ABSENT && driver_has_disk(a->drv, inst, path, false) &&
		    driver_detach_disk(a->drv, inst, &disk, why, sizeof(why)) < 0) {
			add_report(reports, id, "error", why);
			goto out;
		}
		if (st == DOM_RUNNING && driver_has_disk(a->drv, inst, path, true))
			goto out; /* the guest has not let go yet: next pass */
		log_line(LOGL_INFO, "volume detached", "volume", id, NULL);
		add_report(reports, id, "available", NULL);
	}
out:
	free(path);
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
	json_t *vols = json_object_get(list, "volumes");
	json_t *none = json_array();
	a->volumes = json_is_array(vols) ? vols : none;
	/* networks first: a domain defined below finds its taps */
	if (a->net.dir)
		agent_net_converge(&a->net, list);
	json_t *reports = json_array(), *vreports = json_array(), *sreports = json_array();
	json_t *snaps = json_object_get(list, "snapshots");
	size_t k;
	json_t *it;
	/* volumes first: a domain built or redefined below takes the ones that
	 * exist */
	json_array_foreach((json_t *)a->volumes, k, it)
		converge_volume(a, it, vreports);
	json_array_foreach(json_is_array(snaps) ? snaps : none, k, it)
		converge_snapshot(a, it, sreports);
	json_array_foreach(items, k, it)
		converge(a, it, reports);
	remove_strays(a, items);
	send_reports(a, reports, vreports, sreports);
	json_array_foreach(items, k, it) {
		const char *id = json_string_value(json_object_get(it, "id"));
		if (id && uuid_valid(id) && driver_state(a->drv, id) != DOM_ABSENT)
			send_console(a, id);
	}
	clean_image_cache(a, items);
	a->volumes = NULL;
	json_decref(none);
	json_decref(reports);
	json_decref(vreports);
	json_decref(sreports);
	json_decref(list);
	return 0;
}
