/* kvmprobe: does KVM run guests on this machine? Existence of /dev/kvm is
 * not enough: nested virtualisation may be off, or the device may be a
 * stub. So we do what a hypervisor does, at the smallest scale: one page
 * of guest memory holding a HLT instruction, one vCPU in real mode pointed
 * at it, KVM_RUN, and expect the vCPU to stop on that HLT. */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "agent.h"
#include "lib/util.h"

#define GUEST_ADDR 0x1000
#define PAGE 4096

static bool fail(char *why, size_t size, const char *what)
{
	if (why)
		str_printf(why, size, "%s: %s", what, strerror(errno));
	return false;
}

bool agent_kvm_usable(char *why, size_t why_size)
{
	bool ok = false;
	int kvm = -1, vm = -1, vcpu = -1;
	void *mem = MAP_FAILED, *run = MAP_FAILED;
	long run_size = 0;
	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		return fail(why, why_size, "cannot open /dev/kvm");
	if (ioctl(kvm, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
		fail(why, why_size, "unexpected KVM API version");
		goto out;
	}
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0) {
		fail(why, why_size, "KVM_CREATE_VM");
		goto out;
	}
	mem = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED) {
		fail(why, why_size, "mmap");
		goto out;
	}
	((unsigned char *)mem)[0] = 0xf4; /* hlt */
	struct kvm_userspace_memory_region region = {
		.slot = 0, .guest_phys_addr = GUEST_ADDR, .memory_size = PAGE,
		.userspace_addr = (uint64_t)(uintptr_t)mem,
	};
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0) {
		fail(why, why_size, "KVM_SET_USER_MEMORY_REGION");
		goto out;
	}
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vcpu < 0 || run_size <= 0) {
		fail(why, why_size, "KVM_CREATE_VCPU");
		goto out;
	}
	run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED) {
		fail(why, why_size, "mmap of the vCPU");
		goto out;
	}
	struct kvm_sregs sregs;
	struct kvm_regs regs = { .rip = 0, .rflags = 2 };
	if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0) {
		fail(why, why_size, "KVM_GET_SREGS");
		goto out;
	}
	sregs.cs.base = GUEST_ADDR;
	sregs.cs.selector = GUEST_ADDR >> 4;
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0 || ioctl(vcpu, KVM_SET_REGS, &regs) < 0) {
		fail(why, why_size, "setting the vCPU's registers");
		goto out;
	}
	if (ioctl(vcpu, KVM_RUN, 0) < 0) {
		fail(why, why_size, "KVM_RUN");
		goto out;
	}
	ok = ((struct kvm_run *)run)->exit_reason == KVM_EXIT_HLT;
	if (!ok && why)
		str_printf(why, why_size, "the probe vCPU stopped for reason %u, not HLT",
			   ((struct kvm_run *)run)->exit_reason);
out:
	if (run != MAP_FAILED)
		munmap(run, (size_t)run_size);
	if (mem != MAP_FAILED)
		munmap(mem, PAGE);
	if (vcpu >= 0)
		close(vcpu);
	if (vm >= 0)
		close(vm);
	close(kvm);
	return ok;
}
