/* agent: nubo-agent, one per hypervisor host. It enrolls with nubod once
 * (a one-time token for a host credential kept in its state dir), then
 * dials out to nubod — so hosts behind NAT work — and reports its capacity
 * in heartbeats. It speaks to nubod over HTTP only and uses nothing of
 * nubod's but src/lib. */
#pragma once

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
/* Fill info for the machine, with disks kept under dir. virt_type is
 * "auto" (probe), "kvm" or "qemu". Returns 0 or a negative errno. */
int agent_host_info(const char *dir, const char *virt_type, struct agent_host_info *ret);
