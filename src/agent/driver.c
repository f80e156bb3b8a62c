/* driver: the agent's libvirt driver; see agent.h. Domains are named
 * "nubo-<instance id>" with the instance id as their UUID, have one virtio
 * disk (a qcow2 overlay over the cached image), no graphics, the serial
 * console in a file, and ACPI so that a graceful stop reaches the guest.
 * Every call checks the domain's state rather than trusting exit codes:
 * a destroy can race a QEMU that is already gone. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/util.h"

#define NAME_PREFIX "nubo-"

struct driver {
	virConnectPtr conn;
	char virt_type[8];
	pthread_t events;      /* runs libvirt's event loop */
};

/* libvirt's embedded driver needs an event loop running in the process.
 * The thread runs for the agent's life; it ends with the process. */
static void *event_loop(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "nubo-virt-ev");
	for (;;)
		if (virEventRunDefaultImpl() < 0)
			log_warn("libvirt event loop: %s", virGetLastErrorMessage());
	return NULL;
}

static void quiet(void *ud, virErrorPtr e)
{
	(void)ud;
	(void)e; /* errors are read with virGetLastErrorMessage where they matter */
}

const char *driver_virt_type(const struct driver *d)
{
	return d->virt_type;
}

/* The root directory of an embedded driver's uri, in dir; false when uri
 * is not one. */
static bool embed_root(const char *uri, char *dir, size_t size)
{
	const char *root = strstr(uri, "root=");
	if (!str_starts_with(uri, "qemu:///embed") || !root)
		return false;
	return str_printf(dir, size, "%.*s", (int)strcspn(root + 5, "&"), root + 5);
}

/* For an embedded driver: its qemu.conf, so QEMU output goes to files. */
static void embed_config(const char *uri)
{
	char dir[512];
	if (!embed_root(uri, dir, sizeof(dir)))
		return;
	char *etc = xasprintf("%s/etc", dir), *conf = xasprintf("%s/etc/qemu.conf", dir);
	/* QEMU runs as another user (libvirt-qemu) and must reach files under
	 * the root: traversable, not listable */
	mkdir(dir, 0711);
	if (chmod(dir, 0711) < 0)
		log_warn("cannot make %s traversable for QEMU: %s", dir, strerror(errno));
	mkdir(etc, 0755);
	if (access(conf, F_OK) != 0) {
		FILE *f = fopen(conf, "we");
		if (f) {
			fputs("# written by nubo-agent: QEMU logs to files, no virtlogd\n"
			      "stdio_handler = \"file\"\n", f);
			fclose(f);
		}
	}
	free(etc);
	free(conf);
}

/* When process pid started, in clock ticks since boot (0: unknown). */
static uint64_t start_ticks(long pid)
{
	char path[64], line[1024];
	str_printf(path, sizeof(path), "/proc/%ld/stat", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, line, sizeof(line) - 1) : -1;
	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return 0;
	line[n] = '\0';
	/* field 22; the name (field 2) may hold spaces but ends at the last ')' */
	char *p = strrchr(line, ')');
	for (int field = 2; p && field < 22; field++)
		p = strchr(p + 1, ' ');
	if (!p)
		return 0;
	p[strcspn(p + 1, " ") + 1] = '\0';
	uint64_t t;
	return parse_u64(p + 1, 1, UINT64_MAX, &t) == 0 ? t : 0;
}

/* End the QEMU of one capability probe in dir (its qmp.pid names it) and
 * remove dir, when that QEMU started before this agent. */
static void end_probe(const char *dir)
{
	char *pidfile = xasprintf("%s/qmp.pid", dir);
	char text[32] = "";
	int fd = open(pidfile, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, text, sizeof(text) - 1) : -1;
	if (fd >= 0)
		close(fd);
	text[n > 0 ? n : 0] = '\0';
	text[strcspn(text, "\n")] = '\0';
	int64_t pid;
	free(pidfile);
	if (parse_i64(text, 2, INT32_MAX, &pid) < 0)
		pid = 0;
	/* the pid must still be that QEMU (its command line names dir), and
	 * not a probe libvirt started for us since we connected */
	if (!pid || !agent_cmdline_has((long)pid, dir))
		return;
	uint64_t t = start_ticks((long)pid), me = start_ticks((long)getpid());
	if (!t || !me || t > me || kill((pid_t)pid, SIGKILL) < 0)
		return;
	log_line(LOGL_INFO, "ended the QEMU capability probe of a killed agent", "dir", dir, NULL);
	agent_remove_dir(dir);
}

/* An embedded driver probes QEMU's capabilities with a QEMU of its own
 * (ROOT/lib/qemu/qmp-XXXXXX/), which an agent killed meanwhile leaves
 * running for good. Once connected, the root is ours alone (libvirt locks
 * it): a probe there that started before this agent is such a leftover. */
static void end_stale_probes(const char *uri)
{
	char root[512];
	if (!embed_root(uri, root, sizeof(root)))
		return;
	char *lib = xasprintf("%s/lib/qemu", root);
	DIR *d = opendir(lib);
	for (struct dirent *e; d && (e = readdir(d));) {
		if (!str_starts_with(e->d_name, "qmp-"))
			continue;
		char *dir = xasprintf("%s/%s", lib, e->d_name);
		end_probe(dir);
		free(dir);
	}
	if (d)
		closedir(d);
	free(lib);
}

/* A volume's <disk> element. */
static void disk_xml(struct buf *b, const struct domain_disk *disk)
{
	buf_printf(b,
		   "    <disk type='file' device='disk'>\n"
		   "      <driver name='qemu' type='qcow2'/>\n"
		   "      <source file='%s'/>\n"
		   "      <target dev='%s' bus='virtio'/>\n"
		   "    </disk>\n",
		   disk->path, disk->dev);
}

static char *domain_xml(const char *type, const struct domain_spec *sp)
{
	struct buf b;
	buf_init(&b, 0);
	buf_printf(&b,
		   "<domain type='%s'>\n"
		   "  <name>" NAME_PREFIX "%s</name>\n"
		   "  <uuid>%s</uuid>\n"
		   "  <memory unit='MiB'>%lld</memory>\n"
		   "  <vcpu>%lld</vcpu>\n"
		   "  <os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/></os>\n"
		   "  <features><acpi/></features>\n"
		   "  <on_poweroff>destroy</on_poweroff>\n"
		   "  <on_crash>destroy</on_crash>\n"
		   "  <devices>\n"
		   "    <disk type='file' device='disk'>\n"
		   "      <driver name='qemu' type='qcow2'/>\n"
		   "      <source file='%s'/>\n"
		   "      <target dev='vda' bus='virtio'/>\n"
		   "    </disk>\n",
		   type, sp->id, sp->id, (long long)sp->ram_mb, (long long)sp->vcpus, sp->disk);
	for (size_t k = 0; k < sp->nvols; k++)
		disk_xml(&b, &sp->vols[k]);
	if (sp->cidata)
		buf_printf(&b,
			   "    <disk type='file' device='cdrom'>\n"
			   "      <driver name='qemu' type='raw'/>\n"
			   "      <source file='%s'/>\n"
			   "      <target dev='hdc' bus='ide'/>\n"
			   "      <readonly/>\n"
			   "    </disk>\n",
			   sp->cidata);
	/* tenant NICs are taps the agent made and plugged into their
	 * network's bridge; an instance without any gets QEMU's own user-mode
	 * network, which answers the guest's DHCP inside the QEMU process */
	for (size_t k = 0; k < sp->nnics; k++)
		buf_printf(&b,
			   "    <interface type='ethernet'>\n"
			   "      <mac address='%s'/>\n"
			   "      <target dev='%s' managed='no'/>\n"
			   "      <model type='virtio'/>\n"
			   "    </interface>\n",
			   sp->nics[k].mac, sp->nics[k].tap);
	if (!sp->nnics)
		buf_printf(&b,
			   "    <interface type='user'>\n"
			   "      <mac address='52:54:00:%.2s:%.2s:%.2s'/>\n"
			   "      <model type='virtio'/>\n"
			   "    </interface>\n",
			   sp->id, sp->id + 2, sp->id + 4);
	buf_printf(&b,
		   "    <serial type='file'><source path='%s'/><target port='0'/></serial>\n"
		   "    <console type='file'><source path='%s'/>"
		   "<target type='serial' port='0'/></console>\n"
		   "    <memballoon model='none'/>\n"
		   "  </devices>\n"
		   "</domain>\n",
		   sp->console, sp->console);
	return buf_detach(&b, NULL);
}

/* Can QEMU, as libvirt runs it, use KVM? Start a throwaway domain. */
static bool kvm_through_libvirt(virConnectPtr conn, const char *disk_dir)
{
	char id[40] = "00000000-0000-4000-8000-00000000c0de";
	char *console = xasprintf("%s/kvm-probe.console", disk_dir);
	/* one left running by an agent killed while probing would make this
	 * probe fail for a name in use, and the host fall back to TCG */
	virDomainPtr old = virDomainLookupByName(conn, "nubo-kvm-probe");
	if (old) {
		virDomainDestroy(old);
		virDomainFree(old);
	}
	struct buf b;
	buf_init(&b, 0);
	buf_printf(&b,
		   "<domain type='kvm'><name>nubo-kvm-probe</name><uuid>%s</uuid>"
		   "<memory unit='MiB'>32</memory><vcpu>1</vcpu>"
		   "<os><type arch='x86_64' machine='pc'>hvm</type></os>"
		   "<devices><memballoon model='none'/></devices></domain>",
		   id);
	virDomainPtr dom = virDomainCreateXML(conn, b.data, 0);
	bool ok = dom != NULL;
	if (!ok)
		log_info("KVM through libvirt does not work here (%s): guests run under TCG",
			 virGetLastErrorMessage());
	if (dom) {
		virDomainDestroy(dom);
		virDomainFree(dom);
	}
	buf_release(&b);
	unlink(console);
	free(console);
	return ok;
}

int driver_open(const char *uri, const char *virt_type, const char *disk_dir,
		struct driver **ret)
{
	virSetErrorFunc(NULL, quiet);
	embed_config(uri);
	if (virEventRegisterDefaultImpl() < 0) {
		log_error("cannot set up libvirt's event loop: %s", virGetLastErrorMessage());
		return -1;
	}
	struct driver *d = xcalloc(1, sizeof(*d));
	pthread_create(&d->events, NULL, event_loop, NULL);
	pthread_detach(d->events);
	virConnectPtr conn = virConnectOpen(uri);
	if (!conn) {
		log_error("cannot connect to libvirt at %s: %s", uri, virGetLastErrorMessage());
		free(d);
		return -1;
	}
	d->conn = conn;
	end_stale_probes(uri);
	if (strcmp(virt_type, "auto") == 0) {
		char why[160];
		bool kvm = agent_kvm_usable(why, sizeof(why)) && kvm_through_libvirt(conn, disk_dir);
		str_copy(d->virt_type, sizeof(d->virt_type), kvm ? "kvm" : "qemu");
	} else {
		str_copy(d->virt_type, sizeof(d->virt_type), virt_type);
	}
	log_line(LOGL_INFO, "libvirt connected", "uri", uri, "virt_type", d->virt_type, NULL);
	*ret = d;
	return 0;
}

void driver_free(struct driver *d)
{
	if (!d)
		return;
	virConnectClose(d->conn);
	free(d);
	/* Closing an embedded driver's last connection ends its worker threads
	 * asynchronously; give them a moment to be gone before the process
	 * exits (a leak check at exit races with threads still exiting, and
	 * under LeakSanitizer that race has crashed the check). */
	struct timespec settle = { 0, 200 * 1000 * 1000 };
	nanosleep(&settle, NULL);
}

static virDomainPtr lookup(struct driver *d, const char *id)
{
	char name[64];
	str_printf(name, sizeof(name), NAME_PREFIX "%s", id);
	return virDomainLookupByName(d->conn, name);
}

enum dom_state driver_state(struct driver *d, const char *id)
{
	virDomainPtr dom = lookup(d, id);
	if (!dom)
		return DOM_ABSENT;
	int active = virDomainIsActive(dom);
	virDomainFree(dom);
	return active == 1 ? DOM_RUNNING : DOM_STOPPED;
}

static void reason(char *why, size_t size, const char *what)
{
	str_printf(why, size, "%s: %s", what, virGetLastErrorMessage());
}

static virDomainPtr define(struct driver *d, const struct domain_spec *spec, char *why,
			   size_t why_size)
{
	char *xml = domain_xml(d->virt_type, spec);
	virDomainPtr dom = virDomainDefineXML(d->conn, xml);
	free(xml);
	if (!dom)
		reason(why, why_size, "defining the domain failed");
	return dom;
}

int driver_define(struct driver *d, const struct domain_spec *spec, char *why,
		  size_t why_size)
{
	virDomainPtr dom = define(d, spec, why, why_size);
	if (!dom)
		return -1;
	virDomainFree(dom);
	return 0;
}

int driver_start(struct driver *d, const struct domain_spec *spec, char *why,
		 size_t why_size)
{
	virDomainPtr dom = define(d, spec, why, why_size);
	if (!dom)
		return -1;
	int r = virDomainCreate(dom);
	if (r < 0)
		reason(why, why_size, "starting the domain failed");
	virDomainFree(dom);
	return r < 0 ? -1 : 0;
}

bool driver_has_disk(struct driver *d, const char *id, const char *path, bool live)
{
	virDomainPtr dom = lookup(d, id);
	if (!dom)
		return false;
	char *xml = virDomainGetXMLDesc(dom, live ? 0 : VIR_DOMAIN_XML_INACTIVE);
	virDomainFree(dom);
	if (!xml)
		return false;
	char *want = xasprintf("<source file='%s'", path);
	bool has = strstr(xml, want) != NULL;
	free(want);
	free(xml);
	return has;
}

/* Attach or detach a disk, live too when the domain runs. */
static int change_disk(struct driver *d, const char *id, const struct domain_disk *disk,
		       bool attach, char *why, size_t why_size)
{
	virDomainPtr dom = lookup(d, id);
	if (!dom) {
		str_copy(why, why_size, "the instance's domain is not defined");
		return -1;
	}
	struct buf b;
	buf_init(&b, 0);
	disk_xml(&b, disk);
	unsigned flags = VIR_DOMAIN_AFFECT_CONFIG;
	if (virDomainIsActive(dom) == 1)
		flags |= VIR_DOMAIN_AFFECT_LIVE;
	int r = attach ? virDomainAttachDeviceFlags(dom, b.data, flags)
		       : virDomainDetachDeviceFlags(dom, b.data, flags);
	if (r < 0)
		reason(why, why_size, attach ? "attaching the disk failed" : "detaching the disk failed");
	buf_release(&b);
	virDomainFree(dom);
	return r < 0 ? -1 : 0;
}

int driver_attach_disk(struct driver *d, const char *id, const struct domain_disk *disk,
		       char *why, size_t why_size)
{
	return change_disk(d, id, disk, true, why, why_size);
}

int driver_detach_disk(struct driver *d, const char *id, const struct domain_disk *disk,
		       char *why, size_t why_size)
{
	return change_disk(d, id, disk, false, why, why_size);
}

int driver_resize_disk(struct driver *d, const char *id, const char *dev, uint64_t bytes,
		       char *why, size_t why_size)
{
	virDomainPtr dom = lookup(d, id);
	if (!dom) {
		str_copy(why, why_size, "the instance's domain is not defined");
		return -1;
	}
	int r = virDomainBlockResize(dom, dev, bytes, VIR_DOMAIN_BLOCK_RESIZE_BYTES);
	if (r < 0)
		reason(why, why_size, "growing the disk failed");
	virDomainFree(dom);
	return r < 0 ? -1 : 0;
}

int driver_resume(struct driver *d, const char *id, char *why, size_t why_size)
{
	virDomainPtr dom = lookup(d, id);
	if (!dom) {
		str_copy(why, why_size, "the domain is not defined");
		return -1;
	}
	int r = virDomainIsActive(dom) == 1 ? 0 : virDomainCreate(dom);
	if (r < 0)
		reason(why, why_size, "starting the domain failed");
	virDomainFree(dom);
	return r < 0 ? -1 : 0;
}

static void force_off(virDomainPtr dom)
{
	if (virDomainIsActive(dom) == 1)
		virDomainDestroy(dom); /* may race an exiting QEMU: the state decides */
}

int driver_stop(struct driver *d, const char *id, unsigned timeout_s)
{
	virDomainPtr dom = lookup(d, id);
	if (!dom)
		return 0;
	if (virDomainIsActive(dom) == 1) {
		virDomainShutdown(dom);
		struct timespec step = { 0, 200 * 1000 * 1000 };
		for (unsigned k = 0; k < timeout_s * 5 && virDomainIsActive(dom) == 1; k++)
			nanosleep(&step, NULL);
		if (virDomainIsActive(dom) == 1)
			log_line(LOGL_INFO, "guest did not stop in time; forcing it off", "instance",
				 id, NULL);
		force_off(dom);
	}
	int active = virDomainIsActive(dom);
	virDomainFree(dom);
	return active == 1 ? -1 : 0;
}

int driver_reboot(struct driver *d, const char *id, char *why, size_t why_size)
{
	virDomainPtr dom = lookup(d, id);
	if (!dom) {
		str_copy(why, why_size, "the domain is not defined");
		return -1;
	}
	force_off(dom);
	int r = virDomainCreate(dom);
	if (r < 0)
		reason(why, why_size, "starting the domain again failed");
	virDomainFree(dom);
	return r < 0 ? -1 : 0;
}

int driver_remove(struct driver *d, const char *id)
{
	virDomainPtr dom = lookup(d, id);
	if (!dom)
		return 0;
	force_off(dom);
	int r = virDomainUndefine(dom);
	virDomainFree(dom);
	return r < 0 && driver_state(d, id) != DOM_ABSENT ? -1 : 0;
}

int driver_list(struct driver *d, char ***ret, size_t *ret_n)
{
	virDomainPtr *doms = NULL;
	int n = virConnectListAllDomains(d->conn, &doms, 0);
	if (n < 0)
		return -1;
	char **ids = xcalloc((size_t)n + 1, sizeof(*ids));
	size_t k = 0;
	for (int i = 0; i < n; i++) {
		const char *name = virDomainGetName(doms[i]);
		if (name && str_starts_with(name, NAME_PREFIX) && strlen(name) == 5 + 36)
			ids[k++] = xstrdup(name + strlen(NAME_PREFIX));
		virDomainFree(doms[i]);
	}
	free(doms);
	*ret = ids;
	*ret_n = k;
	return 0;
}
