"""kill -9 of nubod during 50 concurrent uploads: after a restart every
acknowledged object reads back byte for byte, no partial object is visible,
and the files the crash left behind are gone."""
import concurrent.futures
import hashlib
import os
import random
import threading

from botocore.config import Config

from s3_util import S3Env, s3_client


def body_of(i):
    rnd = random.Random(i)
    return rnd.randbytes(rnd.randint(256 << 10, 3 << 20))


def test_kill9_during_50_concurrent_uploads(nubod):
    env = S3Env(nubod)
    s3 = s3_client(nubod.s3_url, env.keys["member"], max_pool_connections=50)
    s3.create_bucket(Bucket="crash")
    acked, lock, killed = set(), threading.Lock(), threading.Event()

    def upload(i):
        try:
            s3.put_object(Bucket="crash", Key="k%03d" % i, Body=body_of(i))
        except Exception:
            return
        with lock:
            if not killed.is_set():
                acked.add(i)
            if len(acked) >= 15 and not killed.is_set():
                killed.set()
                nubod.kill9()

    with concurrent.futures.ThreadPoolExecutor(50) as ex:
        list(ex.map(upload, range(100)))
    assert killed.is_set(), "nubod was not killed: the uploads ended first"
    nubod.restart()
    s3 = s3_client(nubod.s3_url, env.keys["member"])
    listed = [o["Key"] for p in s3.get_paginator("list_objects_v2").paginate(Bucket="crash")
              for o in p.get("Contents", [])]
    got = set()
    for key in listed:
        i = int(key[1:])
        data = s3.get_object(Bucket="crash", Key=key)["Body"].read()
        assert hashlib.sha256(data).digest() == hashlib.sha256(body_of(i)).digest(), key
        got.add(i)
    assert acked <= got, "acknowledged but lost: %s" % sorted(acked - got)
    # one file per stored object, nothing half-written left in tmp/
    data_dir = nubod.data_dir / "objects"
    files = [f for _, _, fs in os.walk(data_dir / "data") for f in fs]
    assert len(files) == len(listed)
    assert list((data_dir / "tmp").iterdir()) == []
    q = env.tenancy.admin.get("/v1/projects/alpha/quotas").json()["quotas"]["object_bytes"]
    assert q["used"] == sum(len(body_of(i)) for i in got)
