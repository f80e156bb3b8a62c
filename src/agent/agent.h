/* agent: nubo-agent, one per hypervisor host. It enrolls with nubod once
 * (a one-time token for a host credential kept in its state dir), then
 * dials out to nubod — so hosts behind NAT work — and reports its capacity
 * in heartbeats. It speaks to nubod over HTTP only and uses nothing of
 * nubod's but src/lib. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* What the agent knows of its machine. */
struct agent_host_info {
	int64_t cpus;
	int64_t ram_mb;
	int64_t disk_gb;        /* free space where the agent keeps disks */
	char cpu_model[64];
	char virt_type[8];      /* "kvm" when KVM runs a guest here, else "qemu" */
};

/* Probe whether KVM can actually run guest code here: open /dev/kvm, make
 * a VM with one vCPU and run a guest instruction. Returns true only when
 * the vCPU ran it (a /dev/kvm that exists but cannot run guests, as under
 * nested virtualisation switched off, gives false). why (may be NULL)
 * receives the reason for false. */
bool agent_kvm_usable(char *why, size_t why_size);
/* Fill info for the machine, with disks kept under dir; virt_type ("kvm"
 * or "qemu") is what the driver found. Returns 0 or a negative errno. */
int agent_host_info(const char *dir, const char *virt_type, struct agent_host_info *ret);
/* Whether process pid's command line (arguments joined by spaces) holds
 * needle. */
bool agent_cmdline_has(long pid, const char *needle);
/* Remove dir and the files in it (it holds no subdirectories). */
void agent_remove_dir(const char *dir);

/* ---- the libvirt driver ---- */

struct driver;

/* A domain as the agent sees it. */
enum dom_state { DOM_ABSENT, DOM_STOPPED, DOM_RUNNING };

/* Connect to libvirt at uri (for qemu:///embed?root=DIR, DIR/etc/qemu.conf
 * is written first when missing, so the embedded driver logs to files and
 * needs no virtlogd). virt_type "auto" probes: the vCPU test of
 * agent_kvm_usable, then a throwaway KVM domain through libvirt (QEMU runs
 * as another user, who may not open /dev/kvm). Returns 0 or -1 (logged). */
int driver_open(const char *uri, const char *virt_type, const char *disk_dir,
		struct driver **ret);
/* Disconnect and free. Accepts NULL. */
void driver_free(struct driver *d);
/* "kvm" or "qemu": what domains are defined with. */
const char *driver_virt_type(const struct driver *d);
/* The state of instance id's domain. */
enum dom_state driver_state(struct driver *d, const char *id);
/* A volume as a domain holds it. */
struct domain_disk {
	const char *path;         /* qcow2 file */
	const char *dev;          /* "vdb"... */
};

#define DOMAIN_DISKS_MAX 25

/* A NIC on a tenant network: a tap the agent made (net.c). */
struct domain_nic {
	const char *tap;          /* "nt-..." */
	const char *mac;          /* the port's MAC */
};

#define DOMAIN_NICS_MAX 8

/* What a domain is made of. */
struct domain_spec {
	const char *id;           /* instance id: the domain's UUID */
	int64_t vcpus, ram_mb;
	const char *disk;         /* root disk (qcow2) */
	const char *console;      /* file the serial console goes to */
	const char *cidata;       /* config drive ISO on a cdrom, or NULL */
	struct domain_disk vols[DOMAIN_DISKS_MAX]; /* attached volumes */
	size_t nvols;
	/* tenant NICs in the guest's order; none: QEMU's user-mode network */
	struct domain_nic nics[DOMAIN_NICS_MAX];
	size_t nnics;
};

/* Define and start a domain. Returns 0 or -1 with a reason in why. */
int driver_start(struct driver *d, const struct domain_spec *spec, char *why,
		 size_t why_size);
/* Define (or redefine, when stopped) a domain without starting it.
 * Returns 0 or -1 with a reason in why. */
int driver_define(struct driver *d, const struct domain_spec *spec, char *why,
		  size_t why_size);
/* Whether instance id's domain holds the disk at path: in its running
 * guest (live) or in its definition. */
bool driver_has_disk(struct driver *d, const char *id, const char *path, bool live);
/* Attach a disk to instance id's domain: to its definition, and hot to the
 * guest when it runs. Returns 0 or -1 with a reason in why. */
int driver_attach_disk(struct driver *d, const char *id, const struct domain_disk *disk,
		       char *why, size_t why_size);
/* Ask to detach a disk (from the definition at once; from a running guest
 * when the guest lets go, which driver_has_disk(live) shows later). */
int driver_detach_disk(struct driver *d, const char *id, const struct domain_disk *disk,
		       char *why, size_t why_size);
/* Grow an attached disk of a running domain to bytes. */
int driver_resize_disk(struct driver *d, const char *id, const char *dev, uint64_t bytes,
		       char *why, size_t why_size);
/* Start a defined, stopped domain. */
int driver_resume(struct driver *d, const char *id, char *why, size_t why_size);
/* Stop: ACPI shutdown, then forced off after timeout_s. */
int driver_stop(struct driver *d, const char *id, unsigned timeout_s);
/* Hard reboot: off, then on. */
int driver_reboot(struct driver *d, const char *id, char *why, size_t why_size);
/* Force off and undefine (no-op when absent). */
int driver_remove(struct driver *d, const char *id);
/* Instance ids of every domain of ours ("nubo-" names). Caller frees the
 * array and its strings. */
int driver_list(struct driver *d, char ***ret, size_t *ret_n);

/* ---- storage: where volumes and their snapshots live ---- */

struct storage_pool;

/* A storage driver: what it takes to keep volumes and snapshots in a pool
 * of its kind. Each function returns 0, or -1 with a reason in why. */
struct storage_ops {
	const char *driver;       /* "dir" */
	/* Where QEMU opens volume id. Caller frees. */
	char *(*volume_path)(const struct storage_pool *p, const char *id);
	bool (*volume_exists)(const struct storage_pool *p, const char *id);
	/* Make volume id of size_gb: blank, a full copy of the local file
	 * image_file, or of snapshot snapshot_id of the same pool. */
	int (*volume_make)(const struct storage_pool *p, const char *id, int64_t size_gb,
			   const char *image_file, const char *snapshot_id, char *why,
			   size_t why_size);
	/* Grow a volume no running guest holds. */
	int (*volume_grow)(const struct storage_pool *p, const char *id, int64_t size_gb,
			   char *why, size_t why_size);
	int (*volume_remove)(const struct storage_pool *p, const char *id, char *why,
			     size_t why_size);
	/* Copy volume volume_id into snapshot id. */
	int (*snapshot_make)(const struct storage_pool *p, const char *id, const char *volume_id,
			     char *why, size_t why_size);
	int (*snapshot_remove)(const struct storage_pool *p, const char *id, char *why,
			       size_t why_size);
};

/* A storage pool as this host reaches it. */
struct storage_pool {
	char name[64];            /* as nubod knows it; "" for the host's local storage */
	char *dir;                /* "dir" driver: the directory of its files (owned) */
	const struct storage_ops *ops;
};

/* The pools of this host: local storage in local_dir first, then each
 * NAME=DIR of spec ("a=/mnt/a,b=/mnt/b"; the directories must exist).
 * Returns 0 and an array to free with storage_pools_free, or -1 (logged). */
int storage_pools_parse(const char *spec, const char *local_dir, struct storage_pool **ret,
			size_t *ret_n);
/* Free pools from storage_pools_parse. Accepts NULL. */
void storage_pools_free(struct storage_pool *pools, size_t n);
/* The pool named name ("" for local storage) among pools, or NULL. */
const struct storage_pool *storage_pool_find(const struct storage_pool *pools, size_t n,
					     const char *name);
/* Warn about each parent of dir that QEMU (another user) cannot traverse. */
void storage_warn_untraversable(const char *dir);
/* Run qemu-img with argv; 0, or -1 with its complaint (after what) in why. */
int storage_qemu_img(char *const argv[], const char *what, char *why, size_t why_size);
/* Make part a qcow2 of size (e.g. "2G") holding a full copy of the disk
 * from (what names the copy in an error). */
int storage_copy(const char *from, const char *part, const char *size, const char *what,
		 char *why, size_t why_size);
/* A file made aside as part becomes path when r is 0, and goes otherwise.
 * Returns r, or -1 when the rename fails. */
int storage_put_in_place(const char *part, const char *path, int r, char *why, size_t why_size);
/* ---- tenant networks (net.c, netstate.c) ---- */

/* How this host takes part in tenant networks. */
struct agent_net {
	const char *dir;           /* net/ under the state dir: per-network files */
	const char *underlay_ip;   /* VXLAN's local address */
	const char *external_if;   /* faces the external network, or NULL: no NAT */
	struct md_server **md;     /* metadata servers, one per network (metadata.c) */
	size_t nmd;
};

/* Converge this host's tenant networking (bridges, VXLAN, taps, dnsmasq,
 * nftables) towards the "networks", "security_groups" and
 * "external_network" members of desired, nubod's answer to the poll, and
 * remove what nubod no longer wants. A desired state without "networks"
 * (a nubod without tenant networks) changes nothing. Returns 0, or -1
 * when a step failed (logged; the next pass tries again). */
int agent_net_converge(struct agent_net *cfg, json_t *desired);
/* Stop the metadata servers and free what cfg holds (the host's networking
 * stays as it is). */
void agent_net_release(struct agent_net *cfg);

/* ---- reconciling ---- */

struct agent_ctx {
	const char *server;        /* nubod's URL */
	const char *host_id;
	const char *credential;    /* borrowed */
	struct driver *drv;
	char *image_dir;           /* cached images: <image id>.qcow2 */
	char *disk_dir;            /* instance disks and consoles */
	unsigned stop_timeout_s;   /* graceful stop before forcing off */
	unsigned image_cache_ttl_s; /* unused cached images live this long */
	struct storage_pool *pools; /* local storage first, then shared pools */
	size_t npools;
	struct agent_net net;      /* tenant networking; net.dir NULL: none here */
	void *volumes;             /* this pass's volumes (a borrowed json_t array) */
	/* the version of the desired state last fetched ("" for none): the
	 * next fetch waits until nubod has a newer one */
	char version[64];
	/* console bytes already sent, per instance */
	struct console_sent {
		char id[40];
		long long size;
	} *sent;
	size_t nsent;
};

/* One pass: fetch the instances nubod wants on this host, converge the
 * domains towards them (build, start, stop, reboot, delete; remove strays),
 * report what is, and send changed consoles. The fetch is a long poll: when
 * a version is known, nubod answers once its desired state differs from
 * that version, or after wait_s seconds with the same state. Returns 0, or
 * -1 when nubod could not be reached or refused (retried next pass). */
int agent_reconcile(struct agent_ctx *a, unsigned wait_s);
