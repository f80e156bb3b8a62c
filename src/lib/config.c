/* config: see config.h. The INI dialect: "[section]" lines, "key = value"
 * lines, comments starting with '#' or ';', blank lines; values may be
 * double-quoted to keep leading or trailing spaces. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "util.h"

#define CONFIG_FILE_LIMIT (1024 * 1024)

static int set_value(const struct config_opt *o, void *target, const char *value,
		     const char *where, struct err *err)
{
	void *slot = (char *)target + o->offset;
	uint64_t v = 0;
	int r;
	switch (o->type) {
	case CONFIG_STRING:
		free(*(char **)slot);
		*(char **)slot = xstrdup(value);
		return 0;
	case CONFIG_BOOL:
		if (parse_bool(value, (bool *)slot) < 0)
			return err_set(err, ERR_INVALID, o->flag, "%s: --%s wants true or false, not '%s'",
				       where, o->flag, value);
		return 0;
	case CONFIG_UINT:
		r = parse_u64(value, o->min, o->max, &v);
		break;
	case CONFIG_SIZE:
		r = parse_size(value, &v);
		if (r == 0 && (v < o->min || v > o->max))
			r = -ERANGE;
		break;
	default:
		return err_set(err, ERR_INVALID, o->flag, "%s: bad option type", where);
	}
	if (r < 0)
		return err_set(err, ERR_INVALID, o->flag,
			       "%s: --%s wants a number from %llu to %llu%s, not '%s'", where,
			       o->flag, (unsigned long long)o->min, (unsigned long long)o->max,
			       o->type == CONFIG_SIZE ? " (bytes; K, M, G suffixes allowed)" : "",
			       value);
	*(uint64_t *)slot = v;
	return 0;
}

int config_defaults(const struct config_opt *opts, size_t n, void *target, struct err *err)
{
	for (size_t i = 0; i < n; i++) {
		if (!opts[i].def)
			continue;
		int r = set_value(&opts[i], target, opts[i].def, "default", err);
		if (r < 0)
			return r;
	}
	return 0;
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

static const struct config_opt *find_ini(const struct config_opt *opts, size_t n,
					 const char *section, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (opts[i].section && strcmp(opts[i].section, section) == 0 &&
		    strcmp(opts[i].key, key) == 0)
			return &opts[i];
	return NULL;
}

static bool section_known(const struct config_opt *opts, size_t n, const char *section)
{
	for (size_t i = 0; i < n; i++)
		if (opts[i].section && strcmp(opts[i].section, section) == 0)
			return true;
	return false;
}

static int parse_line(const struct config_opt *opts, size_t n, void *target, char *line,
		      char *section, size_t section_size, const char *where, struct err *err)
{
	char *s = trim(line);
	if (!*s || *s == '#' || *s == ';')
		return 0;
	if (*s == '[') {
		char *end = strchr(s, ']');
		if (!end || end[1] != '\0')
			return err_set(err, ERR_INVALID, "", "%s: malformed section header", where);
		*end = '\0';
		char *name = trim(s + 1);
		if (!section_known(opts, n, name))
			return err_set(err, ERR_INVALID, "", "%s: unknown section [%s]", where, name);
		str_copy(section, section_size, name);
		return 0;
	}
	char *eq = strchr(s, '=');
	if (!eq)
		return err_set(err, ERR_INVALID, "", "%s: expected 'key = value'", where);
	*eq = '\0';
	char *key = trim(s), *value = trim(eq + 1);
	size_t vlen = strlen(value);
	if (vlen >= 2 && value[0] == '"' && value[vlen - 1] == '"') {
		value[vlen - 1] = '\0';
		value++;
	}
	if (!*section)
		return err_set(err, ERR_INVALID, "", "%s: '%s' is outside any [section]", where, key);
	const struct config_opt *o = find_ini(opts, n, section, key);
	if (!o)
		return err_set(err, ERR_INVALID, "", "%s: unknown key '%s' in [%s]", where, key,
			       section);
	return set_value(o, target, value, where, err);
}

int config_load_text(const struct config_opt *opts, size_t n, void *target, const char *text,
		     const char *name, struct err *err)
{
	char section[64] = "";
	char *copy = xstrdup(text), *save = copy;
	int lineno = 0, r = 0;
	while (save) {
		char *line = save;
		char *nl = strchr(line, '\n');
		if (nl) {
			*nl = '\0';
			save = nl + 1;
		} else {
			save = NULL;
		}
		lineno++;
		char where[256];
		str_printf(where, sizeof(where), "%s:%d", name, lineno);
		r = parse_line(opts, n, target, line, section, sizeof(section), where, err);
		if (r < 0)
			break;
	}
	free(copy);
	return r;
}

int config_load_file(const struct config_opt *opts, size_t n, void *target, const char *path,
		     struct err *err)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return err_set(err, ERR_NOT_FOUND, "config", "cannot open config file %s: %s", path,
			       strerror(errno));
	struct buf b;
	buf_init(&b, CONFIG_FILE_LIMIT);
	char chunk[4096];
	size_t got;
	int r = 0;
	while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (buf_append(&b, chunk, got) < 0) {
			r = err_set(err, ERR_INVALID, "config", "config file %s is larger than 1 MiB",
				    path);
			break;
		}
	}
	fclose(f);
	if (r == 0)
		r = config_load_text(opts, n, target, b.data ? b.data : "", path, err);
	buf_release(&b);
	return r;
}

static const struct config_opt *find_flag(const struct config_opt *opts, size_t n,
					  const char *flag, size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(opts[i].flag) == len && strncmp(opts[i].flag, flag, len) == 0)
			return &opts[i];
	return NULL;
}

int config_load_args(const struct config_opt *opts, size_t n, void *target, int argc,
		     char **argv, struct err *err)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!str_starts_with(a, "--") || a[2] == '\0')
			return err_set(err, ERR_INVALID, "", "unexpected argument '%s' (see --help)", a);
		const char *name = a + 2, *eq = strchr(name, '=');
		size_t len = eq ? (size_t)(eq - name) : strlen(name);
		const struct config_opt *o = find_flag(opts, n, name, len);
		if (!o)
			return err_set(err, ERR_INVALID, "", "unknown option '%.*s' (see --help)",
				       (int)len + 2, a);
		const char *value;
		if (eq) {
			value = eq + 1;
		} else if (o->type == CONFIG_BOOL) {
			bool b;
			/* "--flag false" as well as "--flag" and "--flag=false" */
			if (i + 1 < argc && parse_bool(argv[i + 1], &b) == 0)
				value = argv[++i];
			else
				value = "true";
		} else if (i + 1 < argc) {
			value = argv[++i];
		} else {
			return err_set(err, ERR_INVALID, o->flag, "option --%s needs a value", o->flag);
		}
		int r = set_value(o, target, value, "command line", err);
		if (r < 0)
			return r;
	}
	return 0;
}

const char *config_find_arg(int argc, char **argv, const char *flag)
{
	size_t len = strlen(flag);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!str_starts_with(a, "--") || strncmp(a + 2, flag, len) != 0)
			continue;
		if (a[2 + len] == '=')
			return a + 3 + len;
		if (a[2 + len] == '\0' && i + 1 < argc)
			return argv[i + 1];
	}
	return NULL;
}

void config_help(const struct config_opt *opts, size_t n, FILE *out)
{
	for (size_t i = 0; i < n; i++) {
		const struct config_opt *o = &opts[i];
		const char *arg = o->type == CONFIG_BOOL ? "" : o->type == CONFIG_STRING ? " VALUE"
							       : o->type == CONFIG_SIZE ? " BYTES" : " N";
		fprintf(out, "  --%s%s\n      %s", o->flag, arg, o->help);
		if (o->def && *o->def)
			fprintf(out, " (default: %s)", o->def);
		if (o->section)
			fprintf(out, "\n      config file: [%s] %s", o->section, o->key);
		fputc('\n', out);
	}
}

void config_release(const struct config_opt *opts, size_t n, void *target)
{
	for (size_t i = 0; i < n; i++) {
		if (opts[i].type != CONFIG_STRING)
			continue;
		char **slot = (char **)((char *)target + opts[i].offset);
		free(*slot);
		*slot = NULL;
	}
}
