"""Crashes of the compute path heal, and what runs agrees with what nubod
says: an agent killed (-9) in the middle of building an instance and
restarted on the same state dir and libvirt root ends with exactly one
domain and one QEMU for it, running, and no stray disks or QEMU; nubod
killed (-9) with instances in every state and restarted on the same store
and port agrees with libvirt on both hosts, shows each host's usage as
the sum of its instances' flavors, places by that usage, and finishes the
jobs that were running."""
import subprocess
import time

import pytest

from compute_util import (BOOT_TIMEOUT, agent_of, compute_cloud, console, qemu_pids, state_of,
                          wait_for)

FAST = ("--virt-type", "qemu")  # no KVM probe: test_compute covers it
CPU_RATIO = 2  # vCPUs placed per host CPU in the nubod restart test


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
    out = subprocess.run(["virsh", "-c", "qemu:///embed?root=%s/lv" % agent.top, "list",
                          "--all"], check=True, capture_output=True, text=True,
                         timeout=120).stdout
    rows = [line.split(None, 2) for line in out.splitlines()[2:] if line.strip()]
    return {name: state.strip() for _, name, state in rows}


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
    assert sorted(p.name for p in disks.iterdir()) == [iid + ".cidata.iso", iid + ".console",
                                                       iid + ".qcow2"]
    assert [p.suffix for p in (agent.state_dir / "images").iterdir()] == [".qcow2"]
    other = next(a for a in cloud.agents if a is not agent)
    assert host_qemu_pids(other) == []
    assert not list((other.state_dir / "disks").glob(iid + "*"))
    assert agent.stop() == 0
    assert domains(agent) == {"nubo-" + iid: "running"}


def instances(c):
    return {i["name"]: i for i in c.get("/v1/instances?limit=1000").json()["items"]}


def hosts(admin):
    return {h["id"]: h for h in admin.get("/v1/hosts").json()["items"]}


def test_nubod_killed_with_instances_in_every_state_agrees_with_libvirt_after_restart(
        make_nubod, make_agent, guest_image):
    # an agent sends no heartbeat while it builds, and a build here can take
    # most of a minute (libvirt probes QEMU again on every define where
    # /dev/kvm exists but QEMU may not use it): keep hosts from being shown
    # down (and their instances unknown) meanwhile
    n = make_nubod(extra_args=["--cpu-allocation-ratio", str(CPU_RATIO),
                               "--host-down-after", "600"])
    cloud = compute_cloud(n, make_agent, guest_image, *FAST)
    admin, c = cloud.admin, cloud.clients["member"]
    admin.patch("/v1/projects/alpha/quotas", {"vcpus": -1, "ram_mb": -1, "instances": 50})
    admin.post("/v1/flavors", {"name": "huge", "vcpus": 256, "ram_mb": 64, "disk_gb": 1})

    def create(name, flavor="tiny", **extra):
        r = c.post("/v1/instances", dict({"name": name, "image": "guest", "flavor": flavor},
                                         **extra))
        assert r.status_code == 202, r.text
        return r.json()

    def placed(name):
        return wait_for(lambda: c.get("/v1/instances/" + made[name]["id"]).json()["host"], 30,
                        name + " placed")

    # run and stop build side by side on the two hosts; del follows run
    # (affinity), so that it is still building when it is deleted
    c.post("/v1/server-groups", {"name": "with-run", "policy": "affinity"})
    made = {"run": create("run", group="with-run")}
    placed("run")
    made["stop"] = create("stop")
    made["del"] = create("del", group="with-run")
    made["big"] = create("big", "huge")
    assert placed("stop") != placed("del")
    wait_for(lambda: state_of(c, made["big"]["id"]) == "error", 30, "big in error")
    for name in ("run", "stop"):
        wait_for(lambda name=name: state_of(c, made[name]["id"]) == "running", BOOT_TIMEOUT,
                 name + " running")
    c.post("/v1/instances/%s/stop" % made["stop"]["id"])
    wait_for(lambda: state_of(c, made["stop"]["id"]) == "stopped", 60, "stopped")
    # in flight at the kill: a delete of an instance its agent is (most
    # likely) still building, and a create (pending until the scheduler's
    # next pass)
    wait_for(lambda: state_of(c, made["del"]["id"]) in ("building", "running"), BOOT_TIMEOUT,
             "del building")
    deleting = c.delete("/v1/instances/" + made["del"]["id"]).json()
    made["late"] = create("late")
    n.kill9()
    n.restart()

    c = n.client(c.token)
    admin = n.client(admin.token)
    # the jobs that were running finish once the agents have reported
    wait_for(lambda: state_of(c, made["del"]["id"]) is None, BOOT_TIMEOUT, "del gone")
    assert c.get("/v1/jobs/" + deleting["job_id"]).json()["status"] == "succeeded"
    wait_for(lambda: state_of(c, made["late"]["id"]) == "running", BOOT_TIMEOUT,
             "late running")
    assert c.get("/v1/jobs/" + made["late"]["job_id"]).json()["status"] == "succeeded"
    expect = {"run": "running", "stop": "stopped", "big": "error", "late": "running"}
    now = instances(c)
    assert {k: v["state"] for k, v in now.items()} == expect
    assert now["big"]["host"] is None
    assert c.get("/v1/jobs/" + made["big"]["job_id"]).json()["status"] == "failed"

    # libvirt agrees: a QEMU, on its own host, exactly for the running ones
    by_host = {a: [] for a in cloud.agents}
    for name, i in now.items():
        if i["host"]:
            by_host[agent_of(cloud.agents, i["host"])].append(name)
        assert len(qemu_pids(i["id"])) == (i["state"] == "running"), name
    for a, names in by_host.items():
        running = [p for name in names for p in qemu_pids(now[name]["id"])]
        assert host_qemu_pids(a) == sorted(running), (a.log_path, names)
        for name in names:
            assert (a.state_dir / "disks" / (now[name]["id"] + ".qcow2")).exists(), name

    # each host's usage is the sum of the flavors of the instances placed on it
    hs = hosts(admin)
    for hid, h in hs.items():
        on_host = [i for i in now.values() if i["host"] == hid]
        used = {k: sum(i[k] for i in on_host) for k in ("vcpus", "ram_mb", "disk_gb")}
        a = h["allocation"]
        assert (a["vcpus_used"], a["ram_mb_used"], a["disk_gb_used"]) == \
            (used["vcpus"], used["ram_mb"], used["disk_gb"]), (h["name"], used)

    # and placements go by it: one vCPU more than any host has free is
    # refused, and the reason names what is free
    most = max(h["allocation"]["vcpus_total"] - h["allocation"]["vcpus_used"]
               for h in hs.values())
    admin.post("/v1/flavors", {"name": "over", "vcpus": most + 1, "ram_mb": 64, "disk_gb": 1})
    over = create("over", "over")
    wait_for(lambda: state_of(c, over["id"]) == "error", 30, "over in error")
    err = c.get("/v1/instances/" + over["id"]).json()["error"]
    assert "the most any host has free is %d vCPUs" % most in err, err
    assert c.delete("/v1/instances/" + over["id"]).status_code == 202

    # with the agents stopped, their libvirt lists exactly the domains nubod knows
    for a in cloud.agents:
        assert a.stop() == 0
        want = {"nubo-" + now[name]["id"]: {"running": "running", "stopped": "shut off"}[
            now[name]["state"]] for name in by_host[a]}
        assert domains(a) == want, a.log_path
