/* crypto: see crypto.h. */
#include "crypto.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "util.h"

void crypto_random(void *out, size_t n)
{
	unsigned char *p = out;
	while (n > 0) {
		ssize_t r = getrandom(p, n, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "nubo: getrandom failed: %s\n", strerror(errno));
			abort();
		}
		p += r;
		n -= (size_t)r;
	}
}

void uuid_generate(char out[UUID_SIZE])
{
	unsigned char b[16];
	crypto_random(b, sizeof(b));
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(out, UUID_SIZE,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11],
		 b[12], b[13], b[14], b[15]);
}

bool uuid_valid(const char *s)
{
	for (int i = 0; i < 36; i++) {
		char c = s[i];
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (c != '-')
				return false;
		} else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
			     (c >= 'A' && c <= 'F'))) {
			return false;
		}
	}
	return s[36] == '\0';
}

void sha256_hex(const void *data, size_t n, char out[SHA256_HEX_SIZE])
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	SHA256(data, n, md);
	for (int i = 0; i < SHA256_DIGEST_LENGTH; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static const char b64url[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
static const char b64std[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Encode n bytes with alphabet abc, padded with '=' to a multiple of four
 * characters when pad. */
static char *b64_encode(const char *abc, bool pad, const void *data, size_t n)
{
	const unsigned char *in = data;
	char *out = xmalloc((n + 2) / 3 * 4 + 1);
	size_t o = 0, i = 0;
	for (; i + 2 < n; i += 3) {
		unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
		out[o++] = abc[v >> 18];
		out[o++] = abc[(v >> 12) & 63];
		out[o++] = abc[(v >> 6) & 63];
		out[o++] = abc[v & 63];
	}
	if (n - i == 1) {
		unsigned v = (unsigned)in[i] << 16;
		out[o++] = abc[v >> 18];
		out[o++] = abc[(v >> 12) & 63];
		if (pad) {
			out[o++] = '=';
			out[o++] = '=';
		}
	} else if (n - i == 2) {
		unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8;
		out[o++] = abc[v >> 18];
		out[o++] = abc[(v >> 12) & 63];
		out[o++] = abc[(v >> 6) & 63];
		if (pad)
			out[o++] = '=';
	}
	out[o] = '\0';
	return out;
}

char *base64url_encode(const void *data, size_t n)
{
	return b64_encode(b64url, false, data, n);
}

char *base64_encode(const void *data, size_t n)
{
	return b64_encode(b64std, true, data, n);
}

static int b64val(const char *abc, char c)
{
	const char *p = c ? strchr(abc, c) : NULL;
	return p ? (int)(p - abc) : -1;
}

/* Decode the n characters of s in alphabet abc (no padding left in s). */
static int b64_decode(const char *abc, const char *s, size_t n, unsigned char **ret,
		      size_t *ret_len)
{
	if (n % 4 == 1)
		return -EINVAL;
	unsigned char *out = xmalloc(n / 4 * 3 + 3);
	size_t o = 0;
	unsigned acc = 0;
	int bits = 0;
	for (size_t i = 0; i < n; i++) {
		int v = b64val(abc, s[i]);
		if (v < 0) {
			free(out);
			return -EINVAL;
		}
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	/* leftover bits must be zero for a canonical encoding */
	if (acc != 0) {
		free(out);
		return -EINVAL;
	}
	out[o] = '\0';
	*ret = out;
	*ret_len = o;
	return 0;
}

int base64url_decode(const char *s, unsigned char **ret, size_t *ret_len)
{
	return b64_decode(b64url, s, strlen(s), ret, ret_len);
}

int base64_decode(const char *s, unsigned char **ret, size_t *ret_len)
{
	size_t n = strlen(s);
	if (n % 4 != 0)
		return -EINVAL;
	size_t pad = 0;
	while (pad < 2 && pad < n && s[n - 1 - pad] == '=')
		pad++;
	return b64_decode(b64std, s, n - pad, ret, ret_len);
}

void hmac_sha256(const void *key, size_t keylen, const void *data, size_t n,
		 unsigned char out[32])
{
	unsigned int len = 32;
	HMAC(EVP_sha256(), key, (int)keylen, data, n, out, &len);
}

void hex_encode(const void *data, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	const unsigned char *p = data;
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

#define GCM_NONCE 12
#define GCM_TAG 16

char *crypto_seal(const unsigned char key[CRYPTO_KEY_SIZE], const void *data, size_t n)
{
	unsigned char *out = xmalloc(GCM_NONCE + n + GCM_TAG);
	crypto_random(out, GCM_NONCE);
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int len = 0, ok = ctx != NULL;
	ok = ok && EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, out) == 1;
	ok = ok && EVP_EncryptUpdate(ctx, out + GCM_NONCE, &len, data, (int)n) == 1;
	ok = ok && EVP_EncryptFinal_ex(ctx, out + GCM_NONCE + len, &len) == 1;
	ok = ok && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, GCM_TAG, out + GCM_NONCE + n) == 1;
	EVP_CIPHER_CTX_free(ctx);
	if (!ok) {
		fprintf(stderr, "nubo: AES-GCM encryption failed\n");
		abort();
	}
	char *b = base64url_encode(out, GCM_NONCE + n + GCM_TAG);
	free(out);
	return b;
}

int crypto_open(const unsigned char key[CRYPTO_KEY_SIZE], const char *sealed,
		unsigned char **ret, size_t *ret_len)
{
	unsigned char *raw = NULL;
	size_t rawlen = 0;
	if (base64url_decode(sealed, &raw, &rawlen) < 0)
		return -EBADMSG;
	if (rawlen < GCM_NONCE + GCM_TAG) {
		free(raw);
		return -EBADMSG;
	}
	size_t n = rawlen - GCM_NONCE - GCM_TAG;
	unsigned char *out = xmalloc(n + 1);
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int len = 0, ok = ctx != NULL;
	ok = ok && EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, raw) == 1;
	ok = ok && EVP_DecryptUpdate(ctx, out, &len, raw + GCM_NONCE, (int)n) == 1;
	ok = ok && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, GCM_TAG,
				       raw + GCM_NONCE + n) == 1;
	ok = ok && EVP_DecryptFinal_ex(ctx, out + len, &len) == 1;
	EVP_CIPHER_CTX_free(ctx);
	free(raw);
	if (!ok) {
		free(out);
		return -EBADMSG;
	}
	out[n] = '\0';
	*ret = out;
	*ret_len = n;
	return 0;
}

int sha256_file_hex(const char *path, char out[SHA256_HEX_SIZE], int64_t *ret_size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	char *chunk = xmalloc(1 << 20);
	int64_t total = 0;
	ssize_t n;
	while ((n = read(fd, chunk, 1 << 20)) > 0) {
		EVP_DigestUpdate(ctx, chunk, (size_t)n);
		total += n;
	}
	int r = n < 0 ? -errno : 0;
	unsigned char md[32];
	EVP_DigestFinal_ex(ctx, md, NULL);
	EVP_MD_CTX_free(ctx);
	free(chunk);
	close(fd);
	hex_encode(md, 32, out);
	if (ret_size)
		*ret_size = total;
	return r;
}
