"""The web console's files: nubod serves the directory given with --web-dir
at / (index.html) and /ui/..., with their content types, validators for
conditional requests and the security headers (a CSP without inline script),
and never anything outside that directory: no '..', no encoded tricks, no
symbolic links, no hidden files, no directory listings."""
import http.client
from urllib.parse import urlsplit

import pytest
import requests

from conftest import ROOT, assert_error

WEB = ROOT / "web"
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
SECRET = b"TOPSECRET-not-for-the-web"


def raw_get(url, path, method="GET", headers=None):
    """Send path exactly as written (requests would normalise dot segments)."""
    u = urlsplit(url)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    try:
        c.putrequest(method, path, skip_accept_encoding=True)
        for k, v in (headers or {}).items():
            c.putheader(k, v)
        c.endheaders()
        r = c.getresponse()
        return r.status, dict(r.getheaders()), r.read()
    finally:
        c.close()


def assert_security_headers(h):
    assert h["Content-Security-Policy"] == CSP
    assert h["X-Content-Type-Options"] == "nosniff"
    assert h["Referrer-Policy"] == "no-referrer"
    assert h["X-Frame-Options"] == "DENY"


@pytest.fixture
def site(tmp_path, make_nubod):
    """A web dir of our own beside a secret file, with links that point out."""
    web = tmp_path / "site" / "web"
    (web / "sub").mkdir(parents=True)
    (web / "index.html").write_text("<!doctype html><title>t</title>")
    (web / "app.js").write_text("export const x = 1;\n")
    (web / "sub" / "page.css").write_text("body{}")
    (web / ".hidden").write_text("hidden")
    (tmp_path / "site" / "secret.txt").write_bytes(SECRET)
    (web / "link.txt").symlink_to("../secret.txt")
    (web / "dirlink").symlink_to("..")
    (web / "abs.txt").symlink_to(tmp_path / "site" / "secret.txt")
    n = make_nubod("site", extra_args=["--web-dir", str(web)])
    n.web = web
    return n


def test_the_console_is_served_at_the_root_with_security_headers(nubod):
    r = requests.get(nubod.url + "/")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "text/html; charset=utf-8"
    assert r.content == (WEB / "index.html").read_bytes()
    assert_security_headers(r.headers)
    assert r.headers["Cache-Control"] == "no-cache"
    assert r.headers["ETag"].startswith('"') and r.headers["Last-Modified"].endswith(" GMT")
    # the page loads its code as modules from this origin, nothing inline
    assert b'<script type="module" src="/ui/app.js"></script>' in r.content
    assert b"<script>" not in r.content and b" onclick=" not in r.content
    assert b"http://" not in r.content and b"https://" not in r.content


@pytest.mark.parametrize("name,ctype", [
    ("app.js", "text/javascript; charset=utf-8"),
    ("api.js", "text/javascript; charset=utf-8"),
    ("style.css", "text/css; charset=utf-8"),
    ("logo.svg", "image/svg+xml"),
    ("index.html", "text/html; charset=utf-8"),
])
def test_assets_come_with_their_content_type(nubod, name, ctype):
    r = requests.get(nubod.url + "/ui/" + name)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == ctype
    assert r.content == (WEB / name).read_bytes()
    assert_security_headers(r.headers)


def test_every_asset_is_served_and_none_loads_from_elsewhere(nubod):
    for f in sorted(WEB.iterdir()):
        r = requests.get(nubod.url + "/ui/" + f.name)
        assert r.status_code == 200, f.name
        # no CDN, no external fonts: nothing but this origin (an SVG's
        # namespace is a name, not something loaded)
        text = r.content.replace(b'xmlns="http://www.w3.org/2000/svg"', b"")
        for bad in (b"http://", b"https://", b"//cdn", b"@import", b"eval(", b"new Function"):
            assert bad not in text, (f.name, bad)


def test_head_answers_headers_without_a_body(nubod):
    size = (WEB / "style.css").stat().st_size
    status, h, body = raw_get(nubod.url, "/ui/style.css", "HEAD")
    assert (status, body) == (200, b"")
    assert int(h["Content-Length"]) == size
    assert h["Content-Type"] == "text/css; charset=utf-8"
    assert_security_headers(h)


def test_conditional_requests_answer_304(nubod):
    url = nubod.url + "/ui/app.js"
    first = requests.get(url)
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    for headers in ({"If-None-Match": etag}, {"If-None-Match": '"x", W/' + etag},
                    {"If-None-Match": "*"}, {"If-Modified-Since": modified}):
        r = requests.get(url, headers=headers)
        assert r.status_code == 304, headers
        assert r.content == b""
        assert r.headers["ETag"] == etag
        assert_security_headers(r.headers)
    for headers in ({"If-None-Match": '"something-else"'},
                    {"If-Modified-Since": "Thu, 01 Jan 1970 00:00:00 GMT"},
                    {"If-Modified-Since": "not a date"},
                    # If-None-Match decides when both are sent
                    {"If-None-Match": '"other"', "If-Modified-Since": modified}):
        r = requests.get(url, headers=headers)
        assert r.status_code == 200, headers
        assert r.content == (WEB / "app.js").read_bytes()
    status, _, body = raw_get(nubod.url, "/ui/app.js", "HEAD", {"If-None-Match": etag})
    assert (status, body) == (304, b"")


def test_a_changed_file_gets_a_new_etag(site):
    url = site.url + "/ui/sub/page.css"
    a = requests.get(url)
    assert (a.status_code, a.content) == (200, b"body{}")
    (site.web / "sub" / "page.css").write_text("body{color:red}")
    b = requests.get(url, headers={"If-None-Match": a.headers["ETag"]})
    assert (b.status_code, b.content) == (200, b"body{color:red}")
    assert b.headers["ETag"] != a.headers["ETag"]


def test_missing_files_and_directories_are_404(nubod):
    for path in ("/ui/no-such-file.js", "/ui/nope/deeper.css", "/index.html", "/ui/", "/ui",
                 "/favicon.ico"):
        r = requests.get(nubod.url + path)
        assert_error(r, 404)
        if path.startswith("/ui/") and path != "/ui/":
            assert_security_headers(r.headers)


def test_no_directory_listing(site):
    for path in ("/ui/sub", "/ui/sub/"):
        status, h, body = raw_get(site.url, path)
        assert 400 <= status < 500, path
        assert b"page.css" not in body


@pytest.mark.parametrize("path", [
    "/ui/../secret.txt", "/../secret.txt", "/ui/../../secret.txt",
    "/ui/%2e%2e/secret.txt", "/ui/%2E%2E/secret.txt", "/ui/%2e%2e%2fsecret.txt",
    "/ui/..%2fsecret.txt", "/ui/..%2Fsecret.txt", "/ui/%2e./secret.txt",
    "/ui/sub/..%2f..%2fsecret.txt", "/ui/%252e%252e/secret.txt", "/ui/..%5csecret.txt",
    "/ui/.%2e/secret.txt", "/ui/./index.html", "/ui//secret.txt", "/ui/%2fetc%2fpasswd",
    "/ui/index.html%00.js", "/ui/%00", "/ui/.hidden", "/ui/%2ehidden",
    "/ui/link.txt", "/ui/abs.txt", "/ui/dirlink/secret.txt", "/ui/dirlink/web/index.html",
    "/ui/dirlink/data/admin.password",
    "/ui/sub/../../secret.txt", "/ui/app.js/", "/ui/app.js%2f",
])
def test_paths_out_of_the_directory_are_refused(site, path):
    status, h, body = raw_get(site.url, path)
    assert 400 <= status < 500, (path, status, body)
    assert SECRET not in body and body != b"hidden"
    assert h.get("Content-Type", "").startswith("application/json")


def test_a_nul_or_bad_escape_is_refused(site):
    for path in ("/ui/a%zzb", "/ui/%", "/ui/%0"):
        status, _, body = raw_get(site.url, path)
        assert status == 400, path
        assert SECRET not in body


def test_only_get_and_head(nubod):
    r = requests.post(nubod.url + "/", data="x")
    assert_error(r, 405)
    assert r.headers["Allow"] == "GET, HEAD"
    assert_error(requests.put(nubod.url + "/ui/app.js", data="x"), 405)
    assert_error(requests.delete(nubod.url + "/ui/app.js"), 405)


def test_a_missing_web_dir_answers_404_and_the_api_still_works(make_nubod, tmp_path):
    n = make_nubod("bare", extra_args=["--web-dir", str(tmp_path / "no-such-dir")])
    err = assert_error(requests.get(n.url + "/"), 404)
    assert "not installed" in err["message"] and "--web-dir" in err["message"]
    assert requests.get(n.url + "/v1/healthz").status_code == 200
    assert "the web console's files are not in" in n.log()


def test_an_empty_web_dir_turns_the_console_off(make_nubod):
    n = make_nubod("off", extra_args=["--web-dir", ""])
    assert_error(requests.get(n.url + "/"), 404)
    assert_error(requests.get(n.url + "/ui/app.js"), 404)
    assert "the web console is off" in n.log()


def test_the_api_keeps_its_own_answers(nubod):
    """The console's routes do not shadow the API or /metrics."""
    assert requests.get(nubod.url + "/v1/healthz").json()["status"] == "ok"
    assert requests.get(nubod.url + "/metrics").status_code == 200
    r = requests.get(nubod.url + "/v1/nothing-here")
    assert_error(r, 404)
    assert "Content-Security-Policy" not in r.headers
