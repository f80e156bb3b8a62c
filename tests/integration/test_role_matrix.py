"""The role matrix: every route of the API, called by each kind of caller,
answers the status the access model says. Another project's resource is
always a 404, never a 403. Later capabilities add their routes to ROWS;
test_every_route_is_in_the_matrix keeps the table complete."""
import itertools
import re
from pathlib import Path

import pytest

from identity_util import PASSWORD, Tenancy, make_project, make_user, add_member

WHO = ("anon", "reader", "member", "padmin", "other", "sysadmin")
_n = itertools.count()


def uniq(prefix):
    return "%s%d" % (prefix, next(_n))


# Targets made fresh for one call (so a delete by one caller does not
# change what the next one sees). Each gets the Tenancy and the caller.
def fresh_zone(t, who):
    name = uniq("mz")
    t.admin.post("/v1/zones", {"name": name, "jurisdiction": "FR"})
    return name


def fresh_project(t, who):
    if who != "sysadmin":
        return "alpha"  # non-admins try the real project; the admin deletes a spare
    return make_project(t.admin, uniq("mp"))["id"]


def fresh_user(t, who):
    return make_user(t.admin, uniq("mu"))["id"]


def fresh_member(t, who):
    name = uniq("mm")
    make_user(t.admin, name)
    add_member(t.admin, "alpha", name, "reader")
    return name


def padmin_token(t, who):
    return t.clients["padmin"].post("/v1/auth/tokens", {"name": uniq("tk")}).json()["id"]


def padmin_key(t, who):
    return t.clients["padmin"].post("/v1/access-keys", {"project": "alpha"}).json()[
        "access_key_id"]


def fresh_flavor(t, who):
    name = uniq("mf")
    t.admin.post("/v1/flavors", {"name": name, "vcpus": 1, "ram_mb": 64, "disk_gb": 1})
    return name


def alpha_image(t, who):
    """A private image of project alpha, made by its admin."""
    return t.clients["padmin"].post("/v1/images", {"name": uniq("mi")}).json()["id"]


def alpha_active_image(t, who):
    iid = alpha_image(t, who)
    t.clients["padmin"].request("PUT", "/v1/images/%s/file" % iid, raw=b"\0" * 4096)
    return iid


def fresh_host(t, who):
    tok = t.admin.post("/v1/hosts/enroll-tokens").json()["token"]
    return t.anon_enroll(tok)


def alpha_instance(t, who):
    r = t.clients["padmin"].post("/v1/instances", {"name": uniq("vm"), "image": "mimg",
                                                   "flavor": "mx"})
    return r.json()["id"]


def alpha_job(t, who):
    r = t.clients["padmin"].post("/v1/instances", {"name": uniq("vm"), "image": "mimg",
                                                   "flavor": "mx"})
    return r.json()["job_id"]


def alpha_group(t, who):
    r = t.clients["padmin"].post("/v1/server-groups", {"name": uniq("sg"),
                                                       "policy": "anti-affinity"})
    return r.json()["id"]


def alpha_network(t, who):
    r = t.clients["padmin"].post("/v1/networks", {"name": uniq("mn"), "cidr": "10.50.0.0/24"})
    assert r.status_code == 201, r.text
    t.snet = r.json()["id"]
    return t.snet


def alpha_subnet(t, who):
    """A second subnet of the network alpha_network made just before."""
    name = uniq("ms")
    t.clients["padmin"].post("/v1/networks/%s/subnets" % t.snet,
                             {"name": name, "cidr": "10.51.0.0/24"})
    return name


def alpha_port(t, who):
    return t.clients["padmin"].post("/v1/ports", {"network": "mnet"}).json()["id"]


def alpha_secgroup(t, who):
    t.rsg = t.clients["padmin"].post("/v1/security-groups", {"name": uniq("msg")}).json()["id"]
    return t.rsg


def alpha_rule(t, who):
    """A rule of the group alpha_secgroup made just before."""
    return t.clients["padmin"].post("/v1/security-groups/%s/rules" % t.rsg,
                                    {"direction": "egress"}).json()["id"]


def alpha_fip(t, who):
    return t.clients["padmin"].post("/v1/floating-ips").json()["id"]


def enroll_body():
    return {"token": None, "name": uniq("mh"), "cpus": 1, "ram_mb": 128, "disk_gb": 1}


# (method, path, body, {who: status}) — "{x}" in path is filled by TARGETS[x].
A, R, M, P, O, S = WHO
ROWS = [
    ("GET", "/v1/healthz", None, dict.fromkeys(WHO, 200)),
    ("GET", "/metrics", None, dict.fromkeys(WHO, 200)),
    # the web console's files are public; it logs in through the API like any client
    ("GET", "/", None, dict.fromkeys(WHO, 200)),
    ("GET", "/ui/{asset}", None, dict.fromkeys(WHO, 200)),
    ("GET", "/v1/version", None, {A: 401, R: 200, M: 200, P: 200, O: 200, S: 200}),
    ("GET", "/v1/zones", None, {A: 401, R: 200, M: 200, P: 200, O: 200, S: 200}),
    ("POST", "/v1/zones", lambda: {"name": uniq("nz"), "jurisdiction": "DE"},
     {A: 401, R: 403, M: 403, P: 403, O: 403, S: 201}),
    ("GET", "/v1/zones/{zone}", None, {A: 401, R: 200, M: 200, P: 200, O: 200, S: 200}),
    ("PATCH", "/v1/zones/{zone}", {"description": "d"},
     {A: 401, R: 403, M: 403, P: 403, O: 403, S: 200}),
    ("DELETE", "/v1/zones/{zone}", None, {A: 401, R: 403, M: 403, P: 403, O: 403, S: 204}),
    ("POST", "/v1/auth/login", {"username": "u-reader", "password": PASSWORD},
     dict.fromkeys(WHO, 200)),
    ("GET", "/v1/auth/whoami", None, {A: 401, R: 200, M: 200, P: 200, O: 200, S: 200}),
    ("POST", "/v1/auth/tokens", lambda: {"name": uniq("t")},
     {A: 401, R: 201, M: 201, P: 201, O: 201, S: 201}),
    ("GET", "/v1/auth/tokens", None, {A: 401, R: 200, M: 200, P: 200, O: 200, S: 200}),
    ("DELETE", "/v1/auth/tokens/{ptoken}", None,
     {A: 401, R: 404, M: 404, P: 204, O: 404, S: 204}),
    ("POST", "/v1/users", lambda: {"name": uniq("nu"), "password": PASSWORD},
     {A: 401, R: 403, M: 403, P: 403, O: 403, S: 201}),
    ("GET", "/v1/users", None, {A: 401, R: 403, M: 403, P: 403, O: 403, S: 200}),
    ("GET", "/v1/users/{reader}", None, {A: 401, R: 200, M: 404, P: 404, O: 404, S: 200}),
    ("PATCH", "/v1/users/{reader}", {"email": "r@example.org"},
     {A: 401, R: 200, M: 404, P: 404, O: 404, S: 200}),
    ("DELETE", "/v1/users/{user}", None, {A: 401, R: 403, M: 403, P: 403, O: 403, S: 204}),
    ("POST", "/v1/projects", lambda: {"name": uniq("np")},
     {A: 401, R: 403, M: 403, P: 403, O: 403, S: 201}),
    ("GET", "/v1/projects", None, {A: 401, R: 200, M: 200, P: 200, O: 200, S: 200}),
    ("GET", "/v1/projects/alpha", None, {A: 401, R: 200, M: 200, P: 200, O: 404, S: 200}),
    ("PATCH", "/v1/projects/alpha", {"description": "d"},
     {A: 401, R: 403, M: 403, P: 200, O: 404, S: 200}),
    ("DELETE", "/v1/projects/{project}", None, {A: 401, R: 403, M: 403, P: 403, O: 404, S: 204}),
    ("GET", "/v1/projects/alpha/members", None,
     {A: 401, R: 200, M: 200, P: 200, O: 404, S: 200}),
    ("POST", "/v1/projects/alpha/members", lambda: {"user": "u-other", "role": "reader"},
     {A: 401, R: 403, M: 403, P: 201, O: 404, S: 201}),
    ("DELETE", "/v1/projects/alpha/members/{member}", None,
     {A: 401, R: 403, M: 403, P: 204, O: 404, S: 204}),
    ("GET", "/v1/projects/alpha/quotas", None, {A: 401, R: 200, M: 200, P: 200, O: 404, S: 200}),
    ("PATCH", "/v1/projects/alpha/quotas", {"networks": -1},
     {A: 401, R: 403, M: 403, P: 403, O: 404, S: 200}),
    ("POST", "/v1/access-keys", {"project": "alpha"},
     {A: 401, R: 201, M: 201, P: 201, O: 400, S: 201}),
    ("GET", "/v1/access-keys", None, {A: 401, R: 200, M: 200, P: 200, O: 200, S: 200}),
    ("DELETE", "/v1/access-keys/{pkey}", None, {A: 401, R: 404, M: 404, P: 204, O: 404, S: 204}),
    ("GET", "/v1/audit", None, {A: 401, R: 403, M: 403, P: 200, O: 403, S: 200}),
    ("GET", "/v1/audit?project=alpha", None, {A: 401, R: 403, M: 403, P: 200, O: 404, S: 200}),
    ("POST", "/v1/flavors", lambda: {"name": uniq("f"), "vcpus": 1, "ram_mb": 64,
                                     "disk_gb": 1},
     {A: 401, R: 403, M: 403, P: 403, O: 403, S: 201}),
    ("GET", "/v1/flavors", None, {A: 401, R: 200, M: 200, P: 200, O: 200, S: 200}),
    ("GET", "/v1/flavors/{flavor}", None, {A: 401, R: 200, M: 200, P: 200, O: 200, S: 200}),
    ("DELETE", "/v1/flavors/{flavor}", None, {A: 401, R: 403, M: 403, P: 403, O: 403, S: 204}),
    ("POST", "/v1/images", lambda: {"name": uniq("i")},
     {A: 401, R: 403, M: 201, P: 201, O: 201, S: 201}),
    ("GET", "/v1/images", None, {A: 401, R: 200, M: 200, P: 200, O: 200, S: 200}),
    ("GET", "/v1/images/{image}", None, {A: 401, R: 200, M: 200, P: 200, O: 404, S: 200}),
    ("PATCH", "/v1/images/{image}", {"description": "d"},
     {A: 401, R: 403, M: 200, P: 200, O: 404, S: 200}),
    ("DELETE", "/v1/images/{image}", None, {A: 401, R: 403, M: 204, P: 204, O: 404, S: 204}),
    ("PUT", "/v1/images/{image}/file", {"not": "a disk, but raw bytes are a raw image"},
     {A: 401, R: 403, M: 200, P: 200, O: 404, S: 200}),
    ("GET", "/v1/images/{active_image}/file", None,
     {A: 401, R: 200, M: 200, P: 200, O: 404, S: 200}),
    ("POST", "/v1/hosts/enroll-tokens", None, {A: 401, R: 403, M: 403, P: 403, O: 403, S: 201}),
    ("POST", "/v1/hosts/enroll", "enroll", dict.fromkeys(WHO, 201)),
    ("POST", "/v1/hosts/{host}/heartbeat", {"cpus": 1, "ram_mb": 128, "disk_gb": 1},
     {A: 401, R: 403, M: 403, P: 403, O: 403, S: 403}),
    ("GET", "/v1/hosts", None, {A: 401, R: 403, M: 403, P: 403, O: 403, S: 200}),
    ("GET", "/v1/hosts/{host}", None, {A: 401, R: 403, M: 403, P: 403, O: 403, S: 200}),
    ("PATCH", "/v1/hosts/{host}", {"enabled": False},
     {A: 401, R: 403, M: 403, P: 403, O: 403, S: 200}),
    ("DELETE", "/v1/hosts/{host}", None, {A: 401, R: 403, M: 403, P: 403, O: 403, S: 204}),
    ("POST", "/v1/instances", lambda: {"name": uniq("i"), "image": "mimg", "flavor": "mx"},
     {A: 401, R: 403, M: 202, P: 202, O: 202, S: 400}),
    ("GET", "/v1/instances", None, {A: 401, R: 200, M: 200, P: 200, O: 200, S: 200}),
    ("GET", "/v1/instances/{instance}", None, {A: 401, R: 200, M: 200, P: 200, O: 404, S: 200}),
    ("DELETE", "/v1/instances/{instance}", None,
     {A: 401, R: 403, M: 202, P: 202, O: 404, S: 202}),
    ("GET", "/v1/jobs/{job}", None, {A: 401, R: 200, M: 200, P: 200, O: 404, S: 200}),
    # actions need a running or stopped instance: these are neither, so 409 shows
    # that the caller got past the access checks
    ("POST", "/v1/instances/{instance}/start", None,
     {A: 401, R: 403, M: 409, P: 409, O: 404, S: 409}),
    ("POST", "/v1/instances/{instance}/stop", None,
     {A: 401, R: 403, M: 409, P: 409, O: 404, S: 409}),
    ("POST", "/v1/instances/{instance}/reboot", None,
     {A: 401, R: 403, M: 409, P: 409, O: 404, S: 409}),
    ("GET", "/v1/instances/{instance}/console", None,
     {A: 401, R: 200, M: 200, P: 200, O: 404, S: 200}),
    ("POST", "/v1/instances/{instance}/resize", {"flavor": "mx2"},
     {A: 401, R: 403, M: 409, P: 409, O: 404, S: 409}),
    ("POST", "/v1/instances/{instance}/snapshot", lambda: {"name": uniq("snap")},
     {A: 401, R: 403, M: 409, P: 409, O: 404, S: 409}),
    ("POST", "/v1/instances/{instance}/migrate", None,
     {A: 401, R: 403, M: 403, P: 403, O: 403, S: 409}),
    # the agents' API takes host credentials only
    ("GET", "/v1/hosts/{host}/instances", None, {A: 401, R: 403, M: 403, P: 403, O: 403, S: 403}),
    ("GET", "/v1/hosts/{host}/images/{image}", None,
     {A: 401, R: 403, M: 403, P: 403, O: 403, S: 403}),
    ("PUT", "/v1/hosts/{host}/images/{image}/file", None,
     {A: 401, R: 403, M: 403, P: 403, O: 403, S: 403}),
    ("POST", "/v1/hosts/{host}/report", {"instances": []},
     {A: 401, R: 403, M: 403, P: 403, O: 403, S: 403}),
    ("PUT", "/v1/hosts/{host}/instances/{instance}/console", None,
     {A: 401, R: 403, M: 403, P: 403, O: 403, S: 403}),
    ("POST", "/v1/server-groups", lambda: {"name": uniq("g"), "policy": "affinity"},
     {A: 401, R: 403, M: 201, P: 201, O: 201, S: 400}),
    ("GET", "/v1/server-groups", None, {A: 401, R: 200, M: 200, P: 200, O: 200, S: 200}),
    ("GET", "/v1/server-groups/{group}", None, {A: 401, R: 200, M: 200, P: 200, O: 404, S: 200}),
    ("DELETE", "/v1/server-groups/{group}", None,
     {A: 401, R: 403, M: 204, P: 204, O: 404, S: 204}),
    ("POST", "/v1/volumes", lambda: {"name": uniq("v"), "size_gb": 1},
     {A: 401, R: 403, M: 201, P: 201, O: 201, S: 400}),
    ("GET", "/v1/volumes", None, {A: 401, R: 200, M: 200, P: 200, O: 200, S: 200}),
    ("GET", "/v1/volumes/{volume}", None, {A: 401, R: 200, M: 200, P: 200, O: 404, S: 200}),
    # no such instance: 400 shows the caller got past the access checks
    ("POST", "/v1/volumes/{volume}/attach", {"instance": "nope"},
     {A: 401, R: 403, M: 400, P: 400, O: 404, S: 400}),
    ("POST", "/v1/volumes/{volume}/detach", None,
     {A: 401, R: 403, M: 409, P: 409, O: 404, S: 409}),
    ("POST", "/v1/volumes/{volume}/extend", {"size_gb": 2},
     {A: 401, R: 403, M: 202, P: 202, O: 404, S: 202}),
    ("DELETE", "/v1/volumes/{volume}", None, {A: 401, R: 403, M: 202, P: 202, O: 404, S: 202}),
    # a volume without data cannot be snapshotted: 409 past the access checks
    ("POST", "/v1/snapshots", lambda: {"volume": "mvol", "name": uniq("s")},
     {A: 401, R: 403, M: 409, P: 409, O: 400, S: 400}),
    ("GET", "/v1/snapshots", None, {A: 401, R: 200, M: 200, P: 200, O: 200, S: 200}),
    ("GET", "/v1/snapshots/{snapshot}", None, {A: 401, R: 404, M: 404, P: 404, O: 404, S: 404}),
    ("DELETE", "/v1/snapshots/{snapshot}", None,
     {A: 401, R: 404, M: 404, P: 404, O: 404, S: 404}),
    # storage pools: system admins define them, everyone may list them
    ("POST", "/v1/storage-pools", lambda: {"name": uniq("pool")},
     {A: 401, R: 403, M: 403, P: 403, O: 403, S: 201}),
    ("GET", "/v1/storage-pools", None, {A: 401, R: 200, M: 200, P: 200, O: 200, S: 200}),
    ("GET", "/v1/storage-pools/{pool}", None, {A: 401, R: 200, M: 200, P: 200, O: 200, S: 200}),
    ("DELETE", "/v1/storage-pools/{pool}", None,
     {A: 401, R: 403, M: 403, P: 403, O: 403, S: 204}),
    # keypairs belong to their user: the target is the member's own
    ("POST", "/v1/keypairs", lambda: {"name": uniq("kp")},
     {A: 401, R: 201, M: 201, P: 201, O: 201, S: 201}),
    ("GET", "/v1/keypairs", None, {A: 401, R: 200, M: 200, P: 200, O: 200, S: 200}),
    ("GET", "/v1/keypairs/{keypair}", None, {A: 401, R: 404, M: 200, P: 404, O: 404, S: 404}),
    ("DELETE", "/v1/keypairs/{keypair}", None,
     {A: 401, R: 404, M: 204, P: 404, O: 404, S: 404}),
    ("POST", "/v1/networks", lambda: {"name": uniq("n"), "cidr": "10.60.0.0/24"},
     {A: 401, R: 403, M: 201, P: 201, O: 201, S: 400}),
    ("GET", "/v1/networks", None, {A: 401, R: 200, M: 200, P: 200, O: 200, S: 200}),
    ("GET", "/v1/networks/{network}", None, {A: 401, R: 200, M: 200, P: 200, O: 404, S: 200}),
    ("DELETE", "/v1/networks/{network}", None, {A: 401, R: 403, M: 204, P: 204, O: 404, S: 204}),
    ("GET", "/v1/networks/{network}/subnets", None,
     {A: 401, R: 200, M: 200, P: 200, O: 404, S: 200}),
    ("POST", "/v1/networks/{network}/subnets", lambda: {"name": uniq("s"), "cidr": "10.61.0.0/24"},
     {A: 401, R: 403, M: 201, P: 201, O: 404, S: 201}),
    ("DELETE", "/v1/networks/{network}/subnets/{subnet}", None,
     {A: 401, R: 403, M: 204, P: 204, O: 404, S: 204}),
    # mnet is alpha's: another project's network is not there to use (400)
    ("POST", "/v1/ports", {"network": "mnet"}, {A: 401, R: 403, M: 201, P: 201, O: 400, S: 400}),
    ("GET", "/v1/ports", None, {A: 401, R: 200, M: 200, P: 200, O: 200, S: 200}),
    ("GET", "/v1/ports/{port}", None, {A: 401, R: 200, M: 200, P: 200, O: 404, S: 200}),
    ("PATCH", "/v1/ports/{port}", {"security_groups": ["default"]},
     {A: 401, R: 403, M: 200, P: 200, O: 404, S: 200}),
    ("DELETE", "/v1/ports/{port}", None, {A: 401, R: 403, M: 204, P: 204, O: 404, S: 204}),
    ("POST", "/v1/security-groups", lambda: {"name": uniq("g")},
     {A: 401, R: 403, M: 201, P: 201, O: 201, S: 400}),
    ("GET", "/v1/security-groups", None, {A: 401, R: 200, M: 200, P: 200, O: 200, S: 200}),
    ("GET", "/v1/security-groups/{secgroup}", None,
     {A: 401, R: 200, M: 200, P: 200, O: 404, S: 200}),
    ("DELETE", "/v1/security-groups/{secgroup}", None,
     {A: 401, R: 403, M: 204, P: 204, O: 404, S: 204}),
    ("POST", "/v1/security-groups/{secgroup}/rules", {"direction": "ingress", "protocol": "tcp",
                                                      "port_min": 22},
     {A: 401, R: 403, M: 201, P: 201, O: 404, S: 201}),
    ("DELETE", "/v1/security-groups/{secgroup}/rules/{rule}", None,
     {A: 401, R: 403, M: 204, P: 204, O: 404, S: 204}),
    ("POST", "/v1/floating-ips", None, {A: 401, R: 403, M: 201, P: 201, O: 201, S: 400}),
    ("GET", "/v1/floating-ips", None, {A: 401, R: 200, M: 200, P: 200, O: 200, S: 200}),
    ("GET", "/v1/floating-ips/{fip}", None, {A: 401, R: 200, M: 200, P: 200, O: 404, S: 200}),
    ("DELETE", "/v1/floating-ips/{fip}", None, {A: 401, R: 403, M: 204, P: 204, O: 404, S: 204}),
    # no such instance: 400 past the access checks; not associated: 409
    ("POST", "/v1/floating-ips/{fip}/associate", {"instance": "nope"},
     {A: 401, R: 403, M: 400, P: 400, O: 404, S: 400}),
    ("POST", "/v1/floating-ips/{fip}/disassociate", None,
     {A: 401, R: 403, M: 409, P: 409, O: 404, S: 409}),
    # logout last: it ends each caller's session
    ("POST", "/v1/auth/logout", None, {A: 401, R: 204, M: 204, P: 204, O: 204, S: 204}),
]

TARGETS = {
    "zone": fresh_zone, "project": fresh_project, "user": fresh_user, "member": fresh_member,
    "ptoken": padmin_token, "pkey": padmin_key,
    "reader": lambda t, who: t.users["reader"]["id"],
    "asset": lambda t, who: "app.js",
    "flavor": fresh_flavor, "image": alpha_image, "active_image": alpha_active_image,
    "host": fresh_host, "instance": alpha_instance, "job": alpha_job, "group": alpha_group,
    "snapshot": lambda t, who: "00000000-0000-4000-8000-00000000dead",
    "volume": lambda t, who: t.clients["padmin"].post("/v1/volumes", {"name": uniq("mv"),
                                                                     "size_gb": 1}).json()["id"],
    "pool": lambda t, who: t.admin.post("/v1/storage-pools",
                                        {"name": uniq("pool")}).json()["id"],
    "keypair": lambda t, who: t.clients["member"].post("/v1/keypairs",
                                                       {"name": uniq("mk")}).json()["name"],
    "network": alpha_network, "subnet": alpha_subnet, "port": alpha_port,
    "secgroup": alpha_secgroup, "rule": alpha_rule, "fip": alpha_fip,
}


def test_role_matrix(nubod):
    import requests
    t = Tenancy(nubod)

    def anon_enroll(tok):
        body = dict(enroll_body(), token=tok)
        return requests.post(nubod.url + "/v1/hosts/enroll", json=body).json()["id"]
    t.anon_enroll = anon_enroll
    for p in ("alpha", "beta"):
        t.admin.patch("/v1/projects/%s/quotas" % p,
                      {"access_keys": 1000, "instances": -1, "vcpus": -1, "ram_mb": -1,
                       "volumes": -1, "volume_gb": -1, "networks": -1,
                       "floating_ips": -1})
    t.admin.post("/v1/flavors", {"name": "mx", "vcpus": 1, "ram_mb": 64, "disk_gb": 1})
    t.admin.post("/v1/flavors", {"name": "mx2", "vcpus": 2, "ram_mb": 128, "disk_gb": 1})
    t.clients["padmin"].post("/v1/volumes", {"name": "mvol", "size_gb": 1})
    t.clients["padmin"].post("/v1/networks", {"name": "mnet", "cidr": "10.40.0.0/16"})
    t.admin.post("/v1/networks", {"name": "mpublic", "cidr": "203.0.113.0/24", "external": True})
    img = t.admin.post("/v1/images", {"name": "mimg", "visibility": "public"}).json()
    t.admin.request("PUT", "/v1/images/%s/file" % img["id"], raw=b"\0" * 4096)
    failures = []
    for method, path, body, expect in ROWS:
        for who in WHO:
            concrete = re.sub(r"\{(\w+)\}", lambda m: TARGETS[m.group(1)](t, who), path)
            if body == "enroll":
                b = dict(enroll_body(), token=t.admin.post("/v1/hosts/enroll-tokens").json()[
                    "token"])
            else:
                b = body() if callable(body) else body
            r = t.clients[who].request(method, concrete, body=b)
            if r.status_code != expect[who]:
                failures.append("%s %s as %s: %d, expected %d (%s)" % (
                    method, concrete, who, r.status_code, expect[who], r.text[:120]))
    assert not failures, "\n".join(failures)


def test_every_route_is_in_the_matrix():
    route = re.compile(r'\{\s*"(GET|POST|PUT|PATCH|DELETE)",\s*"([^"]+)",')
    served = set()
    for f in (Path(__file__).resolve().parents[2] / "src" / "api").glob("api_*.c"):
        served |= set(route.findall(f.read_text()))
    in_matrix = {(m, re.sub(r"\?.*", "", re.sub(r"\{\w+\+?\}", "{}", p))) for m, p, _, _ in ROWS}
    missing = {(m, p) for m, p in served
               if (m, re.sub(r"\{\w+\+?\}", "{}", p).replace("/alpha", "/{}")) not in
               {(mm, pp.replace("/alpha", "/{}")) for mm, pp in in_matrix}}
    assert not missing, "routes missing from the role matrix: %s" % sorted(missing)
