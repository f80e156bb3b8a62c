"""Tenant networks end to end, as issue 6 asks: the real nubod (its
network API) and two real nubo-agents in two network namespaces joined by
a veth underlay (netplane_util.Plane), with real guests (the test image
under QEMU). The agents reach nubod, which listens on 127.0.0.1 outside
their namespaces, through a relay: 127.0.0.1 inside each namespace to
127.0.0.1 outside, so no address but loopback and the namespaces' own is
used. Skipped against a nubod without tenant networks."""
import os
import socket
import threading

import pytest

from compute_util import BOOT_TIMEOUT, console, state_of, wait_for
from identity_util import Tenancy
from netplane_util import EXT_GW, Plane, in_ns, sh

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root for namespaces")


def pipe(src, dst):
    """Copy src to dst until src ends, then end dst's sending side."""
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    try:
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        pass


class Relay:
    """127.0.0.1:<port> inside namespace ns, relayed to 127.0.0.1:target
    of the test's own namespace."""

    def __init__(self, ns, target):
        self.target = target
        self.sock = in_ns(ns, lambda: socket.create_server(("127.0.0.1", 0)))
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                inner, _ = self.sock.accept()
            except OSError:
                return
            outer = socket.create_connection(("127.0.0.1", self.target))
            for a, b in ((inner, outer), (outer, inner)):
                threading.Thread(target=pipe, args=(a, b), daemon=True).start()

    def close(self):
        self.sock.close()


@pytest.fixture
def cloud(nubod, guest_image, tmp_path, request):
    """The Tenancy of identity_util with flavor tiny and image guest, and
    hosts a and b (a facing the outside on ext0) as Plane namespaces with
    their agents enrolled."""
    t = Tenancy(nubod)
    admin = t.admin
    if admin.get("/v1/networks").status_code == 404:
        pytest.skip("this nubod has no tenant networks")
    admin.post("/v1/flavors", {"name": "tiny", "vcpus": 1, "ram_mb": 256, "disk_gb": 1})
    img = admin.post("/v1/images", {"name": "guest", "visibility": "public"}).json()
    with open(guest_image, "rb") as f:
        assert admin.request("PUT", "/v1/images/%s/file" % img["id"], raw=f).status_code == 200
    p = Plane("nbe%d" % os.getpid(), tmp_path)
    relays = []
    try:
        port = int(nubod.url.rsplit(":", 1)[1])
        for k in ("a", "b"):
            relays.append(Relay(p.tag + k, port))
            tok = admin.post("/v1/hosts/enroll-tokens").json()["token"]
            p.add_host(k, "http://127.0.0.1:%d" % relays[-1].port, tok,
                       ["--external-interface", "ext0"] if k == "a" else [])
        wait_for(lambda: len([h for h in admin.get("/v1/hosts").json()["items"]
                              if h["state"] == "up"]) == 2, 60, "two hosts up")
        t.plane = p
        yield t
    finally:
        c = t.clients["member"]
        for i in c.get("/v1/instances").json().get("items", []):
            c.delete("/v1/instances/" + i["id"])
        for i in c.get("/v1/instances").json().get("items", []):
            wait_for(lambda i=i: state_of(c, i["id"]) is None, 120, "instance gone")
        problems = p.close()
        for r in relays:
            r.close()
        failed = getattr(request.node, "rep_call", None) is not None and \
            request.node.rep_call.failed
        if failed or problems:
            for h in p.hosts.values():
                print("\n===== %s =====\n%s" % (h.log_path, h.text()[-10000:]))
        assert not problems, problems


def test_instances_on_two_hosts_ping_each_other_read_their_id_and_use_a_floating_ip(cloud):
    admin, c, p = cloud.admin, cloud.clients["member"], cloud.plane
    hosts = {h["name"]: h["id"] for h in admin.get("/v1/hosts").json()["items"]}
    r = admin.post("/v1/networks", {"name": "public", "cidr": "203.0.113.0/24",
                                    "gateway": EXT_GW, "external": True,
                                    "allocation_pool": {"start": "203.0.113.100",
                                                        "end": "203.0.113.200"}})
    assert r.status_code == 201, r.text
    assert c.post("/v1/networks", {"name": "net", "cidr": "10.0.0.0/24"}).status_code == 201
    ports = [c.post("/v1/ports", {"network": "net"}).json() for _ in range(2)]
    # the outside may ping the project's instances (the group "default" is
    # made with the first port)
    r = c.post("/v1/security-groups/default/rules",
               {"direction": "ingress", "protocol": "icmp", "cidr": "0.0.0.0/0"})
    assert r.status_code == 201, r.text
    ips = [pt["fixed_ips"][0]["ip"] for pt in ports]
    c.post("/v1/server-groups", {"name": "apart", "policy": "anti-affinity"})
    vms = []
    for k in range(2):
        script = ("#!/bin/sh\n"
                  "for i in $(seq 90); do ping -c 1 -W 1 %s >/dev/null && break; done"
                  " && echo NUBO_PING_OK\n"
                  "echo NUBO_META $(wget -qO- http://169.254.169.254/latest/meta-data/instance-id)\n"
                  "for i in $(seq 90); do ping -c 1 -W 1 %s >/dev/null && break; done"
                  " && echo NUBO_OUT_OK\n") % (ips[1 - k], EXT_GW)
        r = c.post("/v1/instances", {"name": "vm%d" % k, "image": "guest", "flavor": "tiny",
                                     "ports": [ports[k]["id"]], "group": "apart",
                                     "user_data": script})
        assert r.status_code == 202, r.text
        vms.append(r.json())
    placed = [wait_for(lambda v=v: c.get("/v1/instances/" + v["id"]).json()["host"], 60,
                       "placement") for v in vms]
    assert sorted(placed) == sorted(hosts[h.ns] for h in p.hosts.values())
    on_a = 0 if placed[0] == hosts[p.hosts["a"].ns] else 1
    fip = c.post("/v1/floating-ips", {"network": "public"}).json()
    r = c.post("/v1/floating-ips/%s/associate" % fip["id"], {"instance": vms[on_a]["id"]})
    assert r.status_code == 200, r.text
    for k, v in enumerate(vms):
        wait_for(lambda v=v: "NUBO_USERDATA_EXIT" in console(c, v["id"]), BOOT_TIMEOUT,
                 "the user-data of vm%d" % k)
        out = console(c, v["id"])
        assert "NUBO_NET eth0 %s" % ips[k] in out, out[-3000:]
        assert "NUBO_PING_OK" in out, out[-3000:]
        assert "NUBO_META %s" % v["id"] in out, out[-3000:]
    # the instance on a (the host facing the outside) went out, and the
    # outside reaches it through its floating IP
    assert "NUBO_OUT_OK" in console(c, vms[on_a]["id"])
    address = fip["ip"]
    assert sh("busybox", "ping", "-c", "2", "-W", "2", address, ns=p.tag + "o",
              check=False).returncode == 0
    # everything deleted: nothing of ours stays on either host
    assert c.post("/v1/floating-ips/%s/disassociate" % fip["id"]).status_code == 200
    assert c.delete("/v1/floating-ips/" + fip["id"]).status_code in (200, 204)
    for v in vms:
        assert c.delete("/v1/instances/" + v["id"]).status_code == 202
    for v in vms:
        wait_for(lambda v=v: state_of(c, v["id"]) is None, 120, "instance gone")
    for pt in ports:
        c.delete("/v1/ports/" + pt["id"])
    assert c.delete("/v1/networks/net").status_code in (200, 204)
    for h in p.hosts.values():
        wait_for(lambda h=h: not any(x in h.links() for x in ("nb-", "nx-", "nt-")), 30,
                 "no device of ours on " + h.ns)
        wait_for(lambda h=h: "nubo" not in h.ruleset(), 10, "no nubo table on " + h.ns)
        wait_for(lambda h=h: not h.dnsmasqs(), 10, "no dnsmasq on " + h.ns)
        assert "20100" not in sh("ip", "rule", "show", ns=h.ns).stdout
    assert address not in sh("ip", "addr", "show", "ext0", ns=p.tag + "a").stdout
