"""Harness for black-box tests against a real nubod.

The `nubod` fixture starts the built daemon (NUBOD, default build/nubod) on
127.0.0.1 with port 0 and a fresh data dir, reads the bound URL from its
"nubod ready" log line, waits for /v1/healthz, and stops it with SIGTERM
afterwards. It fails the test when nubod does not exit 0 or its log holds a
sanitizer report, and prints the log when a test fails. `client` is a small
HTTP client bound to that nubod. Later capabilities add their fixtures here.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
NUBOD = os.environ.get("NUBOD", str(ROOT / "build" / "nubod"))
# the agent of the same build as nubod
AGENT = os.environ.get("NUBO_AGENT", str(Path(NUBOD).parent / "nubo-agent"))
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                     "SUMMARY: UndefinedBehaviorSanitizer")
READY = re.compile(r'msg="nubod ready" url=(\S+)')
# a request line of a mutating route: every POST/PUT/PATCH/DELETE route is one,
# except what agents send about their own host (heartbeats, reports, consoles:
# observations, not changes anyone asked for)
MUTATION = re.compile(r"msg=request request_id=(\S+) method=(?:POST|PUT|PATCH|DELETE) "
                      r"route=(?!unmatched)(?!/v1/hosts/\{id\}/)\S+")


class Nubod:
    """One nubod process with its own data dir and log file."""

    def __init__(self, data_dir, log_path, extra_args=()):
        self.data_dir = Path(data_dir)
        self.log_path = Path(log_path)
        self.extra_args = list(extra_args)
        self.proc = None
        self.url = None
        # the "ready" line goes to --log-file when one is given
        self.ready_path = self.log_path
        if "--log-file" in self.extra_args:
            self.ready_path = Path(self.extra_args[self.extra_args.index("--log-file") + 1])

    def start(self, listen="127.0.0.1:0", wait=True, timeout=30):
        self.data_dir.mkdir(parents=True, exist_ok=True)
        args = [NUBOD, "--listen", listen, "--data-dir", str(self.data_dir)] + self.extra_args
        self._log = open(self.log_path, "ab")
        self._log_start = self.ready_path.stat().st_size if self.ready_path.exists() else 0
        self.proc = subprocess.Popen(args, stdout=self._log, stderr=subprocess.STDOUT)
        if wait:
            self.wait_ready(timeout)
        return self

    def log(self):
        return self.log_path.read_text(errors="replace")

    def admin_password(self):
        return (self.data_dir / "admin.password").read_text().strip()

    def login(self, username="admin", password=None, project=None):
        """Log in and return the token (admin with the bootstrap password by default)."""
        body = {"username": username,
                "password": password if password is not None else self.admin_password()}
        if project:
            body["project"] = project
        r = requests.post(self.url + "/v1/auth/login", json=body, timeout=30)
        assert r.status_code == 200, r.text
        return r.json()["token"]

    def client(self, token=None, **login):
        """A Client with a bearer token: the given one, or a fresh login."""
        return Client(self.url, token if token is not None else self.login(**login))

    def anon(self):
        return Client(self.url)

    def wait_ready(self, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("nubod exited with %s:\n%s" % (self.proc.returncode, self.log()))
            if not self.ready_path.exists():
                time.sleep(0.02)
                continue
            with open(self.ready_path, "rb") as f:
                f.seek(self._log_start)
                m = READY.search(f.read().decode(errors="replace"))
            if m:
                self.url = m.group(1)
                try:
                    if requests.get(self.url + "/v1/healthz", timeout=2).status_code == 200:
                        return
                except requests.ConnectionError:
                    pass
            time.sleep(0.02)
        raise RuntimeError("nubod not ready after %ss:\n%s" % (timeout, self.log()))

    def stop(self, sig=signal.SIGTERM, timeout=15):
        """Signal nubod and wait; returns its exit code."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        finally:
            self._log.close()

    def kill9(self):
        self.proc.kill()
        self.proc.wait()
        self._log.close()

    def restart(self, timeout=30):
        """Start again on the same data dir and the same port, so that
        agents and clients holding the URL reach it again."""
        port = self.url.rsplit(":", 1)[1]
        self.start(listen="127.0.0.1:" + port, timeout=timeout)
        return self

    def unaudited_mutations(self):
        """Request ids of mutating requests in the log with no audit event."""
        import sqlite3
        text = self.log()
        if self.ready_path != self.log_path and self.ready_path.exists():
            text += self.ready_path.read_text(errors="replace")
        ids = MUTATION.findall(text)
        db_path = self.data_dir / "nubo.db"
        if not ids or not db_path.exists():
            return []
        db = sqlite3.connect(db_path)
        try:
            have = {r[0] for r in db.execute("SELECT request_id FROM audit_events")}
        except sqlite3.OperationalError:
            have = set()
        db.close()
        return [i for i in ids if i not in have]

    def sanitizer_reports(self):
        return [l for l in self.log().splitlines() if any(m in l for m in SANITIZER_MARKERS)]


class Client:
    """Tiny JSON client: c.get("/v1/zones") -> requests.Response."""

    def __init__(self, base, token=None):
        self.base = base
        self.token = token
        self.s = requests.Session()

    def request(self, method, path, body=None, raw=None, headers=None, **kw):
        h = dict(headers or {})
        if self.token:
            h.setdefault("Authorization", "Bearer " + self.token)
        data = raw
        if body is not None:
            data = json.dumps(body)
            h.setdefault("Content-Type", "application/json")
        return self.s.request(method, self.base + path, data=data, headers=h, timeout=30, **kw)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body, **kw)

    def patch(self, path, body=None, **kw):
        return self.request("PATCH", path, body, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


@pytest.fixture
def make_nubod(tmp_path, request):
    """Factory: make_nubod(name="n", extra_args=()) -> a started Nubod.
    Every nubod it made is stopped at teardown and checked for a clean exit."""
    made = []

    def make(name="nubod", extra_args=(), start=True, data_dir=None):
        # cheap password hashing keeps the suite fast; production uses the defaults;
        # the web console's files come from the source tree
        args = ["--argon2-memory", "1024", "--argon2-passes", "1",
                "--web-dir", str(ROOT / "web")] + list(extra_args)
        n = Nubod(data_dir or tmp_path / name / "data", tmp_path / (name + ".log"), args)
        made.append(n)
        return n.start() if start else n

    yield make
    problems = []
    for n in made:
        if n.proc is None:
            continue
        code = n.stop()
        if code not in (0, -9) and not getattr(n, "expect_failure", False):
            problems.append("%s exited with %s" % (n.log_path.name, code))
        problems += n.sanitizer_reports()
        missing = n.unaudited_mutations()
        if missing:
            problems.append("%s: %d mutating requests without an audit event: %s"
                            % (n.log_path.name, len(missing), missing[:5]))
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    if failed or problems:
        for n in made:
            print("\n===== %s =====\n%s" % (n.log_path, n.log()[-20000:]))
    assert not problems, problems


# Agents run in a mount namespace of their own whose /dev/kvm is /dev/null.
# KVM cannot run guests on these machines anyway (the agent's probe finds
# out and falls back to TCG), but libvirt 9.0 probes QEMU as root, finds
# KVM, then finds /dev/kvm unusable for the user QEMU runs as, and so
# throws its capability cache away and probes QEMU again (tens of seconds)
# for every domain it defines. With no KVM in sight the cache holds.
# unshare and sh exec in place, so the agent keeps the pid we signal.
NO_KVM = (["unshare", "--mount", "--propagation", "private", "sh", "-c",
           'mount --bind /dev/null /dev/kvm 2>/dev/null; exec "$@"', "nubo-agent"]
          if os.path.exists("/dev/kvm") and os.geteuid() == 0 else [])


class Agent:
    """One nubo-agent process with its own state dir and log file."""

    def __init__(self, nubod, state_dir, log_path, args):
        self.state_dir, self.log_path = Path(state_dir), Path(log_path)
        self.args = [AGENT, "--server", nubod.url, "--state-dir", str(state_dir)] + list(args)
        self.proc = None

    def start(self):
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(NO_KVM + self.args, stdout=self._log,
                                     stderr=subprocess.STDOUT)
        return self

    def stop(self, timeout=90):
        # an agent answers SIGTERM between passes; its first pass may probe QEMU
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        finally:
            self._log.close()

    def kill9(self):
        """kill -9 the agent (its QEMU processes live on)."""
        self.proc.kill()
        self.proc.wait()
        self._log.close()

    def log(self):
        return self.log_path.read_text(errors="replace")


@pytest.fixture
def make_agent(tmp_path, request):
    """Factory: make_agent(nubod, name, *args) -> a started Agent with an
    embedded libvirt QEMU driver of its own. Each is stopped at teardown and
    must exit 0 (or have been expected to fail); its guests are ended.

    QEMU runs as libvirt-qemu and must reach the disks (every parent
    traversable), and its monitor sockets live under the driver's root,
    whose path must stay short (UNIX sockets: 108 bytes): so each agent
    lives in a short directory of its own under /tmp."""
    made, tops = [], []

    def make(nubod, name, *args, start=True):
        top = tempfile.mkdtemp(prefix="nv-", dir="/tmp")
        os.chmod(top, 0o711)
        tops.append(top)
        a = Agent(nubod, Path(top) / "state", tmp_path / ("agent-%s.log" % name),
                  ["--name", name, "--libvirt-uri", "qemu:///embed?root=%s/lv" % top]
                  + list(args))
        a.top = top
        made.append(a)
        return a.start() if start else a

    yield make
    problems = []
    for a in made:
        code = a.stop()
        # QEMU of an embedded libvirt outlives its agent: end this agent's guests
        subprocess.run(["pkill", "-9", "-f", "qemu-system.*%s" % a.top], capture_output=True)
        if code not in (0, None) and not getattr(a, "expect_failure", False):
            problems.append("agent %s exited with %s" % (a.log_path.name, code))
        problems += [l for l in a.log().splitlines() if any(m in l for m in SANITIZER_MARKERS)]
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    if failed or problems:
        for a in made:
            print("\n===== %s =====\n%s" % (a.log_path, a.log()[-10000:]))
    for top in tops:
        shutil.rmtree(top, ignore_errors=True)
    assert not problems, problems


@pytest.fixture(scope="session")
def guest_image(tmp_path_factory):
    """The test guest (scripts/build-guest-image), built once per session."""
    out = tmp_path_factory.mktemp("guest") / "guest.qcow2"
    subprocess.run([str(ROOT / "scripts" / "build-guest-image"), str(out)], check=True,
                   capture_output=True, timeout=600)
    return out


@pytest.fixture
def nubod(make_nubod):
    return make_nubod()


@pytest.fixture
def client(nubod):
    """A client logged in as the bootstrap system administrator."""
    return nubod.client()


@pytest.fixture
def anon(nubod):
    """A client with no credentials."""
    return nubod.anon()


def assert_error(resp, status, code=None, field=None):
    """Check that resp is a JSON API error of the given shape."""
    assert resp.status_code == status, resp.text
    assert resp.headers["Content-Type"].startswith("application/json")
    err = resp.json()["error"]
    assert err["message"]
    assert err["request_id"] == resp.headers["X-Request-Id"]
    if code is not None:
        assert err["code"] == code, err
    if field is not None:
        assert err.get("field") == field, err
    return err



@pytest.fixture
def compute(nubod, make_agent, guest_image):
    """A cloud with real VMs on two hosts: see compute_util.compute_cloud.
    Both hosts mount the storage pool "shared" (a directory standing in for
    an NFS share), in .pool_dir."""
    from compute_util import compute_cloud
    pool_dir = tempfile.mkdtemp(prefix="nv-pool-", dir="/tmp")
    os.chmod(pool_dir, 0o711)
    try:
        # a short image cache life, so tests see unused images go
        t = compute_cloud(nubod, make_agent, guest_image, "--image-cache-ttl", "3",
                          "--storage-pools", "shared=" + pool_dir)
        r = t.admin.post("/v1/storage-pools", {"name": "shared"})
        assert r.status_code == 201, r.text
        t.pool_dir = Path(pool_dir)
        yield t
    finally:
        shutil.rmtree(pool_dir, ignore_errors=True)
