/* compute: where workloads run. For now zones: named failure and
 * jurisdiction domains that hosts, networks and data will belong to. A
 * zone's jurisdiction (an ISO 3166-1 alpha-2 country code) is how an
 * operator shows, and later enforces, where data sits.
 *
 * Functions take a borrowed store connection; each one that writes runs in
 * its own (possibly nested) transaction. Errors come back as -ERR_* codes
 * with err filled for the caller to report. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/crypto.h"
#include "lib/err.h"
#include "lib/sshkey.h"
#include "lib/timeutil.h"
#include "store/store.h"

#define ZONE_NAME_MAX 63
#define ZONE_DESCRIPTION_MAX 255 /* characters */

struct zone {
	char id[UUID_SIZE];                 /* UUID */
	char name[ZONE_NAME_MAX + 1];       /* DNS label, unique */
	char description[ZONE_DESCRIPTION_MAX * 4 + 1]; /* free text, UTF-8 */
	char jurisdiction[3];               /* ISO 3166-1 alpha-2, upper case */
	double cpu_ratio;                   /* vCPUs per host CPU; 0: nubod's default */
	double ram_ratio;                   /* guest per host memory; 0: the default */
	char created_at[TIME_RFC3339_SIZE]; /* RFC 3339 UTC */
	char updated_at[TIME_RFC3339_SIZE]; /* RFC 3339 UTC */
};

/* Fields of a zone to create or change; NULL means "not given". */
struct zone_spec {
	const char *name;
	const char *description;
	const char *jurisdiction;
	bool set_cpu_ratio, set_ram_ratio; /* the ratios below are given */
	double cpu_ratio, ram_ratio;       /* 0: back to nubod's default */
};

#define ZONE_CPU_RATIO_MAX 64.0
#define ZONE_RAM_RATIO_MAX 16.0

/* One page of zones, ordered by name. */
struct zone_page {
	struct zone *items; /* owned; free with zone_page_release() */
	size_t n;           /* zones in items */
	bool more;          /* zones follow the last one */
};

/* Check a zone name: a DNS label of 1-63 lower-case letters, digits and
 * hyphens, not starting or ending with a hyphen. Returns 0 or -ERR_INVALID. */
int zone_name_check(const char *name, struct err *err);
/* Check a jurisdiction and write it upper-cased into out[3]. Returns 0 or
 * -ERR_INVALID. */
int zone_jurisdiction_check(const char *code, char out[3], struct err *err);
/* Create a zone (name and jurisdiction required). Fills ret on success. */
int zone_create(struct store_conn *c, const struct zone_spec *spec, struct zone *ret,
		struct err *err);
/* Find a zone by id or by name. -ERR_NOT_FOUND when there is none. */
int zone_get(struct store_conn *c, const char *id_or_name, struct zone *ret, struct err *err);
/* List up to limit (> 0) zones whose name sorts after `after` (NULL: from the
 * start), optionally only the one named `name`. Caller releases ret. */
int zone_list(struct store_conn *c, const char *after, const char *name, size_t limit,
	      struct zone_page *ret, struct err *err);
/* Change the given fields of a zone. Fills ret with the updated zone. */
int zone_update(struct store_conn *c, const char *id_or_name, const struct zone_spec *spec,
		struct zone *ret, struct err *err);
/* Delete a zone. -ERR_NOT_FOUND when there is none. */
int zone_delete(struct store_conn *c, const char *id_or_name, struct err *err);
/* Free a page's items. */
void zone_page_release(struct zone_page *page);

/* ---- flavors: the sizes instances come in ---- */

#define FLAVOR_NAME_MAX 64
#define FLAVOR_VCPUS_MAX 256
#define FLAVOR_RAM_MB_MIN 64
#define FLAVOR_RAM_MB_MAX (4 * 1024 * 1024)
#define FLAVOR_DISK_GB_MAX 65536

struct flavor {
	char id[UUID_SIZE];
	char name[FLAVOR_NAME_MAX + 1]; /* unique: a-z 0-9 . _ - */
	int64_t vcpus;
	int64_t ram_mb;
	int64_t disk_gb;                /* root disk size */
	char created_at[TIME_RFC3339_SIZE];
	char updated_at[TIME_RFC3339_SIZE];
};

/* Create a flavor; every field is required and checked. */
int flavor_create(struct store_conn *c, const char *name, int64_t vcpus, int64_t ram_mb,
		  int64_t disk_gb, struct flavor *ret, struct err *err);
/* Find a flavor by id or name. */
int flavor_get(struct store_conn *c, const char *id_or_name, struct flavor *ret,
	       struct err *err);
/* List up to limit (> 0) flavors ordered by name after `after`. Caller frees. */
int flavor_list(struct store_conn *c, const char *after, size_t limit, struct flavor **ret,
		size_t *ret_n, bool *ret_more, struct err *err);
/* Delete a flavor (ERR_CONFLICT while instances use it). */
int flavor_delete(struct store_conn *c, const char *id_or_name, struct err *err);

/* ---- hosts: hypervisors, each run by one nubo-agent ----
 *
 * A system administrator makes a one-time enrollment token; an agent
 * exchanges it for a host credential ("nubo_host_..." bearer token, kept
 * in the agent's state dir, stored here only as its SHA-256) and from then
 * on reports its capacity with heartbeats. A host whose last heartbeat is
 * older than the configured time is down. */

#define COMPUTE_HOST_NAME_MAX 63
#define HOST_CREDENTIAL_PREFIX "nubo_host_"

struct host {
	char id[UUID_SIZE];
	char name[COMPUTE_HOST_NAME_MAX + 1];
	char zone_id[UUID_SIZE];        /* "" when enrolled without a zone */
	bool enabled;                   /* takes new placements */
	int64_t cpus;                   /* as reported by the agent */
	int64_t ram_mb;
	int64_t disk_gb;
	char cpu_model[64];
	char virt_type[16];             /* "kvm" or "qemu" (TCG) */
	char agent_version[32];
	char storage_pools[512];        /* shared pools it mounts: "a,b" (agent's report) */
	int64_t last_heartbeat_ms;      /* 0: never */
	char created_at[TIME_RFC3339_SIZE];
	char updated_at[TIME_RFC3339_SIZE];
	char underlay_ip[16];           /* where its VXLAN traffic goes; "": no tenant
					   networking */
};

/* What an agent reports about its host. */
struct host_report {
	const char *name;        /* enrollment only */
	int64_t cpus, ram_mb, disk_gb;
	const char *cpu_model, *virt_type, *agent_version;
	const char *underlay_ip; /* a checked IPv4 address, or NULL: none */
	const char *storage_pools; /* heartbeat: "a,b", names of the shared pools it mounts */
};

struct enroll_token {
	char id[UUID_SIZE];
	char secret[64];         /* shown once */
	char zone_id[UUID_SIZE]; /* "" for none */
	char expires_at[TIME_RFC3339_SIZE];
};

/* Make a one-time enrollment token for a host in zone (id or name, NULL:
 * none), valid for ttl_ms. */
int host_enroll_token_create(struct store_conn *c, const char *zone, int64_t ttl_ms,
			     struct enroll_token *ret, struct err *err);
/* Exchange an enrollment token for a new host and its credential (written
 * to ret_credential[64], shown once). ERR_UNAUTHORIZED for an unknown,
 * used or expired token. */
int host_enroll(struct store_conn *c, const char *token, const struct host_report *rep,
		struct host *ret, char ret_credential[64], struct err *err);
/* Resolve a host credential. ERR_UNAUTHORIZED when unknown. */
int host_auth(struct store_conn *c, const char *credential, struct host *ret, struct err *err);
/* Record a heartbeat with the host's current capacity. */
int host_heartbeat(struct store_conn *c, const char *host_id, const struct host_report *rep,
		   struct host *ret, struct err *err);
/* Find a host by id or name. */
int host_get(struct store_conn *c, const char *id_or_name, struct host *ret, struct err *err);
/* List up to limit (> 0) hosts ordered by name after `after`. Caller frees. */
int host_list(struct store_conn *c, const char *after, size_t limit, struct host **ret,
	      size_t *ret_n, bool *ret_more, struct err *err);
/* Enable or disable placements on a host. */
int host_set_enabled(struct store_conn *c, const char *id_or_name, bool enabled,
		     struct host *ret, struct err *err);
/* Remove a host (its credential stops working). ERR_CONFLICT, saying how
 * many, while instances are placed on it: they would be orphaned. */
int host_delete(struct store_conn *c, const char *id_or_name, struct err *err);
/* Whether host h reported that it mounts the storage pool named pool. */
bool host_has_pool(const struct host *h, const char *pool);
/* The ids, sorted, of the hosts that mount every pool of pools[n]. Caller
 * frees. */
int host_list_with_pools(struct store_conn *c, const char *const *pools, size_t n,
			 char (**ret)[UUID_SIZE], size_t *ret_n, struct err *err);
/* "up" or "down" for a host at now_ms, given the heartbeat timeout. */
const char *host_state(const struct host *h, int64_t now_ms, int64_t down_after_ms);

/* ---- instances and their jobs ----
 *
 * An instance is created `pending` with desired state `running`; the
 * scheduler places it on a host (`scheduled`) or fails it (`error`, with a
 * reason a person can act on); the host's agent then builds and runs it.
 * Every long operation has a job that survives restarts of nubod. */

#define INSTANCE_NAME_MAX 63
#define INSTANCE_USER_DATA_MAX (64 * 1024)

struct instance {
	char id[UUID_SIZE];
	char project_id[UUID_SIZE];
	char name[INSTANCE_NAME_MAX + 1];
	char flavor_id[UUID_SIZE];
	char image_id[UUID_SIZE];
	char zone_id[UUID_SIZE];   /* "" when any zone will do */
	char host_id[UUID_SIZE];   /* "" until placed */
	int64_t vcpus, ram_mb, disk_gb; /* from the flavor, kept with the instance */
	char state[16];            /* pending, scheduled, building, running, ... error */
	char desired[16];          /* running, stopped or deleted */
	char error[256];           /* why, in state error */
	bool holds_quota;          /* still counted against the project's quota */
	char group_id[UUID_SIZE];  /* server group, or "" */
	char key_name[64];         /* the keypair it was made with, or "" */
	char task_image_id[UUID_SIZE]; /* snapshotting or migrating: the image being made */
	char migrate_host_id[UUID_SIZE]; /* migrating, first step: where it goes */
	char source_host_id[UUID_SIZE];  /* migrating, second step: where it was */
	int64_t host_heartbeat_ms; /* its host's last heartbeat (0: not placed) */
	char created_at[TIME_RFC3339_SIZE];
	char updated_at[TIME_RFC3339_SIZE];
};

struct instance_spec {
	const char *name;
	const struct flavor *flavor;
	const char *image_id;
	const char *zone_id;       /* NULL: any */
	const char *group_id;      /* server group, or NULL */
	const char *user_data;     /* NULL: none; passed to the guest unchanged */
	const char *key_name;      /* keypair name, or NULL */
	const char *public_key;    /* its public key (copied into the instance) */
};

/* Create an instance (pending) in project_id. */
int instance_create(struct store_conn *c, const char *project_id,
		    const struct instance_spec *spec, struct instance *ret, struct err *err);
/* Find an instance by id, or by name within project_id; with project_id
 * set, another project's instance is ERR_NOT_FOUND. */
int instance_get(struct store_conn *c, const char *project_id, const char *id_or_name,
		 struct instance *ret, struct err *err);
/* List up to limit (> 0) instances of project_id (all when NULL) ordered
 * by name. Caller frees. */
int instance_list(struct store_conn *c, const char *project_id, const char *after, size_t limit,
		  struct instance **ret, size_t *ret_n, bool *ret_more, struct err *err);
/* Instances waiting for a host, oldest first, at most limit. Caller frees. */
int instance_pending(struct store_conn *c, size_t limit, struct instance **ret, size_t *ret_n,
		     struct err *err);
/* Place a pending instance on host_id. ERR_CONFLICT when it is no longer
 * pending (deleted meanwhile). */
int instance_place(struct store_conn *c, const char *id, const char *host_id, struct err *err);
/* Put an instance in state error with reason; with released, it no
 * longer holds quota (the caller gave it back). */
int instance_fail(struct store_conn *c, const char *id, const char *reason, bool released,
		  struct err *err);
/* Delete an instance's row (once nothing of it runs anywhere). */
int instance_remove(struct store_conn *c, const char *id, struct err *err);
/* Mark an instance for deletion by its host's agent (state deleting). */
int instance_request_delete(struct store_conn *c, const char *id, struct err *err);
/* Ask for an action: desired becomes `desired` and state `state` (e.g.
 * stopped/stopping, running/starting, running/rebooting). */
int instance_request(struct store_conn *c, const char *id, const char *desired,
		     const char *state, struct err *err);
/* Give a stopped instance flavor f (its disk may only grow) and put it in
 * state resizing until its host has applied the change. ERR_CONFLICT when
 * it is not stopped, ERR_INVALID for a smaller disk or the same flavor. */
int instance_resize(struct store_conn *c, const char *id, const struct flavor *f,
		    struct err *err);
/* A stopped instance starts making image_id from its disk (state
 * snapshotting until its host has uploaded it). ERR_CONFLICT when it is
 * not stopped. */
int instance_snapshot_begin(struct store_conn *c, const char *id, const char *image_id,
			    struct err *err);
/* The instance on host_id that is making image_id. ERR_NOT_FOUND if none. */
int instance_by_task(struct store_conn *c, const char *host_id, const char *image_id,
		     struct instance *ret, struct err *err);
/* A stopped instance starts moving to host target: its host uploads its
 * disk as image_id (state migrating). ERR_CONFLICT when it is not stopped. */
int instance_migrate_begin(struct store_conn *c, const char *id, const char *image_id,
			   const char *target, struct err *err);
/* The disk is uploaded: the instance now belongs to its target host, which
 * builds it from the image; the old host keeps its copy meanwhile. */
int instance_migrate_move(struct store_conn *c, const char *id, struct err *err);
/* The migration ended: with ok the instance stays where it went, else it
 * is back on its old host; stopped either way. */
int instance_migrate_end(struct store_conn *c, const char *id, bool ok, struct err *err);
/* The snapshot of instance id is over: back to stopped. */
int instance_snapshot_end(struct store_conn *c, const char *id, struct err *err);
/* An instance with what its host needs to build it. */
struct instance_boot {
	struct instance i;
	char *user_data;           /* owned; "" for none */
	char *public_key;          /* owned; "" for none */
};

/* The instances placed on host_id, oldest first, and those migrating away
 * from it (source_host_id = host_id). Caller frees with
 * instance_boot_free(). */
int instance_list_host(struct store_conn *c, const char *host_id, struct instance_boot **ret,
		       size_t *ret_n, struct err *err);
/* Free a list from instance_list_host(). */
void instance_boot_free(struct instance_boot *items, size_t n);
/* Record the state host_id reports for instance id ("building", "running",
 * "stopped", "error"). Returns 1 when the report completed what was asked
 * (the caller ends its job), 0 when it changed nothing, or an error.
 * Reports for instances not on that host are ERR_NOT_FOUND. */
int instance_report(struct store_conn *c, const char *host_id, const char *id,
		    const char *state, const char *error, struct instance *ret,
		    struct err *err);

struct job {
	char id[UUID_SIZE];
	char project_id[UUID_SIZE];
	char kind[32];             /* "instance.create"... */
	char resource_id[UUID_SIZE];
	char status[16];           /* running, succeeded, failed */
	int64_t progress;          /* percent */
	char error[256];
	char created_at[TIME_RFC3339_SIZE];
	char updated_at[TIME_RFC3339_SIZE];
};

/* Start a job of kind on resource_id. */
int job_create(struct store_conn *c, const char *project_id, const char *kind,
	       const char *resource_id, struct job *ret, struct err *err);
/* Find a job; with project_id set, another project's job is NotFound. */
int job_get(struct store_conn *c, const char *project_id, const char *id, struct job *ret,
	    struct err *err);
/* End every running job on resource_id: succeeded, or failed with error. */
int job_finish(struct store_conn *c, const char *resource_id, bool ok, const char *error,
	       struct err *err);

/* ---- the scheduler's capacity index ----
 *
 * Placement decisions come from this in-memory index, loaded once from the
 * store and then kept current by the calls below (placements, releases,
 * host reports), never from a scan of the store per decision. One mutex
 * guards it; no I/O happens under it. */

struct sched;

struct sched_opts {
	double cpu_ratio;         /* vCPUs per host CPU (overcommit), where the
				     zone sets none */
	double ram_ratio;         /* guest RAM per host RAM, likewise */
	int64_t down_after_ms;    /* hosts silent this long take nothing */
	bool pack;                /* fill hosts one after another (first fit)
				     instead of spreading by free memory */
};

/* What a host has and uses, as the index sees it. */
struct sched_usage {
	int64_t vcpus, ram_mb, disk_gb;                   /* used by placed instances */
	int64_t vcpus_total, ram_mb_total, disk_gb_total; /* with the zone's ratios */
};

/* What a placement needs. */
struct sched_request {
	int64_t vcpus, ram_mb, disk_gb;
	const char *zone_id;      /* NULL or "": any zone */
	const char *group_id;     /* NULL or "": no server group */
	bool anti_affinity;       /* with a group: members on different hosts
				     (else on one host) */
	const char *only_host;    /* NULL, or the one host that may take it */
	const char *avoid_host;   /* NULL, or a host that must not take it */
	/* NULL, or the hosts that may take it: sorted ids (e.g. the hosts that
	 * mount the storage pools of its volumes) */
	const char (*only_hosts)[UUID_SIZE];
	size_t n_only_hosts;
};

/* Create an empty index. Caller frees with sched_free(). */
struct sched *sched_new(const struct sched_opts *opts);
/* Free the index. Accepts NULL. */
void sched_free(struct sched *s);
/* Load hosts and their placed instances from the store. */
int sched_load(struct sched *s, struct store_conn *c, struct err *err);
/* A host enrolled, reported or changed. */
void sched_host_update(struct sched *s, const struct host *h);
/* A host went away. */
void sched_host_remove(struct sched *s, const char *host_id);
/* A zone's overcommit ratios were set (0: the default). */
void sched_zone_update(struct sched *s, const char *zone_id, double cpu_ratio,
		       double ram_ratio);
/* What host_id has and uses; false when the index does not know it. */
bool sched_host_usage(struct sched *s, const char *host_id, struct sched_usage *ret);
/* Bytes of memory the index holds. */
size_t sched_bytes(struct sched *s);
/* Choose a host for req and reserve its resources there (spread: the one
 * with the most free memory; pack: the first that fits). Returns 0 and the host id, or -ERR_INVALID
 * ("no host has room") with a reason a person can act on in why. */
int sched_place(struct sched *s, const struct sched_request *req, int64_t now_ms,
		char ret_host[UUID_SIZE], char *why, size_t why_size);
/* ---- server groups: affinity and anti-affinity of instances ---- */

#define GROUP_NAME_MAX 63

struct server_group {
	char id[UUID_SIZE];
	char project_id[UUID_SIZE];
	char name[GROUP_NAME_MAX + 1];
	char policy[16];              /* "affinity" or "anti-affinity" */
	char created_at[TIME_RFC3339_SIZE];
};

/* Create a group in project_id. */
int group_create(struct store_conn *c, const char *project_id, const char *name,
		 const char *policy, struct server_group *ret, struct err *err);
/* Find a group by id or name within project_id (NULL: any project). */
int group_get(struct store_conn *c, const char *project_id, const char *id_or_name,
	      struct server_group *ret, struct err *err);
/* The groups of project_id (all when NULL), by name. Caller frees. */
int group_list(struct store_conn *c, const char *project_id, struct server_group **ret,
	       size_t *ret_n, struct err *err);
/* Delete a group (ERR_CONFLICT while it has instances). */
int group_delete(struct store_conn *c, const char *id, struct err *err);

/* ---- keypairs: SSH public keys a user puts into new instances ----
 *
 * A keypair belongs to the user who made it (as in OpenStack); an instance
 * keeps a copy of its key, so deleting the keypair later changes nothing
 * in running instances. */

#define KEYPAIR_NAME_MAX 63
#define KEYPAIRS_PER_USER_MAX 100

struct keypair {
	char id[UUID_SIZE];
	char user_id[UUID_SIZE];
	char name[KEYPAIR_NAME_MAX + 1];  /* unique per user: letters, digits, - . _ @ */
	char type[24];                    /* "ssh-ed25519", "ssh-rsa", ... */
	char fingerprint[SSHKEY_FINGERPRINT_SIZE];
	char *public_key;                 /* owned: "type base64[ comment]" */
	char created_at[TIME_RFC3339_SIZE];
};

/* Create a keypair for user_id from public_key, or, when public_key is
 * NULL, from a new Ed25519 key whose private key goes to *ret_private
 * (caller wipes and frees; shown once, never stored). Fills ret (caller
 * releases with keypair_release). At most KEYPAIRS_PER_USER_MAX a user. */
int keypair_create(struct store_conn *c, const char *user_id, const char *name,
		   const char *public_key, struct keypair *ret, char **ret_private,
		   struct err *err);
/* Find user_id's keypair by id or name. Caller releases ret. */
int keypair_get(struct store_conn *c, const char *user_id, const char *id_or_name,
		struct keypair *ret, struct err *err);
/* user_id's keypairs by name. Caller frees with keypair_list_free(). */
int keypair_list(struct store_conn *c, const char *user_id, struct keypair **ret,
		 size_t *ret_n, struct err *err);
/* Delete user_id's keypair by id or name. */
int keypair_delete(struct store_conn *c, const char *user_id, const char *id_or_name,
		   struct err *err);
/* Free what a keypair owns. Accepts NULL. */
void keypair_release(struct keypair *k);
/* Free a list from keypair_list(). */
void keypair_list_free(struct keypair *items, size_t n);

/* Change what an instance holds on host_id from `from` to `to` (resize in
 * place) if the host has room for what grows. Returns 0, or -ERR_CONFLICT
 * with the reason in why. */
int sched_resize(struct sched *s, const char *host_id, const struct sched_request *from,
		 const struct sched_request *to, char *why, size_t why_size);
/* Give back the resources of req reserved on host_id. */
void sched_release(struct sched *s, const char *host_id, const struct sched_request *req);

