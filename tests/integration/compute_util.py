"""Helpers for tests with real VMs: waiting, the instance's state and
console, and what runs on a host (an embedded libvirt driver's root is
locked by its agent, so these look at QEMU processes and files)."""
import subprocess
import time

from identity_util import Tenancy

BOOT_TIMEOUT = 180  # first start of an embedded driver probes QEMU; TCG boot ~5 s


def compute_cloud(nubod, make_agent, guest_image, *agent_args):
    """A cloud with real VMs: the Tenancy of identity_util, a flavor "tiny"
    (1 vCPU, 256 MB, 1 GB), the public image "guest" (the test guest) and
    two hosts hv1 and hv2, each a nubo-agent (with agent_args) with an
    embedded libvirt driver, both up. The agents are in .agents, the
    image in .image."""
    t = Tenancy(nubod)
    admin = t.admin
    admin.post("/v1/flavors", {"name": "tiny", "vcpus": 1, "ram_mb": 256, "disk_gb": 1})
    img = admin.post("/v1/images", {"name": "guest", "visibility": "public"}).json()
    with open(guest_image, "rb") as f:
        r = admin.request("PUT", "/v1/images/%s/file" % img["id"], raw=f)
    assert r.status_code == 200, r.text
    t.image = img
    t.agents = []
    for name in ("hv1", "hv2"):
        tok = admin.post("/v1/hosts/enroll-tokens").json()["token"]
        t.agents.append(make_agent(nubod, name, "--enroll", tok, "--heartbeat-interval", "1",
                                   "--stop-timeout", "10", *agent_args))
    wait_for(lambda: len([h for h in admin.get("/v1/hosts").json()["items"]
                          if h["state"] == "up"]) == 2, 120, "two hosts up")
    return t


def wait_for(pred, timeout, what, step=0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(step)
    raise AssertionError("timed out after %ss waiting for %s" % (timeout, what))


def qemu_pids(iid):
    """Pids of the QEMU processes that run the domain of instance iid."""
    r = subprocess.run(["pgrep", "-f", "guest=nubo-%s" % iid], capture_output=True, text=True)
    return [int(p) for p in r.stdout.split()]


def qemu_running(iid):
    """Whether a QEMU process runs the domain of instance iid."""
    return bool(qemu_pids(iid))


def state_of(c, iid):
    r = c.get("/v1/instances/" + iid)
    return r.json().get("state") if r.status_code == 200 else None


def console(c, iid):
    return c.get("/v1/instances/%s/console" % iid).text.replace("\r", "")


def agent_of(agents, host_id):
    """The agent (of make_agent) that serves host host_id."""
    return next(a for a in agents if host_id in (a.state_dir / "host.json").read_text())
