/* sigv4: see sigv4.h. The canonical request follows AWS's documentation
 * and botocore's signer (the reference clients use): query parameters are
 * decoded and encoded again in the canonical form, then sorted by name and
 * value; non-S3 services sign the path after removing dot segments and
 * empty segments and percent-encoding it once more; header values are
 * trimmed with inner runs of spaces folded. */
#include "sigv4.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arena.h"
#include "buf.h"
#include "crypto.h"
#include "router.h"
#include "timeutil.h"
#include "util.h"

static bool unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_' || c == '.' || c == '~';
}

void sigv4_uri_encode(struct buf *out, const char *s, size_t n, bool keep_slash)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (unreserved(c) || (keep_slash && c == '/'))
			buf_append(out, &c, 1);
		else
			buf_printf(out, "%%%02X", c);
	}
}

/* Copy the n bytes at v into dst (size dstsz); false when they do not fit. */
static bool take(char *dst, size_t dstsz, const char *v, size_t n)
{
	if (n >= dstsz)
		return false;
	memcpy(dst, v, n);
	dst[n] = '\0';
	return true;
}

static bool hex_lower(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* Split "AKID/20261123/region/service/aws4_request" into a. */
static int parse_credential(const char *v, size_t n, struct sigv4_auth *a, const char **why)
{
	const char *parts[5];
	size_t lens[5];
	size_t k = 0;
	const char *p = v, *end = v + n;
	while (k < 5) {
		const char *slash = memchr(p, '/', (size_t)(end - p));
		parts[k] = p;
		lens[k] = slash ? (size_t)(slash - p) : (size_t)(end - p);
		k++;
		if (!slash)
			break;
		p = slash + 1;
	}
	if (k != 5 || parts[4] + lens[4] != end) {
		*why = "Credential must be KEY/DATE/REGION/SERVICE/aws4_request";
		return -EINVAL;
	}
	if (!take(a->access_key, sizeof(a->access_key), parts[0], lens[0]) || lens[0] == 0 ||
	    !take(a->date, sizeof(a->date), parts[1], lens[1]) || lens[1] != 8 ||
	    !take(a->region, sizeof(a->region), parts[2], lens[2]) || lens[2] == 0 ||
	    !take(a->service, sizeof(a->service), parts[3], lens[3]) || lens[3] == 0 ||
	    lens[4] != strlen("aws4_request") || memcmp(parts[4], "aws4_request", lens[4]) != 0) {
		*why = "malformed Credential scope";
		return -EINVAL;
	}
	for (int i = 0; i < 8; i++)
		if (a->date[i] < '0' || a->date[i] > '9') {
			*why = "malformed date in the Credential scope";
			return -EINVAL;
		}
	return 0;
}

static int check_signed_headers(const char *v, size_t n, struct sigv4_auth *a, const char **why)
{
	if (n == 0 || !take(a->signed_headers, sizeof(a->signed_headers), v, n)) {
		*why = "malformed SignedHeaders";
		return -EINVAL;
	}
	bool host = false;
	const char *p = a->signed_headers, *prev = NULL;
	size_t prevlen = 0;
	while (*p) {
		const char *semi = strchr(p, ';');
		size_t len = semi ? (size_t)(semi - p) : strlen(p);
		if (len == 0) {
			*why = "empty name in SignedHeaders";
			return -EINVAL;
		}
		for (size_t i = 0; i < len; i++)
			if (p[i] <= ' ' || p[i] >= 0x7f || (p[i] >= 'A' && p[i] <= 'Z') || p[i] == ':') {
				*why = "SignedHeaders must be lower-case header names";
				return -EINVAL;
			}
		if (prev) {
			size_t m = prevlen < len ? prevlen : len;
			int c = memcmp(prev, p, m);
			if (c > 0 || (c == 0 && prevlen >= len)) {
				*why = "SignedHeaders must be sorted and unique";
				return -EINVAL;
			}
		}
		if (len == 4 && memcmp(p, "host", 4) == 0)
			host = true;
		prev = p;
		prevlen = len;
		if (!semi)
			break;
		p = semi + 1;
	}
	if (!host) {
		*why = "the host header must be signed";
		return -EINVAL;
	}
	return 0;
}

static int set_signature(const char *v, size_t n, struct sigv4_auth *a, const char **why)
{
	if (n != 64 || !hex_lower(v, n)) {
		*why = "Signature must be 64 lower-case hex digits";
		return -EINVAL;
	}
	take(a->signature, sizeof(a->signature), v, n);
	return 0;
}

int sigv4_parse_header(const char *authorization, struct sigv4_auth *ret, const char **why)
{
	struct sigv4_auth a = { 0 };
	const char *alg = SIGV4_ALGORITHM " ";
	*why = "";
	if (!str_starts_with(authorization, alg)) {
		*why = "the Authorization scheme is not " SIGV4_ALGORITHM;
		return -EINVAL;
	}
	const char *p = authorization + strlen(alg);
	bool have_cred = false, have_sh = false, have_sig = false;
	while (*p) {
		while (*p == ' ' || *p == ',')
			p++;
		if (!*p)
			break;
		const char *eq = strchr(p, '=');
		if (!eq) {
			*why = "malformed Authorization header";
			return -EINVAL;
		}
		const char *v = eq + 1;
		size_t vlen = strcspn(v, ", ");
		size_t klen = (size_t)(eq - p);
		int r = 0;
		if (klen == 10 && memcmp(p, "Credential", 10) == 0 && !have_cred) {
			r = parse_credential(v, vlen, &a, why);
			have_cred = true;
		} else if (klen == 13 && memcmp(p, "SignedHeaders", 13) == 0 && !have_sh) {
			r = check_signed_headers(v, vlen, &a, why);
			have_sh = true;
		} else if (klen == 9 && memcmp(p, "Signature", 9) == 0 && !have_sig) {
			r = set_signature(v, vlen, &a, why);
			have_sig = true;
		} else {
			*why = "unexpected or repeated part in the Authorization header";
			return -EINVAL;
		}
		if (r < 0)
			return r;
		p = v + vlen;
	}
	if (!have_cred || !have_sh || !have_sig) {
		*why = "the Authorization header needs Credential, SignedHeaders and Signature";
		return -EINVAL;
	}
	*ret = a;
	return 0;
}

/* Decode a raw query value into arena memory ('+' is kept literally). */
static const char *qdecode(struct arena *ar, const char *v)
{
	return v ? router_unescape(ar, v, strlen(v)) : "";
}

int sigv4_parse_query(const struct http_kv *query, size_t n, struct sigv4_auth *ret,
		      const char **why)
{
	struct sigv4_auth a = { .presigned = true };
	struct arena *ar = arena_new();
	const char *alg = NULL, *cred = NULL, *date = NULL, *exp = NULL, *sh = NULL, *sig = NULL;
	int r = -EINVAL;
	*why = "";
	for (size_t i = 0; i < n; i++) {
		const char *k = query[i].key;
		const char **slot = strcmp(k, "X-Amz-Algorithm") == 0       ? &alg
				    : strcmp(k, "X-Amz-Credential") == 0    ? &cred
				    : strcmp(k, "X-Amz-Date") == 0          ? &date
				    : strcmp(k, "X-Amz-Expires") == 0       ? &exp
				    : strcmp(k, "X-Amz-SignedHeaders") == 0 ? &sh
				    : strcmp(k, "X-Amz-Signature") == 0     ? &sig
									    : NULL;
		if (!slot)
			continue;
		if (*slot) {
			*why = "repeated X-Amz- query parameter";
			goto out;
		}
		*slot = qdecode(ar, query[i].value);
		if (!*slot) {
			*why = "badly encoded X-Amz- query parameter";
			goto out;
		}
	}
	if (!alg && !cred && !sig) {
		r = -ENOENT;
		goto out;
	}
	uint64_t expires;
	if (!alg || strcmp(alg, SIGV4_ALGORITHM) != 0) {
		*why = "X-Amz-Algorithm must be " SIGV4_ALGORITHM;
	} else if (!cred || !date || !exp || !sh || !sig) {
		*why = "a presigned URL needs X-Amz-Credential, X-Amz-Date, X-Amz-Expires, "
		       "X-Amz-SignedHeaders and X-Amz-Signature";
	} else if (parse_credential(cred, strlen(cred), &a, why) == 0 &&
		   check_signed_headers(sh, strlen(sh), &a, why) == 0 &&
		   set_signature(sig, strlen(sig), &a, why) == 0) {
		if (parse_u64(exp, 1, SIGV4_MAX_EXPIRES, &expires) < 0) {
			*why = "X-Amz-Expires must be 1 to 604800 seconds";
		} else if (strlen(date) != 16 || !take(a.amz_date, sizeof(a.amz_date), date, 16)) {
			*why = "X-Amz-Date must be YYYYMMDDTHHMMSSZ";
		} else {
			a.expires = (int64_t)expires;
			*ret = a;
			r = 0;
		}
	}
out:
	arena_free(ar);
	return r;
}

/* The path as signed: dot segments and empty segments removed (the
 * trailing slash kept), then encoded again. */
static void canonical_path(struct buf *out, const char *path, bool s3)
{
	if (s3) {
		buf_puts(out, *path ? path : "/");
		return;
	}
	size_t n = strlen(path);
	const char *segs[256];
	size_t lens[256], k = 0;
	const char *p = path;
	while (p < path + n) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);
		if (len == 1 && p[0] == '.') {
			/* skip */
		} else if (len == 2 && p[0] == '.' && p[1] == '.') {
			if (k > 0)
				k--;
		} else if (len > 0 && k < 256) {
			segs[k] = p;
			lens[k++] = len;
		}
		if (!slash)
			break;
		p = slash + 1;
	}
	struct buf norm;
	buf_init(&norm, 0);
	if (path[0] == '/')
		buf_puts(&norm, "/");
	for (size_t i = 0; i < k; i++) {
		if (i)
			buf_puts(&norm, "/");
		buf_append(&norm, segs[i], lens[i]);
	}
	if (n > 0 && path[n - 1] == '/' && k > 0)
		buf_puts(&norm, "/");
	if (norm.len == 0)
		buf_puts(&norm, "/");
	sigv4_uri_encode(out, norm.data, norm.len, true);
	buf_release(&norm);
}

struct qpair {
	char *key;   /* canonically encoded */
	char *value; /* canonically encoded */
};

static int qpair_cmp(const void *a, const void *b)
{
	const struct qpair *x = a, *y = b;
	int c = strcmp(x->key, y->key);
	return c ? c : strcmp(x->value, y->value);
}

static int canonical_query(struct buf *out, const struct sigv4_request *r, bool presigned)
{
	struct arena *ar = arena_new();
	struct qpair *pairs = arena_alloc(ar, (r->nquery + 1) * sizeof(*pairs));
	size_t k = 0;
	int ret = 0;
	for (size_t i = 0; i < r->nquery; i++) {
		const char *key = qdecode(ar, r->query[i].key);
		const char *val = qdecode(ar, r->query[i].value);
		if (!key || !val) {
			ret = -EINVAL;
			goto out;
		}
		if (presigned && strcmp(key, "X-Amz-Signature") == 0)
			continue;
		struct buf kb, vb;
		buf_init(&kb, 0);
		buf_init(&vb, 0);
		sigv4_uri_encode(&kb, key, strlen(key), false);
		sigv4_uri_encode(&vb, val, strlen(val), false);
		pairs[k].key = arena_strdup(ar, kb.data ? kb.data : "");
		pairs[k].value = arena_strdup(ar, vb.data ? vb.data : "");
		buf_release(&kb);
		buf_release(&vb);
		k++;
	}
	qsort(pairs, k, sizeof(*pairs), qpair_cmp);
	for (size_t i = 0; i < k; i++)
		buf_printf(out, "%s%s=%s", i ? "&" : "", pairs[i].key, pairs[i].value);
out:
	arena_free(ar);
	return ret;
}

static void canonical_header_value(struct buf *out, const char *v)
{
	while (*v == ' ' || *v == '\t')
		v++;
	bool space = false;
	for (; *v; v++) {
		if (*v == ' ' || *v == '\t') {
			space = true;
			continue;
		}
		if (space)
			buf_puts(out, " ");
		space = false;
		buf_append(out, v, 1);
	}
}

int sigv4_canonical_request(const struct sigv4_request *r, const struct sigv4_auth *a,
			    char **ret)
{
	struct buf b;
	buf_init(&b, 0);
	buf_printf(&b, "%s\n", r->method);
	canonical_path(&b, r->path, r->s3);
	buf_puts(&b, "\n");
	if (canonical_query(&b, r, a->presigned) < 0)
		goto fail;
	buf_puts(&b, "\n");
	const char *p = a->signed_headers;
	while (*p) {
		const char *semi = strchr(p, ';');
		size_t len = semi ? (size_t)(semi - p) : strlen(p);
		char name[128];
		if (!take(name, sizeof(name), p, len))
			goto fail;
		const char *v = r->header(r->header_ctx, name);
		if (!v)
			goto fail;
		buf_printf(&b, "%s:", name);
		canonical_header_value(&b, v);
		buf_puts(&b, "\n");
		if (!semi)
			break;
		p = semi + 1;
	}
	buf_printf(&b, "\n%s\n%s", a->signed_headers, r->payload_hash);
	*ret = buf_detach(&b, NULL);
	return 0;
fail:
	buf_release(&b);
	return -EINVAL;
}

char *sigv4_string_to_sign(const struct sigv4_auth *a, const char *canonical)
{
	char hash[SHA256_HEX_SIZE];
	sha256_hex(canonical, strlen(canonical), hash);
	return xasprintf(SIGV4_ALGORITHM "\n%s\n%s/%s/%s/aws4_request\n%s", a->amz_date, a->date,
			 a->region, a->service, hash);
}

void sigv4_signing_key(const char *secret, const char *date, const char *region,
		       const char *service, unsigned char out[SIGV4_KEY_SIZE])
{
	unsigned char k1[32], k2[32];
	char *first = xasprintf("AWS4%s", secret);
	hmac_sha256(first, strlen(first), date, strlen(date), k1);
	explicit_bzero(first, strlen(first));
	free(first);
	hmac_sha256(k1, 32, region, strlen(region), k2);
	hmac_sha256(k2, 32, service, strlen(service), k1);
	hmac_sha256(k1, 32, "aws4_request", strlen("aws4_request"), out);
	explicit_bzero(k1, sizeof(k1));
	explicit_bzero(k2, sizeof(k2));
}

void sigv4_sign_key(const unsigned char key[SIGV4_KEY_SIZE], const char *string_to_sign,
		    size_t n, char out[65])
{
	unsigned char sig[32];
	hmac_sha256(key, SIGV4_KEY_SIZE, string_to_sign, n, sig);
	hex_encode(sig, 32, out);
}

void sigv4_sign(const char *secret, const struct sigv4_auth *a, const char *string_to_sign,
		char out[65])
{
	unsigned char key[SIGV4_KEY_SIZE];
	sigv4_signing_key(secret, a->date, a->region, a->service, key);
	sigv4_sign_key(key, string_to_sign, strlen(string_to_sign), out);
	explicit_bzero(key, sizeof(key));
}

int sigv4_parse_amz_date(const char *s, int64_t *ret_ms)
{
	if (strlen(s) != 16 || s[8] != 'T' || s[15] != 'Z')
		return -EINVAL;
	char iso[32];
	str_printf(iso, sizeof(iso), "%.4s-%.2s-%.2sT%.2s:%.2s:%.2sZ", s, s + 4, s + 6, s + 9,
		   s + 11, s + 13);
	for (int i = 0; i < 15; i++)
		if (i != 8 && (s[i] < '0' || s[i] > '9'))
			return -EINVAL;
	return time_rfc3339_parse(iso, ret_ms);
}
