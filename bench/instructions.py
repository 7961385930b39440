"""The receiver's cost per webhook in CPU instructions, which a shared machine's load does not
move (docs/benchmarks.md, "Receiver cost per webhook in instructions"). bench/instructions.sh
runs this under valgrind's callgrind, with the redis-server it talks to under callgrind too.

    python -m bench.instructions make --requests 1000 --out /tmp/requests.pickle
    python bench/instructions.py run REPO N /tmp/requests.pickle unix:///tmp/redis.sock

`make` writes signed webhook requests (bench/make_requests.py: every source's story, 10%
redeliveries) to a file, so every version under test is sent the same kind of traffic. `run`
loads one version of Klaxon from REPO (a git worktree of any commit), reads the whole file and
builds every WSGI environ, then sends the first N through the app in process. The reading and
building do not depend on N, so (instructions at N2 - instructions at N1) / (N2 - N1) is the
cost of one webhook alone: parsing, verifying, classifying, the Lua call and its answer.
"""

from __future__ import annotations

import io
import os
import pickle
import sys
from collections import Counter
from typing import Any
from urllib.parse import urlsplit


def make(count: int, out: str) -> None:
    from bench import make_requests

    requests = make_requests.build(count, duplicates=0.1)
    with open(out, "wb") as sink:
        pickle.dump([(r.target, dict(r.headers), r.body) for r in requests], sink)


def run(repo: str, count: int, path: str, redis_url: str) -> None:
    sys.path.insert(0, repo)  # this version's app, not the one beside this script
    os.chdir(repo)
    from werkzeug.test import EnvironBuilder

    from app import create_app
    from app.settings import Settings
    from tests.conftest import SECRETS

    with open(path, "rb") as source:
        requests = pickle.load(source)
    # The requests were signed when made: the send-time check would refuse them later.
    environment = {**SECRETS, "REDIS_URL": redis_url, "KLAXON_WEBHOOK_CLOCK_SKEW": "0"}
    app = create_app(Settings.from_env(environment))
    environs = []
    for target, headers, body in requests:
        url = urlsplit(target)
        environ = EnvironBuilder(
            path=url.path, query_string=url.query, method="POST", headers=headers, data=body
        ).get_environ()
        environ["wsgi.input"] = io.BytesIO(body)
        environs.append(environ)
    statuses: Counter[str] = Counter()

    def start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
        statuses[status[:3]] += 1
        return lambda data: None

    for environ in environs[:count]:
        for _ in app(environ, start_response):
            pass
    print(repo, count, dict(statuses), file=sys.__stdout__)


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(int(sys.argv[sys.argv.index("--requests") + 1]), sys.argv[sys.argv.index("--out") + 1])
    else:
        run(sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5])
