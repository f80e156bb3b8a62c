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
#include "lib/timeutil.h"
#include "store/store.h"

#define ZONE_NAME_MAX 63
#define ZONE_DESCRIPTION_MAX 255 /* characters */

struct zone {
	char id[UUID_SIZE];                 /* UUID */
	char name[ZONE_NAME_MAX + 1];       /* DNS label, unique */
	char description[ZONE_DESCRIPTION_MAX * 4 + 1]; /* free text, UTF-8 */
	char jurisdiction[3];               /* ISO 3166-1 alpha-2, upper case */
	char created_at[TIME_RFC3339_SIZE]; /* RFC 3339 UTC */
	char updated_at[TIME_RFC3339_SIZE]; /* RFC 3339 UTC */
};

/* Fields of a zone to create or change; NULL means "not given". */
struct zone_spec {
	const char *name;
	const char *description;
	const char *jurisdiction;
};

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
	int64_t last_heartbeat_ms;      /* 0: never */
	char created_at[TIME_RFC3339_SIZE];
	char updated_at[TIME_RFC3339_SIZE];
};

/* What an agent reports about its host. */
struct host_report {
	const char *name;        /* enrollment only */
	int64_t cpus, ram_mb, disk_gb;
	const char *cpu_model, *virt_type, *agent_version;
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
/* Remove a host (its credential stops working). */
int host_delete(struct store_conn *c, const char *id_or_name, struct err *err);
/* "up" or "down" for a host at now_ms, given the heartbeat timeout. */
const char *host_state(const struct host *h, int64_t now_ms, int64_t down_after_ms);
