/* sshkey: see sshkey.h. The key blob is SSH wire format (RFC 4253 6.6):
 * a string of the key type, then the type's fields as strings and mpints,
 * each with a 4-byte big-endian length. */
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "crypto.h"
#include "sshkey.h"
#include "util.h"

struct reader {
	const unsigned char *p;
	size_t n;
};

/* Take the next string; false when the blob ends early. */
static bool take(struct reader *r, const unsigned char **ret, size_t *ret_len)
{
	if (r->n < 4)
		return false;
	size_t len = (size_t)r->p[0] << 24 | (size_t)r->p[1] << 16 | (size_t)r->p[2] << 8 | r->p[3];
	if (len > r->n - 4)
		return false;
	*ret = r->p + 4;
	*ret_len = len;
	r->p += 4 + len;
	r->n -= 4 + len;
	return true;
}

static bool take_is(struct reader *r, const char *want)
{
	const unsigned char *s;
	size_t n;
	return take(r, &s, &n) && n == strlen(want) && memcmp(s, want, n) == 0;
}

/* Bits of a positive mpint, or 0 when it is not one (negative, or with a
 * needless leading zero byte). */
static unsigned mpint_bits(const unsigned char *s, size_t n)
{
	if (n == 0 || (s[0] & 0x80))
		return 0;
	if (s[0] == 0) {
		if (n == 1 || !(s[1] & 0x80))
			return 0;
		s++;
		n--;
	}
	unsigned bits = (unsigned)(n - 1) * 8;
	for (unsigned c = s[0]; c; c >>= 1)
		bits++;
	return bits;
}

static int check_rsa(struct reader *r, struct sshkey_info *info, struct err *err)
{
	const unsigned char *e, *m;
	size_t en, mn;
	if (!take(r, &e, &en) || !take(r, &m, &mn))
		return err_set(err, ERR_INVALID, "public_key", "the ssh-rsa key is cut short");
	unsigned ebits = mpint_bits(e, en), bits = mpint_bits(m, mn);
	if (ebits < 2 || ebits > 64 || !(e[en - 1] & 1) || bits == 0 || !(m[mn - 1] & 1))
		return err_set(err, ERR_INVALID, "public_key", "the ssh-rsa key is not a valid RSA key");
	if (bits < 2048 || bits > 16384)
		return err_set(err, ERR_INVALID, "public_key",
			       "RSA keys must have 2048 to 16384 bits; this one has %u", bits);
	info->bits = bits;
	return 0;
}

static int check_ecdsa(struct reader *r, const char *type, struct sshkey_info *info,
		       struct err *err)
{
	static const struct {
		const char *curve, *group;
		size_t point;
		unsigned bits;
	} curves[] = { { "nistp256", "P-256", 65, 256 },
		       { "nistp384", "P-384", 97, 384 },
		       { "nistp521", "P-521", 133, 521 } };
	const char *curve = type + strlen("ecdsa-sha2-");
	size_t k = 0;
	while (k < 3 && strcmp(curves[k].curve, curve) != 0)
		k++;
	const unsigned char *q;
	size_t qn;
	if (k == 3 || !take_is(r, curve) || !take(r, &q, &qn) || qn != curves[k].point || q[0] != 4)
		return err_set(err, ERR_INVALID, "public_key", "the %s key is not well formed", type);
	/* the point must lie on the curve */
	OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	EVP_PKEY *pkey = NULL;
	EVP_PKEY_CTX *check = NULL;
	bool ok = b && ctx &&
		  OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME, curves[k].group, 0) &&
		  OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, q, qn) &&
		  (params = OSSL_PARAM_BLD_to_param(b)) && EVP_PKEY_fromdata_init(ctx) > 0 &&
		  EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) > 0 &&
		  (check = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL)) &&
		  EVP_PKEY_public_check(check) > 0;
	EVP_PKEY_CTX_free(check);
	EVP_PKEY_free(pkey);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(b);
	if (!ok)
		return err_set(err, ERR_INVALID, "public_key",
			       "the %s key's point is not on its curve", type);
	info->bits = curves[k].bits;
	return 0;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Standard base64 (with padding) of n bytes. Caller frees. */
static char *b64(const unsigned char *data, size_t n)
{
	char *out = xmalloc(4 * ((n + 2) / 3) + 1);
	EVP_EncodeBlock((unsigned char *)out, data, (int)n);
	return out;
}

int sshkey_parse(const char *line, size_t len, struct sshkey_info *info, char **ret_canonical,
		 struct err *err)
{
	memset(info, 0, sizeof(*info));
	if (len > SSHKEY_LINE_MAX)
		return err_set(err, ERR_INVALID, "public_key", "the key is longer than %d bytes",
			       SSHKEY_LINE_MAX);
	while (len && is_space(line[0])) {
		line++;
		len--;
	}
	while (len && is_space(line[len - 1]))
		len--;
	for (size_t k = 0; k < len; k++)
		if ((unsigned char)line[k] < 0x20 && line[k] != '\t')
			return err_set(err, ERR_INVALID, "public_key",
				       "give one key on one line, without control characters");
	size_t tn = 0;
	while (tn < len && !is_space(line[tn]))
		tn++;
	static const char *const types[] = { "ssh-ed25519", "ecdsa-sha2-nistp256",
					      "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
					      "ssh-rsa", NULL };
	size_t t = 0;
	while (types[t] && (strlen(types[t]) != tn || memcmp(types[t], line, tn) != 0))
		t++;
	if (!types[t])
		return err_set(err, ERR_INVALID, "public_key",
			       "the key must be an OpenSSH public key of type ssh-ed25519, "
			       "ecdsa-sha2-nistp256/384/521 or ssh-rsa, as in ~/.ssh/id_ed25519.pub");
	str_copy(info->type, sizeof(info->type), types[t]);
	size_t bs = tn;
	while (bs < len && is_space(line[bs]))
		bs++;
	size_t be = bs;
	while (be < len && !is_space(line[be]))
		be++;
	size_t cs = be;
	while (cs < len && is_space(line[cs]))
		cs++;
	/* decode the blob: standard base64, a multiple of 4 characters */
	size_t bn = be - bs;
	if (bn == 0 || bn % 4 != 0)
		return err_set(err, ERR_INVALID, "public_key", "the key's base64 part is not valid");
	for (size_t k = bs; k < be; k++) {
		char c = line[k];
		bool pad = c == '=' && k >= be - 2 && (k == be - 1 || line[be - 1] == '=');
		if (!(pad || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || c == '+' || c == '/'))
			return err_set(err, ERR_INVALID, "public_key",
				       "the key's base64 part is not valid");
	}
	unsigned char *blob = xmalloc(bn / 4 * 3 + 1);
	int dn = EVP_DecodeBlock(blob, (const unsigned char *)line + bs, (int)bn);
	size_t n = dn < 0 ? 0 : (size_t)dn - (line[be - 1] == '=') - (line[be - 2] == '=');
	int r = 0;
	struct reader rd = { blob, n };
	if (dn < 0 || !take_is(&rd, info->type)) {
		r = err_set(err, ERR_INVALID, "public_key",
			    "the key's base64 part does not hold a %s key", info->type);
	} else if (t == 0) {
		const unsigned char *pk;
		size_t pn;
		if (!take(&rd, &pk, &pn) || pn != 32)
			r = err_set(err, ERR_INVALID, "public_key",
				    "the ssh-ed25519 key is not well formed");
		info->bits = 256;
	} else if (t == 4) {
		r = check_rsa(&rd, info, err);
	} else {
		r = check_ecdsa(&rd, info->type, info, err);
	}
	if (r == 0 && rd.n != 0)
		r = err_set(err, ERR_INVALID, "public_key", "the key has bytes after its end");
	if (r == 0) {
		unsigned char md[32];
		EVP_Digest(blob, n, md, NULL, EVP_sha256(), NULL);
		char *f = b64(md, sizeof(md));
		f[43] = '\0'; /* no padding, as ssh-keygen prints it */
		str_printf(info->fingerprint, sizeof(info->fingerprint), "SHA256:%s", f);
		free(f);
		if (ret_canonical)
			*ret_canonical = cs < len ? xasprintf("%.*s %.*s %.*s", (int)tn, line,
							       (int)bn, line + bs, (int)(len - cs),
							       line + cs)
						  : xasprintf("%.*s %.*s", (int)tn, line, (int)bn,
							      line + bs);
	}
	free(blob);
	return r;
}

static void put_u32(struct buf *b, uint32_t v)
{
	unsigned char x[4] = { (unsigned char)(v >> 24), (unsigned char)(v >> 16),
			       (unsigned char)(v >> 8), (unsigned char)v };
	buf_append(b, x, 4);
}

static void put_str(struct buf *b, const void *s, size_t n)
{
	put_u32(b, (uint32_t)n);
	buf_append(b, s, n);
}

int sshkey_generate_ed25519(const char *comment, char **ret_public, char **ret_private)
{
	EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	unsigned char pk[32], sk[64];
	size_t pn = sizeof(pk), sn = 32;
	if (!pkey || EVP_PKEY_get_raw_public_key(pkey, pk, &pn) <= 0 || pn != 32 ||
	    EVP_PKEY_get_raw_private_key(pkey, sk, &sn) <= 0 || sn != 32) {
		EVP_PKEY_free(pkey);
		return -1;
	}
	EVP_PKEY_free(pkey);
	memcpy(sk + 32, pk, 32); /* OpenSSH keeps seed || public key */
	struct buf pub, priv, file;
	buf_init(&pub, 0);
	put_str(&pub, "ssh-ed25519", 11);
	put_str(&pub, pk, 32);
	/* the private section: check ints, the key, the comment, padding */
	buf_init(&priv, 0);
	uint32_t check;
	crypto_random(&check, sizeof(check));
	put_u32(&priv, check);
	put_u32(&priv, check);
	put_str(&priv, "ssh-ed25519", 11);
	put_str(&priv, pk, 32);
	put_str(&priv, sk, 64);
	put_str(&priv, comment, strlen(comment));
	for (unsigned char pad = 1; priv.len % 8; pad++)
		buf_append(&priv, &pad, 1);
	buf_init(&file, 0);
	buf_append(&file, "openssh-key-v1", 15); /* with its NUL */
	put_str(&file, "none", 4);
	put_str(&file, "none", 4);
	put_str(&file, "", 0);
	put_u32(&file, 1);
	put_str(&file, pub.data, pub.len);
	put_str(&file, priv.data, priv.len);
	char *text = b64((unsigned char *)file.data, file.len);
	struct buf out;
	buf_init(&out, 0);
	buf_printf(&out, "-----BEGIN OPENSSH PRIVATE KEY-----\n");
	for (size_t k = 0, tl = strlen(text); k < tl; k += 70)
		buf_printf(&out, "%.*s\n", (int)(tl - k < 70 ? tl - k : 70), text + k);
	buf_printf(&out, "-----END OPENSSH PRIVATE KEY-----\n");
	char *pub64 = b64((unsigned char *)pub.data, pub.len);
	*ret_public = comment[0] ? xasprintf("ssh-ed25519 %s %s", pub64, comment)
				 : xasprintf("ssh-ed25519 %s", pub64);
	*ret_private = buf_detach(&out, NULL);
	explicit_bzero(sk, sizeof(sk));
	explicit_bzero(priv.data, priv.len);
	explicit_bzero(file.data, file.len);
	explicit_bzero(text, strlen(text));
	free(text);
	free(pub64);
	buf_release(&pub);
	buf_release(&priv);
	buf_release(&file);
	return 0;
}
