/* nubo: the CLI's entry point. Global options are taken from anywhere on
 * the command line (before "--"); the first words then pick a row of the
 * command table (commands.c), and the rest is parsed by that row's
 * parameters into a path, a JSON body and a query string. Rows without a
 * handler are one request whose answer is printed; `list` rows follow the
 * `next` cursor with --all. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "lib/buf.h"
#include "lib/jsonreq.h"
#include "lib/util.h"
#include "version.h"

#define FILE_ARG_MAX (64 * 1024) /* --user-data-file, --public-key-file */

static const char GLOBAL_HELP[] =
	"global options:\n"
	"  -o, --output FORMAT  table (default) or json: the API's JSON as it came\n"
	"  --profile NAME       use this profile (default: NUBO_PROFILE, then the\n"
	"                       profile file's default)\n"
	"  --url URL            talk to this nubod (overrides NUBO_URL and the profile)\n"
	"  -h, --help           help for the command\n";

/* Print the resources and their help. */
static void usage_main(FILE *out)
{
	fprintf(out, "usage: nubo [global options] RESOURCE VERB [ARGS] [--flags]\n\n"
		     "A client for a nubo cloud's REST API. Resources:\n");
	for (const struct cli_resource *r = cli_resources; r->name; r++)
		fprintf(out, "  %-14s %s\n", r->name, r->help);
	fprintf(out, "\n%s\nRun `nubo RESOURCE --help` for its verbs, `nubo RESOURCE VERB "
		     "--help` for a verb's arguments. See nubo(1).\n",
		GLOBAL_HELP);
}

static void usage_resource(FILE *out, const char *res)
{
	fprintf(out, "usage: nubo %s VERB [ARGS] [--flags]\n\nverbs:\n", res);
	for (const struct cli_cmd *c = cli_cmds; c->resource; c++)
		if (strcmp(c->resource, res) == 0)
			fprintf(out, "  %-20s %s\n", c->verb[0] ? c->verb : "(none)", c->help);
	fprintf(out, "\n%s", GLOBAL_HELP);
}

static void param_usage(struct buf *b, const struct cli_param *p)
{
	bool req = p->opts & P_REQUIRED;
	if (!p->flag) {
		buf_printf(b, req ? " %s" : " [%s]", p->metavar);
		return;
	}
	if (!req)
		return;
	if (p->type == T_SWITCH || p->type == T_SECRET)
		buf_printf(b, " --%s", p->flag);
	else
		buf_printf(b, " --%s %s", p->flag, p->metavar);
}

static void usage_cmd(FILE *out, const struct cli_cmd *c)
{
	struct buf b;
	buf_init(&b, 0);
	buf_printf(&b, "usage: nubo %s%s%s", c->resource, c->verb[0] ? " " : "", c->verb);
	for (const struct cli_param *p = c->params; p && p->key; p++)
		param_usage(&b, p);
	fprintf(out, "%s [options]\n\n%s\n", b.data, c->help);
	buf_release(&b);
	bool any = false;
	for (const struct cli_param *p = c->params; p && p->key; p++) {
		if (!any)
			fprintf(out, "\narguments and options:\n");
		any = true;
		char left[64];
		if (!p->flag)
			str_printf(left, sizeof(left), "%s", p->metavar);
		else if (p->type == T_SWITCH || p->type == T_SECRET)
			str_printf(left, sizeof(left), "--%s", p->flag);
		else
			str_printf(left, sizeof(left), "--%s %s", p->flag, p->metavar);
		fprintf(out, "  %-26s %s%s\n", left, p->help,
			(p->opts & P_REQUIRED) && p->flag ? " (required)" : "");
	}
	fprintf(out, "\n%s", GLOBAL_HELP);
}

/* Take the global options out of argv (in place); *help is set by -h/--help.
 * Returns the new argc, or -1 after printing a usage error. */
static int take_globals(struct cli *cli, int argc, char **argv, bool *help)
{
	int n = 1;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char **dst = NULL;
		const char *val = NULL;
		if (strcmp(a, "--") == 0) {
			while (i < argc)
				argv[n++] = argv[i++];
			break;
		}
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			*help = true;
			continue;
		}
		const char *out = NULL;
		if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0)
			dst = &out;
		else if (str_starts_with(a, "--output=") || str_starts_with(a, "-o="))
			out = strchr(a, '=') + 1;
		else if (strcmp(a, "--profile") == 0)
			dst = &cli->profile_flag;
		else if (str_starts_with(a, "--profile="))
			cli->profile_flag = a + 10;
		else if (strcmp(a, "--url") == 0)
			dst = &cli->url_flag;
		else if (str_starts_with(a, "--url="))
			cli->url_flag = a + 6;
		else {
			argv[n++] = argv[i];
			continue;
		}
		if (dst) {
			if (i + 1 >= argc) {
				fprintf(stderr, "nubo: %s needs a value\n", a);
				return -1;
			}
			val = argv[++i];
			*dst = val;
		}
		if (out) {
			if (strcmp(out, "json") == 0)
				cli->output = OUT_JSON;
			else if (strcmp(out, "table") == 0)
				cli->output = OUT_TABLE;
			else {
				fprintf(stderr, "nubo: output must be table or json, not '%s'\n", out);
				return -1;
			}
		}
	}
	argv[n] = NULL;
	return n;
}

static bool resource_known(const char *name)
{
	for (const struct cli_cmd *c = cli_cmds; c->resource; c++)
		if (strcmp(c->resource, name) == 0)
			return true;
	return false;
}

/* How many words of argv (from 0) the verb takes, or 0 when it does not match. */
static int verb_match(const char *verb, int argc, char **argv)
{
	int used = 0;
	const char *v = verb;
	while (*v) {
		size_t len = strcspn(v, " ");
		if (used >= argc || strlen(argv[used]) != len || strncmp(argv[used], v, len) != 0)
			return 0;
		used++;
		v += len;
		while (*v == ' ')
			v++;
	}
	return used;
}

/* The command for resource res and the verb at argv; *ret_used words used. */
static const struct cli_cmd *find_cmd(const char *res, int argc, char **argv, int *ret_used)
{
	const struct cli_cmd *bare = NULL, *best = NULL;
	int best_used = 0;
	for (const struct cli_cmd *c = cli_cmds; c->resource; c++) {
		if (strcmp(c->resource, res) != 0)
			continue;
		if (!c->verb[0]) {
			bare = c;
			continue;
		}
		int used = verb_match(c->verb, argc, argv);
		if (used > best_used) {
			best = c;
			best_used = used;
		}
	}
	*ret_used = best ? best_used : 0;
	return best ? best : bare;
}

static const struct cli_param *find_flag(const struct cli_cmd *c, const char *name, size_t len)
{
	for (const struct cli_param *p = c->params; p && p->key; p++)
		if (p->flag && strlen(p->flag) == len && strncmp(p->flag, name, len) == 0)
			return p;
	return NULL;
}

/* Read at most FILE_ARG_MAX bytes of path as a string. NULL when it cannot. */
static char *read_small_file(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	struct buf b;
	buf_init(&b, FILE_ARG_MAX);
	char chunk[4096];
	ssize_t n;
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		if (buf_append(&b, chunk, (size_t)n) < 0)
			break;
	close(fd);
	if (n != 0) {
		buf_release(&b);
		return NULL;
	}
	return buf_detach(&b, NULL);
}

/* Make the JSON value of param p from text. NULL after printing why. */
static json_t *param_value(const struct cli_param *p, const char *text)
{
	int64_t i;
	bool b;
	char *end;
	switch (p->type) {
	case T_INT:
		if (parse_i64(text, INT64_MIN / 2, INT64_MAX / 2, &i) == 0)
			return json_integer(i);
		break;
	case T_NUM:
		if (strcmp(text, "default") == 0)
			return json_null();
		errno = 0;
		double d = strtod(text, &end);
		if (errno == 0 && end != text && !*end)
			return json_real(d);
		break;
	case T_BOOL:
		if (parse_bool(text, &b) == 0)
			return json_boolean(b);
		break;
	case T_SWITCH:
		return json_loads(p->value ? p->value : "true", JSON_DECODE_ANY, NULL);
	case T_FILE: {
		char *s = read_small_file(text);
		if (!s) {
			fprintf(stderr, "nubo: cannot read %s (at most 64 KiB): %s\n", text,
				errno ? strerror(errno) : "too large");
			return NULL;
		}
		json_t *v = json_string(s);
		free(s);
		if (!v)
			fprintf(stderr, "nubo: %s is not UTF-8 text\n", text);
		return v;
	}
	case T_LIST: {
		json_t *arr = json_array();
		for (const char *q = text; *q;) {
			size_t len = strcspn(q, ",");
			if (len > 0)
				json_array_append_new(arr, json_stringn(q, len));
			q += len + (q[len] == ',');
		}
		return arr;
	}
	default:
		return json_string(text);
	}
	fprintf(stderr, "nubo: %s%s: '%s' is not %s\n", p->flag ? "--" : "",
		p->flag ? p->flag : p->metavar, text,
		p->type == T_INT ? "an integer" : p->type == T_NUM ? "a number or 'default'"
								   : "true or false");
	return NULL;
}

/* Put the value of p into the body, query or local set of a. */
static int param_set(struct cli_args *a, const struct cli_param *p, const char *text)
{
	if (p->where == IN_QUERY || p->where == IN_LOCAL) {
		json_object_set_new(p->where == IN_QUERY ? a->query : a->local, p->key,
				    json_string(p->type == T_SWITCH ? "true" : text));
		return 0;
	}
	json_t *v;
	if (p->type == T_SECRET) {
		char *s = cli_read_secret(NULL);
		if (!s) {
			fprintf(stderr, "nubo: --%s: no line on standard input\n", p->flag);
			return -1;
		}
		v = json_string(s);
		cli_wipe_free(s);
		a->wipe_body = true;
	} else {
		v = param_value(p, text);
	}
	if (!v)
		return -1;
	if (!a->body)
		a->body = json_object();
	/* "allocation_pool.start": a member of an object member */
	const char *dot = strchr(p->key, '.');
	if (dot) {
		char outer[64];
		str_printf(outer, sizeof(outer), "%.*s", (int)(dot - p->key), p->key);
		json_t *o = json_object_get(a->body, outer);
		if (!json_is_object(o)) {
			o = json_object();
			json_object_set_new(a->body, outer, o);
		}
		json_object_set_new(o, dot + 1, v);
		return 0;
	}
	json_object_set_new(a->body, p->key, v);
	return 0;
}

static const struct cli_param *next_positional(const struct cli_cmd *c, size_t k)
{
	for (const struct cli_param *p = c->params; p && p->key; p++)
		if (!p->flag && k-- == 0)
			return p;
	return NULL;
}

/* One --flag[=value] at argv[*i]. Returns 0 or -1 (printed). */
static int parse_flag(struct cli_args *a, int argc, char **argv, int *i)
{
	const char *arg = argv[*i] + 2;
	const char *eq = strchr(arg, '=');
	const struct cli_param *p = find_flag(a->cmd, arg, eq ? (size_t)(eq - arg) : strlen(arg));
	if (!p) {
		fprintf(stderr, "nubo: unknown option %s for `nubo %s %s`\n", argv[*i],
			a->cmd->resource, a->cmd->verb);
		return -1;
	}
	const char *val = eq ? eq + 1 : NULL;
	bool takes = p->type != T_SWITCH && p->type != T_SECRET;
	if (takes && !val) {
		if (*i + 1 >= argc) {
			fprintf(stderr, "nubo: --%s needs a value (%s)\n", p->flag, p->metavar);
			return -1;
		}
		val = argv[++*i];
	} else if (!takes && val) {
		fprintf(stderr, "nubo: --%s takes no value\n", p->flag);
		return -1;
	}
	return param_set(a, p, val);
}

/* Whether the required param p was given. */
static bool param_given(const struct cli_args *a, const struct cli_param *p, size_t pos_index)
{
	if (!p->flag)
		return pos_index < a->npos;
	const json_t *set = p->where == IN_QUERY ? a->query : p->where == IN_LOCAL ? a->local
										  : a->body;
	return set && json_object_get(set, p->key);
}

static int check_required(const struct cli_args *a)
{
	size_t k = 0;
	for (const struct cli_param *p = a->cmd->params; p && p->key; p++) {
		bool given = param_given(a, p, k);
		if (!p->flag)
			k++;
		if ((p->opts & P_REQUIRED) && !given) {
			if (p->flag)
				fprintf(stderr, "nubo: --%s is required\n", p->flag);
			else
				fprintf(stderr, "nubo: missing argument %s\n", p->metavar);
			return -1;
		}
	}
	return 0;
}

/* Fill the path's {} with the IN_PATH positionals, in order, escaped. */
static int build_path(struct cli_args *a)
{
	struct buf b;
	buf_init(&b, 0);
	const char *t = a->cmd->path ? a->cmd->path : "";
	size_t k = 0;
	for (; *t; t++) {
		if (t[0] != '{' || t[1] != '}') {
			buf_append(&b, t, 1);
			continue;
		}
		const struct cli_param *p;
		while ((p = next_positional(a->cmd, k)) && p->where != IN_PATH)
			k++;
		if (!p || k >= a->npos || !*a->pos[k]) {
			fprintf(stderr, "nubo: missing argument %s\n", p ? p->metavar : "ID");
			buf_release(&b);
			return -1;
		}
		cli_url_escape(&b, a->pos[k++]);
		t++;
	}
	const char *key;
	json_t *v;
	char sep = '?';
	json_object_foreach(a->query, key, v) {
		buf_printf(&b, "%c%s=", sep, key);
		cli_url_escape(&b, json_string_value(v));
		sep = '&';
	}
	a->path = buf_detach(&b, NULL);
	return 0;
}

/* Parse argv (after the verb) into a. Returns 0 or -1 (usage, printed). */
static int parse_args(struct cli_args *a, int argc, char **argv)
{
	bool dashdash = false;
	for (int i = 0; i < argc; i++) {
		if (!dashdash && strcmp(argv[i], "--") == 0) {
			dashdash = true;
			continue;
		}
		if (!dashdash && str_starts_with(argv[i], "--")) {
			if (parse_flag(a, argc, argv, &i) < 0)
				return -1;
			continue;
		}
		const struct cli_param *p = next_positional(a->cmd, a->npos);
		if (!p || a->npos >= ARRAY_SIZE(a->pos)) {
			fprintf(stderr, "nubo: unexpected argument '%s'\n", argv[i]);
			return -1;
		}
		a->pos[a->npos++] = argv[i];
		if (p->where != IN_PATH && param_set(a, p, argv[i]) < 0)
			return -1;
	}
	if (check_required(a) < 0)
		return -1;
	if (a->cmd->fixed_body) {
		json_t *fixed = json_loads(a->cmd->fixed_body, 0, NULL);
		if (a->body)
			json_object_update(fixed, a->body);
		json_decref(a->body);
		a->body = fixed;
	}
	return build_path(a);
}

const char *cli_local(const struct cli_args *a, const char *key)
{
	return json_string_value(json_object_get(a->local, key));
}

/* GET every page of a list (with --all) into one {"items", "next": null}. */
static int list_all(struct cli *cli, const char *path, json_t **ret)
{
	json_t *all = json_array(), *page = NULL;
	char *next = NULL;
	int r;
	for (;;) {
		struct buf p;
		buf_init(&p, 0);
		buf_puts(&p, path);
		if (next) {
			buf_printf(&p, "%ccursor=", strchr(path, '?') ? '&' : '?');
			cli_url_escape(&p, next);
		}
		free(next);
		next = NULL;
		r = cli_call(cli, "GET", p.data, NULL, &page);
		buf_release(&p);
		if (r != CLI_OK)
			break;
		json_array_extend(all, json_object_get(page, "items"));
		next = xstrdup(json_string_value(json_object_get(page, "next")));
		json_decref(page);
		if (!next)
			break;
	}
	if (r == CLI_OK)
		*ret = json_pack("{s:o, s:n}", "items", all, "next");
	else
		json_decref(all);
	return r;
}

/* --wait: follow the job of answer *ans, then replace *ans with the
 * instance as it is now (unless it was deleted). Returns a CLI_*. */
static int wait_and_show(struct cli *cli, struct cli_args *a, json_t **ans)
{
	uint64_t t = 600;
	const char *ts = cli_local(a, "wait-timeout");
	if (ts && parse_u64(ts, 1, 86400, &t) < 0) {
		fprintf(stderr, "nubo: --wait-timeout must be 1 to 86400 seconds\n");
		return CLI_USAGE;
	}
	const char *job = json_string_value(json_object_get(*ans, "job_id"));
	char *id = xstrdup(json_string_value(json_object_get(*ans, "id")));
	/* the collection the command acts on: "/v1/volumes" of "/v1/volumes/{}/attach" */
	const char *p = a->cmd->path;
	const char *end = strchr(strchr(p + 1, '/') + 1, '/');
	char *coll = end ? xasprintf("%.*s", (int)(end - p), p) : xstrdup(p);
	int r = job ? act_wait_job(cli, job, coll, id ? id : a->pos[0], a->pos[0], (unsigned)t)
		    : CLI_OK;
	if (id) {
		json_decref(*ans);
		*ans = NULL;
		char *path = xasprintf("%s/%s", coll, id);
		int r2 = cli_call(cli, "GET", path, NULL, ans);
		free(path);
		r = r == CLI_OK ? r2 : r;
	}
	free(coll);
	free(id);
	return r;
}

int cli_run_generic(struct cli *cli, struct cli_args *a)
{
	json_t *ans = NULL;
	int r;
	if (cli_local(a, "all"))
		r = list_all(cli, a->path, &ans);
	else
		r = cli_call(cli, a->cmd->method, a->path, a->body, &ans);
	if (r == CLI_OK && a->cmd->wait && cli_local(a, "wait"))
		r = wait_and_show(cli, a, &ans);
	if (ans && (r == CLI_OK || cli->output == OUT_JSON))
		out_answer(cli, a->cmd, ans);
	json_decref(ans);
	return r;
}

static void args_release(struct cli_args *a)
{
	if (a->wipe_body) {
		cli_json_wipe(a->body, "password");
		cli_json_wipe(a->body, "current_password");
	}
	json_decref(a->body);
	json_decref(a->query);
	json_decref(a->local);
	free(a->path);
}

/* Find the command, parse its arguments and run it. Returns a CLI_*. */
static int dispatch(struct cli *cli, int argc, char **argv, bool help)
{
	if (argc < 2) {
		usage_main(help ? stdout : stderr);
		return help ? CLI_OK : CLI_USAGE;
	}
	char res[64];
	str_copy(res, sizeof(res), argv[1]);
	size_t rl = strlen(res);
	if (!resource_known(res) && rl > 1 && res[rl - 1] == 's')
		res[rl - 1] = '\0'; /* "zones" is "zone" */
	if (!resource_known(res)) {
		fprintf(stderr, "nubo: unknown command '%s' (see nubo --help)\n", argv[1]);
		return CLI_USAGE;
	}
	int used;
	const struct cli_cmd *c = find_cmd(res, argc - 2, argv + 2, &used);
	if (!c) {
		usage_resource(help ? stdout : stderr, res);
		if (!help && argc > 2)
			fprintf(stderr, "\nnubo: unknown verb '%s' for %s\n", argv[2], res);
		return help ? CLI_OK : CLI_USAGE;
	}
	if (help) {
		usage_cmd(stdout, c);
		return CLI_OK;
	}
	struct cli_args a = { .cmd = c, .query = json_object(), .local = json_object() };
	int r = parse_args(&a, argc - 2 - used, argv + 2 + used);
	if (r < 0) {
		fprintf(stderr, "(see nubo %s %s --help)\n", c->resource, c->verb);
		r = CLI_USAGE;
	} else {
		cli->logging_in = c->run == act_login;
		r = profile_load(cli);
		if (r == CLI_OK)
			r = c->run ? c->run(cli, &a) : cli_run_generic(cli, &a);
	}
	args_release(&a);
	return r;
}

/* Print the words of verb after its first k (which match words), or the
 * flags of c when the whole verb was typed. */
static void complete_cmd(const struct cli_cmd *c, int n, char **words)
{
	int k = 0;
	const char *v = c->verb;
	while (*v && k < n) {
		size_t len = strcspn(v, " ");
		if (strlen(words[k]) != len || strncmp(words[k], v, len) != 0)
			return;
		k++;
		v += len;
		v += *v == ' ';
	}
	if (*v) {
		printf("%.*s\n", (int)strcspn(v, " "), v);
		return;
	}
	for (const struct cli_param *p = c->params; p && p->key; p++)
		if (p->flag)
			printf("--%s\n", p->flag);
	printf("--output\n--help\n");
}

/* `nubo __complete WORD...`: the words that may follow WORDs, one a line
 * (for contrib/bash-completion/nubo; from the table, so never stale). */
static int complete(int argc, char **argv)
{
	char *words[32];
	int n = 0;
	for (int i = 0; i < argc && n < (int)ARRAY_SIZE(words); i++) {
		if (argv[i][0] == '-') {
			i += strcmp(argv[i], "-o") == 0 || strcmp(argv[i], "--output") == 0 ||
			     strcmp(argv[i], "--profile") == 0 || strcmp(argv[i], "--url") == 0;
			continue;
		}
		words[n++] = argv[i];
	}
	if (n == 0) {
		for (const struct cli_resource *r = cli_resources; r->name; r++)
			printf("%s\n", r->name);
		return CLI_OK;
	}
	for (const struct cli_cmd *c = cli_cmds; c->resource; c++)
		if (strcmp(c->resource, words[0]) == 0)
			complete_cmd(c, n - 1, words + 1);
	return CLI_OK;
}

int main(int argc, char **argv)
{
	struct cli cli = { .output = OUT_TABLE, .progress = isatty(STDERR_FILENO) };
	bool help = false;
	if (argc == 2 && strcmp(argv[1], "--version") == 0) {
		printf("nubo %s (%s)\n", NUBO_VERSION, NUBO_COMMIT);
		return CLI_OK;
	}
	if (argc >= 2 && strcmp(argv[1], "__complete") == 0)
		return complete(argc - 2, argv + 2);
	argc = take_globals(&cli, argc, argv, &help);
	if (argc < 0)
		return CLI_USAGE;
	httpc_global_init();
	int r = dispatch(&cli, argc, argv, help);
	explicit_bzero(cli.prof.token, sizeof(cli.prof.token));
	return r;
}
