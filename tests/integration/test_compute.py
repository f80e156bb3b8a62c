"""VMs for real: two nubo-agents with embedded libvirt QEMU drivers (TCG)
act as two hosts; the guest image boots from one API call and its boot
marker shows in the console API; stop, start, reboot and delete act on
the domain; nothing of a deleted instance stays behind."""
from compute_util import BOOT_TIMEOUT, agent_of, console, qemu_running, state_of, wait_for
from conftest import assert_error


def test_an_instance_boots_and_goes_through_its_lifecycle(compute):
    c = compute.clients["member"]
    r = c.post("/v1/instances", {"name": "vm1", "image": "guest", "flavor": "tiny"})
    assert r.status_code == 202, r.text
    i = r.json()
    wait_for(lambda: "NUBO_GUEST_BOOTED" in console(c, i["id"]), BOOT_TIMEOUT, "boot marker")
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
    d = c.delete("/v1/instances/" + i["id"]).json()
    wait_for(lambda: state_of(c, i["id"]) is None, 60, "instance gone")
    assert c.get("/v1/jobs/" + d["job_id"]).json()["status"] == "succeeded"
    assert not disk.exists()
    assert not qemu_running(i["id"])
    assert not (agent.state_dir / "disks" / (i["id"] + ".console")).exists()
    q = c.get("/v1/projects/alpha/quotas").json()["quotas"]
    assert q["instances"]["used"] == 0 and q["vcpus"]["used"] == 0


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
