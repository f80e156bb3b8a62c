"""Agents long-poll for their host's desired state: GET
/v1/hosts/{id}/instances?wait=S&since=V answers at once when the state's
version differs from V, else holds the request (without holding an HTTP
worker thread) until something changes that host's desired state or S
seconds pass. The tests use a host credential directly, as an agent would,
and real agents where the agent's own behaviour is the point."""
import concurrent.futures
import signal
import socket
import time

import pytest
import requests

from conftest import assert_error
from identity_util import Tenancy

FAST = ("--virt-type", "qemu")  # no KVM probe: these agents run no guests


def wait_for(pred, timeout=20, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


class Host:
    """A host enrolled through the agents' API, driven by hand."""

    def __init__(self, nubod, admin, name):
        t = admin.post("/v1/hosts/enroll-tokens").json()["token"]
        r = requests.post(nubod.url + "/v1/hosts/enroll",
                          json={"token": t, "name": name, "cpus": 8, "ram_mb": 16384,
                                "disk_gb": 100, "virt_type": "qemu"})
        assert r.status_code == 201, r.text
        self.nubod, self.id, self.cred = nubod, r.json()["id"], r.json()["credential"]

    def poll(self, wait=None, since=None, timeout=90):
        """One (long) poll: (response, seconds it took)."""
        params = {}
        if wait is not None:
            params["wait"] = wait
        if since is not None:
            params["since"] = since
        t0 = time.monotonic()
        r = requests.get("%s/v1/hosts/%s/instances" % (self.nubod.url, self.id), params=params,
                         headers={"Authorization": "Bearer " + self.cred}, timeout=timeout)
        return r, time.monotonic() - t0

    def version(self):
        r, _ = self.poll()
        assert r.status_code == 200, r.text
        return r.json()["version"]

    def report(self, iid, state):
        r = requests.post("%s/v1/hosts/%s/report" % (self.nubod.url, self.id),
                          json={"instances": [{"id": iid, "state": state}]},
                          headers={"Authorization": "Bearer " + self.cred})
        assert r.status_code == 204, r.text


def waiting(nubod):
    """Requests parked in a long poll, from /metrics."""
    for line in requests.get(nubod.url + "/metrics").text.splitlines():
        if line.startswith("nubo_http_waiting_requests "):
            return int(float(line.split()[1]))
    raise AssertionError("no nubo_http_waiting_requests in /metrics")


class Background:
    """A long poll running in a thread; .result() gives (response, seconds)."""

    def __init__(self, host, since, wait=30):
        self._pool = concurrent.futures.ThreadPoolExecutor(1)
        self._f = self._pool.submit(host.poll, wait, since)

    def done(self):
        return self._f.done()

    def result(self, timeout=60):
        try:
            return self._f.result(timeout)
        finally:
            self._pool.shutdown()


def parked(nubod, host, since, n=1, wait=30):
    """Start a long poll and return once nubod holds it (n waits in all)."""
    bg = Background(host, since, wait)
    wait_for(lambda: waiting(nubod) >= n, what="the long poll to wait")
    assert not bg.done()
    return bg


@pytest.fixture
def cloud(nubod):
    t = Tenancy(nubod)
    t.admin.post("/v1/flavors", {"name": "tiny", "vcpus": 1, "ram_mb": 64, "disk_gb": 1})
    img = t.admin.post("/v1/images", {"name": "guest", "visibility": "public"}).json()
    t.admin.request("PUT", "/v1/images/%s/file" % img["id"], raw=b"\0" * 65536)
    t.member = t.clients["member"]
    return t


def create(cloud, name):
    r = cloud.member.post("/v1/instances", {"name": name, "image": "guest", "flavor": "tiny"})
    assert r.status_code == 202, r.text
    return r.json()


def test_the_long_poll_answers_at_once_when_the_version_differs(nubod):
    h = Host(nubod, nubod.client(), "hv1")
    r, _ = h.poll()
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["items"] == [] and body["next"] is None
    v = body["version"]
    epoch, counter = v.split(".")
    assert len(epoch) == 16 and counter.isdigit()
    # no since, a since of another run of nubod, an older version: all at once
    for since in (None, "0123456789abcdef.0", "%s.%d" % (epoch, int(counter) + 5)):
        r, took = h.poll(wait=30, since=since)
        assert r.status_code == 200 and r.json()["version"] == v and took < 10, (since, took)
    # the current version with no wait asked for: at once too
    r, took = h.poll(wait=0, since=v)
    assert r.status_code == 200 and took < 10


def test_the_long_poll_returns_unchanged_when_the_wait_runs_out(nubod):
    h = Host(nubod, nubod.client(), "hv1")
    v = h.version()
    r, took = h.poll(wait=1, since=v)
    assert r.status_code == 200, r.text
    assert r.json()["version"] == v and r.json()["items"] == []
    assert 0.9 <= took < 10, took
    assert waiting(nubod) == 0


def test_a_placement_on_the_host_ends_its_long_poll(cloud):
    nubod = cloud.nubod
    h = Host(nubod, cloud.admin, "hv1")
    v = h.version()
    bg = parked(nubod, h, v, wait=30)
    t0 = time.monotonic()
    i = create(cloud, "web-1")
    r, took = bg.result()
    after_create = time.monotonic() - t0
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["version"] != v
    assert [x["id"] for x in body["items"]] == [i["id"]]
    assert body["items"][0]["state"] == "scheduled"
    # well before the 30 s wait: the scheduler places at once and wakes it
    assert after_create < 10, after_create


def test_actions_deletions_and_host_changes_end_the_long_poll(cloud):
    nubod, admin, member = cloud.nubod, cloud.admin, cloud.member
    h = Host(nubod, admin, "hv1")
    i = create(cloud, "web-1")
    wait_for(lambda: member.get("/v1/instances/" + i["id"]).json()["state"] == "scheduled",
             what="placement")
    h.report(i["id"], "running")

    def woken_by(change, check):
        v = h.version()
        bg = parked(nubod, h, v)
        change()
        r, took = bg.result()
        assert r.status_code == 200, r.text
        assert r.json()["version"] != v and took < 25, took
        check(r.json()["items"])

    woken_by(lambda: member.post("/v1/instances/%s/stop" % i["id"]),
             lambda items: items[0]["desired"] == "stopped")
    h.report(i["id"], "stopped")
    woken_by(lambda: member.post("/v1/instances/%s/start" % i["id"]),
             lambda items: items[0]["desired"] == "running")
    h.report(i["id"], "running")
    woken_by(lambda: member.post("/v1/instances/%s/reboot" % i["id"]),
             lambda items: items[0]["state"] == "rebooting")
    h.report(i["id"], "running")
    woken_by(lambda: admin.patch("/v1/hosts/" + h.id, {"enabled": False}), lambda items: True)
    woken_by(lambda: member.delete("/v1/instances/" + i["id"]),
             lambda items: items[0]["desired"] == "deleted")
    # the agent reports it gone: the instance leaves the host's desired state
    woken_by(lambda: h.report(i["id"], "gone"), lambda items: items == [])
    # a host deleted while its agent waits: the poll ends, the credential is dead
    v = h.version()
    bg = parked(nubod, h, v)
    assert admin.delete("/v1/hosts/" + h.id).status_code == 204
    r, took = bg.result()
    assert_error(r, 401)
    assert took < 25


def test_another_hosts_change_does_not_end_the_long_poll(cloud):
    nubod = cloud.nubod
    a = Host(nubod, cloud.admin, "a")
    b = Host(nubod, cloud.admin, "b")
    va = a.version()
    bg = parked(nubod, a, va, wait=3)
    cloud.admin.patch("/v1/hosts/" + b.id, {"enabled": False})
    r, took = bg.result()
    assert r.json()["version"] == va and took >= 2.5, took


def test_bad_wait_and_since_values_are_refused(nubod):
    h = Host(nubod, nubod.client(), "hv1")
    v = h.version()
    for wait in ("-1", "61", "abc", "1.5", "", "99999999999999999999999"):
        r, _ = h.poll(wait=wait, since=v)
        assert_error(r, 400, "InvalidParameter", "wait")
    for since in ("", "nope", "0123456789abcdef", "0123456789abcdef.", "0123456789ABCDEF.1",
                  "0123456789abcde.1", "0123456789abcdef.-1", "0123456789abcdef.1x",
                  v + "9" * 30):
        r, _ = h.poll(wait=1, since=since)
        assert_error(r, 400, "InvalidParameter", "since")
    # another host's desired state is not for this credential
    other = Host(nubod, nubod.client(), "hv2")
    r = requests.get("%s/v1/hosts/%s/instances?wait=5&since=%s" % (nubod.url, other.id, v),
                     headers={"Authorization": "Bearer " + h.cred})
    assert_error(r, 403)


def test_a_restarted_nubod_answers_an_old_version_at_once(make_nubod):
    n = make_nubod("n")
    h = Host(n, n.client(), "hv1")
    v = h.version()
    assert n.stop() == 0
    n.start()
    r, took = h.poll(wait=30, since=v)
    assert r.status_code == 200, r.text
    assert r.json()["version"] != v and took < 10, took


def test_many_waiting_long_polls_do_not_block_other_requests(make_nubod):
    n = make_nubod("n", extra_args=["--threads", "2"])
    admin = n.client()
    h = Host(n, admin, "hv1")
    v = h.version()
    pool = concurrent.futures.ThreadPoolExecutor(50)
    futures = [pool.submit(h.poll, 30, v) for _ in range(50)]
    try:
        wait_for(lambda: waiting(n) == 50, what="50 waiting long polls")
        # two worker threads, fifty waiting requests: others still get through
        for _ in range(5):
            t0 = time.monotonic()
            assert requests.get(n.url + "/v1/healthz", timeout=10).status_code == 200
            assert admin.get("/v1/hosts").status_code == 200
            assert time.monotonic() - t0 < 2
        assert not any(f.done() for f in futures)
        t0 = time.monotonic()
        admin.patch("/v1/hosts/" + h.id, {"enabled": False})
        results = [f.result(60) for f in futures]
        assert time.monotonic() - t0 < 20
        assert all(r.status_code == 200 and r.json()["version"] != v for r, _ in results)
        assert waiting(n) == 0
    finally:
        pool.shutdown()


def test_sigterm_ends_nubod_promptly_while_long_polls_wait(make_nubod):
    n = make_nubod("n")
    h = Host(n, n.client(), "hv1")
    v = h.version()
    polls = [parked(n, h, v, k + 1, wait=60) for k in range(3)]
    t0 = time.monotonic()
    assert n.stop() == 0
    assert time.monotonic() - t0 < 5
    for bg in polls:
        r, took = bg.result()
        # answered, as a drain answers every request in flight
        assert r.status_code == 200 and took < 30, took
        assert r.headers.get("Connection", "").lower() == "close"


def test_a_long_poll_whose_client_hangs_up_is_let_go(nubod):
    h = Host(nubod, nubod.client(), "hv1")
    v = h.version()
    host, port = nubod.url.split("//")[1].rsplit(":", 1)
    for _ in range(3):
        s = socket.create_connection((host, int(port)))
        s.sendall(("GET /v1/hosts/%s/instances?wait=60&since=%s HTTP/1.1\r\nHost: x\r\n"
                   "Authorization: Bearer %s\r\n\r\n" % (h.id, v, h.cred)).encode())
        wait_for(lambda: waiting(nubod) == 1, what="the long poll to wait")
        s.close()
        # let go well before its 60 s (the log shows it aborted)
        wait_for(lambda: waiting(nubod) == 0, timeout=10, what="the hung-up poll to end")
    wait_for(lambda: nubod.log().count("aborted=true") >= 3, timeout=10, what="3 aborted polls")


def test_a_long_poll_outlasts_the_idle_timeout(make_nubod):
    n = make_nubod("n", extra_args=["--idle-timeout", "1"])
    h = Host(n, n.client(), "hv1")
    v = h.version()
    r, took = h.poll(wait=3, since=v)
    assert r.status_code == 200 and r.json()["version"] == v and took >= 2.9, took


# ---- the agent ----

def test_an_agent_converges_a_placement_without_waiting_for_its_interval(cloud, make_agent):
    nubod = cloud.nubod
    tok = cloud.admin.post("/v1/hosts/enroll-tokens").json()["token"]
    make_agent(nubod, "hv1", *FAST, "--enroll", tok, "--heartbeat-interval", "40")
    # the agent's first pass is done and it waits on its long poll
    wait_for(lambda: waiting(nubod) == 1, timeout=60, what="the agent's long poll")
    t0 = time.monotonic()
    create(cloud, "web-1")
    # converging starts with fetching the instance's image, long before the
    # next heartbeat-paced pass (40 s) would have come; what follows (QEMU)
    # is test_compute's business
    wait_for(lambda: "route=/v1/hosts/{id}/images/{image} " in nubod.log(), timeout=30,
             what="the agent to fetch the image")
    assert time.monotonic() - t0 < 20, time.monotonic() - t0


def test_sigterm_ends_an_agent_in_a_long_poll_within_a_second_or_two(nubod, make_agent):
    tok = nubod.client().post("/v1/hosts/enroll-tokens").json()["token"]
    a = make_agent(nubod, "hv1", *FAST, "--enroll", tok, "--heartbeat-interval", "60")
    wait_for(lambda: waiting(nubod) == 1, timeout=60, what="the agent's long poll")
    t0 = time.monotonic()
    a.proc.send_signal(signal.SIGTERM)
    assert a.proc.wait(10) == 0
    assert time.monotonic() - t0 < 3, time.monotonic() - t0
    assert "stopping" in a.log()
