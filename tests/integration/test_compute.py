"""VMs for real: two nubo-agents with embedded libvirt QEMU drivers (TCG)
act as two hosts; the guest image boots from one API call with its
keypair, user data and config drive, and its boot marker shows in the
console API; stop, start, reboot, resize, snapshot and delete act on the
domain; volumes hot-plug into running guests; nothing of a deleted
instance stays behind."""
import re
import time

from compute_util import BOOT_TIMEOUT, agent_of, console, qemu_running, state_of, wait_for
from conftest import assert_error


def test_an_instance_boots_and_goes_through_its_lifecycle(compute):
    c = compute.clients["member"]
    key = c.post("/v1/keypairs", {"name": "k1"}).json()["public_key"]
    script = "#!/bin/sh\necho NUBO_TEST_SCRIPT ran on $(hostname)\n"
    r = c.post("/v1/instances", {"name": "vm1", "image": "guest", "flavor": "tiny",
                                 "keypair": "k1", "user_data": script})
    assert r.status_code == 202, r.text
    i = r.json()
    wait_for(lambda: "NUBO_GUEST_BOOTED" in console(c, i["id"]), BOOT_TIMEOUT, "boot marker")
    # the config drive: meta-data, the keypair's key, the user-data script;
    # and a NIC that got its address by DHCP
    wait_for(lambda: "NUBO_GUEST_READY" in console(c, i["id"]), 60, "the guest's init done")
    out = console(c, i["id"])
    assert "NUBO_CIDATA meta-data instance-id: %s\n" % i["id"] in out
    assert "NUBO_CIDATA user-data #!/bin/sh\n" in out
    assert "NUBO_CIDATA network-config version: 2\n" in out
    assert "NUBO_SSH_KEY %s\n" % key in out
    assert "NUBO_NET eth0 10.0.2.15" in out
    wait_for(lambda: "NUBO_TEST_SCRIPT ran on vm1" in console(c, i["id"]), 30, "user-data")
    got = c.get("/v1/instances/" + i["id"]).json()
    assert got["state"] == "running" and got["host"]
    assert c.get("/v1/jobs/" + i["job_id"]).json()["status"] == "succeeded"
    # the console arrives in pieces, as the agent sends what is new
    wait_for(lambda: "NUBO_CPUS 1" in console(c, i["id"]), 30, "the guest's CPU count")
    hosts = {h["id"]: h["virt_type"] for h in compute.admin.get("/v1/hosts").json()["items"]}
    assert hosts[got["host"]] in ("kvm", "qemu")
    agent = agent_of(compute.agents, got["host"])
    assert qemu_running(i["id"])

    job = c.post("/v1/instances/%s/stop" % i["id"]).json()["job_id"]
    wait_for(lambda: state_of(c, i["id"]) == "stopped", 60, "stopped")
    assert c.get("/v1/jobs/" + job).json()["status"] == "succeeded"
    assert not qemu_running(i["id"])
    assert_error(c.post("/v1/instances/%s/stop" % i["id"]), 409)

    c.post("/v1/instances/%s/start" % i["id"])
    wait_for(lambda: state_of(c, i["id"]) == "running", 60, "running again")
    before = console(c, i["id"]).count("NUBO_GUEST_BOOTED")
    c.post("/v1/instances/%s/reboot" % i["id"])
    wait_for(lambda: console(c, i["id"]).count("NUBO_GUEST_BOOTED") > before, 90,
             "a second boot marker after reboot")
    wait_for(lambda: state_of(c, i["id"]) == "running", 30, "running after reboot")

    disk = agent.state_dir / "disks" / (i["id"] + ".qcow2")
    assert disk.exists()
    cached = agent.state_dir / "images" / (compute.image["id"] + ".qcow2")
    time.sleep(4)  # longer than --image-cache-ttl: an image in use stays all the same
    assert cached.exists()
    d = c.delete("/v1/instances/" + i["id"]).json()
    wait_for(lambda: state_of(c, i["id"]) is None, 60, "instance gone")
    assert c.get("/v1/jobs/" + d["job_id"]).json()["status"] == "succeeded"
    assert not disk.exists()
    assert not qemu_running(i["id"])
    assert not (agent.state_dir / "disks" / (i["id"] + ".console")).exists()
    assert not (agent.state_dir / "disks" / (i["id"] + ".cidata.iso")).exists()
    q = c.get("/v1/projects/alpha/quotas").json()["quotas"]
    assert q["instances"]["used"] == 0 and q["vcpus"]["used"] == 0
    # no instance uses the image now: the cache lets it go after the ttl
    wait_for(lambda: not cached.exists(), 30, "the unused image to leave the cache")


def test_placement_errors_and_groups_on_real_hosts(compute):
    admin = compute.admin
    admin.post("/v1/flavors", {"name": "huge", "vcpus": 256, "ram_mb": 4194304,
                               "disk_gb": 10})
    admin.patch("/v1/projects/alpha/quotas", {"vcpus": -1, "ram_mb": -1})
    c = compute.clients["member"]
    i = c.post("/v1/instances", {"name": "big", "image": "guest", "flavor": "huge"}).json()
    wait_for(lambda: state_of(c, i["id"]) == "error", 30, "error")
    got = c.get("/v1/instances/" + i["id"]).json()
    assert "no host has room" in got["error"] and got["host"] is None
    assert not qemu_running(i["id"])
    for a in compute.agents:
        assert not list((a.state_dir / "disks").glob(i["id"] + "*"))

    # an anti-affinity group of two instances lands on the two hosts
    c.post("/v1/server-groups", {"name": "spread", "policy": "anti-affinity"})
    ids = [c.post("/v1/instances", {"name": "sp%d" % k, "image": "guest", "flavor": "tiny",
                                    "group": "spread"}).json()["id"] for k in range(2)]
    hosts = [wait_for(lambda x=x: c.get("/v1/instances/" + x).json()["host"], 30, "placement")
             for x in ids]
    assert hosts[0] != hosts[1]
    for x in ids:
        assert c.delete("/v1/instances/" + x).status_code == 202
    for x in ids:
        wait_for(lambda x=x: state_of(c, x) is None, BOOT_TIMEOUT, "instance gone")
        assert not qemu_running(x)


def test_a_stopped_instance_is_resized(compute):
    c = compute.clients["member"]
    compute.admin.post("/v1/flavors", {"name": "tiny2", "vcpus": 2, "ram_mb": 384,
                                       "disk_gb": 2})
    i = c.post("/v1/instances", {"name": "vm-r", "image": "guest", "flavor": "tiny"}).json()
    wait_for(lambda: "NUBO_GUEST_BOOTED" in console(c, i["id"]), BOOT_TIMEOUT, "boot marker")
    wait_for(lambda: "NUBO_MEM_KB" in console(c, i["id"]), 30, "memory size")
    mem1 = int(console(c, i["id"]).split("NUBO_MEM_KB ")[1].split()[0])
    c.post("/v1/instances/%s/stop" % i["id"])
    wait_for(lambda: state_of(c, i["id"]) == "stopped", 60, "stopped")
    job = c.post("/v1/instances/%s/resize" % i["id"], {"flavor": "tiny2"}).json()["job_id"]
    wait_for(lambda: state_of(c, i["id"]) == "stopped", 60, "resized")
    assert c.get("/v1/jobs/" + job).json()["status"] == "succeeded"
    c.post("/v1/instances/%s/start" % i["id"])
    # the guest sees the new vCPUs, memory and disk
    wait_for(lambda: "NUBO_CPUS 2" in console(c, i["id"]), BOOT_TIMEOUT, "two CPUs")
    wait_for(lambda: "NUBO_DISK vda %d" % (2 << 30) in console(c, i["id"]), 60, "a 2 GiB disk")
    mem2 = int(console(c, i["id"]).split("NUBO_MEM_KB ")[-1].split()[0])
    assert mem2 > mem1 + 100 * 1024
    assert c.delete("/v1/instances/" + i["id"]).status_code == 202
    wait_for(lambda: state_of(c, i["id"]) is None, 60, "instance gone")


WAIT_DEV = "for i in $(seq 1 900); do [ -b /dev/%s ] && break; sleep 1; done\n"


def guest_pair(c, group, policy, mark, reader):
    """Two running guests in a server group: vm-a writes mark to the first
    volume attached to it, vm-b runs the reader script."""
    c.post("/v1/server-groups", {"name": group, "policy": policy})
    writer = ("#!/bin/sh\n" + WAIT_DEV % "vdb" +
              "printf '%s\\n' | dd of=/dev/vdb bs=512 count=1 conv=sync 2>/dev/null\n"
              "sync\necho NUBO_WROTE\n") % mark
    a = c.post("/v1/instances", {"name": "vm-a", "image": "guest", "flavor": "tiny",
                                 "group": group, "user_data": writer}).json()
    b = c.post("/v1/instances", {"name": "vm-b", "image": "guest", "flavor": "tiny",
                                 "group": group, "user_data": reader}).json()
    for i in (a, b):
        wait_for(lambda: state_of(c, i["id"]) == "running", BOOT_TIMEOUT, "running")
    return a, b


def test_a_volume_and_its_snapshot_move_between_guests_with_their_data(compute):
    c = compute.clients["member"]
    reader = ("#!/bin/sh\n" + WAIT_DEV % "vdb" + "echo NUBO_READ_B $(head -c 9 /dev/vdb)\n" +
              WAIT_DEV % "vdc" + "echo NUBO_READ_C $(head -c 9 /dev/vdc)\n")
    a, b = guest_pair(c, "together", "affinity", "MARK-4711", reader)
    for i in (a, b):
        wait_for(lambda: "NUBO_GUEST_READY" in console(c, i["id"]), BOOT_TIMEOUT, "ready")
    v = c.post("/v1/volumes", {"name": "data", "size_gb": 1}).json()
    job = c.post("/v1/volumes/data/attach", {"instance": "vm-a"}).json()["job_id"]
    wait_for(lambda: c.get("/v1/volumes/data").json()["state"] == "in-use", 60, "in-use")
    assert c.get("/v1/jobs/" + job).json()["status"] == "succeeded"
    vol = c.get("/v1/volumes/data").json()
    assert vol["device"] == "vdb" and vol["host"] == c.get("/v1/instances/vm-a").json()["host"]
    # hot-plugged: the running guest sees a 1 GiB disk and writes to it
    wait_for(lambda: "NUBO_DISK vdb %d" % (1 << 30) in console(c, a["id"]), 60, "vdb in A")
    wait_for(lambda: "NUBO_WROTE" in console(c, a["id"]), 60, "the marker written")
    c.post("/v1/volumes/data/detach", {"instance": "vm-a"})
    wait_for(lambda: c.get("/v1/volumes/data").json()["state"] == "available", 90,
             "detached")
    wait_for(lambda: "NUBO_DISK_GONE vdb" in console(c, a["id"]), 30, "vdb gone from A")
    # a snapshot, restored to a new volume, holds what A wrote
    snap = c.post("/v1/snapshots", {"volume": "data", "name": "snap"}).json()
    wait_for(lambda: c.get("/v1/snapshots/snap").json()["state"] == "available", 60,
             "snapshot taken")
    c.post("/v1/volumes", {"name": "restored", "size_gb": 1, "snapshot": "snap"})
    c.post("/v1/volumes/restored/attach", {"instance": "vm-b"})
    wait_for(lambda: "NUBO_READ_B MARK-4711" in console(c, b["id"]), 90,
             "the snapshot's marker read in B")
    # and the volume itself moves to B with its data
    c.post("/v1/volumes/data/attach", {"instance": "vm-b"})
    wait_for(lambda: "NUBO_READ_C MARK-4711" in console(c, b["id"]), 90,
             "the volume's marker read in B")
    assert c.get("/v1/volumes/data").json()["device"] == "vdc"
    # grown while attached: the guest sees the new size
    c.post("/v1/volumes/data/extend", {"size_gb": 2})
    wait_for(lambda: c.get("/v1/volumes/data").json()["state"] == "in-use", 60, "extended")
    wait_for(lambda: "NUBO_DISK vdc %d" % (2 << 30) in console(c, b["id"]), 60, "2 GiB in B")
    # deleting B leaves the volumes; deleting them removes their files
    agent = agent_of(compute.agents, vol["host"])
    disks = agent.state_dir / "disks"
    assert (disks / ("vol-%s.qcow2" % v["id"])).exists()
    assert (disks / ("snap-%s.qcow2" % snap["id"])).exists()
    c.delete("/v1/instances/vm-b")
    wait_for(lambda: c.get("/v1/volumes/data").json()["state"] == "available", 60,
             "available after its instance went")
    assert_error(c.delete("/v1/volumes/data"), 409)  # it has a snapshot
    c.delete("/v1/snapshots/snap")
    wait_for(lambda: c.get("/v1/snapshots/snap").status_code == 404, 60, "snapshot gone")
    for name in ("data", "restored"):
        c.delete("/v1/volumes/" + name)
        wait_for(lambda: c.get("/v1/volumes/" + name).status_code == 404, 60, name + " gone")
    assert not list(disks.glob("vol-*")) and not list(disks.glob("snap-*"))
    q = c.get("/v1/projects/alpha/quotas").json()["quotas"]
    assert q["volumes"]["used"] == 0 and q["volume_gb"]["used"] == 0
    c.delete("/v1/instances/vm-a")
    wait_for(lambda: state_of(c, a["id"]) is None, 60, "vm-a gone")


def test_a_volume_in_a_shared_pool_moves_to_a_guest_on_another_host(compute):
    c = compute.clients["member"]
    reader = ("#!/bin/sh\n" + WAIT_DEV % "vdb" + "echo NUBO_READ_B $(head -c 9 /dev/vdb)"
              " boot=$(cat /proc/sys/kernel/random/boot_id)\n")
    a, b = guest_pair(c, "apart", "anti-affinity", "MARK-2342", reader)
    ha, hb = (c.get("/v1/instances/" + i["id"]).json()["host"] for i in (a, b))
    assert ha != hb
    v = c.post("/v1/volumes", {"name": "shared", "size_gb": 1, "pool": "shared"}).json()
    c.post("/v1/volumes/shared/attach", {"instance": "vm-a"})
    wait_for(lambda: c.get("/v1/volumes/shared").json()["state"] == "in-use", 60, "in-use")
    # the data is in the pool's directory, not on the host's own disk
    assert (compute.pool_dir / ("vol-%s.qcow2" % v["id"])).exists()
    for agent in compute.agents:
        assert not list((agent.state_dir / "disks").glob("vol-*"))
    wait_for(lambda: "NUBO_WROTE" in console(c, a["id"]), BOOT_TIMEOUT, "the marker written")
    c.post("/v1/volumes/shared/detach")
    wait_for(lambda: c.get("/v1/volumes/shared").json()["state"] == "available", 90,
             "detached")
    r = c.post("/v1/volumes/shared/attach", {"instance": "vm-b"})
    assert r.status_code == 202 and r.json()["host"] == hb, r.text
    wait_for(lambda: "NUBO_READ_B MARK-2342" in console(c, b["id"]), 90,
             "the marker read in B, on the other host")
    # B migrates to A's host with the volume attached: nothing of it is
    # copied, and B reads it there after its restart
    c.post("/v1/instances/vm-b/stop")
    wait_for(lambda: state_of(c, b["id"]) == "stopped", 60, "B stopped")
    c.delete("/v1/instances/vm-a")
    wait_for(lambda: state_of(c, a["id"]) is None, 60, "vm-a gone")
    m = compute.admin.post("/v1/instances/%s/migrate" % b["id"])
    assert m.status_code == 202 and m.json()["target_host"] == ha, m.text
    wait_for(lambda: state_of(c, b["id"]) == "stopped", BOOT_TIMEOUT, "migrated")
    got = c.get("/v1/volumes/shared").json()
    assert (got["host"], got["state"], got["instance_id"]) == (ha, "in-use", b["id"])
    def boots():  # the boots in which B read the marker
        return set(re.findall(r"NUBO_READ_B MARK-2342 boot=(\S+)", console(c, b["id"])))
    before = boots()
    assert before
    c.post("/v1/instances/vm-b/start")
    wait_for(lambda: boots() - before, BOOT_TIMEOUT, "the marker read in B after migrating")
    # a snapshot is kept in the pool too, and goes with its deletion
    c.post("/v1/volumes/shared/detach")
    wait_for(lambda: c.get("/v1/volumes/shared").json()["state"] == "available", 90,
             "detached from B")
    s = c.post("/v1/snapshots", {"volume": "shared", "name": "snap"}).json()
    wait_for(lambda: c.get("/v1/snapshots/snap").json()["state"] == "available", 60, "snap")
    assert (compute.pool_dir / ("snap-%s.qcow2" % s["id"])).exists()
    c.delete("/v1/snapshots/snap")
    wait_for(lambda: c.get("/v1/snapshots/snap").status_code == 404, 60, "snapshot gone")
    c.delete("/v1/volumes/shared")
    wait_for(lambda: c.get("/v1/volumes/shared").status_code == 404, 60, "volume gone")
    assert not list(compute.pool_dir.iterdir())
    c.delete("/v1/instances/vm-b")
    wait_for(lambda: state_of(c, b["id"]) is None, 60, "vm-b gone")


def test_an_instance_snapshot_and_a_migration_keep_what_the_guest_wrote(compute):
    c = compute.clients["member"]
    # past the guest image's FAT file system, in the 1 GiB root disk: read
    # what is there, then write the marker
    rw = ("#!/bin/sh\n"
          "echo NUBO_READ $(dd if=/dev/vda bs=1M skip=900 count=1 2>/dev/null | head -c 9)\n"
          "printf 'MARK-0815' | dd of=/dev/vda bs=1M seek=900 conv=sync 2>/dev/null\n"
          "sync\necho NUBO_WROTE\n")
    p = c.post("/v1/instances", {"name": "parent", "image": "guest", "flavor": "tiny",
                                 "user_data": rw}).json()
    wait_for(lambda: "NUBO_WROTE" in console(c, p["id"]), BOOT_TIMEOUT, "the marker written")
    assert "NUBO_READ MARK-0815" not in console(c, p["id"])
    c.post("/v1/instances/parent/stop")
    wait_for(lambda: state_of(c, p["id"]) == "stopped", 60, "stopped")
    s = c.post("/v1/instances/parent/snapshot", {"name": "parent-snap"}).json()
    assert s["state"] == "snapshotting"
    wait_for(lambda: state_of(c, p["id"]) == "stopped", 120, "snapshot uploaded")
    assert c.get("/v1/jobs/" + s["job_id"]).json()["status"] == "succeeded"
    img = c.get("/v1/images/parent-snap").json()
    assert img["state"] == "active" and img["disk_format"] == "qcow2"
    k = c.post("/v1/instances", {"name": "child", "image": "parent-snap", "flavor": "tiny",
                                 "user_data": rw}).json()
    wait_for(lambda: "NUBO_READ MARK-0815" in console(c, k["id"]), BOOT_TIMEOUT,
             "the child reading its parent's marker")
    c.delete("/v1/instances/child")

    # cold migration of the parent to the other host keeps its disk
    old = c.get("/v1/instances/parent").json()["host"]
    old_agent = agent_of(compute.agents, old)
    m = compute.admin.post("/v1/instances/%s/migrate" % p["id"])
    assert m.status_code == 202, m.text
    assert m.json()["target_host"] != old
    wait_for(lambda: state_of(c, p["id"]) == "stopped", BOOT_TIMEOUT, "migrated")
    got = c.get("/v1/instances/parent").json()
    assert got["host"] == m.json()["target_host"]
    assert c.get("/v1/jobs/" + m.json()["job_id"]).json()["status"] == "succeeded"
    # the old host's copy goes once the target has its own
    wait_for(lambda: not list((old_agent.state_dir / "disks").glob(p["id"] + "*")), 60,
             "the old host's files removed")
    assert not qemu_running(p["id"])
    c.post("/v1/instances/parent/start")
    wait_for(lambda: "NUBO_READ MARK-0815" in console(c, p["id"]), BOOT_TIMEOUT,
             "the migrated parent reading its own marker")
    for name, iid in (("parent", p["id"]), ("child", k["id"])):
        c.delete("/v1/instances/" + name)
        wait_for(lambda: state_of(c, iid) is None, 60, name + " gone")
