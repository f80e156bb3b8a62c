/* proc: running a helper program (qemu-img...) with an argument vector,
 * never through a shell, capturing its output up to a limit. */
#pragma once

#include <stddef.h>

#include "buf.h"

/* Run argv[0] (searched in PATH) with argv, no stdin. Its stdout goes to
 * out (when not NULL, bounded by out's limit; the rest is dropped) and its
 * stderr to err_out likewise. Gives up after timeout_s seconds, killing
 * it. Returns the exit status (0..255), or a negative errno when it could
 * not be run, was killed by a signal (-EINTR) or timed out (-ETIMEDOUT). */
int proc_run(char *const argv[], struct buf *out, struct buf *err_out, unsigned timeout_s);
