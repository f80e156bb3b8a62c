/* config: table-driven settings read from an INI file and from command-line
 * flags. Each option has an INI name (section.key), a flag (--flag), a type,
 * a default and a help line; precedence is default < file < flag. The
 * caller's table says where in its own struct each value goes. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "err.h"

enum config_type {
	CONFIG_STRING, /* char *, owned by the target, freed by config_release */
	CONFIG_UINT,   /* uint64_t within [min, max] */
	CONFIG_SIZE,   /* uint64_t bytes, with optional K/M/G suffix */
	CONFIG_BOOL,   /* bool; a flag without a value means true */
};

struct config_opt {
	const char *section; /* INI section, or NULL for a flag-only option */
	const char *key;     /* INI key within the section */
	const char *flag;    /* flag name without "--" */
	enum config_type type;
	size_t offset;       /* offsetof() the value in the target struct */
	const char *def;     /* default as text, or NULL for none */
	uint64_t min, max;   /* bounds for CONFIG_UINT and CONFIG_SIZE */
	const char *help;    /* one line for --help */
};

/* Set every option of target to its default. Returns 0 or -ERR_INVALID
 * (a bad default is a programming error). */
int config_defaults(const struct config_opt *opts, size_t n, void *target, struct err *err);
/* Apply an INI file's settings. Unknown sections or keys and bad values are
 * refused with the line number. Returns 0 or -ERR_INVALID / -ERR_NOT_FOUND. */
int config_load_file(const struct config_opt *opts, size_t n, void *target, const char *path,
		     struct err *err);
/* Apply INI text (the parser behind config_load_file; name is for messages). */
int config_load_text(const struct config_opt *opts, size_t n, void *target, const char *text,
		     const char *name, struct err *err);
/* Apply --flag value and --flag=value arguments (argv[0] is skipped).
 * Unknown flags and positional arguments are refused. */
int config_load_args(const struct config_opt *opts, size_t n, void *target, int argc,
		     char **argv, struct err *err);
/* Find the value of --flag in argv without applying anything, or NULL. */
const char *config_find_arg(int argc, char **argv, const char *flag);
/* Print a help line per option (flag, INI name, default, help) to out. */
void config_help(const struct config_opt *opts, size_t n, FILE *out);
/* Free the strings config stored in target. */
void config_release(const struct config_opt *opts, size_t n, void *target);
