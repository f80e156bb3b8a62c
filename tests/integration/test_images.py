"""Flavors and images: sizes for instances, and disk images streamed in,
checked with qemu-img, stored as qcow2 and streamed back out."""
import hashlib
import os
import socket
import subprocess
import time
from urllib.parse import urlparse

import pytest
import requests

from conftest import assert_error
from identity_util import Tenancy, new_key, signed


@pytest.fixture
def tenancy(nubod):
    return Tenancy(nubod)


def qemu_img(*args):
    subprocess.run(["qemu-img"] + list(args), check=True, capture_output=True)


def make_disk(path, fmt, size="16M", backing=None):
    args = ["create", "-q", "-f", fmt]
    if backing:
        args += ["-b", backing, "-F", "raw"]
    qemu_img(*(args + [str(path), size]))
    return path


def new_image(client, name, **extra):
    r = client.post("/v1/images", dict(name=name, **extra))
    assert r.status_code == 201, r.text
    return r.json()


def upload(client, image_id, path_or_bytes, headers=None):
    data = path_or_bytes
    if isinstance(path_or_bytes, (str, os.PathLike)):
        data = open(path_or_bytes, "rb")
    return client.request("PUT", "/v1/images/%s/file" % image_id, raw=data,
                          headers=headers or {})


def test_flavors_are_defined_by_operators(tenancy):
    admin, member = tenancy.admin, tenancy.clients["member"]
    r = admin.post("/v1/flavors", {"name": "m1.small", "vcpus": 2, "ram_mb": 2048,
                                   "disk_gb": 20})
    assert r.status_code == 201
    f = r.json()
    assert (f["vcpus"], f["ram_mb"], f["disk_gb"]) == (2, 2048, 20)
    assert member.get("/v1/flavors/m1.small").json() == f
    assert [x["name"] for x in member.get("/v1/flavors").json()["items"]] == ["m1.small"]
    assert_error(member.post("/v1/flavors", {"name": "x", "vcpus": 1, "ram_mb": 64,
                                             "disk_gb": 1}), 403)
    assert_error(admin.post("/v1/flavors", {"name": "m1.small", "vcpus": 1, "ram_mb": 64,
                                            "disk_gb": 1}), 409)
    for bad, field in (({"vcpus": 0}, "vcpus"), ({"ram_mb": 10}, "ram_mb"),
                       ({"disk_gb": 0}, "disk_gb"), ({"name": "Big One"}, "name"),
                       ({"vcpus": "2"}, "vcpus")):
        body = dict({"name": "f", "vcpus": 1, "ram_mb": 64, "disk_gb": 1}, **bad)
        assert_error(admin.post("/v1/flavors", body), 400, field=field)
    assert admin.delete("/v1/flavors/m1.small").status_code == 204
    assert_error(member.get("/v1/flavors/m1.small"), 404)


@pytest.mark.parametrize("fmt", ["raw", "qcow2", "vmdk", "vhdx"])
def test_uploaded_images_are_stored_as_qcow2(tenancy, tmp_path, fmt):
    c = tenancy.clients["member"]
    img = new_image(c, "disk-" + fmt)
    assert img["state"] == "queued" and img["project_id"] == tenancy.alpha["id"]
    src = make_disk(tmp_path / ("src." + fmt), fmt)
    sent = hashlib.sha256(open(src, "rb").read()).hexdigest()
    r = upload(c, img["id"], src, headers={"X-Image-Sha256": sent})
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["state"] == "active" and got["disk_format"] == fmt
    assert got["virtual_size"] == 16 * 1024 * 1024
    d = c.get("/v1/images/%s/file" % img["id"])
    assert d.status_code == 200
    assert hashlib.sha256(d.content).hexdigest() == got["sha256"]
    assert d.headers["X-Image-Sha256"] == got["sha256"]
    assert len(d.content) == got["size_bytes"]
    out = tmp_path / "back.qcow2"
    out.write_bytes(d.content)
    info = subprocess.run(["qemu-img", "info", "--output=json", str(out)],
                          capture_output=True, text=True, check=True).stdout
    assert '"format": "qcow2"' in info
    assert_error(upload(c, img["id"], src), 409)


def test_a_qcow2_with_a_backing_file_is_refused(tenancy, tmp_path):
    c = tenancy.clients["member"]
    img = new_image(c, "sneaky")
    src = make_disk(tmp_path / "evil.qcow2", "qcow2", backing="/etc/passwd")
    err = assert_error(upload(c, img["id"], src), 400)
    assert "backing file" in err["message"]
    got = c.get("/v1/images/" + img["id"]).json()
    assert got["state"] == "error" and "backing file" in got["error"]
    assert_error(c.get("/v1/images/%s/file" % img["id"]), 409)


def test_a_wrong_checksum_refuses_the_upload_and_keeps_the_image_queued(tenancy, tmp_path):
    c = tenancy.clients["member"]
    img = new_image(c, "sum")
    src = make_disk(tmp_path / "a.raw", "raw")
    assert_error(upload(c, img["id"], src, headers={"X-Image-Sha256": "0" * 64}), 400,
                 field="X-Image-Sha256")
    assert c.get("/v1/images/" + img["id"]).json()["state"] == "queued"
    assert upload(c, img["id"], src).status_code == 200


def test_an_upload_over_the_limit_is_413(make_nubod, tmp_path):
    n = make_nubod(extra_args=["--image-max", "1M"])
    c = n.client()
    img = new_image(c, "huge")
    assert_error(upload(c, img["id"], b"\0" * (2 * 1024 * 1024)), 413)
    assert c.get("/v1/images/" + img["id"]).json()["state"] == "queued"

    def chunks():
        for _ in range(40):
            yield b"\1" * 65536
    r = requests.put(n.url + "/v1/images/%s/file" % img["id"], data=chunks(),
                     headers={"Authorization": "Bearer " + c.token})
    assert_error(r, 413)
    assert c.get("/v1/images/" + img["id"]).json()["state"] == "queued"


def test_an_interrupted_upload_leaves_the_image_queued(tenancy):
    c = tenancy.clients["member"]
    img = new_image(c, "cut")
    u = urlparse(tenancy.nubod.url)
    s = socket.create_connection((u.hostname, u.port))
    s.sendall(("PUT /v1/images/%s/file HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
               "Content-Length: 1000000\r\n\r\n" % (img["id"], c.token)).encode() + b"x" * 1000)
    time.sleep(0.3)
    assert c.get("/v1/images/" + img["id"]).json()["state"] == "saving"
    s.close()
    deadline = time.monotonic() + 10
    while c.get("/v1/images/" + img["id"]).json()["state"] != "queued":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert not list((tenancy.nubod.data_dir / "images").glob("*.upload"))


def test_upload_memory_stays_flat(nubod, tmp_path):
    c = nubod.client()
    img = new_image(c, "200mb")
    src = tmp_path / "big.raw"
    with open(src, "wb") as f:
        for _ in range(200):
            f.write(os.urandom(1024 * 1024))

    def rss_kb():
        for line in open("/proc/%d/status" % nubod.proc.pid):
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    before = rss_kb()
    r = upload(c, img["id"], src)
    assert r.status_code == 200 and r.json()["size_bytes"] >= 200 * 1024 * 1024
    grown_mb = (rss_kb() - before) / 1024
    print("peak resident memory grew by %.1f MB for a 200 MB upload" % grown_mb)
    assert grown_mb < 20


def test_image_visibility_between_projects(tenancy, tmp_path):
    mine = new_image(tenancy.clients["member"], "private-one")
    other = tenancy.clients["other"]
    assert_error(other.get("/v1/images/" + mine["id"]), 404)
    assert_error(other.get("/v1/images/private-one"), 404)
    assert mine["id"] not in [i["id"] for i in other.get("/v1/images").json()["items"]]
    assert_error(other.request("PUT", "/v1/images/%s/file" % mine["id"], raw=b"x"), 404)
    assert_error(other.delete("/v1/images/" + mine["id"]), 404)
    assert_error(tenancy.clients["reader"].delete("/v1/images/" + mine["id"]), 403)
    assert_error(tenancy.clients["member"].patch("/v1/images/" + mine["id"],
                                                 {"visibility": "public"}), 403)
    pub = new_image(tenancy.admin, "shared", visibility="public")
    assert pub["project_id"] is None
    assert other.get("/v1/images/shared").json()["id"] == pub["id"]
    assert_error(other.delete("/v1/images/" + pub["id"]), 403)
    assert tenancy.clients["member"].delete("/v1/images/" + mine["id"]).status_code == 204
    assert_error(tenancy.clients["member"].get("/v1/images/" + mine["id"]), 404)


def test_signed_upload_with_a_content_hash(tenancy, tmp_path):
    key, secret = new_key(tenancy.clients["member"], "alpha")
    img = new_image(tenancy.clients["member"], "signed")
    data = open(make_disk(tmp_path / "s.raw", "raw", "1M"), "rb").read()
    digest = hashlib.sha256(data).hexdigest()
    from identity_util import AWSRequest, Credentials, botocore
    req = AWSRequest(method="PUT", url=tenancy.nubod.url + "/v1/images/%s/file" % img["id"],
                     data=data, headers={"X-Amz-Content-SHA256": digest})
    botocore.auth.SigV4Auth(Credentials(key, secret), "nubo", "nubo-1").add_auth(req)
    p = req.prepare()
    r = requests.put(p.url, headers=dict(p.headers), data=data)
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "active"
    # a signed upload without the header cannot be checked: refused before the body
    img2 = new_image(tenancy.clients["member"], "signed2")
    r = signed(tenancy.nubod.url, key, secret, "PUT", "/v1/images/%s/file" % img2["id"])
    assert_error(r, 401, field="X-Amz-Content-SHA256")


def test_image_validation(tenancy):
    c = tenancy.clients["member"]
    assert_error(c.post("/v1/images", {}), 400, field="name")
    assert_error(c.post("/v1/images", {"name": "x", "visibility": "shared"}), 400,
                 field="visibility")
    new_image(c, "dup")
    assert_error(c.post("/v1/images", {"name": "dup"}), 409)
    assert_error(tenancy.clients["reader"].post("/v1/images", {"name": "r"}), 403)
