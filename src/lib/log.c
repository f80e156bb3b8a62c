/* log: see log.h. One mutex protects the file descriptor and path; a line is
 * formatted outside the lock and written with a single write(2) under it, so
 * lines from different threads never interleave and a reopen never races a
 * write. */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "timeutil.h"
#include "util.h"

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static int log_fd = STDERR_FILENO;     /* protected by log_lock */
static char *log_path;                 /* protected by log_lock; NULL: stderr */
static enum log_level log_min = LOGL_INFO;

static const char *const level_names[] = { "debug", "info", "warn", "error" };

int log_level_parse(const char *s, enum log_level *ret)
{
	for (size_t i = 0; i < ARRAY_SIZE(level_names); i++) {
		if (str_eq_nocase(s, level_names[i])) {
			*ret = (enum log_level)i;
			return 0;
		}
	}
	if (str_eq_nocase(s, "warning")) {
		*ret = LOGL_WARN;
		return 0;
	}
	return -EINVAL;
}

bool log_enabled(enum log_level level)
{
	return level >= log_min;
}

static int open_file(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	return fd < 0 ? -errno : fd;
}

int log_open(const char *path, enum log_level level)
{
	int fd = STDERR_FILENO;
	if (path && *path && strcmp(path, "-") != 0) {
		fd = open_file(path);
		if (fd < 0)
			return fd;
	}
	pthread_mutex_lock(&log_lock);
	if (log_fd != STDERR_FILENO)
		close(log_fd);
	log_fd = fd;
	free(log_path);
	log_path = fd == STDERR_FILENO ? NULL : xstrdup(path);
	log_min = level;
	pthread_mutex_unlock(&log_lock);
	return 0;
}

int log_reopen(void)
{
	int r = 0;
	pthread_mutex_lock(&log_lock);
	if (log_path) {
		int fd = open_file(log_path);
		if (fd < 0) {
			r = fd;
		} else {
			close(log_fd);
			log_fd = fd;
		}
	}
	pthread_mutex_unlock(&log_lock);
	return r;
}

void log_close(void)
{
	pthread_mutex_lock(&log_lock);
	if (log_fd != STDERR_FILENO)
		close(log_fd);
	log_fd = STDERR_FILENO;
	free(log_path);
	log_path = NULL;
	pthread_mutex_unlock(&log_lock);
}

static bool needs_quotes(const char *v)
{
	if (!*v)
		return true;
	for (const unsigned char *p = (const unsigned char *)v; *p; p++)
		if (*p <= ' ' || *p == '"' || *p == '=' || *p == '\\' || *p == 0x7f)
			return true;
	return false;
}

static void put_value(struct buf *b, const char *v)
{
	if (!needs_quotes(v)) {
		buf_puts(b, v);
		return;
	}
	buf_puts(b, "\"");
	for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
		if (*p == '"' || *p == '\\')
			buf_printf(b, "\\%c", *p);
		else if (*p == '\n')
			buf_puts(b, "\\n");
		else if (*p < ' ' || *p == 0x7f)
			buf_printf(b, "\\x%02x", *p);
		else
			buf_append(b, p, 1);
	}
	buf_puts(b, "\"");
}

static void start_line(struct buf *b, enum log_level level, const char *msg)
{
	char ts[40];
	time_rfc3339_now(ts, sizeof(ts));
	buf_printf(b, "ts=%s level=%s msg=", ts, level_names[level]);
	put_value(b, msg);
}

static void emit(struct buf *b)
{
	buf_puts(b, "\n");
	pthread_mutex_lock(&log_lock);
	size_t off = 0;
	while (off < b->len) {
		ssize_t n = write(log_fd, b->data + off, b->len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	pthread_mutex_unlock(&log_lock);
}

void log_line(enum log_level level, const char *msg, ...)
{
	if (!log_enabled(level))
		return;
	struct buf b;
	buf_init(&b, 0);
	start_line(&b, level, msg);
	va_list ap;
	va_start(ap, msg);
	for (;;) {
		const char *k = va_arg(ap, const char *);
		if (!k)
			break;
		const char *v = va_arg(ap, const char *);
		buf_printf(&b, " %s=", k);
		put_value(&b, v ? v : "-");
	}
	va_end(ap);
	emit(&b);
	buf_release(&b);
}

void log_printf(enum log_level level, const char *fmt, ...)
{
	if (!log_enabled(level))
		return;
	va_list ap;
	va_start(ap, fmt);
	char *msg = xvasprintf(fmt, ap);
	va_end(ap);
	struct buf b;
	buf_init(&b, 0);
	start_line(&b, level, msg);
	emit(&b);
	buf_release(&b);
	free(msg);
}
