"""Keypairs: SSH public keys a user imports, or that nubod makes (the
private key is answered once), checked strictly, kept per user, and
named by instances."""
import subprocess

import pytest

from conftest import assert_error
from identity_util import Tenancy
from test_instances import fake_host

# made with ssh-keygen; public keys are not secrets
ED25519 = ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDJR1MpTEXTbhrMsQyhOfRsOYXKznuKUW4G2CUxOV912"
           " c-ked25519")
ED25519_FP = "SHA256:e2aEpi60ZFhbbr5BU8h9gY080sAkhRFfq4FYFfRWN4g"
RSA1024 = ("ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQDOB74k0ugmNOAEsLcsYEfPg8HzBSIETxhDEaEpEDuu4oOi"
           "T0nu/zZQbeMBRAPGwDLZEiQG6E1dyctUU4IYjamKQeGlJwC3S0YaIJB60misVukRjoprAojv+Ci0/CdJMOY4b"
           "P+y2BI3U4vf7/zzApVl2Pn8GWsL5WSvvFvvS0ebQw== c-krsab1024")


@pytest.fixture
def t(nubod):
    return Tenancy(nubod)


def test_import_list_get_delete(t):
    c = t.clients["member"]
    r = c.post("/v1/keypairs", {"name": "laptop", "public_key": "  " + ED25519 + "\n"})
    assert r.status_code == 201, r.text
    k = r.json()
    assert k["public_key"] == ED25519 and k["fingerprint"] == ED25519_FP
    assert k["type"] == "ssh-ed25519" and "private_key" not in k
    assert r.headers["Location"].endswith("/v1/keypairs/" + k["id"])
    assert c.get("/v1/keypairs/laptop").json() == k
    assert c.get("/v1/keypairs/" + k["id"]).json() == k
    assert [x["name"] for x in c.get("/v1/keypairs").json()["items"]] == ["laptop"]
    # another user neither sees nor reaches it; the name is free for them
    o = t.clients["other"]
    assert o.get("/v1/keypairs").json()["items"] == []
    assert_error(o.get("/v1/keypairs/laptop"), 404)
    assert_error(o.delete("/v1/keypairs/" + k["id"]), 404)
    assert o.post("/v1/keypairs", {"name": "laptop", "public_key": ED25519}).status_code == 201
    assert_error(c.post("/v1/keypairs", {"name": "laptop", "public_key": ED25519}), 409)
    assert c.delete("/v1/keypairs/laptop").status_code == 204
    assert_error(c.get("/v1/keypairs/laptop"), 404)
    assert_error(c.delete("/v1/keypairs/laptop"), 404)


def test_a_generated_key_is_answered_once(t, tmp_path):
    c = t.clients["member"]
    r = c.post("/v1/keypairs", {"name": "made"})
    assert r.status_code == 201, r.text
    k = r.json()
    priv = k.pop("private_key")
    assert priv.startswith("-----BEGIN OPENSSH PRIVATE KEY-----\n")
    assert k["type"] == "ssh-ed25519" and k["public_key"].endswith(" made")
    # ssh itself takes the private key, and finds the public key nubod keeps
    f = tmp_path / "id"
    f.write_text(priv)
    f.chmod(0o600)
    out = subprocess.run(["ssh-keygen", "-y", "-f", str(f)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[:2] == k["public_key"].split()[:2]
    fp = subprocess.run(["ssh-keygen", "-l", "-f", str(f)], capture_output=True, text=True)
    assert fp.stdout.split()[1] == k["fingerprint"]
    # never shown again, nor stored
    assert c.get("/v1/keypairs/made").json() == k
    assert priv.split("\n")[1] not in t.nubod.log()
    db = (t.nubod.data_dir / "nubo.db").read_bytes()
    assert priv.split("\n")[1].encode() not in db


@pytest.mark.parametrize("key,why", [
    ("", "OpenSSH public key"),
    ("ssh-dss AAAAB3NzaC1kc3MAAACBAP", "OpenSSH public key"),
    ("ssh-ed25519 AAAA", "not"),
    ("ssh-ed25519 !!!!", "base64"),
    (RSA1024, "2048 to 16384 bits"),
    (ED25519 + "\n" + ED25519, "one line"),
    ("-----BEGIN OPENSSH PRIVATE KEY-----", "OpenSSH public key"),
    ("x" * 20000, "public_key"),
])
def test_bad_keys_are_refused(t, key, why):
    c = t.clients["member"]
    r = c.post("/v1/keypairs", {"name": "bad", "public_key": key})
    assert_error(r, 400, "InvalidParameter", "public_key")
    assert why in r.json()["error"]["message"]
    assert c.get("/v1/keypairs").json()["items"] == []


def test_names_and_input(t):
    c = t.clients["member"]
    for bad in ("", "a b", "x" * 64, "é", "01234567-89ab-4cde-8f01-23456789abcd"):
        assert_error(c.post("/v1/keypairs", {"name": bad, "public_key": ED25519}), 400,
                     field="name")
    assert_error(c.post("/v1/keypairs", {"public_key": ED25519}), 400, field="name")
    assert_error(c.post("/v1/keypairs", {"name": "k", "public_key": 5}), 400,
                 field="public_key")
    assert_error(c.post("/v1/keypairs", {"name": "k", "extra": 1}), 400)
    assert c.post("/v1/keypairs", {"name": "me@laptop_2.old-1", "public_key": ED25519}
                  ).status_code == 201
    assert_error(t.nubod.anon().post("/v1/keypairs", {"name": "k"}), 401)


def test_a_user_keeps_at_most_100(t):
    c = t.clients["reader"]
    for k in range(100):
        assert c.post("/v1/keypairs", {"name": "k%d" % k, "public_key": ED25519}
                      ).status_code == 201
    assert_error(c.post("/v1/keypairs", {"name": "k100", "public_key": ED25519}), 403,
                 "QuotaExceeded")
    assert len(c.get("/v1/keypairs").json()["items"]) == 100


def test_instances_name_their_keypair(t):
    admin = t.admin
    admin.post("/v1/flavors", {"name": "small", "vcpus": 1, "ram_mb": 64, "disk_gb": 1})
    img = admin.post("/v1/images", {"name": "guest", "visibility": "public"}).json()
    admin.request("PUT", "/v1/images/%s/file" % img["id"], raw=b"\0" * 4096)
    # a host, so that "vm" is placed and keeps its quota (without one the
    # scheduler fails it and gives its quota back, racing the check below)
    fake_host(t.nubod, admin, "h1")
    c = t.clients["member"]
    c.post("/v1/keypairs", {"name": "laptop", "public_key": ED25519})
    t.clients["other"].post("/v1/keypairs", {"name": "theirs", "public_key": ED25519})
    i = c.post("/v1/instances", {"name": "vm", "image": "guest", "flavor": "small",
                                 "keypair": "laptop"})
    assert i.status_code == 202, i.text
    assert i.json()["key_name"] == "laptop"
    r = c.post("/v1/instances", {"name": "vm2", "image": "guest", "flavor": "small",
                                 "keypair": "theirs"})
    assert_error(r, 400, field="keypair")
    q = c.get("/v1/projects/alpha/quotas").json()["quotas"]
    assert q["instances"]["used"] == 1  # the refused create charged nothing
    # the instance keeps its key when the keypair goes
    assert c.delete("/v1/keypairs/laptop").status_code == 204
    assert c.get("/v1/instances/vm").json()["key_name"] == "laptop"
    n = c.post("/v1/instances", {"name": "vm3", "image": "guest", "flavor": "small"}).json()
    assert n["key_name"] is None
