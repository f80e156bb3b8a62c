/* actions: the CLI commands that are more than one generic request: login
 * and logout (profiles), image uploads streamed from a file with a progress
 * bar, keypairs whose private key goes to a file, the console with
 * --follow, and --wait on an instance's job.
 *
 * A password is read from the terminal without echo, or as one line of
 * stdin with --password-stdin; it is wiped from memory once sent and is
 * never printed or stored. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "lib/buf.h"
#include "lib/util.h"

#define SECRET_MAX 1100       /* a line of a password (the API takes 1024) */
#define POLL_MS 500           /* --wait and --follow poll this often */
#define CONSOLE_MAX (1u << 20) /* one console answer */

static volatile sig_atomic_t interrupted;

static void on_interrupt(int sig)
{
	interrupted = sig;
}

/* Sleep ms milliseconds; returns early on a signal. */
static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

char *cli_read_secret(const char *prompt)
{
	struct termios old, quiet;
	bool tty = prompt && isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &old) == 0;
	if (tty) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		fputs(prompt, stderr);
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	}
	char *line = xmalloc(SECRET_MAX);
	bool ok = fgets(line, SECRET_MAX, stdin) != NULL;
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	if (ok)
		line[strcspn(line, "\r\n")] = '\0';
	if (!ok || !*line) {
		cli_wipe_free(line);
		return NULL;
	}
	return line;
}

/* The login body; the password is wiped by the caller. */
static json_t *login_body(struct cli_args *a, const char *username, char **ret_pw)
{
	char *pw;
	if (cli_local(a, "password-stdin"))
		pw = cli_read_secret(NULL);
	else if (isatty(STDIN_FILENO))
		pw = cli_read_secret("Password: ");
	else {
		fprintf(stderr, "nubo: stdin is not a terminal: give the password with "
				"--password-stdin\n");
		return NULL;
	}
	if (!pw) {
		fprintf(stderr, "nubo: no password given\n");
		return NULL;
	}
	*ret_pw = pw;
	json_t *b = json_pack("{s:s, s:s}", "username", username, "password", pw);
	if (b && cli_local(a, "project"))
		json_object_set_new(b, "project", json_string(cli_local(a, "project")));
	if (!b)
		fprintf(stderr, "nubo: the user name and password must be UTF-8\n");
	return b;
}

static int login_store(struct cli *cli, const json_t *ans, const char *username)
{
	struct cli_profile p = cli->prof;
	const char *token = json_string_value(json_object_get(ans, "token"));
	const char *exp = json_string_value(json_object_get(ans, "expires_at"));
	const char *project = json_string_value(out_get(ans, "project.name"));
	if (!token || !str_copy(p.token, sizeof(p.token), token)) {
		fprintf(stderr, "nubo: the login answer holds no token\n");
		return CLI_API;
	}
	str_copy(p.username, sizeof(p.username), username);
	str_copy(p.project, sizeof(p.project), project ? project : "");
	str_copy(p.expires_at, sizeof(p.expires_at), exp ? exp : "");
	int r = profile_save(&p, false);
	explicit_bzero(&p, sizeof(p));
	return r;
}

int act_login(struct cli *cli, struct cli_args *a)
{
	const char *username = cli_local(a, "username");
	char *pw = NULL;
	json_t *body = login_body(a, username, &pw);
	if (!body)
		return CLI_USAGE;
	cli->prof.token[0] = '\0'; /* never send an old token along */
	json_t *ans = NULL;
	int r = cli_call(cli, "POST", "/v1/auth/login", body, &ans);
	cli_json_wipe(body, "password");
	json_decref(body);
	cli_wipe_free(pw);
	if (r == CLI_OK)
		r = login_store(cli, ans, username);
	if (r == CLI_OK && cli->output == OUT_JSON) {
		json_object_del(ans, "token"); /* kept in the profile, not printed */
		out_json(ans);
	} else if (r == CLI_OK) {
		const char *project = json_string_value(out_get(ans, "project.name"));
		char *path = profile_path();
		char scope[200] = "system scope";
		if (project)
			str_printf(scope, sizeof(scope), "project %s, role %s", project,
				   json_string_value(json_object_get(ans, "role")));
		printf("Logged in to %s as %s (%s); token expires %s; profile '%s' in %s\n",
		       cli->prof.url, username, scope,
		       json_string_value(json_object_get(ans, "expires_at")), cli->prof.name, path);
		free(path);
	}
	cli_json_wipe(ans, "token");
	json_decref(ans);
	return r;
}

int act_logout(struct cli *cli, struct cli_args *a)
{
	json_t *ans = NULL;
	int r = cli_call(cli, "POST", "/v1/auth/logout", NULL, &ans);
	json_decref(ans);
	if (r != CLI_OK && !cli->prof.token[0])
		return r;
	struct cli_profile p = cli->prof; /* forget the token even when it was refused */
	p.token[0] = '\0';
	p.expires_at[0] = '\0';
	int r2 = getenv("NUBO_TOKEN") ? CLI_OK : profile_save(&p, false);
	return r != CLI_OK ? r : r2;
}

int act_profile_list(struct cli *cli, struct cli_args *a)
{
	return profile_list(cli);
}

int act_profile_use(struct cli *cli, struct cli_args *a)
{
	return profile_use(a->pos[0]);
}

int act_profile_delete(struct cli *cli, struct cli_args *a)
{
	return profile_remove(a->pos[0]);
}

/* "1.5 GiB" into out. */
static void human_bytes(double n, char *out, size_t size)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	size_t u = 0;
	while (n >= 1024 && u + 1 < ARRAY_SIZE(units)) {
		n /= 1024;
		u++;
	}
	str_printf(out, size, u ? "%.1f %s" : "%.0f %s", n, units[u]);
}

struct bar {
	double start;   /* when the upload began */
	double last;    /* when the bar was last drawn */
	uint64_t total; /* bytes to send */
};

/* Draw "  45% [=====>     ] 1.2 GiB / 2.6 GiB  85.0 MiB/s  0:17 left" on stderr. */
static int draw_bar(void *arg, uint64_t sent, uint64_t total)
{
	struct bar *b = arg;
	double t = now_s();
	if (t - b->last < 0.1 && sent < b->total)
		return 0;
	b->last = t;
	total = b->total ? b->total : total;
	double frac = total ? (double)sent / (double)total : 0;
	double rate = t > b->start ? (double)sent / (t - b->start) : 0;
	long left = rate > 0 ? (long)((double)(total - sent) / rate) : -1;
	char bar[31], s[32], tot[32], r[32];
	size_t fill = (size_t)(frac * 30);
	for (size_t i = 0; i < 30; i++)
		bar[i] = i < fill ? '=' : i == fill ? '>' : ' ';
	bar[30] = '\0';
	human_bytes((double)sent, s, sizeof(s));
	human_bytes((double)total, tot, sizeof(tot));
	human_bytes(rate, r, sizeof(r));
	fprintf(stderr, "\r%4.0f%% [%s] %s / %s  %s/s  ", frac * 100, bar, s, tot, r);
	if (left >= 0)
		fprintf(stderr, "%ld:%02ld left ", left / 60, left % 60);
	return interrupted ? 1 : 0;
}

/* PUT the file at path as image ref's bytes, streamed; prints the image. */
static int upload(struct cli *cli, const struct cli_cmd *cmd, const char *ref, const char *path,
		  const char *sha256)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		fprintf(stderr, "nubo: cannot read %s: %s\n", path,
			fd < 0 ? strerror(errno) : "not a regular file");
		if (fd >= 0)
			close(fd);
		return CLI_USAGE;
	}
	struct buf p;
	buf_init(&p, 0);
	buf_puts(&p, "/v1/images/");
	cli_url_escape(&p, ref);
	buf_puts(&p, "/file");
	char shah[128];
	const char *hdrs[] = { shah, NULL };
	str_printf(shah, sizeof(shah), "X-Image-Sha256: %s", sha256 ? sha256 : "");
	struct bar bar = { .start = now_s(), .total = (uint64_t)st.st_size };
	struct httpc_req req = { .ctype = "application/octet-stream", .upload_fd = fd,
				 .upload_size = (uint64_t)st.st_size, .headers = sha256 ? hdrs : NULL,
				 .stall_s = 0, .timeout_s = 0,
				 .progress = cli->progress ? draw_bar : NULL, .progress_arg = &bar };
	struct httpc_resp resp;
	int r = cli_call_raw(cli, "PUT", p.data, &req, &resp);
	if (cli->progress) {
		if (r == CLI_OK)
			draw_bar(&bar, bar.total, bar.total);
		fputc('\n', stderr);
	}
	close(fd);
	buf_release(&p);
	if (r != CLI_OK)
		return r;
	json_t *ans = json_loadb(resp.body.data ? resp.body.data : "", resp.body.len, 0, NULL);
	out_answer(cli, cmd, ans);
	json_decref(ans);
	httpc_resp_release(&resp);
	return CLI_OK;
}

int act_image_create(struct cli *cli, struct cli_args *a)
{
	const char *file = cli_local(a, "file");
	if (!file)
		return cli_run_generic(cli, a);
	struct stat st;
	if (stat(file, &st) < 0) { /* before making an image that would stay queued */
		fprintf(stderr, "nubo: cannot read %s: %s\n", file, strerror(errno));
		return CLI_USAGE;
	}
	json_t *img = NULL;
	int r = cli_call(cli, "POST", a->path, a->body, &img);
	const char *id = json_string_value(json_object_get(img, "id"));
	if (r == CLI_OK && id)
		r = upload(cli, a->cmd, id, file, cli_local(a, "sha256"));
	json_decref(img);
	return r;
}

int act_image_upload(struct cli *cli, struct cli_args *a)
{
	return upload(cli, a->cmd, a->pos[0], a->pos[1], cli_local(a, "sha256"));
}

int act_image_download(struct cli *cli, struct cli_args *a)
{
	char *url = xasprintf("%s%s", cli->prof.url, a->path);
	struct httpc_resp resp;
	int r = CLI_OK;
	if (!cli->prof.url[0]) {
		fprintf(stderr, "nubo: no cloud to talk to: run `nubo login` or set NUBO_URL\n");
		r = CLI_USAGE;
	} else if (httpc_download(url, cli->prof.token, a->pos[1], 0, &resp) < 0 ||
		   resp.status != 200) {
		cli_print_api_error(&resp, cli->prof.url);
		r = CLI_API;
	}
	if (cli->prof.url[0])
		buf_release(&resp.body);
	free(url);
	return r;
}

/* Write the private key to path, which must not exist yet (mode 0600). */
static int write_private_key(const char *path, const char *key)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	size_t len = strlen(key);
	if (fd < 0 || write(fd, key, len) != (ssize_t)len || fsync(fd) < 0 || close(fd) < 0) {
		fprintf(stderr, "nubo: cannot write the private key to %s: %s\n", path,
			strerror(errno));
		return CLI_API;
	}
	return CLI_OK;
}

int act_keypair_create(struct cli *cli, struct cli_args *a)
{
	const char *priv = cli_local(a, "private-key-file");
	if (priv && json_object_get(a->body, "public_key")) {
		fprintf(stderr, "nubo: --private-key-file is for generated keys, not with "
				"--public-key-file\n");
		return CLI_USAGE;
	}
	if (priv && access(priv, F_OK) == 0) {
		fprintf(stderr, "nubo: %s exists; not overwriting it\n", priv);
		return CLI_USAGE;
	}
	json_t *ans = NULL;
	int r = cli_call(cli, "POST", a->path, a->body, &ans);
	const char *key = json_string_value(json_object_get(ans, "private_key"));
	if (r == CLI_OK && key && priv) {
		r = write_private_key(priv, key);
		cli_json_wipe(ans, "private_key");
		json_object_del(ans, "private_key");
	}
	if (r == CLI_OK && key && !priv && cli->output == OUT_TABLE) {
		fputs(key, stdout); /* so that `> file` keeps exactly the key */
		fprintf(stderr, "keypair %s (%s): the private key above is shown once and not kept\n",
			json_string_value(json_object_get(ans, "name")),
			json_string_value(json_object_get(ans, "fingerprint")));
	} else if (r == CLI_OK) {
		out_answer(cli, a->cmd, ans);
	}
	cli_json_wipe(ans, "private_key");
	json_decref(ans);
	return r;
}

/* Fetch the console from query on; print it; *ret_end is X-Console-End. */
static int console_read(struct cli *cli, const char *path, const char *query,
			uint64_t *ret_end)
{
	char *p = xasprintf("%s%s", path, query);
	struct httpc_req req = { .timeout_s = 60, .body_limit = CONSOLE_MAX };
	struct httpc_resp resp;
	int r = cli_call_raw(cli, "GET", p, &req, &resp);
	free(p);
	if (r != CLI_OK)
		return r;
	fwrite(resp.body.data ? resp.body.data : "", 1, resp.body.len, stdout);
	fflush(stdout);
	char end[32];
	if (!httpc_resp_header(&resp, "X-Console-End", end, sizeof(end)) ||
	    parse_u64(end, 0, UINT64_MAX, ret_end) < 0) {
		fprintf(stderr, "nubo: the answer has no X-Console-End position\n");
		r = CLI_API;
	}
	httpc_resp_release(&resp);
	return r;
}

int act_console(struct cli *cli, struct cli_args *a)
{
	const char *tail = cli_local(a, "tail");
	uint64_t n, end = 0;
	if (tail && parse_u64(tail, 0, UINT64_MAX / 2, &n) < 0) {
		fprintf(stderr, "nubo: --tail takes a number of bytes\n");
		return CLI_USAGE;
	}
	char q[48] = "";
	if (tail)
		str_printf(q, sizeof(q), "?tail=%s", tail);
	int r = console_read(cli, a->path, q, &end);
	if (r != CLI_OK || !cli_local(a, "follow"))
		return r;
	struct sigaction sa = { .sa_handler = on_interrupt }; /* no SA_RESTART: wake up */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	while (!interrupted && r == CLI_OK) {
		sleep_ms(POLL_MS);
		if (interrupted)
			break;
		str_printf(q, sizeof(q), "?offset=%llu", (unsigned long long)end);
		r = console_read(cli, a->path, q, &end);
	}
	return r;
}

/* GET path quietly; the answer or NULL (*ret_status: the HTTP status). */
static json_t *get_quiet(struct cli *cli, const char *path, long *ret_status)
{
	struct httpc_req req = { .timeout_s = 30 };
	struct httpc_resp resp;
	cli->quiet = true;
	int r = cli_call_raw(cli, "GET", path, &req, &resp);
	cli->quiet = false;
	*ret_status = resp.status;
	if (r != CLI_OK)
		return NULL;
	json_t *v = json_loadb(resp.body.data ? resp.body.data : "", resp.body.len, 0, NULL);
	httpc_resp_release(&resp);
	return v;
}

/* Print the resource's state on stderr when it changed. */
static void note_state(struct cli *cli, const char *collection, const char *instance,
		       const char *label, char *last, size_t lastsz)
{
	struct buf p;
	buf_init(&p, 0);
	buf_printf(&p, "%s/", collection);
	cli_url_escape(&p, instance);
	long status;
	json_t *i = get_quiet(cli, p.data, &status);
	buf_release(&p);
	const char *state = i ? json_string_value(json_object_get(i, "state"))
			      : status == 404 ? "deleted" : NULL;
	if (state && strcmp(state, last) != 0) {
		fprintf(stderr, "%s: %s\n", label, state);
		str_copy(last, lastsz, state);
	}
	json_decref(i);
}

int act_wait_job(struct cli *cli, const char *job_id, const char *collection,
		 const char *instance, const char *label, unsigned timeout_s)
{
	char *path = xasprintf("/v1/jobs/%s", job_id);
	char last[32] = "";
	double deadline = now_s() + timeout_s;
	int r = CLI_API;
	struct sigaction sa = { .sa_handler = on_interrupt };
	sigaction(SIGINT, &sa, NULL);
	for (;;) {
		note_state(cli, collection, instance, label, last, sizeof(last));
		json_t *job = NULL;
		if (cli_call(cli, "GET", path, NULL, &job) != CLI_OK)
			break;
		const char *status = json_string_value(json_object_get(job, "status"));
		if (status && strcmp(status, "succeeded") == 0) {
			r = CLI_OK;
		} else if (status && strcmp(status, "failed") == 0) {
			const char *why = json_string_value(json_object_get(job, "error"));
			fprintf(stderr, "nubo: %s failed: %s\n",
				json_string_value(json_object_get(job, "kind")), why ? why : "");
		} else if (now_s() > deadline || interrupted) {
			fprintf(stderr, "nubo: stopped waiting for job %s (it goes on; see `nubo job "
					"show %s`)\n", job_id, job_id);
		} else {
			json_decref(job);
			sleep_ms(POLL_MS);
			continue;
		}
		json_decref(job);
		break;
	}
	note_state(cli, collection, instance, label, last, sizeof(last));
	free(path);
	return r;
}
