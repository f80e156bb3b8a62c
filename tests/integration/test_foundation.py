"""nubod as a service: health, version, metrics, errors, limits, logs,
signals, configuration and the store's schema guard."""
import http.client
import os
import signal
import socket
import sqlite3
import subprocess
import time
from urllib.parse import urlparse

import pytest
import requests

from conftest import NUBOD, Client, assert_error


def zone_count(client):
    return len(client.get("/v1/zones?limit=1000").json()["items"])


def test_healthz_answers_ok_when_the_store_is_reachable(client):
    r = client.get("/v1/healthz")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok" and body["store"]["status"] == "ok"


def test_version_names_release_commit_and_schema(client):
    v = client.get("/v1/version").json()
    assert v["version"] == "0.1.0"
    assert v["api"] == "v1"
    assert v["commit"]
    assert v["schema_version"] == v["schema_latest"] >= 1


def test_every_response_carries_a_request_id(client):
    ids = set()
    for path in ("/v1/healthz", "/v1/zones", "/nope", "/v1/zones/does-not-exist"):
        r = client.get(path)
        assert r.headers["X-Request-Id"]
        ids.add(r.headers["X-Request-Id"])
    assert len(ids) == 4


def test_a_well_formed_client_request_id_is_kept_and_a_bad_one_replaced(client):
    r = client.get("/v1/healthz", headers={"X-Request-Id": "trace-123.abc_DEF"})
    assert r.headers["X-Request-Id"] == "trace-123.abc_DEF"
    r = client.get("/v1/healthz", headers={"X-Request-Id": "bad id with spaces"})
    assert r.headers["X-Request-Id"] != "bad id with spaces"
    assert r.headers["X-Request-Id"].startswith("req-")


def test_unknown_path_is_404_json(client):
    err = assert_error(client.get("/v1/no-such-thing"), 404, "NotFound")
    assert "/v1/no-such-thing" in err["message"]


def test_wrong_method_is_405_with_allow(client):
    r = client.request("PUT", "/v1/zones", body={})
    assert_error(r, 405, "MethodNotAllowed")
    assert set(r.headers["Allow"].replace(" ", "").split(",")) == {"GET", "HEAD", "POST"}


def raw_request(url, method, target, token=None):
    """Send a request line exactly as given (requests would re-encode it)."""
    u = urlparse(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    conn.putrequest(method, target, skip_accept_encoding=True)
    if token:
        conn.putheader("Authorization", "Bearer " + token)
    conn.endheaders()
    r = conn.getresponse()
    body = r.read()
    conn.close()
    return r.status, body


@pytest.mark.parametrize("target", ["/v1/zones/%zz", "/v1/zones/a%00b", "/v1/zones/%4",
                                    "/v1/zones?limit=%zz", "/v1/zones?name=%zz",
                                    "/v1/zones?cursor=%zz"])
def test_badly_encoded_path_or_query_is_400(nubod, target):
    status, body = raw_request(nubod.url, "GET", target, nubod.login())
    assert status == 400, body
    assert b'"InvalidParameter"' in body


def test_body_over_the_limit_is_413_and_changes_nothing(make_nubod):
    n = make_nubod(extra_args=["--body-limit", "4K"])
    c = n.client()
    before = zone_count(c)
    big = '{"name":"big","jurisdiction":"FR","description":"' + "x" * 8000 + '"}'
    assert_error(c.post("/v1/zones", raw=big, headers={"Content-Type": "application/json"}),
                 413, "PayloadTooLarge")

    def chunks():
        yield b'{"name":"big2","jurisdiction":"FR","description":"'
        for _ in range(10):
            yield b"y" * 1000
        yield b'"}'
    r = requests.post(n.url + "/v1/zones", data=chunks(), timeout=10)
    assert_error(r, 413, "PayloadTooLarge")
    assert zone_count(c) == before
    # a body just under the limit is fine
    ok = c.post("/v1/zones", {"name": "small", "jurisdiction": "FR", "description": "z" * 200})
    assert ok.status_code == 201


def test_metrics_expose_requests_latency_store_and_process(client):
    client.get("/v1/zones")
    client.get("/v1/zones")
    client.get("/nope")
    r = client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/plain")
    text = r.text
    assert 'nubo_http_requests_total{method="GET",route="/v1/zones",status="200"} 2' in text
    assert 'nubo_http_requests_total{method="GET",route="unmatched",status="404"} 1' in text
    assert 'nubo_http_request_duration_seconds_bucket{route="/v1/zones",le="+Inf"} 2' in text
    assert "nubo_http_request_duration_seconds_count" in text
    assert 'nubo_store_duration_seconds_count{op="statement"}' in text
    assert "nubo_build_info{version=\"0.1.0\"" in text
    rss = [l for l in text.splitlines() if l.startswith("process_resident_memory_bytes ")]
    assert rss and float(rss[0].split()[1]) > 1e6
    fds = [l for l in text.splitlines() if l.startswith("process_open_fds ")]
    assert fds and float(fds[0].split()[1]) >= 3
    assert "# TYPE nubo_http_request_duration_seconds histogram" in text


def test_one_structured_log_line_per_request(nubod, client):
    r = client.get("/v1/zones?limit=5", headers={"X-Request-Id": "log-check-1"})
    assert r.status_code == 200
    time.sleep(0.1)
    lines = [l for l in nubod.log().splitlines() if "request_id=log-check-1" in l]
    assert len(lines) == 1
    line = lines[0]
    for part in ("msg=request", "method=GET", "route=/v1/zones", "path=/v1/zones",
                 "status=200", "duration_ms=", "bytes=%d" % len(r.content)):
        assert part in line, line
    assert "limit=5" not in line  # query strings (later: signatures) are never logged


def test_sigterm_drains_a_request_in_flight_and_exits_0(nubod):
    u = urlparse(nubod.url)
    s = socket.create_connection((u.hostname, u.port))
    body = b'{"name":"drained","jurisdiction":"NO"}'
    head = ("POST /v1/zones HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            "Content-Length: %d\r\n\r\n" % len(body)).encode()
    head = head.replace(b"\r\n\r\n", ("\r\nAuthorization: Bearer %s\r\n\r\n"
                                        % nubod.login()).encode())
    s.sendall(head + body[:10])
    time.sleep(0.3)
    t0 = time.monotonic()
    nubod.proc.send_signal(signal.SIGTERM)
    time.sleep(0.3)
    s.sendall(body[10:])
    resp = http.client.HTTPResponse(s)
    resp.begin()
    assert resp.status == 201
    s.close()
    assert nubod.proc.wait(10) == 0
    assert time.monotonic() - t0 < 10
    # new connections are refused once draining started
    with pytest.raises(OSError):
        socket.create_connection((u.hostname, u.port), timeout=1)


def test_sigint_exits_0(nubod):
    nubod.proc.send_signal(signal.SIGINT)
    assert nubod.proc.wait(10) == 0


def test_sighup_reopens_the_log_file(make_nubod, tmp_path):
    log = tmp_path / "nubod-file.log"
    n = make_nubod(extra_args=["--log-file", str(log)])
    c = n.anon()
    c.get("/v1/healthz", headers={"X-Request-Id": "before-rotate"})
    time.sleep(0.1)
    rotated = tmp_path / "nubod-file.log.1"
    os.rename(log, rotated)
    n.proc.send_signal(signal.SIGHUP)
    deadline = time.monotonic() + 5
    while not log.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    c.get("/v1/healthz", headers={"X-Request-Id": "after-rotate"})
    time.sleep(0.1)
    assert "before-rotate" in rotated.read_text()
    assert "after-rotate" in log.read_text()
    assert "after-rotate" not in rotated.read_text()


def test_config_file_sets_options_and_flags_override_it(make_nubod, tmp_path):
    cfg = tmp_path / "nubod.ini"
    cfg.write_text("# test config\n[server]\nbody_limit = 2K\nthreads = 2\n"
                   "[log]\nlevel = info\n")
    n = make_nubod(extra_args=["--config", str(cfg)])
    c = n.client()
    desc = "d" * 250
    assert c.post("/v1/zones", {"name": "a", "jurisdiction": "FR",
                                "description": desc}).status_code == 201
    assert_error(c.post("/v1/zones", raw="{" + " " * 3000 + "}"), 413)
    n2 = make_nubod("n2", extra_args=["--config", str(cfg), "--body-limit", "8K"])
    assert n2.client().post("/v1/zones", raw="{" + " " * 3000 + "}").status_code == 400


@pytest.mark.parametrize("content,needle", [
    ("[server]\nlisten_typo = 1\n", "unknown key 'listen_typo' in [server]"),
    ("[nope]\n", "unknown section [nope]"),
    ("[server]\nthreads = many\n", "--threads wants a number"),
    ("threads = 2\n", "outside any [section]"),
])
def test_bad_config_file_is_refused_with_its_line(tmp_path, content, needle):
    cfg = tmp_path / "bad.ini"
    cfg.write_text(content)
    p = subprocess.run([NUBOD, "--config", str(cfg), "--data-dir", str(tmp_path / "d")],
                       capture_output=True, text=True, timeout=10)
    assert p.returncode != 0
    assert needle in p.stderr
    assert str(cfg) + ":" in p.stderr


def test_help_documents_every_flag():
    p = subprocess.run([NUBOD, "--help"], capture_output=True, text=True, timeout=10)
    assert p.returncode == 0
    for flag in ("--config", "--listen", "--data-dir", "--log-level", "--log-file",
                 "--body-limit", "--threads", "--store"):
        assert flag in p.stdout
    assert "127.0.0.1:8080" in p.stdout


def test_unknown_flag_is_refused():
    p = subprocess.run([NUBOD, "--no-such-flag"], capture_output=True, text=True, timeout=10)
    assert p.returncode != 0 and "unknown option '--no-such-flag'" in p.stderr


def test_data_survives_a_restart(make_nubod, tmp_path):
    n = make_nubod()
    token = n.login()
    z = n.client(token).post("/v1/zones", {"name": "kept", "jurisdiction": "DE"}).json()
    assert n.stop() == 0
    n.start()
    got = n.client(token).get("/v1/zones/kept")  # the session survives the restart too
    assert got.status_code == 200 and got.json()["id"] == z["id"]


def test_a_store_with_a_newer_schema_is_refused(make_nubod):
    n = make_nubod()
    assert n.stop() == 0
    db = sqlite3.connect(n.data_dir / "nubo.db")
    db.execute("INSERT INTO schema_migrations (version, name, applied_at) "
               "VALUES (999, 'from the future', '2030-01-01T00:00:00Z')")
    db.commit()
    db.close()
    n.expect_failure = True
    n.start(wait=False)
    assert n.proc.wait(15) != 0
    assert "schema is version 999" in n.log()
    assert "knows only up to version" in n.log()


def test_store_uses_wal_and_foreign_keys(nubod):
    db = sqlite3.connect(nubod.data_dir / "nubo.db")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    versions = [r[0] for r in db.execute("SELECT version FROM schema_migrations ORDER BY 1")]
    assert versions == list(range(1, len(versions) + 1))
    db.close()


@pytest.mark.parametrize("path", ["/v1/zones/%90o%e8", "/v1/instances/%ff%fe", "/v1/volumes/a%c3",
                                  "/v1/images/%ed%a0%80", "/v1/keypairs/%c0%af"])
def test_ids_that_are_not_utf8_get_a_json_error(nubod, path):
    r = nubod.client().get(path)
    assert r.status_code in (400, 404), r.text
    err = r.json()["error"]
    assert err["code"] and "?" in err["message"]
