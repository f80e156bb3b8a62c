"""The S3 service driven by unmodified clients: Debian's aws CLI 2.9, the
image's Python with boto3/botocore 1.43 and its aws CLI 1.45 (which send
CRC checksums by default), s3cmd and rclone."""
import hashlib
import json
import os
import shutil

import pytest

from s3_util import NEW_AWS, REGION, S3Env, cli_env, run, run_new_python

DEB_AWS = "/usr/bin/aws"


@pytest.fixture
def env(nubod):
    return S3Env(nubod)


def make_tree(root):
    """A small directory tree with a binary file; returns {relative path: bytes}."""
    files = {"a/x.txt": b"hello\n", "a/b/y.txt": b"yo\n", "top.bin": os.urandom(3 << 20),
             "multi.bin": os.urandom(20 << 20),
             "space name.txt": b"spaces", "unicode-\u00e9.txt": b"accent"}
    for rel, data in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return files


def read_tree(root):
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def aws_cli_round_trip(aws, env, tmp_path, bucket):
    """mb, sync up, ls, sync down, s3api, rm, rb with one aws CLI."""
    e = cli_env(env.keys["member"], tmp_path)
    ep = ["--endpoint-url", env.url]
    src, back = tmp_path / "src", tmp_path / "back"
    files = make_tree(src)
    run([aws] + ep + ["s3", "mb", "s3://" + bucket], e)
    run([aws] + ep + ["s3", "sync", str(src), "s3://%s/tree" % bucket], e)
    out = run([aws] + ep + ["s3", "ls", "--recursive", "s3://%s/" % bucket], e).stdout
    assert sorted(l.split(None, 3)[3] for l in out.splitlines()) == sorted(
        "tree/" + k for k in files)
    # a second sync sends nothing
    out = run([aws] + ep + ["s3", "sync", str(src), "s3://%s/tree" % bucket], e).stdout
    assert "upload:" not in out
    run([aws] + ep + ["s3", "sync", "s3://%s/tree" % bucket, str(back)], e)
    assert read_tree(back) == files
    head = json.loads(run([aws] + ep + ["s3api", "head-object", "--bucket", bucket, "--key",
                                        "tree/a/x.txt"], e).stdout)
    assert head["ETag"] == '"%s"' % hashlib.md5(files["a/x.txt"]).hexdigest()
    assert head["ContentLength"] == len(files["a/x.txt"])
    listed = json.loads(run([aws] + ep + ["s3api", "list-objects-v2", "--bucket", bucket,
                                          "--prefix", "tree/", "--delimiter", "/"], e).stdout)
    assert [p["Prefix"] for p in listed["CommonPrefixes"]] == ["tree/a/"]
    run([aws] + ep + ["s3", "cp", "s3://%s/tree/top.bin" % bucket, str(tmp_path / "one.bin")], e)
    assert (tmp_path / "one.bin").read_bytes() == files["top.bin"]
    run([aws] + ep + ["s3", "rm", "--recursive", "s3://%s/" % bucket], e)
    run([aws] + ep + ["s3", "rb", "s3://" + bucket], e)
    assert env.s3.list_buckets()["Buckets"] == []


def test_debian_aws_cli(env, tmp_path):
    if not os.path.exists(DEB_AWS):
        pytest.skip("Debian's awscli is not installed")
    aws_cli_round_trip(DEB_AWS, env, tmp_path, "deb-cli")


def test_newer_aws_cli(env, tmp_path):
    if not os.path.exists(NEW_AWS):
        pytest.skip("the image's aws CLI 1.45 (%s) is not here" % NEW_AWS)
    aws_cli_round_trip(NEW_AWS, env, tmp_path, "new-cli")


@pytest.mark.parametrize("aws", [DEB_AWS, NEW_AWS])
def test_aws_cli_100mb_multipart_upload(env, tmp_path, aws):
    if not os.path.exists(aws):
        pytest.skip("%s is not here" % aws)
    e = cli_env(env.keys["member"], tmp_path)
    ep = ["--endpoint-url", env.url]
    big = tmp_path / "big.bin"
    with open(big, "wb") as f:
        for _ in range(100):
            f.write(os.urandom(1 << 20))
    run([aws] + ep + ["s3", "mb", "s3://hundred"], e)
    run([aws] + ep + ["s3", "cp", str(big), "s3://hundred/big.bin"], e, timeout=300)
    head = json.loads(run([aws] + ep + ["s3api", "head-object", "--bucket", "hundred", "--key",
                                        "big.bin"], e).stdout)
    assert head["ContentLength"] == 100 << 20
    assert head["ETag"].endswith('-13"')  # 8 MiB parts
    run([aws] + ep + ["s3", "cp", "s3://hundred/big.bin", str(tmp_path / "back.bin")], e,
        timeout=300)
    h = lambda p: hashlib.sha256(p.read_bytes()).hexdigest()
    assert h(tmp_path / "back.bin") == h(big)
    ups = json.loads(run([aws] + ep + ["s3api", "list-multipart-uploads", "--bucket",
                                       "hundred"], e).stdout or "{}")
    assert not ups.get("Uploads")


def test_newer_boto3_with_default_checksums_and_2500_keys(env):
    kid, secret = env.keys["member"]
    out = run_new_python("""
        import json, hashlib, concurrent.futures, boto3, botocore, requests
        from botocore.config import Config
        s3 = boto3.client("s3", endpoint_url=%r, aws_access_key_id=%r,
                          aws_secret_access_key=%r, region_name=%r,
                          config=Config(s3={"addressing_style": "path"},
                                        max_pool_connections=16))
        res = {"botocore": botocore.__version__}
        s3.create_bucket(Bucket="newboto")
        r = s3.put_object(Bucket="newboto", Key="k", Body=b"abc")
        res["put_checksum"] = r.get("ChecksumCRC32")
        g = s3.get_object(Bucket="newboto", Key="k", ChecksumMode="ENABLED")
        res["get"] = g["Body"].read().decode()
        res["get_checksum"] = g.get("ChecksumCRC32")
        res["range"] = s3.get_object(Bucket="newboto", Key="k", Range="bytes=1-")["Body"].read().decode()
        keys = ["d%%02d/k%%04d" %% (i %% 25, i) for i in range(2500)]
        with concurrent.futures.ThreadPoolExecutor(16) as ex:
            list(ex.map(lambda k: s3.put_object(Bucket="newboto", Key=k, Body=b""), keys))
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket="newboto", Prefix="d",
                                                             PaginationConfig={"PageSize": 300})
        got = [o["Key"] for p in pages for o in p.get("Contents", [])]
        res["listed"] = got == sorted(keys)
        pages = s3.get_paginator("list_objects").paginate(Bucket="newboto", Delimiter="/",
                                                         PaginationConfig={"PageSize": 7})
        res["prefixes"] = [c["Prefix"] for p in pages for c in p.get("CommonPrefixes", [])]
        batch = [{"Key": k} for k in keys[:1000]]
        r = s3.delete_objects(Bucket="newboto", Delete={"Objects": batch, "Quiet": True})
        res["delete_errors"] = r.get("Errors", [])
        res["left"] = s3.list_objects_v2(Bucket="newboto", Prefix="d")["KeyCount"]
        # boto3 presigns with SigV2 unless told s3v4
        url = s3.generate_presigned_url("get_object", Params={"Bucket": "newboto", "Key": "k"})
        res["presigned_v2"] = [requests.get(url).text, "Signature=" in url]
        v4 = boto3.client("s3", endpoint_url=%r, aws_access_key_id=%r,
                          aws_secret_access_key=%r, region_name=%r,
                          config=Config(signature_version="s3v4"))
        url = v4.generate_presigned_url("get_object", Params={"Bucket": "newboto", "Key": "k"})
        res["presigned"] = requests.get(url).text
        print(json.dumps(res))
    """ % ((env.url, kid, secret, REGION) * 2))
    assert out["put_checksum"] == "NSRBwg==" and out["get_checksum"] == "NSRBwg=="
    assert out["get"] == "abc" and out["range"] == "bc"
    assert out["listed"] is True
    assert out["prefixes"] == ["d%02d/" % i for i in range(25)]
    assert out["delete_errors"] == [] and out["left"] == 1000
    assert out["presigned"] == "abc" and out["presigned_v2"] == ["abc", True]


def test_s3cmd(env, tmp_path):
    if not shutil.which("s3cmd"):
        pytest.skip("s3cmd is not installed")
    kid, secret = env.keys["member"]
    host = env.url.split("//", 1)[1]
    cfg = tmp_path / "s3cfg"
    cfg.write_text("[default]\naccess_key = %s\nsecret_key = %s\nhost_base = %s\n"
                   "host_bucket = %s\nuse_https = False\nsignature_v2 = False\n"
                   "bucket_location = %s\n" % (kid, secret, host, host, REGION))
    e = cli_env(env.keys["member"], tmp_path)
    s3cmd = ["s3cmd", "-c", str(cfg)]
    src, back = tmp_path / "src", tmp_path / "back"
    files = make_tree(src)
    run(s3cmd + ["mb", "s3://s3cmd-bucket"], e)
    run(s3cmd + ["sync", str(src) + "/", "s3://s3cmd-bucket/t/"], e)
    out = run(s3cmd + ["ls", "--recursive", "s3://s3cmd-bucket"], e).stdout
    assert len(out.splitlines()) == len(files)
    run(s3cmd + ["sync", "s3://s3cmd-bucket/t/", str(back) + "/"], e)
    assert read_tree(back) == files
    out = run(s3cmd + ["info", "s3://s3cmd-bucket/t/a/x.txt"], e).stdout
    assert hashlib.md5(files["a/x.txt"]).hexdigest() in out
    run(s3cmd + ["del", "--recursive", "--force", "s3://s3cmd-bucket"], e)
    run(s3cmd + ["rb", "s3://s3cmd-bucket"], e)
    assert env.s3.list_buckets()["Buckets"] == []


def test_rclone_sync_and_check(env, tmp_path):
    if not shutil.which("rclone"):
        pytest.skip("rclone is not installed")
    kid, secret = env.keys["member"]
    e = cli_env(env.keys["member"], tmp_path)
    e.pop("AWS_CA_BUNDLE", None)  # rclone cannot load one into its transport
    e.update(RCLONE_CONFIG_NUBO_TYPE="s3", RCLONE_CONFIG_NUBO_PROVIDER="Other",
             RCLONE_CONFIG_NUBO_ACCESS_KEY_ID=kid, RCLONE_CONFIG_NUBO_SECRET_ACCESS_KEY=secret,
             RCLONE_CONFIG_NUBO_ENDPOINT=env.url, RCLONE_CONFIG_NUBO_REGION=REGION,
             RCLONE_CONFIG_NUBO_FORCE_PATH_STYLE="true")
    rclone = ["rclone", "--config", "/dev/null"]
    src = tmp_path / "src"
    files = make_tree(src)
    run(rclone + ["mkdir", "nubo:rclone-bucket"], e)
    run(rclone + ["sync", str(src), "nubo:rclone-bucket/t"], e)
    run(rclone + ["check", str(src), "nubo:rclone-bucket/t"], e)
    # change the tree: one file changed, one removed, one added
    (src / "a/x.txt").write_bytes(b"changed\n")
    (src / "a/b/y.txt").unlink()
    (src / "new.txt").write_bytes(b"new")
    p = run(rclone + ["check", str(src), "nubo:rclone-bucket/t"], e, check=False)
    assert p.returncode != 0
    run(rclone + ["sync", str(src), "nubo:rclone-bucket/t"], e)
    run(rclone + ["check", str(src), "nubo:rclone-bucket/t"], e)
    listed = run(rclone + ["lsf", "-R", "--files-only", "nubo:rclone-bucket/t"], e).stdout
    want = set(files) - {"a/b/y.txt"} | {"new.txt"}
    assert set(listed.split("\n")) - {""} == want
    got = env.s3.get_object(Bucket="rclone-bucket", Key="t/a/x.txt")["Body"].read()
    assert got == b"changed\n"
    run(rclone + ["purge", "nubo:rclone-bucket"], e)
    assert env.s3.list_buckets()["Buckets"] == []


def test_newer_boto3_full_object_crc_of_a_multipart_upload(env):
    kid, secret = env.keys["member"]
    out = run_new_python("""
        import base64, json, os, zlib, boto3
        from botocore.config import Config
        s3 = boto3.client("s3", endpoint_url=%r, aws_access_key_id=%r,
                          aws_secret_access_key=%r, region_name=%r,
                          config=Config(s3={"addressing_style": "path"}))
        s3.create_bucket(Bucket="fullcrc")
        up = s3.create_multipart_upload(Bucket="fullcrc", Key="k", ChecksumAlgorithm="CRC32",
                                        ChecksumType="FULL_OBJECT")
        data = [os.urandom(5 * 1024 * 1024), os.urandom(1234)]
        parts = []
        for i, d in enumerate(data, 1):
            r = s3.upload_part(Bucket="fullcrc", Key="k", UploadId=up["UploadId"], PartNumber=i,
                               Body=d, ChecksumAlgorithm="CRC32")
            parts.append({"PartNumber": i, "ETag": r["ETag"], "ChecksumCRC32": r["ChecksumCRC32"]})
        whole = base64.b64encode(zlib.crc32(b"".join(data)).to_bytes(4, "big")).decode()
        try:  # a wrong whole-object checksum is refused
            s3.complete_multipart_upload(Bucket="fullcrc", Key="k", UploadId=up["UploadId"],
                                         MultipartUpload={"Parts": parts},
                                         ChecksumCRC32="AAAAAA==", ChecksumType="FULL_OBJECT")
            refused = None
        except Exception as e:
            refused = e.response["Error"]["Code"]
        r = s3.complete_multipart_upload(Bucket="fullcrc", Key="k", UploadId=up["UploadId"],
                                         MultipartUpload={"Parts": parts}, ChecksumCRC32=whole,
                                         ChecksumType="FULL_OBJECT")
        h = s3.head_object(Bucket="fullcrc", Key="k", ChecksumMode="ENABLED")
        print(json.dumps({"want": whole, "complete": r.get("ChecksumCRC32"),
                          "type": r.get("ChecksumType"), "head": h.get("ChecksumCRC32"),
                          "create_type": up.get("ChecksumType"), "refused": refused}))
    """ % (env.url, kid, secret, REGION))
    assert out["complete"] == out["want"] == out["head"]
    assert out["type"] == "FULL_OBJECT" and out["refused"] == "BadDigest"
