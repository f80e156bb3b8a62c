"""Volumes through the API, with a fake host that answers for its agent:
creation, quotas, attach and detach with devices, extend, delete, what
the host is asked to do, and what happens to volumes of a deleted
instance. The real guest's view is in test_compute.py."""
import requests

from conftest import assert_error
from test_instances import cloud, create, fake_host, instance, report, wait_for  # noqa: F401


def host_state(nubod, h):
    r = requests.get("%s/v1/hosts/%s/instances" % (nubod.url, h["id"]),
                     headers={"Authorization": "Bearer " + h["credential"]})
    assert r.status_code == 200, r.text
    return r.json()


def report_volume(nubod, h, vid, state, error=None):
    e = {"id": vid, "state": state}
    if error:
        e["error"] = error
    r = requests.post("%s/v1/hosts/%s/report" % (nubod.url, h["id"]), json={"volumes": [e]},
                      headers={"Authorization": "Bearer " + h["credential"]})
    assert r.status_code == 204, r.text


def quota(c, what):
    return c.get("/v1/projects/alpha/quotas").json()["quotas"][what]["used"]


def running_instance(cloud, h, name):
    c = cloud.clients["member"]
    i = create(c, name).json()
    wait_for(lambda: instance(c, i["id"])["host"], what="placement")
    report(cloud.nubod, h, i["id"], "running")
    return i


def test_create_list_show_and_input(cloud):
    c = cloud.clients["member"]
    r = c.post("/v1/volumes", {"name": "data", "size_gb": 10})
    assert r.status_code == 201, r.text
    v = r.json()
    assert (v["state"], v["size_gb"], v["host"], v["instance_id"], v["device"]) == (
        "available", 10, None, None, None)
    assert r.headers["Location"].endswith("/v1/volumes/" + v["id"])
    assert c.get("/v1/volumes/data").json() == v
    assert [x["name"] for x in c.get("/v1/volumes").json()["items"]] == ["data"]
    assert quota(c, "volumes") == 1 and quota(c, "volume_gb") == 10
    assert_error(c.post("/v1/volumes", {"name": "data", "size_gb": 1}), 409)
    for body, field in (({"name": "x", "size_gb": 0}, "size_gb"),
                        ({"name": "x", "size_gb": -5}, "size_gb"),
                        ({"name": "x", "size_gb": 10 ** 9}, "size_gb"),
                        ({"name": "x", "size_gb": "1"}, "size_gb"),
                        ({"name": "a b", "size_gb": 1}, "name"),
                        ({"size_gb": 1}, "name"),
                        ({"name": "x", "size_gb": 1, "image": "nope"}, "image")):
        assert_error(c.post("/v1/volumes", body), 400, field=field)
    assert_error(c.post("/v1/volumes", {"name": "x", "size_gb": 1, "color": "red"}), 400)
    assert_error(cloud.clients["reader"].post("/v1/volumes", {"name": "r", "size_gb": 1}), 403)
    assert_error(cloud.clients["other"].get("/v1/volumes/" + v["id"]), 404)
    assert cloud.clients["other"].get("/v1/volumes").json()["items"] == []
    cloud.admin.patch("/v1/projects/alpha/quotas", {"volume_gb": 15})
    assert_error(c.post("/v1/volumes", {"name": "big", "size_gb": 6}), 403, "QuotaExceeded")
    assert quota(c, "volumes") == 1 and quota(c, "volume_gb") == 10
    # never attached: gone at once, quota back
    d = c.delete("/v1/volumes/data")
    assert d.status_code == 202 and d.json()["job"]["status"] == "succeeded"
    assert_error(c.get("/v1/volumes/data"), 404)
    assert quota(c, "volumes") == 0 and quota(c, "volume_gb") == 0


def test_attach_detach_extend_delete_through_the_host(cloud):
    n, c = cloud.nubod, cloud.clients["member"]
    h = fake_host(n, cloud.admin, "h1")
    i = running_instance(cloud, h, "vm")
    j = running_instance(cloud, h, "vm2")
    v = c.post("/v1/volumes", {"name": "data", "size_gb": 1}).json()
    w = c.post("/v1/volumes", {"name": "logs", "size_gb": 2}).json()
    assert_error(c.post("/v1/volumes/data/attach", {"instance": "nope"}), 400, field="instance")
    assert_error(cloud.clients["reader"].post("/v1/volumes/data/attach", {"instance": "vm"}),
                 403)
    r = c.post("/v1/volumes/data/attach", {"instance": "vm"})
    assert r.status_code == 202, r.text
    a = r.json()
    assert (a["state"], a["instance_id"], a["device"], a["host"]) == ("attaching", i["id"],
                                                                       "vdb", h["id"])
    assert_error(c.post("/v1/volumes/data/attach", {"instance": "vm2"}), 409)
    # the host is asked for it
    want = host_state(n, h)["volumes"]
    assert [(x["id"], x["state"], x["instance_id"], x["device"], x["size_gb"]) for x in want] \
        == [(v["id"], "attaching", i["id"], "vdb", 1)]
    report_volume(n, h, v["id"], "in-use")
    assert c.get("/v1/volumes/data").json()["state"] == "in-use"
    assert c.get("/v1/jobs/" + a["job_id"]).json()["status"] == "succeeded"
    # a second volume takes the next device
    assert c.post("/v1/volumes/logs/attach", {"instance": "vm"}).json()["device"] == "vdc"
    report_volume(n, h, w["id"], "in-use")
    # detach: refused from the wrong instance, and delete refused while attached
    assert_error(c.post("/v1/volumes/data/detach", {"instance": "vm2"}), 409, field="instance")
    assert_error(c.delete("/v1/volumes/data"), 409)
    # extend while attached: the host grows it
    e = c.post("/v1/volumes/data/extend", {"size_gb": 3}).json()
    assert (e["state"], e["size_gb"]) == ("extending", 3)
    assert quota(c, "volume_gb") == 5
    assert_error(c.post("/v1/volumes/data/extend", {"size_gb": 4}), 409)  # busy extending
    report_volume(n, h, v["id"], "in-use")
    assert c.get("/v1/volumes/data").json()["state"] == "in-use"
    assert c.get("/v1/jobs/" + e["job_id"]).json()["status"] == "succeeded"
    assert_error(c.post("/v1/volumes/data/extend", {"size_gb": 3}), 400, field="size_gb")
    d = c.post("/v1/volumes/data/detach", {"instance": "vm"}).json()
    assert d["state"] == "detaching"
    report_volume(n, h, v["id"], "available")
    got = c.get("/v1/volumes/data").json()
    assert (got["state"], got["instance_id"], got["device"], got["host"]) == (
        "available", None, None, h["id"])
    # it lives on h1 now: attaches to another instance there, freeing vdb
    assert c.post("/v1/volumes/data/attach", {"instance": "vm2"}).json()["device"] == "vdb"
    report_volume(n, h, v["id"], "in-use")
    c.post("/v1/volumes/data/detach")
    report_volume(n, h, v["id"], "available")
    # delete: the host removes the file, then the volume and its quota go
    dd = c.delete("/v1/volumes/data").json()
    assert dd["job"]["status"] == "running"
    assert c.get("/v1/volumes/data").json()["state"] == "deleting"
    report_volume(n, h, v["id"], "gone")
    assert_error(c.get("/v1/volumes/data"), 404)
    assert c.get("/v1/jobs/" + dd["job_id"]).json()["status"] == "succeeded"
    assert quota(c, "volumes") == 1 and quota(c, "volume_gb") == 2
    report_volume(n, h, v["id"], "gone")  # again: nothing to do
    # the instance goes: its volumes stay, available
    c.delete("/v1/instances/vm")
    report(n, h, i["id"], "gone")
    got = c.get("/v1/volumes/logs").json()
    assert (got["state"], got["instance_id"]) == ("available", None)


def test_attach_rules(cloud):
    n, c, admin = cloud.nubod, cloud.clients["member"], cloud.admin
    h1 = fake_host(n, admin, "h1")
    i = running_instance(cloud, h1, "vm")
    admin.patch("/v1/hosts/h1", {"enabled": False})
    h2 = fake_host(n, admin, "h2")
    k = running_instance(cloud, h2, "vm-b")
    admin.patch("/v1/projects/alpha/quotas", {"instances": -1, "vcpus": -1, "ram_mb": -1})
    pending = create(c, "later", flavor="huge").json()  # no host can take it
    v = c.post("/v1/volumes", {"name": "data", "size_gb": 1}).json()
    wait_for(lambda: instance(c, pending["id"])["state"] == "error", what="error")
    assert_error(c.post("/v1/volumes/data/attach", {"instance": "later"}), 409,
                 field="instance")
    c.post("/v1/volumes/data/attach", {"instance": "vm"})
    report_volume(n, h1, v["id"], "in-use")
    c.post("/v1/volumes/data/detach")
    report_volume(n, h1, v["id"], "available")
    # local storage: its data is on h1, the other instance on h2
    r = c.post("/v1/volumes/data/attach", {"instance": "vm-b"})
    assert_error(r, 409, field="instance")
    assert "another host" in r.json()["error"]["message"]
    # another project's instance is not found from this volume
    assert_error(cloud.clients["other"].post("/v1/volumes/data/attach", {"instance": "vm"}),
                 404)
    # a host error shows on the volume
    c.post("/v1/volumes/data/attach", {"instance": "vm"})
    report_volume(n, h1, v["id"], "error", "disk full")
    got = c.get("/v1/volumes/data").json()
    assert (got["state"], got["error"]) == ("error", "disk full")
    assert k and i


def test_a_volume_from_an_image_lets_its_host_fetch_the_image(cloud):
    n, c = cloud.nubod, cloud.clients["member"]
    h = fake_host(n, cloud.admin, "h1")
    running_instance(cloud, h, "vm")  # booted from "guest"
    img = cloud.admin.post("/v1/images", {"name": "data", "visibility": "public"}).json()
    cloud.admin.request("PUT", "/v1/images/%s/file" % img["id"], raw=b"\1" * 65536)
    v = c.post("/v1/volumes", {"name": "copy", "size_gb": 1, "image": "data"}).json()
    assert v["image_id"] == img["id"]
    url = "%s/v1/hosts/%s/images/%s" % (n.url, h["id"], img["id"])
    auth = {"Authorization": "Bearer " + h["credential"]}
    assert requests.get(url, headers=auth).status_code == 404  # no volume of h1 uses it yet
    c.post("/v1/volumes/copy/attach", {"instance": "vm"})
    wanted = host_state(n, h)["volumes"][0]
    assert (wanted["image_id"], len(wanted["image_sha256"])) == (img["id"], 64)
    assert requests.get(url, headers=auth).status_code == 200
    assert_error(c.post("/v1/volumes", {"name": "small", "size_gb": 1, "image": "nope"}), 400,
                 field="image")


def report_snapshot(nubod, h, sid, state, error=None):
    e = {"id": sid, "state": state}
    if error:
        e["error"] = error
    r = requests.post("%s/v1/hosts/%s/report" % (nubod.url, h["id"]), json={"snapshots": [e]},
                      headers={"Authorization": "Bearer " + h["credential"]})
    assert r.status_code == 204, r.text


def test_snapshots_and_volumes_made_from_them(cloud):
    n, c = cloud.nubod, cloud.clients["member"]
    h = fake_host(n, cloud.admin, "h1")
    i = running_instance(cloud, h, "vm")
    v = c.post("/v1/volumes", {"name": "data", "size_gb": 2}).json()
    assert_error(c.post("/v1/snapshots", {"volume": "data", "name": "s1"}), 409,
                 field="volume")  # no data yet
    c.post("/v1/volumes/data/attach", {"instance": "vm"})
    report_volume(n, h, v["id"], "in-use")
    r = c.post("/v1/snapshots", {"volume": "data", "name": "s1"})
    assert_error(r, 409, field="volume")  # its instance runs
    assert "stop it or detach" in r.json()["error"]["message"]
    c.post("/v1/volumes/data/detach")
    report_volume(n, h, v["id"], "available")
    for body, field in (({"volume": "nope", "name": "s"}, "volume"),
                        ({"volume": "data", "name": "a b"}, "name"),
                        ({"volume": "data"}, "name")):
        assert_error(c.post("/v1/snapshots", body), 400, field=field)
    assert_error(cloud.clients["reader"].post("/v1/snapshots", {"volume": "data", "name": "r"}),
                 403)
    r = c.post("/v1/snapshots", {"volume": "data", "name": "s1"})
    assert r.status_code == 202, r.text
    s = r.json()
    assert (s["state"], s["volume_id"], s["size_gb"], s["host"]) == ("creating", v["id"], 2,
                                                                       h["id"])
    assert [x["id"] for x in host_state(n, h)["snapshots"]] == [s["id"]]
    # not available yet: no volume from it
    assert_error(c.post("/v1/volumes", {"name": "r", "size_gb": 2, "snapshot": "s1"}), 400,
                 field="snapshot")
    report_snapshot(n, h, s["id"], "available")
    assert c.get("/v1/snapshots/s1").json()["state"] == "available"
    assert c.get("/v1/jobs/" + s["job_id"]).json()["status"] == "succeeded"
    assert [x["name"] for x in c.get("/v1/snapshots").json()["items"]] == ["s1"]
    assert_error(cloud.clients["other"].get("/v1/snapshots/" + s["id"]), 404)
    # a volume from it lives where the snapshot is, and must hold it
    assert_error(c.post("/v1/volumes", {"name": "r", "size_gb": 1, "snapshot": "s1"}), 400,
                 field="size_gb")
    assert_error(c.post("/v1/volumes", {"name": "r", "size_gb": 2, "snapshot": "s1",
                                        "image": "guest"}), 400, field="snapshot")
    rv = c.post("/v1/volumes", {"name": "restored", "size_gb": 3, "snapshot": "s1"}).json()
    assert (rv["snapshot_id"], rv["host"], rv["state"]) == (s["id"], h["id"], "available")
    want = {x["id"]: x for x in host_state(n, h)["volumes"]}[rv["id"]]
    assert want["snapshot_id"] == s["id"]
    # a volume with snapshots stays; the snapshot goes through its host
    assert_error(c.delete("/v1/volumes/data"), 409)
    d = c.delete("/v1/snapshots/s1").json()
    assert d["state"] == "deleting"
    assert_error(c.delete("/v1/snapshots/s1"), 409)
    report_snapshot(n, h, s["id"], "gone")
    assert_error(c.get("/v1/snapshots/s1"), 404)
    assert c.get("/v1/jobs/" + d["job_id"]).json()["status"] == "succeeded"
    assert c.delete("/v1/volumes/data").status_code == 202
    assert i


def heartbeat(nubod, h, **extra):
    body = dict({"cpus": 4, "ram_mb": 8192, "disk_gb": 100, "virt_type": "qemu"}, **extra)
    return requests.post("%s/v1/hosts/%s/heartbeat" % (nubod.url, h["id"]), json=body,
                         headers={"Authorization": "Bearer " + h["credential"]})


def test_storage_pools_and_a_pooled_volume_moving_between_hosts(cloud):
    n, c, admin = cloud.nubod, cloud.clients["member"], cloud.admin
    # system admins define pools; everyone sees them
    r = admin.post("/v1/storage-pools", {"name": "nfs1", "description": "the NFS share"})
    assert r.status_code == 201, r.text
    pool = r.json()
    assert (pool["name"], pool["driver"]) == ("nfs1", "dir")
    assert r.headers["Location"].endswith("/v1/storage-pools/" + pool["id"])
    assert c.get("/v1/storage-pools/nfs1").json() == pool
    assert [p["name"] for p in c.get("/v1/storage-pools").json()["items"]] == ["nfs1"]
    assert_error(c.post("/v1/storage-pools", {"name": "mine"}), 403)
    assert_error(admin.post("/v1/storage-pools", {"name": "nfs1"}), 409, field="name")
    for body, field in (({"name": "NFS"}, "name"), ({"name": "a b"}, "name"), ({}, "name"),
                        ({"name": "x", "driver": "ceph"}, "driver"),
                        ({"name": "x", "driver": 1}, "driver")):
        assert_error(admin.post("/v1/storage-pools", body), 400, field=field)
    assert_error(admin.post("/v1/storage-pools", {"name": "x", "size": 1}), 400)
    assert_error(c.get("/v1/storage-pools/nope"), 404)
    assert [p["name"] for p in c.get("/v1/storage-pools").json()["items"]] == ["nfs1"]

    # hosts say which pools they mount; bad reports change nothing
    h1 = fake_host(n, admin, "h1")
    h2 = fake_host(n, admin, "h2")
    h3 = fake_host(n, admin, "h3")
    for bad in ("nfs1", ["NFS"], ["a,b"], ["x"] * 17, [1], {"a": 1}):
        assert_error(heartbeat(n, h1, storage_pools=bad), 400, field="storage_pools")
    assert admin.get("/v1/hosts/h1").json()["storage_pools"] == []
    for h in (h1, h2):
        r = heartbeat(n, h, storage_pools=["nfs1", "other"])
        assert r.status_code == 200 and r.json()["storage_pools"] == ["nfs1", "other"], r.text
    assert heartbeat(n, h3).json()["storage_pools"] == []
    vm1 = running_instance(cloud, h1, "vm1")
    admin.patch("/v1/hosts/h1", {"enabled": False})
    vm2 = running_instance(cloud, h2, "vm2")
    admin.patch("/v1/hosts/h2", {"enabled": False})
    running_instance(cloud, h3, "vm3")

    assert_error(c.post("/v1/volumes", {"name": "x", "size_gb": 1, "pool": "nope"}), 400,
                 field="pool")
    v = c.post("/v1/volumes", {"name": "shared", "size_gb": 1, "pool": "nfs1"}).json()
    assert v["pool"] == "nfs1" and v["host"] is None
    # a host that does not mount the pool cannot take it
    r = c.post("/v1/volumes/shared/attach", {"instance": "vm3"})
    assert_error(r, 409, field="instance")
    assert "nfs1" in r.json()["error"]["message"]
    assert c.get("/v1/volumes/shared").json()["state"] == "available"
    c.post("/v1/volumes/shared/attach", {"instance": "vm1"})
    want = [x for x in host_state(n, h1)["volumes"] if x["id"] == v["id"]]
    assert [(x["pool"], x["state"]) for x in want] == [("nfs1", "attaching")]
    report_volume(n, h1, v["id"], "in-use")
    # a snapshot of a pooled volume is kept in the pool
    c.post("/v1/volumes/shared/detach")
    report_volume(n, h1, v["id"], "available")
    s = c.post("/v1/snapshots", {"volume": "shared", "name": "s1"}).json()
    assert s["pool"] == "nfs1"
    assert [x["pool"] for x in host_state(n, h1)["snapshots"]] == ["nfs1"]
    report_snapshot(n, h1, s["id"], "available")
    assert_error(c.post("/v1/volumes", {"name": "y", "size_gb": 1, "snapshot": "s1",
                                        "pool": "other"}), 400, field="pool")
    admin.post("/v1/storage-pools", {"name": "other"})
    assert_error(c.post("/v1/volumes", {"name": "y", "size_gb": 1, "snapshot": "s1",
                                        "pool": "other"}), 400, field="pool")
    assert c.post("/v1/volumes", {"name": "y", "size_gb": 1,
                                  "snapshot": "s1"}).json()["pool"] == "nfs1"
    # ...and moves to an instance on another host that mounts the pool
    r = c.post("/v1/volumes/shared/attach", {"instance": "vm2"})
    assert r.status_code == 202, r.text
    assert r.json()["host"] == h2["id"]
    assert v["id"] in [x["id"] for x in host_state(n, h2)["volumes"]]
    assert v["id"] not in [x["id"] for x in host_state(n, h1)["volumes"]]
    report_volume(n, h2, v["id"], "in-use")
    assert c.get("/v1/volumes/shared").json()["instance_id"] == vm2["id"]
    # a pool with volumes in it stays
    assert_error(admin.delete("/v1/storage-pools/nfs1"), 409)
    assert admin.delete("/v1/storage-pools/other").status_code == 204

    # migration: pooled volumes go with their instance, to a host that
    # mounts their pool; a volume on local storage keeps it where it is
    c.post("/v1/instances/vm2/stop")
    report(n, h2, vm2["id"], "stopped")
    wait_for(lambda: instance(c, vm2["id"])["state"] == "stopped", what="stopped")
    local = c.post("/v1/volumes", {"name": "local", "size_gb": 1}).json()
    c.post("/v1/volumes/local/attach", {"instance": "vm2"})
    report_volume(n, h2, local["id"], "in-use")
    r = admin.post("/v1/instances/%s/migrate" % vm2["id"])
    assert_error(r, 409)
    assert "'local'" in r.json()["error"]["message"]
    c.post("/v1/volumes/local/detach")
    report_volume(n, h2, local["id"], "available")
    # h1 mounts the pool but takes no placements; h3 does not mount it
    r = admin.post("/v1/instances/%s/migrate" % vm2["id"])
    assert_error(r, 409, field="host")
    assert "storage pools" in r.json()["error"]["message"]
    r = admin.post("/v1/instances/%s/migrate" % vm2["id"], {"host": "h3"})
    assert_error(r, 409, field="host")
    assert "does not mount" in r.json()["error"]["message"]
    admin.patch("/v1/hosts/h1", {"enabled": True})
    r = admin.post("/v1/instances/%s/migrate" % vm2["id"])
    assert r.status_code == 202 and r.json()["target_host"] == h1["id"], r.text
    assert c.get("/v1/volumes/shared").json()["host"] == h2["id"]  # until the disk moves
    assert vm1
