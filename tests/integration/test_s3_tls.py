"""The S3 service over HTTPS (--s3-tls-cert, --s3-tls-key) with a self-signed
certificate: SDKs send aws-chunked bodies with trailing checksums only over
HTTPS, so this is where the image's boto3 1.43 and aws CLI 1.45 send them."""
import hashlib
import json
import os
import subprocess

import pytest

from s3_util import NEW_AWS, REGION, S3Env, cli_env, run, run_new_python


@pytest.fixture
def tls_nubod(make_nubod, tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                    str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True)
    n = make_nubod(extra_args=["--s3-tls-cert", str(cert), "--s3-tls-key", str(key)])
    n.cert = cert
    return n


def test_https_with_debian_boto3(tls_nubod):
    assert tls_nubod.s3_url.startswith("https://127.0.0.1:")
    env = S3Env(tls_nubod)
    import boto3
    from botocore.config import Config
    kid, secret = env.keys["member"]
    s3 = boto3.client("s3", endpoint_url=tls_nubod.s3_url, aws_access_key_id=kid,
                      aws_secret_access_key=secret, region_name=REGION,
                      verify=str(tls_nubod.cert),
                      config=Config(s3={"addressing_style": "path"}))
    s3.create_bucket(Bucket="secure")
    body = os.urandom(300000)
    s3.put_object(Bucket="secure", Key="k", Body=body, ChecksumAlgorithm="CRC32")
    assert s3.get_object(Bucket="secure", Key="k")["Body"].read() == body
    # plain HTTP to the HTTPS port is not served
    import requests
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(tls_nubod.s3_url.replace("https:", "http:") + "/", timeout=5)


def test_https_newer_boto3_sends_aws_chunked_trailers(tls_nubod):
    env = S3Env(tls_nubod)
    kid, secret = env.keys["member"]
    out = run_new_python("""
        import hashlib, io, json, os, boto3
        from botocore.config import Config
        s3 = boto3.client("s3", endpoint_url=%r, aws_access_key_id=%r,
                          aws_secret_access_key=%r, region_name=%r, verify=%r,
                          config=Config(s3={"addressing_style": "path"}))
        seen = []
        text = lambda v: v.decode() if isinstance(v, bytes) else v
        s3.meta.events.register("before-send.s3.*", lambda request, **kw: seen.append(
            (text(request.headers.get("x-amz-content-sha256")),
             text(request.headers.get("x-amz-trailer")))))
        res = {}
        s3.create_bucket(Bucket="chunky")
        r = s3.put_object(Bucket="chunky", Key="small", Body=b"abc")
        res["put"] = r.get("ChecksumCRC32")
        res["modes"] = [s for s in seen if s[0] and s[0].startswith("STREAMING")]
        g = s3.get_object(Bucket="chunky", Key="small", ChecksumMode="ENABLED")
        res["get"] = [g["Body"].read().decode(), g.get("ChecksumCRC32")]
        big = os.urandom(20 * 1024 * 1024)
        s3.upload_fileobj(io.BytesIO(big), "chunky", "big")
        got = s3.get_object(Bucket="chunky", Key="big")["Body"].read()
        res["big"] = hashlib.sha256(got).digest() == hashlib.sha256(big).digest()
        res["big_checksum"] = s3.head_object(Bucket="chunky", Key="big",
                                             ChecksumMode="ENABLED").get("ChecksumCRC32")
        print(json.dumps(res))
    """ % (tls_nubod.s3_url, kid, secret, REGION, str(tls_nubod.cert)))
    assert out["put"] == "NSRBwg=="
    assert out["modes"] and out["modes"][0] == ["STREAMING-UNSIGNED-PAYLOAD-TRAILER",
                                                "x-amz-checksum-crc32"]
    assert out["get"] == ["abc", "NSRBwg=="]
    assert out["big"] is True
    assert out["big_checksum"] and out["big_checksum"].endswith("-3")


def test_https_newer_aws_cli(tls_nubod, tmp_path):
    if not os.path.exists(NEW_AWS):
        pytest.skip("the image's aws CLI 1.45 (%s) is not here" % NEW_AWS)
    env = S3Env(tls_nubod)
    e = cli_env(env.keys["member"], tmp_path)
    e["AWS_CA_BUNDLE"] = str(tls_nubod.cert)
    ep = ["--endpoint-url", tls_nubod.s3_url]
    data = os.urandom(12 << 20)
    (tmp_path / "f.bin").write_bytes(data)
    run([NEW_AWS] + ep + ["s3", "mb", "s3://tls-cli"], e)
    run([NEW_AWS] + ep + ["s3", "cp", str(tmp_path / "f.bin"), "s3://tls-cli/f.bin"], e)
    run([NEW_AWS] + ep + ["s3", "cp", "s3://tls-cli/f.bin", str(tmp_path / "back.bin")], e)
    assert (tmp_path / "back.bin").read_bytes() == data
    head = json.loads(run([NEW_AWS] + ep + ["s3api", "head-object", "--bucket", "tls-cli",
                                            "--key", "f.bin"], e).stdout)
    assert head["ContentLength"] == len(data)
