/* s3xml: see s3xml.h.
 *
 * Documents are parsed into a libxml2 tree with XML_PARSE_NONET and without
 * XML_PARSE_NOENT, XML_PARSE_DTDLOAD or XML_PARSE_HUGE, and the SAX hook
 * that announces a DOCTYPE stops the parser at once: a document that
 * declares anything is refused before any declaration is read, which
 * closes the doors to external entities (XXE) and to entity expansion
 * (billion laughs). Predefined entities and character references are all
 * that remains, and libxml2 resolves them into text. libxml2's own depth
 * limit (256) bounds nesting.
 *
 * Each document kind walks its tree in two passes per list (count, then
 * fill an arena array of exactly that size) so that no list grows past its
 * limit or reallocates. */
#include "s3xml.h"

#include <errno.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <pthread.h>
#include <string.h>

#include "util.h"

#define MAX_CORS_ID 255
#define MAX_LOCATION 64

static pthread_once_t xml_once = PTHREAD_ONCE_INIT;

static void xml_init(void)
{
	xmlInitParser();
}

/* The SAX callback for <!DOCTYPE ...>: stop here. */
static void refuse_dtd(void *ctx, const xmlChar *name, const xmlChar *external_id,
		       const xmlChar *system_id)
{
	xmlStopParser(ctx);
}

/* Parse body into a tree whose root must be <root>. Returns 0 and the
 * document (caller frees with xmlFreeDoc) or -EINVAL with why. */
static int parse_doc(const char *body, size_t n, size_t limit, const char *root,
		     xmlDocPtr *ret, const char **why)
{
	if (n > limit) {
		*why = "the XML body is too large";
		return -EINVAL;
	}
	if (n == 0) {
		*why = "the XML body is empty";
		return -EINVAL;
	}
	pthread_once(&xml_once, xml_init);
	xmlParserCtxtPtr c = xmlNewParserCtxt();
	if (!c)
		abort();
	c->sax->internalSubset = refuse_dtd;
	xmlDocPtr doc = xmlCtxtReadMemory(c, body, (int)n, NULL, NULL,
					  XML_PARSE_NONET | XML_PARSE_NOERROR |
						  XML_PARSE_NOWARNING);
	bool stopped = c->errNo == XML_ERR_USER_STOP;
	bool well_formed = c->wellFormed;
	xmlFreeParserCtxt(c);
	if (stopped || !doc || !well_formed) {
		xmlFreeDoc(doc);
		*why = stopped ? "a DOCTYPE is not allowed in the XML body"
			       : "the XML body is not well-formed";
		return -EINVAL;
	}
	xmlNodePtr r = xmlDocGetRootElement(doc);
	if (!r || strcmp((const char *)r->name, root) != 0) {
		xmlFreeDoc(doc);
		*why = "the XML body's root element is not the one this request takes";
		return -EINVAL;
	}
	*ret = doc;
	return 0;
}

static bool named(xmlNodePtr n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}

static size_t count_named(xmlNodePtr parent, const char *name)
{
	size_t k = 0;
	for (xmlNodePtr c = parent->children; c; c = c->next)
		if (named(c, name))
			k++;
	return k;
}

/* The text inside element n (arena), or NULL with why when it holds an
 * element. */
static const char *text_of(struct arena *a, xmlNodePtr n, const char **why)
{
	struct buf b;
	buf_init(&b, 0);
	for (xmlNodePtr c = n->children; c; c = c->next) {
		if (c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) {
			if (c->content)
				buf_puts(&b, (const char *)c->content);
		} else if (c->type == XML_ELEMENT_NODE) {
			buf_release(&b);
			*why = arena_printf(a, "<%s> must hold text, not elements", n->name);
			return NULL;
		}
	}
	const char *s = arena_strndup(a, b.data ? b.data : "", b.len);
	buf_release(&b);
	return s;
}

/* The text of n with spaces around it removed (arena), or NULL. */
static const char *trimmed_text_of(struct arena *a, xmlNodePtr n, const char **why)
{
	const char *s = text_of(a, n, why);
	if (!s)
		return NULL;
	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	size_t len = strlen(s);
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r' ||
			   s[len - 1] == '\n'))
		len--;
	return arena_strndup(a, s, len);
}

/* Take the text of n into *slot, refusing a second occurrence. */
static int take_once(struct arena *a, xmlNodePtr n, bool trim, const char **slot,
		     const char **why)
{
	if (*slot) {
		*why = arena_printf(a, "<%s> appears more than once", n->name);
		return -EINVAL;
	}
	*slot = trim ? trimmed_text_of(a, n, why) : text_of(a, n, why);
	return *slot ? 0 : -EINVAL;
}

static int take_number(struct arena *a, xmlNodePtr n, uint64_t min, uint64_t max,
		       const char **slot, uint64_t *ret, const char **why)
{
	if (take_once(a, n, true, slot, why) < 0)
		return -EINVAL;
	if (parse_u64(*slot, min, max, ret) < 0) {
		*why = arena_printf(a, "<%s> must be a whole number from %llu to %llu", n->name,
				    (unsigned long long)min, (unsigned long long)max);
		return -EINVAL;
	}
	return 0;
}

/* --------------------------------------------------- CompleteMultipartUpload */

static int complete_part(struct arena *a, xmlNodePtr p, struct s3xml_part *part,
			 const char **why)
{
	const char *number = NULL, *etag = NULL;
	uint64_t num = 0;
	for (xmlNodePtr c = p->children; c; c = c->next) {
		int r = 0;
		if (named(c, "PartNumber")) {
			r = take_number(a, c, 1, S3XML_MAX_PART_NUMBER, &number, &num, why);
		} else if (named(c, "ETag")) {
			r = take_once(a, c, true, &etag, why);
		} else if (c->type == XML_ELEMENT_NODE &&
			   str_starts_with((const char *)c->name, "Checksum")) {
			enum checksum_algo algo = checksum_parse_algo((const char *)c->name + 8);
			if (algo == CHECKSUM_NONE || algo == CHECKSUM_MD5)
				continue; /* not ours: ignored like any unknown element */
			unsigned char raw[CHECKSUM_MAX];
			r = take_once(a, c, true, &part->checksum[algo], why);
			if (r == 0 && checksum_parse_base64(algo, part->checksum[algo], raw) < 0) {
				*why = arena_printf(a, "<%s> is not the base64 of a %s checksum",
						    c->name, checksum_algo_name(algo));
				r = -EINVAL;
			}
		}
		if (r < 0)
			return r;
	}
	if (!number || !etag) {
		*why = "each <Part> needs a <PartNumber> and an <ETag>";
		return -EINVAL;
	}
	size_t len = strlen(etag);
	if (len >= 2 && etag[0] == '"' && etag[len - 1] == '"')
		etag = arena_strndup(a, etag + 1, len - 2);
	if (!*etag) {
		*why = "a <Part> has an empty <ETag>";
		return -EINVAL;
	}
	part->number = (uint32_t)num;
	part->etag = etag;
	return 0;
}

int s3xml_parse_complete(struct arena *a, const char *body, size_t n,
			 struct s3xml_complete *ret, const char **why)
{
	xmlDocPtr doc = NULL;
	if (parse_doc(body, n, S3XML_MAX_COMPLETE_BODY, "CompleteMultipartUpload", &doc, why) < 0)
		return -EINVAL;
	xmlNodePtr root = xmlDocGetRootElement(doc);
	int r = -EINVAL;
	size_t k = count_named(root, "Part");
	if (k == 0) {
		*why = "<CompleteMultipartUpload> lists no <Part>";
		goto out;
	}
	if (k > S3XML_MAX_PARTS) {
		*why = "<CompleteMultipartUpload> lists more than 10000 parts";
		goto out;
	}
	struct s3xml_part *parts = arena_alloc(a, k * sizeof(*parts));
	size_t i = 0;
	for (xmlNodePtr c = root->children; c; c = c->next)
		if (named(c, "Part") && complete_part(a, c, &parts[i++], why) < 0)
			goto out;
	ret->parts = parts;
	ret->nparts = k;
	r = 0;
out:
	xmlFreeDoc(doc);
	return r;
}

/* -------------------------------------------------------------------- Delete */

static int delete_object(struct arena *a, xmlNodePtr o, struct s3xml_delete_object *obj,
			 const char **why)
{
	const char *key = NULL, *version = NULL;
	for (xmlNodePtr c = o->children; c; c = c->next) {
		int r = 0;
		if (named(c, "Key"))
			r = take_once(a, c, false, &key, why);
		else if (named(c, "VersionId"))
			r = take_once(a, c, false, &version, why);
		if (r < 0)
			return r;
	}
	if (!key || !*key) {
		*why = "each <Object> needs a non-empty <Key>";
		return -EINVAL;
	}
	obj->key = key;
	obj->version_id = version;
	return 0;
}

static int parse_bool_text(struct arena *a, xmlNodePtr n, const char **slot, bool *ret,
			   const char **why)
{
	if (take_once(a, n, true, slot, why) < 0)
		return -EINVAL;
	if (str_eq_nocase(*slot, "true")) {
		*ret = true;
	} else if (str_eq_nocase(*slot, "false")) {
		*ret = false;
	} else {
		*why = arena_printf(a, "<%s> must be true or false", n->name);
		return -EINVAL;
	}
	return 0;
}

int s3xml_parse_delete(struct arena *a, const char *body, size_t n, struct s3xml_delete *ret,
		       const char **why)
{
	xmlDocPtr doc = NULL;
	if (parse_doc(body, n, S3XML_MAX_DELETE_BODY, "Delete", &doc, why) < 0)
		return -EINVAL;
	xmlNodePtr root = xmlDocGetRootElement(doc);
	int r = -EINVAL;
	size_t k = count_named(root, "Object");
	if (k == 0) {
		*why = "<Delete> lists no <Object>";
		goto out;
	}
	if (k > S3XML_MAX_DELETE_KEYS) {
		*why = "<Delete> lists more than 1000 objects";
		goto out;
	}
	struct s3xml_delete_object *objs = arena_alloc(a, k * sizeof(*objs));
	const char *quiet_text = NULL;
	bool quiet = false;
	size_t i = 0;
	for (xmlNodePtr c = root->children; c; c = c->next) {
		if (named(c, "Object") && delete_object(a, c, &objs[i++], why) < 0)
			goto out;
		if (named(c, "Quiet") && parse_bool_text(a, c, &quiet_text, &quiet, why) < 0)
			goto out;
	}
	ret->objects = objs;
	ret->nobjects = k;
	ret->quiet = quiet;
	r = 0;
out:
	xmlFreeDoc(doc);
	return r;
}

/* --------------------------------------------------- VersioningConfiguration */

int s3xml_parse_versioning(struct arena *a, const char *body, size_t n,
			   struct s3xml_versioning *ret, const char **why)
{
	xmlDocPtr doc = NULL;
	if (parse_doc(body, n, S3XML_MAX_SMALL_BODY, "VersioningConfiguration", &doc, why) < 0)
		return -EINVAL;
	xmlNodePtr root = xmlDocGetRootElement(doc);
	int r = -EINVAL;
	const char *status = NULL, *mfa = NULL;
	for (xmlNodePtr c = root->children; c; c = c->next) {
		if (named(c, "Status") && take_once(a, c, true, &status, why) < 0)
			goto out;
		if (named(c, "MfaDelete") && take_once(a, c, true, &mfa, why) < 0)
			goto out;
		if (named(c, "MFADelete") && take_once(a, c, true, &mfa, why) < 0)
			goto out;
	}
	if (!status) {
		ret->status = S3XML_VERSIONING_ABSENT;
	} else if (strcmp(status, "Enabled") == 0) {
		ret->status = S3XML_VERSIONING_ENABLED;
	} else if (strcmp(status, "Suspended") == 0) {
		ret->status = S3XML_VERSIONING_SUSPENDED;
	} else {
		*why = "<Status> must be Enabled or Suspended";
		goto out;
	}
	r = 0;
out:
	xmlFreeDoc(doc);
	return r;
}

/* --------------------------------------------------------- CORSConfiguration */

/* Every <name> child of rule, trimmed, into an arena array. */
static int collect(struct arena *a, xmlNodePtr rule, const char *name, const char ***ret,
		   size_t *ret_n, const char **why)
{
	size_t k = count_named(rule, name), i = 0;
	const char **v = arena_alloc(a, (k + 1) * sizeof(*v));
	for (xmlNodePtr c = rule->children; c; c = c->next) {
		if (!named(c, name))
			continue;
		v[i] = trimmed_text_of(a, c, why);
		if (!v[i])
			return -EINVAL;
		if (!*v[i]) {
			*why = arena_printf(a, "<%s> is empty", name);
			return -EINVAL;
		}
		i++;
	}
	*ret = v;
	*ret_n = k;
	return 0;
}

static int cors_methods_check(const struct s3xml_cors_rule *rule, const char **why)
{
	static const char *const ok[] = { "GET", "PUT", "POST", "DELETE", "HEAD" };
	for (size_t i = 0; i < rule->nmethods; i++) {
		bool found = false;
		for (size_t j = 0; j < ARRAY_SIZE(ok); j++)
			found = found || strcmp(rule->allowed_methods[i], ok[j]) == 0;
		if (!found) {
			*why = "<AllowedMethod> must be GET, PUT, POST, DELETE or HEAD";
			return -EINVAL;
		}
	}
	return 0;
}

static int cors_rule(struct arena *a, xmlNodePtr n, struct s3xml_cors_rule *rule,
		     const char **why)
{
	const char *max_age = NULL;
	uint64_t age = 0;
	rule->max_age = -1;
	for (xmlNodePtr c = n->children; c; c = c->next) {
		if (named(c, "ID") && take_once(a, c, true, &rule->id, why) < 0)
			return -EINVAL;
		if (named(c, "MaxAgeSeconds")) {
			if (take_number(a, c, 0, INT32_MAX, &max_age, &age, why) < 0)
				return -EINVAL;
			rule->max_age = (int64_t)age;
		}
	}
	if (rule->id && strlen(rule->id) > MAX_CORS_ID) {
		*why = "a CORS rule's <ID> is longer than 255 characters";
		return -EINVAL;
	}
	if (collect(a, n, "AllowedOrigin", &rule->allowed_origins, &rule->norigins, why) < 0 ||
	    collect(a, n, "AllowedMethod", &rule->allowed_methods, &rule->nmethods, why) < 0 ||
	    collect(a, n, "AllowedHeader", &rule->allowed_headers, &rule->nallowed_headers,
		    why) < 0 ||
	    collect(a, n, "ExposeHeader", &rule->expose_headers, &rule->nexpose_headers, why) < 0)
		return -EINVAL;
	if (rule->norigins == 0 || rule->nmethods == 0) {
		*why = "each <CORSRule> needs an <AllowedOrigin> and an <AllowedMethod>";
		return -EINVAL;
	}
	return cors_methods_check(rule, why);
}

int s3xml_parse_cors(struct arena *a, const char *body, size_t n, struct s3xml_cors *ret,
		     const char **why)
{
	xmlDocPtr doc = NULL;
	if (parse_doc(body, n, S3XML_MAX_CORS_BODY, "CORSConfiguration", &doc, why) < 0)
		return -EINVAL;
	xmlNodePtr root = xmlDocGetRootElement(doc);
	int r = -EINVAL;
	size_t k = count_named(root, "CORSRule");
	if (k == 0) {
		*why = "<CORSConfiguration> holds no <CORSRule>";
		goto out;
	}
	if (k > S3XML_MAX_CORS_RULES) {
		*why = "<CORSConfiguration> holds more than 100 rules";
		goto out;
	}
	struct s3xml_cors_rule *rules = arena_alloc(a, k * sizeof(*rules));
	size_t i = 0;
	for (xmlNodePtr c = root->children; c; c = c->next)
		if (named(c, "CORSRule") && cors_rule(a, c, &rules[i++], why) < 0)
			goto out;
	ret->rules = rules;
	ret->nrules = k;
	r = 0;
out:
	xmlFreeDoc(doc);
	return r;
}

/* ------------------------------------------------- CreateBucketConfiguration */

int s3xml_parse_create_bucket(struct arena *a, const char *body, size_t n,
			      struct s3xml_create_bucket *ret, const char **why)
{
	xmlDocPtr doc = NULL;
	if (parse_doc(body, n, S3XML_MAX_SMALL_BODY, "CreateBucketConfiguration", &doc, why) < 0)
		return -EINVAL;
	xmlNodePtr root = xmlDocGetRootElement(doc);
	int r = -EINVAL;
	const char *loc = NULL;
	for (xmlNodePtr c = root->children; c; c = c->next)
		if (named(c, "LocationConstraint") && take_once(a, c, true, &loc, why) < 0)
			goto out;
	if (loc && (strlen(loc) > MAX_LOCATION || !str_only(loc, true, "-_"))) {
		*why = "<LocationConstraint> must be a region name";
		goto out;
	}
	ret->location = loc && *loc ? loc : NULL;
	r = 0;
out:
	xmlFreeDoc(doc);
	return r;
}

/* ------------------------------------------------------------------- writer */

void s3xml_escape(struct buf *out, const char *s, size_t n)
{
	size_t start = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		const char *rep = NULL;
		char num[8];
		switch (c) {
		case '&':
			rep = "&amp;";
			break;
		case '<':
			rep = "&lt;";
			break;
		case '>':
			rep = "&gt;";
			break;
		case '"':
			rep = "&quot;";
			break;
		case '\'':
			rep = "&apos;";
			break;
		case '\t':
			rep = "&#9;";
			break;
		case '\n':
			rep = "&#10;";
			break;
		case '\r':
			rep = "&#13;";
			break;
		default:
			if (c < 0x20) {
				str_printf(num, sizeof(num), "&#x%X;", c);
				rep = num;
			}
			break;
		}
		if (!rep)
			continue;
		buf_append(out, s + start, i - start);
		buf_puts(out, rep);
		start = i + 1;
	}
	buf_append(out, s + start, n - start);
}

void s3xml_element(struct buf *out, const char *name, const char *text)
{
	buf_printf(out, "<%s>", name);
	s3xml_escape(out, text, strlen(text));
	buf_printf(out, "</%s>", name);
}

void s3xml_declaration(struct buf *out)
{
	buf_puts(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
}
