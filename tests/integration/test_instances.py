"""Instances, placement and jobs: an instance is created with its quota
and job in one step, answered 202, and placed by the scheduler from its
in-memory capacity index; one no host can take ends in error with a
reason and gives its quota back."""
import time

import pytest
import requests

from conftest import assert_error
from identity_util import Tenancy


def wait_for(pred, timeout=20, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


def fake_host(nubod, admin, name, cpus=4, ram_mb=8192, disk_gb=100, zone=None):
    """A host enrolled through the agents' API (no agent process: these tests
    are about placement), kept up with one heartbeat."""
    t = admin.post("/v1/hosts/enroll-tokens", {"zone": zone} if zone else None).json()["token"]
    r = requests.post(nubod.url + "/v1/hosts/enroll",
                      json={"token": t, "name": name, "cpus": cpus, "ram_mb": ram_mb,
                            "disk_gb": disk_gb, "virt_type": "qemu"})
    assert r.status_code == 201, r.text
    return r.json()


@pytest.fixture
def cloud(nubod):
    t = Tenancy(nubod)
    admin = t.admin
    admin.post("/v1/flavors", {"name": "small", "vcpus": 2, "ram_mb": 2048, "disk_gb": 10})
    admin.post("/v1/flavors", {"name": "huge", "vcpus": 64, "ram_mb": 1048576, "disk_gb": 10})
    img = admin.post("/v1/images", {"name": "guest", "visibility": "public"}).json()
    admin.request("PUT", "/v1/images/%s/file" % img["id"], raw=b"\0" * 65536)
    t.image = img
    return t


def create(c, name, **extra):
    body = dict({"name": name, "image": "guest", "flavor": "small"}, **extra)
    return c.post("/v1/instances", body)


def instance(c, iid):
    return c.get("/v1/instances/" + iid).json()


def test_an_instance_is_placed_on_a_host(cloud):
    h = fake_host(cloud.nubod, cloud.admin, "hv1")
    c = cloud.clients["member"]
    r = create(c, "web-1", user_data="#cloud-config\n")
    assert r.status_code == 202, r.text
    i = r.json()
    assert i["state"] == "pending" and i["desired"] == "running" and i["job_id"]
    assert r.headers["Location"] == "/v1/instances/" + i["id"]
    assert (i["vcpus"], i["ram_mb"], i["disk_gb"]) == (2, 2048, 10)
    placed = wait_for(lambda: instance(c, i["id"])["state"] == "scheduled" and
                      instance(c, i["id"]), what="placement")
    assert placed["host"] == h["id"]
    q = c.get("/v1/projects/alpha/quotas").json()["quotas"]
    assert (q["instances"]["used"], q["vcpus"]["used"], q["ram_mb"]["used"]) == (1, 2, 2048)
    job = c.get("/v1/jobs/" + i["job_id"]).json()
    assert job["kind"] == "instance.create" and job["resource_id"] == i["id"]
    assert [x["name"] for x in c.get("/v1/instances").json()["items"]] == ["web-1"]
    assert c.get("/v1/instances/web-1").json()["id"] == i["id"]


def test_a_flavor_larger_than_every_host_ends_in_error_and_gives_quota_back(cloud):
    fake_host(cloud.nubod, cloud.admin, "hv1")
    cloud.admin.patch("/v1/projects/alpha/quotas", {"vcpus": -1, "ram_mb": -1})
    c = cloud.clients["member"]
    i = create(c, "too-big", flavor="huge").json()
    failed = wait_for(lambda: instance(c, i["id"])["state"] == "error" and
                      instance(c, i["id"]), what="error")
    assert "no host has room" in failed["error"] and "64 vCPUs" in failed["error"]
    assert failed["host"] is None
    job = wait_for(lambda: c.get("/v1/jobs/" + i["job_id"]).json()["status"] == "failed" and
                   c.get("/v1/jobs/" + i["job_id"]).json(), what="job failed")
    assert "no host has room" in job["error"]
    q = c.get("/v1/projects/alpha/quotas").json()["quotas"]
    assert q["instances"]["used"] == 0 and q["vcpus"]["used"] == 0
    r = c.delete("/v1/instances/" + i["id"])
    assert r.status_code == 202 and r.json()["job"]["status"] == "succeeded"
    assert_error(c.get("/v1/instances/" + i["id"]), 404)
    assert c.get("/v1/projects/alpha/quotas").json()["quotas"]["instances"]["used"] == 0


def test_without_hosts_an_instance_says_so(cloud):
    c = cloud.clients["member"]
    i = create(c, "lonely").json()
    failed = wait_for(lambda: instance(c, i["id"])["state"] == "error" and
                      instance(c, i["id"]), what="error")
    assert failed["error"] == "no host is up and enabled"


def test_placement_spreads_and_fills_hosts_without_overshooting(cloud):
    # two hosts of 2 CPUs and 4 GB each; cpu ratio 4 gives 8 vCPUs, ram ratio 1
    for n in ("a", "b"):
        fake_host(cloud.nubod, cloud.admin, n, cpus=2, ram_mb=4096)
    c = cloud.clients["member"]
    cloud.admin.patch("/v1/projects/alpha/quotas", {"instances": 100, "ram_mb": -1,
                                                    "vcpus": -1})
    ids = [create(c, "vm-%d" % k).json()["id"] for k in range(5)]
    states = wait_for(lambda: (lambda xs: all(x["state"] in ("scheduled", "error") for x in xs)
                               and xs)([instance(c, x) for x in ids]), what="decisions")
    placed = [x for x in states if x["state"] == "scheduled"]
    assert len(placed) == 4  # 2 per host by memory, not more
    hosts = sorted(x["host"] for x in placed)
    assert hosts[0] == hosts[1] and hosts[2] == hosts[3] and hosts[0] != hosts[2]
    assert "no host has room" in [x for x in states if x["state"] == "error"][0]["error"]


def test_disabled_hosts_and_zones_are_respected(cloud):
    admin = cloud.admin
    admin.post("/v1/zones", {"name": "z-a", "jurisdiction": "FR"})
    admin.post("/v1/zones", {"name": "z-b", "jurisdiction": "DE"})
    fake_host(cloud.nubod, admin, "in-a", zone="z-a")
    hb = fake_host(cloud.nubod, admin, "in-b", zone="z-b")
    c = cloud.clients["member"]
    i = create(c, "zoned", zone="z-b").json()
    assert wait_for(lambda: instance(c, i["id"])["host"], what="placement") == hb["id"]
    admin.patch("/v1/hosts/in-b", {"enabled": False})
    j = create(c, "zoned-2", zone="z-b").json()
    failed = wait_for(lambda: instance(c, j["id"])["state"] == "error" and
                      instance(c, j["id"]), what="error")
    assert "in the requested zone" in failed["error"]


def test_instance_input_and_access(cloud):
    fake_host(cloud.nubod, cloud.admin, "roomy", cpus=64, ram_mb=65536)
    c = cloud.clients["member"]
    for body, field in (({"image": "nope"}, "image"), ({"flavor": "nope"}, "flavor"),
                        ({"zone": "nope"}, "zone"), ({"name": "bad name"}, "name"),
                        ({"user_data": "x" * (64 * 1024 + 1)}, "user_data")):
        assert_error(create(c, "x", **body) if "name" not in body else
                     c.post("/v1/instances", dict({"image": "guest", "flavor": "small"},
                                                  **body)), 400, field=field)
    assert_error(cloud.clients["reader"].post("/v1/instances", {
        "name": "r", "image": "guest", "flavor": "small"}), 403)
    cloud.admin.patch("/v1/projects/alpha/quotas", {"instances": 2})
    assert create(c, "one").status_code == 202
    assert_error(create(c, "one"), 409)  # its quota charge went back with it
    assert create(c, "two").status_code == 202
    err = assert_error(create(c, "three"), 403, "QuotaExceeded", "instances")
    assert "limit 2" in err["message"]
    i = c.get("/v1/instances/one").json()
    assert_error(cloud.clients["other"].get("/v1/instances/" + i["id"]), 404)
    assert_error(cloud.clients["other"].delete("/v1/instances/" + i["id"]), 404)
    assert_error(cloud.clients["other"].get("/v1/jobs/" + c.get(
        "/v1/instances/one").json()["id"]), 404)
    assert_error(cloud.clients["reader"].delete("/v1/instances/" + i["id"]), 403)
    assert_error(cloud.admin.delete("/v1/projects/alpha"), 409)


def test_anti_affinity_spreads_a_group_over_hosts(cloud):
    for n in ("a", "b"):
        fake_host(cloud.nubod, cloud.admin, n)
    c = cloud.clients["member"]
    g = c.post("/v1/server-groups", {"name": "spread", "policy": "anti-affinity"})
    assert g.status_code == 201, g.text
    ids = [create(c, "s%d" % k, group="spread").json()["id"] for k in range(2)]
    placed = [wait_for(lambda x=x: instance(c, x)["host"], what="placement") for x in ids]
    assert placed[0] != placed[1]
    assert instance(c, ids[0])["group_id"] == g.json()["id"]
    third = create(c, "s2", group="spread").json()
    failed = wait_for(lambda: instance(c, third["id"])["state"] == "error" and
                      instance(c, third["id"]), what="error")
    assert "anti-affinity" in failed["error"]
    assert_error(c.delete("/v1/server-groups/spread"), 409)


def test_affinity_keeps_a_group_on_one_host(cloud):
    for n in ("a", "b"):
        fake_host(cloud.nubod, cloud.admin, n)
    c = cloud.clients["member"]
    c.post("/v1/server-groups", {"name": "together", "policy": "affinity"})
    ids = [create(c, "t%d" % k, group="together").json()["id"] for k in range(3)]
    hosts = {wait_for(lambda x=x: instance(c, x)["host"], what="placement") for x in ids}
    assert len(hosts) == 1


def test_server_group_input_and_access(cloud):
    c = cloud.clients["member"]
    assert_error(c.post("/v1/server-groups", {"name": "g", "policy": "near"}), 400,
                 field="policy")
    assert_error(c.post("/v1/server-groups", {"name": "", "policy": "affinity"}), 400,
                 field="name")
    g = c.post("/v1/server-groups", {"name": "g", "policy": "affinity"}).json()
    assert_error(c.post("/v1/server-groups", {"name": "g", "policy": "affinity"}), 409)
    assert_error(cloud.clients["other"].get("/v1/server-groups/" + g["id"]), 404)
    assert_error(create(cloud.clients["other"], "x", group=g["id"]), 400, field="group")
    assert [x["name"] for x in c.get("/v1/server-groups").json()["items"]] == ["g"]
    assert c.delete("/v1/server-groups/g").status_code == 204


def test_instances_of_a_silent_host_are_shown_unknown(make_nubod):
    n = make_nubod(extra_args=["--host-down-after", "2"])
    admin = n.client()
    admin.post("/v1/flavors", {"name": "small", "vcpus": 1, "ram_mb": 64, "disk_gb": 1})
    img = admin.post("/v1/images", {"name": "guest", "visibility": "public"}).json()
    admin.request("PUT", "/v1/images/%s/file" % img["id"], raw=b"\0" * 4096)
    admin.post("/v1/projects", {"name": "p"})
    admin.post("/v1/projects/p/members", {"user": "admin", "role": "admin"})
    c = n.client(project="p")
    fake_host(n, admin, "brief")
    i = create(c, "vm").json()
    assert wait_for(lambda: instance(c, i["id"])["state"] == "scheduled", 10, "placement")
    # the host sends no more heartbeats
    assert wait_for(lambda: instance(c, i["id"])["state"] == "unknown", 10, "unknown")
    assert admin.get("/v1/hosts/brief").json()["state"] == "down"


def test_a_zone_sets_its_own_overcommit_and_hosts_show_their_allocation(cloud):
    admin = cloud.admin
    z = admin.post("/v1/zones", {"name": "strict", "jurisdiction": "FR",
                                 "cpu_allocation_ratio": 1.0}).json()
    assert z["cpu_allocation_ratio"] == 1.0 and z["ram_allocation_ratio"] is None
    fake_host(cloud.nubod, admin, "h1", cpus=4, ram_mb=65536, zone="strict")
    h = admin.get("/v1/hosts/h1").json()
    assert h["allocation"] == {"vcpus_used": 0, "ram_mb_used": 0, "disk_gb_used": 0,
                               "vcpus_total": 4, "ram_mb_total": 65536, "disk_gb_total": 100}
    c = cloud.clients["member"]
    cloud.admin.patch("/v1/projects/alpha/quotas", {"instances": 100, "ram_mb": -1,
                                                    "vcpus": -1})
    ids = [create(c, "vm-%d" % k, zone="strict").json()["id"] for k in range(3)]
    states = wait_for(lambda: (lambda xs: all(x["state"] in ("scheduled", "error") for x in xs)
                               and xs)([instance(c, x) for x in ids]), what="decisions")
    assert sorted(x["state"] for x in states) == ["error", "scheduled", "scheduled"]
    alloc = admin.get("/v1/hosts/h1").json()["allocation"]
    assert (alloc["vcpus_used"], alloc["ram_mb_used"], alloc["disk_gb_used"]) == (4, 4096, 20)
    # raising the ratio makes room at once, without a restart
    z = admin.patch("/v1/zones/strict", {"cpu_allocation_ratio": 2.5}).json()
    assert z["cpu_allocation_ratio"] == 2.5
    assert admin.get("/v1/hosts/h1").json()["allocation"]["vcpus_total"] == 10
    i = create(c, "vm-more", zone="strict").json()
    assert wait_for(lambda: instance(c, i["id"])["state"] in ("scheduled", "error")
                    and instance(c, i["id"]), what="decision")["state"] == "scheduled"
    assert admin.patch("/v1/zones/strict", {"cpu_allocation_ratio": None}).json()[
        "cpu_allocation_ratio"] is None
    for bad in (0, -1, 65, "2", True):
        assert_error(admin.patch("/v1/zones/strict", {"cpu_allocation_ratio": bad}), 400,
                     "InvalidParameter", "cpu_allocation_ratio")
    assert_error(admin.patch("/v1/zones/strict", {"ram_allocation_ratio": 17}), 400,
                 "InvalidParameter", "ram_allocation_ratio")
    assert admin.get("/v1/zones/strict").json()["cpu_allocation_ratio"] is None


def test_pack_placement_fills_one_host_first(make_nubod):
    n = make_nubod(extra_args=["--placement", "pack"])
    admin = n.client()
    admin.post("/v1/flavors", {"name": "small", "vcpus": 1, "ram_mb": 1024, "disk_gb": 1})
    img = admin.post("/v1/images", {"name": "guest", "visibility": "public"}).json()
    admin.request("PUT", "/v1/images/%s/file" % img["id"], raw=b"\0" * 4096)
    admin.post("/v1/projects", {"name": "p"})
    admin.post("/v1/projects/p/members", {"user": "admin", "role": "admin"})
    c = n.client(project="p")
    hosts = [fake_host(n, admin, "h%d" % k, cpus=4, ram_mb=4096)["id"] for k in range(3)]
    placed = []
    for k in range(6):
        i = create(c, "vm-%d" % k).json()
        placed.append(wait_for(lambda: instance(c, i["id"])["host"], what="placement"))
    # the first host takes four, the second the rest; the third stays empty
    assert placed[:4] == [placed[0]] * 4 and placed[4] == placed[5] != placed[0]
    assert hosts[2] not in placed


def test_placement_must_be_spread_or_pack(make_nubod):
    n = make_nubod(extra_args=["--placement", "random"], start=False)
    n.expect_failure = True
    n.start(wait=False)
    assert n.proc.wait(15) != 0
    assert "placement must be spread or pack" in n.log()


def test_the_console_by_tail_or_from_an_offset(cloud):
    h = fake_host(cloud.nubod, cloud.admin, "h1")
    c = cloud.clients["member"]
    i = create(c, "vm").json()
    wait_for(lambda: instance(c, i["id"])["host"], what="placement")
    url = "%s/v1/hosts/%s/instances/%s/console" % (cloud.nubod.url, h["id"], i["id"])
    auth = {"Authorization": "Bearer " + h["credential"]}
    r = c.get("/v1/instances/%s/console" % i["id"])
    assert (r.status_code, r.text, r.headers["X-Console-End"]) == (200, "", "0")
    # the host keeps the last part of a long console: bytes 1000-1009 here
    r = requests.put(url + "?offset=1000", data=b"0123456789", headers=auth)
    assert r.status_code == 204, r.text

    def get(query=""):
        r = c.get("/v1/instances/%s/console%s" % (i["id"], query))
        assert r.status_code == 200, r.text
        assert r.headers["Content-Type"].startswith("text/plain")
        return r.text, int(r.headers["X-Console-Start"]), int(r.headers["X-Console-End"])

    assert get() == ("0123456789", 1000, 1010)
    assert get("?tail=3") == ("789", 1007, 1010)
    assert get("?tail=50") == ("0123456789", 1000, 1010)
    assert get("?offset=1004") == ("456789", 1004, 1010)
    assert get("?offset=10") == ("0123456789", 1000, 1010)  # older bytes are gone
    assert get("?offset=1010") == ("", 1010, 1010)  # nothing new yet
    assert get("?offset=99999") == ("", 1010, 1010)
    for q in ("?tail=-1", "?offset=x", "?tail=1&offset=1", "?offset=%zz",
              "?offset=99999999999999999999"):
        assert_error(c.get("/v1/instances/%s/console%s" % (i["id"], q)), 400)
    assert requests.put(url + "?offset=-5", data=b"x", headers=auth).status_code == 400
    assert get() == ("0123456789", 1000, 1010)  # the refused PUT changed nothing


def report(nubod, host, iid, state):
    r = requests.post("%s/v1/hosts/%s/report" % (nubod.url, host["id"]),
                      json={"instances": [{"id": iid, "state": state}]},
                      headers={"Authorization": "Bearer " + host["credential"]})
    assert r.status_code == 204, r.text


def test_resize_a_stopped_instance_in_place(cloud):
    admin, c, n = cloud.admin, cloud.clients["member"], cloud.nubod
    admin.post("/v1/flavors", {"name": "medium", "vcpus": 4, "ram_mb": 4096, "disk_gb": 20})
    admin.post("/v1/flavors", {"name": "thin", "vcpus": 1, "ram_mb": 1024, "disk_gb": 5})
    admin.post("/v1/flavors", {"name": "wide", "vcpus": 9, "ram_mb": 6144, "disk_gb": 20})
    h = fake_host(n, admin, "h1", cpus=2, ram_mb=8192)  # 8 vCPUs with ratio 4
    i = create(c, "vm").json()
    wait_for(lambda: instance(c, i["id"])["host"], what="placement")
    assert_error(c.post("/v1/instances/vm/resize", {"flavor": "medium"}), 409)  # not stopped
    report(n, h, i["id"], "running")
    c.post("/v1/instances/vm/stop")
    report(n, h, i["id"], "stopped")
    assert instance(c, i["id"])["state"] == "stopped"
    before = c.get("/v1/projects/alpha/quotas").json()["quotas"]
    for flavor, status in (("thin", 400), ("small", 400), ("nope", 400), ("wide", 409)):
        assert_error(c.post("/v1/instances/vm/resize", {"flavor": flavor}), status,
                     field="flavor")
    assert_error(cloud.clients["reader"].post("/v1/instances/vm/resize",
                                              {"flavor": "medium"}), 403)
    assert c.get("/v1/projects/alpha/quotas").json()["quotas"] == before
    assert admin.get("/v1/hosts/h1").json()["allocation"]["vcpus_used"] == 2
    r = c.post("/v1/instances/vm/resize", {"flavor": "medium"})
    assert r.status_code == 202, r.text
    got = r.json()
    assert (got["state"], got["vcpus"], got["ram_mb"], got["disk_gb"]) == ("resizing", 4, 4096,
                                                                           20)
    after = c.get("/v1/projects/alpha/quotas").json()["quotas"]
    assert after["vcpus"]["used"] == before["vcpus"]["used"] + 2
    assert after["ram_mb"]["used"] == before["ram_mb"]["used"] + 2048
    alloc = admin.get("/v1/hosts/h1").json()["allocation"]
    assert (alloc["vcpus_used"], alloc["ram_mb_used"], alloc["disk_gb_used"]) == (4, 4096, 20)
    assert_error(c.post("/v1/instances/vm/start"), 409)  # not until the host applied it
    assert c.get("/v1/jobs/" + got["job_id"]).json()["status"] == "running"
    report(n, h, i["id"], "stopped")  # the host grew the disk and redefined the domain
    assert instance(c, i["id"])["state"] == "stopped"
    assert c.get("/v1/jobs/" + got["job_id"]).json()["status"] == "succeeded"
    # smaller again (disk stays): quota and host usage go down
    assert c.post("/v1/instances/vm/resize", {"flavor": "big-disk-small"}).status_code == 400
    admin.post("/v1/flavors", {"name": "lean", "vcpus": 1, "ram_mb": 512, "disk_gb": 20})
    assert c.post("/v1/instances/vm/resize", {"flavor": "lean"}).status_code == 202
    alloc = admin.get("/v1/hosts/h1").json()["allocation"]
    assert (alloc["vcpus_used"], alloc["ram_mb_used"]) == (1, 512)
    assert c.get("/v1/projects/alpha/quotas").json()["quotas"]["vcpus"]["used"] == \
        before["vcpus"]["used"] - 1


def test_a_stopped_instance_becomes_an_image(cloud):
    admin, c, n = cloud.admin, cloud.clients["member"], cloud.nubod
    h = fake_host(n, admin, "h1")
    h2 = fake_host(n, admin, "h2")
    i = create(c, "vm").json()
    wait_for(lambda: instance(c, i["id"])["host"], what="placement")
    host = h if instance(c, i["id"])["host"] == h["id"] else h2
    other = h2 if host is h else h
    report(n, host, i["id"], "running")
    assert_error(c.post("/v1/instances/vm/snapshot", {"name": "snap"}), 409)  # running
    c.post("/v1/instances/vm/stop")
    report(n, host, i["id"], "stopped")
    assert_error(c.post("/v1/instances/vm/snapshot", {}), 400, field="name")
    assert_error(c.post("/v1/instances/vm/snapshot", {"name": "s", "visibility": "public"}),
                 403)
    r = c.post("/v1/instances/vm/snapshot", {"name": "snap"})
    assert r.status_code == 202, r.text
    got = r.json()
    assert got["state"] == "snapshotting"
    img = c.get("/v1/images/" + got["image_id"]).json()
    assert (img["name"], img["state"], img["visibility"]) == ("snap", "queued", "private")
    assert_error(c.post("/v1/instances/vm/start"), 409)
    # the host is asked, and uploads the disk; a stopped report changes nothing meanwhile
    want = [x for x in requests.get("%s/v1/hosts/%s/instances" % (n.url, host["id"]),
                                    headers={"Authorization": "Bearer " + host["credential"]}
                                    ).json()["items"] if x["id"] == i["id"]][0]
    assert want["snapshot_image_id"] == img["id"]
    report(n, host, i["id"], "stopped")
    assert instance(c, i["id"])["state"] == "snapshotting"
    url = "%s/v1/hosts/%%s/images/%s/file" % (n.url, img["id"])
    data = b"\0" * 65536
    r = requests.put(url % other["id"], data=data,
                     headers={"Authorization": "Bearer " + other["credential"]})
    assert r.status_code == 404  # not an image another host's instance is making
    r = requests.put(url % other["id"], data=data,
                     headers={"Authorization": "Bearer " + host["credential"]})
    assert r.status_code == 403  # a host speaks only for itself
    wrong = "%s/v1/hosts/%s/images/%s/file" % (n.url, host["id"], cloud.image["id"])
    assert requests.put(wrong, data=data, headers={
        "Authorization": "Bearer " + host["credential"]}).status_code == 404
    r = requests.put(url % host["id"], data=data,
                     headers={"Authorization": "Bearer " + host["credential"]})
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "active"
    assert instance(c, i["id"])["state"] == "stopped"
    assert c.get("/v1/jobs/" + got["job_id"]).json()["status"] == "succeeded"
    assert c.get("/v1/images/snap").json()["state"] == "active"
    # an instance boots from it like from any image
    assert create(c, "child", image="snap").status_code == 202
    # the host cannot make one: the image fails, the instance stays stopped
    f = c.post("/v1/instances/vm/snapshot", {"name": "snap2"}).json()
    report_err = requests.post("%s/v1/hosts/%s/report" % (n.url, host["id"]),
                               json={"instances": [{"id": i["id"], "state": "stopped",
                                                    "error": "disk unreadable"}]},
                               headers={"Authorization": "Bearer " + host["credential"]})
    assert report_err.status_code == 204
    assert instance(c, i["id"])["state"] == "stopped"
    assert c.get("/v1/images/" + f["image_id"]).json()["state"] == "error"
    job = c.get("/v1/jobs/" + f["job_id"]).json()
    assert (job["status"], job["error"]) == ("failed", "disk unreadable")


def test_a_host_with_instances_cannot_be_deleted(cloud):
    h = fake_host(cloud.nubod, cloud.admin, "busy", cpus=8, ram_mb=16384)
    admin, c = cloud.admin, cloud.clients["member"]
    ids = [create(c, "vm-%d" % k).json()["id"] for k in range(2)]
    wait_for(lambda: all(instance(c, x)["host"] == h["id"] for x in ids), what="placement")
    err = assert_error(admin.delete("/v1/hosts/busy"), 409, "Conflict")
    assert "'busy' still has 2 instances" in err["message"], err
    # nothing changed: the host is there and its agent's credential works
    assert admin.get("/v1/hosts/busy").status_code == 200
    cred = {"Authorization": "Bearer " + h["credential"]}
    url = cloud.nubod.url + "/v1/hosts/%s/" % h["id"]
    r = requests.get(url + "instances", headers=cred)
    assert r.status_code == 200 and len(r.json()["items"]) == 2
    # instances being deleted still count until the host's agent reports them gone
    for x in ids:
        assert c.delete("/v1/instances/" + x).status_code == 202
    err = assert_error(admin.delete("/v1/hosts/" + h["id"]), 409, "Conflict")
    assert "still has 2 instances" in err["message"]
    r = requests.post(url + "report", headers=cred,
                      json={"instances": [{"id": ids[0], "state": "gone"}]})
    assert r.status_code == 204, r.text
    err = assert_error(admin.delete("/v1/hosts/busy"), 409)
    assert "still has 1 instance;" in err["message"]
    requests.post(url + "report", headers=cred, json={"instances": [{"id": ids[1],
                                                                     "state": "gone"}]})
    assert admin.delete("/v1/hosts/busy").status_code == 204
    assert_error(requests.get(url + "instances", headers=cred), 401)


def host_items(n, h):
    r = requests.get("%s/v1/hosts/%s/instances" % (n.url, h["id"]),
                     headers={"Authorization": "Bearer " + h["credential"]})
    assert r.status_code == 200, r.text
    return {x["id"]: x for x in r.json()["items"]}


def upload_disk(n, h, image_id, data=b"\0" * 65536):
    return requests.put("%s/v1/hosts/%s/images/%s/file" % (n.url, h["id"], image_id), data=data,
                        headers={"Authorization": "Bearer " + h["credential"]})


def test_cold_migration_between_hosts(cloud):
    admin, c, n = cloud.admin, cloud.clients["member"], cloud.nubod
    h1 = fake_host(n, admin, "h1")
    admin.patch("/v1/hosts/h1", {"enabled": False})
    h2 = fake_host(n, admin, "h2")
    admin.patch("/v1/hosts/h1", {"enabled": True})
    admin.patch("/v1/hosts/h2", {"enabled": False})
    i = create(c, "vm").json()
    assert wait_for(lambda: instance(c, i["id"])["host"], what="placement") == h1["id"]
    admin.patch("/v1/hosts/h2", {"enabled": True})
    report(n, h1, i["id"], "running")
    assert_error(admin.post("/v1/instances/%s/migrate" % i["id"]), 409)  # running
    c.post("/v1/instances/vm/stop")
    report(n, h1, i["id"], "stopped")
    assert_error(c.post("/v1/instances/vm/migrate"), 403)  # system administrators only
    for body in ({"host": "h1"}, {"host": "nope"}, {"host": 5}):
        assert_error(admin.post("/v1/instances/%s/migrate" % i["id"], body), 400, field="host")
    v = c.post("/v1/volumes", {"name": "data", "size_gb": 1}).json()
    c.post("/v1/volumes/data/attach", {"instance": "vm"})
    r = admin.post("/v1/instances/%s/migrate" % i["id"])
    assert_error(r, 409)
    assert "detach it first" in r.json()["error"]["message"]
    requests.post("%s/v1/hosts/%s/report" % (n.url, h1["id"]),
                  json={"volumes": [{"id": v["id"], "state": "in-use"}]},
                  headers={"Authorization": "Bearer " + h1["credential"]})
    c.post("/v1/volumes/data/detach")
    requests.post("%s/v1/hosts/%s/report" % (n.url, h1["id"]),
                  json={"volumes": [{"id": v["id"], "state": "available"}]},
                  headers={"Authorization": "Bearer " + h1["credential"]})

    # the scheduler picks h2; both hold the instance's resources meanwhile
    m = admin.post("/v1/instances/%s/migrate" % i["id"]).json()
    assert (m["state"], m["target_host"], m["host"]) == ("migrating", h2["id"], h1["id"])
    alloc = {h: admin.get("/v1/hosts/" + h).json()["allocation"]["vcpus_used"]
             for h in ("h1", "h2")}
    assert alloc == {"h1": 2, "h2": 2}
    assert_error(c.delete("/v1/instances/vm"), 409)
    assert_error(c.post("/v1/instances/vm/start"), 409)
    item = host_items(n, h1)[i["id"]]
    assert item["migration"] == "upload" and item["snapshot_image_id"]
    image = item["snapshot_image_id"]
    assert i["id"] not in host_items(n, h2)
    report(n, h1, i["id"], "stopped")  # changes nothing
    assert instance(c, i["id"])["state"] == "migrating"
    assert upload_disk(n, h2, image).status_code == 404  # not h2's to upload
    fetch = "%s/v1/hosts/%s/images/%s" % (n.url, h2["id"], image)
    auth2 = {"Authorization": "Bearer " + h2["credential"]}
    assert requests.get(fetch, headers=auth2).status_code == 404  # nothing to fetch yet
    r = upload_disk(n, h1, image)
    assert r.status_code == 200, r.text
    got = requests.get(fetch, headers=auth2)  # the target fetches the disk
    assert got.status_code == 200 and got.headers["X-Image-Sha256"] == r.json()["sha256"]
    # now h2 builds it from the image, and h1 keeps its copy until then
    got = instance(c, i["id"])
    assert (got["state"], got["host"]) == ("migrating", h2["id"])
    assert host_items(n, h1)[i["id"]]["migration"] == "keep"
    recv = host_items(n, h2)[i["id"]]
    assert recv["migration"] == "receive" and len(recv["disk_image_sha256"]) == 64
    report(n, h1, i["id"], "stopped")  # the old host's reports change nothing now
    report(n, h2, i["id"], "stopped")
    got = instance(c, i["id"])
    assert (got["state"], got["host"]) == ("stopped", h2["id"])
    assert c.get("/v1/jobs/" + m["job_id"]).json()["status"] == "succeeded"
    assert_error(admin.get("/v1/images/" + image), 404)  # the disk's image is gone
    assert i["id"] not in host_items(n, h1)  # h1 removes what it had
    alloc = {h: admin.get("/v1/hosts/" + h).json()["allocation"]["vcpus_used"]
             for h in ("h1", "h2")}
    assert alloc == {"h1": 0, "h2": 2}

    # back to h1, named; the target fails: the instance stays on h2
    m = admin.post("/v1/instances/%s/migrate" % i["id"], {"host": "h1"}).json()
    assert m["target_host"] == h1["id"]
    image = host_items(n, h2)[i["id"]]["snapshot_image_id"]
    assert upload_disk(n, h2, image).status_code == 200
    report_err = requests.post("%s/v1/hosts/%s/report" % (n.url, h1["id"]),
                               json={"instances": [{"id": i["id"], "state": "error",
                                                    "error": "disk full"}]},
                               headers={"Authorization": "Bearer " + h1["credential"]})
    assert report_err.status_code == 204
    got = instance(c, i["id"])
    assert (got["state"], got["host"]) == ("stopped", h2["id"])
    job = c.get("/v1/jobs/" + m["job_id"]).json()
    assert (job["status"], job["error"]) == ("failed", "disk full")
    alloc = {h: admin.get("/v1/hosts/" + h).json()["allocation"]["vcpus_used"]
             for h in ("h1", "h2")}
    assert alloc == {"h1": 0, "h2": 2}
    # the old host cannot upload: same, before anything moved
    m = admin.post("/v1/instances/%s/migrate" % i["id"]).json()
    report_err = requests.post("%s/v1/hosts/%s/report" % (n.url, h2["id"]),
                               json={"instances": [{"id": i["id"], "state": "stopped",
                                                    "error": "disk unreadable"}]},
                               headers={"Authorization": "Bearer " + h2["credential"]})
    assert report_err.status_code == 204
    got = instance(c, i["id"])
    assert (got["state"], got["host"]) == ("stopped", h2["id"])
    assert c.get("/v1/jobs/" + m["job_id"]).json()["status"] == "failed"
    alloc = {h: admin.get("/v1/hosts/" + h).json()["allocation"]["vcpus_used"]
             for h in ("h1", "h2")}
    assert alloc == {"h1": 0, "h2": 2}
