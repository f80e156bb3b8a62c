/* profile: the CLI's profiles, one per cloud and project, in
 * $XDG_CONFIG_HOME/nubo/config (else ~/.config/nubo/config), an INI file
 * of mode 0600 in a directory of mode 0700:
 *
 *   default = prod
 *   [profile prod]
 *   url = https://cloud.example
 *   username = alice
 *   project = acme
 *   token = nubo_...
 *   expires_at = 2026-11-23T13:54:02.266Z
 *
 * Only the token is stored, never a password. The file is rewritten whole
 * (a temporary file renamed over it), so a crash never leaves half of it.
 * --profile, then NUBO_PROFILE, then `default` pick the profile;
 * NUBO_URL/--url and NUBO_TOKEN override its URL and token. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli.h"
#include "lib/buf.h"
#include "lib/util.h"

#define PROFILES_MAX 64
#define FILE_MAX (256 * 1024)

struct profiles {
	char def[64];                          /* the default profile's name */
	struct cli_profile p[PROFILES_MAX];    /* the profiles, in file order */
	size_t n;                              /* how many */
};

char *profile_path(void)
{
	const char *xdg = getenv("XDG_CONFIG_HOME");
	if (xdg && xdg[0] == '/')
		return xasprintf("%s/nubo/config", xdg);
	const char *home = getenv("HOME");
	return home && *home ? xasprintf("%s/.config/nubo/config", home) : NULL;
}

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		s[--n] = '\0';
	return s;
}

static void set_field(struct cli_profile *p, const char *key, const char *val)
{
	struct {
		const char *key;
		char *dst;
		size_t size;
	} fields[] = {
		{ "url", p->url, sizeof(p->url) },
		{ "username", p->username, sizeof(p->username) },
		{ "project", p->project, sizeof(p->project) },
		{ "token", p->token, sizeof(p->token) },
		{ "expires_at", p->expires_at, sizeof(p->expires_at) },
	};
	for (size_t i = 0; i < ARRAY_SIZE(fields); i++)
		if (strcmp(key, fields[i].key) == 0)
			str_copy(fields[i].dst, fields[i].size, val);
}

/* Parse the file's text into ps (unknown keys are ignored: newer CLIs). */
static void parse(char *text, struct profiles *ps)
{
	struct cli_profile *cur = NULL;
	for (char *line = text, *next; line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		char *l = trim(line);
		if (!*l || *l == '#' || *l == ';')
			continue;
		if (str_starts_with(l, "[profile ") && l[strlen(l) - 1] == ']') {
			l[strlen(l) - 1] = '\0';
			cur = ps->n < PROFILES_MAX ? &ps->p[ps->n++] : NULL;
			if (cur)
				str_copy(cur->name, sizeof(cur->name), trim(l + 9));
			continue;
		}
		char *eq = strchr(l, '=');
		if (!eq)
			continue;
		*eq = '\0';
		char *key = trim(l), *val = trim(eq + 1);
		if (cur)
			set_field(cur, key, val);
		else if (strcmp(key, "default") == 0)
			str_copy(ps->def, sizeof(ps->def), val);
	}
}

/* Read the profile file into ps (empty when there is none). Returns 0, or
 * -1 after printing why it cannot be read. */
static int read_profiles(const char *path, struct profiles *ps)
{
	memset(ps, 0, sizeof(*ps));
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		fprintf(stderr, "nubo: cannot read %s: %s\n", path, strerror(errno));
		return -1;
	}
	struct buf b;
	buf_init(&b, FILE_MAX);
	char chunk[4096];
	ssize_t n;
	while ((n = read(fd, chunk, sizeof(chunk))) > 0 && buf_append(&b, chunk, (size_t)n) == 0)
		;
	close(fd);
	if (n != 0) {
		fprintf(stderr, "nubo: cannot read %s (or larger than 256 KiB)\n", path);
		buf_release(&b);
		return -1;
	}
	if (b.data)
		parse(b.data, ps);
	explicit_bzero(b.data, b.len);
	buf_release(&b);
	return 0;
}

static struct cli_profile *find(struct profiles *ps, const char *name)
{
	for (size_t i = 0; i < ps->n; i++)
		if (strcmp(ps->p[i].name, name) == 0)
			return &ps->p[i];
	return NULL;
}

/* Make the directories of path (mode 0700 for those made). */
static int make_dirs(const char *path)
{
	char *dir = xstrdup(path);
	int r = 0;
	for (char *p = dir + 1; *p && r == 0; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			r = -1;
		*p = '/';
	}
	free(dir);
	return r;
}

static void format(const struct profiles *ps, struct buf *b)
{
	buf_puts(b, "# nubo CLI profiles, written by `nubo login`. Holds tokens: keep it 0600.\n");
	if (ps->def[0])
		buf_printf(b, "default = %s\n", ps->def);
	for (size_t i = 0; i < ps->n; i++) {
		const struct cli_profile *p = &ps->p[i];
		buf_printf(b, "\n[profile %s]\nurl = %s\nusername = %s\nproject = %s\n", p->name,
			   p->url, p->username, p->project);
		buf_printf(b, "token = %s\nexpires_at = %s\n", p->token, p->expires_at);
	}
}

/* Write ps to path: a new file of mode 0600 renamed over the old one. */
static int write_profiles(const char *path, const struct profiles *ps)
{
	if (make_dirs(path) < 0) {
		fprintf(stderr, "nubo: cannot make the directory of %s: %s\n", path, strerror(errno));
		return CLI_API;
	}
	char *tmp = xasprintf("%s.%ld.tmp", path, (long)getpid());
	struct buf b;
	buf_init(&b, 0);
	format(ps, &b);
	int r = CLI_OK;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, b.data, b.len) != (ssize_t)b.len || fsync(fd) < 0 ||
	    close(fd) < 0 || rename(tmp, path) < 0) {
		fprintf(stderr, "nubo: cannot write %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			unlink(tmp);
		r = CLI_API;
	}
	explicit_bzero(b.data, b.len);
	buf_release(&b);
	free(tmp);
	return r;
}

/* Read, change (by fn) and write the profile file. */
static int update(int (*fn)(struct profiles *ps, const void *arg), const void *arg)
{
	char *path = profile_path();
	if (!path) {
		fprintf(stderr, "nubo: neither HOME nor XDG_CONFIG_HOME is set\n");
		return CLI_USAGE;
	}
	struct profiles *ps = xmalloc(sizeof(*ps));
	int r = read_profiles(path, ps) < 0 ? CLI_USAGE : fn(ps, arg);
	if (r == CLI_OK)
		r = write_profiles(path, ps);
	explicit_bzero(ps, sizeof(*ps));
	free(ps);
	free(path);
	return r;
}

struct save_arg {
	const struct cli_profile *p;
	bool make_default;
};

static int do_save(struct profiles *ps, const void *arg)
{
	const struct save_arg *s = arg;
	struct cli_profile *slot = find(ps, s->p->name);
	if (!slot) {
		if (ps->n == PROFILES_MAX) {
			fprintf(stderr, "nubo: at most %d profiles\n", PROFILES_MAX);
			return CLI_USAGE;
		}
		slot = &ps->p[ps->n++];
	}
	*slot = *s->p;
	if (s->make_default || !ps->def[0] || !find(ps, ps->def))
		str_copy(ps->def, sizeof(ps->def), s->p->name);
	return CLI_OK;
}

int profile_save(const struct cli_profile *p, bool make_default)
{
	struct save_arg s = { p, make_default };
	return update(do_save, &s);
}

static int do_remove(struct profiles *ps, const void *arg)
{
	struct cli_profile *p = find(ps, arg);
	if (!p) {
		fprintf(stderr, "nubo: no profile '%s'\n", (const char *)arg);
		return CLI_USAGE;
	}
	size_t i = (size_t)(p - ps->p);
	memmove(p, p + 1, (ps->n - i - 1) * sizeof(*p));
	ps->n--;
	if (strcmp(ps->def, arg) == 0)
		ps->def[0] = '\0';
	return CLI_OK;
}

int profile_remove(const char *name)
{
	return update(do_remove, name);
}

static int do_use(struct profiles *ps, const void *arg)
{
	if (!find(ps, arg)) {
		fprintf(stderr, "nubo: no profile '%s'\n", (const char *)arg);
		return CLI_USAGE;
	}
	str_copy(ps->def, sizeof(ps->def), arg);
	return CLI_OK;
}

int profile_use(const char *name)
{
	return update(do_use, name);
}

/* The profile's name: --profile, NUBO_PROFILE, the file's default, "default". */
static const char *chosen_name(const struct cli *cli, const struct profiles *ps)
{
	const char *env = getenv("NUBO_PROFILE");
	if (cli->profile_flag)
		return cli->profile_flag;
	if (env && *env)
		return env;
	return ps->def[0] ? ps->def : "default";
}

int profile_load(struct cli *cli)
{
	char *path = profile_path();
	struct profiles *ps = xcalloc(1, sizeof(*ps));
	int r = CLI_OK;
	if (path && read_profiles(path, ps) < 0)
		r = CLI_USAGE;
	const char *name = chosen_name(cli, ps);
	const struct cli_profile *p = find(ps, name);
	const struct cli_profile *def = ps->def[0] ? find(ps, ps->def) : NULL;
	if (p)
		cli->prof = *p;
	else if (cli->logging_in && def) /* a new profile on the same cloud */
		str_copy(cli->prof.url, sizeof(cli->prof.url), def->url);
	str_copy(cli->prof.name, sizeof(cli->prof.name), name);
	const char *url = cli->url_flag ? cli->url_flag : getenv("NUBO_URL");
	if (url && *url)
		str_copy(cli->prof.url, sizeof(cli->prof.url), url);
	const char *token = getenv("NUBO_TOKEN");
	if (token && *token)
		str_copy(cli->prof.token, sizeof(cli->prof.token), token);
	size_t n = strlen(cli->prof.url);
	while (n && cli->prof.url[n - 1] == '/')
		cli->prof.url[--n] = '\0';
	explicit_bzero(ps, sizeof(*ps));
	free(ps);
	free(path);
	return r;
}

int profile_list(struct cli *cli)
{
	char *path = profile_path();
	struct profiles *ps = xcalloc(1, sizeof(*ps));
	int r = path && read_profiles(path, ps) < 0 ? CLI_USAGE : CLI_OK;
	json_t *items = json_array();
	const char *cur = chosen_name(cli, ps);
	for (size_t i = 0; r == CLI_OK && i < ps->n; i++) {
		const struct cli_profile *p = &ps->p[i];
		json_array_append_new(items, json_pack("{s:s, s:b, s:s, s:s, s:s, s:b, s:s}",
			"name", p->name, "current", strcmp(p->name, cur) == 0, "url", p->url,
			"username", p->username, "project", p->project, "logged_in",
			p->token[0] != '\0', "expires_at", p->expires_at));
	}
	json_t *ans = json_pack("{s:o, s:n}", "items", items, "next");
	if (r == CLI_OK && cli->output == OUT_JSON)
		out_json(ans);
	else if (r == CLI_OK)
		out_table(items, "name,current,url,username,project,logged_in,expires_at");
	json_decref(ans);
	explicit_bzero(ps, sizeof(*ps));
	free(ps);
	free(path);
	return r;
}
