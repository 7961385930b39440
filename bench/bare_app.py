"""The ceiling: a Flask app that reads the body and answers 202, nothing else.
Served by bench/receiver.py under the same server and workers as Klaxon."""

from __future__ import annotations

from flask import Flask, request

app = Flask(__name__)


@app.post("/webhooks/<source_name>")
def receive(source_name: str) -> tuple[dict[str, str], int]:
    request.get_data()
    return {"outcome": "new"}, 202
