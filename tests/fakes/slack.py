"""A loopback Slack Web API (https://docs.slack.dev/reference/methods) for the methods Klaxon
calls, driven by the real slack_sdk WebClient (base_url = this fake's url + "/api/"). Slack
answers HTTP 200 with {"ok": false, "error": ...} for refusals, 429 with Retry-After when rate
limited; the faults of FakeServer (slow, drop, reset, lose) apply to any method.

State: channels (id, name, topic, members, archived), messages per channel (ts, text, blocks,
thread_ts), pins, the workspace's users by email, and the views opened.
"""

from __future__ import annotations

import itertools
import re
import threading
from typing import Any
from urllib.parse import parse_qs

from fakes.server import Answer, FakeServer, Recorded

CHANNEL_NAME = re.compile(r"^[a-z0-9_-]{1,80}$")
TOPIC_MAX = 250
TEXT_MAX = 40_000
BOT_USER = "U0KLAXONBOT"


class FakeSlack(FakeServer):
    name = "slack"

    def __init__(
        self,
        *args: Any,
        token: str = "xoxb-test-bot-token",
        users: dict[str, str] | None = None,
        channels: tuple[str, ...] = ("incidents", "checkout-oncall", "payments-incidents"),
        **kw: Any,
    ) -> None:
        super().__init__(*args, **kw)
        self.token = token
        self.users_by_email = dict(users or {})
        self._state_lock = threading.Lock()
        self._ids = itertools.count(1)
        self._clock = itertools.count(1)
        self.channels: dict[str, dict[str, Any]] = {}
        self.messages: dict[str, list[dict[str, Any]]] = {}
        self.pins: set[tuple[str, str]] = set()
        self.views: list[dict[str, Any]] = []
        for name in channels:
            self._new_channel(name)

    # ---- what the tests read ---------------------------------------------------------------
    def channel_named(self, name: str) -> dict[str, Any] | None:
        return next((c for c in self.channels.values() if c["name"] == name.lstrip("#")), None)

    def calls(self, method: str) -> list[Recorded]:
        return [r for r in self.requests if r.path.endswith(f"/{method}")]

    def thread(self, channel_id: str, ts: str) -> list[dict[str, Any]]:
        return [m for m in self.messages.get(channel_id, []) if m.get("thread_ts") == ts]

    # ---- vendor hooks ----------------------------------------------------------------------
    def retry_headers(self, seconds: float) -> dict[str, str]:
        return {"Retry-After": str(int(seconds))}

    def error_body(self, status: int) -> Any:
        return {"ok": False, "error": "ratelimited" if status == 429 else "fatal_error"}

    def route(self, request: Recorded) -> Answer:
        method = request.path.rsplit("/", 1)[-1]
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return _refused(
                "invalid_auth" if request.headers.get("authorization") else "not_authed"
            )
        handler = getattr(self, "_" + method.replace(".", "_"), None)
        if handler is None:
            return _refused("unknown_method")
        with self._state_lock:
            return Answer(200, handler(_arguments(request)))

    # ---- methods ---------------------------------------------------------------------------
    def _conversations_create(self, args: dict[str, Any]) -> dict[str, Any]:
        name = str(args.get("name", ""))
        if not CHANNEL_NAME.match(name):
            return _error("invalid_name_specials" if name else "invalid_name_required")
        if self.channel_named(name):
            return _error("name_taken")
        return {"ok": True, "channel": self._new_channel(name)}

    def _conversations_list(self, args: dict[str, Any]) -> dict[str, Any]:
        """Paged two at a time, so a client that ignores next_cursor misses channels."""
        skip_archived = str(args.get("exclude_archived", "")).lower() in ("1", "true")
        listed = [c for c in self.channels.values() if not (skip_archived and c["is_archived"])]
        start = int(args.get("cursor") or 0)
        page = listed[start : start + 2]
        more = start + 2 < len(listed)
        return {
            "ok": True,
            "channels": [self._shown(c) for c in page],
            "response_metadata": {"next_cursor": str(start + 2) if more else ""},
        }

    def _conversations_info(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self.channels.get(str(args.get("channel", "")))
        return (
            {"ok": True, "channel": self._shown(channel)}
            if channel
            else _error("channel_not_found")
        )

    def _conversations_setTopic(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._open_channel(args)
        if isinstance(channel, str):
            return _error(channel)
        topic = str(args.get("topic", ""))
        if len(topic) > TOPIC_MAX:
            return _error("too_long")
        channel["topic"] = {"value": topic}
        return {"ok": True, "channel": self._shown(channel)}

    def _conversations_invite(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._open_channel(args)
        if isinstance(channel, str):
            return _error(channel)
        users = [u for u in str(args.get("users", "")).split(",") if u]
        if not users:
            return _error("no_user")
        if BOT_USER in users:
            return _error("cant_invite_self")
        if all(u in channel["members"] for u in users):
            return _error("already_in_channel")
        channel["members"].update(users)
        return {"ok": True, "channel": self._shown(channel)}

    def _conversations_archive(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self.channels.get(str(args.get("channel", "")))
        if channel is None:
            return _error("channel_not_found")
        if channel["is_archived"]:
            return _error("already_archived")
        channel["is_archived"] = True
        return {"ok": True}

    def _conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        channel_id = str(args.get("channel", ""))
        if channel_id not in self.channels:
            return _error("channel_not_found")
        latest, oldest = str(args.get("latest", "")), str(args.get("oldest", ""))
        top = [
            m
            for m in self.messages.get(channel_id, [])
            if not m.get("thread_ts") or m["thread_ts"] == m["ts"]
        ]
        found = [
            m
            for m in top
            if (not latest or m["ts"] <= latest) and (not oldest or m["ts"] >= oldest)
        ]
        return {"ok": True, "messages": list(reversed(found))[: int(args.get("limit") or 100)]}

    def _conversations_replies(self, args: dict[str, Any]) -> dict[str, Any]:
        channel_id, ts = str(args.get("channel", "")), str(args.get("ts", ""))
        everything = self.messages.get(channel_id, [])
        message = next((m for m in everything if m["ts"] == ts), None)
        if message is None:
            return _error("thread_not_found")
        parent = message.get("thread_ts") or ts
        return {
            "ok": True,
            "messages": [
                m for m in everything if m["ts"] == parent or m.get("thread_ts") == parent
            ],
        }

    def _chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._open_channel(args, by_name=True)
        if isinstance(channel, str):
            return _error(channel)
        text = str(args.get("text", ""))
        if len(text) > TEXT_MAX:
            return _error("msg_too_long")
        if not text and not args.get("blocks"):
            return _error("no_text")
        message = {
            "ts": self._ts(),
            "text": text,
            "blocks": args.get("blocks") or [],
            "user": BOT_USER,
        }
        if args.get("thread_ts"):
            message["thread_ts"] = str(args["thread_ts"])
        self.messages.setdefault(channel["id"], []).append(message)
        return {"ok": True, "channel": channel["id"], "ts": message["ts"], "message": message}

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel_id, ts = str(args.get("channel", "")), str(args.get("ts", ""))
        message = next((m for m in self.messages.get(channel_id, []) if m["ts"] == ts), None)
        if message is None:
            return _error("message_not_found")
        message.update(text=str(args.get("text", "")), blocks=args.get("blocks") or [])
        message["edits"] = message.get("edits", 0) + 1
        return {"ok": True, "channel": channel_id, "ts": ts, "text": message["text"]}

    def _pins_add(self, args: dict[str, Any]) -> dict[str, Any]:
        channel_id, ts = str(args.get("channel", "")), str(args.get("timestamp", ""))
        if not any(m["ts"] == ts for m in self.messages.get(channel_id, [])):
            return _error("message_not_found")
        if (channel_id, ts) in self.pins:
            return _error("already_pinned")
        self.pins.add((channel_id, ts))
        return {"ok": True}

    def _users_lookupByEmail(self, args: dict[str, Any]) -> dict[str, Any]:
        user_id = self.users_by_email.get(str(args.get("email", "")).lower())
        if user_id is None:
            return _error("users_not_found")
        return {"ok": True, "user": {"id": user_id, "profile": {"email": args.get("email")}}}

    def _views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("trigger_id"):
            return _error("invalid_trigger_id")
        self.views.append(args)
        return {"ok": True, "view": {"id": f"V{next(self._ids):08d}"}}

    # ---- state -----------------------------------------------------------------------------
    def _new_channel(self, name: str) -> dict[str, Any]:
        channel = {
            "id": f"C{next(self._ids):08d}",
            "name": name,
            "is_channel": True,
            "is_archived": False,
            "topic": {"value": ""},
            "members": {BOT_USER},
        }
        self.channels[channel["id"]] = channel
        return self._shown(channel)

    def _open_channel(self, args: dict[str, Any], by_name: bool = False) -> dict[str, Any] | str:
        """The channel named by id (or, for chat.postMessage, by #name); else the error."""
        key = str(args.get("channel", ""))
        channel = self.channels.get(key) or (
            self.channel_named(key) if by_name and key.startswith("#") else None
        )
        if channel is None:
            return "channel_not_found"
        if channel["is_archived"]:
            return "is_archived"
        return channel

    def _shown(self, channel: dict[str, Any]) -> dict[str, Any]:
        return {
            k: (sorted(v) if isinstance(v, set) else v)
            for k, v in channel.items()
            if k != "members"
        } | {"num_members": len(channel["members"])}

    def _ts(self) -> str:
        return f"1773478800.{next(self._clock):06d}"


def _arguments(request: Recorded) -> dict[str, Any]:
    """A method's arguments, sent as JSON, a form or a query string (slack_sdk uses all three)."""
    args: dict[str, Any] = {k: v[0] for k, v in request.query.items()}
    if isinstance(request.json, dict):
        args.update(request.json)
    elif request.body:
        args.update({k: v[0] for k, v in parse_qs(request.body.decode("utf-8", "replace")).items()})
    return args


def _error(code: str) -> dict[str, Any]:
    return {"ok": False, "error": code}


def _refused(code: str) -> Answer:
    return Answer(200, _error(code))
