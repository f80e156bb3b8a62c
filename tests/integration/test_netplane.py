"""The data plane of tenant networks, as nubo-agent builds it from its
desired state: two agents run in two network namespaces ("hosts") joined
by a veth underlay, each fed by a stand-in nubod (netplane_util.FakeNubod)
with desired state of the contract's shape; "guests" are namespaces whose
eth0 is joined to the agent's tap. Guests get their addresses by DHCP from
the agent's dnsmasq, reach each other across hosts over VXLAN, not across
networks (even with the same CIDR), and through security groups only as
these allow; what nubod no longer wants goes, and nothing is left."""
import hashlib
import json
import os
import socket
import subprocess
from pathlib import Path

import pytest

from compute_util import wait_for
from netplane_util import EXT_GW, EXT_HOST, UNDERLAY, FakeNubod, Plane, in_ns, sh, tap

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root for namespaces")

FIP = "203.0.113.10"
EXTERNAL = {"id": "e0000000-0000-4000-8000-000000000001", "cidr": "203.0.113.0/24",
            "gateway": EXT_GW}
NET1 = "a1000000-0000-4000-8000-000000000001"
NET2 = "a2000000-0000-4000-8000-000000000002"
SG_ICMP = "5a000000-0000-4000-8000-000000000001"
SG_SSH = "5b000000-0000-4000-8000-000000000002"
SSH_RULE = {"id": "5b100000-0000-4000-8000-000000000001", "direction": "ingress",
            "ethertype": "IPv4", "protocol": "tcp", "port_min": 22, "port_max": 22,
            "cidr": "10.0.0.5/32", "remote_ips": None}
ICMP_RULE = {"id": "5a100000-0000-4000-8000-000000000001", "direction": "ingress",
             "ethertype": "IPv4", "protocol": "icmp", "port_min": None, "port_max": None,
             "cidr": None, "remote_ips": None}


def port(n, ip, groups=()):
    """Port n (a small number) with its address ip, of instance inst(n)."""
    return {"id": "b%07d-0000-4000-8000-000000000000" % n,
            "mac": "fa:16:3e:00:00:%02x" % n, "ip": ip, "instance": inst(n),
            "security_groups": list(groups), "floating_ip": None}


def inst(n):
    return "c%07d-0000-4000-8000-000000000000" % n


def instance(prt, name):
    """The desired instance of port prt: stopped (the agent builds nothing),
    with what its metadata says."""
    return {"id": prt["instance"], "name": name, "desired": "stopped", "state": "stopped",
            "user_data": "#!/bin/sh\necho hello from %s\n" % name,
            "public_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI%s test" % name,
            "nics": [{"port": prt["id"], "mac": prt["mac"], "ip": prt["ip"],
                      "network": None}]}


def network(nid, vni, ports, peers):
    return {"id": nid, "vni": vni, "cidr": "10.0.0.0/24", "gateway": "10.0.0.1", "dns": [],
            "mtu": 1450, "external": False, "snat": False, "peers": peers, "ports": ports}


@pytest.fixture
def plane(tmp_path, request):
    """Two hosts a and b on a veth underlay (a with the outside o on ext0),
    each with a running agent fed by its own stand-in nubod (.nubod);
    guests made with plane.guest(...) are removed afterwards."""
    p = Plane("nbt%d" % os.getpid(), tmp_path)
    try:
        for k in ("a", "b"):
            nubod = FakeNubod(p.tag + k)
            h = p.add_host(k, nubod.url, "tok",
                           ["--external-interface", "ext0"] if k == "a" else [])
            h.nubod = nubod
        yield p
    finally:
        problems = p.close()
        for h in p.hosts.values():
            h.nubod.close()
        failed = getattr(request.node, "rep_call", None) is not None and \
            request.node.rep_call.failed
        if failed or problems:
            for h in p.hosts.values():
                print("\n===== %s =====\n%s" % (h.log_path, h.text()[-10000:]))
        assert not problems, problems


def two_networks(p, sg1=(SG_ICMP,), groups=None):
    """net1 (VNI 4097) with guest 1 on a and 2 on b; net2 (VNI 4098, the same
    CIDR) with guest 3 on a and 4 on b, whose addresses are those of 2 and
    1. Returns the ports."""
    ports = {1: port(1, "10.0.0.5", sg1), 2: port(2, "10.0.0.6", sg1),
             3: port(3, "10.0.0.6", sg1), 4: port(4, "10.0.0.5", sg1)}
    groups = groups if groups is not None else [{"id": SG_ICMP, "rules": [ICMP_RULE]}]
    a, b = p.hosts["a"], p.hosts["b"]
    a.nubod.set(networks=[network(NET1, 4097, [ports[1]], [UNDERLAY["b"]]),
                          network(NET2, 4098, [ports[3]], [UNDERLAY["b"]])],
                security_groups=groups, external_network=None,
                items=[instance(ports[1], "vm1"), instance(ports[3], "vm3")])
    b.nubod.set(networks=[network(NET1, 4097, [ports[2]], [UNDERLAY["a"]]),
                          network(NET2, 4098, [ports[4]], [UNDERLAY["a"]])],
                security_groups=groups, external_network=None,
                items=[instance(ports[4], "vm4")])
    return ports


def test_guests_get_dhcp_and_reach_each_other_across_hosts_but_not_across_networks(plane):
    p = plane
    ports = two_networks(p)
    g = {n: p.guest("g%d" % n, "a" if n in (1, 3) else "b", ports[n]) for n in ports}
    for n, prt in ports.items():
        assert g[n].dhcp() == prt["ip"]
    # the lease carries the network's MTU and the routes to the gateway
    routes = Path("%s.eth0.10.0.0.5.routes" % p.script).read_text()
    assert "169.254.169.254/32 10.0.0.1" in routes and "0.0.0.0/0 10.0.0.1" in routes
    assert "mtu 1450" in g[1].run("ip", "link", "show", "eth0").stdout
    servers = [g[n].serve(7, "g%d" % n) for n in g]
    try:
        assert g[1].ping("10.0.0.6")
        assert g[3].ping("10.0.0.5")
        # same addresses on the other network: each guest meets its own network's
        wait_for(lambda: g[1].connect("10.0.0.6", 7) is None, 5, "closed port 7")
        ssh = {"id": "5a200000-0000-4000-8000-000000000002", "direction": "ingress",
               "ethertype": "IPv4", "protocol": "tcp", "port_min": 7, "port_max": 7,
               "cidr": None, "remote_ips": None}
        for h in p.hosts.values():
            h.nubod.set(security_groups=[{"id": SG_ICMP, "rules": [ICMP_RULE, ssh]}])
        assert wait_for(lambda: g[1].connect("10.0.0.6", 7), 10, "port 7 open") == "g2"
        assert g[2].connect("10.0.0.5", 7) == "g1"
        assert g[3].connect("10.0.0.5", 7) == "g4"
        assert g[4].connect("10.0.0.6", 7) == "g3"
    finally:
        for s in servers:
            s.kill()
            s.wait()
    # nothing of the host answers tenants but DHCP and metadata
    assert not g[1].ping("10.0.0.1", count=1)
    # the metadata service tells each instance about itself only, in both
    # path styles; the same address on another network is another instance
    assert g[1].fetch("/latest/meta-data/instance-id") == (200, inst(1))
    assert g[4].fetch("/latest/meta-data/instance-id") == (200, inst(4))
    assert g[4].fetch("/latest/meta-data/local-ipv4") == (200, "10.0.0.5")
    code, body = g[3].fetch("/openstack/latest/meta_data.json")
    meta = json.loads(body)
    assert code == 200 and meta["uuid"] == inst(3) and meta["name"] == "vm3"
    assert meta["public_keys"]["default"].endswith("vm3 test")
    assert g[3].fetch("/openstack/2012-08-10/user_data") == (200, "#!/bin/sh\necho hello from vm3\n")
    assert g[1].fetch("/2009-04-04/user-data")[1].endswith("vm1\n")
    assert g[2].fetch("/latest/meta-data/instance-id")[0] == 404  # a port of no instance
    assert g[1].fetch("/latest/meta-data/nothing")[0] == 404
    links = p.hosts["a"].links()
    assert "nb-a1000000000" in links and "nx-a1000000000" in links
    fdb = sh("bridge", "fdb", "show", "dev", "nx-a1000000000", ns=p.hosts["a"].ns).stdout
    assert "00:00:00:00:00:00 dst 192.168.77.2" in fdb


def test_a_security_group_lets_in_only_tcp_22_from_its_cidr_until_the_rule_goes(plane):
    p = plane
    sg = [SG_ICMP, SG_SSH]
    groups = [{"id": SG_ICMP, "rules": [ICMP_RULE]}, {"id": SG_SSH, "rules": [SSH_RULE]}]
    p1, p2, p5 = port(1, "10.0.0.5", sg), port(2, "10.0.0.6", sg), port(5, "10.0.0.8", sg)
    p.hosts["a"].nubod.set(networks=[network(NET1, 4097, [p1, p5], [UNDERLAY["b"]])],
                           security_groups=groups, external_network=None)
    p.hosts["b"].nubod.set(networks=[network(NET1, 4097, [p2], [UNDERLAY["a"]])],
                           security_groups=groups, external_network=None)
    g1, g2, g5 = p.guest("g1", "a", p1), p.guest("g2", "b", p2), p.guest("g5", "a", p5)
    for g, prt in ((g1, p1), (g2, p2), (g5, p5)):
        assert g.dhcp() == prt["ip"]
    servers = [g2.serve(22, "ssh-g2"), g2.serve(23, "telnet-g2")]
    try:
        assert wait_for(lambda: g1.connect("10.0.0.6", 22), 10, "ssh from the CIDR") == "ssh-g2"
        assert g5.connect("10.0.0.6", 22) is None      # outside the CIDR
        assert g1.connect("10.0.0.6", 23) is None      # another port
        assert g5.ping("10.0.0.6")                     # the other group lets ICMP in
        # spoofing another address gets nothing through
        g5.run("ip", "addr", "add", "10.0.0.5/24", "dev", "eth0")
        g5.run("ip", "addr", "del", "10.0.0.8/24", "dev", "eth0")
        assert g5.connect("10.0.0.6", 22) is None
        # outbound is open: g2 reaches g1's ICMP
        assert g2.ping("10.0.0.5")
        # the rule goes: the next pass closes the port
        groups[1]["rules"] = []
        for h in p.hosts.values():
            h.nubod.set(security_groups=groups)
        wait_for(lambda: g1.connect("10.0.0.6", 22) is None, 10, "ssh closed")
    finally:
        for s in servers:
            s.kill()
            s.wait()


def test_deleting_everything_leaves_nothing_and_a_stopped_agent_leaves_networks_up(plane):
    p = plane
    ports = two_networks(p)
    g1 = p.guest("g1", "a", ports[1])
    assert g1.dhcp() == "10.0.0.5"
    a = p.hosts["a"]
    wait_for(lambda: len(a.dnsmasqs()) == 2, 10, "two dnsmasq on host a")
    # an agent that stops leaves the guests' networking as it is
    assert a.stop() == 0
    assert "nb-a1000000000" in a.links() and "nubo" in a.ruleset()
    assert len(a.dnsmasqs()) == 2
    # strays: a device of ours nubod does not know goes with the next start
    sh("ip", "link", "add", "nb-ffffffffff0", "type", "bridge", ns=a.ns)
    a.start()
    wait_for(lambda: "nb-ffffffffff0" not in a.links(), 20, "the stray bridge removed")
    a.nubod.set(networks=[network(NET1, 4097, [ports[1]], [UNDERLAY["b"]])])
    wait_for(lambda: "nb-a2000000000" not in a.links(), 10, "net2 removed")
    assert "nt-b0000003000" not in a.links() and len(a.dnsmasqs()) == 1
    for h in p.hosts.values():
        h.nubod.set(networks=[], security_groups=[])
    for h in p.hosts.values():
        wait_for(lambda: not any(x in h.links() for x in ("nb-", "nx-", "nt-")), 10,
                 "no device of ours on " + h.ns)
        wait_for(lambda: "nubo" not in h.ruleset(), 10, "no nubo table on " + h.ns)
        wait_for(lambda: not h.dnsmasqs(), 10, "no dnsmasq on " + h.ns)
        wait_for(lambda: not [d for d in (h.state_dir / "net").iterdir() if d.is_dir()], 10,
                 "no network's files on " + h.ns)


def test_snat_takes_guests_outside_and_a_floating_ip_brings_the_outside_in(plane):
    p = plane
    a, o = p.hosts["a"], p.tag + "o"
    tcp7 = {"id": "5a200000-0000-4000-8000-000000000002", "direction": "ingress",
            "ethertype": "IPv4", "protocol": "tcp", "port_min": 7, "port_max": 7,
            "cidr": None, "remote_ips": None}
    groups = [{"id": SG_ICMP, "rules": [ICMP_RULE, tcp7]}]
    p1, p5 = port(1, "10.0.0.5", [SG_ICMP]), port(5, "10.0.0.8", [SG_ICMP])
    p1["floating_ip"] = FIP
    net = dict(network(NET1, 4097, [p1, p5], []), snat=True)
    a.nubod.set(networks=[net], security_groups=groups, external_network=EXTERNAL)
    g1, g5 = p.guest("g1", "a", p1), p.guest("g5", "a", p5)
    assert g1.dhcp() == "10.0.0.5" and g5.dhcp() == "10.0.0.8"
    outside = subprocess.Popen(["ip", "netns", "exec", o, "socat", "TCP-LISTEN:8,fork,reuseaddr",
                                "SYSTEM:echo $SOCAT_PEERADDR"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = g1.serve(7, "g1")
    try:
        # SNAT: a guest without a floating IP goes out as the host
        assert wait_for(lambda: g5.connect(EXT_GW, 8), 10, "g5 reaching outside") == EXT_HOST
        assert g5.ping(EXT_GW)
        # the floating IP: the guest goes out as it, and is reached through it
        assert g1.connect(EXT_GW, 8) == FIP
        assert in_ns(o, lambda: connect(FIP, 7)) == "g1"
        assert sh("busybox", "ping", "-c", "1", "-W", "1", FIP, ns=o, check=False).returncode == 0
        # only the floating IP: not the guest's own address, not the other guest
        sh("ip", "route", "add", "10.0.0.0/24", "via", EXT_HOST, ns=o)
        assert in_ns(o, lambda: connect("10.0.0.5", 7)) is None
        assert sh("busybox", "ping", "-c", "1", "-W", "1", "10.0.0.8", ns=o, check=False).returncode != 0
        # the floating IP goes: the outside no longer gets in
        p1["floating_ip"] = None
        a.nubod.set(networks=[net])
        wait_for(lambda: FIP not in sh("ip", "addr", "show", "ext0", ns=a.ns).stdout, 10,
                 "the floating IP off ext0")
        assert in_ns(o, lambda: connect(FIP, 7)) is None
        assert g1.connect(EXT_GW, 8) == EXT_HOST
    finally:
        for proc in (outside, server):
            proc.kill()
            proc.wait()
    a.nubod.set(networks=[], security_groups=[], external_network=None)
    wait_for(lambda: "nubo" not in a.ruleset(), 10, "no nubo table")
    assert "20100" not in sh("ip", "rule", "show", ns=a.ns).stdout
    assert "1852" not in sh("ip", "route", "show", "table", "all", ns=a.ns).stdout


def connect(ip, port, timeout=2):
    """What a TCP server at ip:port answers, or None (this thread's namespace)."""
    try:
        with socket.create_connection((ip, port), timeout) as s:
            return s.recv(100).decode().strip()
    except OSError:
        return None


def test_a_vm_on_a_tap_gets_its_address_pings_across_hosts_and_reads_its_id(plane,
                                                                              guest_image):
    """A real guest (the test image under QEMU) on host a's tap: the
    domain's NIC is the port's tap, its DHCP comes from the agent's
    dnsmasq, its user-data pings a guest on host b over VXLAN and reads
    its instance-id from the metadata service."""
    p = plane
    a, b = p.hosts["a"], p.hosts["b"]
    p1, p2 = port(1, "10.0.0.5", [SG_ICMP]), port(2, "10.0.0.6", [SG_ICMP])
    groups = [{"id": SG_ICMP, "rules": [ICMP_RULE]}]
    b.nubod.set(networks=[network(NET1, 4097, [p2], [UNDERLAY["a"]])], security_groups=groups,
                external_network=None)
    g2 = p.guest("g2", "b", p2)
    assert g2.dhcp() == "10.0.0.6"
    image = "d0000000-0000-4000-8000-000000000001"
    a.nubod.images[image] = str(guest_image)
    vm = dict(instance(p1, "vm1"), desired="running", state="scheduled", vcpus=1, ram_mb=256,
              disk_gb=1, image_id=image,
              image_sha256=hashlib.sha256(open(guest_image, "rb").read()).hexdigest(),
              user_data="#!/bin/sh\n"
                        "ping -c 3 -W 2 10.0.0.6 >/dev/null && echo NUBO_PING_OK\n"
                        "echo NUBO_META $(wget -qO- "
                        "http://169.254.169.254/latest/meta-data/instance-id)\n")
    a.nubod.set(networks=[network(NET1, 4097, [p1], [UNDERLAY["b"]])], security_groups=groups,
                external_network=None, items=[vm])
    console = a.state_dir / "disks" / (vm["id"] + ".console")
    text = lambda: console.read_text(errors="replace") if console.exists() else ""
    wait_for(lambda: "NUBO_USERDATA_EXIT" in text(), 240, "the guest's user-data")
    out = text()
    assert "NUBO_NET eth0 10.0.0.5" in out, out[-3000:]
    assert "NUBO_PING_OK" in out, out[-3000:]
    assert "NUBO_META %s" % vm["id"] in out, out[-3000:]
    xml = list((Path(a.top) / "lv").rglob("nubo-%s.xml" % vm["id"]))
    assert xml and "<target dev='%s'" % tap(p1) in xml[0].read_text()
    # the instance goes: its domain, and with its port its tap
    a.nubod.set(items=[], networks=[network(NET1, 4097, [], [UNDERLAY["b"]])])
    wait_for(lambda: tap(p1) not in a.links(), 60, "the tap removed")


def test_subnets_with_and_without_gateway_get_dhcp_and_metadata(plane):
    p = plane
    p1, p2 = port(1, "10.0.0.5", [SG_ICMP]), port(2, "10.0.1.7", [SG_ICMP])
    net = dict(network(NET1, 4097, [p1, p2], []), gateway=None,
               subnets=[{"cidr": "10.0.0.0/24", "gateway": None},
                        {"cidr": "10.0.1.0/24", "gateway": "10.0.1.1"}])
    p.hosts["a"].nubod.set(networks=[net], security_groups=[{"id": SG_ICMP, "rules": []}],
                           external_network=None,
                           items=[instance(p1, "vm1"), instance(p2, "vm2")])
    g1, g2 = p.guest("g1", "a", p1), p.guest("g2", "a", p2)
    assert g1.dhcp() == "10.0.0.5" and g2.dhcp() == "10.0.1.7"
    # no gateway: no default route, the metadata service on the link
    assert "default" not in g1.run("ip", "route").stdout
    assert "169.254.169.254 via 10.0.1.1" in g2.run("ip", "route").stdout
    assert g1.fetch("/latest/meta-data/instance-id") == (200, inst(1))
    assert g2.fetch("/latest/meta-data/instance-id") == (200, inst(2))
