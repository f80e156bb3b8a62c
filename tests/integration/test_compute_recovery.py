"""Crashes of the compute path heal, and what runs agrees with what nubod
says: an agent killed (-9) in the middle of building an instance and
restarted on the same state dir and libvirt root ends with exactly one
domain and one QEMU for it, running, and no stray disks or QEMU."""
import subprocess
import time

import pytest

from compute_util import (BOOT_TIMEOUT, agent_of, compute_cloud, console, qemu_pids, state_of,
                          wait_for)

FAST = ("--virt-type", "qemu")  # no KVM probe: test_compute covers it


@pytest.fixture
def cloud(nubod, make_agent, guest_image):
    return compute_cloud(nubod, make_agent, guest_image, *FAST)


def host_qemu_pids(agent):
    """Every QEMU process of agent's embedded libvirt (their paths are under its top dir)."""
    r = subprocess.run(["pgrep", "-f", "qemu-system.*%s/" % agent.top], capture_output=True,
                       text=True)
    return sorted(int(p) for p in r.stdout.split())


def domains(agent):
    """{name: state} of every domain of a stopped agent's embedded libvirt."""
    assert agent.proc.poll() is not None, "the agent holds its libvirt root"
    uri = "qemu:///embed?root=%s/lv" % agent.top
    names = subprocess.run(["virsh", "-c", uri, "list", "--all", "--name"], check=True,
                           capture_output=True, text=True, timeout=120).stdout.split()
    return {n: subprocess.run(["virsh", "-c", uri, "domstate", n], capture_output=True,
                              text=True, timeout=120).stdout.strip() for n in names}


def test_an_agent_killed_while_building_restarts_into_exactly_one_domain(cloud):
    c = cloud.clients["member"]
    i = c.post("/v1/instances", {"name": "vm1", "image": "guest", "flavor": "tiny"}).json()
    iid = i["id"]
    host = wait_for(lambda: c.get("/v1/instances/" + iid).json()["host"], 60, "placement",
                    step=0.05)
    agent = agent_of(cloud.agents, host)
    # first kill: at the host's first QEMU, the driver's probe of QEMU's
    # capabilities (the instance is building by then)
    wait_for(lambda: host_qemu_pids(agent), BOOT_TIMEOUT, "the first QEMU on the host",
             step=0.02)
    assert state_of(c, iid) == "building"
    agent.kill9()
    agent.start()
    # second kill: as soon as the domain's QEMU exists, while libvirt starts it
    wait_for(lambda: qemu_pids(iid), BOOT_TIMEOUT, "the domain's QEMU", step=0.02)
    agent.kill9()
    agent.start()

    wait_for(lambda: "NUBO_GUEST_BOOTED" in console(c, iid), BOOT_TIMEOUT, "boot marker")
    assert state_of(c, iid) == "running"
    assert c.get("/v1/jobs/" + i["job_id"]).json()["status"] == "succeeded"
    pids = qemu_pids(iid)
    assert len(pids) == 1, pids
    time.sleep(3)  # a few more passes (one a second) change nothing
    assert qemu_pids(iid) == pids
    assert host_qemu_pids(agent) == pids  # and no QEMU of the crashes is left over
    disks = agent.state_dir / "disks"
    assert sorted(p.name for p in disks.iterdir()) == [iid + ".console", iid + ".qcow2"]
    assert [p.suffix for p in (agent.state_dir / "images").iterdir()] == [".qcow2"]
    other = next(a for a in cloud.agents if a is not agent)
    assert host_qemu_pids(other) == []
    assert not list((other.state_dir / "disks").glob(iid + "*"))
    assert agent.stop() == 0
    assert domains(agent) == {"nubo-" + iid: "running"}
