/* awschunked: see awschunked.h.
 *
 * The body is a sequence of lines and runs of data. The decoder is a small
 * state machine: line states gather bytes up to "\r\n" in a bounded buffer
 * (a chunk header, the "\r\n" after a chunk's data, a trailer, the final
 * empty line) and act on the whole line; the data state passes bytes
 * straight to the sink while feeding the chunk's SHA-256.
 *
 * Signatures (AWS "Signature Calculations for the Authorization Header:
 * Transferring Payload in Multiple Chunks" and "... Including Trailing
 * Headers"): chunk i is signed over
 *   AWS4-HMAC-SHA256-PAYLOAD \n amz-date \n scope \n signature(i-1) \n
 *   sha256("") \n sha256(chunk data)
 * with the request's own signature as signature(-1), and the trailers over
 *   AWS4-HMAC-SHA256-TRAILER \n amz-date \n scope \n signature(zero chunk) \n
 *   sha256(each trailer as "name:value\n", names in lower case and sorted)
 * which is what the AWS SDKs' signers produce (aws-c-auth canonicalises
 * trailers as it does request headers: sorted by name, values trimmed). */
#include "awschunked.h"

#include <stdlib.h>
#include <string.h>

#include "checksum.h"
#include "crypto.h"
#include "util.h"

/* Longest line: a chunk header is at most 16 hex digits, 17 characters of
 * ";chunk-signature=" and 64 of signature; a trailer is bounded above. */
#define LINE_MAX_LEN (AWSCHUNKED_MAX_TRAILER_NAME + AWSCHUNKED_MAX_TRAILER_VALUE + 64)
#define MAX_SIZE_DIGITS 16
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SIG_PREFIX ";chunk-signature="
#define TRAILER_SIG "x-amz-trailer-signature"

enum state {
	ST_SIZE,     /* a chunk header line */
	ST_DATA,     /* chunk data */
	ST_DATA_END, /* the empty line after chunk data */
	ST_TRAILER,  /* a trailer line, or the empty line that ends them */
	ST_FINAL,    /* the last, empty line */
	ST_DONE,     /* the body is complete; nothing more may come */
};

struct awschunked {
	enum awschunked_mode mode;
	awschunked_data_fn data;
	void *ctx;
	unsigned char key[SIGV4_KEY_SIZE]; /* signing key (signed modes) */
	char amz_date[17];                 /* the request's X-Amz-Date */
	char scope[256];                   /* date/region/service/aws4_request */
	char prev_sig[65];                 /* the last signature of the chain */
	enum state state;
	int error;                         /* the first error, final; 0: none */
	const char *why;                   /* its reason */
	char line[LINE_MAX_LEN + 2];       /* the line being gathered */
	size_t line_len;
	uint64_t remaining;                /* data bytes left in this chunk */
	char chunk_sig[65];                /* the signature the chunk header claims */
	struct checksum sha;               /* SHA-256 of this chunk's data */
	uint64_t decoded;                  /* data bytes handed on */
	struct awschunked_trailer trailers[AWSCHUNKED_MAX_TRAILERS];
	size_t ntrailers;
};

static const struct {
	const char *name;
	enum awschunked_mode mode;
} modes[] = {
	{ "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", AWSCHUNKED_SIGNED },
	{ "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER", AWSCHUNKED_SIGNED_TRAILER },
	{ "STREAMING-UNSIGNED-PAYLOAD-TRAILER", AWSCHUNKED_UNSIGNED_TRAILER },
};

int awschunked_parse_mode(const char *content_sha256, enum awschunked_mode *ret)
{
	for (size_t i = 0; content_sha256 && i < ARRAY_SIZE(modes); i++)
		if (strcmp(content_sha256, modes[i].name) == 0) {
			*ret = modes[i].mode;
			return 0;
		}
	return -ENOENT;
}

static bool is_signed(const struct awschunked *d)
{
	return d->mode != AWSCHUNKED_UNSIGNED_TRAILER;
}

struct awschunked *awschunked_new(const struct awschunked_opts *opts)
{
	struct awschunked *d = xcalloc(1, sizeof(*d));
	d->mode = opts->mode;
	d->data = opts->data;
	d->ctx = opts->ctx;
	d->why = "";
	d->state = ST_SIZE;
	if (is_signed(d)) {
		const struct sigv4_auth *a = opts->auth;
		memcpy(d->key, opts->key, SIGV4_KEY_SIZE);
		str_copy(d->amz_date, sizeof(d->amz_date), a->amz_date);
		str_printf(d->scope, sizeof(d->scope), "%s/%s/%s/aws4_request", a->date, a->region,
			   a->service);
		str_copy(d->prev_sig, sizeof(d->prev_sig), a->signature);
	}
	return d;
}

void awschunked_free(struct awschunked *d)
{
	if (!d)
		return;
	checksum_release(&d->sha);
	explicit_bzero(d->key, sizeof(d->key));
	free(d);
}

static int fail(struct awschunked *d, int error, const char *why)
{
	d->error = error;
	d->why = why;
	return error;
}

static bool hex_lower64(const char *s, size_t n)
{
	if (n != 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* Check claimed (64 hex) against the signature of the chain's next string to
 * sign, made of algorithm and the hash lines; on success it becomes the
 * previous signature. */
static int verify(struct awschunked *d, const char *algorithm, const char *hashes,
		  const char *claimed, const char *why)
{
	char sts[512], sig[65];
	if (!str_printf(sts, sizeof(sts), "%s\n%s\n%s\n%s\n%s", algorithm, d->amz_date, d->scope,
			d->prev_sig, hashes))
		return fail(d, AWSCHUNKED_ESIGNATURE, why);
	sigv4_sign_key(d->key, sts, strlen(sts), sig);
	if (!mem_equal_ct(sig, claimed, 64))
		return fail(d, AWSCHUNKED_ESIGNATURE, why);
	memcpy(d->prev_sig, sig, sizeof(sig));
	return 0;
}

/* The chunk whose data just ended (or the zero chunk) against its header's
 * signature. */
static int verify_chunk(struct awschunked *d)
{
	char hashes[2 * SHA256_HEX_SIZE], hex[SHA256_HEX_SIZE];
	unsigned char raw[CHECKSUM_MAX];
	size_t len = 0;
	if (d->sha.md) {
		checksum_final(&d->sha, raw, &len);
		checksum_release(&d->sha);
		hex_encode(raw, len, hex);
	} else {
		str_copy(hex, sizeof(hex), EMPTY_SHA256);
	}
	str_printf(hashes, sizeof(hashes), EMPTY_SHA256 "\n%s", hex);
	return verify(d, "AWS4-HMAC-SHA256-PAYLOAD", hashes, d->chunk_sig,
		      "a chunk signature does not match");
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int size_line(struct awschunked *d, const char *line, size_t len)
{
	size_t i = 0;
	uint64_t size = 0;
	for (; i < len && hexval(line[i]) >= 0; i++) {
		if (i == MAX_SIZE_DIGITS)
			return fail(d, AWSCHUNKED_EMALFORMED, "a chunk size has too many digits");
		size = size << 4 | (uint64_t)hexval(line[i]);
	}
	if (i == 0)
		return fail(d, AWSCHUNKED_EMALFORMED, "a chunk does not start with its hex size");
	if (size > AWSCHUNKED_MAX_CHUNK)
		return fail(d, AWSCHUNKED_EMALFORMED, "a chunk is larger than 5 GiB");
	const char *rest = line + i;
	size_t rlen = len - i;
	if (is_signed(d)) {
		size_t plen = strlen(SIG_PREFIX);
		if (rlen != plen + 64 || memcmp(rest, SIG_PREFIX, plen) != 0 ||
		    !hex_lower64(rest + plen, 64))
			return fail(d, AWSCHUNKED_EMALFORMED,
				    "a chunk header must be hex-size;chunk-signature=<64 hex digits>");
		memcpy(d->chunk_sig, rest + plen, 64);
		d->chunk_sig[64] = '\0';
	} else if (rlen > 0 && rest[0] != ';') {
		return fail(d, AWSCHUNKED_EMALFORMED, "a chunk size is not a hex number");
	}
	if (size > 0) {
		d->remaining = size;
		if (is_signed(d))
			checksum_init(&d->sha, CHECKSUM_SHA256);
		d->state = ST_DATA;
		return 0;
	}
	if (is_signed(d) && verify_chunk(d) < 0)
		return d->error;
	d->state = d->mode == AWSCHUNKED_SIGNED ? ST_FINAL : ST_TRAILER;
	return 0;
}

static bool token_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
	       c == '.' || c == '!' || c == '#' || c == '$' || c == '%' || c == '&' ||
	       c == '\'' || c == '*' || c == '+' || c == '^' || c == '`' || c == '|' || c == '~';
}

static int trailer_signature(struct awschunked *d, const char *value, size_t vlen)
{
	if (!is_signed(d))
		return fail(d, AWSCHUNKED_EMALFORMED, "a trailer signature in an unsigned body");
	if (!hex_lower64(value, vlen))
		return fail(d, AWSCHUNKED_EMALFORMED,
			    "x-amz-trailer-signature must be 64 lower-case hex digits");
	/* canonical order: by name (names are unique) */
	const struct awschunked_trailer *sorted[AWSCHUNKED_MAX_TRAILERS];
	for (size_t i = 0; i < d->ntrailers; i++) {
		size_t j = i;
		for (; j > 0 && strcmp(sorted[j - 1]->name, d->trailers[i].name) > 0; j--)
			sorted[j] = sorted[j - 1];
		sorted[j] = &d->trailers[i];
	}
	struct checksum c;
	checksum_init(&c, CHECKSUM_SHA256);
	for (size_t i = 0; i < d->ntrailers; i++) {
		checksum_update(&c, sorted[i]->name, strlen(sorted[i]->name));
		checksum_update(&c, ":", 1);
		checksum_update(&c, sorted[i]->value, strlen(sorted[i]->value));
		checksum_update(&c, "\n", 1);
	}
	unsigned char raw[CHECKSUM_MAX];
	char hex[SHA256_HEX_SIZE];
	size_t len;
	checksum_final(&c, raw, &len);
	checksum_release(&c);
	hex_encode(raw, len, hex);
	if (verify(d, "AWS4-HMAC-SHA256-TRAILER", hex, value,
		   "the trailer signature does not match") < 0)
		return d->error;
	d->state = ST_FINAL;
	return 0;
}

static int trailer_line(struct awschunked *d, const char *line, size_t len)
{
	if (len == 0) {
		/* the end; a signed body's trailers must have been signed */
		if (d->mode == AWSCHUNKED_SIGNED_TRAILER && d->ntrailers > 0)
			return fail(d, AWSCHUNKED_EMALFORMED, "the trailers have no signature");
		d->state = ST_DONE;
		return 0;
	}
	const char *colon = memchr(line, ':', len);
	if (!colon || colon == line)
		return fail(d, AWSCHUNKED_EMALFORMED, "a trailer must be name:value");
	size_t nlen = (size_t)(colon - line);
	const char *v = colon + 1, *end = line + len;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	size_t vlen = (size_t)(end - v);
	if (nlen > AWSCHUNKED_MAX_TRAILER_NAME)
		return fail(d, AWSCHUNKED_EMALFORMED, "a trailer name is too long");
	char name[AWSCHUNKED_MAX_TRAILER_NAME + 1];
	for (size_t i = 0; i < nlen; i++) {
		char c = line[i] >= 'A' && line[i] <= 'Z' ? (char)(line[i] - 'A' + 'a') : line[i];
		if (!token_char(c))
			return fail(d, AWSCHUNKED_EMALFORMED, "a trailer name holds a bad character");
		name[i] = c;
	}
	name[nlen] = '\0';
	if (strcmp(name, TRAILER_SIG) == 0)
		return trailer_signature(d, v, vlen);
	if (vlen > AWSCHUNKED_MAX_TRAILER_VALUE)
		return fail(d, AWSCHUNKED_EMALFORMED, "a trailer value is too long");
	if (d->ntrailers == AWSCHUNKED_MAX_TRAILERS)
		return fail(d, AWSCHUNKED_EMALFORMED, "too many trailers");
	if (awschunked_trailer(d, name))
		return fail(d, AWSCHUNKED_EMALFORMED, "a trailer is repeated");
	struct awschunked_trailer *t = &d->trailers[d->ntrailers++];
	memcpy(t->name, name, nlen + 1);
	memcpy(t->value, v, vlen);
	t->value[vlen] = '\0';
	return 0;
}

/* Act on the complete line gathered in d->line (its "\r\n" removed). */
static int line_done(struct awschunked *d)
{
	const char *line = d->line;
	size_t len = d->line_len;
	d->line_len = 0;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)line[i] < 0x20 && line[i] != '\t')
			return fail(d, AWSCHUNKED_EMALFORMED, "a control character in a chunk line");
	switch (d->state) {
	case ST_SIZE:
		return size_line(d, line, len);
	case ST_DATA_END:
		if (len != 0)
			return fail(d, AWSCHUNKED_EMALFORMED, "chunk data is longer than its size");
		d->state = ST_SIZE;
		return 0;
	case ST_TRAILER:
		return trailer_line(d, line, len);
	case ST_FINAL:
		if (len != 0)
			return fail(d, AWSCHUNKED_EMALFORMED, "the body goes on after its end");
		d->state = ST_DONE;
		return 0;
	default:
		return fail(d, AWSCHUNKED_EMALFORMED, "internal state error");
	}
}

/* Gather line bytes from p (n of them); returns how many were used, or a
 * negative error. */
static long take_line(struct awschunked *d, const char *p, size_t n)
{
	const char *nl = memchr(p, '\n', n);
	size_t use = nl ? (size_t)(nl - p) + 1 : n;
	size_t body = nl ? use - 1 : use;
	if (d->line_len + body > LINE_MAX_LEN + 1)
		return fail(d, AWSCHUNKED_EMALFORMED, "a chunk line is too long");
	memcpy(d->line + d->line_len, p, body);
	d->line_len += body;
	if (!nl)
		return (long)use;
	if (d->line_len == 0 || d->line[d->line_len - 1] != '\r')
		return fail(d, AWSCHUNKED_EMALFORMED, "a chunk line does not end in CRLF");
	d->line_len--;
	int r = line_done(d);
	return r < 0 ? r : (long)use;
}

static long take_data(struct awschunked *d, const char *p, size_t n)
{
	size_t use = n < d->remaining ? n : (size_t)d->remaining;
	if (is_signed(d))
		checksum_update(&d->sha, p, use);
	int r = d->data ? d->data(d->ctx, p, use) : 0;
	if (r < 0)
		return fail(d, r, "the data could not be stored");
	d->decoded += use;
	d->remaining -= use;
	if (d->remaining == 0) {
		if (is_signed(d) && verify_chunk(d) < 0)
			return d->error;
		d->state = ST_DATA_END;
	}
	return (long)use;
}

int awschunked_feed(struct awschunked *d, const void *data, size_t n)
{
	const char *p = data;
	if (d->error)
		return d->error;
	while (n > 0) {
		long used;
		if (d->state == ST_DONE)
			return fail(d, AWSCHUNKED_EMALFORMED, "the body goes on after its end");
		if (d->state == ST_DATA)
			used = take_data(d, p, n);
		else
			used = take_line(d, p, n);
		if (used < 0)
			return (int)used;
		p += used;
		n -= (size_t)used;
	}
	return 0;
}

int awschunked_finish(struct awschunked *d)
{
	if (d->error)
		return d->error;
	if (d->state != ST_DONE)
		return fail(d, AWSCHUNKED_EMALFORMED, "the body ended before its final chunk");
	return 0;
}

const char *awschunked_error(const struct awschunked *d)
{
	return d->why;
}

uint64_t awschunked_decoded_len(const struct awschunked *d)
{
	return d->decoded;
}

const struct awschunked_trailer *awschunked_trailers(const struct awschunked *d, size_t *ret_n)
{
	*ret_n = d->ntrailers;
	return d->trailers;
}

const char *awschunked_trailer(const struct awschunked *d, const char *name)
{
	for (size_t i = 0; i < d->ntrailers; i++)
		if (str_eq_nocase(d->trailers[i].name, name))
			return d->trailers[i].value;
	return NULL;
}
