"""Zones through the REST API: the first resource, end to end."""
import concurrent.futures
import uuid

import pytest

from conftest import assert_error


def make_zone(client, name, jurisdiction="FR", **extra):
    r = client.post("/v1/zones", dict(name=name, jurisdiction=jurisdiction, **extra))
    assert r.status_code == 201, r.text
    return r.json()


def all_zones(client):
    return client.get("/v1/zones?limit=1000").json()["items"]


def test_create_get_update_delete_a_zone(client):
    r = client.post("/v1/zones", {"name": "fr-par-1", "jurisdiction": "FR",
                                  "description": "Paris, first site"})
    assert r.status_code == 201
    z = r.json()
    uuid.UUID(z["id"])
    assert r.headers["Location"] == "/v1/zones/" + z["id"]
    assert z["name"] == "fr-par-1" and z["jurisdiction"] == "FR"
    assert z["description"] == "Paris, first site"
    assert z["created_at"].endswith("Z") and z["created_at"] == z["updated_at"]

    assert client.get("/v1/zones/" + z["id"]).json() == z
    assert client.get("/v1/zones/fr-par-1").json() == z
    assert client.get("/v1/zones/" + z["id"].upper()).json() == z

    r = client.patch("/v1/zones/fr-par-1", {"description": "Paris", "jurisdiction": "de"})
    assert r.status_code == 200
    u = r.json()
    assert u["description"] == "Paris" and u["jurisdiction"] == "DE"
    assert u["name"] == "fr-par-1" and u["id"] == z["id"] and u["created_at"] == z["created_at"]
    assert u["updated_at"] >= z["updated_at"]

    r = client.patch("/v1/zones/" + z["id"], {"name": "de-fra-1"})
    assert r.json()["name"] == "de-fra-1"
    assert_error(client.get("/v1/zones/fr-par-1"), 404, "NotFound")

    r = client.delete("/v1/zones/de-fra-1")
    assert r.status_code == 204 and r.content == b""
    assert_error(client.get("/v1/zones/" + z["id"]), 404, "NotFound")
    assert_error(client.delete("/v1/zones/" + z["id"]), 404, "NotFound")
    assert all_zones(client) == []


def test_jurisdiction_must_be_an_assigned_country_code(client):
    for bad in ("XX", "ZZ", "QQ", "F", "FRA", "", "1A", "fr "):
        err = assert_error(client.post("/v1/zones", {"name": "z", "jurisdiction": bad}), 400,
                           "InvalidParameter", "jurisdiction")
    assert "ISO 3166-1" in err["message"]
    for good in ("FR", "de", "NO", "EE", "GB", "US", "AQ"):
        name = "z-" + good.lower()
        assert make_zone(client, name, good)["jurisdiction"] == good.upper()


@pytest.mark.parametrize("name", ["", "-a", "a-", "A", "a_b", "a.b", "x" * 64, "é",
                                  "a b", "12345678-1234-1234-1234-123456789012"])
def test_zone_names_are_dns_labels(client, name):
    assert_error(client.post("/v1/zones", {"name": name, "jurisdiction": "FR"}), 400,
                 "InvalidParameter", "name")


def test_longest_and_shortest_names_are_accepted(client):
    make_zone(client, "a")
    make_zone(client, "a" * 63)
    make_zone(client, "0-9")


@pytest.mark.parametrize("body,field", [
    ({"jurisdiction": "FR"}, "name"),
    ({"name": "a"}, "jurisdiction"),
    ({"name": 7, "jurisdiction": "FR"}, "name"),
    ({"name": "a", "jurisdiction": ["FR"]}, "jurisdiction"),
    ({"name": "a", "jurisdiction": "FR", "description": None}, "description"),
    ({"name": "a", "jurisdiction": "FR", "description": "d" * 256}, "description"),
    ({"name": "a", "jurisdiction": "FR", "descripton": "typo"}, "descripton"),
    ({"name": "a\u0001", "jurisdiction": "FR"}, "name"),
])
def test_bad_fields_are_named_in_a_400(client, body, field):
    assert_error(client.post("/v1/zones", body), 400, "InvalidParameter", field)
    assert all_zones(client) == []


@pytest.mark.parametrize("raw", [
    "", "{", "[]", "\"zone\"", "null", "{\"name\": \"a\",}", "{\"name\":\"a\",\"name\":\"b\"}",
    "\xff\xfe", "{\"name\":\"a\\u0000b\",\"jurisdiction\":\"FR\"}", "{" * 5000,
])
def test_malformed_bodies_are_400_and_change_nothing(client, raw):
    r = client.post("/v1/zones", raw=raw.encode("latin-1") if raw == "\xff\xfe" else raw,
                    headers={"Content-Type": "application/json"})
    assert 400 <= r.status_code < 500
    assert_error(r, 400)
    assert all_zones(client) == []


def test_description_counts_characters_not_bytes(client):
    z = make_zone(client, "utf8", description="é" * 255)
    assert z["description"] == "é" * 255
    assert_error(client.post("/v1/zones", {"name": "u2", "jurisdiction": "FR",
                                           "description": "é" * 256}), 400,
                 field="description")


def test_duplicate_names_conflict(client):
    make_zone(client, "dup")
    assert_error(client.post("/v1/zones", {"name": "dup", "jurisdiction": "DE"}), 409,
                 "Conflict", "name")
    make_zone(client, "other")
    assert_error(client.patch("/v1/zones/other", {"name": "dup"}), 409, "Conflict")
    assert sorted(z["name"] for z in all_zones(client)) == ["dup", "other"]


def test_concurrent_creates_of_one_name_make_one_zone(client):
    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        codes = list(ex.map(lambda _: client.post(
            "/v1/zones", {"name": "race", "jurisdiction": "FR"}).status_code, range(16)))
    assert codes.count(201) == 1 and codes.count(409) == 15
    assert len(all_zones(client)) == 1


def test_patch_validates_like_create_and_changes_nothing_on_error(client):
    z = make_zone(client, "p", description="before")
    assert_error(client.patch("/v1/zones/p", {"jurisdiction": "XX"}), 400, field="jurisdiction")
    assert_error(client.patch("/v1/zones/p", {"name": "Bad_Name"}), 400, field="name")
    assert_error(client.patch("/v1/zones/p", {"id": "new"}), 400, field="id")
    assert_error(client.patch("/v1/zones/p", raw="{"), 400, "MalformedRequest")
    assert_error(client.patch("/v1/zones/nope", {"description": "x"}), 404)
    assert client.get("/v1/zones/p").json() == z


def test_lists_are_paged_with_an_opaque_cursor(client):
    names = ["z%02d" % i for i in range(25)]
    for n in reversed(names):
        make_zone(client, n)
    seen, cursor, pages = [], None, 0
    while True:
        path = "/v1/zones?limit=10" + ("&cursor=" + cursor if cursor else "")
        page = client.get(path).json()
        pages += 1
        seen += [z["name"] for z in page["items"]]
        cursor = page["next"]
        if cursor is None:
            break
        assert len(page["items"]) == 10
    assert seen == names and pages == 3
    full = client.get("/v1/zones").json()
    assert [z["name"] for z in full["items"]] == names and full["next"] is None
    exact = client.get("/v1/zones?limit=25").json()
    assert len(exact["items"]) == 25 and exact["next"] is None
    only = client.get("/v1/zones?name=z07").json()["items"]
    assert [z["name"] for z in only] == ["z07"]


@pytest.mark.parametrize("query,field", [
    ("limit=0", "limit"), ("limit=1001", "limit"), ("limit=abc", "limit"), ("limit=-1", "limit"),
    ("cursor=!!!", "cursor"), ("cursor=eHl6", "cursor"),
])
def test_bad_list_parameters_are_400(client, query, field):
    assert_error(client.get("/v1/zones?" + query), 400, "InvalidParameter", field)


def test_idempotency_key_replays_the_first_answer(client):
    h = {"Idempotency-Key": "create-zone-1"}
    body = {"name": "idem", "jurisdiction": "FI"}
    first = client.post("/v1/zones", body, headers=h)
    assert first.status_code == 201
    second = client.post("/v1/zones", body, headers=h)
    assert second.status_code == 201
    assert second.json() == first.json()
    assert second.headers["Location"] == first.headers["Location"]
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert len(all_zones(client)) == 1
    # same key, another body: refused, nothing created
    other = client.post("/v1/zones", {"name": "idem2", "jurisdiction": "FI"}, headers=h)
    assert_error(other, 422, "IdempotencyKeyReused", "Idempotency-Key")
    assert len(all_zones(client)) == 1
    # a new key is a new request
    third = client.post("/v1/zones", {"name": "idem2", "jurisdiction": "FI"},
                        headers={"Idempotency-Key": "create-zone-2"})
    assert third.status_code == 201
    assert len(all_zones(client)) == 2


def test_idempotency_key_replays_a_client_error_too(client):
    h = {"Idempotency-Key": "bad-1"}
    body = {"name": "x", "jurisdiction": "XX"}
    a = client.post("/v1/zones", body, headers=h)
    b = client.post("/v1/zones", body, headers=h)
    assert a.status_code == b.status_code == 400
    assert b.headers.get("Idempotent-Replayed") == "true"
    assert a.json()["error"]["message"] == b.json()["error"]["message"]


def test_concurrent_retries_with_one_key_create_one_zone(client):
    h = {"Idempotency-Key": "parallel"}
    body = {"name": "par", "jurisdiction": "SE"}
    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        rs = list(ex.map(lambda _: client.post("/v1/zones", body, headers=h), range(16)))
    assert {r.status_code for r in rs} == {201}
    assert len({r.json()["id"] for r in rs}) == 1
    assert len(all_zones(client)) == 1


@pytest.mark.parametrize("key", ["", "x" * 256, "tab\there"])
def test_bad_idempotency_keys_are_400(client, key):
    r = client.post("/v1/zones", {"name": "k", "jurisdiction": "FR"},
                    headers={"Idempotency-Key": key})
    assert_error(r, 400, "InvalidParameter", "Idempotency-Key")
    assert all_zones(client) == []


def test_no_bad_input_gives_a_5xx(client):
    """A sweep of hostile requests: all answered 4xx, none changes the store."""
    make_zone(client, "keep")
    before = all_zones(client)
    reqs = [
        ("POST", "/v1/zones", "{\"name\":" + "[" * 100000),
        ("POST", "/v1/zones", "{\"name\":\"" + "\\ud800" + "\",\"jurisdiction\":\"FR\"}"),
        ("POST", "/v1/zones", "{\"name\":1e999,\"jurisdiction\":\"FR\"}"),
        ("PATCH", "/v1/zones/keep", "[1,2,3]"),
        ("PATCH", "/v1/zones/keep", "{\"name\":null}"),
        ("DELETE", "/v1/zones/%2F..%2Fkeep", None),
        ("GET", "/v1/zones/" + "a" * 5000, None),
        ("GET", "/v1/zones?limit=99999999999999999999999", None),
        ("POST", "/v1/zones/keep", "{}"),
        ("BREW", "/v1/zones", None),
    ]
    for method, path, raw in reqs:
        r = client.request(method, path, raw=raw, headers={"Content-Type": "application/json"})
        assert 400 <= r.status_code < 500, (method, path[:50], r.status_code, r.text[:200])
    assert all_zones(client) == before
