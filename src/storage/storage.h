/* storage: images and volumes (later snapshots).
 *
 * An image is metadata in the store plus one qcow2 file in the image
 * directory. Its bytes arrive in a separate, streamed upload: the upload
 * is written to <id>.upload while its SHA-256 is computed, then inspected
 * with `qemu-img info` (qcow2, raw, vmdk and vhdx are accepted; a qcow2
 * with a backing or external data file is refused, since it could point at
 * any file of the host), converted to qcow2 when it is not one, and renamed
 * to <id>.qcow2. States: queued (no bytes yet) -> saving -> active, or
 * error with a reason; an interrupted upload goes back to queued. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/crypto.h"
#include "lib/err.h"
#include "lib/timeutil.h"
#include "store/store.h"

#define IMAGE_NAME_MAX 128
#define IMAGE_DESCRIPTION_MAX 255

struct storage_settings {
	const char *image_dir;   /* where image files live (created if missing) */
	uint64_t image_max_bytes;/* largest upload accepted */
};

struct image {
	char id[UUID_SIZE];
	char project_id[UUID_SIZE];   /* owner; "" for the system's own images */
	char name[IMAGE_NAME_MAX + 1];
	char description[IMAGE_DESCRIPTION_MAX * 4 + 1];
	char visibility[8];           /* "private" or "public" */
	char state[8];                /* "queued", "saving", "active" or "error" */
	char error[256];              /* why, in state error */
	char disk_format[8];          /* format of the upload; "" before it */
	int64_t size_bytes;           /* bytes of the stored qcow2 */
	int64_t virtual_size;         /* bytes of the disk it holds */
	char sha256[SHA256_HEX_SIZE]; /* of the stored qcow2 file; "" before it */
	char created_at[TIME_RFC3339_SIZE];
	char updated_at[TIME_RFC3339_SIZE];
};

/* Fields of an image to create or change; NULL means "not given". */
struct image_spec {
	const char *name;
	const char *description;
	const char *visibility;
};

/* Create image metadata (state queued) owned by project_id ("" for the
 * system). */
int image_create(struct store_conn *c, const char *project_id, const struct image_spec *spec,
		 struct image *ret, struct err *err);
/* Find an image by id, or by name among those visible to project_id. */
int image_get(struct store_conn *c, const char *id_or_name, const char *project_id,
	      struct image *ret, struct err *err);
/* True when project_id ("" for none) may see img: its own, or public. */
bool image_visible(const struct image *img, const char *project_id);
/* List up to limit (> 0) images ordered by name, after `after`: those of
 * project_id and the public ones, or all when all is set. Caller frees. */
int image_list(struct store_conn *c, const char *project_id, bool all, const char *after,
	       size_t limit, struct image **ret, size_t *ret_n, bool *ret_more, struct err *err);
/* Change name, description or visibility. */
int image_update(struct store_conn *c, const char *id, const struct image_spec *spec,
		 struct image *ret, struct err *err);
/* Delete an image and its file. */
int image_delete(struct store_conn *c, const struct storage_settings *s, const char *id,
		 struct err *err);
/* Put a queued image (no upload running) in state error with reason. */
int image_fail(struct store_conn *c, const char *id, const char *reason, struct err *err);
/* Path of an image's stored file. Caller frees. */
char *image_path(const struct storage_settings *s, const char *id);

struct image_upload;

/* Start an upload: queued -> saving, and a fresh temporary file. Only one
 * upload runs at a time (ERR_CONFLICT otherwise, or when the image has its
 * bytes already). Caller ends it with image_upload_finish or _abort. */
int image_upload_begin(struct store_conn *c, const struct storage_settings *s, const char *id,
		       struct image_upload **ret, struct err *err);
/* Append n bytes. Returns 0 or a negative errno (disk full...). */
int image_upload_write(struct image_upload *u, const void *data, size_t n);
/* Inspect, convert and store the upload; the image becomes active, or
 * error with the reason (ERR_INVALID for a refused format). Frees u. When
 * expect_sha256 is given it must match the uploaded bytes. */
int image_upload_finish(struct store_conn *c, struct image_upload *u,
			const char *expect_sha256, struct image *ret, struct err *err);
/* Drop the upload; the image goes back to queued. Frees u. Accepts NULL. */
void image_upload_abort(struct store_conn *c, struct image_upload *u);
/* Bytes written so far. */
uint64_t image_upload_size(const struct image_upload *u);

/* ---- storage pools: where volumes live ----
 *
 * Without a pool a volume lives on one host's local disk. A storage pool
 * is shared storage that several hosts reach: its driver says what it is
 * ("dir": a directory of qcow2 files that every host of the pool mounts,
 * e.g. over NFS; later "rbd" for Ceph). Each agent names, in its
 * heartbeats, the pools it mounts; a volume in a pool attaches to an
 * instance on any of those hosts. */

#define STORAGE_POOL_NAME_MAX 63
#define STORAGE_POOL_DRIVERS "dir"

struct storage_pool {
	char id[UUID_SIZE];
	char name[STORAGE_POOL_NAME_MAX + 1];
	char driver[16];
	char description[IMAGE_DESCRIPTION_MAX * 4 + 1];
	char created_at[TIME_RFC3339_SIZE];
};

/* Create a pool (name: lower-case letters, digits and '-'; driver one of
 * STORAGE_POOL_DRIVERS). */
int storage_pool_create(struct store_conn *c, const char *name, const char *driver,
			const char *description, struct storage_pool *ret, struct err *err);
/* Find a pool by id or name. */
int storage_pool_get(struct store_conn *c, const char *id_or_name, struct storage_pool *ret,
		     struct err *err);
/* List up to limit (> 0) pools by name after `after`. Caller frees. */
int storage_pool_list(struct store_conn *c, const char *after, size_t limit,
		      struct storage_pool **ret, size_t *ret_n, bool *ret_more, struct err *err);
/* Delete a pool; ERR_CONFLICT while volumes or snapshots are in it. */
int storage_pool_delete(struct store_conn *c, const char *id_or_name, struct err *err);

/* ---- volumes: persistent disks that attach to instances ----
 *
 * A volume is metadata here plus a qcow2 file on a host (local storage) or
 * in a storage pool. It is made lazily: a new volume is available at once
 * and has no host; the first attach binds it to its instance's host, whose
 * agent makes the file (blank, or a full copy of an image) and attaches it.
 * A local volume then lives on that host: it can be attached to any
 * instance there. A volume in a pool is served by the host of its latest
 * attach, and can move to any host that mounts the pool. States:
 * available, attaching -> in-use, detaching -> available, extending ->
 * (in-use or available), deleting -> gone, error with a reason. The host's
 * agent reports each step; every operation that waits for it has a job. */

#define VOLUME_NAME_MAX 63

struct snapshot;
#define VOLUME_SIZE_GB_MAX 16384
#define VOLUME_DEVICES "bcdefghijklmnopqrstuvwxyz" /* vdb... vdz */

struct volume {
	char id[UUID_SIZE];
	char project_id[UUID_SIZE];
	char name[VOLUME_NAME_MAX + 1];
	int64_t size_gb;
	char image_id[UUID_SIZE];    /* made from this image, or "" */
	char snapshot_id[UUID_SIZE]; /* made from this snapshot, or "" */
	char host_id[UUID_SIZE];     /* where its file lives (local) or which host serves
				      * it (pool); "" until first attached */
	char pool_id[UUID_SIZE];     /* its storage pool, or "" for local storage */
	char pool[STORAGE_POOL_NAME_MAX + 1]; /* that pool's name */
	char instance_id[UUID_SIZE]; /* attached (or attaching) to, or "" */
	char device[8];              /* "vdb"... while attached */
	char state[16];
	char error[256];             /* why, in state error */
	char created_at[TIME_RFC3339_SIZE];
	char updated_at[TIME_RFC3339_SIZE];
};

/* Create an available volume in project_id, blank, from image_id or from
 * a snapshot (NULL: not), in pool (NULL: local storage). From a snapshot it
 * lives where the snapshot does (pool must then be the snapshot's or NULL).
 * The caller charges the quotas. */
int volume_create(struct store_conn *c, const char *project_id, const char *name,
		  int64_t size_gb, const char *image_id, const struct snapshot *snap,
		  const struct storage_pool *pool, struct volume *ret, struct err *err);
/* Find a volume by id, or by name within project_id; with project_id set,
 * another project's volume is ERR_NOT_FOUND. */
int volume_get(struct store_conn *c, const char *project_id, const char *id_or_name,
	       struct volume *ret, struct err *err);
/* List up to limit (> 0) volumes of project_id (all when NULL) by name
 * after `after`. Caller frees. */
int volume_list(struct store_conn *c, const char *project_id, const char *after, size_t limit,
		struct volume **ret, size_t *ret_n, bool *ret_more, struct err *err);
/* Attach an available volume to instance_id on host_id (attaching, with the
 * instance's first free device). ERR_CONFLICT when the volume is not
 * available, lives on another host's local disk, or the instance has no
 * free device. Whether host_id mounts a pooled volume's pool is the
 * caller's check. */
int volume_attach(struct store_conn *c, const char *id, const char *instance_id,
		  const char *host_id, struct volume *ret, struct err *err);
/* Detach an in-use volume (detaching); with instance_id set it must be
 * attached to that instance (ERR_CONFLICT otherwise). */
int volume_detach(struct store_conn *c, const char *id, const char *instance_id,
		  struct volume *ret, struct err *err);
/* Grow a volume to size_gb (only larger): extending when it has a host,
 * at once otherwise (returns 1 then). */
int volume_extend(struct store_conn *c, const char *id, int64_t size_gb, struct volume *ret,
		  struct err *err);
/* Delete an available volume: at once when it has no host (returns 1),
 * else deleting until its host reports it gone. */
int volume_request_delete(struct store_conn *c, const char *id, struct err *err);
/* The volumes that live on host_id. Caller frees. */
int volume_list_host(struct store_conn *c, const char *host_id, struct volume **ret,
		     size_t *ret_n, struct err *err);
/* Record what host_id reports of volume id: "in-use", "available", "gone"
 * or "error". Returns 1 when it completed an operation (the caller ends
 * the volume's job; for "gone" the row is removed and the caller gives the
 * quota back, *ret holding the volume as it was), 0 when it changed
 * nothing, or an error. */
int volume_report(struct store_conn *c, const char *host_id, const char *id, const char *state,
		  const char *error, struct volume *ret, struct err *err);
/* The volumes attached (or attaching) to instance_id. Caller frees. */
int volume_list_instance(struct store_conn *c, const char *instance_id, struct volume **ret,
			 size_t *ret_n, struct err *err);
/* Instance instance_id (migrating) now lives on host_id: its volumes in
 * storage pools are served from there. */
int volume_follow_instance(struct store_conn *c, const char *instance_id, const char *host_id,
			   struct err *err);
/* Instance instance_id is gone: its volumes stay, available. */
int volume_release_instance(struct store_conn *c, const char *instance_id, struct err *err);

/* ---- snapshots of volumes ----
 *
 * A snapshot is a full copy of a volume's data, made on the volume's host
 * (creating -> available) and kept there; new volumes are made from it on
 * that host. A volume with snapshots cannot be deleted. */

struct snapshot {
	char id[UUID_SIZE];
	char project_id[UUID_SIZE];
	char volume_id[UUID_SIZE];
	char name[VOLUME_NAME_MAX + 1];
	int64_t size_gb;             /* the volume's size when it was taken */
	char pool_id[UUID_SIZE];     /* kept in the volume's pool; "" on the host */
	char pool[STORAGE_POOL_NAME_MAX + 1]; /* that pool's name */
	char host_id[UUID_SIZE];
	char state[16];              /* creating, available, deleting, error */
	char error[256];
	char created_at[TIME_RFC3339_SIZE];
	char updated_at[TIME_RFC3339_SIZE];
};

/* Take a snapshot of volume v (which must have data on a host, and not be
 * in use by a running guest: running says whether its instance runs). */
int snapshot_create(struct store_conn *c, const struct volume *v, bool running,
		    const char *name, struct snapshot *ret, struct err *err);
/* Find a snapshot by id, or by name within project_id (NULL: any). */
int snapshot_get(struct store_conn *c, const char *project_id, const char *id_or_name,
		 struct snapshot *ret, struct err *err);
/* The snapshots of project_id (all when NULL), by name. Caller frees. */
int snapshot_list(struct store_conn *c, const char *project_id, struct snapshot **ret,
		  size_t *ret_n, struct err *err);
/* Ask for a snapshot's deletion (deleting until its host removes it). */
int snapshot_request_delete(struct store_conn *c, const char *id, struct err *err);
/* The snapshots kept on host_id. Caller frees. */
int snapshot_list_host(struct store_conn *c, const char *host_id, struct snapshot **ret,
		       size_t *ret_n, struct err *err);
/* Record what host_id reports of snapshot id ("available", "gone",
 * "error"). 1 when it completed an operation (the caller ends the job), 0
 * when it changed nothing, or an error. */
int snapshot_report(struct store_conn *c, const char *host_id, const char *id,
		    const char *state, const char *error, struct err *err);
