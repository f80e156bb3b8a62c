/* fuzz_s3xml: the S3 XML request-body parsers and the XML writer.
 *
 * The first input byte picks what runs (modulo 6): 0 CompleteMultipartUpload,
 * 1 Delete, 2 VersioningConfiguration, 3 CORSConfiguration,
 * 4 CreateBucketConfiguration, each given the rest of the input as the
 * body; 5 the writer, given the rest as text.
 *
 * Contracts checked: a parser returns 0 or -EINVAL, with a reason when it
 * fails; what it returns keeps its limits (1 to 10000 parts numbered 1 to
 * 10000 with non-empty ETags and well-formed checksums, 1 to 1000 non-empty
 * keys, 1 to 100 CORS rules each with an origin and a known method, a
 * versioning status in range). The writer's output, wrapped in a Delete
 * document, parses back to the very text it was given whenever that text
 * is valid UTF-8 with no control characters but TAB, LF and CR. */
#include <errno.h>
#include <stdbool.h>

#include "fuzz.h"
#include "lib/arena.h"
#include "lib/buf.h"
#include "lib/s3xml.h"

#define MAX_INPUT (1 << 20)

static void check_complete(struct arena *a, const char *b, size_t n)
{
	struct s3xml_complete c;
	const char *why = NULL;
	int r = s3xml_parse_complete(a, b, n, &c, &why);
	CHECK(r == 0 || r == -EINVAL);
	if (r < 0) {
		CHECK(why && *why);
		return;
	}
	CHECK(c.nparts >= 1 && c.nparts <= S3XML_MAX_PARTS);
	for (size_t i = 0; i < c.nparts; i++) {
		CHECK(c.parts[i].number >= 1 && c.parts[i].number <= S3XML_MAX_PART_NUMBER);
		CHECK(c.parts[i].etag && *c.parts[i].etag);
		for (int k = 0; k < S3XML_NCHECKSUMS; k++) {
			unsigned char raw[CHECKSUM_MAX];
			if (c.parts[i].checksum[k])
				CHECK(checksum_parse_base64(k, c.parts[i].checksum[k], raw) == 0);
		}
	}
}

static void check_delete(struct arena *a, const char *b, size_t n)
{
	struct s3xml_delete d;
	const char *why = NULL;
	int r = s3xml_parse_delete(a, b, n, &d, &why);
	CHECK(r == 0 || r == -EINVAL);
	if (r < 0) {
		CHECK(why && *why);
		return;
	}
	CHECK(d.nobjects >= 1 && d.nobjects <= S3XML_MAX_DELETE_KEYS);
	for (size_t i = 0; i < d.nobjects; i++)
		CHECK(d.objects[i].key && *d.objects[i].key);
}

static void check_cors(struct arena *a, const char *b, size_t n)
{
	struct s3xml_cors c;
	const char *why = NULL;
	int r = s3xml_parse_cors(a, b, n, &c, &why);
	CHECK(r == 0 || r == -EINVAL);
	if (r < 0) {
		CHECK(why && *why);
		return;
	}
	CHECK(c.nrules >= 1 && c.nrules <= S3XML_MAX_CORS_RULES);
	for (size_t i = 0; i < c.nrules; i++) {
		const struct s3xml_cors_rule *rule = &c.rules[i];
		CHECK(rule->norigins >= 1 && rule->nmethods >= 1);
		CHECK(rule->max_age >= -1 && rule->max_age <= INT32_MAX);
		for (size_t j = 0; j < rule->nmethods; j++) {
			const char *m = rule->allowed_methods[j];
			CHECK(!strcmp(m, "GET") || !strcmp(m, "PUT") || !strcmp(m, "POST") ||
			      !strcmp(m, "DELETE") || !strcmp(m, "HEAD"));
		}
		for (size_t j = 0; j < rule->norigins; j++)
			CHECK(*rule->allowed_origins[j]);
	}
}

static void check_small(struct arena *a, const char *b, size_t n, bool versioning)
{
	const char *why = NULL;
	int r;
	if (versioning) {
		struct s3xml_versioning v;
		r = s3xml_parse_versioning(a, b, n, &v, &why);
		CHECK(r != 0 || v.status == S3XML_VERSIONING_ABSENT ||
		      v.status == S3XML_VERSIONING_ENABLED || v.status == S3XML_VERSIONING_SUSPENDED);
	} else {
		struct s3xml_create_bucket cb;
		r = s3xml_parse_create_bucket(a, b, n, &cb, &why);
		CHECK(r != 0 || !cb.location || (*cb.location && strlen(cb.location) <= 64));
	}
	CHECK(r == 0 || r == -EINVAL);
	CHECK(r == 0 || (why && *why));
}

/* True when the n bytes of s are valid UTF-8 (shortest forms only) of
 * characters XML 1.0 allows: no control character but TAB, LF and CR, no
 * surrogate, neither U+FFFE nor U+FFFF, nothing past U+10FFFF. */
static bool xml_text_ok(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + n;
	while (p < end) {
		uint32_t cp;
		size_t len;
		if (p[0] < 0x80) {
			cp = p[0];
			len = 1;
		} else if ((p[0] & 0xe0) == 0xc0) {
			cp = p[0] & 0x1f;
			len = 2;
		} else if ((p[0] & 0xf0) == 0xe0) {
			cp = p[0] & 0x0f;
			len = 3;
		} else if ((p[0] & 0xf8) == 0xf0) {
			cp = p[0] & 0x07;
			len = 4;
		} else {
			return false;
		}
		if ((size_t)(end - p) < len)
			return false;
		for (size_t i = 1; i < len; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (p[i] & 0x3f);
		}
		static const uint32_t min[] = { 0, 0, 0x80, 0x800, 0x10000 };
		if (cp < min[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) ||
		    cp == 0xfffe || cp == 0xffff ||
		    (cp < 0x20 && cp != '\t' && cp != '\n' && cp != '\r'))
			return false;
		p += len;
	}
	return true;
}

static void check_writer(struct arena *a, const char *s, size_t n)
{
	struct buf b;
	buf_init(&b, 0);
	s3xml_escape(&b, s, n);
	for (size_t i = 0; i < b.len; i++) {
		unsigned char c = (unsigned char)b.data[i];
		CHECK(c >= 0x20 && c != '<' && c != '>' && c != '"' && c != '\'');
	}
	if (n == 0 || !xml_text_ok(s, n) || strlen(s) != n) {
		buf_release(&b);
		return;
	}
	struct buf doc;
	buf_init(&doc, 0);
	s3xml_declaration(&doc);
	buf_puts(&doc, "<Delete><Object>");
	s3xml_element(&doc, "Key", s);
	buf_puts(&doc, "</Object></Delete>");
	struct s3xml_delete d;
	const char *why = NULL;
	CHECK(s3xml_parse_delete(a, doc.data, doc.len, &d, &why) == 0);
	CHECK(d.nobjects == 1 && strcmp(d.objects[0].key, s) == 0);
	buf_release(&doc);
	buf_release(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > MAX_INPUT)
		return 0;
	struct arena *a = arena_new();
	char *body = fuzz_strndup(data + 1, size - 1);
	size_t n = size - 1;
	switch (data[0] % 6) {
	case 0:
		check_complete(a, body, n);
		break;
	case 1:
		check_delete(a, body, n);
		break;
	case 2:
		check_small(a, body, n, true);
		break;
	case 3:
		check_cors(a, body, n);
		break;
	case 4:
		check_small(a, body, n, false);
		break;
	default:
		check_writer(a, body, n);
		break;
	}
	free(body);
	arena_free(a);
	return 0;
}
