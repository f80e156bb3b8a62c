"""Tenant networking through the API: networks and subnets with strict
checks, IPAM that never hands out an address twice (even to concurrent
creators), overlapping CIDRs across projects, security groups, floating
IPs and their association rules, quotas, and cleanup on delete."""
import threading

import pytest

from conftest import Client, assert_error
from identity_util import Tenancy


@pytest.fixture
def t(nubod):
    return Tenancy(nubod)


def quota(c, what):
    return c.get("/v1/projects/alpha/quotas").json()["quotas"][what]["used"]


def mknet(c, name="net", cidr="10.0.0.0/24", **extra):
    r = c.post("/v1/networks", dict({"name": name, "cidr": cidr}, **extra))
    assert r.status_code == 201, r.text
    return r.json()


def mkport(c, network="net", **extra):
    r = c.post("/v1/ports", dict({"network": network}, **extra))
    assert r.status_code == 201, r.text
    return r.json()


def test_network_with_its_subnet_in_one_call(t):
    c = t.clients["member"]
    n = mknet(c, "net", "10.1.0.0/24", dns=["10.1.0.1", "192.0.2.53"])
    assert (n["cidr"], n["gateway"], n["dns"], n["external"], n["mtu"]) == (
        "10.1.0.0/24", "10.1.0.1", ["10.1.0.1", "192.0.2.53"], False, 1450)
    assert n["project_id"] == t.alpha["id"] and "vni" not in n
    [s] = n["subnets"]
    assert s["allocation_pool"] == {"start": "10.1.0.2", "end": "10.1.0.254"}
    assert c.get("/v1/networks/net").json() == n
    assert c.get("/v1/networks/" + n["id"]).json() == n
    assert [x["name"] for x in c.get("/v1/networks").json()["items"]] == ["net"]
    assert quota(c, "networks") == 1
    assert t.admin.get("/v1/networks/" + n["id"]).json()["vni"] >= 4096
    # no gateway, a pool of its own
    m = mknet(c, "iso", "192.168.5.0/29", gateway=None,
              allocation_pool={"start": "192.168.5.3", "end": "192.168.5.4"})
    assert m["gateway"] is None
    assert [mkport(c, "iso")["fixed_ips"][0]["ip"] for _ in range(2)] == [
        "192.168.5.3", "192.168.5.4"]
    assert_error(c.post("/v1/ports", {"network": "iso"}), 409, field="network")
    # more subnets
    r = c.post("/v1/networks/net/subnets", {"name": "second", "cidr": "10.1.1.0/24"})
    assert r.status_code == 201, r.text
    assert_error(c.post("/v1/networks/net/subnets", {"name": "third", "cidr": "10.1.0.128/25"}),
                 409, field="cidr")
    assert [x["cidr"] for x in c.get("/v1/networks/net/subnets").json()["items"]] == [
        "10.1.0.0/24", "10.1.1.0/24"]
    assert c.delete("/v1/networks/net/subnets/second").status_code == 204
    # at most 16 subnets a network
    for k in range(15):
        assert c.post("/v1/networks/net/subnets", {"name": "s%d" % k,
                                                   "cidr": "10.1.%d.0/24" % (k + 1)}).status_code == 201
    assert_error(c.post("/v1/networks/net/subnets", {"name": "s99", "cidr": "10.1.99.0/24"}), 409)
    for k in range(15):
        assert c.delete("/v1/networks/net/subnets/s%d" % k).status_code == 204
    assert_error(c.delete("/v1/networks/net/subnets/net"), 409)
    # pages
    mknet(c, "zed", "10.2.0.0/24")
    page = c.get("/v1/networks?limit=2").json()
    assert [x["name"] for x in page["items"]] == ["iso", "net"] and page["next"]
    assert [x["name"] for x in c.get("/v1/networks?limit=2&cursor=" + page["next"]).json()[
        "items"]] == ["zed"]
    assert c.delete("/v1/networks/zed").status_code == 204
    assert_error(c.get("/v1/networks/zed"), 404)


def test_bad_input_is_a_clear_4xx_that_changes_nothing(t):
    c = t.clients["member"]
    mknet(c)
    for body, field in (({"name": "x", "cidr": "10.0.0.1/24"}, "cidr"),
                        ({"name": "x", "cidr": "10.0.0.0/30"}, "cidr"),
                        ({"name": "x", "cidr": "10.0.0.0/7"}, "cidr"),
                        ({"name": "x", "cidr": "10.0.0.0"}, "cidr"),
                        ({"name": "x", "cidr": "10.0.0.0/024"}, "cidr"),
                        ({"name": "x", "cidr": "010.0.0.0/24"}, "cidr"),
                        ({"name": "x", "cidr": 5}, "cidr"),
                        ({"name": "x", "cidr": "10.0.0.0/24", "gateway": "10.0.1.1"}, "gateway"),
                        ({"name": "x", "cidr": "10.0.0.0/24", "gateway": "10.0.0.255"},
                         "gateway"),
                        ({"name": "x", "cidr": "10.0.0.0/24", "dns": ["8.8.8"]}, "dns"),
                        ({"name": "x", "cidr": "10.0.0.0/24", "dns": "8.8.8.8"}, "dns"),
                        ({"name": "x", "cidr": "10.0.0.0/24",
                          "allocation_pool": {"start": "10.0.0.1", "end": "10.0.0.9"}},
                         "allocation_pool"),
                        ({"name": "x", "cidr": "10.0.0.0/24", "allocation_pool": "all"},
                         "allocation_pool"),
                        ({"name": "a b", "cidr": "10.0.0.0/24"}, "name"),
                        ({"cidr": "10.0.0.0/24"}, "name")):
        assert_error(c.post("/v1/networks", body), 400, field=field)
    assert_error(c.post("/v1/networks", {"name": "x", "cidr": "10.0.0.0/24", "color": 1}), 400)
    assert_error(c.post("/v1/networks", {"name": "net", "cidr": "10.5.0.0/24"}), 409,
                 field="name")
    assert_error(c.post("/v1/networks", {"name": "ext", "cidr": "203.0.113.0/24",
                                         "external": True}), 403)
    assert_error(t.clients["reader"].post("/v1/networks", {"name": "r", "cidr": "10.0.0.0/24"}),
                 403)
    for body, field in (({"network": "nope"}, "network"), ({"network": "net", "ip": "10.0.1.5"},
                                                           "ip"),
                        ({"network": "net", "ip": "10.0.0.1"}, "ip"),
                        ({"network": "net", "ip": "banana"}, "ip"),
                        ({"network": "net", "security_groups": ["nope"]}, "security_groups"),
                        ({"network": "net", "security_groups": "default"}, "security_groups"),
                        ({"network": "net", "name": "a b"}, "name")):
        assert_error(c.post("/v1/ports", body), 400, field=field)
    assert [x["name"] for x in c.get("/v1/networks").json()["items"]] == ["net"]
    assert c.get("/v1/ports").json()["items"] == []
    assert quota(c, "networks") == 1
    # the quota
    t.admin.patch("/v1/projects/alpha/quotas", {"networks": 1})
    assert_error(c.post("/v1/networks", {"name": "two", "cidr": "10.6.0.0/24"}), 403,
                 "QuotaExceeded")


def test_projects_may_use_the_same_cidr_and_see_only_their_own(t):
    a, b = t.clients["member"], t.clients["other"]
    na, nb = mknet(a, "net", "10.0.0.0/24"), mknet(b, "net", "10.0.0.0/24")
    assert na["id"] != nb["id"]
    vnis = {t.admin.get("/v1/networks/" + x["id"]).json()["vni"] for x in (na, nb)}
    assert len(vnis) == 2
    pa, pb = mkport(a), mkport(b)
    assert pa["fixed_ips"][0]["ip"] == pb["fixed_ips"][0]["ip"] == "10.0.0.2"
    assert pa["mac"] != pb["mac"] and pa["mac"].startswith("fa:16:3e:")
    assert_error(b.get("/v1/networks/" + na["id"]), 404)
    assert_error(b.get("/v1/ports/" + pa["id"]), 404)
    assert_error(b.delete("/v1/networks/" + na["id"]), 404)
    assert_error(b.post("/v1/ports", {"network": na["id"]}), 400, field="network")
    assert [x["id"] for x in b.get("/v1/networks").json()["items"]] == [nb["id"]]
    assert len(t.admin.get("/v1/networks").json()["items"]) == 2


def test_ipam_never_hands_out_an_address_twice_under_concurrent_creates(t):
    c = t.clients["member"]
    net = mknet(c, "small", "10.7.0.0/28")  # .2 - .14: 13 addresses
    token = c.token
    results = []
    lock = threading.Lock()

    def worker():
        mine = Client(c.base, token)
        while True:
            r = mine.post("/v1/ports", {"network": "small"})
            with lock:
                results.append(r)
            if r.status_code != 201:
                return

    threads = [threading.Thread(target=worker) for _ in range(20)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    made = [r.json() for r in results if r.status_code == 201]
    refused = [r for r in results if r.status_code != 201]
    ips = [p["fixed_ips"][0]["ip"] for p in made]
    assert len(made) == 13 and len(set(ips)) == 13
    assert sorted(ips, key=lambda ip: int(ip.split(".")[3])) == [
        "10.7.0.%d" % k for k in range(2, 15)]
    assert len({p["mac"] for p in made}) == 13
    assert len(refused) == 20
    for r in refused:
        assert_error(r, 409, field="network")
    listed = c.get("/v1/ports?network=small").json()["items"]
    assert sorted(p["id"] for p in listed) == sorted(p["id"] for p in made)
    # a freed address is given out again; deleting the network waits for its ports
    assert_error(c.delete("/v1/networks/small"), 409)
    assert c.delete("/v1/ports/" + made[0]["id"]).status_code == 204
    assert mkport(c, "small")["fixed_ips"][0]["ip"] == made[0]["fixed_ips"][0]["ip"]
    for p in c.get("/v1/ports").json()["items"]:
        assert c.delete("/v1/ports/" + p["id"]).status_code == 204
    assert c.delete("/v1/networks/" + net["id"]).status_code == 204
    assert quota(c, "networks") == 0


def test_ports_take_a_chosen_address_and_groups(t):
    c = t.clients["member"]
    mknet(c)
    web = c.post("/v1/security-groups", {"name": "web"}).json()
    p = mkport(c, name="fixed", ip="10.0.0.50", security_groups=["web", "default"])
    assert p["fixed_ips"][0]["ip"] == "10.0.0.50" and p["name"] == "fixed"
    default = c.get("/v1/security-groups/default").json()
    assert sorted(p["security_groups"]) == sorted([web["id"], default["id"]])
    assert (p["instance_id"], p["host"], p["status"], p["owner"]) == (None, None, "down", "user")
    assert_error(c.post("/v1/ports", {"network": "net", "ip": "10.0.0.50"}), 409, field="ip")
    assert_error(c.post("/v1/ports", {"network": "net", "name": "fixed"}), 409, field="name")
    assert c.get("/v1/ports/fixed").json()["id"] == p["id"]
    q = mkport(c)
    assert q["security_groups"] == [default["id"]]
    assert_error(c.delete("/v1/security-groups/web"), 409)
    # another set of groups, another name
    r = c.patch("/v1/ports/fixed", {"security_groups": ["default"], "name": "renamed"})
    assert r.status_code == 200, r.text
    assert (r.json()["security_groups"], r.json()["name"]) == ([default["id"]], "renamed")
    for body, field in (({"security_groups": []}, "security_groups"),
                        ({"security_groups": ["nope"]}, "security_groups"),
                        ({"name": "a b"}, "name")):
        assert_error(c.patch("/v1/ports/renamed", body), 400, field=field)
    assert_error(c.patch("/v1/ports/renamed", {"name": "x", "mac": "00:00:00:00:00:01"}), 400)
    assert c.get("/v1/ports/renamed").json()["security_groups"] == [default["id"]]
    assert c.delete("/v1/security-groups/web").status_code == 204


def test_security_groups_and_rules(t):
    c = t.clients["member"]
    groups = c.get("/v1/security-groups").json()["items"]
    [d] = groups
    assert d["name"] == "default"
    rules = sorted(d["rules"], key=lambda r: r["direction"])
    assert [(r["direction"], r["protocol"], r["cidr"], r["remote_group"]) for r in rules] == [
        ("egress", None, None, None), ("ingress", None, None, d["id"])]
    assert_error(c.delete("/v1/security-groups/default"), 409)
    r = c.post("/v1/security-groups", {"name": "ssh", "description": "ssh from the office"})
    assert r.status_code == 201, r.text
    g = r.json()
    assert g["rules"] == []
    r = c.post("/v1/security-groups/ssh/rules", {"direction": "ingress", "protocol": "tcp",
                                                 "port_min": 22, "port_max": 22,
                                                 "cidr": "192.0.2.0/24"})
    assert r.status_code == 201, r.text
    rule = r.json()
    assert (rule["protocol"], rule["port_min"], rule["port_max"], rule["cidr"],
            rule["ethertype"]) == ("tcp", 22, 22, "192.0.2.0/24", "IPv4")
    assert_error(c.post("/v1/security-groups/ssh/rules", {"direction": "ingress",
                                                          "protocol": "tcp", "port_min": 22,
                                                          "port_max": 22,
                                                          "cidr": "192.0.2.0/24"}), 409)
    r = c.post("/v1/security-groups/ssh/rules", {"direction": "ingress", "protocol": "icmp",
                                                 "remote_group": "default"})
    assert r.status_code == 201 and r.json()["remote_group"] == d["id"]
    for body, field in (({"direction": "in"}, "direction"),
                        ({"direction": "ingress", "protocol": "gre"}, "protocol"),
                        ({"direction": "ingress", "protocol": "icmp", "port_min": 1}, "port_min"),
                        ({"direction": "ingress", "protocol": "tcp", "port_min": 0}, "port_min"),
                        ({"direction": "ingress", "protocol": "tcp", "port_min": 9,
                          "port_max": 8}, "port_min"),
                        ({"direction": "ingress", "protocol": "tcp", "port_min": 70000},
                         "port_min"),
                        ({"direction": "ingress", "cidr": "10.0.0.1/8"}, "cidr"),
                        ({"direction": "ingress", "cidr": "10.0.0.0/8",
                          "remote_group": "default"}, "cidr"),
                        ({"direction": "ingress", "remote_group": "nope"}, "remote_group"),
                        ({"direction": "ingress", "ethertype": "IPv6"}, "ethertype")):
        assert_error(c.post("/v1/security-groups/ssh/rules", body), 400, field=field)
    assert len(c.get("/v1/security-groups/ssh").json()["rules"]) == 2
    assert c.delete("/v1/security-groups/ssh/rules/" + rule["id"]).status_code == 204
    assert_error(c.delete("/v1/security-groups/ssh/rules/" + rule["id"]), 404)
    assert_error(t.clients["reader"].post("/v1/security-groups/ssh/rules",
                                          {"direction": "egress"}), 403)
    assert_error(t.clients["other"].get("/v1/security-groups/" + g["id"]), 404)
    assert [x["name"] for x in t.clients["other"].get("/v1/security-groups").json()[
        "items"]] == ["default"]
    # a group another names as remote: deleting it takes those rules along
    assert c.delete("/v1/security-groups/ssh").status_code == 204
    assert_error(c.post("/v1/security-groups", {"name": "default"}), 409)


def test_floating_ips_and_their_association(t):
    a, admin = t.clients["member"], t.admin
    assert_error(a.post("/v1/floating-ips"), 409, field="network")
    r = admin.post("/v1/networks", {"name": "public", "cidr": "203.0.113.0/29",
                                    "external": True})
    assert r.status_code == 201, r.text
    ext = r.json()
    assert ext["external"] and ext["project_id"] is None
    assert_error(admin.post("/v1/networks", {"name": "public2", "cidr": "198.51.100.0/24",
                                             "external": True}), 409, field="external")
    # every project sees it, none may change it or put ports on it
    assert "public" in [x["name"] for x in a.get("/v1/networks").json()["items"]]
    assert_error(a.delete("/v1/networks/public"), 403)
    assert_error(a.post("/v1/ports", {"network": "public"}), 400, field="network")
    mknet(a)
    p1, p2 = mkport(a), mkport(a)
    r = a.post("/v1/floating-ips", {"network": "public"})
    assert r.status_code == 201, r.text
    f = r.json()
    assert (f["ip"], f["port_id"], f["instance_id"]) == ("203.0.113.2", None, None)
    g = a.post("/v1/floating-ips").json()
    assert g["ip"] == "203.0.113.3"
    assert quota(a, "floating_ips") == 2
    assert_error(a.post("/v1/floating-ips", {"network": "net"}), 400, field="network")
    r = a.post("/v1/floating-ips/%s/associate" % f["id"], {"port": p1["id"]})
    assert r.status_code == 200, r.text
    assert (r.json()["port_id"], r.json()["fixed_ip"]) == (p1["id"], "10.0.0.2")
    assert a.get("/v1/ports/" + p1["id"]).json()["floating_ip"] == "203.0.113.2"
    # 1:1: neither the port nor the address takes a second
    assert_error(a.post("/v1/floating-ips/%s/associate" % g["id"], {"port": p1["id"]}), 409)
    assert_error(a.post("/v1/floating-ips/%s/associate" % f["id"], {"port": p2["id"]}), 409)
    assert_error(a.post("/v1/floating-ips/%s/associate" % g["id"], {}), 400)
    assert_error(a.post("/v1/floating-ips/%s/associate" % g["id"],
                        {"port": p2["id"], "instance": "x"}), 400)
    assert_error(a.post("/v1/floating-ips/%s/associate" % g["id"], {"instance": "nope"}), 400,
                 field="instance")
    assert_error(t.clients["other"].post("/v1/floating-ips/%s/associate" % g["id"],
                                         {"port": p2["id"]}), 404)
    assert a.get("/v1/floating-ips/203.0.113.2").json()["id"] == f["id"]
    assert a.post("/v1/floating-ips/%s/disassociate" % f["id"]).json()["port_id"] is None
    assert_error(a.post("/v1/floating-ips/%s/disassociate" % f["id"]), 409)
    # deleting a port frees its floating IP; the external network waits for its addresses
    assert a.post("/v1/floating-ips/%s/associate" % g["id"], {"port": p2["id"]}).status_code == 200
    assert a.delete("/v1/ports/" + p2["id"]).status_code == 204
    assert a.get("/v1/floating-ips/" + g["id"]).json()["port_id"] is None
    assert_error(admin.delete("/v1/networks/public"), 409)
    for x in (f, g):
        assert a.delete("/v1/floating-ips/" + x["id"]).status_code == 204
    assert quota(a, "floating_ips") == 0
    assert a.get("/v1/floating-ips").json()["items"] == []
    t.admin.patch("/v1/projects/alpha/quotas", {"floating_ips": 0})
    assert_error(a.post("/v1/floating-ips"), 403, "QuotaExceeded")
    assert admin.delete("/v1/networks/public").status_code == 204


def test_a_project_goes_with_its_security_groups_but_not_with_its_networks(t):
    c = t.clients["member"]
    assert [g["name"] for g in c.get("/v1/security-groups").json()["items"]] == ["default"]
    c.post("/v1/security-groups", {"name": "web"})
    n = mknet(c)
    assert_error(t.admin.delete("/v1/projects/alpha"), 409)
    assert len(c.get("/v1/security-groups").json()["items"]) == 2
    assert c.delete("/v1/networks/" + n["id"]).status_code == 204
    assert t.admin.delete("/v1/projects/alpha").status_code == 204


def test_creates_and_deletes_are_audited(t):
    c = t.clients["member"]
    n = mknet(c)
    p = mkport(c)
    assert c.delete("/v1/ports/" + p["id"]).status_code == 204
    assert_error(c.post("/v1/networks", {"name": "net", "cidr": "10.9.0.0/24"}), 409)
    events = t.admin.get("/v1/audit?project=alpha").json()["items"]
    seen = {(e["action"], e["resource"]["id"], e["outcome"]) for e in events}
    assert ("network.create", n["id"], "success") in seen
    assert ("port.create", p["id"], "success") in seen
    assert ("port.delete", p["id"], "success") in seen
    assert any(a == "network.create" and o != "success" for a, _, o in seen)
