/* auth: logins, bearer tokens and SigV4 verification.
 *
 * A token is "nubo_" + base64url(32 random bytes); only its SHA-256 is
 * stored, so a copy of the store does not hand out sessions. Looking a
 * token up by its hash is a unique-index lookup, not a comparison of
 * secrets, so it leaks nothing through timing. A failed login takes the
 * same Argon2id time whether or not the user exists (a dummy hash is
 * verified), and says the same thing in both cases. */
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "identity-priv.h"
#include "lib/util.h"

#define TOKEN_PREFIX "nubo_"
/* Largest allowed difference between a signed request's clock and ours. */
#define SIGV4_SKEW_MS (15LL * 60 * 1000)

void identity_token_new(char secret[64], char hash[SHA256_HEX_SIZE])
{
	unsigned char raw[32];
	crypto_random(raw, sizeof(raw));
	char *b = base64url_encode(raw, sizeof(raw));
	str_printf(secret, 64, TOKEN_PREFIX "%s", b);
	free(b);
	explicit_bzero(raw, sizeof(raw));
	sha256_hex(secret, strlen(secret), hash);
}

int identity_token_insert(struct store_conn *c, const char *id, const char *hash,
			  const char *user_id, const char *project_id, const char *kind,
			  const char *name, int64_t expires_ms, struct err *err)
{
	char now[TIME_RFC3339_SIZE];
	time_rfc3339_now(now, sizeof(now));
	int r = store_run(c,
			  "INSERT INTO tokens (id, token_hash, user_id, project_id, kind, name,"
			  " created_at, expires_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
			  "sssssssi", id, hash, user_id, project_id[0] ? project_id : NULL, kind, name,
			  now, expires_ms);
	return r < 0 ? store_fail(c, r, err) : 0;
}

/* A hash to verify against when the user does not exist, so that a failed
 * login costs the same either way. Made once, at the first failed login. */
static pthread_mutex_t dummy_lock = PTHREAD_MUTEX_INITIALIZER;
static char *dummy; /* protected by dummy_lock until set, then read-only */

static void burn_password_time(const struct identity_settings *s, const char *password)
{
	pthread_mutex_lock(&dummy_lock);
	if (!dummy)
		dummy = password_hash("nubo: no such user", &s->cost);
	pthread_mutex_unlock(&dummy_lock);
	(void)password_verify(dummy, password);
}

static void principal_from_row(struct store_stmt *st, int first, struct principal *p)
{
	str_copy(p->user_id, sizeof(p->user_id), store_col_text(st, first));
	str_copy(p->user_name, sizeof(p->user_name), store_col_text(st, first + 1));
	p->system_admin = store_col_int(st, first + 2) != 0;
	str_copy(p->project_id, sizeof(p->project_id), store_col_text(st, first + 3));
	str_copy(p->project_name, sizeof(p->project_name), store_col_text(st, first + 4));
	p->role = ROLE_NONE;
	const char *role = store_col_text(st, first + 5);
	if (role && *role)
		role_parse(role, &p->role, NULL);
}

/* Columns principal_from_row reads, given tables u (users), p (projects)
 * and b (role_bindings) joined on the credential's project. */
#define PRINCIPAL_COLS                                                                            \
	"u.id, u.name, u.system_admin, COALESCE(p.id, ''), COALESCE(p.name, ''),"                 \
	" COALESCE(b.role, '')"

int auth_login(struct store_conn *c, const struct identity_settings *s, const char *username,
	       const char *password, const char *project, struct login_result *ret,
	       struct err *err)
{
	static const char wrong[] = "wrong user name or password";
	struct store_stmt *st = NULL;
	int r = store_query(c, &st,
			    "SELECT id, name, system_admin, disabled, password_hash FROM users"
			    " WHERE name = ?", "s", username);
	if (r < 0)
		return store_fail(c, r, err);
	r = store_step(st);
	if (r < 0) {
		store_stmt_free(st);
		return store_fail(c, r, err);
	}
	if (r == 0) {
		store_stmt_free(st);
		burn_password_time(s, password);
		return err_set(err, ERR_UNAUTHORIZED, "", wrong);
	}
	struct login_result res = { 0 };
	struct principal *p = &res.principal;
	str_copy(p->user_id, sizeof(p->user_id), store_col_text(st, 0));
	str_copy(p->user_name, sizeof(p->user_name), store_col_text(st, 1));
	p->system_admin = store_col_int(st, 2) != 0;
	bool disabled = store_col_int(st, 3) != 0;
	bool ok = password_verify(store_col_text(st, 4), password);
	store_stmt_free(st);
	if (!ok)
		return err_set(err, ERR_UNAUTHORIZED, "", wrong);
	if (disabled)
		return err_set(err, ERR_UNAUTHORIZED, "", "this account is disabled");
	if (project) {
		struct project pr;
		enum role role = ROLE_NONE;
		r = project_get(c, project, &pr, err);
		if (r == 0)
			r = member_role(c, pr.id, p->user_id, &role, err);
		if (r == -ERR_NOT_FOUND || (r == 0 && role == ROLE_NONE && !p->system_admin))
			return err_set(err, ERR_UNAUTHORIZED, "project",
				       "you are not a member of a project '%.80s'", project);
		if (r < 0)
			return r;
		str_copy(p->project_id, sizeof(p->project_id), pr.id);
		str_copy(p->project_name, sizeof(p->project_name), pr.name);
		p->role = p->system_admin ? ROLE_ADMIN : role;
	}
	char hash[SHA256_HEX_SIZE];
	identity_token_new(res.token, hash);
	uuid_generate(res.token_id);
	res.expires_ms = time_now_ms() + s->token_ttl_ms;
	r = identity_token_insert(c, res.token_id, hash, p->user_id, p->project_id, "session", "",
				  res.expires_ms, err);
	if (r < 0)
		return r;
	p->kind = CRED_TOKEN;
	str_copy(p->credential_id, sizeof(p->credential_id), res.token_id);
	p->expires_ms = res.expires_ms;
	*ret = res;
	explicit_bzero(&res, sizeof(res));
	return 0;
}

int auth_token(struct store_conn *c, const char *token, struct principal *ret, struct err *err)
{
	if (!str_starts_with(token, TOKEN_PREFIX) || strlen(token) > 64)
		return err_set(err, ERR_UNAUTHORIZED, "", "the bearer token is not valid");
	char hash[SHA256_HEX_SIZE];
	sha256_hex(token, strlen(token), hash);
	struct store_stmt *st = NULL;
	int r = store_query(c, &st,
			    "SELECT t.id, t.expires_ms, " PRINCIPAL_COLS " FROM tokens t"
			    " JOIN users u ON u.id = t.user_id"
			    " LEFT JOIN projects p ON p.id = t.project_id"
			    " LEFT JOIN role_bindings b ON b.project_id = t.project_id"
			    "  AND b.user_id = t.user_id"
			    " WHERE t.token_hash = ? AND t.revoked = 0 AND t.expires_ms > ?"
			    " AND u.disabled = 0",
			    "si", hash, time_now_ms());
	if (r < 0)
		return store_fail(c, r, err);
	r = store_step(st);
	if (r == 1) {
		struct principal p = { .kind = CRED_TOKEN };
		str_copy(p.credential_id, sizeof(p.credential_id), store_col_text(st, 0));
		p.expires_ms = store_col_int(st, 1);
		principal_from_row(st, 2, &p);
		if (p.system_admin && p.project_id[0])
			p.role = ROLE_ADMIN;
		*ret = p;
		r = 0;
	} else if (r == 0) {
		r = err_set(err, ERR_UNAUTHORIZED, "",
			    "the bearer token is not valid (unknown, expired or revoked)");
	} else {
		r = store_fail(c, r, err);
	}
	store_stmt_free(st);
	return r;
}

static int check_sigv4_time(const struct sigv4_auth *a, int64_t now_ms, struct err *err)
{
	int64_t t;
	if (sigv4_parse_amz_date(a->amz_date, &t) < 0)
		return err_set(err, ERR_UNAUTHORIZED, "X-Amz-Date",
			       "X-Amz-Date must be YYYYMMDDTHHMMSSZ");
	if (strncmp(a->amz_date, a->date, 8) != 0)
		return err_set(err, ERR_UNAUTHORIZED, "Authorization",
			       "the credential scope date does not match X-Amz-Date");
	if (t - now_ms > SIGV4_SKEW_MS)
		return err_set(err, ERR_UNAUTHORIZED, "X-Amz-Date",
			       "the request was signed more than 15 minutes in the future");
	if (a->presigned) {
		if (now_ms > t + a->expires * 1000)
			return err_set(err, ERR_UNAUTHORIZED, "X-Amz-Expires",
				       "the presigned URL has expired");
	} else if (now_ms - t > SIGV4_SKEW_MS) {
		return err_set(err, ERR_UNAUTHORIZED, "X-Amz-Date",
			       "the request time is more than 15 minutes from the server's time");
	}
	return 0;
}

int auth_sigv4(struct store_conn *c, const struct identity_settings *s,
	       const struct sigv4_request *r, const struct sigv4_auth *a, int64_t now_ms,
	       struct principal *ret, struct err *err)
{
	return auth_sigv4_keyed(c, s, r, a, now_ms, ret, NULL, err);
}

/* The principal and secret (caller wipes and frees) of access key id. */
static int key_secret(struct store_conn *c, const struct identity_settings *s, const char *id,
		      struct principal *ret, unsigned char **ret_secret, size_t *ret_len,
		      struct err *err)
{
	struct store_stmt *st = NULL;
	int rc = store_query(c, &st,
			     "SELECT k.secret_sealed, " PRINCIPAL_COLS " FROM access_keys k"
			     " JOIN users u ON u.id = k.user_id"
			     " LEFT JOIN projects p ON p.id = k.project_id"
			     " LEFT JOIN role_bindings b ON b.project_id = k.project_id"
			     "  AND b.user_id = k.user_id"
			     " WHERE k.id = ? AND u.disabled = 0",
			     "s", id);
	if (rc < 0)
		return store_fail(c, rc, err);
	rc = store_step(st);
	if (rc != 1) {
		store_stmt_free(st);
		if (rc < 0)
			return store_fail(c, rc, err);
		return err_set(err, ERR_UNAUTHORIZED, "X-Amz-Credential",
			       "the access key id is not known");
	}
	struct principal p = { .kind = CRED_ACCESS_KEY };
	str_copy(p.credential_id, sizeof(p.credential_id), id);
	principal_from_row(st, 1, &p);
	if (p.system_admin && p.project_id[0])
		p.role = ROLE_ADMIN;
	rc = crypto_open(s->server_key, store_col_text(st, 0), ret_secret, ret_len);
	store_stmt_free(st);
	if (rc < 0)
		return err_set(err, ERR_INTERNAL, "",
			       "an access key cannot be decrypted with this server's key");
	*ret = p;
	return 0;
}

static int signature_mismatch(struct err *err)
{
	return err_set(err, ERR_UNAUTHORIZED, "Authorization",
		       "the signature does not match: check the secret key and the signing "
		       "method");
}

int auth_sigv4_keyed(struct store_conn *c, const struct identity_settings *s,
		     const struct sigv4_request *r, const struct sigv4_auth *a, int64_t now_ms,
		     struct principal *ret, unsigned char *ret_key, struct err *err)
{
	struct principal p;
	unsigned char *secret = NULL;
	size_t slen = 0;
	int rc = check_sigv4_time(a, now_ms, err);
	if (rc == 0)
		rc = key_secret(c, s, a->access_key, &p, &secret, &slen, err);
	if (rc < 0)
		return rc;
	char *canonical = NULL;
	if (sigv4_canonical_request(r, a, &canonical) < 0) {
		explicit_bzero(secret, slen);
		free(secret);
		return err_set(err, ERR_UNAUTHORIZED, "Authorization",
			       "a signed header is missing from the request");
	}
	char *sts = sigv4_string_to_sign(a, canonical);
	char sig[65];
	sigv4_sign((const char *)secret, a, sts, sig);
	bool ok = mem_equal_ct(sig, a->signature, 64);
	if (ok && ret_key)
		sigv4_signing_key((const char *)secret, a->date, a->region, a->service, ret_key);
	explicit_bzero(secret, slen);
	free(secret);
	free(canonical);
	free(sts);
	if (!ok)
		return signature_mismatch(err);
	*ret = p;
	return 0;
}

int auth_sigv2_presigned(struct store_conn *c, const struct identity_settings *s,
			 const char *access_key, const char *string_to_sign,
			 const char *signature, int64_t expires_s, int64_t now_ms,
			 struct principal *ret, struct err *err)
{
	if (expires_s * 1000 < now_ms)
		return err_set(err, ERR_UNAUTHORIZED, "X-Amz-Expires",
			       "the presigned URL has expired");
	if (expires_s * 1000 - now_ms > (int64_t)SIGV4_MAX_EXPIRES * 1000)
		return err_set(err, ERR_UNAUTHORIZED, "X-Amz-Expires",
			       "a presigned URL may be valid for 7 days at most");
	struct principal p;
	unsigned char *secret = NULL, mac[EVP_MAX_MD_SIZE];
	size_t slen = 0;
	unsigned int mlen = 0;
	int rc = key_secret(c, s, access_key, &p, &secret, &slen, err);
	if (rc < 0)
		return rc;
	HMAC(EVP_sha1(), secret, (int)slen, (const unsigned char *)string_to_sign,
	     strlen(string_to_sign), mac, &mlen);
	explicit_bzero(secret, slen);
	free(secret);
	char b64[64];
	EVP_EncodeBlock((unsigned char *)b64, mac, (int)mlen);
	size_t n = strlen(b64);
	if (strlen(signature) != n || !mem_equal_ct(b64, signature, n))
		return signature_mismatch(err);
	*ret = p;
	return 0;
}

int token_revoke(struct store_conn *c, const char *token_id, struct err *err)
{
	int r = store_run(c, "UPDATE tokens SET revoked = 1 WHERE id = ?", "s", token_id);
	return r < 0 ? store_fail(c, r, err) : 0;
}

int identity_scope_project(struct store_conn *c, const struct principal *p,
			   const char *project, char ret[UUID_SIZE], struct err *err)
{
	if (!project) {
		str_copy(ret, UUID_SIZE, p->project_id);
		return 0;
	}
	struct project pr;
	enum role role = ROLE_NONE;
	int r = project_get(c, project, &pr, err);
	if (r == 0)
		r = principal_role_in(c, p, pr.id, &role, err);
	if (r == -ERR_NOT_FOUND || (r == 0 && role == ROLE_NONE))
		return err_set(err, ERR_INVALID, "project",
			       "you are not a member of a project '%.80s'", project);
	if (r < 0)
		return r;
	str_copy(ret, UUID_SIZE, pr.id);
	return 0;
}

int token_create(struct store_conn *c, const struct principal *p, const char *name,
		 const char *project, int64_t ttl_ms, struct api_token *ret, struct err *err)
{
	struct api_token t = { 0 };
	if (!name)
		return err_set(err, ERR_INVALID, "name", "field 'name' is required");
	int r = identity_name_check("name", name, TOKEN_NAME_MAX, err);
	if (r < 0)
		return r;
	if ((r = identity_scope_project(c, p, project, t.project_id, err)) < 0)
		return r;
	char hash[SHA256_HEX_SIZE];
	identity_token_new(t.secret, hash);
	uuid_generate(t.id);
	str_copy(t.name, sizeof(t.name), name);
	str_copy(t.kind, sizeof(t.kind), "personal");
	int64_t expires = time_now_ms() + ttl_ms;
	time_rfc3339_now(t.created_at, sizeof(t.created_at));
	time_rfc3339_from_ms(expires, t.expires_at, sizeof(t.expires_at));
	r = identity_token_insert(c, t.id, hash, p->user_id, t.project_id, "personal", t.name,
				  expires, err);
	if (r < 0)
		return r;
	*ret = t;
	explicit_bzero(&t, sizeof(t));
	return 0;
}

static void token_from_row(struct store_stmt *st, void *out)
{
	struct api_token *t = out;
	str_copy(t->id, sizeof(t->id), store_col_text(st, 0));
	str_copy(t->name, sizeof(t->name), store_col_text(st, 1));
	str_copy(t->kind, sizeof(t->kind), store_col_text(st, 2));
	str_copy(t->project_id, sizeof(t->project_id), store_col_text(st, 3));
	str_copy(t->created_at, sizeof(t->created_at), store_col_text(st, 4));
	time_rfc3339_from_ms(store_col_int(st, 5), t->expires_at, sizeof(t->expires_at));
}

int token_list(struct store_conn *c, const char *user_id, struct api_token **ret,
	       size_t *ret_n, struct err *err)
{
	struct store_stmt *st = NULL;
	int r = store_query(c, &st,
			    "SELECT id, name, kind, COALESCE(project_id, ''), created_at, expires_ms"
			    " FROM tokens WHERE user_id = ? AND revoked = 0 AND expires_ms > ?"
			    " ORDER BY created_at, id",
			    "si", user_id, time_now_ms());
	if (r < 0)
		return store_fail(c, r, err);
	void *items;
	r = store_fetch(st, sizeof(struct api_token), 0, token_from_row, &items, ret_n, NULL);
	if (r < 0)
		return store_fail(c, r, err);
	*ret = items;
	return 0;
}

int token_delete(struct store_conn *c, const char *user_id, const char *id, struct err *err)
{
	int r = store_run(c,
			  "UPDATE tokens SET revoked = 1 WHERE id = lower(?) AND revoked = 0"
			  " AND (? IS NULL OR user_id = ?)",
			  "sss", id, user_id, user_id);
	if (r < 0)
		return store_fail(c, r, err);
	if (r == 0)
		return err_set(err, ERR_NOT_FOUND, "", "no token '%.80s'", id);
	return 0;
}
