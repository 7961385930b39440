"""How `klaxon outbox`, `failed` and `maintenance` find the Redis they should talk to.

REDIS_URL when it is set. Otherwise the `klaxon run` started in this directory (or a parent):
it writes `.klaxon/run.json` naming its Redis (the embedded server's unix socket) and web URL,
with its pid, and removes it on exit. A file whose pid is gone is stale (a `klaxon run`
killed outright) and ignored. Nothing else: a silent default such as redis://127.0.0.1:6379
may be someone else's Redis, and reading an empty one looks exactly like "nothing happened".
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

STATE_FILE = Path(".klaxon") / "run.json"


@dataclass(frozen=True)
class RunningInstance:
    pid: int
    redis_url: str  # "" when it carries a password (not written to disk)
    web_url: str
    state_file: Path


class NoInstance(Exception):
    """No REDIS_URL and no live `klaxon run` to use instead."""


def write_state(directory: Path, redis_url: str, web_url: str) -> Path:
    """Record this process as the running instance (atomically: a reader never sees half)."""
    path = directory / STATE_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    if urlsplit(redis_url).password:  # a REDIS_URL given to `klaxon run`: a secret, not on disk
        redis_url = ""
    state = {"pid": os.getpid(), "redis_url": redis_url, "web_url": web_url}
    partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    partial.write_text(json.dumps(state) + "\n", encoding="utf-8")
    os.replace(partial, path)
    return path


def remove_state(path: Path) -> None:
    """Remove the state file if it is still this process's (a second `klaxon run` in the same
    directory may have replaced it)."""
    if (instance := _read(path)) is not None and instance.pid == os.getpid():
        path.unlink(missing_ok=True)


def find_running(start: Path) -> RunningInstance:
    """The live `klaxon run` nearest `start` (it, then its parents); NoInstance says what was
    looked for and what to do."""
    stale = []
    for directory in (start, *start.parents):
        path = directory / STATE_FILE
        instance = _read(path)
        if instance is None:
            continue
        if _alive(instance.pid):
            return instance
        stale.append(f"{path} names pid {instance.pid}, which is not running")
    raise NoInstance(
        "no REDIS_URL and no running `klaxon run` found "
        f"(looked for {STATE_FILE} in {start} and its parents"
        + (f"; {'; '.join(stale)}" if stale else "")
        + "): start `./dev run` in this directory, or set REDIS_URL"
    )


def _read(path: Path) -> RunningInstance | None:
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
        return RunningInstance(
            int(state["pid"]), str(state["redis_url"]), str(state["web_url"]), path
        )
    except (OSError, ValueError, KeyError, TypeError):  # absent, half-written by hand, foreign
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive, though not likely ours
        return True
    return True
