/* log: leveled, structured log lines in logfmt (key=value), one write(2)
 * per line, to stderr or a file that SIGHUP can reopen. Never pass a secret
 * (password, token, key, signature) as a value. */
#pragma once

#include <stdbool.h>

enum log_level {
	LOGL_DEBUG,
	LOGL_INFO,
	LOGL_WARN,
	LOGL_ERROR,
};

/* Send lines of at least `level` to path (NULL or "" or "-": stderr).
 * Returns 0 or a negative errno when the file cannot be opened. */
int log_open(const char *path, enum log_level level);
/* Reopen the log file (after rotation). Returns 0 or a negative errno; on
 * failure the old file stays in use. */
int log_reopen(void);
/* Close the log file and go back to stderr. */
void log_close(void);
/* Parse "debug", "info", "warn" or "error". Returns 0 or -EINVAL. */
int log_level_parse(const char *s, enum log_level *ret);
/* True when lines of this level are written. */
bool log_enabled(enum log_level level);
/* Write a line `ts=.. level=.. msg=".."` followed by key/value string
 * pairs given as varargs and ended by NULL. Values are quoted as needed. */
void log_line(enum log_level level, const char *msg, ...) __attribute__((sentinel));
/* Write a line whose message is printf-formatted. */
void log_printf(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_printf(LOGL_DEBUG, __VA_ARGS__)
#define log_info(...) log_printf(LOGL_INFO, __VA_ARGS__)
#define log_warn(...) log_printf(LOGL_WARN, __VA_ARGS__)
#define log_error(...) log_printf(LOGL_ERROR, __VA_ARGS__)
