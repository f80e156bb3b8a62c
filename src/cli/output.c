/* output: what the CLI prints. -o json prints the API's JSON unchanged
 * (indented); tables print a chosen subset of fields in aligned columns;
 * a single object prints as "field  value" lines with nested objects
 * flattened to dotted names. Cells never hold a newline or a tab. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "lib/buf.h"
#include "lib/util.h"

void out_json(const json_t *v)
{
	char *s = json_dumps(v, JSON_INDENT(2) | JSON_ENCODE_ANY);
	if (s)
		puts(s);
	free(s);
}

const json_t *out_get(const json_t *v, const char *path)
{
	char key[128];
	while (v && *path) {
		size_t len = strcspn(path, ".");
		if (len >= sizeof(key))
			return NULL;
		memcpy(key, path, len);
		key[len] = '\0';
		uint64_t idx;
		if (json_is_array(v)) /* "fixed_ips.0.ip": an element by its index */
			v = parse_u64(key, 0, SIZE_MAX, &idx) == 0 ? json_array_get(v, (size_t)idx)
								   : NULL;
		else
			v = json_object_get(v, key);
		path += len + (path[len] == '.');
	}
	return v;
}

char *out_cell(const json_t *v)
{
	char *s;
	if (!v || json_is_null(v))
		return xstrdup("-");
	if (json_is_string(v))
		s = xstrdup(json_string_value(v));
	else if (json_is_real(v))
		s = xasprintf("%g", json_real_value(v));
	else
		s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	for (char *p = s; *p; p++)
		if (*p == '\n' || *p == '\t' || *p == '\r')
			*p = ' ';
	return s;
}

/* One column of a table: "HEADER=path" or "path" (header: path upper-cased). */
struct column {
	char header[64];
	char path[64];
	size_t width;
};

static size_t parse_columns(const char *spec, struct column *cols, size_t max)
{
	size_t n = 0;
	while (*spec && n < max) {
		size_t len = strcspn(spec, ",");
		char item[128];
		str_copy(item, len < sizeof(item) ? len + 1 : sizeof(item), spec);
		char *eq = strchr(item, '=');
		struct column *c = &cols[n++];
		if (eq) {
			*eq = '\0';
			str_copy(c->header, sizeof(c->header), item);
			str_copy(c->path, sizeof(c->path), eq + 1);
		} else {
			str_copy(c->path, sizeof(c->path), item);
			str_copy(c->header, sizeof(c->header), item);
			for (char *p = c->header; *p; p++)
				*p = *p == '.' || *p == '_' ? ' ' : (char)(*p - 32 * (*p >= 'a' && *p <= 'z'));
		}
		c->width = str_utf8_len(c->header);
		spec += len + (spec[len] == ',');
	}
	return n;
}

static void print_padded(const char *s, size_t width, bool last)
{
	fputs(s, stdout);
	if (last)
		return;
	for (size_t w = str_utf8_len(s); w < width + 2; w++)
		fputc(' ', stdout);
}

void out_table(const json_t *items, const char *columns)
{
	struct column cols[16];
	size_t nc = parse_columns(columns, cols, ARRAY_SIZE(cols));
	size_t nr = json_array_size(items);
	char **cells = xcalloc(nr * nc + 1, sizeof(char *));
	for (size_t r = 0; r < nr; r++)
		for (size_t c = 0; c < nc; c++) {
			char *s = out_cell(out_get(json_array_get(items, r), cols[c].path));
			size_t w = str_utf8_len(s);
			cols[c].width = w > cols[c].width ? w : cols[c].width;
			cells[r * nc + c] = s;
		}
	for (size_t c = 0; c < nc; c++)
		print_padded(cols[c].header, cols[c].width, c + 1 == nc);
	fputc('\n', stdout);
	for (size_t r = 0; r < nr; r++) {
		for (size_t c = 0; c < nc; c++)
			print_padded(cells[r * nc + c], cols[c].width, c + 1 == nc);
		fputc('\n', stdout);
	}
	for (size_t i = 0; i < nr * nc; i++)
		free(cells[i]);
	free(cells);
}

/* Collect "dotted.key value" pairs of v into keys/vals. */
static void flatten(const json_t *v, const char *prefix, json_t *pairs)
{
	const char *key;
	json_t *x;
	json_object_foreach((json_t *)v, key, x) {
		char *name = prefix ? xasprintf("%s.%s", prefix, key) : xstrdup(key);
		if (json_is_object(x) && json_object_size(x))
			flatten(x, name, pairs);
		else
			json_array_append_new(pairs, json_pack("[s, O]", name, x));
		free(name);
	}
}

void out_object(const json_t *v)
{
	json_t *pairs = json_array();
	flatten(v, NULL, pairs);
	size_t width = 0, i;
	json_t *p;
	json_array_foreach(pairs, i, p) {
		size_t w = strlen(json_string_value(json_array_get(p, 0)));
		width = w > width ? w : width;
	}
	json_array_foreach(pairs, i, p) {
		const json_t *x = json_array_get(p, 1);
		printf("%-*s  ", (int)width, json_string_value(json_array_get(p, 0)));
		if (json_is_string(x) && strchr(json_string_value(x), '\n')) {
			printf("|\n%s", json_string_value(x)); /* a key, user data: as it is */
			continue;
		}
		char *s = out_cell(x);
		puts(s);
		free(s);
	}
	json_decref(pairs);
}

void show_quotas(const json_t *v)
{
	json_t *rows = json_array();
	const char *key;
	json_t *q;
	json_object_foreach(json_object_get(v, "quotas"), key, q)
		json_array_append_new(rows, json_pack("{s:s, s:O, s:O}", "resource", key, "limit",
						      json_object_get(q, "limit"), "used",
						      json_object_get(q, "used")));
	out_table(rows, "resource,limit,used");
	json_decref(rows);
}

void out_answer(const struct cli *cli, const struct cli_cmd *cmd, const json_t *v)
{
	if (!v)
		return;
	if (cli->output == OUT_JSON) {
		out_json(v);
		return;
	}
	if (cmd->show) {
		cmd->show(v);
		return;
	}
	const json_t *items = json_object_get(v, "items");
	if (json_is_array(items) && cmd->columns) {
		out_table(items, cmd->columns);
		const char *next = json_string_value(json_object_get(v, "next"));
		if (next)
			fprintf(stderr, "(more: --cursor %s, or --all)\n", next);
		return;
	}
	if (json_is_object(v))
		out_object(v);
	else
		out_json(v);
}
