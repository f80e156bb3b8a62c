"""The nubo CLI against a real nubod: every command group, its exit codes
(0 ok, 1 an API error with status, code, message and request id on
stderr, 2 a usage error), -o json, --help everywhere, profiles kept in a
private file, and the CLI itself clean under the sanitizers when it is
built with them (its stderr is checked for their reports)."""
import hashlib
import json
import os
import re
import signal
import stat
import subprocess
import threading
import time
from pathlib import Path

import pytest
import requests

from conftest import NUBOD, SANITIZER_MARKERS
from identity_util import PASSWORD, Tenancy
from test_instances import fake_host, report, wait_for
from test_keypairs import ED25519, ED25519_FP

CLI = os.environ.get("NUBO_CLI", str(Path(NUBOD).parent / "nubo"))


class Cli:
    """Runs the CLI binary with HOME in a test directory and no NUBO_*
    variables from the caller's environment."""

    def __init__(self, home, url=None):
        self.home = Path(home)
        self.home.mkdir(parents=True, exist_ok=True)
        self.env = {k: v for k, v in os.environ.items()
                    if not k.startswith("NUBO_") and k != "XDG_CONFIG_HOME"}
        self.env.update(HOME=str(self.home), ASAN_OPTIONS="detect_leaks=1")
        if url:
            self.env["NUBO_URL"] = url

    def run(self, *args, code=0, input=None, env=None, timeout=30):
        e = dict(self.env, **(env or {}))
        p = subprocess.run([CLI] + [str(a) for a in args], input=input, env=e,
                           capture_output=True, text=True, timeout=timeout)
        check_clean(p.stderr)
        assert p.returncode == code, (args, p.returncode, p.stdout, p.stderr)
        return p

    def json(self, *args, **kw):
        return json.loads(self.run(*(args + ("-o", "json")), **kw).stdout)

    def login(self, url, user="admin", password=None, project=None, profile=None, code=0):
        args = ["login", "--url", url, "--username", user, "--password-stdin"]
        args += ["--project", project] if project else []
        args += ["--profile", profile] if profile else []
        return self.run(*args, input=password + "\n", code=code)


def check_clean(stderr):
    bad = [l for l in stderr.splitlines() if any(m in l for m in SANITIZER_MARKERS)]
    assert not bad, stderr


def api_error(p, status, code):
    """The CLI's one-line error: status, code, message, request id."""
    assert p.returncode == 1
    m = re.search(r"nubo: error (\d+) (\w+): (.+) \(request id (req-[\w.-]+)\)", p.stderr)
    assert m, p.stderr
    assert (int(m.group(1)), m.group(2)) == (status, code), p.stderr
    return m.group(3)


@pytest.fixture
def admin_cli(nubod, tmp_path):
    c = Cli(tmp_path / "home")
    c.login(nubod.url, password=nubod.admin_password())
    return c


def test_login_keeps_only_a_token_in_a_private_profile(nubod, tmp_path):
    c = Cli(tmp_path / "home")
    pw = nubod.admin_password()
    out = c.login(nubod.url, password=pw).stdout
    assert "admin" in out and pw not in out
    path = tmp_path / "home" / ".config" / "nubo" / "config"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    text = path.read_text()
    assert pw not in text and re.search(r"token = nubo_\S{43}", text)
    me = c.json("whoami")
    assert me["user"]["name"] == "admin" and me["project"] is None
    # a wrong password: the API's message, exit 1, the profile unchanged
    p = c.login(nubod.url, password="not the password", code=1)
    api_error(p, 401, "Unauthorized")
    assert path.read_text() == text
    # a second profile scoped to a project; --profile and NUBO_PROFILE pick it
    c.run("project", "create", "demo")
    c.run("member", "set", "demo", "admin", "admin")
    c.run("login", "--username", "admin", "--project", "demo", "--profile", "demo",
          "--password-stdin", input=pw + "\n")  # the default profile's URL
    assert c.json("whoami")["project"] is None  # the first profile stays the default
    assert c.json("--profile", "demo", "whoami")["project"]["name"] == "demo"
    assert c.json("whoami", env={"NUBO_PROFILE": "demo"})["project"]["name"] == "demo"
    profiles = {p["name"]: p for p in c.json("profile", "list")["items"]}
    assert profiles["demo"]["project"] == "demo" and profiles["default"]["current"]
    assert "token" not in json.dumps(profiles).replace("logged_in", "")
    c.run("profile", "use", "demo")
    assert c.json("whoami")["project"]["name"] == "demo"
    c.run("profile", "use", "nope", code=2)
    # environment variables override the profile
    api_error(c.run("whoami", env={"NUBO_TOKEN": "nubo_" + "x" * 43}, code=1), 401,
              "Unauthorized")
    p = c.run("whoami", env={"NUBO_URL": "http://127.0.0.1:9"}, code=1)
    assert "cannot reach http://127.0.0.1:9" in p.stderr
    # XDG_CONFIG_HOME is respected
    xdg = Cli(tmp_path / "home2")
    xdg.env["XDG_CONFIG_HOME"] = str(tmp_path / "xdg")
    xdg.login(nubod.url, password=pw)
    assert (tmp_path / "xdg" / "nubo" / "config").exists()
    assert not (tmp_path / "home2" / ".config").exists()
    # logout revokes the token and forgets it
    token = re.search(r"token = (nubo_\S+)", (tmp_path / "xdg" / "nubo" / "config")
                      .read_text()).group(1)
    xdg.run("logout")
    assert requests.get(nubod.url + "/v1/auth/whoami",
                        headers={"Authorization": "Bearer " + token}).status_code == 401
    assert "nubo_" not in (tmp_path / "xdg" / "nubo" / "config").read_text()
    xdg.run("whoami", code=1)


def test_usage_errors_exit_2_and_every_command_has_help(tmp_path):
    c = Cli(tmp_path / "home", url="http://127.0.0.1:9")  # never reached
    for args in ([], ["bogus"], ["zone"], ["zone", "frobnicate"], ["zone", "create"],
                 ["zone", "create", "a"], ["zone", "create", "a", "--jurisdiction"],
                 ["zone", "create", "a", "--jurisdiction", "FR", "--colour", "blue"],
                 ["zone", "create", "a", "b", "--jurisdiction", "FR"],
                 ["flavor", "create", "f", "--vcpus", "two", "--ram-mb", "1", "--disk-gb", "1"],
                 ["zone", "list", "-o", "xml"], ["login", "--username", "admin"],
                 ["user", "create", "bob"], ["instance", "console"]):
        p = c.run(*args, code=2, input="")
        assert p.stderr.strip(), args
    top = c.run("--help").stdout
    resources = re.findall(r"^  ([a-z-]+)  ", top, re.M)
    assert {"zone", "instance", "image", "keypair", "quota", "audit"} <= set(resources)
    n = 0
    for res in resources:
        text = c.run(res, "--help").stdout
        assert "usage: nubo " + res in text
        verbs = re.findall(r"^  ([a-z-]+(?: [a-z]+)?)  ", text.split("verbs:")[1], re.M) \
            if "verbs:" in text else []
        for verb in verbs:
            h = c.run(res, *verb.split(), "--help").stdout
            assert h.startswith("usage: nubo %s %s" % (res, verb)), h
            n += 1
    assert n > 50
    # bash completion asks the CLI itself
    assert "create" in c.run("__complete", "instance").stdout.split()
    assert "--wait" in c.run("__complete", "instance", "create").stdout.split()
    assert "create" in c.run("__complete", "host", "enroll-token").stdout.split()


def test_zones_flavors_and_errors(admin_cli, nubod):
    c = admin_cli
    z = c.json("zone", "create", "fr-par-1", "--jurisdiction", "fr", "--description", "Paris")
    assert (z["name"], z["jurisdiction"]) == ("fr-par-1", "FR")
    table = c.run("zone", "list").stdout.splitlines()
    assert table[0].split()[:3] == ["NAME", "JURISDICTION", "DESCRIPTION"]
    assert table[1].split()[:3] == ["fr-par-1", "FR", "Paris"]
    assert [x["name"] for x in c.json("zones", "list")["items"]] == ["fr-par-1"]
    msg = api_error(c.run("zone", "create", "fr-par-1", "--jurisdiction", "FR", code=1), 409,
                    "Conflict")
    assert "fr-par-1" in msg
    api_error(c.run("zone", "create", "x", "--jurisdiction", "XX", code=1), 400,
              "InvalidParameter")
    got = c.json("zone", "set", "fr-par-1", "--cpu-allocation-ratio", "2.5")
    assert got["cpu_allocation_ratio"] == 2.5
    assert c.json("zone", "set", z["id"], "--cpu-allocation-ratio", "default")[
        "cpu_allocation_ratio"] is None
    assert "Paris" in c.run("zone", "show", "fr-par-1").stdout
    for k in range(3):
        c.run("zone", "create", "z-%d" % k, "--jurisdiction", "DE")
    page = c.json("zone", "list", "--limit", "2")
    assert len(page["items"]) == 2 and page["next"]
    rest = c.json("zone", "list", "--limit", "2", "--cursor", page["next"])
    assert len(rest["items"]) == 2 and rest["next"] is None
    assert len(c.json("zone", "list", "--limit", "1", "--all")["items"]) == 4
    assert c.run("zone", "delete", "fr-par-1").stdout == ""
    api_error(c.run("zone", "show", "fr-par-1", code=1), 404, "NotFound")
    f = c.json("flavor", "create", "tiny", "--vcpus", "1", "--ram-mb", "256", "--disk-gb", "1")
    assert (f["vcpus"], f["ram_mb"], f["disk_gb"]) == (1, 256, 1)
    assert c.json("flavor", "show", "tiny")["id"] == f["id"]
    assert [x["name"] for x in c.json("flavor", "list")["items"]] == ["tiny"]
    c.run("flavor", "delete", "tiny")
    assert c.json("flavor", "list")["items"] == []
    assert c.json("version")["api"]


def test_projects_users_members_quotas_keys_tokens_and_audit(admin_cli, nubod, tmp_path):
    c = admin_cli
    p = c.json("project", "create", "acme", "--description", "ACME")
    assert c.json("project", "set", "acme", "--description", "Acme Inc")["description"] \
        == "Acme Inc"
    u = c.json("user", "create", "alice", "--password-stdin", "--email", "a@acme.example",
               input=PASSWORD + "\n")
    assert u["name"] == "alice" and "password" not in u
    assert PASSWORD not in nubod.log()
    m = c.json("member", "set", "acme", "alice", "member")
    assert (m["user_name"], m["role"]) == ("alice", "member")
    assert [(x["user_name"], x["role"]) for x in c.json("member", "list", "acme")["items"]] \
        == [("alice", "member")]
    assert c.json("quota", "set", "acme", "--instances", "7", "--vcpus", "-1")["quotas"][
        "instances"]["limit"] == 7
    q = c.json("quota", "show", "acme")["quotas"]
    assert (q["instances"]["limit"], q["vcpus"]["limit"]) == (7, -1)
    rows = c.run("quota", "show", "acme").stdout.splitlines()
    assert rows[0].split() == ["RESOURCE", "LIMIT", "USED"] and rows[1].split()[:2] == ["instances", "7"]
    # alice logs in to her project with her own profile
    alice = Cli(tmp_path / "alice")
    alice.login(nubod.url, user="alice", password=PASSWORD, project="acme")
    assert alice.json("whoami")["role"] == "member"
    api_error(alice.run("project", "create", "mine", code=1), 403, "Forbidden")
    k = alice.json("access-key", "create")
    assert k["secret_access_key"] and k["project_id"] == p["id"]
    assert [x["access_key_id"] for x in alice.json("access-key", "list")["items"]] == \
        [k["access_key_id"]]
    alice.run("access-key", "delete", k["access_key_id"])
    assert alice.json("access-key", "list")["items"] == []
    t = alice.json("token", "create", "ci", "--expires-in", "3600")
    assert t["token"].startswith("nubo_")
    assert "ci" in [x["name"] for x in alice.json("token", "list")["items"]]
    alice.run("token", "delete", t["id"])
    # her own password: the current one must come with the new one
    api_error(alice.run("user", "set", "alice", "--password-stdin",
                        input="Another-pass-123\n", code=1), 400, "InvalidParameter")
    api_error(alice.run("user", "set", "alice", "--current-password-stdin", "--password-stdin",
                        input="wrong-password-1\nAnother-pass-123\n", code=1), 400,
              "InvalidParameter")
    alice.run("user", "set", "alice", "--current-password-stdin", "--password-stdin",
              input=PASSWORD + "\nAnother-pass-123\n")
    assert "Another-pass-123" not in nubod.log()
    Cli(tmp_path / "alice2").login(nubod.url, user="alice", password="Another-pass-123")
    c.run("user", "set", "alice", "--disable")
    assert c.json("user", "show", "alice")["disabled"] is True
    alice.run("whoami", code=1)  # disabling revoked her tokens
    ev = c.json("audit", "list", "--action", "member.set")["items"]
    assert ev and ev[0]["resource"]["type"] == "member"
    assert "member.set" in c.run("audit", "list", "--user", "admin").stdout
    c.run("member", "remove", "acme", "alice")
    assert c.json("member", "list", "acme")["items"] == []
    c.run("user", "delete", "alice")
    c.run("project", "delete", "acme")
    assert "acme" not in [x["name"] for x in c.json("project", "list")["items"]]


def test_image_upload_streams_a_file_and_download_matches(admin_cli, tmp_path):
    c = admin_cli
    src = tmp_path / "disk.raw"
    src.write_bytes(os.urandom(4096) + b"\0" * 200000)
    img = c.json("image", "create", "guest", "--public", "--file", src)
    assert (img["state"], img["visibility"], img["disk_format"]) == ("active", "public", "raw")
    out = tmp_path / "back.qcow2"
    c.run("image", "download", "guest", out)
    assert hashlib.sha256(out.read_bytes()).hexdigest() == img["sha256"]
    assert c.json("image", "show", img["id"])["sha256"] == img["sha256"]
    # a second image: create, then upload with a wrong checksum (refused), then right
    c.run("image", "create", "other")
    bad = c.run("image", "upload", "other", src, "--sha256", "0" * 64, code=1)
    assert "request id" in bad.stderr
    assert c.json("image", "show", "other")["state"] == "queued"
    good = hashlib.sha256(src.read_bytes()).hexdigest()
    assert c.json("image", "upload", "other", src, "--sha256", good)["state"] == "active"
    assert "guest" in c.run("image", "list").stdout
    c.run("image", "upload", "other", tmp_path / "missing", code=2)
    c.run("image", "delete", "other")
    api_error(c.run("image", "show", "other", code=1), 404, "NotFound")


def test_keypairs_import_or_generate_to_a_private_file(admin_cli, tmp_path):
    c = admin_cli
    pub = tmp_path / "id.pub"
    pub.write_text(ED25519 + "\n")
    k = c.json("keypair", "create", "laptop", "--public-key-file", pub)
    assert k["fingerprint"] == ED25519_FP and "private_key" not in k
    priv = tmp_path / "gen.key"
    k2 = c.json("keypair", "create", "gen", "--private-key-file", priv)
    assert "private_key" not in k2
    assert stat.S_IMODE(priv.stat().st_mode) == 0o600
    assert priv.read_text().startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
    got = subprocess.run(["ssh-keygen", "-y", "-f", priv], capture_output=True, text=True)
    assert got.stdout.split()[:2] == k2["public_key"].split()[:2]
    c.run("keypair", "create", "again", "--private-key-file", priv, code=2)  # no overwrite
    printed = c.run("keypair", "create", "printed").stdout
    assert printed.startswith("-----BEGIN OPENSSH PRIVATE KEY-----")
    assert [x["name"] for x in c.json("keypair", "list")["items"]] == ["gen", "laptop",
                                                                       "printed"]
    c.run("keypair", "delete", "printed")
    api_error(c.run("keypair", "show", "printed", code=1), 404, "NotFound")


@pytest.fixture
def cloud(nubod, tmp_path):
    """A member of project alpha with a CLI profile, a flavor and an image."""
    t = Tenancy(nubod)
    t.admin.post("/v1/flavors", {"name": "small", "vcpus": 2, "ram_mb": 2048, "disk_gb": 10})
    t.admin.post("/v1/flavors", {"name": "medium", "vcpus": 4, "ram_mb": 4096, "disk_gb": 20})
    t.admin.post("/v1/flavors", {"name": "huge", "vcpus": 64, "ram_mb": 1048576, "disk_gb": 10})
    img = t.admin.post("/v1/images", {"name": "guest", "visibility": "public"}).json()
    t.admin.request("PUT", "/v1/images/%s/file" % img["id"], raw=b"\0" * 65536)
    t.cli = Cli(tmp_path / "member")
    t.cli.login(nubod.url, user="u-member", password=PASSWORD, project="alpha")
    return t


def test_storage_pools(admin_cli, cloud):
    a, m = admin_cli, cloud.cli
    p = a.json("storage-pool", "create", "nfs1", "--description", "the share")
    assert (p["name"], p["driver"], p["description"]) == ("nfs1", "dir", "the share")
    assert m.run("storage-pool", "list").stdout.splitlines()[1].split()[:2] == ["nfs1", "dir"]
    assert m.json("storage-pool", "show", "nfs1")["id"] == p["id"]
    api_error(m.run("storage-pool", "create", "mine", code=1), 403, "Forbidden")
    api_error(a.run("storage-pool", "create", "x", "--driver", "ceph", code=1), 400,
              "InvalidParameter")
    v = m.json("volume", "create", "pooled", "--size-gb", "1", "--pool", "nfs1")
    assert v["pool"] == "nfs1"
    api_error(a.run("storage-pool", "delete", "nfs1", code=1), 409, "Conflict")
    m.run("volume", "delete", "pooled")
    a.run("storage-pool", "delete", "nfs1")
    api_error(m.run("storage-pool", "show", "nfs1", code=1), 404, "NotFound")


def test_hosts_and_enroll_tokens(admin_cli, nubod):
    c = admin_cli
    c.run("zone", "create", "z1", "--jurisdiction", "NO")
    tok = c.json("host", "enroll-token", "create", "--zone", "z1", "--expires-in", "600")
    r = requests.post(nubod.url + "/v1/hosts/enroll",
                      json={"token": tok["token"], "name": "hv1", "cpus": 4, "ram_mb": 8192,
                            "disk_gb": 100})
    assert r.status_code == 201, r.text
    hosts = c.json("host", "list")["items"]
    assert [(h["name"], h["zone_id"]) for h in hosts] == [("hv1", tok["zone_id"])]
    assert c.run("host", "list").stdout.split("\n")[1].split()[:3] == ["hv1", "up", "true"]
    assert c.json("host", "disable", "hv1")["enabled"] is False
    assert c.json("host", "show", "hv1")["enabled"] is False
    assert c.json("host", "enable", "hv1")["enabled"] is True
    c.run("host", "delete", "hv1")
    assert c.json("host", "list")["items"] == []


def test_instance_create_wait_console_and_actions(cloud):
    n, c = cloud.nubod, cloud.cli
    h = fake_host(n, cloud.admin, "h1", cpus=4, ram_mb=16384)
    admin = cloud.admin

    def report_running():  # the host's agent: running once placed
        iid = wait_for(lambda: [i["id"] for i in admin.get("/v1/instances").json()["items"]
                                if i["name"] == "vm" and i["host"]], what="placement")[0]
        report(n, h, iid, "running")

    th = threading.Thread(target=report_running)
    th.start()
    p = c.run("instance", "create", "vm", "--image", "guest", "--flavor", "small", "--wait",
              "-o", "json")
    th.join()
    vm = json.loads(p.stdout)
    assert vm["state"] == "running" and vm["host"] == h["id"]
    assert "vm: running" in p.stderr
    # the console: whole, tail, follow
    url = "%s/v1/hosts/%s/instances/%s/console" % (n.url, h["id"], vm["id"])
    auth = {"Authorization": "Bearer " + h["credential"]}
    assert requests.put(url + "?offset=0", data=b"boot ok\n", headers=auth).status_code == 204
    assert c.run("instance", "console", "vm").stdout == "boot ok\n"
    assert c.run("instance", "console", "vm", "--tail", "3").stdout == "ok\n"
    f = subprocess.Popen([CLI, "instance", "console", "vm", "--follow"], env=c.env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(0.8)
    assert requests.put(url + "?offset=8", data=b"login: ", headers=auth).status_code == 204
    time.sleep(1.5)
    f.send_signal(signal.SIGINT)
    out, err = f.communicate(timeout=10)
    check_clean(err)
    assert (f.returncode, out) == (0, "boot ok\nlogin: "), err
    # actions
    assert c.json("instance", "stop", "vm")["state"] == "stopping"
    report(n, h, vm["id"], "stopped")
    assert c.json("instance", "resize", "vm", "--flavor", "medium")["vcpus"] == 4
    report(n, h, vm["id"], "stopped")
    api_error(c.run("instance", "reboot", "vm", code=1), 409, "Conflict")
    assert c.json("instance", "start", "vm")["state"] == "starting"
    report(n, h, vm["id"], "running")
    assert c.json("instance", "reboot", "vm")["state"] == "rebooting"
    table = c.run("instance", "list").stdout.splitlines()
    assert table[0].split()[:2] == ["NAME", "STATE"] and table[1].startswith("vm ")
    d = c.json("instance", "delete", "vm")
    assert d["job_id"]
    api_error(c.run("instance", "show", "nope", code=1), 404,
              "NotFound")


def test_instance_wait_reports_why_it_failed(cloud):
    fake_host(cloud.nubod, cloud.admin, "h1")
    cloud.admin.patch("/v1/projects/alpha/quotas", {"vcpus": -1, "ram_mb": -1})
    c = cloud.cli
    t0 = time.monotonic()
    p = c.run("instance", "create", "big", "--image", "guest", "--flavor", "huge", "--wait",
              code=1)
    assert time.monotonic() - t0 < 15
    assert "no host has room" in p.stderr and "big: error" in p.stderr
    assert c.json("instance", "show", "big")["state"] == "error"
    c.run("instance", "delete", "big", "--wait")
    c.run("instance", "show", "big", code=1)


def test_server_groups(cloud):
    c = cloud.cli
    for k in range(2):
        fake_host(cloud.nubod, cloud.admin, "h%d" % k)
    g = c.json("server-group", "create", "web", "--policy", "anti-affinity")
    assert g["policy"] == "anti-affinity"
    assert c.json("server-group", "show", "web")["id"] == g["id"]
    assert "anti-affinity" in c.run("server-group", "list").stdout
    api_error(c.run("server-group", "create", "x", "--policy", "sideways", code=1), 400,
              "InvalidParameter")
    ids = [c.json("instance", "create", "w%d" % k, "--image", "guest", "--flavor", "small",
                  "--group", "web")["id"] for k in range(2)]
    hosts = wait_for(lambda: (lambda hs: all(hs) and hs)(
        [c.json("instance", "show", i)["host"] for i in ids]), what="placement")
    assert hosts[0] != hosts[1]
    api_error(c.run("server-group", "delete", "web", code=1), 409, "Conflict")
    for i in ids:
        c.run("instance", "delete", i)


def test_volumes(cloud):
    n, c = cloud.nubod, cloud.cli
    h = fake_host(n, cloud.admin, "h1")
    vm = c.json("instance", "create", "vm", "--image", "guest", "--flavor", "small")
    wait_for(lambda: c.json("instance", "show", "vm")["host"], what="placement")
    report(n, h, vm["id"], "running")
    v = c.json("volume", "create", "data", "--size-gb", "2")
    assert (v["state"], v["size_gb"]) == ("available", 2)
    assert c.run("volume", "list").stdout.splitlines()[1].split()[:3] == ["data", "2",
                                                                        "available"]
    api_error(c.run("volume", "create", "bad", "--size-gb", "0", code=1), 400,
              "InvalidParameter")
    c.run("volume", "create", "x", code=2)  # --size-gb missing: usage

    def host_reports(state):  # the host's agent: the step done once asked
        def run():
            wait_for(lambda: c.json("volume", "show", "data")["state"] != "available"
                     or state == "available", what="the request")
            r = requests.post("%s/v1/hosts/%s/report" % (n.url, h["id"]),
                              json={"volumes": [{"id": v["id"], "state": state}]},
                              headers={"Authorization": "Bearer " + h["credential"]})
            assert r.status_code == 204, r.text
        th = threading.Thread(target=run)
        th.start()
        return th

    th = host_reports("in-use")
    p = c.run("volume", "attach", "data", "vm", "--wait", "-o", "json")
    th.join()
    got = json.loads(p.stdout)
    assert (got["state"], got["device"], got["instance_id"]) == ("in-use", "vdb", vm["id"])
    assert "data: in-use" in p.stderr
    api_error(c.run("volume", "delete", "data", code=1), 409, "Conflict")
    assert c.json("volume", "detach", "data", "--instance", "vm")["state"] == "detaching"
    requests.post("%s/v1/hosts/%s/report" % (n.url, h["id"]),
                  json={"volumes": [{"id": v["id"], "state": "available"}]},
                  headers={"Authorization": "Bearer " + h["credential"]})
    assert c.json("volume", "extend", "data", "--size-gb", "3")["state"] == "extending"
    c.run("volume", "show", "nope", code=1)


def test_networks_ports_security_groups_and_floating_ips(cloud, admin_cli):
    c = cloud.cli
    ext = admin_cli.json("network", "create", "public", "--cidr", "203.0.113.0/24",
                         "--external")
    assert ext["external"] and ext["project_id"] is None
    n = c.json("network", "create", "net", "--cidr", "10.0.0.0/24", "--dns", "10.0.0.1,9.9.9.9",
               "--pool-start", "10.0.0.10", "--pool-end", "10.0.0.20")
    assert (n["cidr"], n["gateway"], n["dns"]) == ("10.0.0.0/24", "10.0.0.1",
                                                  ["10.0.0.1", "9.9.9.9"])
    assert n["subnets"][0]["allocation_pool"] == {"start": "10.0.0.10", "end": "10.0.0.20"}
    iso = c.json("network", "create", "iso", "--cidr", "10.9.0.0/29", "--no-gateway")
    assert iso["gateway"] is None
    lines = c.run("network", "list").stdout.splitlines()
    assert lines[0].split()[:4] == ["NAME", "CIDR", "GATEWAY", "EXTERNAL"]
    assert [l.split()[0] for l in lines[1:]] == ["iso", "net", "public"]
    api_error(c.run("network", "create", "bad", "--cidr", "10.0.0.1/24", code=1), 400,
              "InvalidParameter")
    c.run("network", "create", "bad", code=2)  # --cidr missing: usage
    s = c.json("subnet", "create", "net", "more", "--cidr", "10.0.1.0/24")
    assert s["cidr"] == "10.0.1.0/24"
    assert "10.0.1.0/24" in c.run("subnet", "list", "net").stdout
    c.run("subnet", "delete", "net", "more")
    # security groups and rules
    g = c.json("security-group", "create", "ssh", "--description", "office")
    r = c.json("security-group", "rule", "add", "ssh", "--direction", "ingress", "--protocol",
               "tcp", "--port-min", "22", "--cidr", "192.0.2.0/24")
    assert (r["port_min"], r["port_max"], r["cidr"]) == (22, 22, "192.0.2.0/24")
    api_error(c.run("security-group", "rule", "add", "ssh", "--direction", "sideways",
                    code=1), 400, "InvalidParameter")
    assert [x["id"] for x in c.json("security-group", "show", "ssh")["rules"]] == [r["id"]]
    assert "default" in c.run("security-group", "list").stdout
    # ports and instances on the network
    p = c.json("port", "create", "--network", "net", "--name", "fixed", "--ip", "10.0.0.15",
               "--security-group", "ssh,default")
    assert p["fixed_ips"][0]["ip"] == "10.0.0.15" and len(p["security_groups"]) == 2
    assert c.run("port", "list", "--network", "net").stdout.splitlines()[1].split()[:2] == [
        "fixed", "10.0.0.15"]
    vm = c.json("instance", "create", "vm", "--image", "guest", "--flavor", "small",
                "--network", "net", "--security-group", "ssh")
    assert vm["addresses"][0]["ip"] == "10.0.0.10"
    assert "10.0.0.10" in c.run("instance", "list").stdout
    vm2 = c.json("instance", "create", "vm2", "--image", "guest", "--flavor", "small",
                 "--port", "fixed")
    assert vm2["addresses"][0]["port"] == p["id"]
    api_error(c.run("security-group", "delete", "ssh", code=1), 409, "Conflict")
    assert c.json("port", "set", "fixed", "--security-group", "default")[
        "security_groups"] == [c.json("security-group", "show", "default")["id"]]
    # floating IPs
    f = c.json("floating-ip", "create")
    assert f["ip"] == "203.0.113.2"
    got = c.json("floating-ip", "associate", f["ip"], "--instance", "vm")
    assert got["fixed_ip"] == "10.0.0.10" and got["instance_id"] == vm["id"]
    assert "10.0.0.10" in c.run("floating-ip", "list").stdout
    api_error(c.run("floating-ip", "associate", f["id"], "--port", "fixed", code=1), 409,
              "Conflict")
    assert c.json("floating-ip", "disassociate", f["id"])["port_id"] is None
    c.run("floating-ip", "delete", f["id"])
    # cleanup: the instances' ports go or are freed, then the rest can go
    for i in ("vm", "vm2"):
        c.run("instance", "delete", i)
    c.run("port", "delete", "fixed")
    c.run("security-group", "rule", "delete", "ssh", r["id"])
    c.run("security-group", "delete", "ssh")
    for name in ("net", "iso"):
        c.run("network", "delete", name)
    assert c.json("port", "list")["items"] == []
    admin_cli.run("network", "delete", ext["id"])
