"""Hosts: an operator makes a one-time enrollment token, a nubo-agent
exchanges it for a host credential and reports its capacity; hosts that
stop reporting are shown down."""
import json
import os
import stat
import time

import pytest
import requests

from conftest import assert_error


def wait_for(pred, timeout=20, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.1)
    raise AssertionError("timed out waiting for " + what)


# these tests are about enrollment and heartbeats, not guests: skip the KVM
# probe (test_compute covers it), which starts a throwaway QEMU
FAST = ("--virt-type", "qemu")


def enroll_token(client, **body):
    r = client.post("/v1/hosts/enroll-tokens", body or None)
    assert r.status_code == 201, r.text
    return r.json()


def host_named(client, name):
    items = client.get("/v1/hosts").json()["items"]
    return next((h for h in items if h["name"] == name), None)


def test_an_agent_enrolls_and_reports_its_capacity(make_nubod, make_agent):
    n = make_nubod(extra_args=["--host-down-after", "3"])
    admin = n.client()
    admin.post("/v1/zones", {"name": "fr-par-1", "jurisdiction": "FR"})
    t = enroll_token(admin, zone="fr-par-1")
    assert t["token"].startswith("nubo_enroll_") and t["zone_id"]
    a = make_agent(n, "hv1", *FAST, "--enroll", t["token"], "--heartbeat-interval", "1")
    h = wait_for(lambda: host_named(admin, "hv1"), what="host hv1")
    assert h["state"] == "up" and h["enabled"] is True and h["zone_id"] == t["zone_id"]
    assert h["cpus"] == os.cpu_count()
    assert h["ram_mb"] > 64 and h["disk_gb"] >= 0
    assert h["virt_type"] in ("kvm", "qemu") and h["agent_version"]
    # the credential is kept privately, and only its hash by nubod
    state = a.state_dir / "host.json"
    assert stat.S_IMODE(os.stat(state).st_mode) == 0o600
    cred = json.loads(state.read_text())["credential"]
    assert cred.startswith("nubo_host_")
    assert cred not in n.log()
    # heartbeats keep coming
    first = h["last_heartbeat"]
    wait_for(lambda: host_named(admin, "hv1")["last_heartbeat"] > first, 60, "a heartbeat")
    # an agent that stops is shown down, and up again when it comes back
    assert a.stop() == 0
    wait_for(lambda: host_named(admin, "hv1")["state"] == "down", 10, "host down")
    a.start()  # enrolled already: no token needed
    wait_for(lambda: host_named(admin, "hv1")["state"] == "up", 10, "host up again")
    assert len(admin.get("/v1/hosts").json()["items"]) == 1


def test_an_enrollment_token_enrolls_one_host(nubod, make_agent):
    admin = nubod.client()
    t = enroll_token(admin)
    make_agent(nubod, "first", *FAST, "--enroll", t["token"])
    wait_for(lambda: host_named(admin, "first"), what="first host")
    second = make_agent(nubod, "second", *FAST, "--enroll", t["token"])
    second.expect_failure = True
    assert second.proc.wait(15) != 0
    assert "unknown, used or expired" in second.log()
    assert host_named(admin, "second") is None


def test_a_deleted_host_stops_its_agent(nubod, make_agent):
    admin = nubod.client()
    a = make_agent(nubod, "gone", *FAST, "--enroll", enroll_token(admin)["token"],
                   "--heartbeat-interval", "1")
    h = wait_for(lambda: host_named(admin, "gone"), what="host")
    assert admin.delete("/v1/hosts/" + h["id"]).status_code == 204
    a.expect_failure = True
    assert a.proc.wait(60) != 0
    assert "refuses this host's credential" in a.log()


def test_an_agent_without_enrollment_says_so(nubod, make_agent):
    a = make_agent(nubod, "lost", *FAST)
    a.expect_failure = True
    assert a.proc.wait(15) != 0
    assert "not enrolled yet" in a.log()


def test_operators_disable_hosts(nubod, make_agent):
    admin = nubod.client()
    make_agent(nubod, "hv", *FAST, "--enroll", enroll_token(admin)["token"])
    h = wait_for(lambda: host_named(admin, "hv"), what="host")
    r = admin.patch("/v1/hosts/hv", {"enabled": False})
    assert r.status_code == 200 and r.json()["enabled"] is False
    assert admin.get("/v1/hosts/" + h["id"]).json()["enabled"] is False
    assert_error(admin.patch("/v1/hosts/hv", {"enabled": "no"}), 400, field="enabled")


def test_host_credentials_and_enrollment_are_checked(nubod):
    admin = nubod.client()
    url = nubod.url
    bad = {"token": "nubo_enroll_nothing", "name": "x", "cpus": 1, "ram_mb": 128, "disk_gb": 1}
    assert_error(requests.post(url + "/v1/hosts/enroll", json=bad), 401, field="token")
    t = enroll_token(admin)
    for field, value in (("cpus", 0), ("ram_mb", 1), ("name", "bad name"),
                         ("virt_type", "xen")):
        body = dict(bad, token=t["token"], **{field: value})
        assert_error(requests.post(url + "/v1/hosts/enroll", json=body), 400, field=field)
    r = requests.post(url + "/v1/hosts/enroll", json=dict(bad, token=t["token"], name="ok"))
    assert r.status_code == 201
    host = r.json()
    cred = {"Authorization": "Bearer " + host["credential"]}
    beat = {"cpus": 2, "ram_mb": 512, "disk_gb": 10, "virt_type": "qemu"}
    assert requests.post(url + "/v1/hosts/%s/heartbeat" % host["id"], json=beat,
                         headers=cred).status_code == 200
    # a host reports only for itself; a user cannot heartbeat; a host cannot use the user API
    other = admin.post("/v1/hosts/enroll-tokens").json()["token"]
    h2 = requests.post(url + "/v1/hosts/enroll",
                       json=dict(bad, token=other, name="ok2")).json()
    assert_error(requests.post(url + "/v1/hosts/%s/heartbeat" % h2["id"], json=beat,
                               headers=cred), 403)
    assert_error(admin.post("/v1/hosts/%s/heartbeat" % host["id"], beat), 403)
    assert_error(requests.get(url + "/v1/zones", headers=cred), 403)
    bogus = {"Authorization": "Bearer nubo_host_bogus"}
    assert_error(requests.post(url + "/v1/hosts/%s/heartbeat" % host["id"], json=beat,
                               headers=bogus), 401)
    # an expired token
    assert_error(admin.post("/v1/hosts/enroll-tokens", {"expires_in": 10}), 400,
                 field="expires_in")
    assert_error(admin.post("/v1/hosts/enroll-tokens", {"zone": "nowhere"}), 400, field="zone")


def test_a_zone_with_hosts_cannot_be_deleted(nubod):
    admin = nubod.client()
    admin.post("/v1/zones", {"name": "busy", "jurisdiction": "DE"})
    t = enroll_token(admin, zone="busy")
    r = requests.post(nubod.url + "/v1/hosts/enroll",
                      json={"token": t["token"], "name": "h", "cpus": 1, "ram_mb": 128,
                            "disk_gb": 1})
    assert r.status_code == 201
    assert_error(admin.delete("/v1/zones/busy"), 409)
    assert admin.delete("/v1/hosts/h").status_code == 204
    assert admin.delete("/v1/zones/busy").status_code == 204
