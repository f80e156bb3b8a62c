/* keypairs: see compute.h. The key is checked by lib/sshkey and stored in
 * its canonical one-line form with its fingerprint; a generated private
 * key is handed back once and never stored. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "compute.h"
#include "lib/util.h"

#define KEYPAIR_COLS "id, user_id, name, type, fingerprint, public_key, created_at"

static void keypair_from_row(struct store_stmt *s, void *out)
{
	struct keypair *k = out;
	memset(k, 0, sizeof(*k));
	str_copy(k->id, sizeof(k->id), store_col_text(s, 0));
	str_copy(k->user_id, sizeof(k->user_id), store_col_text(s, 1));
	str_copy(k->name, sizeof(k->name), store_col_text(s, 2));
	str_copy(k->type, sizeof(k->type), store_col_text(s, 3));
	str_copy(k->fingerprint, sizeof(k->fingerprint), store_col_text(s, 4));
	k->public_key = xstrdup(store_col_text(s, 5));
	str_copy(k->created_at, sizeof(k->created_at), store_col_text(s, 6));
}

static int check_name(const char *name, struct err *err)
{
	return name_check("name", name, KEYPAIR_NAME_MAX, true, "-._@", err);
}

int keypair_create(struct store_conn *c, const char *user_id, const char *name,
		   const char *public_key, struct keypair *ret, char **ret_private,
		   struct err *err)
{
	int r = check_name(name, err);
	if (r < 0)
		return r;
	struct keypair k = { 0 };
	char *priv = NULL, *generated = NULL;
	if (!public_key) {
		if (sshkey_generate_ed25519(name, &generated, &priv) < 0)
			return err_set(err, ERR_INTERNAL, "", "could not generate a key");
		public_key = generated;
	}
	struct sshkey_info info;
	r = sshkey_parse(public_key, strlen(public_key), &info, &k.public_key, err);
	free(generated);
	if (r < 0)
		goto fail;
	uuid_generate(k.id);
	str_copy(k.user_id, sizeof(k.user_id), user_id);
	str_copy(k.name, sizeof(k.name), name);
	str_copy(k.type, sizeof(k.type), info.type);
	str_copy(k.fingerprint, sizeof(k.fingerprint), info.fingerprint);
	time_rfc3339_now(k.created_at, sizeof(k.created_at));
	/* the count and the insert in one statement: no race past the limit */
	r = store_run(c,
		      "INSERT INTO keypairs (" KEYPAIR_COLS ") SELECT ?, ?, ?, ?, ?, ?, ?"
		      " WHERE (SELECT COUNT(*) FROM keypairs WHERE user_id = ?) < ?",
		      "ssssssssi", k.id, k.user_id, k.name, k.type, k.fingerprint, k.public_key,
		      k.created_at, k.user_id, (int64_t)KEYPAIRS_PER_USER_MAX);
	if (r == -EEXIST) {
		r = err_set(err, ERR_CONFLICT, "name", "you already have a keypair named '%s'", name);
		goto fail;
	}
	if (r < 0) {
		r = store_fail(c, r, err);
		goto fail;
	}
	if (r == 0) {
		r = err_set(err, ERR_QUOTA, "", "a user may keep at most %d keypairs",
			    KEYPAIRS_PER_USER_MAX);
		goto fail;
	}
	*ret = k;
	if (ret_private)
		*ret_private = priv;
	else if (priv) {
		explicit_bzero(priv, strlen(priv));
		free(priv);
	}
	return 0;
fail:
	free(k.public_key);
	if (priv) {
		explicit_bzero(priv, strlen(priv));
		free(priv);
	}
	return r;
}

int keypair_get(struct store_conn *c, const char *user_id, const char *id_or_name,
		struct keypair *ret, struct err *err)
{
	struct store_stmt *s = NULL;
	int r = store_query(c, &s,
			    uuid_valid(id_or_name)
				    ? "SELECT " KEYPAIR_COLS " FROM keypairs WHERE id = lower(?)"
				      " AND user_id = ?"
				    : "SELECT " KEYPAIR_COLS " FROM keypairs WHERE name = ?"
				      " AND user_id = ?",
			    "ss", id_or_name, user_id);
	if (r < 0)
		return store_fail(c, r, err);
	r = store_fetch_one(s, keypair_from_row, ret);
	if (r == 0)
		return err_set(err, ERR_NOT_FOUND, "", "you have no keypair '%.80s'", id_or_name);
	return r < 0 ? store_fail(c, r, err) : 0;
}

int keypair_list(struct store_conn *c, const char *user_id, struct keypair **ret,
		 size_t *ret_n, struct err *err)
{
	struct store_stmt *s = NULL;
	int r = store_query(c, &s,
			    "SELECT " KEYPAIR_COLS " FROM keypairs WHERE user_id = ? ORDER BY name",
			    "s", user_id);
	if (r < 0)
		return store_fail(c, r, err);
	void *items;
	r = store_fetch(s, sizeof(struct keypair), 0, keypair_from_row, &items, ret_n, NULL);
	if (r < 0)
		return store_fail(c, r, err);
	*ret = items;
	return 0;
}

int keypair_delete(struct store_conn *c, const char *user_id, const char *id_or_name,
		   struct err *err)
{
	int r = store_run(c,
			  uuid_valid(id_or_name)
				  ? "DELETE FROM keypairs WHERE id = lower(?) AND user_id = ?"
				  : "DELETE FROM keypairs WHERE name = ? AND user_id = ?",
			  "ss", id_or_name, user_id);
	if (r < 0)
		return store_fail(c, r, err);
	return r == 0 ? err_set(err, ERR_NOT_FOUND, "", "you have no keypair '%.80s'", id_or_name)
		      : 0;
}

void keypair_release(struct keypair *k)
{
	if (!k)
		return;
	free(k->public_key);
	k->public_key = NULL;
}

void keypair_list_free(struct keypair *items, size_t n)
{
	for (size_t k = 0; k < n; k++)
		keypair_release(&items[k]);
	free(items);
}
