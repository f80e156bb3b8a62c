"""Identity and tenancy: login, tokens, access keys with SigV4 (signed by
botocore), quotas, audit, bootstrap and abuse resistance."""
import concurrent.futures
import datetime
import os
import stat
import subprocess
import time

import pytest
import requests

from conftest import NUBOD, assert_error
from identity_util import (PASSWORD, Tenancy, add_member, make_project, make_user, new_key,
                           presigned_url, signed)


@pytest.fixture
def tenancy(nubod):
    return Tenancy(nubod)


def test_bootstrap_admin_password_file_is_private(nubod):
    path = nubod.data_dir / "admin.password"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert len(nubod.admin_password()) >= 20
    assert "admin.password" in nubod.log()
    assert nubod.admin_password() not in nubod.log()


def test_every_route_but_health_and_metrics_needs_authentication(anon):
    assert anon.get("/v1/healthz").status_code == 200
    assert anon.get("/metrics").status_code == 200
    for path in ("/v1/version", "/v1/zones", "/v1/projects", "/v1/users", "/v1/audit",
                 "/v1/auth/whoami", "/v1/access-keys"):
        r = anon.get(path)
        assert_error(r, 401, "Unauthorized")
        assert r.headers["WWW-Authenticate"].startswith("Bearer")


def test_metrics_can_be_restricted_to_system_administrators(make_nubod):
    n = make_nubod(extra_args=["--metrics-public", "false"])
    assert_error(n.anon().get("/metrics"), 401)
    assert n.client().get("/metrics").status_code == 200
    admin = n.client()
    make_user(admin, "plain")
    assert_error(n.client(username="plain", password=PASSWORD).get("/metrics"), 403)


def test_login_whoami_logout(nubod, anon):
    r = anon.post("/v1/auth/login", {"username": "admin", "password": nubod.admin_password()})
    assert r.status_code == 200
    body = r.json()
    assert body["token"].startswith("nubo_") and len(body["token"]) >= 40
    assert body["user"]["name"] == "admin" and body["user"]["system_admin"] is True
    assert body["project"] is None
    expires = datetime.datetime.strptime(body["expires_at"], "%Y-%m-%dT%H:%M:%S.%fZ")
    hours = (expires - datetime.datetime.utcnow()).total_seconds() / 3600
    assert 11.9 < hours <= 12.0
    c = nubod.client(body["token"])
    who = c.get("/v1/auth/whoami").json()
    assert who["user"]["name"] == "admin" and who["credential"]["kind"] == "token"
    assert c.post("/v1/auth/logout").status_code == 204
    assert_error(c.get("/v1/auth/whoami"), 401)
    assert_error(c.post("/v1/auth/logout"), 401)


def test_wrong_password_and_unknown_user_look_the_same(nubod, anon):
    a = anon.post("/v1/auth/login", {"username": "admin", "password": "wrong password!"})
    b = anon.post("/v1/auth/login", {"username": "nobody", "password": "wrong password!"})
    assert_error(a, 401, "Unauthorized")
    assert_error(b, 401, "Unauthorized")
    assert a.json()["error"]["message"] == b.json()["error"]["message"]


def test_tokens_expire(make_nubod):
    n = make_nubod(extra_args=["--token-ttl", "2"])
    c = n.client()
    assert c.get("/v1/auth/whoami").status_code == 200
    time.sleep(2.5)
    assert_error(c.get("/v1/auth/whoami"), 401)


def test_project_scoped_login(tenancy):
    c = tenancy.clients["member"]
    who = c.get("/v1/auth/whoami").json()
    assert who["project"]["name"] == "alpha" and who["role"] == "member"
    r = requests.post(tenancy.nubod.url + "/v1/auth/login",
                      json={"username": "u-member", "password": PASSWORD, "project": "beta"})
    assert_error(r, 401, field="project")
    r2 = requests.post(tenancy.nubod.url + "/v1/auth/login",
                       json={"username": "u-member", "password": PASSWORD, "project": "nope"})
    assert r2.json()["error"]["code"] == r.json()["error"]["code"]


def test_password_change_disable_and_delete_revoke_tokens(tenancy):
    admin = tenancy.admin
    c = tenancy.login("reader", "alpha")
    uid = tenancy.users["reader"]["id"]
    # a user changes their own password only with the current one
    assert_error(c.patch("/v1/users/" + uid, {"password": "a brand new password"}), 400,
                 field="current_password")
    assert_error(c.patch("/v1/users/" + uid, {"password": "a brand new password",
                                              "current_password": "wrong wrong wrong"}),
                 400, field="current_password")
    r = c.patch("/v1/users/" + uid, {"password": "a brand new password",
                                     "current_password": PASSWORD})
    assert r.status_code == 200
    assert_error(c.get("/v1/auth/whoami"), 401)
    c2 = tenancy.nubod.client(username="u-reader", password="a brand new password")
    assert c2.get("/v1/auth/whoami").status_code == 200
    assert admin.patch("/v1/users/" + uid, {"disabled": True}).json()["disabled"] is True
    assert_error(c2.get("/v1/auth/whoami"), 401)
    r = requests.post(tenancy.nubod.url + "/v1/auth/login",
                      json={"username": "u-reader", "password": "a brand new password"})
    assert_error(r, 401)
    assert admin.delete("/v1/users/" + uid).status_code == 204
    assert_error(admin.delete("/v1/users/" + uid), 404)


def test_passwords_need_twelve_characters(client):
    assert_error(client.post("/v1/users", {"name": "short", "password": "elevenchars"}), 400,
                 field="password")
    assert client.post("/v1/users", {"name": "long", "password": "twelve chars"}).status_code == 201


def test_user_and_project_validation(client):
    assert_error(client.post("/v1/users", {"name": "bad name", "password": PASSWORD}), 400,
                 field="name")
    assert_error(client.post("/v1/users", {"name": "e", "password": PASSWORD,
                                           "email": "not-an-email"}), 400, field="email")
    assert_error(client.post("/v1/users", {"name": "admin", "password": PASSWORD}), 409)
    assert_error(client.post("/v1/projects", {"name": ""}), 400, field="name")
    make_project(client, "p1")
    assert_error(client.post("/v1/projects", {"name": "p1"}), 409)
    assert_error(client.post("/v1/projects/p1/members", {"user": "ghost", "role": "member"}),
                 400, field="user")
    assert_error(client.post("/v1/projects/p1/members", {"user": "admin", "role": "owner"}),
                 400, field="role")


def test_personal_api_tokens(tenancy):
    c = tenancy.clients["member"]
    r = c.post("/v1/auth/tokens", {"name": "ci-pipeline", "expires_in": 3600})
    assert r.status_code == 201
    t = r.json()
    assert t["token"].startswith("nubo_") and t["project_id"] == tenancy.alpha["id"]
    listed = c.get("/v1/auth/tokens").json()["items"]
    assert t["id"] in [x["id"] for x in listed]
    assert all("token" not in x for x in listed)
    ci = tenancy.nubod.client(t["token"])
    assert ci.get("/v1/auth/whoami").json()["credential"]["id"] == t["id"]
    assert_error(tenancy.clients["other"].delete("/v1/auth/tokens/" + t["id"]), 404)
    assert c.delete("/v1/auth/tokens/" + t["id"]).status_code == 204
    assert_error(ci.get("/v1/auth/whoami"), 401)
    assert_error(c.post("/v1/auth/tokens", {"name": "x", "expires_in": 10}), 400,
                 field="expires_in")
    assert_error(c.post("/v1/auth/tokens", {"name": "x"}, headers={"Idempotency-Key": "k1"}),
                 400, field="Idempotency-Key")


def test_access_keys_created_listed_deleted(tenancy):
    c = tenancy.clients["member"]
    r = c.post("/v1/access-keys", {"project": "alpha"})
    assert r.status_code == 201
    k = r.json()
    assert k["access_key_id"].startswith("NUBO") and len(k["access_key_id"]) == 20
    assert len(k["secret_access_key"]) == 40
    assert k["project_id"] == tenancy.alpha["id"]
    listed = c.get("/v1/access-keys").json()["items"]
    assert [x["access_key_id"] for x in listed] == [k["access_key_id"]]
    assert "secret_access_key" not in listed[0]
    other = tenancy.clients["other"].get("/v1/access-keys").json()["items"]
    assert k["access_key_id"] not in [x["access_key_id"] for x in other]
    assert_error(tenancy.clients["other"].delete("/v1/access-keys/" + k["access_key_id"]), 404)
    assert c.delete("/v1/access-keys/" + k["access_key_id"]).status_code == 204
    assert c.get("/v1/access-keys").json()["items"] == []
    # the secret is stored sealed, never in the clear
    import sqlite3
    db = sqlite3.connect(tenancy.nubod.data_dir / "nubo.db")
    dump = "\n".join(db.iterdump())
    db.close()
    assert k["secret_access_key"] not in dump


def test_sigv4_requests_signed_by_botocore_are_accepted(tenancy):
    key, secret = new_key(tenancy.clients["member"], "alpha")
    url = tenancy.nubod.url
    r = signed(url, key, secret, "GET", "/v1/auth/whoami")
    assert r.status_code == 200, r.text
    who = r.json()
    assert who["user"]["name"] == "u-member" and who["credential"]["kind"] == "access_key"
    assert who["project"]["name"] == "alpha" and who["role"] == "member"
    r = signed(url, key, secret, "GET", "/v1/zones?limit=5&name=x%20y")
    assert r.status_code == 200, r.text
    r = signed(url, key, secret, "GET", "/v1/projects/alpha/quotas")
    assert r.status_code == 200, r.text
    admin_key, admin_secret = new_key(tenancy.admin)
    r = signed(url, admin_key, admin_secret, "POST", "/v1/zones",
               {"name": "signed-zone", "jurisdiction": "DE"})
    assert r.status_code == 201, r.text


@pytest.mark.parametrize("case", ["wrong-secret", "tampered-header", "tampered-body",
                                  "skew-past", "skew-future", "unknown-key", "wrong-service",
                                  "unsigned-host"])
def test_sigv4_refusals(tenancy, case):
    key, secret = new_key(tenancy.clients["member"], "alpha")
    url = tenancy.nubod.url
    kw = {}
    if case == "wrong-secret":
        secret = secret[:-1] + ("A" if secret[-1] != "A" else "B")
    elif case == "tampered-header":
        kw = dict(headers={"X-Nubo-Test": "a"},
                  tamper=lambda h: h.__setitem__("X-Nubo-Test", "b"))
    elif case == "tampered-body":
        kw = dict(body={"name": "a"}, tamper=lambda h: None)
    elif case == "skew-past":
        kw = dict(skew=datetime.timedelta(minutes=-16))
    elif case == "skew-future":
        kw = dict(skew=datetime.timedelta(minutes=16))
    elif case == "unknown-key":
        key = "NUBOAAAAAAAAAAAAAAAA"
    elif case == "wrong-service":
        kw = dict(service="s3")
    elif case == "unsigned-host":
        kw = dict(tamper=lambda h: h.__setitem__(
            "Authorization", h["Authorization"].replace("host;", "")))
    if case == "tampered-body":
        from identity_util import AWSRequest, Credentials, botocore  # noqa: F401
        import json as _json
        req = AWSRequest(method="POST", url=url + "/v1/auth/tokens",
                         data=_json.dumps({"name": "a"}),
                         headers={"Content-Type": "application/json"})
        botocore.auth.SigV4Auth(Credentials(key, secret), "nubo", "nubo-1").add_auth(req)
        p = req.prepare()
        r = requests.post(p.url, headers=dict(p.headers), data=_json.dumps({"name": "b"}))
    else:
        r = signed(url, key, secret, "GET", "/v1/auth/whoami", **kw)
    assert_error(r, 401, "Unauthorized")


def test_presigned_urls_work_until_they_expire(tenancy):
    key, secret = new_key(tenancy.clients["member"], "alpha")
    url = presigned_url(tenancy.nubod.url, key, secret, "/v1/auth/whoami", expires=2)
    r = requests.get(url)
    assert r.status_code == 200 and r.json()["user"]["name"] == "u-member"
    time.sleep(3)
    err = assert_error(requests.get(url), 401)
    assert "expired" in err["message"]
    bad = url.replace("X-Amz-Signature=", "X-Amz-Signature=0")[:-1]
    assert_error(requests.get(bad), 401)


def test_logins_are_rate_limited_with_backoff(nubod, anon):
    make_user(nubod.client(), "victim")
    for _ in range(6):
        assert_error(anon.post("/v1/auth/login", {"username": "victim",
                                                  "password": "not the password"}), 401)
    r = anon.post("/v1/auth/login", {"username": "victim", "password": PASSWORD})
    assert_error(r, 429, "TooManyRequests")
    assert int(r.headers["Retry-After"]) >= 1
    # another user from elsewhere is not affected by this user's lock
    assert anon.post("/v1/auth/login", {"username": "admin",
                                        "password": nubod.admin_password()}).status_code == 200
    time.sleep(int(r.headers["Retry-After"]) + 0.2)
    assert anon.post("/v1/auth/login", {"username": "victim",
                                        "password": PASSWORD}).status_code == 200


def test_quota_holds_under_concurrent_creates(tenancy):
    admin = tenancy.admin
    r = admin.patch("/v1/projects/alpha/quotas", {"access_keys": 10})
    assert r.status_code == 200 and r.json()["quotas"]["access_keys"] == {"limit": 10, "used": 0}
    c = tenancy.clients["member"]
    with concurrent.futures.ThreadPoolExecutor(20) as ex:
        rs = list(ex.map(lambda _: c.post("/v1/access-keys", {"project": "alpha"}), range(20)))
    codes = sorted(r.status_code for r in rs)
    assert codes == [201] * 10 + [403] * 10
    err = [r for r in rs if r.status_code == 403][0].json()["error"]
    assert err["code"] == "QuotaExceeded" and err["field"] == "access_keys"
    assert "limit 10" in err["message"] and "in use 10" in err["message"]
    q = c.get("/v1/projects/alpha/quotas").json()["quotas"]["access_keys"]
    assert q == {"limit": 10, "used": 10}
    assert len(c.get("/v1/access-keys").json()["items"]) == 10
    key = c.get("/v1/access-keys").json()["items"][0]["access_key_id"]
    assert c.delete("/v1/access-keys/" + key).status_code == 204
    assert c.get("/v1/projects/alpha/quotas").json()["quotas"]["access_keys"]["used"] == 9


def test_quota_shape_and_validation(tenancy):
    q = tenancy.clients["reader"].get("/v1/projects/alpha/quotas").json()
    assert set(q["quotas"]) == {"instances", "vcpus", "ram_mb", "volumes", "volume_gb",
                                "networks", "floating_ips", "buckets", "object_bytes",
                                "access_keys"}
    admin = tenancy.admin
    assert_error(admin.patch("/v1/projects/alpha/quotas", {"cpus": 4}), 400, field="cpus")
    assert_error(admin.patch("/v1/projects/alpha/quotas", {"vcpus": -2}), 400, field="vcpus")
    assert_error(admin.patch("/v1/projects/alpha/quotas", {"vcpus": "8"}), 400, field="vcpus")
    r = admin.patch("/v1/projects/alpha/quotas", {"vcpus": -1, "instances": 3})
    assert r.json()["quotas"]["vcpus"]["limit"] == -1
    assert r.json()["quotas"]["instances"]["limit"] == 3


def test_each_mutating_call_has_its_audit_record(tenancy, anon):
    admin = tenancy.admin
    calls = []

    def note(resp, action, outcome):
        calls.append((resp.headers["X-Request-Id"], action, outcome, resp.status_code))

    note(admin.post("/v1/zones", {"name": "audited", "jurisdiction": "FR"}), "zone.create",
         "success")
    note(admin.patch("/v1/zones/audited", {"description": "x"}), "zone.update", "success")
    note(admin.post("/v1/zones", {"name": "audited", "jurisdiction": "FR"}), "zone.create",
         "failure")
    note(tenancy.clients["member"].post("/v1/zones", {"name": "nope", "jurisdiction": "FR"}),
         "zone.create", "failure")
    note(anon.post("/v1/projects", {"name": "anon"}), "project.create", "failure")
    note(anon.post("/v1/auth/login", {"username": "admin", "password": "wrong password!"}),
         "auth.login", "failure")
    note(tenancy.clients["padmin"].post("/v1/projects/alpha/members",
                                        {"user": "u-other", "role": "reader"}),
         "member.set", "success")
    note(admin.delete("/v1/zones/audited"), "zone.delete", "success")
    events = admin.get("/v1/audit?limit=1000").json()["items"]
    by_request = {e["request_id"]: e for e in events}
    for rid, action, outcome, status in calls:
        e = by_request.get(rid)
        assert e, "no audit record for %s %s" % (action, rid)
        assert (e["action"], e["outcome"], e["status"]) == (action, outcome, status)
        assert e["source"] == "127.0.0.1" and e["time"].endswith("Z")
    login = by_request[calls[5][0]]
    assert login["user"]["name"] == "admin"
    member = by_request[calls[6][0]]
    assert member["project_id"] == tenancy.alpha["id"]
    assert member["user"]["name"] == "u-padmin"
    # reads are not audited
    assert not [e for e in events if e["action"].startswith("zone.list")]


def test_audit_filters_paging_and_visibility(tenancy):
    admin = tenancy.admin
    for i in range(7):
        admin.post("/v1/zones", {"name": "az%d" % i, "jurisdiction": "SE"})
    page = admin.get("/v1/audit?action=zone.create&limit=3").json()
    seen = [e["id"] for e in page["items"]]
    while page["next"]:
        page = admin.get("/v1/audit?action=zone.create&limit=3&cursor=" + page["next"]).json()
        seen += [e["id"] for e in page["items"]]
    assert len(seen) == len(set(seen)) == 7
    times = [e["time"] for e in admin.get("/v1/audit?action=zone.create").json()["items"]]
    assert times == sorted(times, reverse=True)
    assert admin.get("/v1/audit?user=nobody").json()["items"] == []
    assert admin.get("/v1/audit?since=2999-01-01T00:00:00Z").json()["items"] == []
    assert_error(admin.get("/v1/audit?since=yesterday"), 400, field="since")
    # a project admin reads their project's events, not others', not the system's
    padmin = tenancy.clients["padmin"]
    r = padmin.get("/v1/audit")
    assert r.status_code == 200
    assert all(e["project_id"] == tenancy.alpha["id"] for e in r.json()["items"])
    assert r.json()["items"], "the alpha membership changes are alpha's events"
    assert_error(padmin.get("/v1/audit?project=beta"), 404)
    assert_error(tenancy.clients["member"].get("/v1/audit"), 403)
    # nothing in the API deletes or changes audit events
    assert_error(admin.delete("/v1/audit"), 405)
    assert_error(admin.request("PATCH", "/v1/audit", body={}), 405)


def test_no_secret_reaches_the_log(tenancy):
    c = tenancy.clients["member"]
    k = c.post("/v1/access-keys", {"project": "alpha"}).json()
    t = c.post("/v1/auth/tokens", {"name": "t"}).json()
    url = presigned_url(tenancy.nubod.url, k["access_key_id"], k["secret_access_key"],
                        "/v1/auth/whoami", 60)
    assert requests.get(url).status_code == 200
    signature = url.split("X-Amz-Signature=")[1]
    time.sleep(0.2)
    log = tenancy.nubod.log()
    for secret in (k["secret_access_key"], t["token"], c.token, PASSWORD,
                   tenancy.nubod.admin_password(), signature):
        assert secret not in log


def test_reset_admin_password(make_nubod):
    n = make_nubod()
    old_pw = n.admin_password()
    c = n.client()
    assert n.stop() == 0
    p = subprocess.run([NUBOD, "--data-dir", str(n.data_dir), "--reset-admin-password",
                        "--argon2-memory", "1024"], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    new_pw = n.admin_password()
    assert new_pw != old_pw and new_pw not in p.stderr
    n.start()
    assert_error(n.client(c.token).get("/v1/auth/whoami"), 401)
    r = requests.post(n.url + "/v1/auth/login", json={"username": "admin", "password": old_pw})
    assert_error(r, 401)
    assert n.client().get("/v1/auth/whoami").status_code == 200
