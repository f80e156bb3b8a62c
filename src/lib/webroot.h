/* webroot: hands out the regular files of one directory tree to HTTP
 * clients, safely. It maps a decoded URL path to a file under the root and
 * refuses everything that could reach outside it or show what was not put
 * there to be shown: "." and ".." segments, empty segments, names starting
 * with '.', any byte outside [A-Za-z0-9._-] and '/', and every symbolic
 * link (each component is opened with O_NOFOLLOW relative to its parent,
 * so no check-then-open race either). Directories are never listed. It
 * names the Content-Type from the extension, makes an ETag and a
 * Last-Modified from the file's size and modification time, and decides
 * conditional requests. It knows nothing of routes or clouds. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* Longest path webroot accepts, bytes. */
#define WEBROOT_PATH_MAX 255
/* Bytes of an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") plus NUL. */
#define WEBROOT_DATE_SIZE 30

struct webroot_file {
	int fd;             /* open read-only; the caller closes it or hands it on */
	uint64_t size;      /* bytes in the file */
	int64_t mtime_s;    /* last modification, Unix seconds */
	const char *type;   /* Content-Type by extension (static string) */
	char etag[48];      /* strong ETag, quotes included */
	char last_modified[WEBROOT_DATE_SIZE]; /* mtime as an IMF-fixdate */
};

/* True when path (decoded, relative: no leading '/') is one webroot
 * serves: 1 to WEBROOT_PATH_MAX bytes of segments made of [A-Za-z0-9._-],
 * none empty or starting with '.', separated by single slashes. */
bool webroot_path_ok(const char *path);
/* The Content-Type for file name by its extension (a static string);
 * "application/octet-stream" when the extension is not known. */
const char *webroot_type(const char *name);
/* Open path under the directory root. Returns 0 and fills ret (the caller
 * owns ret->fd); -EINVAL when webroot_path_ok refuses path; -ENOENT when
 * there is no regular file there (missing, a directory, a symbolic link or
 * something else on the way, or no root); another negative errno when the
 * file cannot be read. */
int webroot_open(const char *root, const char *path, struct webroot_file *ret);
/* True when a conditional GET or HEAD carrying these request headers (each
 * may be NULL) is answered 304 for f: If-None-Match lists f's ETag (weakly
 * compared) or "*"; or, when there is no If-None-Match, If-Modified-Since
 * is a valid date not before f's modification time. */
bool webroot_not_modified(const struct webroot_file *f, const char *if_none_match,
			  const char *if_modified_since);
/* Parse an IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT", the one HTTP date
 * form a sender may generate) into Unix seconds. Returns 0 or -EINVAL. */
int webroot_parse_date(const char *s, int64_t *ret);
/* Write Unix seconds t as an IMF-fixdate into out. */
void webroot_format_date(int64_t t, char out[WEBROOT_DATE_SIZE]);
