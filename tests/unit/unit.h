/* unit.h: what the unit test programs share: the cmocka includes in the
 * order cmocka wants them, and a scratch directory under /tmp that a test
 * creates for its SQLite files and removes, with everything in it, after. */
#pragma once

#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

/* Size of a scratch directory path buffer. */
#define UNIT_DIR_SIZE 64

/* Create a fresh directory /tmp/nubo-unit-XXXXXX and write its path into
 * dir. Returns 0 or -1. */
static inline int unit_tmpdir_make(char dir[UNIT_DIR_SIZE])
{
	snprintf(dir, UNIT_DIR_SIZE, "/tmp/nubo-unit-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

/* Remove the files in dir (it holds no subdirectories) and dir itself.
 * Returns 0 or -1. */
static inline int unit_tmpdir_remove(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return -1;
	int fd = dirfd(d), r = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (unlinkat(fd, e->d_name, 0) < 0)
			r = -1;
	}
	closedir(d);
	if (rmdir(dir) < 0)
		r = -1;
	return r;
}
