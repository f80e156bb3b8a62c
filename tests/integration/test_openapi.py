"""docs/openapi.yaml describes exactly the API routes nubod serves. The web
console's files (src/api/api_web.c: `/` and `/ui/...`) are not API: they
are described in docs/api.md and tested in test_web.py."""
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
ROUTE = re.compile(r'\{\s*"(GET|POST|PUT|PATCH|DELETE)",\s*"([^"]+)",')


def served_routes():
    routes = set()
    for f in (ROOT / "src" / "api").glob("api_*.c"):
        if f.name == "api_web.c":
            continue
        routes |= {(m.lower(), p) for m, p in ROUTE.findall(f.read_text())}
    return routes


def test_openapi_lists_every_route_and_no_other():
    spec = yaml.safe_load((ROOT / "docs" / "openapi.yaml").read_text())
    documented = {(m, p) for p, ops in spec["paths"].items() for m in ops
                  if m in ("get", "post", "put", "patch", "delete")}
    assert served_routes(), "no routes found in src/api"
    assert documented == served_routes()


def test_openapi_routes_answer_something_other_than_404_or_405(client):
    for method, path in sorted(served_routes()):
        concrete = re.sub(r"\{[^}]+\}", "no-such-thing", path)
        r = client.request(method.upper(), concrete, body={} if method in ("post", "patch") else None)
        assert r.status_code != 405, (method, path)
        if "{" not in path:
            assert r.status_code != 404, (method, path)
