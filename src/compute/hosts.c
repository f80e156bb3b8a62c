/* hosts: see compute.h. Enrollment tokens and host credentials are random
 * 256-bit secrets stored only as SHA-256 hashes; a token is spent in the
 * same transaction that creates its host, so it enrolls one host at most
 * even when two agents race with it. */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "compute.h"
#include "lib/util.h"

#define HOST_COLS                                                                               \
	"id, name, COALESCE(zone_id, ''), enabled, cpus, ram_mb, disk_gb, cpu_model,"          \
	" virt_type, agent_version, last_heartbeat_ms, created_at, updated_at, storage_pools,"  \
	" underlay_ip"
#define ENROLL_PREFIX "nubo_enroll_"

static void host_from_row(struct store_stmt *s, void *out)
{
	struct host *h = out;
	str_copy(h->id, sizeof(h->id), store_col_text(s, 0));
	str_copy(h->name, sizeof(h->name), store_col_text(s, 1));
	str_copy(h->zone_id, sizeof(h->zone_id), store_col_text(s, 2));
	h->enabled = store_col_int(s, 3) != 0;
	h->cpus = store_col_int(s, 4);
	h->ram_mb = store_col_int(s, 5);
	h->disk_gb = store_col_int(s, 6);
	str_copy(h->cpu_model, sizeof(h->cpu_model), store_col_text(s, 7));
	str_copy(h->virt_type, sizeof(h->virt_type), store_col_text(s, 8));
	str_copy(h->agent_version, sizeof(h->agent_version), store_col_text(s, 9));
	h->last_heartbeat_ms = store_col_int(s, 10);
	str_copy(h->created_at, sizeof(h->created_at), store_col_text(s, 11));
	str_copy(h->updated_at, sizeof(h->updated_at), store_col_text(s, 12));
	str_copy(h->storage_pools, sizeof(h->storage_pools), store_col_text(s, 13));
	str_copy(h->underlay_ip, sizeof(h->underlay_ip), store_col_text(s, 14));
}

/* A fresh secret with prefix, and its hash. */
static void new_secret(const char *prefix, char out[64], char hash[SHA256_HEX_SIZE])
{
	unsigned char raw[32];
	crypto_random(raw, sizeof(raw));
	char *b = base64url_encode(raw, sizeof(raw));
	str_printf(out, 64, "%s%s", prefix, b);
	free(b);
	explicit_bzero(raw, sizeof(raw));
	sha256_hex(out, strlen(out), hash);
}

static int check_report(const struct host_report *rep, struct err *err)
{
	if (rep->cpus < 1 || rep->cpus > 65536)
		return err_set(err, ERR_INVALID, "cpus", "cpus must be 1 to 65536");
	if (rep->ram_mb < 64 || rep->ram_mb > (1LL << 40))
		return err_set(err, ERR_INVALID, "ram_mb", "ram_mb is out of range");
	if (rep->disk_gb < 0 || rep->disk_gb > (1LL << 40))
		return err_set(err, ERR_INVALID, "disk_gb", "disk_gb is out of range");
	if (rep->virt_type && strcmp(rep->virt_type, "kvm") != 0 &&
	    strcmp(rep->virt_type, "qemu") != 0)
		return err_set(err, ERR_INVALID, "virt_type", "virt_type must be kvm or qemu");
	if (rep->storage_pools && strlen(rep->storage_pools) >= sizeof(((struct host *)0)->storage_pools))
		return err_set(err, ERR_INVALID, "storage_pools", "storage_pools is too long");
	return 0;
}

int host_enroll_token_create(struct store_conn *c, const char *zone, int64_t ttl_ms,
			     struct enroll_token *ret, struct err *err)
{
	struct enroll_token t = { 0 };
	if (zone) {
		struct zone z;
		int r = zone_get(c, zone, &z, err);
		if (r == -ERR_NOT_FOUND)
			return err_set(err, ERR_INVALID, "zone", "no zone '%.80s'", zone);
		if (r < 0)
			return r;
		str_copy(t.zone_id, sizeof(t.zone_id), z.id);
	}
	char hash[SHA256_HEX_SIZE], now[TIME_RFC3339_SIZE];
	new_secret(ENROLL_PREFIX, t.secret, hash);
	uuid_generate(t.id);
	int64_t expires = time_now_ms() + ttl_ms;
	time_rfc3339_from_ms(expires, t.expires_at, sizeof(t.expires_at));
	time_rfc3339_now(now, sizeof(now));
	int r = store_run(c,
			  "INSERT INTO enroll_tokens (id, token_hash, zone_id, created_at, expires_ms)"
			  " VALUES (?, ?, ?, ?, ?)",
			  "ssssi", t.id, hash, t.zone_id[0] ? t.zone_id : NULL, now, expires);
	if (r < 0)
		return store_fail(c, r, err);
	*ret = t;
	explicit_bzero(&t, sizeof(t));
	return 0;
}

static int check_host_name(const char *name, struct err *err)
{
	return name_check("name", name, COMPUTE_HOST_NAME_MAX, true, "-._", err);
}

int host_enroll(struct store_conn *c, const char *token, const struct host_report *rep,
		struct host *ret, char ret_credential[64], struct err *err)
{
	int r = check_host_name(rep->name, err);
	if (r == 0)
		r = check_report(rep, err);
	if (r < 0)
		return r;
	char hash[SHA256_HEX_SIZE];
	sha256_hex(token, strlen(token), hash);
	if ((r = store_txn_begin(c)) < 0)
		return store_fail(c, r, err);
	struct store_stmt *st = NULL;
	char token_id[UUID_SIZE] = "", zone_id[UUID_SIZE] = "";
	r = store_query(c, &st,
			"SELECT id, COALESCE(zone_id, '') FROM enroll_tokens WHERE token_hash = ?"
			" AND host_id IS NULL AND expires_ms > ?",
			"si", hash, time_now_ms());
	if (r == 0 && (r = store_step(st)) == 1) {
		str_copy(token_id, sizeof(token_id), store_col_text(st, 0));
		str_copy(zone_id, sizeof(zone_id), store_col_text(st, 1));
	}
	store_stmt_free(st);
	if (r < 0) {
		r = store_fail(c, r, err);
		goto out;
	}
	if (!token_id[0]) {
		r = err_set(err, ERR_UNAUTHORIZED, "token",
			    "the enrollment token is unknown, used or expired");
		goto out;
	}
	struct host h = { .enabled = true, .cpus = rep->cpus, .ram_mb = rep->ram_mb,
			  .disk_gb = rep->disk_gb, .last_heartbeat_ms = time_now_ms() };
	uuid_generate(h.id);
	str_copy(h.name, sizeof(h.name), rep->name);
	str_copy(h.zone_id, sizeof(h.zone_id), zone_id);
	str_copy(h.cpu_model, sizeof(h.cpu_model), rep->cpu_model ? rep->cpu_model : "");
	str_copy(h.virt_type, sizeof(h.virt_type), rep->virt_type ? rep->virt_type : "");
	str_copy(h.agent_version, sizeof(h.agent_version),
		 rep->agent_version ? rep->agent_version : "");
	str_copy(h.underlay_ip, sizeof(h.underlay_ip), rep->underlay_ip ? rep->underlay_ip : "");
	time_rfc3339_now(h.created_at, sizeof(h.created_at));
	memcpy(h.updated_at, h.created_at, sizeof(h.created_at));
	char cred[64], cred_hash[SHA256_HEX_SIZE];
	new_secret(HOST_CREDENTIAL_PREFIX, cred, cred_hash);
	r = store_run(c,
		      "INSERT INTO hosts (id, name, zone_id, credential_hash, enabled, cpus, ram_mb,"
		      " disk_gb, cpu_model, virt_type, agent_version, last_heartbeat_ms, created_at,"
		      " updated_at, underlay_ip) VALUES (?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		      "ssssiiisssisss", h.id, h.name, zone_id[0] ? zone_id : NULL, cred_hash, h.cpus,
		      h.ram_mb, h.disk_gb, h.cpu_model, h.virt_type, h.agent_version,
		      h.last_heartbeat_ms, h.created_at, h.updated_at, h.underlay_ip);
	if (r == -EEXIST) {
		r = err_set(err, ERR_CONFLICT, "name", "a host named '%s' already exists", h.name);
		goto out;
	}
	if (r >= 0)
		r = store_run(c, "UPDATE enroll_tokens SET host_id = ? WHERE id = ? AND host_id IS NULL",
			      "ss", h.id, token_id);
	if (r < 0) {
		r = store_fail(c, r, err);
		goto out;
	}
	if ((r = store_txn_commit(c)) < 0)
		return store_fail(c, r, err);
	*ret = h;
	memcpy(ret_credential, cred, 64);
	explicit_bzero(cred, sizeof(cred));
	return 0;
out:
	store_txn_rollback(c);
	return r;
}

int host_auth(struct store_conn *c, const char *credential, struct host *ret, struct err *err)
{
	char hash[SHA256_HEX_SIZE];
	sha256_hex(credential, strlen(credential), hash);
	struct store_stmt *st = NULL;
	int r = store_query(c, &st, "SELECT " HOST_COLS " FROM hosts WHERE credential_hash = ?",
			    "s", hash);
	if (r < 0)
		return store_fail(c, r, err);
	r = store_fetch_one(st, host_from_row, ret);
	if (r == 0)
		return err_set(err, ERR_UNAUTHORIZED, "", "the host credential is not valid");
	return r < 0 ? store_fail(c, r, err) : 0;
}

int host_get(struct store_conn *c, const char *id_or_name, struct host *ret, struct err *err)
{
	return store_get_ref(c, "SELECT " HOST_COLS " FROM hosts", id_or_name, host_from_row, ret,
			     "host", err);
}

int host_heartbeat(struct store_conn *c, const char *host_id, const struct host_report *rep,
		   struct host *ret, struct err *err)
{
	int r = check_report(rep, err);
	if (r < 0)
		return r;
	char now[TIME_RFC3339_SIZE];
	time_rfc3339_now(now, sizeof(now));
	r = store_run(c,
		      "UPDATE hosts SET cpus = ?, ram_mb = ?, disk_gb = ?, cpu_model = ?,"
		      " virt_type = ?, agent_version = ?, last_heartbeat_ms = ?, updated_at = ?,"
		      " storage_pools = ?, underlay_ip = ? WHERE id = ?",
		      "iiisssissss", rep->cpus, rep->ram_mb, rep->disk_gb,
		      rep->cpu_model ? rep->cpu_model : "", rep->virt_type ? rep->virt_type : "",
		      rep->agent_version ? rep->agent_version : "", time_now_ms(), now,
		      rep->storage_pools ? rep->storage_pools : "",
		      rep->underlay_ip ? rep->underlay_ip : "", host_id);
	if (r < 0)
		return store_fail(c, r, err);
	if (r == 0)
		return err_set(err, ERR_NOT_FOUND, "", "no host '%.80s'", host_id);
	return host_get(c, host_id, ret, err);
}

int host_list(struct store_conn *c, const char *after, size_t limit, struct host **ret,
	      size_t *ret_n, bool *ret_more, struct err *err)
{
	assert(limit > 0);
	struct store_stmt *st = NULL;
	int r = store_query(c, &st,
			    "SELECT " HOST_COLS " FROM hosts WHERE (? IS NULL OR name > ?)"
			    " ORDER BY name LIMIT ?",
			    "ssi", after, after, (int64_t)limit + 1);
	if (r < 0)
		return store_fail(c, r, err);
	void *items;
	r = store_fetch(st, sizeof(struct host), limit, host_from_row, &items, ret_n, ret_more);
	if (r < 0)
		return store_fail(c, r, err);
	*ret = items;
	return 0;
}

int host_set_enabled(struct store_conn *c, const char *id_or_name, bool enabled,
		     struct host *ret, struct err *err)
{
	struct host h;
	int r = host_get(c, id_or_name, &h, err);
	if (r < 0)
		return r;
	char now[TIME_RFC3339_SIZE];
	time_rfc3339_now(now, sizeof(now));
	r = store_run(c, "UPDATE hosts SET enabled = ?, updated_at = ? WHERE id = ?", "bss",
		      enabled, now, h.id);
	if (r < 0)
		return store_fail(c, r, err);
	return host_get(c, h.id, ret, err);
}

/* The number of instances placed on host_id, or a negative store error. */
static int64_t instances_on(struct store_conn *c, const char *host_id)
{
	struct store_stmt *st = NULL;
	int r = store_query(c, &st, "SELECT COUNT(*) FROM instances WHERE host_id = ?", "s",
			    host_id);
	if (r < 0)
		return r;
	r = store_step(st);
	int64_t n = r == 1 ? store_col_int(st, 0) : (r < 0 ? r : -EIO);
	store_stmt_free(st);
	return n;
}

/* ERR_CONFLICT: host h still has n instances. */
static int still_used(struct err *err, const struct host *h, int64_t n)
{
	return err_set(err, ERR_CONFLICT, "", "host '%s' still has %lld instance%s; delete %s first",
		       h->name, (long long)n, n == 1 ? "" : "s", n == 1 ? "it" : "them");
}

int host_delete(struct store_conn *c, const char *id_or_name, struct err *err)
{
	struct host h;
	int r = host_get(c, id_or_name, &h, err);
	if (r < 0)
		return r;
	int64_t n = instances_on(c, h.id);
	if (n < 0)
		return store_fail(c, (int)n, err);
	if (n > 0)
		return still_used(err, &h, n);
	r = store_run(c, "DELETE FROM hosts WHERE id = ?", "s", h.id);
	if (r == -EINVAL) /* an instance placed meanwhile: the foreign key holds */
		return still_used(err, &h, 1);
	return r < 0 ? store_fail(c, r, err) : 0;
}

bool host_has_pool(const struct host *h, const char *pool)
{
	size_t n = strlen(pool);
	for (const char *p = h->storage_pools; n && *p;) {
		const char *end = strchrnul(p, ',');
		if ((size_t)(end - p) == n && memcmp(p, pool, n) == 0)
			return true;
		p = *end ? end + 1 : end;
	}
	return false;
}

static int cmp_id(const void *a, const void *b)
{
	return strcmp(a, b);
}

int host_list_with_pools(struct store_conn *c, const char *const *pools, size_t n,
			 char (**ret)[UUID_SIZE], size_t *ret_n, struct err *err)
{
	struct store_stmt *st = NULL;
	int r = store_query(c, &st,
			    "SELECT " HOST_COLS " FROM hosts WHERE storage_pools != ''", "");
	if (r < 0)
		return store_fail(c, r, err);
	char(*ids)[UUID_SIZE] = NULL;
	size_t got = 0, cap = 0;
	struct host h;
	while ((r = store_step(st)) == 1) {
		host_from_row(st, &h);
		size_t k = 0;
		while (k < n && host_has_pool(&h, pools[k]))
			k++;
		if (k < n)
			continue;
		if (got == cap) {
			cap = cap ? 2 * cap : 16;
			ids = xrealloc(ids, cap * sizeof(*ids));
		}
		memcpy(ids[got++], h.id, UUID_SIZE);
	}
	store_stmt_free(st);
	if (r < 0) {
		free(ids);
		return store_fail(c, r, err);
	}
	if (got)
		qsort(ids, got, sizeof(*ids), cmp_id);
	*ret = ids;
	*ret_n = got;
	return 0;
}

const char *host_state(const struct host *h, int64_t now_ms, int64_t down_after_ms)
{
	return now_ms - h->last_heartbeat_ms <= down_after_ms ? "up" : "down";
}
