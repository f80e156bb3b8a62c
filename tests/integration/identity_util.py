"""Helpers for identity tests: tenants with users in every role, and
requests signed by botocore's own SigV4 signer (Debian's python3-botocore)."""
import datetime
import json
import types

import botocore.auth
import requests
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from conftest import Client

PASSWORD = "correct horse battery staple"


def make_user(admin, name, password=PASSWORD, **extra):
    r = admin.post("/v1/users", dict(name=name, password=password, **extra))
    assert r.status_code == 201, r.text
    return r.json()


def make_project(admin, name):
    r = admin.post("/v1/projects", {"name": name})
    assert r.status_code == 201, r.text
    return r.json()


def add_member(admin, project, user, role):
    r = admin.post("/v1/projects/%s/members" % project, {"user": user, "role": role})
    assert r.status_code == 201, r.text


class Tenancy:
    """Project alpha with a reader, a member and an admin; project beta with
    a member ("another project"); and the system administrator. Each user
    holds a token scoped to their project."""

    ROLES = ("reader", "member", "padmin", "other")

    def __init__(self, nubod):
        self.nubod = nubod
        self.admin = nubod.client()
        self.alpha = make_project(self.admin, "alpha")
        self.beta = make_project(self.admin, "beta")
        self.users = {}
        for who, project, role in (("reader", "alpha", "reader"), ("member", "alpha", "member"),
                                   ("padmin", "alpha", "admin"), ("other", "beta", "member")):
            self.users[who] = make_user(self.admin, "u-" + who)
            add_member(self.admin, project, "u-" + who, role)
        self.clients = {"anon": nubod.anon(), "sysadmin": self.admin}
        for who in self.ROLES:
            project = "beta" if who == "other" else "alpha"
            self.clients[who] = self.login(who, project)

    def login(self, who, project=None):
        return self.nubod.client(username="u-" + who, password=PASSWORD, project=project)


class _Clock(datetime.datetime):
    """datetime.datetime whose utcnow() is shifted by `offset`."""
    offset = datetime.timedelta(0)

    @classmethod
    def utcnow(cls):
        return datetime.datetime.utcnow() + cls.offset


def signed(base, key_id, secret, method, path, body=None, headers=None, skew=None,
           service="nubo", tamper=None):
    """Send a request signed with SigV4 by botocore. skew shifts the signing
    clock; tamper(headers) may change the headers after signing."""
    h = dict(headers or {})
    data = None
    if body is not None:
        data = json.dumps(body)
        h.setdefault("Content-Type", "application/json")
    req = AWSRequest(method=method, url=base + path, data=data, headers=h)
    saved = botocore.auth.datetime
    if skew is not None:
        _Clock.offset = skew
        botocore.auth.datetime = types.SimpleNamespace(datetime=_Clock)
    try:
        botocore.auth.SigV4Auth(Credentials(key_id, secret), service, "nubo-1").add_auth(req)
    finally:
        botocore.auth.datetime = saved
    p = req.prepare()
    sent = dict(p.headers)
    if tamper:
        tamper(sent)
    return requests.request(method, p.url, headers=sent, data=p.body, timeout=30)


def presigned_url(base, key_id, secret, path, expires):
    req = AWSRequest(method="GET", url=base + path)
    botocore.auth.SigV4QueryAuth(Credentials(key_id, secret), "nubo", "nubo-1",
                                 expires=expires).add_auth(req)
    return req.url


def new_key(client, project=None):
    r = client.post("/v1/access-keys", {"project": project} if project else None)
    assert r.status_code == 201, r.text
    k = r.json()
    return k["access_key_id"], k["secret_access_key"]


def anon_client(url):
    return Client(url)
