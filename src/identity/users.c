/* users: local accounts. Passwords are hashed with Argon2id and never
 * stored or returned otherwise; changing a password or disabling a user
 * revokes every token the user holds. */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "identity-priv.h"
#include "lib/util.h"

#define USER_COLS "id, name, email, system_admin, disabled, created_at, updated_at"

int identity_name_check(const char *field, const char *value, size_t max, struct err *err)
{
	return name_check(field, value, max, true, "._-@", err);
}

static int check_password(const char *pw, struct err *err)
{
	size_t n = str_utf8_len(pw);
	if (n < PASSWORD_MIN)
		return err_set(err, ERR_INVALID, "password",
			       "password must be at least %d characters long", PASSWORD_MIN);
	if (strlen(pw) > PASSWORD_MAX)
		return err_set(err, ERR_INVALID, "password", "password is longer than %d bytes",
			       PASSWORD_MAX);
	return 0;
}

static int check_email(const char *email, struct err *err)
{
	size_t n = strlen(email);
	if (n == 0)
		return 0;
	const char *at = strchr(email, '@');
	if (n > USER_EMAIL_MAX || !at || at == email || !at[1] || strchr(at + 1, '@') ||
	    strpbrk(email, " \t<>\",;"))
		return err_set(err, ERR_INVALID, "email", "email is not an e-mail address");
	return 0;
}

static void user_from_row(struct store_stmt *s, void *out)
{
	struct user *u = out;
	memset(u, 0, sizeof(*u));
	str_copy(u->id, sizeof(u->id), store_col_text(s, 0));
	str_copy(u->name, sizeof(u->name), store_col_text(s, 1));
	str_copy(u->email, sizeof(u->email), store_col_text(s, 2));
	u->system_admin = store_col_int(s, 3) != 0;
	u->disabled = store_col_int(s, 4) != 0;
	str_copy(u->created_at, sizeof(u->created_at), store_col_text(s, 5));
	str_copy(u->updated_at, sizeof(u->updated_at), store_col_text(s, 6));
}

int user_get(struct store_conn *c, const char *id_or_name, struct user *ret, struct err *err)
{
	return store_get_ref(c, "SELECT " USER_COLS " FROM users", id_or_name, user_from_row, ret, "user",
			     err);
}

int user_create(struct store_conn *c, const struct identity_settings *s,
		const struct user_spec *spec, struct user *ret, struct err *err)
{
	if (!spec->name)
		return err_set(err, ERR_INVALID, "name", "field 'name' is required");
	if (!spec->password)
		return err_set(err, ERR_INVALID, "password", "field 'password' is required");
	int r = identity_name_check("name", spec->name, USER_NAME_MAX, err);
	if (r == 0)
		r = check_password(spec->password, err);
	if (r == 0 && spec->email)
		r = check_email(spec->email, err);
	if (r < 0)
		return r;
	struct user u = { 0 };
	uuid_generate(u.id);
	str_copy(u.name, sizeof(u.name), spec->name);
	str_copy(u.email, sizeof(u.email), spec->email ? spec->email : "");
	u.system_admin = spec->has_system_admin && spec->system_admin;
	u.disabled = spec->has_disabled && spec->disabled;
	time_rfc3339_now(u.created_at, sizeof(u.created_at));
	memcpy(u.updated_at, u.created_at, sizeof(u.created_at));
	char *hash = password_hash(spec->password, &s->cost);
	r = store_run(c,
		      "INSERT INTO users (id, name, email, password_hash, system_admin, disabled,"
		      " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
		      "ssssbbss", u.id, u.name, u.email, hash, u.system_admin, u.disabled,
		      u.created_at, u.updated_at);
	free(hash);
	if (r == -EEXIST)
		return err_set(err, ERR_CONFLICT, "name", "a user named '%s' already exists", u.name);
	if (r < 0)
		return store_fail(c, r, err);
	*ret = u;
	return 0;
}

int user_list(struct store_conn *c, const char *after, size_t limit, struct user **ret,
	      size_t *ret_n, bool *ret_more, struct err *err)
{
	assert(limit > 0);
	struct store_stmt *s = NULL;
	int r = store_query(c, &s,
			    "SELECT " USER_COLS " FROM users WHERE (? IS NULL OR name > ?)"
			    " ORDER BY name LIMIT ?",
			    "ssi", after, after, (int64_t)limit + 1);
	if (r < 0)
		return store_fail(c, r, err);
	void *items;
	r = store_fetch(s, sizeof(struct user), limit, user_from_row, &items, ret_n, ret_more);
	if (r < 0)
		return store_fail(c, r, err);
	*ret = items;
	return 0;
}

int identity_revoke_user_tokens(struct store_conn *c, const char *user_id, struct err *err)
{
	int r = store_run(c, "UPDATE tokens SET revoked = 1 WHERE user_id = ?", "s", user_id);
	return r < 0 ? store_fail(c, r, err) : 0;
}

int user_update(struct store_conn *c, const struct identity_settings *s, const char *id_or_name,
		const struct user_spec *spec, struct user *ret, struct err *err)
{
	int r = 0;
	if (spec->name)
		r = identity_name_check("name", spec->name, USER_NAME_MAX, err);
	if (r == 0 && spec->password)
		r = check_password(spec->password, err);
	if (r == 0 && spec->email)
		r = check_email(spec->email, err);
	if (r < 0)
		return r;
	struct user u;
	char *hash = NULL;
	if ((r = store_txn_begin(c)) < 0)
		return store_fail(c, r, err);
	if ((r = user_get(c, id_or_name, &u, err)) < 0)
		goto out;
	if (spec->name)
		str_copy(u.name, sizeof(u.name), spec->name);
	if (spec->email)
		str_copy(u.email, sizeof(u.email), spec->email);
	if (spec->has_system_admin)
		u.system_admin = spec->system_admin;
	if (spec->has_disabled)
		u.disabled = spec->disabled;
	time_rfc3339_now(u.updated_at, sizeof(u.updated_at));
	r = store_run(c,
		      "UPDATE users SET name = ?, email = ?, system_admin = ?, disabled = ?,"
		      " updated_at = ? WHERE id = ?",
		      "ssbbss", u.name, u.email, u.system_admin, u.disabled, u.updated_at, u.id);
	if (r == -EEXIST) {
		r = err_set(err, ERR_CONFLICT, "name", "a user named '%s' already exists", u.name);
		goto out;
	}
	if (r >= 0 && spec->password) {
		hash = password_hash(spec->password, &s->cost);
		r = store_run(c, "UPDATE users SET password_hash = ? WHERE id = ?", "ss", hash, u.id);
	}
	if (r < 0) {
		r = store_fail(c, r, err);
		goto out;
	}
	if ((spec->password || u.disabled) &&
	    (r = identity_revoke_user_tokens(c, u.id, err)) < 0)
		goto out;
	free(hash);
	if ((r = store_txn_commit(c)) < 0)
		return store_fail(c, r, err);
	*ret = u;
	return 0;
out:
	free(hash);
	store_txn_rollback(c);
	return r;
}

int user_verify_password(struct store_conn *c, const char *user_id, const char *password,
			 struct err *err)
{
	struct store_stmt *st = NULL;
	int r = store_query(c, &st, "SELECT password_hash FROM users WHERE id = ?", "s", user_id);
	if (r < 0)
		return store_fail(c, r, err);
	r = store_step(st);
	bool ok = r == 1 && password_verify(store_col_text(st, 0), password);
	store_stmt_free(st);
	if (r < 0)
		return store_fail(c, r, err);
	if (!ok)
		return err_set(err, ERR_INVALID, "current_password", "current_password is wrong");
	return 0;
}

struct key_count {
	char project_id[UUID_SIZE];
	int64_t n;
};

static void key_count_from_row(struct store_stmt *st, void *out)
{
	struct key_count *k = out;
	str_copy(k->project_id, sizeof(k->project_id), store_col_text(st, 0));
	k->n = store_col_int(st, 1);
}

/* Give back the access_keys quota the user's keys hold in each project
 * (the keys themselves go with the user by cascade). */
static int release_key_quota(struct store_conn *c, const char *user_id, struct err *err)
{
	struct store_stmt *st = NULL;
	int r = store_query(c, &st,
			    "SELECT project_id, COUNT(*) FROM access_keys WHERE user_id = ?"
			    " AND project_id IS NOT NULL GROUP BY project_id",
			    "s", user_id);
	if (r < 0)
		return store_fail(c, r, err);
	void *items;
	size_t n;
	if ((r = store_fetch(st, sizeof(struct key_count), 0, key_count_from_row, &items, &n,
			     NULL)) < 0)
		return store_fail(c, r, err);
	struct key_count *k = items;
	for (size_t i = 0; i < n && r == 0; i++)
		r = quota_release(c, k[i].project_id, QUOTA_ACCESS_KEYS, k[i].n, err);
	free(items);
	return r;
}

int user_delete(struct store_conn *c, const char *id_or_name, struct err *err)
{
	struct user u;
	int r = user_get(c, id_or_name, &u, err);
	if (r < 0)
		return r;
	if ((r = store_txn_begin(c)) < 0)
		return store_fail(c, r, err);
	if ((r = release_key_quota(c, u.id, err)) < 0)
		goto out;
	if ((r = store_run(c, "DELETE FROM users WHERE id = ?", "s", u.id)) < 0) {
		r = store_fail(c, r, err);
		goto out;
	}
	if ((r = store_txn_commit(c)) < 0)
		return store_fail(c, r, err);
	return 0;
out:
	store_txn_rollback(c);
	return r;
}

static char *random_password(void)
{
	unsigned char raw[18];
	crypto_random(raw, sizeof(raw));
	return base64url_encode(raw, sizeof(raw)); /* 24 characters */
}

int identity_bootstrap(struct store_conn *c, const struct identity_settings *s,
		       char **ret_password, struct err *err)
{
	struct store_stmt *st = NULL;
	int r = store_query(c, &st, "SELECT COUNT(*) FROM users", "");
	if (r < 0)
		return store_fail(c, r, err);
	r = store_step(st);
	int64_t n = r == 1 ? store_col_int(st, 0) : -1;
	store_stmt_free(st);
	if (n < 0)
		return store_fail(c, r < 0 ? r : -EIO, err);
	if (n > 0)
		return 0;
	char *pw = random_password();
	struct user_spec spec = { .name = "admin", .password = pw, .has_system_admin = true,
				  .system_admin = true };
	struct user u;
	r = user_create(c, s, &spec, &u, err);
	if (r < 0) {
		free(pw);
		return r;
	}
	*ret_password = pw;
	return 1;
}

int identity_reset_admin(struct store_conn *c, const struct identity_settings *s,
			 char **ret_password, struct err *err)
{
	char *pw = random_password();
	struct user_spec spec = { .password = pw, .has_disabled = true, .disabled = false,
				  .has_system_admin = true, .system_admin = true };
	struct user u;
	int r = user_update(c, s, "admin", &spec, &u, err);
	if (r == -ERR_NOT_FOUND) {
		spec.name = "admin";
		r = user_create(c, s, &spec, &u, err);
	}
	if (r < 0) {
		free(pw);
		return r;
	}
	/* user_update revoked the tokens only when the password changed: it did */
	*ret_password = pw;
	return 0;
}
