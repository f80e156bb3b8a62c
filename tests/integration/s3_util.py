"""Helpers for the S3 tests: tenants with access keys, boto3 clients of
Debian's python3-boto3, requests signed by botocore's own SigV4 signer, and
scripts run by the machine's other Python (a newer boto3 and aws CLI)."""
import json
import os
import subprocess
import sys
import textwrap

import boto3
import botocore.auth
import pytest
import requests
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from identity_util import Tenancy, new_key

# the image's Python, with boto3/botocore 1.43 and the aws CLI 1.45
NEW_PYTHON = "/root/.pyenv/versions/3.11.7/bin/python3"
NEW_AWS = "/root/.pyenv/versions/3.11.7/bin/aws"
REGION = "us-east-1"


def s3_client(url, key, addressing="path", **config):
    """A boto3 client of the key (id, secret); presigned URLs use SigV4 (boto3
    1.26 presigns with SigV2 by default, which nubo does not take)."""
    kid, secret = key
    return boto3.client("s3", endpoint_url=url, aws_access_key_id=kid,
                        aws_secret_access_key=secret, region_name=REGION,
                        config=Config(s3={"addressing_style": addressing},
                                      signature_version="s3v4",
                                      retries={"max_attempts": 1}, **config))


class S3Env:
    """A nubod with Tenancy's projects and users, an access key for each
    role, and a boto3 client per key."""

    def __init__(self, nubod):
        self.nubod = nubod
        self.url = nubod.s3_url
        self.tenancy = Tenancy(nubod)
        self.keys = {who: new_key(self.tenancy.clients[who])
                     for who in ("member", "reader", "padmin", "other")}
        self.clients = {who: s3_client(self.url, k) for who, k in self.keys.items()}
        self.s3 = self.clients["member"]


def signed(url, key, method, path, body=b"", headers=None, host=None, sha=None,
           tamper_body=None):
    """Send a raw S3 request signed by botocore (service s3). host sets the
    Host header (virtual-hosted style); sha overrides x-amz-content-sha256;
    tamper_body replaces the body after signing."""
    kid, secret = key
    h = dict(headers or {})
    if host:
        h["Host"] = host
    req = AWSRequest(method=method, url=url + path, data=body, headers=h)
    auth = botocore.auth.S3SigV4Auth(Credentials(kid, secret), "s3", REGION)
    if sha:
        auth.payload = lambda request: sha
    auth.add_auth(req)
    p = req.prepare()
    data = tamper_body if tamper_body is not None else p.body
    return requests.request(method, p.url, headers=dict(p.headers), data=data, timeout=30)


def run_new_python(script, **env):
    """Run a script with the image's Python (boto3 1.43); skip when absent.
    Returns its stdout parsed as JSON."""
    if not os.path.exists(NEW_PYTHON):
        pytest.skip("the image's Python (%s) with boto3 1.43 is not here" % NEW_PYTHON)
    e = dict(os.environ, **env)
    p = subprocess.run([NEW_PYTHON, "-c", textwrap.dedent(script)], capture_output=True,
                       text=True, env=e, timeout=120)
    assert p.returncode == 0, p.stderr[-4000:]
    return json.loads(p.stdout.strip().splitlines()[-1])


def cli_env(key, home):
    kid, secret = key
    return dict(os.environ, AWS_ACCESS_KEY_ID=kid, AWS_SECRET_ACCESS_KEY=secret,
                AWS_DEFAULT_REGION=REGION, HOME=str(home), AWS_CONFIG_FILE="/dev/null",
                AWS_SHARED_CREDENTIALS_FILE="/dev/null", AWS_PAGER="")


def run(argv, env, check=True, timeout=120):
    p = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=timeout)
    if check:
        assert p.returncode == 0, "%s\n%s\n%s" % (argv, p.stdout[-3000:], p.stderr[-3000:])
    return p


def error_code(exc_info):
    return exc_info.value.response["Error"]["Code"]


def status_of(exc_info):
    return exc_info.value.response["ResponseMetadata"]["HTTPStatusCode"]


__all__ = ["S3Env", "s3_client", "signed", "run_new_python", "cli_env", "run", "error_code",
           "status_of", "NEW_AWS", "NEW_PYTHON", "REGION", "sys"]


def chunked_put(url, key, path, chunks, tamper=None, trailer=None, decoded_len=None):
    """PUT path with a STREAMING-AWS4-HMAC-SHA256-PAYLOAD body made of chunks
    (a list of bytes), each chunk signed in the chain as AWS's SDKs do, by
    hand (botocore does not send this form). tamper(i, data) may change a
    chunk after signing. With trailer=(name, value) the body is
    STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER with a signed trailer."""
    import datetime
    import hashlib
    import hmac
    kid, secret = key
    mode = ("STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER" if trailer
            else "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
    total = sum(len(c) for c in chunks)
    headers = {"Content-Encoding": "aws-chunked",
               "x-amz-decoded-content-length": str(total if decoded_len is None else decoded_len)}
    if trailer:
        headers["x-amz-trailer"] = trailer[0]
    req = AWSRequest(method="PUT", url=url + path, data=b"", headers=headers)
    auth = botocore.auth.S3SigV4Auth(Credentials(kid, secret), "s3", REGION)
    auth.payload = lambda request: mode
    auth.add_auth(req)
    amz_date = req.headers["X-Amz-Date"]
    seed = req.headers["Authorization"].rsplit("Signature=", 1)[1]
    scope = "%s/%s/s3/aws4_request" % (amz_date[:8], REGION)

    def h(k, m):
        return hmac.new(k, m.encode() if isinstance(m, str) else m, hashlib.sha256).digest()
    skey = h(h(h(h(("AWS4" + secret).encode(), amz_date[:8]), REGION), "s3"), "aws4_request")
    empty = hashlib.sha256(b"").hexdigest()
    body, prev = b"", seed
    for i, data in enumerate(list(chunks) + [b""]):
        sts = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", amz_date, scope, prev, empty,
                         hashlib.sha256(data).hexdigest()])
        prev = hmac.new(skey, sts.encode(), hashlib.sha256).hexdigest()
        sent = tamper(i, data) if tamper else data
        body += b"%x;chunk-signature=%s\r\n" % (len(data), prev.encode()) + sent
        if data or not trailer:
            body += b"\r\n"
    if trailer:
        line = ("%s:%s\n" % trailer).encode()
        sts = "\n".join(["AWS4-HMAC-SHA256-TRAILER", amz_date, scope, prev,
                         hashlib.sha256(line).hexdigest()])
        sig = hmac.new(skey, sts.encode(), hashlib.sha256).hexdigest()
        body += line.replace(b"\n", b"\r\n") + b"x-amz-trailer-signature:%s\r\n\r\n" % sig.encode()
    p = req.prepare()
    hdrs = dict(p.headers)
    hdrs["Content-Length"] = str(len(body))
    return requests.put(p.url, headers=hdrs, data=body, timeout=30)
