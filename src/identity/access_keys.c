/* access_keys: AWS-style key pairs for SigV4. The id is "NUBO" and 16
 * characters of base32; the secret is 40 characters of base64url, shown
 * once at creation and stored sealed (AES-256-GCM) with the server key,
 * because verifying a signature needs the secret itself. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "identity-priv.h"
#include "lib/util.h"

static void new_key_id(char out[ACCESS_KEY_ID_SIZE])
{
	static const char b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
	unsigned char raw[16];
	crypto_random(raw, sizeof(raw));
	memcpy(out, "NUBO", 4);
	for (int i = 0; i < 16; i++)
		out[4 + i] = b32[raw[i] & 31];
	out[20] = '\0';
}

int access_key_create(struct store_conn *c, const struct identity_settings *s,
		      const struct principal *p, const char *project, struct access_key *ret,
		      struct err *err)
{
	struct access_key k = { 0 };
	int r;
	if ((r = identity_scope_project(c, p, project, k.project_id, err)) < 0)
		return r;
	new_key_id(k.id);
	str_copy(k.user_id, sizeof(k.user_id), p->user_id);
	str_copy(k.user_name, sizeof(k.user_name), p->user_name);
	unsigned char raw[30];
	crypto_random(raw, sizeof(raw));
	char *secret = base64url_encode(raw, sizeof(raw));
	explicit_bzero(raw, sizeof(raw));
	str_copy(k.secret, sizeof(k.secret), secret);
	char *sealed = crypto_seal(s->server_key, secret, strlen(secret));
	explicit_bzero(secret, strlen(secret));
	free(secret);
	time_rfc3339_now(k.created_at, sizeof(k.created_at));
	if ((r = store_txn_begin(c)) < 0) {
		free(sealed);
		return store_fail(c, r, err);
	}
	if (k.project_id[0] && (r = quota_charge(c, k.project_id, QUOTA_ACCESS_KEYS, 1, err)) < 0)
		goto out;
	r = store_run(c,
		      "INSERT INTO access_keys (id, user_id, project_id, secret_sealed, created_at)"
		      " VALUES (?, ?, ?, ?, ?)",
		      "sssss", k.id, k.user_id, k.project_id[0] ? k.project_id : NULL, sealed,
		      k.created_at);
	if (r < 0) {
		r = store_fail(c, r, err);
		goto out;
	}
	free(sealed);
	if ((r = store_txn_commit(c)) < 0)
		return store_fail(c, r, err);
	*ret = k;
	explicit_bzero(&k, sizeof(k));
	return 0;
out:
	free(sealed);
	explicit_bzero(&k, sizeof(k));
	store_txn_rollback(c);
	return r;
}

static void key_from_row(struct store_stmt *st, void *out)
{
	struct access_key *k = out;
	str_copy(k->id, sizeof(k->id), store_col_text(st, 0));
	str_copy(k->user_id, sizeof(k->user_id), store_col_text(st, 1));
	str_copy(k->user_name, sizeof(k->user_name), store_col_text(st, 2));
	str_copy(k->project_id, sizeof(k->project_id), store_col_text(st, 3));
	str_copy(k->created_at, sizeof(k->created_at), store_col_text(st, 4));
}

int access_key_list(struct store_conn *c, const char *user_id, struct access_key **ret,
		    size_t *ret_n, struct err *err)
{
	struct store_stmt *st = NULL;
	int r = store_query(c, &st,
			    "SELECT k.id, k.user_id, u.name, COALESCE(k.project_id, ''), k.created_at"
			    " FROM access_keys k JOIN users u ON u.id = k.user_id"
			    " WHERE ? IS NULL OR k.user_id = ? ORDER BY k.created_at, k.id",
			    "ss", user_id, user_id);
	if (r < 0)
		return store_fail(c, r, err);
	void *items;
	r = store_fetch(st, sizeof(struct access_key), 0, key_from_row, &items, ret_n, NULL);
	if (r < 0)
		return store_fail(c, r, err);
	*ret = items;
	return 0;
}

int access_key_delete(struct store_conn *c, const char *user_id, const char *id,
		      struct err *err)
{
	struct store_stmt *st = NULL;
	int r = store_query(c, &st,
			    "SELECT COALESCE(project_id, '') FROM access_keys WHERE id = ?"
			    " AND (? IS NULL OR user_id = ?)",
			    "sss", id, user_id, user_id);
	if (r < 0)
		return store_fail(c, r, err);
	char project[UUID_SIZE] = "";
	r = store_step(st);
	if (r == 1)
		str_copy(project, sizeof(project), store_col_text(st, 0));
	store_stmt_free(st);
	if (r < 0)
		return store_fail(c, r, err);
	if (r == 0)
		return err_set(err, ERR_NOT_FOUND, "", "no access key '%.80s'", id);
	if ((r = store_txn_begin(c)) < 0)
		return store_fail(c, r, err);
	r = store_run(c, "DELETE FROM access_keys WHERE id = ?", "s", id);
	if (r < 0) {
		r = store_fail(c, r, err);
		goto out;
	}
	if (project[0] && (r = quota_release(c, project, QUOTA_ACCESS_KEYS, 1, err)) < 0)
		goto out;
	if ((r = store_txn_commit(c)) < 0)
		return store_fail(c, r, err);
	return 0;
out:
	store_txn_rollback(c);
	return r;
}
