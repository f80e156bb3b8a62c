/* fuzz_sigv4: the SigV4 parsers and canonical request builder, fed from
 * outside bytes exactly as the API feeds them from a request.
 *
 * The input is split on newlines: line 1 is an Authorization header,
 * line 2 the method, line 3 the raw path, line 4 the raw query string, and
 * every further line a "name:value" request header. Both the header form
 * and the presigned query form are parsed; whatever parses is turned into
 * a canonical request, a string to sign and a signature.
 *
 * Contracts checked: a parsed header has a 64-digit lower-case hex
 * signature, a credential scope date of 8 digits and signed headers that
 * include host; a canonical request starts with the method line and ends
 * with the payload hash; a signature is 64 lower-case hex digits. */
#include <errno.h>
#include <stdbool.h>

#include "fuzz.h"
#include "lib/sigv4.h"
#include "lib/util.h"

#define MAX_INPUT 8192
#define MAX_HEADERS 32
#define MAX_QUERY 64

struct hdrs {
	size_t n;
	const char *name[MAX_HEADERS];
	const char *value[MAX_HEADERS];
};

static const char *header_of(void *ctx, const char *name)
{
	struct hdrs *h = ctx;
	for (size_t i = 0; i < h->n; i++)
		if (str_eq_nocase(h->name[i], name))
			return h->value[i];
	return NULL;
}

static bool hex64(const char *s)
{
	if (strlen(s) != 64)
		return false;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return false;
	return true;
}

static void check_auth(const struct sigv4_auth *a)
{
	CHECK(hex64(a->signature));
	CHECK(strlen(a->date) == 8);
	for (int i = 0; i < 8; i++)
		CHECK(a->date[i] >= '0' && a->date[i] <= '9');
	CHECK(a->access_key[0] && a->region[0] && a->service[0]);
	const char *sh = a->signed_headers;
	CHECK(strcmp(sh, "host") == 0 || str_starts_with(sh, "host;") || strstr(sh, ";host;") ||
	      (strlen(sh) > 5 && strcmp(sh + strlen(sh) - 5, ";host") == 0));
}

static void sign(const struct sigv4_request *r, const struct sigv4_auth *a)
{
	char *canonical = NULL;
	if (sigv4_canonical_request(r, a, &canonical) < 0)
		return;
	size_t mlen = strlen(r->method);
	CHECK(strncmp(canonical, r->method, mlen) == 0 && canonical[mlen] == '\n');
	size_t clen = strlen(canonical), plen = strlen(r->payload_hash);
	CHECK(clen > plen && strcmp(canonical + clen - plen, r->payload_hash) == 0);
	char *sts = sigv4_string_to_sign(a, canonical);
	CHECK(str_starts_with(sts, SIGV4_ALGORITHM "\n"));
	char sig[65];
	sigv4_sign("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", a, sts, sig);
	CHECK(hex64(sig));
	free(sts);
	free(canonical);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > MAX_INPUT)
		return 0;
	char *text = fuzz_strndup(data, size);
	char *line[4] = { "", "GET", "/", "" };
	char *p = text;
	struct hdrs h = { 0 };
	for (int i = 0; p; i++) {
		char *nl = strchr(p, '\n');
		if (nl)
			*nl = '\0';
		if (i < 4) {
			line[i] = p;
		} else if (h.n < MAX_HEADERS) {
			char *colon = strchr(p, ':');
			if (colon) {
				*colon = '\0';
				h.name[h.n] = p;
				h.value[h.n++] = colon + 1;
			}
		}
		p = nl ? nl + 1 : NULL;
	}
	struct http_kv q[MAX_QUERY];
	size_t nq = 0;
	for (char *s = line[3]; s && *s && nq < MAX_QUERY;) {
		char *amp = strchr(s, '&');
		if (amp)
			*amp = '\0';
		char *eq = strchr(s, '=');
		if (eq)
			*eq = '\0';
		q[nq].key = s;
		q[nq++].value = eq ? eq + 1 : NULL;
		s = amp ? amp + 1 : NULL;
	}
	struct sigv4_request r = { .method = line[1], .path = line[2], .query = q, .nquery = nq,
				   .header = header_of, .header_ctx = &h,
				   .payload_hash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
				   .s3 = size % 2 == 0 };
	struct sigv4_auth a;
	const char *why = NULL;
	if (sigv4_parse_header(line[0], &a, &why) == 0) {
		check_auth(&a);
		str_copy(a.amz_date, sizeof(a.amz_date), "20150830T123600Z");
		sign(&r, &a);
	} else {
		CHECK(why && *why);
	}
	int rq = sigv4_parse_query(q, nq, &a, &why);
	if (rq == 0) {
		check_auth(&a);
		CHECK(a.presigned && a.expires >= 1 && a.expires <= SIGV4_MAX_EXPIRES);
		CHECK(strlen(a.amz_date) == 16);
		int64_t ms;
		(void)sigv4_parse_amz_date(a.amz_date, &ms);
		sign(&r, &a);
	} else {
		CHECK(rq == -ENOENT || rq == -EINVAL);
	}
	free(text);
	return 0;
}
