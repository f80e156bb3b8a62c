"""Instances on tenant networks, and the network part of each host's
desired state that its agent reads (the contract in docs/api.md, "The
agents' API"), played with fake hosts over HTTP: ports made and bound at
placement, VXLAN peers, security groups with resolved remote groups,
floating IPs, and long polls woken by every change that concerns a host."""
import requests

from conftest import assert_error
from test_instances import cloud, create, instance, wait_for  # noqa: F401
from test_longpoll import Background, Host


def enroll(nubod, admin, name, underlay):
    t = admin.post("/v1/hosts/enroll-tokens").json()["token"]
    r = requests.post(nubod.url + "/v1/hosts/enroll",
                      json={"token": t, "name": name, "cpus": 8, "ram_mb": 16384,
                            "disk_gb": 100, "virt_type": "qemu", "underlay_ip": underlay})
    assert r.status_code == 201, r.text
    h = Host.__new__(Host)
    h.nubod, h.id, h.cred = nubod, r.json()["id"], r.json()["credential"]
    return h


def state(h):
    r, _ = h.poll()
    assert r.status_code == 200, r.text
    return r.json()


def heartbeat(h, **extra):
    return requests.post("%s/v1/hosts/%s/heartbeat" % (h.nubod.url, h.id),
                         json=dict({"cpus": 8, "ram_mb": 16384, "disk_gb": 100}, **extra),
                         headers={"Authorization": "Bearer " + h.cred})


def two_hosts_one_network(cloud):
    """hv1 and hv2 (underlays 192.168.77.1 and .2), the external network,
    alpha's network "net" and instances vm1 and vm2 on it, one per host."""
    n, admin, c = cloud.nubod, cloud.admin, cloud.clients["member"]
    h1 = enroll(n, admin, "hv1", "192.168.77.1")
    h2 = enroll(n, admin, "hv2", "192.168.77.2")
    ext = admin.post("/v1/networks", {"name": "public", "cidr": "203.0.113.0/24",
                                      "external": True}).json()
    net = c.post("/v1/networks", {"name": "net", "cidr": "10.0.0.0/24",
                                  "dns": ["10.0.0.1"]}).json()
    c.post("/v1/server-groups", {"name": "apart", "policy": "anti-affinity"})
    vms = []
    for name in ("vm1", "vm2"):
        r = create(c, name, network="net", group="apart")
        assert r.status_code == 202, r.text
        vms.append(r.json())
    placed = [wait_for(lambda: instance(c, v["id"])["host"], what="placement") for v in vms]
    assert sorted(placed) == sorted([h1.id, h2.id])
    if placed[0] != h1.id:
        vms.reverse()
    return h1, h2, ext, net, vms


def test_an_instance_gets_a_port_on_its_network_and_hosts_see_it(cloud):
    c = cloud.clients["member"]
    h1, h2, ext, net, (vm1, vm2) = two_hosts_one_network(cloud)
    [a1] = vm1["addresses"]
    assert a1["network"] == net["id"] and a1["mac"].startswith("fa:16:3e:")
    port = c.get("/v1/ports/" + a1["port"]).json()
    assert (port["owner"], port["instance_id"], port["host"], port["status"]) == (
        "instance", vm1["id"], h1.id, "active")
    default = c.get("/v1/security-groups/default").json()
    s = state(h1)
    [n] = s["networks"]
    vni = cloud.admin.get("/v1/networks/" + net["id"]).json()["vni"]
    assert (n["id"], n["vni"], n["cidr"], n["gateway"], n["dns"], n["mtu"], n["external"],
            n["snat"], n["peers"]) == (net["id"], vni, "10.0.0.0/24", "10.0.0.1", ["10.0.0.1"],
                                       1450, False, True, ["192.168.77.2"])
    assert n["subnets"] == [{"cidr": "10.0.0.0/24", "gateway": "10.0.0.1"}]
    assert n["ports"] == [{"id": a1["port"], "mac": a1["mac"], "ip": a1["ip"],
                           "instance": vm1["id"], "security_groups": [default["id"]],
                           "floating_ip": None}]
    [g] = s["security_groups"]
    assert g["id"] == default["id"]
    rules = {r["direction"]: r for r in g["rules"]}
    assert (rules["egress"]["protocol"], rules["egress"]["cidr"],
            rules["egress"]["remote_ips"], rules["egress"]["ethertype"]) == (
        None, None, None, "IPv4")
    ips = sorted(x["addresses"][0]["ip"] for x in (vm1, vm2))
    assert sorted(rules["ingress"]["remote_ips"]) == ips
    assert s["external_network"] == {"id": ext["id"], "cidr": "203.0.113.0/24",
                                     "gateway": "203.0.113.1"}
    [item] = s["items"]
    assert item["nics"] == [{"port": a1["port"], "mac": a1["mac"], "ip": a1["ip"],
                             "network": net["id"]}]
    assert state(h2)["networks"][0]["peers"] == ["192.168.77.1"]
    hosts = {h["name"]: h for h in cloud.admin.get("/v1/hosts").json()["items"]}
    assert hosts["hv1"]["underlay_ip"] == "192.168.77.1"


def test_changes_wake_the_polls_of_the_hosts_they_concern(cloud):
    c = cloud.clients["member"]
    h1, h2, ext, net, (vm1, vm2) = two_hosts_one_network(cloud)
    other = enroll(cloud.nubod, cloud.admin, "hv3", "192.168.77.3")
    versions = {h.id: state(h)["version"] for h in (h1, h2, other)}
    waits = {h.id: Background(h, versions[h.id]) for h in (h1, h2)}
    bystander = Background(other, versions[other.id], wait=3)
    r = c.post("/v1/security-groups/default/rules", {"direction": "ingress", "protocol": "tcp",
                                                     "port_min": 22, "cidr": "192.0.2.0/24"})
    assert r.status_code == 201, r.text
    rule = r.json()
    for h in (h1, h2):
        resp, took = waits[h.id].result()
        assert resp.status_code == 200 and took < 5
        body = resp.json()
        assert body["version"] != versions[h.id]
        [g] = body["security_groups"]
        ssh = [x for x in g["rules"] if x["id"] == rule["id"]]
        assert ssh and (ssh[0]["port_min"], ssh[0]["port_max"], ssh[0]["cidr"]) == (
            22, 22, "192.0.2.0/24")
    resp, took = bystander.result()
    assert took >= 2.5 and resp.json()["version"] == versions[other.id]
    # removing it, and a floating IP, wake them too
    v1 = state(h1)["version"]
    w = Background(h1, v1)
    assert c.delete("/v1/security-groups/default/rules/" + rule["id"]).status_code == 204
    resp, took = w.result()
    assert took < 5 and rule["id"] not in str(resp.json()["security_groups"])
    f = c.post("/v1/floating-ips").json()
    w = Background(h1, state(h1)["version"])
    r = c.post("/v1/floating-ips/%s/associate" % f["id"], {"instance": vm1["id"]})
    assert r.status_code == 200, r.text
    resp, took = w.result()
    assert took < 5
    assert resp.json()["networks"][0]["ports"][0]["floating_ip"] == f["ip"]
    assert instance(c, vm1["id"])["addresses"][0]["floating_ip"] == f["ip"]
    # a port that changes groups: its host learns at once
    web = c.post("/v1/security-groups", {"name": "web"}).json()
    w = Background(h1, state(h1)["version"])
    r = c.patch("/v1/ports/" + vm1["addresses"][0]["port"], {"security_groups": ["web"]})
    assert r.status_code == 200, r.text
    resp, took = w.result()
    assert took < 5
    assert resp.json()["networks"][0]["ports"][0]["security_groups"] == [web["id"]]
    assert [g["id"] for g in resp.json()["security_groups"]] == [web["id"]]
    # a new port of the network on another host: hv1 gets a peer
    for h in (h1, h2):
        assert cloud.admin.patch("/v1/hosts/" + h.id, {"enabled": False}).status_code == 200
    w = Background(h1, state(h1)["version"])
    vm3 = create(c, "vm3", network="net").json()
    assert wait_for(lambda: instance(c, vm3["id"])["host"], what="placement") == other.id
    resp, took = w.result()
    assert took < 5 and resp.json()["networks"][0]["peers"] == ["192.168.77.2", "192.168.77.3"]


def test_deleting_instances_releases_or_detaches_their_ports(cloud):
    c = cloud.clients["member"]
    c.post("/v1/networks", {"name": "net", "cidr": "10.0.0.0/29"})
    # made for it: gone with it (never placed: at once), address free again
    i = create(c, "a", network="net").json()
    [addr] = i["addresses"]
    assert addr["ip"] == "10.0.0.2"
    assert c.delete("/v1/instances/" + i["id"]).status_code == 202
    assert_error(c.get("/v1/ports/" + addr["port"]), 404)
    # a user's port: detached, kept
    p = c.post("/v1/ports", {"network": "net", "name": "mine"}).json()
    j = create(c, "b", ports=["mine"]).json()
    assert j["addresses"][0]["port"] == p["id"]
    assert c.get("/v1/ports/mine").json()["instance_id"] == j["id"]
    assert_error(create(c, "c", ports=["mine"]), 409)
    assert_error(c.delete("/v1/ports/mine"), 409)
    assert c.delete("/v1/instances/" + j["id"]).status_code == 202
    assert c.get("/v1/ports/mine").json()["instance_id"] is None
    assert c.delete("/v1/ports/mine").status_code == 204
    assert c.get("/v1/ports").json()["items"] == []


def test_placed_instance_keeps_its_port_until_its_host_reports_it_gone(cloud):
    c = cloud.clients["member"]
    h = enroll(cloud.nubod, cloud.admin, "hv1", "192.168.77.1")
    c.post("/v1/networks", {"name": "net", "cidr": "10.0.0.0/24"})
    i = create(c, "a", network="net").json()
    wait_for(lambda: instance(c, i["id"])["host"], what="placement")
    h.report(i["id"], "running")
    port = i["addresses"][0]["port"]
    assert c.delete("/v1/instances/" + i["id"]).status_code == 202
    assert c.get("/v1/ports/" + port).json()["host"] == h.id
    assert state(h)["networks"][0]["ports"][0]["id"] == port
    h.report(i["id"], "gone")
    assert_error(c.get("/v1/ports/" + port), 404)
    assert state(h)["networks"] == []
    assert c.delete("/v1/networks/net").status_code == 204


def test_which_network_an_instance_gets(cloud):
    c = cloud.clients["member"]
    # no network at all: none, as before networking
    i = create(c, "bare").json()
    assert i["addresses"] == []
    assert_error(create(c, "x", network="nope"), 400, field="network")
    assert_error(create(c, "x", security_groups=["default"]), 400, field="security_groups")
    # the project's only network
    c.post("/v1/networks", {"name": "first", "cidr": "10.1.0.0/24"})
    assert create(c, "one").json()["addresses"][0]["ip"] == "10.1.0.2"
    # several, none named default: say which
    c.post("/v1/networks", {"name": "second", "cidr": "10.2.0.0/24"})
    assert_error(create(c, "x"), 400, field="network")
    c.post("/v1/networks", {"name": "default", "cidr": "10.3.0.0/24"})
    assert create(c, "two").json()["addresses"][0]["ip"] == "10.3.0.2"
    web = c.post("/v1/security-groups", {"name": "web"}).json()
    r = create(c, "three", network="second", security_groups=["web"])
    assert r.status_code == 202, r.text
    port = c.get("/v1/ports/" + r.json()["addresses"][0]["port"]).json()
    assert port["security_groups"] == [web["id"]]
    for body, field in (({"ports": "x"}, "ports"), ({"ports": []}, "ports"),
                        ({"ports": ["nope"]}, "ports"),
                        ({"ports": [port["id"]], "network": "first"}, "ports"),
                        ({"network": "first", "security_groups": ["nope"]}, "security_groups")):
        assert_error(create(c, "y", **body), 400, field=field)
    assert_error(create(c, "y", ports=[port["id"]]), 409)
    assert [x["name"] for x in c.get("/v1/instances").json()["items"]] == [
        "bare", "one", "three", "two"]


def test_underlay_ip_is_checked_and_shown(cloud):
    h = enroll(cloud.nubod, cloud.admin, "hv1", "192.168.77.1")
    assert_error(heartbeat(h, underlay_ip="192.168.77"), 400, field="underlay_ip")
    assert_error(heartbeat(h, underlay_ip=7), 400, field="underlay_ip")
    r = heartbeat(h, underlay_ip="192.168.77.9")
    assert r.status_code == 200 and r.json()["underlay_ip"] == "192.168.77.9"
    r = heartbeat(h)
    assert r.json()["underlay_ip"] is None
    assert cloud.admin.get("/v1/hosts/hv1").json()["underlay_ip"] is None
