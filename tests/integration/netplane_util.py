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
import socket
import struct
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

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

    def __init__(self, name, host, tap, mac):
        self.name, self.host, self.tap, self.mac = name, host, tap, mac
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

    def dhcp(self, script):
        """Ask for an address by DHCP (busybox udhcpc); the address got."""
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
