"""The S3 service: buckets, objects, listings, authentication and tenancy,
driven by real clients (Debian's boto3 1.26, raw requests signed by
botocore). Other clients are in test_s3_clients.py."""
import hashlib
import os
import re
import time
import xml.etree.ElementTree as ET

import botocore.exceptions
import pytest
import requests

from s3_util import S3Env, chunked_put, error_code, s3_client, signed, status_of

ClientError = botocore.exceptions.ClientError
NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"


@pytest.fixture
def env(nubod):
    return S3Env(nubod)


def keys_of(s3, bucket, **kw):
    r = s3.list_objects_v2(Bucket=bucket, **kw)
    return [o["Key"] for o in r.get("Contents", [])]


# ---- buckets ----

def test_bucket_create_list_head_location_delete(env):
    s3 = env.s3
    r = s3.create_bucket(Bucket="photos")
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert r["Location"] == "/photos"
    s3.create_bucket(Bucket="docs.2026")
    names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert names == ["docs.2026", "photos"]
    lb = s3.list_buckets()
    assert lb["Owner"]["ID"] == env.tenancy.alpha["id"]
    assert lb["Owner"]["DisplayName"] == "alpha"
    assert s3.head_bucket(Bucket="photos")["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert s3.get_bucket_location(Bucket="photos").get("LocationConstraint") is None
    assert s3.get_bucket_versioning(Bucket="photos").get("Status") is None
    s3.delete_bucket(Bucket="photos")
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["docs.2026"]
    with pytest.raises(ClientError) as e:
        s3.head_bucket(Bucket="photos")
    assert status_of(e) == 404
    with pytest.raises(ClientError) as e:
        s3.delete_bucket(Bucket="photos")
    assert error_code(e) == "NoSuchBucket"
    # the other project sees none of them
    assert env.clients["other"].list_buckets()["Buckets"] == []


@pytest.mark.parametrize("name", ["ab", "a" * 64, "Upper", "under_score", "-dash", "dash-",
                                  "two..dots", "dot.-dash", "192.168.1.2", "xn--punycode",
                                  "sthree-x", "x-s3alias", "bad!char"])
def test_bucket_names_follow_aws_rules(env, name):
    # sent raw: botocore refuses some of these names itself
    r = signed(env.url, env.keys["member"], "PUT", "/" + name)
    assert r.status_code == 400, r.text
    assert ET.fromstring(r.content).find("Code").text == "InvalidBucketName"
    assert env.s3.list_buckets()["Buckets"] == []


def test_bucket_name_taken_by_you_or_by_another_project(env):
    env.s3.create_bucket(Bucket="shared-name")
    with pytest.raises(ClientError) as e:
        env.s3.create_bucket(Bucket="shared-name")
    assert error_code(e) == "BucketAlreadyOwnedByYou" and status_of(e) == 409
    with pytest.raises(ClientError) as e:
        env.clients["other"].create_bucket(Bucket="shared-name")
    assert error_code(e) == "BucketAlreadyExists" and status_of(e) == 409
    assert env.clients["other"].list_buckets()["Buckets"] == []


def test_bucket_must_be_empty_to_delete(env):
    env.s3.create_bucket(Bucket="full")
    env.s3.put_object(Bucket="full", Key="k", Body=b"x")
    with pytest.raises(ClientError) as e:
        env.s3.delete_bucket(Bucket="full")
    assert error_code(e) == "BucketNotEmpty" and status_of(e) == 409
    assert env.s3.get_object(Bucket="full", Key="k")["Body"].read() == b"x"
    env.s3.delete_object(Bucket="full", Key="k")
    env.s3.delete_bucket(Bucket="full")


def test_a_project_with_a_bucket_is_not_deleted(env):
    admin = env.tenancy.admin
    env.s3.create_bucket(Bucket="keeps-project")
    r = admin.delete("/v1/projects/alpha")
    assert r.status_code == 409, r.text
    assert "buckets" in r.json()["error"]["message"]
    assert env.s3.head_bucket(Bucket="keeps-project")
    assert admin.get("/v1/projects/alpha").status_code == 200
    env.s3.delete_bucket(Bucket="keeps-project")  # the bucket was what held it
    assert admin.delete("/v1/projects/alpha").status_code == 204


def test_bucket_quota_is_enforced(env):
    admin = env.tenancy.admin
    r = admin.patch("/v1/projects/alpha/quotas", {"buckets": 1})
    assert r.status_code == 200, r.text
    env.s3.create_bucket(Bucket="first")
    with pytest.raises(ClientError) as e:
        env.s3.create_bucket(Bucket="second")
    assert error_code(e) == "TooManyBuckets"
    assert [b["Name"] for b in env.s3.list_buckets()["Buckets"]] == ["first"]
    q = admin.get("/v1/projects/alpha/quotas").json()["quotas"]["buckets"]
    assert q == {"limit": 1, "used": 1}
    env.s3.delete_bucket(Bucket="first")
    q = admin.get("/v1/projects/alpha/quotas").json()["quotas"]["buckets"]
    assert q["used"] == 0


def test_bucket_changes_are_audited(env):
    env.s3.create_bucket(Bucket="audited")
    with pytest.raises(ClientError):
        env.clients["reader"].create_bucket(Bucket="by-reader")
    with pytest.raises(ClientError):
        env.clients["other"].delete_bucket(Bucket="audited")
    env.s3.delete_bucket(Bucket="audited")
    events = env.tenancy.admin.get("/v1/audit?limit=1000").json()["items"]
    got = [(e["action"], e["resource"]["id"], e["outcome"], e["status"], e["user"]["name"])
           for e in events if e["action"].startswith("s3.")]
    assert sorted(got) == sorted([
        ("s3.bucket.create", "audited", "success", 200, "u-member"),
        ("s3.bucket.create", "by-reader", "failure", 403, "u-reader"),
        ("s3.bucket.delete", "audited", "failure", 403, "u-other"),
        ("s3.bucket.delete", "audited", "success", 204, "u-member"),
    ])
    create = [e for e in events if e["action"] == "s3.bucket.create"
              and e["outcome"] == "success"][0]
    assert create["project_id"] == env.tenancy.alpha["id"]
    assert create["resource"]["type"] == "bucket"


# ---- objects ----

def test_put_get_head_with_metadata_and_content_headers(env):
    s3 = env.s3
    s3.create_bucket(Bucket="b1b")
    body = os.urandom(100000)
    t0 = time.monotonic()
    r = s3.put_object(Bucket="b1b", Key="dir/file.bin", Body=body, ContentType="image/png",
                      Metadata={"Owner-Name": "Ada", "color": "blue"},
                      ContentDisposition='attachment; filename="f.png"',
                      CacheControl="max-age=60", ContentEncoding="identity",
                      ContentLanguage="fr", Expires="Thu, 01 Dec 2044 16:00:00 GMT")
    # Expect: 100-continue is answered at once: no one-second stall
    assert time.monotonic() - t0 < 0.8
    etag = '"%s"' % hashlib.md5(body).hexdigest()
    assert r["ETag"] == etag
    g = s3.get_object(Bucket="b1b", Key="dir/file.bin")
    assert g["Body"].read() == body
    assert g["ETag"] == etag and g["ContentLength"] == len(body)
    assert g["ContentType"] == "image/png"
    assert g["Metadata"] == {"owner-name": "Ada", "color": "blue"}
    assert g["ContentDisposition"] == 'attachment; filename="f.png"'
    assert g["CacheControl"] == "max-age=60" and g["ContentEncoding"] == "identity"
    assert g["ContentLanguage"] == "fr"
    assert g["ResponseMetadata"]["HTTPHeaders"]["expires"] == "Thu, 01 Dec 2044 16:00:00 GMT"
    assert g["AcceptRanges"] == "bytes"
    assert "VersionId" not in g
    h = s3.head_object(Bucket="b1b", Key="dir/file.bin")
    assert h["ContentLength"] == len(body) and h["ETag"] == etag
    assert h["Metadata"] == g["Metadata"]
    assert abs(h["LastModified"].timestamp() - time.time()) < 60
    # an empty object, and the default content type
    s3.put_object(Bucket="b1b", Key="empty", Body=b"")
    g = s3.get_object(Bucket="b1b", Key="empty")
    assert g["Body"].read() == b"" and g["ContentType"] == "binary/octet-stream"
    assert g["ETag"] == '"d41d8cd98f00b204e9800998ecf8427e"'


def test_overwrite_replaces_object_and_its_file(env):
    s3 = env.s3
    s3.create_bucket(Bucket="over")
    s3.put_object(Bucket="over", Key="k", Body=b"one")
    s3.put_object(Bucket="over", Key="k", Body=b"second")
    assert s3.get_object(Bucket="over", Key="k")["Body"].read() == b"second"
    files = [f for _, _, fs in os.walk(env.nubod.data_dir / "objects" / "data") for f in fs]
    assert len(files) == 1
    q = env.tenancy.admin.get("/v1/projects/alpha/quotas").json()["quotas"]["object_bytes"]
    assert q["used"] == 6


def test_missing_objects_and_buckets_are_s3_xml_errors(env):
    env.s3.create_bucket(Bucket="errs")
    r = signed(env.url, env.keys["member"], "GET", "/errs/no/such%20key")
    assert r.status_code == 404
    assert r.headers["Content-Type"] == "application/xml"
    root = ET.fromstring(r.content)
    assert root.tag == "Error"
    assert root.find("Code").text == "NoSuchKey"
    assert root.find("Message").text == "The specified key does not exist."
    assert root.find("Resource").text == "/errs/no/such%20key"
    assert root.find("Key").text == "no/such key"
    assert root.find("RequestId").text == r.headers["x-amz-request-id"]
    r = signed(env.url, env.keys["member"], "GET", "/nobucket/k")
    assert ET.fromstring(r.content).find("Code").text == "NoSuchBucket"
    assert r.status_code == 404
    r = signed(env.url, env.keys["member"], "GET", "/errs?lifecycle")
    assert r.status_code == 501
    assert ET.fromstring(r.content).find("Code").text == "NotImplemented"


def test_content_md5_is_checked(env):
    s3 = env.s3
    s3.create_bucket(Bucket="md5")
    import base64
    good = base64.b64encode(hashlib.md5(b"data").digest()).decode()
    s3.put_object(Bucket="md5", Key="ok", Body=b"data", ContentMD5=good)
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket="md5", Key="bad", Body=b"datb", ContentMD5=good)
    assert error_code(e) == "BadDigest" and status_of(e) == 400
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket="md5", Key="bad", Body=b"data", ContentMD5="not-base64")
    assert error_code(e) == "InvalidDigest"
    assert keys_of(s3, "md5") == ["ok"]
    tmp = env.nubod.data_dir / "objects" / "tmp"
    assert list(tmp.iterdir()) == []


def test_payload_hash_is_checked_while_streaming(env):
    env.s3.create_bucket(Bucket="sha")
    key = env.keys["member"]
    r = signed(env.url, key, "PUT", "/sha/k", body=b"original", tamper_body=b"tampered")
    assert r.status_code == 400, r.text
    assert ET.fromstring(r.content).find("Code").text == "XAmzContentSHA256Mismatch"
    # a hash that does not match the body it was signed with
    r = signed(env.url, key, "PUT", "/sha/k", body=b"abc", sha="0" * 64)
    assert ET.fromstring(r.content).find("Code").text == "XAmzContentSHA256Mismatch"
    r = signed(env.url, key, "PUT", "/sha/k", body=b"abc", sha="UNSIGNED-PAYLOAD")
    assert r.status_code == 200, r.text
    assert env.s3.get_object(Bucket="sha", Key="k")["Body"].read() == b"abc"
    r = signed(env.url, key, "PUT", "/sha/k2", body=b"abc", sha="nothex")
    assert r.status_code == 400
    assert keys_of(env.s3, "sha") == ["k"]
    # buffered requests are checked too
    r = signed(env.url, key, "PUT", "/sha-bucket", body=b"", tamper_body=b"x")
    assert ET.fromstring(r.content).find("Code").text == "XAmzContentSHA256Mismatch"


@pytest.mark.parametrize("algo,value", [
    ("SHA256", "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="),
    ("SHA1", "qZk+NkcGgWq6PiVxeFDCbJzQ2J0="),
    ("CRC32", "NSRBwg=="),
    ("CRC32C", "Nks/tw=="),
])
def test_checksum_headers_are_verified_stored_and_returned(env, algo, value):
    s3 = env.s3
    s3.create_bucket(Bucket="sums")
    r = s3.put_object(Bucket="sums", Key="k", Body=b"abc", ChecksumAlgorithm=algo)
    assert r["Checksum" + algo] == value
    h = s3.head_object(Bucket="sums", Key="k", ChecksumMode="ENABLED")
    assert h["Checksum" + algo] == value
    assert "Checksum" + algo not in s3.head_object(Bucket="sums", Key="k")
    # a range does not carry the whole object's checksum
    g = s3.get_object(Bucket="sums", Key="k", Range="bytes=1-", ChecksumMode="ENABLED")
    assert g["Body"].read() == b"bc" and "Checksum" + algo not in g
    header = "x-amz-checksum-" + algo.lower()
    r = signed(env.url, env.keys["member"], "PUT", "/sums/bad", body=b"abd",
               headers={header: value})
    assert r.status_code == 400
    assert ET.fromstring(r.content).find("Code").text == "BadDigest"
    r = signed(env.url, env.keys["member"], "PUT", "/sums/bad", body=b"abc",
               headers={header: "not base64!"})
    assert ET.fromstring(r.content).find("Code").text == "InvalidRequest"
    assert keys_of(s3, "sums") == ["k"]


def test_crc64nvme_checksum(env):
    # boto3 needs awscrt for CRC64NVME: sent raw. "123456789" gives 0xae8b14860a799888
    env.s3.create_bucket(Bucket="crc64")
    key, value = env.keys["member"], "rosUhgp5mIg="
    r = signed(env.url, key, "PUT", "/crc64/k", body=b"123456789",
               headers={"x-amz-checksum-crc64nvme": value})
    assert r.status_code == 200, r.text
    assert r.headers["x-amz-checksum-crc64nvme"] == value
    r = signed(env.url, key, "HEAD", "/crc64/k", headers={"x-amz-checksum-mode": "ENABLED"})
    assert r.headers["x-amz-checksum-crc64nvme"] == value
    r = signed(env.url, key, "PUT", "/crc64/k2", body=b"123456780",
               headers={"x-amz-checksum-crc64nvme": value})
    assert ET.fromstring(r.content).find("Code").text == "BadDigest"
    assert keys_of(env.s3, "crc64") == ["k"]


def test_object_quota_refuses_and_keeps_nothing(env):
    env.tenancy.admin.patch("/v1/projects/alpha/quotas", {"object_bytes": 10})
    s3 = env.s3
    s3.create_bucket(Bucket="small")
    s3.put_object(Bucket="small", Key="a", Body=b"12345678")
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket="small", Key="b", Body=b"12345")
    assert status_of(e) == 403 and error_code(e) == "QuotaExceeded"
    assert keys_of(s3, "small") == ["a"]
    files = [f for _, _, fs in os.walk(env.nubod.data_dir / "objects" / "data") for f in fs]
    assert len(files) == 1


def test_ranges(env):
    s3 = env.s3
    s3.create_bucket(Bucket="ranges")
    body = bytes(range(256)) * 4
    s3.put_object(Bucket="ranges", Key="k", Body=body)
    for spec, want in (("bytes=0-9", body[0:10]), ("bytes=1000-", body[1000:]),
                       ("bytes=-5", body[-5:]), ("bytes=1020-5000", body[1020:])):
        g = s3.get_object(Bucket="ranges", Key="k", Range=spec)
        assert g["Body"].read() == want, spec
        assert g["ResponseMetadata"]["HTTPStatusCode"] == 206
        first = len(body) - len(want)
        if spec == "bytes=0-9":
            first = 0
        assert g["ContentRange"] == "bytes %d-%d/1024" % (first, first + len(want) - 1)
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket="ranges", Key="k", Range="bytes=1024-")
    assert error_code(e) == "InvalidRange" and status_of(e) == 416
    # a range not understood is ignored: the whole object
    g = s3.get_object(Bucket="ranges", Key="k", Range="bytes=5-2")
    assert g["Body"].read() == body


def test_conditional_requests(env):
    s3 = env.s3
    s3.create_bucket(Bucket="cond")
    etag = s3.put_object(Bucket="cond", Key="k", Body=b"v1")["ETag"]
    past, future = "Mon, 01 Jan 2001 00:00:00 GMT", "Fri, 01 Jan 2100 00:00:00 GMT"
    assert s3.get_object(Bucket="cond", Key="k", IfMatch=etag)["Body"].read() == b"v1"
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket="cond", Key="k", IfMatch='"0123"')
    assert status_of(e) == 412 and error_code(e) == "PreconditionFailed"
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket="cond", Key="k", IfNoneMatch=etag)
    assert status_of(e) == 304
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket="cond", Key="k", IfModifiedSince=future)
    assert status_of(e) == 304
    assert s3.get_object(Bucket="cond", Key="k", IfModifiedSince=past)["Body"].read() == b"v1"
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket="cond", Key="k", IfUnmodifiedSince=past)
    assert status_of(e) == 412
    assert s3.get_object(Bucket="cond", Key="k", IfUnmodifiedSince=future)["ETag"] == etag
    # If-Match wins over If-Unmodified-Since, If-None-Match over If-Modified-Since
    assert s3.get_object(Bucket="cond", Key="k", IfMatch=etag,
                         IfUnmodifiedSince=past)["ETag"] == etag
    assert s3.get_object(Bucket="cond", Key="k", IfNoneMatch='"x"',
                         IfModifiedSince=future)["ETag"] == etag
    with pytest.raises(ClientError) as e:
        s3.head_object(Bucket="cond", Key="k", IfNoneMatch=etag)
    assert status_of(e) == 304


def test_delete_object(env):
    s3 = env.s3
    s3.create_bucket(Bucket="del")
    s3.put_object(Bucket="del", Key="k", Body=b"x")
    r = s3.delete_object(Bucket="del", Key="k")
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket="del", Key="k")
    assert error_code(e) == "NoSuchKey"
    # deleting what is not there succeeds, as in S3
    assert s3.delete_object(Bucket="del", Key="k")["ResponseMetadata"]["HTTPStatusCode"] == 204
    files = [f for _, _, fs in os.walk(env.nubod.data_dir / "objects" / "data") for f in fs]
    assert files == []


def test_copy_object_with_metadata_directive(env):
    s3 = env.s3
    s3.create_bucket(Bucket="src")
    s3.create_bucket(Bucket="dst")
    etag = s3.put_object(Bucket="src", Key="a b/ü.txt", Body=b"payload", ContentType="text/x",
                         Metadata={"m": "1"})["ETag"]
    r = s3.copy_object(Bucket="dst", Key="copy", CopySource={"Bucket": "src", "Key": "a b/ü.txt"})
    assert r["CopyObjectResult"]["ETag"] == etag
    g = s3.get_object(Bucket="dst", Key="copy")
    assert g["Body"].read() == b"payload" and g["Metadata"] == {"m": "1"}
    assert g["ContentType"] == "text/x"
    s3.copy_object(Bucket="dst", Key="copy2", CopySource="src/a b/ü.txt",
                   MetadataDirective="REPLACE", Metadata={"n": "2"}, ContentType="text/y")
    g = s3.get_object(Bucket="dst", Key="copy2")
    assert g["Metadata"] == {"n": "2"} and g["ContentType"] == "text/y"
    # onto itself without a change: refused; with REPLACE: allowed
    with pytest.raises(ClientError) as e:
        s3.copy_object(Bucket="dst", Key="copy", CopySource="dst/copy")
    assert error_code(e) == "InvalidRequest"
    s3.copy_object(Bucket="dst", Key="copy", CopySource="dst/copy", MetadataDirective="REPLACE",
                   Metadata={"x": "y"})
    assert s3.head_object(Bucket="dst", Key="copy")["Metadata"] == {"x": "y"}
    with pytest.raises(ClientError) as e:
        s3.copy_object(Bucket="dst", Key="c3", CopySource="src/missing")
    assert error_code(e) == "NoSuchKey"
    with pytest.raises(ClientError) as e:
        s3.copy_object(Bucket="dst", Key="c3", CopySource="src/a b/ü.txt",
                       CopySourceIfMatch='"nope"')
    assert status_of(e) == 412
    assert sorted(keys_of(s3, "dst")) == ["copy", "copy2"]


def test_metadata_size_limit(env):
    env.s3.create_bucket(Bucket="meta")
    with pytest.raises(ClientError) as e:
        env.s3.put_object(Bucket="meta", Key="k", Body=b"x", Metadata={"big": "v" * 2100})
    assert error_code(e) == "MetadataTooLarge"
    assert keys_of(env.s3, "meta") == []


def test_key_too_long(env):
    env.s3.create_bucket(Bucket="keys")
    with pytest.raises(ClientError) as e:
        env.s3.put_object(Bucket="keys", Key="k" * 1025, Body=b"x")
    assert error_code(e) == "KeyTooLongError"
    env.s3.put_object(Bucket="keys", Key="k" * 1024, Body=b"x")


def test_large_object_streams_both_ways(env):
    s3 = env.s3
    s3.create_bucket(Bucket="large")
    body = os.urandom(24 * 1024 * 1024)
    s3.put_object(Bucket="large", Key="big", Body=body)
    got = s3.get_object(Bucket="large", Key="big")["Body"].read()
    assert hashlib.sha256(got).digest() == hashlib.sha256(body).digest()
    part = s3.get_object(Bucket="large", Key="big", Range="bytes=20000000-20000099")
    assert part["Body"].read() == body[20000000:20000100]


def test_delete_objects(env):
    s3 = env.s3
    s3.create_bucket(Bucket="multi")
    for k in ("a", "b", "c", "d"):
        s3.put_object(Bucket="multi", Key=k, Body=b"x")
    r = s3.delete_objects(Bucket="multi", Delete={"Objects": [
        {"Key": "a"}, {"Key": "b"}, {"Key": "nothing-here"}]})
    assert sorted(d["Key"] for d in r["Deleted"]) == ["a", "b", "nothing-here"]
    assert "Errors" not in r
    assert keys_of(s3, "multi") == ["c", "d"]
    r = s3.delete_objects(Bucket="multi", Delete={"Objects": [{"Key": "c"}], "Quiet": True})
    assert "Deleted" not in r and keys_of(s3, "multi") == ["d"]
    body = b"<Delete><Object><Key>d</Key></Object></Delete>"
    key = env.keys["member"]
    # neither Content-MD5 nor a checksum: refused, nothing deleted
    r = signed(env.url, key, "POST", "/multi?delete", body=body)
    assert r.status_code == 400
    assert ET.fromstring(r.content).find("Code").text == "InvalidRequest"
    import base64
    md5 = lambda b: base64.b64encode(hashlib.md5(b).digest()).decode()
    r = signed(env.url, key, "POST", "/multi?delete", body=body,
               headers={"Content-MD5": md5(b"other")})
    assert ET.fromstring(r.content).find("Code").text == "BadDigest"
    bad = b"<Delete><Object></Object></Delete>"
    r = signed(env.url, key, "POST", "/multi?delete", body=bad, headers={"Content-MD5": md5(bad)})
    assert ET.fromstring(r.content).find("Code").text == "MalformedXML"
    r = signed(env.url, key, "POST", "/multi?delete", body=b"<not xml",
               headers={"Content-MD5": md5(b"<not xml")})
    assert ET.fromstring(r.content).find("Code").text == "MalformedXML"
    assert keys_of(s3, "multi") == ["d"]
    sha = base64.b64encode(hashlib.sha256(body).digest()).decode()
    r = signed(env.url, key, "POST", "/multi?delete", body=body,
               headers={"x-amz-checksum-sha256": sha})
    assert r.status_code == 200, r.text
    assert keys_of(s3, "multi") == []
    with pytest.raises(ClientError) as e:
        env.clients["reader"].delete_objects(Bucket="multi", Delete={"Objects": [{"Key": "x"}]})
    assert error_code(e) == "AccessDenied"


def test_versioning(env):
    s3 = env.s3
    s3.create_bucket(Bucket="hist")
    s3.put_object(Bucket="hist", Key="k", Body=b"before")
    s3.put_bucket_versioning(Bucket="hist", VersioningConfiguration={"Status": "Enabled"})
    assert s3.get_bucket_versioning(Bucket="hist")["Status"] == "Enabled"
    v1 = s3.put_object(Bucket="hist", Key="k", Body=b"one")["VersionId"]
    v2 = s3.put_object(Bucket="hist", Key="k", Body=b"two")["VersionId"]
    assert v1 != v2 and len(v1) == 32
    g = s3.get_object(Bucket="hist", Key="k")
    assert g["Body"].read() == b"two" and g["VersionId"] == v2
    assert s3.get_object(Bucket="hist", Key="k", VersionId=v1)["Body"].read() == b"one"
    assert s3.get_object(Bucket="hist", Key="k", VersionId="null")["Body"].read() == b"before"
    d = s3.delete_object(Bucket="hist", Key="k")
    assert d["DeleteMarker"] is True
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket="hist", Key="k")
    assert error_code(e) == "NoSuchKey"
    assert e.value.response["ResponseMetadata"]["HTTPHeaders"]["x-amz-delete-marker"] == "true"
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket="hist", Key="k", VersionId=d["VersionId"])
    assert status_of(e) == 405
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket="hist", Key="k", VersionId="0" * 32)
    assert error_code(e) == "NoSuchVersion"
    assert keys_of(s3, "hist") == []
    r = s3.list_object_versions(Bucket="hist")
    assert [(v["VersionId"], v["IsLatest"]) for v in r["Versions"]] == [
        (v2, False), (v1, False), ("null", False)]
    assert [(m["VersionId"], m["IsLatest"]) for m in r["DeleteMarkers"]] == [
        (d["VersionId"], True)]
    # removing the marker brings the newest version back
    s3.delete_object(Bucket="hist", Key="k", VersionId=d["VersionId"])
    assert s3.get_object(Bucket="hist", Key="k")["Body"].read() == b"two"
    s3.put_bucket_versioning(Bucket="hist", VersioningConfiguration={"Status": "Suspended"})
    assert s3.put_object(Bucket="hist", Key="k", Body=b"three").get("VersionId") == "null"
    r = s3.list_object_versions(Bucket="hist")
    assert [v["VersionId"] for v in r["Versions"]] == ["null", v2, v1]
    with pytest.raises(ClientError) as e:
        s3.put_bucket_versioning(Bucket="hist", VersioningConfiguration={"Status": "Sometimes"})
    assert error_code(e) == "MalformedXML"
    with pytest.raises(ClientError) as e:
        env.clients["other"].put_bucket_versioning(Bucket="hist",
                                                   VersioningConfiguration={"Status": "Enabled"})
    assert error_code(e) == "AccessDenied"
    assert s3.get_bucket_versioning(Bucket="hist")["Status"] == "Suspended"
    events = env.tenancy.admin.get("/v1/audit?action=s3.bucket.versioning").json()["items"]
    assert sorted((e["outcome"], e["status"]) for e in events) == [
        ("failure", 400), ("failure", 403), ("success", 200), ("success", 200)]


def test_create_bucket_configuration(env):
    s3 = env.s3
    with pytest.raises(ClientError) as e:
        s3.create_bucket(Bucket="elsewhere",
                         CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    assert error_code(e) == "IllegalLocationConstraintException"
    r = signed(env.url, env.keys["member"], "PUT", "/cfg-bucket",
               body=b"<CreateBucketConfiguration><LocationConstraint>us-east-1"
                    b"</LocationConstraint></CreateBucketConfiguration>")
    assert r.status_code == 200, r.text
    r = signed(env.url, env.keys["member"], "PUT", "/cfg-bucket2", body=b"<oops>")
    assert ET.fromstring(r.content).find("Code").text == "MalformedXML"
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["cfg-bucket"]


def test_signed_aws_chunked_uploads(env):
    s3 = env.s3
    s3.create_bucket(Bucket="chunks")
    key = env.keys["member"]
    parts = [os.urandom(65536), os.urandom(65536), b"end"]
    r = chunked_put(env.url, key, "/chunks/plain", parts)
    assert r.status_code == 200, r.text
    g = s3.get_object(Bucket="chunks", Key="plain")
    assert g["Body"].read() == b"".join(parts)
    assert g["ETag"] == '"%s"' % hashlib.md5(b"".join(parts)).hexdigest()
    assert "ContentEncoding" not in g  # aws-chunked is transport, not stored
    import base64
    import zlib
    crc = base64.b64encode(zlib.crc32(b"".join(parts)).to_bytes(4, "big")).decode()
    r = chunked_put(env.url, key, "/chunks/trailer", parts, trailer=("x-amz-checksum-crc32", crc))
    assert r.status_code == 200, r.text
    h = s3.head_object(Bucket="chunks", Key="trailer", ChecksumMode="ENABLED")
    assert h["ChecksumCRC32"] == crc
    # a chunk changed after signing, a wrong trailing checksum, a short body
    r = chunked_put(env.url, key, "/chunks/bad", parts,
                    tamper=lambda i, d: d[:-1] + b"X" if i == 1 else d)
    assert r.status_code == 403
    assert ET.fromstring(r.content).find("Code").text == "SignatureDoesNotMatch"
    r = chunked_put(env.url, key, "/chunks/bad", parts, trailer=("x-amz-checksum-crc32", "AAAAAA=="))
    assert ET.fromstring(r.content).find("Code").text == "BadDigest"
    r = chunked_put(env.url, key, "/chunks/bad", parts, decoded_len=10)
    assert r.status_code == 400
    assert ET.fromstring(r.content).find("Code").text == "IncompleteBody"
    assert sorted(keys_of(s3, "chunks")) == ["plain", "trailer"]
    assert list((env.nubod.data_dir / "objects" / "tmp").iterdir()) == []


# ---- multipart uploads ----

MIB = 1024 * 1024


def test_multipart_upload(env):
    s3 = env.s3
    s3.create_bucket(Bucket="mpu")
    up = s3.create_multipart_upload(Bucket="mpu", Key="big/file", ContentType="video/mp4",
                                    Metadata={"camera": "x1"})
    uid = up["UploadId"]
    parts = [os.urandom(5 * MIB), os.urandom(5 * MIB), b"tail"]
    etags = []
    for i, data in enumerate(parts, 1):
        r = s3.upload_part(Bucket="mpu", Key="big/file", UploadId=uid, PartNumber=i, Body=data)
        assert r["ETag"] == '"%s"' % hashlib.md5(data).hexdigest()
        etags.append(r["ETag"])
    # a part sent again replaces the first one
    r = s3.upload_part(Bucket="mpu", Key="big/file", UploadId=uid, PartNumber=3, Body=b"tail")
    lp = s3.list_parts(Bucket="mpu", Key="big/file", UploadId=uid)
    assert [(p["PartNumber"], p["Size"], p["ETag"]) for p in lp["Parts"]] == [
        (1, 5 * MIB, etags[0]), (2, 5 * MIB, etags[1]), (3, 4, etags[2])]
    assert lp["Initiator"]["ID"] == "u-member"
    lp = s3.list_parts(Bucket="mpu", Key="big/file", UploadId=uid, MaxParts=2)
    assert lp["IsTruncated"] and lp["NextPartNumberMarker"] == 2
    ups = s3.list_multipart_uploads(Bucket="mpu")["Uploads"]
    assert [(u["Key"], u["UploadId"]) for u in ups] == [("big/file", uid)]
    # the object is not there before completion
    with pytest.raises(ClientError):
        s3.head_object(Bucket="mpu", Key="big/file")
    r = s3.complete_multipart_upload(Bucket="mpu", Key="big/file", UploadId=uid,
                                     MultipartUpload={"Parts": [
                                         {"PartNumber": i + 1, "ETag": e}
                                         for i, e in enumerate(etags)]})
    md5s = b"".join(hashlib.md5(p).digest() for p in parts)
    want = '"%s-3"' % hashlib.md5(md5s).hexdigest()
    assert r["ETag"] == want
    g = s3.get_object(Bucket="mpu", Key="big/file")
    assert g["ETag"] == want and g["ContentType"] == "video/mp4"
    assert g["Metadata"] == {"camera": "x1"}
    assert g["Body"].read() == b"".join(parts)
    assert s3.list_multipart_uploads(Bucket="mpu").get("Uploads", []) == []
    # only the object's file is left
    files = [f for _, _, fs in os.walk(env.nubod.data_dir / "objects" / "data") for f in fs]
    assert len(files) == 1
    q = env.tenancy.admin.get("/v1/projects/alpha/quotas").json()["quotas"]["object_bytes"]
    assert q["used"] == 10 * MIB + 4
    with pytest.raises(ClientError) as e:
        s3.upload_part(Bucket="mpu", Key="big/file", UploadId=uid, PartNumber=1, Body=b"x")
    assert error_code(e) == "NoSuchUpload"


def test_multipart_refusals_change_nothing(env):
    s3 = env.s3
    s3.create_bucket(Bucket="mpx")
    uid = s3.create_multipart_upload(Bucket="mpx", Key="k")["UploadId"]
    e1 = s3.upload_part(Bucket="mpx", Key="k", UploadId=uid, PartNumber=1, Body=b"a" * 10)["ETag"]
    e2 = s3.upload_part(Bucket="mpx", Key="k", UploadId=uid, PartNumber=2, Body=b"b")["ETag"]

    def complete(parts):
        with pytest.raises(ClientError) as e:
            s3.complete_multipart_upload(Bucket="mpx", Key="k", UploadId=uid,
                                         MultipartUpload={"Parts": parts})
        return error_code(e)

    assert complete([{"PartNumber": 2, "ETag": e2}, {"PartNumber": 1, "ETag": e1}]) == \
        "InvalidPartOrder"
    assert complete([{"PartNumber": 1, "ETag": e2}]) == "InvalidPart"
    assert complete([{"PartNumber": 3, "ETag": e2}]) == "InvalidPart"
    assert complete([{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]) == \
        "EntityTooSmall"
    for bad in ("0", "10001", "x"):
        r = signed(env.url, env.keys["member"], "PUT",
                   "/mpx/k?partNumber=%s&uploadId=%s" % (bad, uid), body=b"z")
        assert ET.fromstring(r.content).find("Code").text == "InvalidArgument", bad
    r = signed(env.url, env.keys["member"], "POST", "/mpx/k?uploadId=" + uid, body=b"<junk")
    assert ET.fromstring(r.content).find("Code").text == "MalformedXML"
    with pytest.raises(ClientError) as e:
        s3.upload_part(Bucket="mpx", Key="k", UploadId="0" * 32, PartNumber=1, Body=b"x")
    assert error_code(e) == "NoSuchUpload"
    with pytest.raises(ClientError) as e:
        s3.upload_part(Bucket="mpx", Key="other-key", UploadId=uid, PartNumber=1, Body=b"x")
    assert error_code(e) == "NoSuchUpload"
    assert len(s3.list_parts(Bucket="mpx", Key="k", UploadId=uid)["Parts"]) == 2
    with pytest.raises(ClientError) as e:
        s3.head_object(Bucket="mpx", Key="k")
    # another project sees nothing of it
    other = env.clients["other"]
    for call in (lambda: other.list_parts(Bucket="mpx", Key="k", UploadId=uid),
                 lambda: other.abort_multipart_upload(Bucket="mpx", Key="k", UploadId=uid),
                 lambda: other.list_multipart_uploads(Bucket="mpx"),
                 lambda: other.upload_part(Bucket="mpx", Key="k", UploadId=uid, PartNumber=1,
                                           Body=b"x")):
        with pytest.raises(ClientError) as e:
            call()
        assert error_code(e) == "AccessDenied"
    # a bucket with an upload in progress is not empty
    with pytest.raises(ClientError) as e:
        s3.delete_bucket(Bucket="mpx")
    assert error_code(e) == "BucketNotEmpty"
    s3.abort_multipart_upload(Bucket="mpx", Key="k", UploadId=uid)
    with pytest.raises(ClientError) as e:
        s3.abort_multipart_upload(Bucket="mpx", Key="k", UploadId=uid)
    assert error_code(e) == "NoSuchUpload"
    files = [f for _, _, fs in os.walk(env.nubod.data_dir / "objects" / "data") for f in fs]
    assert files == []
    q = env.tenancy.admin.get("/v1/projects/alpha/quotas").json()["quotas"]["object_bytes"]
    assert q["used"] == 0
    s3.delete_bucket(Bucket="mpx")


def test_list_multipart_uploads_pages_and_rolls_up(env):
    s3 = env.s3
    s3.create_bucket(Bucket="ups")
    made = {}
    for key in ("a", "a", "b/1", "b/2", "c/x/1", "d"):
        made.setdefault(key, []).append(
            s3.create_multipart_upload(Bucket="ups", Key=key)["UploadId"])
    every = sorted((k, u) for k, ids in made.items() for u in ids)
    got, km, im = [], None, None
    while True:
        kw = {"MaxUploads": 2}
        if km:
            kw.update(KeyMarker=km, UploadIdMarker=im)
        r = s3.list_multipart_uploads(Bucket="ups", **kw)
        got += [(u["Key"], u["UploadId"]) for u in r.get("Uploads", [])]
        if not r["IsTruncated"]:
            break
        km, im = r["NextKeyMarker"], r["NextUploadIdMarker"]
    assert got == every
    r = s3.list_multipart_uploads(Bucket="ups", Delimiter="/")
    assert [u["Key"] for u in r["Uploads"]] == ["a", "a", "d"]
    assert [p["Prefix"] for p in r["CommonPrefixes"]] == ["b/", "c/"]
    r = s3.list_multipart_uploads(Bucket="ups", Delimiter="/", MaxUploads=3)
    assert r["IsTruncated"] and r["NextKeyMarker"] == "b/"
    r = s3.list_multipart_uploads(Bucket="ups", Delimiter="/", KeyMarker="b/")
    assert [u["Key"] for u in r.get("Uploads", [])] == ["d"]
    assert [p["Prefix"] for p in r["CommonPrefixes"]] == ["c/"]
    r = s3.list_multipart_uploads(Bucket="ups", Prefix="c/", Delimiter="/")
    assert [p["Prefix"] for p in r["CommonPrefixes"]] == ["c/x/"]


def test_upload_part_copy(env):
    s3 = env.s3
    s3.create_bucket(Bucket="pcopy")
    src = os.urandom(6 * MIB + 100)
    s3.put_object(Bucket="pcopy", Key="src", Body=src)
    uid = s3.create_multipart_upload(Bucket="pcopy", Key="dst")["UploadId"]
    r1 = s3.upload_part_copy(Bucket="pcopy", Key="dst", UploadId=uid, PartNumber=1,
                             CopySource={"Bucket": "pcopy", "Key": "src"},
                             CopySourceRange="bytes=0-%d" % (5 * MIB - 1))
    assert r1["CopyPartResult"]["ETag"] == '"%s"' % hashlib.md5(src[:5 * MIB]).hexdigest()
    r2 = s3.upload_part_copy(Bucket="pcopy", Key="dst", UploadId=uid, PartNumber=2,
                             CopySource="pcopy/src", CopySourceRange="bytes=%d-%d" % (
                                 5 * MIB, len(src) - 1))
    for bad, code in (("bytes=0-%d" % len(src), "InvalidRange"), ("bytes=5-", "InvalidArgument"),
                      ("items=0-1", "InvalidArgument")):
        with pytest.raises(ClientError) as e:
            s3.upload_part_copy(Bucket="pcopy", Key="dst", UploadId=uid, PartNumber=3,
                                CopySource="pcopy/src", CopySourceRange=bad)
        assert error_code(e) == code, bad
    with pytest.raises(ClientError) as e:
        env.clients["other"].upload_part_copy(Bucket="pcopy", Key="dst", UploadId=uid,
                                              PartNumber=3, CopySource="pcopy/src")
    assert error_code(e) == "AccessDenied"
    s3.complete_multipart_upload(Bucket="pcopy", Key="dst", UploadId=uid, MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": r1["CopyPartResult"]["ETag"]},
                  {"PartNumber": 2, "ETag": r2["CopyPartResult"]["ETag"]}]})
    assert s3.get_object(Bucket="pcopy", Key="dst")["Body"].read() == src


@pytest.mark.parametrize("algo,ctype", [("CRC32", "COMPOSITE"), ("SHA256", "COMPOSITE")])
def test_multipart_checksums(env, algo, ctype):
    s3 = env.s3
    s3.create_bucket(Bucket="mpc")
    uid = s3.create_multipart_upload(Bucket="mpc", Key="k", ChecksumAlgorithm=algo)["UploadId"]
    data = [os.urandom(5 * MIB), b"end"]
    parts = []
    for i, d in enumerate(data, 1):
        r = s3.upload_part(Bucket="mpc", Key="k", UploadId=uid, PartNumber=i, Body=d,
                           ChecksumAlgorithm=algo)
        parts.append({"PartNumber": i, "ETag": r["ETag"],
                      "Checksum" + algo: r["Checksum" + algo]})
    r = s3.complete_multipart_upload(Bucket="mpc", Key="k", UploadId=uid,
                                     MultipartUpload={"Parts": parts})
    import base64
    import zlib
    def raw(d):
        if algo == "CRC32":
            return zlib.crc32(d).to_bytes(4, "big")
        return hashlib.sha256(d).digest()
    composite = base64.b64encode(
        raw(b"".join(raw(d) for d in data)) if algo == "CRC32"
        else hashlib.sha256(b"".join(raw(d) for d in data)).digest()).decode() + "-2"
    assert r["Checksum" + algo] == composite
    assert s3.get_object(Bucket="mpc", Key="k")["Body"].read() == b"".join(data)


# ---- listings ----

def expected_listing(keys, prefix="", delimiter=None):
    items, prefixes = [], []
    for k in sorted(keys, key=lambda s: s.encode()):
        if not k.startswith(prefix):
            continue
        rest = k[len(prefix):]
        if delimiter and delimiter in rest:
            cp = prefix + rest[:rest.index(delimiter) + len(delimiter)]
            if cp not in prefixes:
                prefixes.append(cp)
        else:
            items.append(k)
    return items, prefixes


def page_all_v2(s3, bucket, **kw):
    items, prefixes, token, pages = [], [], None, 0
    while True:
        args = dict(kw)
        if token:
            args["ContinuationToken"] = token
        r = s3.list_objects_v2(Bucket=bucket, **args)
        pages += 1
        got = [o["Key"] for o in r.get("Contents", [])]
        cps = [p["Prefix"] for p in r.get("CommonPrefixes", [])]
        assert r["KeyCount"] == len(got) + len(cps)
        items += got
        prefixes += cps
        if not r["IsTruncated"]:
            return items, prefixes, pages
        token = r["NextContinuationToken"]


def page_all_v1(s3, bucket, **kw):
    items, prefixes, marker = [], [], None
    while True:
        args = dict(kw)
        if marker:
            args["Marker"] = marker
        r = s3.list_objects(Bucket=bucket, **args)
        got = [o["Key"] for o in r.get("Contents", [])]
        cps = [p["Prefix"] for p in r.get("CommonPrefixes", [])]
        items += got
        prefixes += cps
        if not r["IsTruncated"]:
            return items, prefixes
        marker = r.get("NextMarker") or got[-1]


def test_listings_paginate_with_prefix_and_delimiter(env):
    s3 = env.s3
    s3.create_bucket(Bucket="tree")
    keys = ["top%02d" % i for i in range(12)]
    keys += ["a/%02d" % i for i in range(30)] + ["a/sub/%d" % i for i in range(5)]
    keys += ["b/x/y/%d" % i for i in range(7)] + ["b/z", "c", "c/", "d/e f+g", "é/ü", "~tilde"]
    for k in keys:
        s3.put_object(Bucket="tree", Key=k, Body=b".")
    for prefix, delim, page in (("", None, 7), ("", "/", 5), ("a/", "/", 4), ("b/", "/", 1),
                                ("b/x", "/", 3), ("zz", "/", 5), ("a/", None, 1000)):
        want = expected_listing(keys, prefix, delim)
        kw = dict(Prefix=prefix, MaxKeys=page)
        if delim:
            kw["Delimiter"] = delim
        items, prefixes, _ = page_all_v2(s3, "tree", **kw)
        assert (items, prefixes) == want, (prefix, delim, page)
        assert page_all_v1(s3, "tree", **kw) == want, (prefix, delim, page)
    # start-after, and the url encoding of keys
    r = s3.list_objects_v2(Bucket="tree", StartAfter="c/", Delimiter="/")
    want = expected_listing([k for k in keys if k.encode() > b"c/"], "", "/")
    assert [o["Key"] for o in r["Contents"]] == want[0]
    assert [p["Prefix"] for p in r["CommonPrefixes"]] == want[1] == ["d/", "é/"]
    assert r["StartAfter"] == "c/"
    raw = signed(env.url, env.keys["member"], "GET", "/tree?list-type=2&prefix=d%2F&encoding-type=url")
    root = ET.fromstring(raw.content)
    assert root.find(NS + "Contents").find(NS + "Key").text == "d/e%20f%2Bg"
    assert root.find(NS + "EncodingType").text == "url"


def test_listing_bad_parameters(env):
    env.s3.create_bucket(Bucket="params")
    key = env.keys["member"]
    for q, code in (("max-keys=-1", "InvalidArgument"), ("max-keys=x", "InvalidArgument"),
                    ("encoding-type=base64", "InvalidArgument"),
                    ("list-type=2&continuation-token=bogus", "InvalidArgument")):
        r = signed(env.url, key, "GET", "/params?" + q)
        assert r.status_code == 400, q
        assert ET.fromstring(r.content).find("Code").text == code


def test_common_prefix_is_passed_over_in_one_seek(env):
    """A prefix with thousands of keys under it costs one step, not one per key:
    the listing takes about as long as one with a single key under it."""
    s3 = env.s3
    s3.create_bucket(Bucket="seek")
    import sqlite3
    # many keys under "deep/": written straight into the store to keep the test short
    db = sqlite3.connect(env.nubod.data_dir / "nubo.db")
    db.executemany("INSERT INTO objects (bucket, obj_key, version_id, seq, is_latest, size,"
                   " etag, last_modified_ms) VALUES ('seek', ?, 'null', 1, 1, 0, '\"e\"', 0)",
                   [("deep/%06d" % i,) for i in range(50000)])
    db.commit()
    db.close()
    s3.put_object(Bucket="seek", Key="zz", Body=b"")
    steps = []
    t0 = time.monotonic()
    r = s3.list_objects_v2(Bucket="seek", Delimiter="/")
    steps.append(time.monotonic() - t0)
    assert [p["Prefix"] for p in r["CommonPrefixes"]] == ["deep/"]
    assert [o["Key"] for o in r["Contents"]] == ["zz"]
    assert steps[0] < 0.5


def test_list_object_versions_of_an_unversioned_bucket(env):
    s3 = env.s3
    s3.create_bucket(Bucket="vers")
    for k in ("a", "b", "c/d"):
        s3.put_object(Bucket="vers", Key=k, Body=k.encode())
    r = s3.list_object_versions(Bucket="vers")
    assert [(v["Key"], v["VersionId"], v["IsLatest"]) for v in r["Versions"]] == [
        ("a", "null", True), ("b", "null", True), ("c/d", "null", True)]
    assert "DeleteMarkers" not in r
    r = s3.list_object_versions(Bucket="vers", Delimiter="/", MaxKeys=1)
    assert r["IsTruncated"] and r["NextKeyMarker"] == "a"
    r = s3.list_object_versions(Bucket="vers", Delimiter="/", KeyMarker="a",
                                VersionIdMarker="null")
    assert [v["Key"] for v in r["Versions"]] == ["b"]
    assert [p["Prefix"] for p in r["CommonPrefixes"]] == ["c/"]
    # what tools do to empty a bucket: list versions, delete each
    for v in s3.list_object_versions(Bucket="vers")["Versions"]:
        s3.delete_object(Bucket="vers", Key=v["Key"], VersionId=v["VersionId"])
    s3.delete_bucket(Bucket="vers")


# ---- authentication and tenancy ----

def test_another_projects_keys_get_access_denied_and_no_data(env):
    s3, other = env.s3, env.clients["other"]
    s3.create_bucket(Bucket="private-alpha")
    s3.put_object(Bucket="private-alpha", Key="secret", Body=b"alpha data")
    calls = [
        lambda: other.get_object(Bucket="private-alpha", Key="secret"),
        lambda: other.head_object(Bucket="private-alpha", Key="secret"),
        lambda: other.list_objects_v2(Bucket="private-alpha"),
        lambda: other.list_objects(Bucket="private-alpha"),
        lambda: other.list_object_versions(Bucket="private-alpha"),
        lambda: other.put_object(Bucket="private-alpha", Key="secret", Body=b"overwritten"),
        lambda: other.delete_object(Bucket="private-alpha", Key="secret"),
        lambda: other.delete_bucket(Bucket="private-alpha"),
        lambda: other.head_bucket(Bucket="private-alpha"),
        lambda: other.get_bucket_location(Bucket="private-alpha"),
        lambda: other.copy_object(Bucket="private-alpha", Key="x", CopySource="private-alpha/secret"),
    ]
    for call in calls:
        with pytest.raises(ClientError) as e:
            call()
        assert status_of(e) == 403
        if e.value.response["Error"].get("Code") not in (None, "403"):
            assert error_code(e) == "AccessDenied"
    # nor may it copy alpha's object into a bucket of its own
    other.create_bucket(Bucket="beta-bucket")
    with pytest.raises(ClientError) as e:
        other.copy_object(Bucket="beta-bucket", Key="x", CopySource="private-alpha/secret")
    assert error_code(e) == "AccessDenied"
    assert keys_of(other, "beta-bucket") == []
    assert s3.get_object(Bucket="private-alpha", Key="secret")["Body"].read() == b"alpha data"
    assert keys_of(s3, "private-alpha") == ["secret"]


def test_reader_reads_but_does_not_write(env):
    env.s3.create_bucket(Bucket="team")
    env.s3.put_object(Bucket="team", Key="k", Body=b"v")
    reader = env.clients["reader"]
    assert reader.get_object(Bucket="team", Key="k")["Body"].read() == b"v"
    assert keys_of(reader, "team") == ["k"]
    for call in (lambda: reader.put_object(Bucket="team", Key="k", Body=b"w"),
                 lambda: reader.delete_object(Bucket="team", Key="k"),
                 lambda: reader.create_bucket(Bucket="readers-own"),
                 lambda: reader.delete_bucket(Bucket="team")):
        with pytest.raises(ClientError) as e:
            call()
        assert error_code(e) == "AccessDenied"
    assert env.s3.get_object(Bucket="team", Key="k")["Body"].read() == b"v"


def test_anonymous_and_badly_signed_requests_are_refused(env):
    env.s3.create_bucket(Bucket="locked")
    env.s3.put_object(Bucket="locked", Key="k", Body=b"v")
    for method, path in (("GET", "/"), ("GET", "/locked/k"), ("PUT", "/locked/k"),
                         ("GET", "/locked"), ("DELETE", "/locked/k")):
        r = requests.request(method, env.url + path, data=b"x" if method == "PUT" else None)
        assert r.status_code == 403, (method, path)
        assert ET.fromstring(r.content).find("Code").text == "AccessDenied"
    kid, secret = env.keys["member"]
    r = signed(env.url, (kid, secret[:-1] + "x"), "GET", "/locked/k")
    assert r.status_code == 403
    assert ET.fromstring(r.content).find("Code").text == "SignatureDoesNotMatch"
    r = signed(env.url, ("NUBOAAAAAAAAAAAAAAAA", secret), "GET", "/locked/k")
    assert ET.fromstring(r.content).find("Code").text == "InvalidAccessKeyId"
    r = requests.get(env.url + "/locked/k", headers={"Authorization": "AWS key:sig"})
    assert r.status_code == 400
    # signed for the native API's service, not s3
    import botocore.auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    req = AWSRequest(method="GET", url=env.url + "/locked/k")
    req.headers["X-Amz-Content-SHA256"] = "UNSIGNED-PAYLOAD"
    botocore.auth.SigV4Auth(Credentials(kid, secret), "nubo", "us-east-1").add_auth(req)
    p = req.prepare()
    r = requests.get(p.url, headers=dict(p.headers))
    assert r.status_code == 400
    assert env.s3.get_object(Bucket="locked", Key="k")["Body"].read() == b"v"


def test_presigned_get_and_put(env):
    s3 = env.s3
    s3.create_bucket(Bucket="presign")
    s3.put_object(Bucket="presign", Key="file.txt", Body=b"shared")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "presign", "Key": "file.txt"},
                                    ExpiresIn=300)
    r = requests.get(url)
    assert r.status_code == 200 and r.content == b"shared"
    url = s3.generate_presigned_url("get_object", Params={
        "Bucket": "presign", "Key": "file.txt", "ResponseContentType": "text/plain",
        "ResponseContentDisposition": "attachment"}, ExpiresIn=300)
    r = requests.get(url)
    assert r.headers["Content-Type"] == "text/plain"
    assert r.headers["Content-Disposition"] == "attachment"
    # a header value smuggling a line break is refused, not sent
    url = s3.generate_presigned_url("get_object", Params={
        "Bucket": "presign", "Key": "file.txt",
        "ResponseContentDisposition": "a\r\nSet-Cookie: x=y"}, ExpiresIn=300)
    r = requests.get(url)
    assert r.status_code == 400 and "Set-Cookie" not in r.headers
    url = s3.generate_presigned_url("put_object", Params={"Bucket": "presign", "Key": "up.txt"},
                                    ExpiresIn=300)
    r = requests.put(url, data=b"uploaded")
    assert r.status_code == 200, r.text
    assert s3.get_object(Bucket="presign", Key="up.txt")["Body"].read() == b"uploaded"
    # a URL tampered with, and one that has expired
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "presign", "Key": "file.txt"},
                                    ExpiresIn=1)
    r = requests.get(url.replace("file.txt", "up.txt"))
    assert ET.fromstring(r.content).find("Code").text == "SignatureDoesNotMatch"
    time.sleep(2.1)
    r = requests.get(url)
    assert r.status_code == 403
    assert ET.fromstring(r.content).find("Code").text == "AccessDenied"


def test_presigned_urls_of_signature_version_2(env):
    """What boto3 makes by default for presigned URLs (AWSAccessKeyId,
    Expires, Signature)."""
    import boto3
    from botocore.config import Config
    kid, secret = env.keys["member"]
    v2 = boto3.client("s3", endpoint_url=env.url, aws_access_key_id=kid,
                      aws_secret_access_key=secret, region_name="us-east-1",
                      config=Config(signature_version="s3", s3={"addressing_style": "path"}))
    s3 = env.s3
    s3.create_bucket(Bucket="presign2")
    s3.put_object(Bucket="presign2", Key="dir/a b.txt", Body=b"v2 body")
    url = v2.generate_presigned_url("get_object", Params={"Bucket": "presign2",
                                                          "Key": "dir/a b.txt"}, ExpiresIn=300)
    assert "AWSAccessKeyId=" in url and "Signature=" in url
    r = requests.get(url)
    assert r.status_code == 200 and r.content == b"v2 body"
    url = v2.generate_presigned_url("get_object", Params={
        "Bucket": "presign2", "Key": "dir/a b.txt", "ResponseContentType": "text/x"})
    r = requests.get(url)
    assert r.status_code == 200 and r.headers["Content-Type"] == "text/x"
    url = v2.generate_presigned_url("put_object", Params={
        "Bucket": "presign2", "Key": "up", "ContentType": "text/plain"})
    r = requests.put(url, data=b"put by v2", headers={"Content-Type": "text/plain"})
    assert r.status_code == 200, r.text
    assert s3.get_object(Bucket="presign2", Key="up")["Body"].read() == b"put by v2"
    # another content type than signed, a changed path, a bad key, an expired URL
    r = requests.put(url, data=b"x", headers={"Content-Type": "text/html"})
    assert ET.fromstring(r.content).find("Code").text == "SignatureDoesNotMatch"
    url = v2.generate_presigned_url("get_object", Params={"Bucket": "presign2", "Key": "up"},
                                    ExpiresIn=1)
    r = requests.get(url.replace("/up?", "/dir/a%20b.txt?"))
    assert ET.fromstring(r.content).find("Code").text == "SignatureDoesNotMatch"
    r = requests.get(url.replace(kid, "NUBOAAAAAAAAAAAAAAAA"))
    assert ET.fromstring(r.content).find("Code").text == "InvalidAccessKeyId"
    r = requests.get(url.replace("Expires=", "Expires=9"))
    assert r.status_code == 403
    time.sleep(2.1)
    r = requests.get(url)
    assert r.status_code == 403
    assert ET.fromstring(r.content).find("Code").text == "AccessDenied"
    assert s3.get_object(Bucket="presign2", Key="up")["Body"].read() == b"put by v2"


def test_virtual_hosted_style_addressing(env):
    s3 = env.s3
    s3.create_bucket(Bucket="vhost")
    port = env.url.rsplit(":", 1)[1]
    key = env.keys["member"]
    r = signed(env.url, key, "PUT", "/dir/obj", body=b"via host", host="vhost.localhost:" + port)
    assert r.status_code == 200, r.text
    assert s3.get_object(Bucket="vhost", Key="dir/obj")["Body"].read() == b"via host"
    r = signed(env.url, key, "GET", "/?list-type=2", host="vhost.localhost:" + port)
    assert r.status_code == 200
    assert [k.text for k in ET.fromstring(r.content).iter(NS + "Key")] == ["dir/obj"]
    r = signed(env.url, key, "GET", "/dir/obj", host="VHOST.localhost:" + port)
    assert r.content == b"via host"


def test_unsupported_operations_say_so(env):
    env.s3.create_bucket(Bucket="unsup")
    key = env.keys["member"]
    for method, path in (("GET", "/unsup?lifecycle"), ("PUT", "/unsup?website"),
                         ("PUT", "/unsup/k?retention"), ("GET", "/unsup/k?tagging"),
                         ("GET", "/unsup/k?partNumber=1"), ("GET", "/unsup/k?attributes")):
        r = signed(env.url, key, method, path)
        assert r.status_code == 501, (method, path, r.text)
        assert ET.fromstring(r.content).find("Code").text == "NotImplemented"
    r = signed(env.url, key, "POST", "/unsup/k")
    assert r.status_code == 405


def test_orphaned_files_are_removed_at_start(nubod, env):
    s3 = env.s3
    s3.create_bucket(Bucket="crashy")
    s3.put_object(Bucket="crashy", Key="kept", Body=b"kept")
    data = nubod.data_dir / "objects"
    orphan = data / "data" / "ab" / "ab000000-0000-4000-8000-000000000000"
    orphan.write_bytes(b"no row names me")
    partial = data / "tmp" / "some-upload"
    partial.write_bytes(b"half")
    assert nubod.stop() == 0
    nubod.restart()
    assert not orphan.exists() and not partial.exists()
    assert "removed 2 files a crash left behind" in nubod.log()
    s3 = s3_client(nubod.s3_url, env.keys["member"])
    assert s3.get_object(Bucket="crashy", Key="kept")["Body"].read() == b"kept"


def test_abandoned_uploads_expire(make_nubod):
    n = make_nubod(extra_args=["--s3-upload-expiry", "1"])
    env = S3Env(n)
    s3 = env.s3
    s3.create_bucket(Bucket="stale")
    uid = s3.create_multipart_upload(Bucket="stale", Key="k")["UploadId"]
    s3.upload_part(Bucket="stale", Key="k", UploadId=uid, PartNumber=1, Body=b"x" * 1000)
    time.sleep(1.5)
    assert n.stop() == 0
    n.restart()  # housekeeping runs at start, then every 10 minutes
    s3 = s3_client(n.s3_url, env.keys["member"])
    deadline = time.monotonic() + 10
    while s3.list_multipart_uploads(Bucket="stale").get("Uploads") and \
            time.monotonic() < deadline:
        time.sleep(0.1)
    assert not s3.list_multipart_uploads(Bucket="stale").get("Uploads")
    assert "aborted 1 multipart uploads older than 1s" in n.log()
    files = [f for _, _, fs in os.walk(n.data_dir / "objects" / "data") for f in fs]
    assert files == []
    q = env.tenancy.admin.get("/v1/projects/alpha/quotas").json()["quotas"]["object_bytes"]
    assert q["used"] == 0
    s3.delete_bucket(Bucket="stale")


def test_metrics_count_operations_and_bytes(env):
    s3 = env.s3
    s3.create_bucket(Bucket="metered")
    s3.put_object(Bucket="metered", Key="k", Body=b"x" * 1000)
    s3.get_object(Bucket="metered", Key="k")["Body"].read()
    s3.get_object(Bucket="metered", Key="k", Range="bytes=0-9")["Body"].read()
    with pytest.raises(ClientError):
        s3.get_object(Bucket="metered", Key="missing")
    text = requests.get(env.nubod.url + "/metrics").text
    values = {}
    for line in text.splitlines():
        if line.startswith("nubo_s3_") or line.startswith("nubo_http_requests_total{"):
            name, _, v = line.rpartition(" ")
            values[name] = float(v)
    assert values["nubo_s3_received_bytes_total"] == 1000
    assert values["nubo_s3_sent_bytes_total"] == 1010
    assert values['nubo_http_requests_total{method="PUT",route="s3:PutObject",status="200"}'] == 1
    assert values['nubo_http_requests_total{method="GET",route="s3:GetObject",status="404"}'] == 1
    assert values['nubo_http_requests_total{method="GET",route="s3:GetObject",status="206"}'] == 1


# ---- public access: canned ACLs and bucket policies ----

def test_public_read_acls(env):
    s3 = env.s3
    s3.create_bucket(Bucket="site", ACL="public-read")
    s3.create_bucket(Bucket="closed")
    s3.put_object(Bucket="site", Key="index.html", Body=b"<h1>hi</h1>", ACL="public-read",
                  ContentType="text/html")
    s3.put_object(Bucket="site", Key="private.txt", Body=b"secret")
    s3.put_object(Bucket="closed", Key="open.txt", Body=b"open", ACL="public-read")
    anon = requests.Session()
    # a public-read bucket lists for anyone; a public-read object reads for anyone
    r = anon.get(env.url + "/site?list-type=2")
    assert r.status_code == 200
    assert sorted(k.text for k in ET.fromstring(r.content).iter(NS + "Key")) == [
        "index.html", "private.txt"]
    r = anon.get(env.url + "/site/index.html")
    assert r.status_code == 200 and r.content == b"<h1>hi</h1>"
    assert r.headers["Content-Type"] == "text/html"
    assert anon.head(env.url + "/site/index.html").status_code == 200
    assert anon.get(env.url + "/closed/open.txt").content == b"open"
    for path, code, status in (("/site/private.txt", "AccessDenied", 403),
                               ("/site/missing", "NoSuchKey", 404),
                               ("/closed/missing", "AccessDenied", 403),
                               ("/closed?list-type=2", "AccessDenied", 403),
                               ("/nobucket/k", "NoSuchBucket", 404),
                               ("/site/index.html?versionId=null", "AccessDenied", 403)):
        r = anon.get(env.url + path)
        assert r.status_code == status, path
        assert ET.fromstring(r.content).find("Code").text == code, path
    # anonymous writes are refused whatever the ACL
    r = anon.put(env.url + "/site/new.txt", data=b"x")
    assert r.status_code == 403
    r = anon.delete(env.url + "/site/index.html")
    assert r.status_code == 403
    assert sorted(keys_of(s3, "site")) == ["index.html", "private.txt"]
    acl = s3.get_bucket_acl(Bucket="site")
    assert {g["Permission"] for g in acl["Grants"]} == {"FULL_CONTROL", "READ"}
    s3.put_bucket_acl(Bucket="site", ACL="private")
    assert anon.get(env.url + "/site?list-type=2").status_code == 403
    assert [g["Permission"] for g in s3.get_bucket_acl(Bucket="site")["Grants"]] == [
        "FULL_CONTROL"]
    # the object's own ACL still holds
    assert anon.get(env.url + "/site/index.html").status_code == 200
    with pytest.raises(ClientError) as e:
        s3.put_bucket_acl(Bucket="site", ACL="authenticated-read")
    assert status_of(e) == 501
    with pytest.raises(ClientError) as e:
        env.clients["other"].put_bucket_acl(Bucket="site", ACL="public-read")
    assert error_code(e) == "AccessDenied"
    with pytest.raises(ClientError) as e:
        env.clients["reader"].put_bucket_acl(Bucket="site", ACL="public-read")
    assert error_code(e) == "AccessDenied"
    # a copy does not inherit the source's ACL
    s3.copy_object(Bucket="site", Key="copy.html", CopySource="site/index.html")
    assert anon.get(env.url + "/site/copy.html").status_code == 403
    # an object's ACL read and changed
    acl = s3.get_object_acl(Bucket="site", Key="copy.html")
    assert [g["Permission"] for g in acl["Grants"]] == ["FULL_CONTROL"]
    s3.put_object_acl(Bucket="site", Key="copy.html", ACL="public-read")
    assert anon.get(env.url + "/site/copy.html").status_code == 200
    assert {g["Permission"] for g in s3.get_object_acl(Bucket="site", Key="copy.html")[
        "Grants"]} == {"FULL_CONTROL", "READ"}
    s3.put_object_acl(Bucket="site", Key="copy.html", ACL="private")
    assert anon.get(env.url + "/site/copy.html").status_code == 403
    with pytest.raises(ClientError) as e:
        s3.put_object_acl(Bucket="site", Key="missing", ACL="public-read")
    assert error_code(e) == "NoSuchKey"
    with pytest.raises(ClientError) as e:
        env.clients["reader"].put_object_acl(Bucket="site", Key="copy.html", ACL="public-read")
    assert error_code(e) == "AccessDenied"
    with pytest.raises(ClientError) as e:
        env.clients["other"].get_object_acl(Bucket="site", Key="copy.html")
    assert error_code(e) == "AccessDenied"


def test_bucket_policy_for_public_static_assets(env):
    s3 = env.s3
    s3.create_bucket(Bucket="assets")
    for k in ("public/app.js", "public/css/site.css", "private/keys.txt", "robots.txt"):
        s3.put_object(Bucket="assets", Key=k, Body=k.encode())
    anon = requests.Session()
    assert anon.get(env.url + "/assets/public/app.js").status_code == 403
    import json
    policy = {"Version": "2012-10-17", "Statement": [{
        "Sid": "PublicRead", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
        "Resource": ["arn:aws:s3:::assets/public/*", "arn:aws:s3:::assets/robots.txt"]}]}
    s3.put_bucket_policy(Bucket="assets", Policy=json.dumps(policy))
    assert json.loads(s3.get_bucket_policy(Bucket="assets")["Policy"]) == policy
    assert anon.get(env.url + "/assets/public/app.js").content == b"public/app.js"
    assert anon.get(env.url + "/assets/public/css/site.css").status_code == 200
    assert anon.get(env.url + "/assets/robots.txt").status_code == 200
    assert anon.get(env.url + "/assets/private/keys.txt").status_code == 403
    assert anon.get(env.url + "/assets/public/missing.js").status_code == 403
    assert anon.get(env.url + "/assets?list-type=2").status_code == 403
    # what the subset does not serve is refused, and the policy stays as it was
    for bad in ({"Statement": [dict(policy["Statement"][0], Effect="Deny")]},
                {"Statement": [dict(policy["Statement"][0], Action="s3:PutObject")]},
                {"Statement": [dict(policy["Statement"][0], Principal={"AWS": "arn:x"})]},
                {"Statement": [dict(policy["Statement"][0],
                                    Resource="arn:aws:s3:::other-bucket/*")]},
                {"Statement": [dict(policy["Statement"][0], Resource="arn:aws:s3:::assets/a*b")]},
                {"Statement": [dict(policy["Statement"][0], Condition={})]},
                {"Statement": []}, "not json"):
        doc = bad if isinstance(bad, str) else json.dumps(bad)
        with pytest.raises(ClientError) as e:
            s3.put_bucket_policy(Bucket="assets", Policy=doc)
        assert error_code(e) == "MalformedPolicy", bad
    assert json.loads(s3.get_bucket_policy(Bucket="assets")["Policy"]) == policy
    with pytest.raises(ClientError) as e:
        env.clients["other"].put_bucket_policy(Bucket="assets", Policy=json.dumps(policy))
    assert error_code(e) == "AccessDenied"
    with pytest.raises(ClientError) as e:
        env.clients["other"].get_bucket_policy(Bucket="assets")
    assert error_code(e) == "AccessDenied"
    s3.delete_bucket_policy(Bucket="assets")
    with pytest.raises(ClientError) as e:
        s3.get_bucket_policy(Bucket="assets")
    assert error_code(e) == "NoSuchBucketPolicy"
    assert anon.get(env.url + "/assets/public/app.js").status_code == 403
    events = env.tenancy.admin.get("/v1/audit?action=s3.bucket.policy").json()["items"]
    assert sorted((e["outcome"], e["status"]) for e in events) == \
        [("failure", 400)] * 8 + [("failure", 403), ("success", 204), ("success", 204)]


def test_cors_configuration_and_preflight(env):
    s3 = env.s3
    s3.create_bucket(Bucket="web")
    s3.put_object(Bucket="web", Key="app.js", Body=b"js", ACL="public-read")
    rules = {"CORSRules": [
        {"AllowedOrigins": ["https://*.example.org"], "AllowedMethods": ["GET", "PUT"],
         "AllowedHeaders": ["x-amz-*", "Content-Type"], "ExposeHeaders": ["ETag"],
         "MaxAgeSeconds": 600},
        {"AllowedOrigins": ["*"], "AllowedMethods": ["HEAD"]}]}
    with pytest.raises(ClientError) as e:
        s3.get_bucket_cors(Bucket="web")
    assert error_code(e) == "NoSuchCORSConfiguration"
    pre = lambda origin, method, headers=None: requests.options(
        env.url + "/web/app.js", headers=dict(
            {"Origin": origin, "Access-Control-Request-Method": method},
            **({"Access-Control-Request-Headers": headers} if headers else {})))
    assert pre("https://a.example.org", "GET").status_code == 403
    s3.put_bucket_cors(Bucket="web", CORSConfiguration=rules)
    got = s3.get_bucket_cors(Bucket="web")["CORSRules"]
    assert got[0]["AllowedOrigins"] == ["https://*.example.org"]
    assert got[0]["MaxAgeSeconds"] == 600
    r = pre("https://a.example.org", "PUT", "content-type, X-Amz-Meta-Color")
    assert r.status_code == 200, r.text
    assert r.headers["Access-Control-Allow-Origin"] == "https://a.example.org"
    assert r.headers["Access-Control-Allow-Methods"] == "GET, PUT"
    assert r.headers["Access-Control-Allow-Headers"] == "content-type, X-Amz-Meta-Color"
    assert r.headers["Access-Control-Max-Age"] == "600"
    assert r.headers["Access-Control-Expose-Headers"] == "ETag"
    for origin, method, headers in (("https://evil.com", "GET", None),
                                    ("https://a.example.org", "DELETE", None),
                                    ("https://a.example.org", "GET", "authorization")):
        r = pre(origin, method, headers)
        assert r.status_code == 403, (origin, method, headers)
        assert ET.fromstring(r.content).find("Code").text == "AccessForbidden"
    r = pre("https://anyone.net", "HEAD")
    assert r.status_code == 200 and r.headers["Access-Control-Allow-Origin"] == "*"
    r = requests.options(env.url + "/web/app.js", headers={"Origin": "https://a.example.org"})
    assert r.status_code == 400
    r = requests.options(env.url + "/nobucket/x", headers={
        "Origin": "https://a.example.org", "Access-Control-Request-Method": "GET"})
    assert r.status_code == 404
    # the actual request carries the allowing rule's headers
    r = requests.get(env.url + "/web/app.js", headers={"Origin": "https://b.example.org"})
    assert r.content == b"js"
    assert r.headers["Access-Control-Allow-Origin"] == "https://b.example.org"
    assert r.headers["Access-Control-Expose-Headers"] == "ETag"
    r = requests.get(env.url + "/web/app.js", headers={"Origin": "https://evil.com"})
    assert "Access-Control-Allow-Origin" not in r.headers
    bad = b"<CORSConfiguration><CORSRule><AllowedMethod>FETCH</AllowedMethod>" \
          b"<AllowedOrigin>*</AllowedOrigin></CORSRule></CORSConfiguration>"
    r = signed(env.url, env.keys["member"], "PUT", "/web?cors", body=bad)
    assert r.status_code == 400
    with pytest.raises(ClientError) as e:
        env.clients["other"].put_bucket_cors(Bucket="web", CORSConfiguration=rules)
    assert error_code(e) == "AccessDenied"
    s3.delete_bucket_cors(Bucket="web")
    assert pre("https://a.example.org", "GET").status_code == 403
    events = env.tenancy.admin.get("/v1/audit?action=s3.bucket.cors").json()["items"]
    assert sorted((e["outcome"], e["status"]) for e in events) == [
        ("failure", 400), ("failure", 403), ("success", 200), ("success", 204)]


def test_reads_during_overwrites_get_old_or_new_bytes(env):
    import concurrent.futures
    s3 = s3_client(env.url, env.keys["member"], max_pool_connections=8)
    s3.create_bucket(Bucket="race")
    bodies = [bytes([i]) * (200000 + i) for i in range(20)]
    s3.put_object(Bucket="race", Key="k", Body=bodies[0])
    stop = []

    def write():
        for b in bodies[1:]:
            s3.put_object(Bucket="race", Key="k", Body=b)
        stop.append(True)

    def read():
        seen = 0
        while not stop:
            data = s3.get_object(Bucket="race", Key="k")["Body"].read()
            assert data in bodies
            seen += 1
        return seen

    with concurrent.futures.ThreadPoolExecutor(4) as ex:
        readers = [ex.submit(read) for _ in range(3)]
        ex.submit(write).result()
        assert all(r.result() >= 0 for r in readers)
    assert s3.get_object(Bucket="race", Key="k")["Body"].read() == bodies[-1]
    files = [f for _, _, fs in os.walk(env.nubod.data_dir / "objects" / "data") for f in fs]
    assert len(files) == 1


def test_bucket_deleted_while_an_upload_streams(env):
    import threading
    s3 = env.s3
    s3.create_bucket(Bucket="vanishing")
    go = threading.Event()

    def body():
        yield b"first part "
        go.wait(10)
        yield b"second part"

    kid, secret = env.keys["member"]
    import botocore.auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    req = AWSRequest(method="PUT", url=env.url + "/vanishing/k", data=b"")
    auth = botocore.auth.S3SigV4Auth(Credentials(kid, secret), "s3", "us-east-1")
    auth.payload = lambda request: "UNSIGNED-PAYLOAD"
    auth.add_auth(req)
    p = req.prepare()
    headers = {k: v for k, v in p.headers.items() if k.lower() != "content-length"}
    result = {}
    t = threading.Thread(target=lambda: result.setdefault(
        "r", requests.put(p.url, headers=headers, data=body(), timeout=30)))
    t.start()
    time.sleep(0.5)
    s3.delete_bucket(Bucket="vanishing")
    go.set()
    t.join()
    r = result["r"]
    assert r.status_code == 404, r.text
    assert ET.fromstring(r.content).find("Code").text == "NoSuchBucket"
    files = [f for _, _, fs in os.walk(env.nubod.data_dir / "objects" / "data") for f in fs]
    assert files == []


def test_upload_cut_off_midway_leaves_nothing(env):
    import socket
    import botocore.auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    s3 = env.s3
    s3.create_bucket(Bucket="cutoff")
    kid, secret = env.keys["member"]
    req = AWSRequest(method="PUT", url=env.url + "/cutoff/k", data=b"",
                     headers={"Content-Length": str(1 << 20)})
    auth = botocore.auth.S3SigV4Auth(Credentials(kid, secret), "s3", "us-east-1")
    auth.payload = lambda request: "UNSIGNED-PAYLOAD"
    auth.add_auth(req)
    host, port = env.url.split("//")[1].split(":")
    sock = socket.create_connection((host, int(port)))
    head = "PUT /cutoff/k HTTP/1.1\r\nHost: %s:%s\r\n" % (host, port) + "".join(
        "%s: %s\r\n" % (k, v) for k, v in req.headers.items()) + "\r\n"
    sock.sendall(head.encode() + b"x" * 100000)
    time.sleep(0.3)
    sock.close()
    tmp = env.nubod.data_dir / "objects" / "tmp"
    deadline = time.monotonic() + 5
    while list(tmp.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert list(tmp.iterdir()) == []
    assert keys_of(s3, "cutoff") == []
    files = [f for _, _, fs in os.walk(env.nubod.data_dir / "objects" / "data") for f in fs]
    assert files == []
    # the upload had begun (authenticated, streaming) when the client went away
    assert re.search(r"route=s3:PutObject path=/cutoff/k status=0 .* aborted=true",
                     env.nubod.log())
