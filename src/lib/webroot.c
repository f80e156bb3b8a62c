/* webroot: see webroot.h.
 *
 * Why a whitelist of bytes and not a list of dangerous ones: the path has
 * already been percent-decoded once by the router, so "%2e%2e", "%2f" and
 * "%00" arrive as "..", "/" and (refused by the router) nothing; a second
 * encoding ("%252e") arrives as "%2e", whose '%' is refused here. Names the
 * console needs fit in [A-Za-z0-9._-]. Refusing every symbolic link, not
 * only those leading out, keeps the rule checkable by one flag per open. */
#include "webroot.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

static const char *const day_names[7] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
static const char *const month_names[12] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-';
}

bool webroot_path_ok(const char *path)
{
	size_t n = strlen(path);
	if (n == 0 || n > WEBROOT_PATH_MAX)
		return false;
	bool seg_start = true;
	for (const char *p = path; *p; p++) {
		if (*p == '/') {
			if (seg_start)
				return false; /* leading '/' or an empty segment */
			seg_start = true;
			continue;
		}
		if (!name_char(*p) || (seg_start && *p == '.'))
			return false; /* ".", "..", hidden names, odd bytes */
		seg_start = false;
	}
	return !seg_start; /* no trailing '/' */
}

const char *webroot_type(const char *name)
{
	static const struct {
		const char *ext;
		const char *type;
	} types[] = {
		{ "html", "text/html; charset=utf-8" },
		{ "js", "text/javascript; charset=utf-8" },
		{ "mjs", "text/javascript; charset=utf-8" },
		{ "css", "text/css; charset=utf-8" },
		{ "svg", "image/svg+xml" },
		{ "png", "image/png" },
		{ "ico", "image/x-icon" },
		{ "json", "application/json" },
		{ "txt", "text/plain; charset=utf-8" },
		{ "woff2", "font/woff2" },
		{ "webmanifest", "application/manifest+json" },
	};
	const char *slash = strrchr(name, '/');
	const char *dot = strrchr(slash ? slash + 1 : name, '.');
	if (dot)
		for (size_t i = 0; i < ARRAY_SIZE(types); i++)
			if (str_eq_nocase(dot + 1, types[i].ext))
				return types[i].type;
	return "application/octet-stream";
}

void webroot_format_date(int64_t t, char out[WEBROOT_DATE_SIZE])
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (!gmtime_r(&tt, &tm)) {
		str_copy(out, WEBROOT_DATE_SIZE, "Thu, 01 Jan 1970 00:00:00 GMT");
		return;
	}
	str_printf(out, WEBROOT_DATE_SIZE, "%s, %02d %s %04d %02d:%02d:%02d GMT",
		   day_names[tm.tm_wday], tm.tm_mday, month_names[tm.tm_mon], tm.tm_year + 1900,
		   tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* n decimal digits at s, into *ret; false when one is not a digit. */
static bool digits(const char *s, int n, int *ret)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*ret = v;
	return true;
}

/* Days from 1970-01-01 to the civil date y-m-d (proleptic Gregorian). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int webroot_parse_date(const char *s, int64_t *ret)
{
	/* "Sun, 06 Nov 1994 08:49:37 GMT": fixed positions */
	static const char shape[] = "Www, DD Mmm YYYY HH:MM:SS GMT";
	if (strlen(s) != sizeof(shape) - 1 || s[3] != ',' || s[4] != ' ' || s[7] != ' ' ||
	    s[11] != ' ' || s[16] != ' ' || s[19] != ':' || s[22] != ':' ||
	    strcmp(s + 25, " GMT") != 0)
		return -EINVAL;
	int wday = -1, mon = -1, day, year, hour, min, sec;
	for (int i = 0; i < 7; i++)
		if (memcmp(s, day_names[i], 3) == 0)
			wday = i;
	for (int i = 0; i < 12; i++)
		if (memcmp(s + 8, month_names[i], 3) == 0)
			mon = i;
	if (wday < 0 || mon < 0 || !digits(s + 5, 2, &day) || !digits(s + 12, 4, &year) ||
	    !digits(s + 17, 2, &hour) || !digits(s + 20, 2, &min) || !digits(s + 23, 2, &sec))
		return -EINVAL;
	static const int mdays[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
	if (day < 1 || day > mdays[mon] || (mon == 1 && day == 29 && !leap) || hour > 23 ||
	    min > 59 || sec > 59)
		return -EINVAL;
	int64_t days = days_from_civil(year, mon + 1, day);
	if ((days % 7 + 11) % 7 != wday) /* 1970-01-01 was a Thursday */
		return -EINVAL;
	*ret = days * 86400 + hour * 3600 + min * 60 + sec;
	return 0;
}

/* True when the If-None-Match list names etag (weak comparison) or is "*". */
static bool etag_listed(const char *list, const char *etag)
{
	const char *p = list;
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (!*p)
			return false;
		if (*p == '*')
			return true;
		if (p[0] == 'W' && p[1] == '/')
			p += 2;
		if (*p != '"')
			return false; /* not a list of entity tags: no match */
		const char *end = strchr(p + 1, '"');
		if (!end)
			return false;
		size_t n = (size_t)(end - p) + 1;
		if (n == strlen(etag) && memcmp(p, etag, n) == 0)
			return true;
		p = end + 1;
	}
}

bool webroot_not_modified(const struct webroot_file *f, const char *if_none_match,
			  const char *if_modified_since)
{
	if (if_none_match)
		return etag_listed(if_none_match, f->etag);
	int64_t since;
	return if_modified_since && webroot_parse_date(if_modified_since, &since) == 0 &&
	       since >= f->mtime_s;
}

/* Open the regular file at path under the open directory dirfd, one
 * component at a time, never following a link. Takes dirfd. */
static int open_beneath(int dirfd, const char *path)
{
	char buf[WEBROOT_PATH_MAX + 1];
	str_copy(buf, sizeof(buf), path);
	char *seg = buf;
	for (;;) {
		char *slash = strchr(seg, '/');
		if (slash)
			*slash = '\0';
		int flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY |
			    (slash ? O_DIRECTORY : O_NONBLOCK);
		int fd = openat(dirfd, seg, flags);
		int e = errno;
		close(dirfd);
		if (fd < 0)
			return e == ELOOP || e == ENOTDIR || e == ENOENT || e == ENXIO ? -ENOENT
											 : -e;
		if (!slash)
			return fd;
		dirfd = fd;
		seg = slash + 1;
	}
}

int webroot_open(const char *root, const char *path, struct webroot_file *ret)
{
	if (!webroot_path_ok(path))
		return -EINVAL;
	int dirfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return errno == ENOENT || errno == ENOTDIR ? -ENOENT : -errno;
	int fd = open_beneath(dirfd, path);
	if (fd < 0)
		return fd;
	struct stat st;
	int r = fstat(fd, &st) < 0 ? -errno : (S_ISREG(st.st_mode) ? 0 : -ENOENT);
	if (r < 0) {
		close(fd);
		return r;
	}
	ret->fd = fd;
	ret->size = (uint64_t)st.st_size;
	ret->mtime_s = (int64_t)st.st_mtim.tv_sec;
	ret->type = webroot_type(path);
	str_printf(ret->etag, sizeof(ret->etag), "\"%llx-%llx\"", (unsigned long long)st.st_size,
		   (unsigned long long)st.st_mtim.tv_sec * 1000000000ULL +
			   (unsigned long long)st.st_mtim.tv_nsec);
	webroot_format_date(ret->mtime_s, ret->last_modified);
	return 0;
}
