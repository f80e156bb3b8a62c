"""Nothing acknowledged is lost when nubod dies: concurrent zone creates,
kill -9 in the middle, restart, and every create answered 2xx is there and
the SQLite file passes its integrity check. Run 20 times."""
import random
import sqlite3
import threading
import time

import pytest
import requests

from conftest import Client

RUNS = 20
WRITERS = 6


def writer(url, token, prefix, acked, stop):
    s = requests.Session()
    s.headers["Authorization"] = "Bearer " + token
    i = 0
    while not stop.is_set():
        name = "%s-%d" % (prefix, i)
        i += 1
        try:
            r = s.post(url + "/v1/zones", json={"name": name, "jurisdiction": "FR"}, timeout=5)
        except requests.RequestException:
            continue
        if 200 <= r.status_code < 300:
            acked.append((name, r.json()["id"]))


@pytest.mark.parametrize("run", range(RUNS))
def test_kill_9_during_concurrent_creates_loses_nothing_acknowledged(make_nubod, run):
    n = make_nubod()
    token = n.login()
    acked, stop = [], threading.Event()
    threads = [threading.Thread(target=writer,
                                args=(n.url, token, "r%d-w%d" % (run, w), acked, stop))
               for w in range(WRITERS)]
    for t in threads:
        t.start()
    time.sleep(random.uniform(0.3, 1.0))
    n.kill9()
    stop.set()
    for t in threads:
        t.join(10)
    assert acked, "no create was acknowledged before the kill"

    db = sqlite3.connect(n.data_dir / "nubo.db")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.close()

    n.start()
    c = n.client(token)
    present, cursor = {}, None
    while True:
        page = c.get("/v1/zones?limit=1000" + ("&cursor=" + cursor if cursor else "")).json()
        present.update({z["name"]: z["id"] for z in page["items"]})
        cursor = page["next"]
        if not cursor:
            break
    missing = [(name, zid) for name, zid in acked if present.get(name) != zid]
    assert not missing, "%d acknowledged creates lost, e.g. %s" % (len(missing), missing[:3])
    print("run %d: %d creates acknowledged before kill -9, %d zones after restart"
          % (run, len(acked), len(present)))
    db = sqlite3.connect(n.data_dir / "nubo.db")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.close()
