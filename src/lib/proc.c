/* proc: see proc.h. posix_spawnp with two pipes read through poll(), so a
 * chatty child cannot fill a pipe and deadlock, and a hung one is killed
 * at its deadline. */
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "timeutil.h"
#include "util.h"

extern char **environ;

static void drain(int fd, struct buf *into, bool *open_)
{
	char chunk[4096];
	ssize_t n = read(fd, chunk, sizeof(chunk));
	if (n > 0) {
		if (into)
			buf_append(into, chunk, (size_t)n); /* over the limit: dropped */
	} else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
		*open_ = false;
	}
}

int proc_run(char *const argv[], struct buf *out, struct buf *err_out, unsigned timeout_s)
{
	int po[2] = { -1, -1 }, pe[2] = { -1, -1 };
	if (pipe2(po, O_CLOEXEC) < 0 || pipe2(pe, O_CLOEXEC) < 0) {
		int e = -errno;
		for (int i = 0; i < 2; i++) {
			if (po[i] >= 0)
				close(po[i]);
			if (pe[i] >= 0)
				close(pe[i]);
		}
		return e;
	}
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, po[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
	posix_spawnattr_t attr;
	posix_spawnattr_init(&attr);
	sigset_t none;
	sigemptyset(&none);
	posix_spawnattr_setsigmask(&attr, &none); /* nubod blocks signals; the child must not */
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
	pid_t pid;
	int r = posix_spawnp(&pid, argv[0], &fa, &attr, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	close(po[1]);
	close(pe[1]);
	if (r != 0) {
		close(po[0]);
		close(pe[0]);
		return -r;
	}
	bool o_open = true, e_open = true, timed_out = false;
	double deadline = time_mono() + timeout_s;
	while (o_open || e_open) {
		struct pollfd fds[2] = { { .fd = o_open ? po[0] : -1, .events = POLLIN },
					 { .fd = e_open ? pe[0] : -1, .events = POLLIN } };
		int left = (int)((deadline - time_mono()) * 1000);
		if (left <= 0) {
			timed_out = true;
			kill(pid, SIGKILL);
			break;
		}
		int n = poll(fds, 2, left);
		if (n < 0 && errno != EINTR)
			break;
		if (fds[0].revents)
			drain(po[0], out, &o_open);
		if (fds[1].revents)
			drain(pe[0], err_out, &e_open);
	}
	close(po[0]);
	close(pe[0]);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (timed_out)
		return -ETIMEDOUT;
	if (WIFSIGNALED(status))
		return -EINTR;
	return WEXITSTATUS(status);
}
