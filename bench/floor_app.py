"""The floor: a Flask app that keeps the promise behind Klaxon's 202 and nothing else.

It reads the body, writes it to Redis in one round trip (one EVALSHA through the same
app/store/lua.py path Klaxon uses, appending the raw body to a capped stream), and answers 202.
No verification, parsing, rules or correlation: what is left between this and the bare app is
the cost of "2xx only after the alert is stored", which no receiver design that keeps that
promise with one synchronous write per request can avoid. Served by bench/receiver.py under
the same server and workers as Klaxon and the bare app.
"""

from __future__ import annotations

import os

import redis
from flask import Flask, request

from app.store.lua import LuaScript

STORE_BODY = """
redis.call('XADD', 'klaxon:bench:floor', 'MAXLEN', '~', 10000, '*', 'raw', ARGV[1])
return 1
"""

app = Flask(__name__)
store_body = LuaScript(redis.Redis.from_url(os.environ["REDIS_URL"]), STORE_BODY)


@app.post("/webhooks/<source_name>")
def receive(source_name: str) -> tuple[dict[str, str], int]:
    store_body(request.get_data())
    return {"outcome": "new"}, 202
