/* cli: the nubo command-line client, a thin client over the REST API.
 *
 * The commands are data: commands.c holds one table of resources, verbs,
 * parameters (where each goes: path, body or query) and table columns, and
 * main.c runs any row of it generically (parse, build the request, send,
 * print). The few commands that need more than one request or local work
 * (login, image upload, instance --wait, console --follow, keypair files)
 * name a handler in actions.c. profile.c keeps the profiles, output.c
 * prints tables, JSON and errors, client.c talks to nubod over lib/httpc.
 *
 * Exit codes: 0 success, 1 an error from the API (or no answer), 2 a usage
 * error. Only main() exits. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/httpc.h"

enum {
	CLI_OK = 0,    /* success */
	CLI_API = 1,   /* the API refused, or nubod could not be reached */
	CLI_USAGE = 2, /* a usage error: unknown command, missing argument... */
};

/* A profile: one cloud (and project) to talk to, as stored by `nubo login`. */
struct cli_profile {
	char name[64];        /* the profile's name */
	char url[512];        /* nubod's base URL, e.g. http://127.0.0.1:8080 */
	char username[128];   /* who logged in (for display) */
	char project[128];    /* the project the token is scoped to, "" for system */
	char token[256];      /* the bearer token ("" when logged out) */
	char expires_at[64];  /* when the token expires, RFC 3339 */
};

enum cli_output { OUT_TABLE, OUT_JSON };

/* The state of one run: global options and the profile in use. */
struct cli {
	struct cli_profile prof;    /* the profile, with environment overrides applied */
	const char *profile_flag;   /* --profile, or NULL (borrowed from argv) */
	const char *url_flag;       /* --url, or NULL (borrowed from argv) */
	enum cli_output output;     /* -o table|json */
	bool progress;              /* stderr is a terminal: draw progress bars */
	bool quiet;                 /* do not print API errors (the caller handles them) */
	bool logging_in;            /* a new profile takes the default profile's URL */
};

/* Where a parameter goes in the request. */
enum cli_where {
	IN_PATH,  /* replaces the next {} in the path (positional only) */
	IN_BODY,  /* a field of the JSON body */
	IN_QUERY, /* a query parameter */
	IN_LOCAL, /* read by the command's handler only */
};

enum cli_type {
	T_STR,    /* a string */
	T_INT,    /* an integer (JSON number) */
	T_NUM,    /* a number, or "default" for JSON null */
	T_BOOL,   /* true/false, yes/no... */
	T_SWITCH, /* a flag without value; sets key to the param's value text (JSON) */
	T_FILE,   /* a path whose text (at most 64 KiB) becomes a string field */
	T_SECRET, /* a switch (--password-stdin): one line of stdin becomes a string field */
	T_LIST,   /* comma-separated values: a list of strings */
};

#define P_REQUIRED 0x1 /* must be given */

/* One positional argument or --flag of a command. */
struct cli_param {
	const char *flag;    /* flag name without "--", or NULL for a positional */
	const char *metavar; /* what the value is, for usage (NAME, N...) */
	const char *key;     /* body field, query parameter or local name */
	enum cli_where where;
	enum cli_type type;
	unsigned opts;       /* P_* */
	const char *value;   /* T_SWITCH: the JSON the switch sets (e.g. "true") */
	const char *help;    /* one line for --help */
};

struct cli_cmd;
/* The parsed arguments of one command. */
struct cli_args {
	const struct cli_cmd *cmd;
	const char *pos[8];       /* positional values in the table's order (borrowed) */
	size_t npos;
	json_t *body;             /* the body built from IN_BODY params, or NULL */
	json_t *query;            /* IN_QUERY params: object of strings */
	json_t *local;            /* IN_LOCAL params: object of strings (switches: "true") */
	char *path;               /* the path with {} filled in, percent-encoded */
	bool wipe_body;           /* the body holds a secret: wipe it when done */
};

/* A handler for a command that is more than one request. Returns a CLI_*. */
typedef int (*cli_run_fn)(struct cli *cli, struct cli_args *a);
/* A printer of one answer in table mode. */
typedef void (*cli_show_fn)(const json_t *v);

/* One command: a verb of a resource. */
struct cli_cmd {
	const char *resource;          /* "zone"; NULL ends the table */
	const char *verb;              /* "create", "enroll-token create", or "" */
	const char *method;            /* HTTP method of the generic request */
	const char *path;              /* "/v1/zones/{}" */
	const char *fixed_body;        /* JSON merged under the params' body, or NULL */
	const struct cli_param *params; /* terminated by an entry with key NULL */
	const char *columns;           /* list: comma-separated (dotted) fields */
	cli_run_fn run;                /* handler, or NULL for the generic request */
	cli_show_fn show;              /* table printer, or NULL for the default */
	const char *help;              /* one line */
	const char *wait;              /* "job": --wait follows the answer's job_id */
};

/* A resource's entry for `nubo --help`. */
struct cli_resource {
	const char *name;   /* "zone" */
	const char *help;   /* one line */
};

extern const struct cli_cmd cli_cmds[];
extern const struct cli_resource cli_resources[];

/* main.c */
/* Run the generic request of a->cmd and print its answer. */
int cli_run_generic(struct cli *cli, struct cli_args *a);
/* The value of local param key, or NULL. Borrowed from a. */
const char *cli_local(const struct cli_args *a, const char *key);

/* client.c */
/* Send method path (relative to the profile's URL, query included) with an
 * optional JSON body; parse a JSON answer into *ret (new reference, or NULL
 * for an empty answer). API errors and failures to connect are printed.
 * Returns CLI_OK or CLI_API. */
int cli_call(struct cli *cli, const char *method, const char *path, const json_t *body,
	     json_t **ret);
/* As cli_call with full control: the raw answer is in *ret_resp (caller
 * releases it with httpc_resp_release) when CLI_OK. req's method and url are
 * filled from method and path. */
int cli_call_raw(struct cli *cli, const char *method, const char *path, struct httpc_req *req,
		 struct httpc_resp *ret_resp);
/* Print an API error answer (or a failure to connect) to stderr. */
void cli_print_api_error(const struct httpc_resp *resp, const char *url);
/* Append s percent-encoded (as a path segment or query value) to b. */
void cli_url_escape(struct buf *b, const char *s);
/* Wipe and free a JSON text. */
void cli_wipe_free(char *s);
/* Wipe the string values of obj's field key in place (a secret). */
void cli_json_wipe(json_t *obj, const char *key);

/* profile.c */
/* Fill cli->prof from the profile file, --profile/NUBO_PROFILE and the
 * NUBO_URL/NUBO_TOKEN overrides. Returns CLI_OK, or CLI_USAGE for a
 * profile file that cannot be read. */
int profile_load(struct cli *cli);
/* Store p in the profile file (mode 0600), replacing a profile of the same
 * name; with make_default, it becomes the default profile. Returns CLI_OK
 * or CLI_API (printed). */
int profile_save(const struct cli_profile *p, bool make_default);
/* Remove profile name (its token is forgotten). Returns a CLI_*. */
int profile_remove(const char *name);
/* Make profile name the default. Returns a CLI_*. */
int profile_use(const char *name);
/* Print the profiles (never their tokens). */
int profile_list(struct cli *cli);
/* The profile file's path. Caller frees. */
char *profile_path(void);

/* output.c */
/* Print v as JSON (indented) to stdout. */
void out_json(const json_t *v);
/* Print one object as "field  value" lines, nested objects dotted. */
void out_object(const json_t *v);
/* Print the items of a list answer as a table with the given columns. */
void out_table(const json_t *items, const char *columns);
/* The text of v for a table cell (caller frees). */
char *out_cell(const json_t *v);
/* The field at dotted path in v, or NULL. Borrowed. */
const json_t *out_get(const json_t *v, const char *path);
/* Print an answer the way the command and -o say. */
void out_answer(const struct cli *cli, const struct cli_cmd *cmd, const json_t *v);

/* actions.c: the handlers named by the table */
int act_login(struct cli *cli, struct cli_args *a);
int act_logout(struct cli *cli, struct cli_args *a);
int act_profile_list(struct cli *cli, struct cli_args *a);
int act_profile_use(struct cli *cli, struct cli_args *a);
int act_profile_delete(struct cli *cli, struct cli_args *a);
int act_image_create(struct cli *cli, struct cli_args *a);
int act_image_upload(struct cli *cli, struct cli_args *a);
int act_image_download(struct cli *cli, struct cli_args *a);
int act_keypair_create(struct cli *cli, struct cli_args *a);
int act_console(struct cli *cli, struct cli_args *a);
/* Follow job_id until it ends or timeout_s passes, printing the state of
 * the resource (collection/instance, e.g. "/v1/volumes" and an id, shown
 * as label) on stderr when it changes. Returns CLI_OK when the job succeeded, else CLI_API. */
int act_wait_job(struct cli *cli, const char *job_id, const char *collection,
		 const char *instance, const char *label, unsigned timeout_s);
/* Show printers */
void show_quotas(const json_t *v);
/* Read one line of a secret from stdin (or the terminal without echo when
 * prompt is set and stdin is a terminal) into a new string (caller wipes
 * and frees), without its newline. Returns NULL when none could be read. */
char *cli_read_secret(const char *prompt);
