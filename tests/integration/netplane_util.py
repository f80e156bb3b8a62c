"""Helpers for the data-plane tests of tenant networks (test_netplane.py):
network namespaces the test makes and removes, a stand-in for nubod that
hands each agent the desired state the test writes (the agent's side of
/work/net-contract.md, without nubod's control plane), and "guests":
network namespaces whose eth0 is a tap joined to the agent's tap nt-...
by a thread that copies frames both ways, so a guest's frames take the
same path as a VM's.

Every address lives in the namespaces made here (or their loopback)."""
import ctypes
import fcntl
import http.client
import json
import os
import select
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from compute_util import wait_for
from conftest import AGENT, NO_KVM, SANITIZER_MARKERS

UNDERLAY = {"a": "192.168.77.1", "b": "192.168.77.2"}
EXT_HOST, EXT_GW = "203.0.113.2", "203.0.113.1"
CLONE_NEWNET = 0x40000000
TUNSETIFF = 0x400454CA
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000
_libc = ctypes.CDLL(None, use_errno=True)


def sh(*args, check=True, ns=None, timeout=30):
    """Run a command (in namespace ns); its CompletedProcess."""
    argv = (["ip", "netns", "exec", ns] if ns else []) + [str(a) for a in args]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise AssertionError("%s: %s%s" % (" ".join(argv), r.stdout, r.stderr))
    return r


def enter(ns):
    """Move the calling thread into namespace ns (only this thread)."""
    fd = os.open("/run/netns/" + ns, os.O_RDONLY)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns " + ns)
    finally:
        os.close(fd)


def in_ns(ns, fn):
    """fn() run on a thread inside namespace ns; its result."""
    out = {}

    def body():
        try:
            enter(ns)
            out["v"] = fn()
        except BaseException as e:  # handed to the caller
            out["e"] = e
    t = threading.Thread(target=body)
    t.start()
    t.join()
    if "e" in out:
        raise out["e"]
    return out["v"]


def open_tap(name):
    """An fd on tap name (made when it does not exist) of this thread's namespace."""
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TAP | IFF_NO_PI))
    return fd


class FakeNubod:
    """Answers one agent as nubod would: enrollment, heartbeats, reports,
    and the desired state (long-polled on its version). Listens on
    127.0.0.1 inside the agent's namespace."""

    def __init__(self, ns):
        self.lock = threading.Condition()
        self.state = {"items": [], "volumes": [], "snapshots": []}
        self.version = 1
        self.reports = []
        self.images = {}  # image id -> path of its file
        self.heartbeats = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def reply(self, code, obj=None):
                body = json.dumps(obj).encode() if obj is not None else b""
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def body(self):
                n = int(self.headers.get("Content-Length") or 0)
                return json.loads(self.rfile.read(n) or b"{}")

            def do_POST(self):
                b = self.body()
                if self.path == "/v1/hosts/enroll":
                    owner.heartbeats.append(b)
                    self.reply(201, {"id": "11111111-1111-4111-8111-111111111111",
                                     "credential": "test-credential"})
                elif self.path.endswith("/heartbeat"):
                    owner.heartbeats.append(b)
                    self.reply(200, {})
                elif self.path.endswith("/report"):
                    owner.reports.append(b)
                    self.reply(204)
                else:
                    self.reply(404, {"error": {"message": "no route"}})

            def do_GET(self):
                path, _, query = self.path.partition("?")
                image = path.rsplit("/", 1)[-1]
                if "/images/" in path and image in owner.images:
                    data = open(owner.images[image], "rb").read()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/octet-stream")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                if not path.endswith("/instances"):
                    return self.reply(404, {"error": {"message": "no route"}})
                q = dict(kv.split("=", 1) for kv in query.split("&") if "=" in kv)
                with owner.lock:
                    if "since" in q and q["since"] == str(owner.version):
                        owner.lock.wait(float(q.get("wait", "1")))
                    doc = dict(owner.state, version=str(owner.version))
                self.reply(200, doc)

            def do_PUT(self):
                self.body()
                self.reply(204)

        def make():
            s = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
            s.daemon_threads = True
            return s
        self.server = in_ns(ns, make)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def set(self, **members):
        """Replace members of the desired state; the agent hears of it at once."""
        with self.lock:
            self.state.update(members)
            self.version += 1
            self.lock.notify_all()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class Guest:
    """A namespace whose eth0 (MAC mac) is joined to tap on host ns."""

    def __init__(self, name, host, tap, mac, script):
        self.name, self.host, self.tap, self.mac = name, host, tap, mac
        self.script = script
        sh("ip", "netns", "add", name)
        sh("ip", "link", "set", "lo", "up", ns=name)
        self.stop = False
        self.host_fd = in_ns(host, lambda: open_tap(tap))
        self.fd = in_ns(name, lambda: open_tap("eth0"))
        sh("ip", "link", "set", "eth0", "address", mac, "up", ns=name)
        self.thread = threading.Thread(target=self._copy, daemon=True)
        self.thread.start()

    def _copy(self):
        peer = {self.host_fd: self.fd, self.fd: self.host_fd}
        while not self.stop:
            ready, _, _ = select.select(list(peer), [], [], 0.2)
            for fd in ready:
                try:
                    frame = os.read(fd, 65536)
                    os.write(peer[fd], frame)
                except OSError:
                    pass  # the other side is not up (yet): the frame is lost

    def run(self, *args, **kw):
        return sh(*args, ns=self.name, **kw)

    def dhcp(self):
        """Ask for an address by DHCP (busybox udhcpc); the address got."""
        script = self.script
        self.run("busybox", "udhcpc", "-i", "eth0", "-n", "-q", "-t", "6", "-T", "1",
                 "-O", "staticroutes", "-O", "mtu", "-s", script, timeout=60)
        out = self.run("ip", "-4", "-o", "addr", "show", "dev", "eth0").stdout
        return out.split()[3].split("/")[0]

    def ping(self, ip, count=2):
        return self.run("busybox", "ping", "-c", str(count), "-W", "1", ip, check=False).returncode == 0

    def serve(self, port, text):
        """A TCP server on port answering text to every connection."""
        return subprocess.Popen(["ip", "netns", "exec", self.name, "socat",
                                 "TCP-LISTEN:%d,fork,reuseaddr" % port,
                                 "SYSTEM:echo %s" % text],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def connect(self, ip, port, timeout=2):
        """What a TCP server at ip:port answers, or None when unreachable."""
        def go():
            try:
                with socket.create_connection((ip, port), timeout) as s:
                    return s.recv(100).decode().strip()
            except OSError:
                return None
        return in_ns(self.name, go)

    def fetch(self, path):
        """GET http://169.254.169.254<path> from the guest: (status, text)."""
        def go():
            c = http.client.HTTPConnection("169.254.169.254", 80, timeout=5)
            try:
                c.request("GET", path)
                r = c.getresponse()
                return r.status, r.read().decode()
            finally:
                c.close()
        return in_ns(self.name, go)

    def close(self):
        self.stop = True
        self.thread.join()
        os.close(self.fd)
        os.close(self.host_fd)
        sh("ip", "netns", "del", self.name, check=False)


def tap(port):
    """The tap of a port (a dict with its "id")."""
    return "nt-" + port["id"].replace("-", "")[:11]


class AgentHost:
    """A namespace with a nubo-agent in it."""

    def __init__(self, ns, top, log_path, underlay, server, enroll, extra=()):
        self.ns, self.top, self.log_path = ns, top, log_path
        self.state_dir = Path(top) / "state"
        self.args = [AGENT, "--server", server, "--state-dir", str(self.state_dir),
                     "--enroll", enroll, "--name", ns, "--virt-type", "qemu",
                     "--libvirt-uri", "qemu:///embed?root=%s/lv" % top,
                     "--heartbeat-interval", "1", "--underlay-ip", underlay] + list(extra)
        self.proc = None

    def start(self):
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(["ip", "netns", "exec", self.ns] + NO_KVM + self.args,
                                     stdout=self.log, stderr=subprocess.STDOUT)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(60)
            self.log.close()
        return self.proc.returncode if self.proc else 0

    def text(self):
        return Path(self.log_path).read_text(errors="replace")

    def links(self):
        return sh("ip", "-br", "link", ns=self.ns).stdout

    def ruleset(self):
        return sh("nft", "list", "ruleset", ns=self.ns).stdout

    def dnsmasqs(self):
        """Pids of dnsmasq processes serving from this agent's state dir."""
        r = subprocess.run(["pgrep", "-f", "dnsmasq --conf-file=%s/" % self.state_dir],
                           capture_output=True, text=True)
        return [int(p) for p in r.stdout.split()]


UDHCPC_SCRIPT = (
    "#!/bin/sh\n"
    "case \"$1\" in bound|renew)\n"
    "  ip addr flush dev \"$interface\"\n"
    "  ip addr add \"$ip/$mask\" dev \"$interface\"\n"
    "  [ -n \"$mtu\" ] && ip link set dev \"$interface\" mtu \"$mtu\"\n"
    "  echo \"$staticroutes\" > \"$0.$interface.$ip.routes\"\n"
    "  set -- $staticroutes\n"
    "  while [ $# -ge 2 ]; do ip route add \"$1\" via \"$2\" dev \"$interface\"; shift 2; done\n"
    ";; esac\n")


class Plane:
    """Namespaces <tag>a and <tag>b ("hosts", joined by a veth underlay ul
    with UNDERLAY's addresses) and <tag>o (the outside, facing a's ext0:
    EXT_HOST on a, EXT_GW on o). add_host starts an agent in a or b;
    guest() makes a guest on a port's tap; close() ends it all and returns
    the problems seen (agents not exiting 0, sanitizer reports)."""

    def __init__(self, tag, tmp_path):
        self.tag, self.tmp_path = tag, tmp_path
        self.hosts, self.guests, self.tops = {}, [], []
        self.script = str(tmp_path / "udhcpc.script")
        Path(self.script).write_text(UDHCPC_SCRIPT)
        os.chmod(self.script, 0o755)
        for k in ("a", "b", "o"):
            sh("ip", "netns", "add", tag + k)
            sh("ip", "link", "set", "lo", "up", ns=tag + k)
        sh("ip", "link", "add", "ul", "netns", tag + "a", "type", "veth", "peer", "name", "ul",
           "netns", tag + "b")
        sh("ip", "link", "add", "ext0", "netns", tag + "a", "type", "veth", "peer", "name",
           "up0", "netns", tag + "o")
        sh("ip", "addr", "add", EXT_HOST + "/24", "dev", "ext0", ns=tag + "a")
        sh("ip", "link", "set", "ext0", "up", ns=tag + "a")
        sh("ip", "addr", "add", EXT_GW + "/24", "dev", "up0", ns=tag + "o")
        sh("ip", "link", "set", "up0", "up", ns=tag + "o")
        for k in ("a", "b"):
            sh("ip", "addr", "add", UNDERLAY[k] + "/24", "dev", "ul", ns=tag + k)
            sh("ip", "link", "set", "ul", "up", ns=tag + k)

    def add_host(self, k, server, enroll, extra=()):
        top = tempfile.mkdtemp(prefix="nv-", dir="/tmp")
        os.chmod(top, 0o711)
        self.tops.append(top)
        h = AgentHost(self.tag + k, top, self.tmp_path / ("agent-%s.log" % k), UNDERLAY[k],
                      server, enroll, extra)
        self.hosts[k] = h
        h.start()
        return h

    def guest(self, name, host, port):
        wait_for(lambda: tap(port) in self.hosts[host].links(), 20, "tap " + tap(port))
        g = Guest(self.tag + name, self.hosts[host].ns, tap(port), port["mac"], self.script)
        self.guests.append(g)
        return g

    def close(self):
        problems = []
        for g in self.guests:
            g.close()
        for h in self.hosts.values():
            code = h.stop()
            if code != 0:
                problems.append("agent %s exited with %s" % (h.ns, code))
            problems += [l for l in h.text().splitlines()
                         if any(m in l for m in SANITIZER_MARKERS)]
            for pid in h.dnsmasqs():  # the agent's dnsmasq outlive it, by design
                os.kill(pid, signal.SIGKILL)
            # so do the QEMU of an embedded libvirt driver
            subprocess.run(["pkill", "-9", "-f", "qemu-system.*%s" % h.top], capture_output=True)
        for k in ("a", "b", "o"):
            sh("ip", "netns", "del", self.tag + k, check=False)
        for top in self.tops:
            shutil.rmtree(top, ignore_errors=True)
        return problems
