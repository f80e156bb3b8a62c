/* hostinfo: the capacity an agent reports: CPUs online, memory, free disk
 * under the agent's state dir, the CPU model and the virtualisation type. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include "agent.h"
#include "lib/util.h"

static void cpu_model(char *out, size_t size)
{
	str_copy(out, size, "unknown");
	FILE *f = fopen("/proc/cpuinfo", "re");
	if (!f)
		return;
	char line[256];
	while (fgets(line, sizeof(line), f)) {
		if (!str_starts_with(line, "model name"))
			continue;
		const char *colon = strchr(line, ':');
		if (!colon)
			break;
		colon++;
		while (*colon == ' ' || *colon == '\t')
			colon++;
		str_copy(out, size, colon);
		out[strcspn(out, "\n")] = '\0';
		break;
	}
	fclose(f);
}

int agent_host_info(const char *dir, const char *virt_type, struct agent_host_info *ret)
{
	struct agent_host_info h = { 0 };
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	struct sysinfo si;
	struct statvfs vfs;
	if (cpus < 1 || sysinfo(&si) < 0 || statvfs(dir, &vfs) < 0)
		return -errno;
	h.cpus = cpus;
	h.ram_mb = (int64_t)((unsigned long long)si.totalram * si.mem_unit / (1024 * 1024));
	h.disk_gb = (int64_t)((unsigned long long)vfs.f_bavail * vfs.f_frsize >> 30);
	cpu_model(h.cpu_model, sizeof(h.cpu_model));
	str_copy(h.virt_type, sizeof(h.virt_type), virt_type);
	*ret = h;
	return 0;
}

bool agent_cmdline_has(long pid, const char *needle)
{
	char path[64], line[8192];
	str_printf(path, sizeof(path), "/proc/%ld/cmdline", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, line, sizeof(line) - 1);
	close(fd);
	if (n <= 0)
		return false;
	for (ssize_t i = 0; i < n; i++)
		if (line[i] == '\0')
			line[i] = ' ';
	line[n] = '\0';
	return strstr(line, needle) != NULL;
}

void agent_remove_dir(const char *dir)
{
	DIR *d = opendir(dir);
	for (struct dirent *e; d && (e = readdir(d));)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			unlinkat(dirfd(d), e->d_name, 0);
	if (d)
		closedir(d);
	rmdir(dir);
}
