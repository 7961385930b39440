"""The four vendor APIs Klaxon calls, as far as Klaxon uses them (apis.md §1-§4): same paths,
status codes, auth checks and response bodies as the real services."""

from __future__ import annotations

import hashlib
import itertools
import re
import secrets
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar

from fakes.server import Answer, FakeServer, Recorded


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class FakePagerDuty(FakeServer):
    """Events API v2: POST /v2/enqueue (and /v2/change/enqueue). The key travels in the body."""

    name = "pagerduty"
    ACTIONS = ("trigger", "acknowledge", "resolve")
    SEVERITIES = ("critical", "error", "warning", "info")

    def __init__(self, *args: Any, routing_keys: set[str] | None = None, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.routing_keys = routing_keys  # None: any 32-character key is accepted

    def error_body(self, status: int) -> Any:
        if status == 429:
            return {
                "status": "throttle event",
                "message": "Requests for this service are arriving too quickly.  "
                "Please retry later.",
            }
        if status < 500:
            return self._invalid("Event object is invalid").body
        return b"<html><body><h1>%d</h1>Server error</body></html>" % status

    def route(self, request: Recorded) -> Answer:
        if request.method != "POST" or request.path not in ("/v2/enqueue", "/v2/change/enqueue"):
            return Answer(404, {"message": "Not Found"})
        event = request.json
        if not isinstance(event, dict):
            return self._invalid("Event object is invalid")
        key = event.get("routing_key")
        if (
            not isinstance(key, str)
            or len(key) != 32
            or (self.routing_keys is not None and key not in self.routing_keys)
        ):
            return self._invalid("Invalid routing key")
        if request.path == "/v2/change/enqueue":
            return Answer(202, {"status": "success", "message": "Change event processed"})
        problem = self._problem(event)
        if problem:
            return self._invalid(problem)
        dedup_key = event.get("dedup_key") or uuid.uuid4().hex
        return Answer(
            202, {"status": "success", "message": "Event processed", "dedup_key": dedup_key}
        )

    def _problem(self, event: dict[str, Any]) -> str:
        if event.get("event_action") not in self.ACTIONS:
            return "'event_action' is missing or blank"
        if event["event_action"] != "trigger":
            return "" if event.get("dedup_key") else "'dedup_key' is missing or blank"
        payload = event.get("payload") or {}
        for name in ("summary", "source", "severity"):
            if not payload.get(name):
                return f"'payload.{name}' is missing or blank"
        if payload["severity"] not in self.SEVERITIES:
            return "'payload.severity' is invalid (must be one of critical, error, warning, info)"
        if len(str(event.get("dedup_key") or "")) > 255:
            return "'dedup_key' is too long"
        return ""

    @staticmethod
    def _invalid(message: str) -> Answer:
        return Answer(
            400,
            {"status": "invalid event", "message": "Event object is invalid", "errors": [message]},
        )


class FakeOpsgenie(FakeServer):
    """Alert API v2: create, and acknowledge/close/notes/escalate by id or alias. Every accepted
    request answers 202 with a requestId; `alerts` holds what the fake would have done."""

    name = "opsgenie"
    _ACTION_PATH = re.compile(
        r"^/v2/alerts/(?P<id>[^/]+)/(?P<action>acknowledge|close|notes|"
        r"escalate)$"
    )

    def __init__(
        self, *args: Any, api_keys: set[str] | None = None, path_prefix: str = "", **kw: Any
    ) -> None:
        super().__init__(*args, **kw)
        self.api_keys = api_keys  # None: any GenieKey is accepted
        self.path_prefix = path_prefix  # "/jsm/ops/integration" plays JSM's integration API
        self.alerts: dict[str, dict[str, Any]] = {}  # alias -> {status, notes, ...}
        self._state = threading.Lock()

    def error_body(self, status: int) -> Any:
        if status == 429:
            return self._body(
                message="You are making too many requests! To avoid errors, "
                "we recommend you limit requests."
            )
        if status in (401, 403):
            return self._body(message="Could not authenticate")
        if status < 500:
            return self._body(
                message="Request body is not processable. Please check the errors.",
                errors={"message": "Message can not be empty."},
            )
        return self._body(message="Internal Server Error")

    def route(self, request: Recorded) -> Answer:
        auth = request.headers.get("authorization", "")
        if not auth.startswith("GenieKey ") or (
            self.api_keys is not None and auth.removeprefix("GenieKey ") not in self.api_keys
        ):
            return Answer(401, self._body(message="Could not authenticate"))
        if not request.path.startswith(self.path_prefix):
            return Answer(404, self._body(message="Resource or handler not found"))
        path = request.path.removeprefix(self.path_prefix)
        if request.method == "POST" and path == "/v2/alerts":
            return self._create(request.json or {})
        match = self._ACTION_PATH.match(path)
        if request.method != "POST" or match is None:
            return Answer(404, self._body(message="Resource or handler not found"))
        id_type = (request.query.get("identifierType") or ["id"])[0]
        if id_type not in ("id", "alias", "tiny"):
            return Answer(422, self._body(message="Invalid identifierType"))
        return self._act(match["id"], match["action"], request.json or {})

    def _create(self, body: dict[str, Any]) -> Answer:
        if not str(body.get("message") or "").strip():
            return Answer(
                422,
                self._body(
                    message="Request body is not processable. Please check the errors.",
                    errors={"message": "Message can not be empty."},
                ),
            )
        if len(body["message"]) > 130:
            return Answer(
                422,
                self._body(
                    message="Request body is not processable. Please check the errors.",
                    errors={"message": "Message can not be longer than 130 characters."},
                ),
            )
        with self._state:
            alias = body.get("alias") or uuid.uuid4().hex
            alert = self.alerts.setdefault(
                alias, {"status": "open", "count": 0, "notes": [], "escalations": []}
            )
            alert.update(status="open", message=body["message"], count=alert["count"] + 1)
        return Answer(202, self._body())

    def _act(self, identifier: str, action: str, body: dict[str, Any]) -> Answer:
        if action == "notes" and not body.get("note"):
            return Answer(
                422,
                self._body(
                    message="Request body is not processable. Please check the errors.",
                    errors={"note": "Note can not be empty."},
                ),
            )
        if action == "escalate" and not (body.get("escalation") or {}):
            return Answer(
                422,
                self._body(
                    message="Request body is not processable. Please check the errors.",
                    errors={"escalation": "Escalation can not be empty."},
                ),
            )
        with self._state:  # unknown alerts still get 202: Opsgenie decides asynchronously
            alert = self.alerts.get(identifier)
            if alert is not None:
                if action == "acknowledge":
                    alert["acknowledged"] = True
                elif action == "close":
                    alert["status"] = "closed"
                elif action == "notes":
                    alert["notes"].append(body["note"])
                else:
                    alert["escalations"].append(body["escalation"])
        return Answer(202, self._body())

    @staticmethod
    def _body(**extra: Any) -> dict[str, Any]:
        if not extra:
            extra = {"result": "Request will be processed"}
        return {**extra, "took": 0.1, "requestId": str(uuid.uuid4())}


class FakeStatuspage(FakeServer):
    """Statuspage REST v1: create and update incidents of a page, and read the page's components
    (GET /components and /components/:id). Rate-limit faults answer 420 or 429 as the real API
    may.

    Given `components` (id -> name), the page has exactly those, all operational at first, and
    a create or update naming any other id is refused with 422 and changes nothing (apis.md §3
    declares 422 with `{"message": ...}`; the real wording was never captured, this one is
    ours). Without, any id is accepted and becomes a component named after itself. A status an
    incident's `components` map gives is applied to the page's component: `components` holds
    them for assertions."""

    name = "statuspage"
    _INCIDENTS = re.compile(r"^/v1/pages/(?P<page>[^/]+)/incidents(?:/(?P<id>[^/]+))?$")
    _COMPONENTS = re.compile(r"^/v1/pages/(?P<page>[^/]+)/components(?:/(?P<id>[^/]+))?$")
    STATUSES = (
        "investigating",
        "identified",
        "monitoring",
        "resolved",
        "scheduled",
        "in_progress",
        "verifying",
        "completed",
    )
    COMPONENT_STATUSES = (
        "operational",
        "under_maintenance",
        "degraded_performance",
        "partial_outage",
        "major_outage",
    )

    def __init__(
        self,
        *args: Any,
        api_keys: set[str] | None = None,
        page_ids: set[str] | None = None,
        components: dict[str, str] | None = None,
        **kw: Any,
    ) -> None:
        super().__init__(*args, **kw)
        self.api_keys = api_keys
        self.page_ids = page_ids
        self.incidents: dict[str, dict[str, Any]] = {}
        self.fixed_components = components is not None
        self.components: dict[str, dict[str, Any]] = {
            cid: self._new_component(cid, name, n)
            for n, (cid, name) in enumerate((components or {}).items(), start=1)
        }
        self._state = threading.Lock()

    def component_statuses(self) -> dict[str, str]:
        """id -> status of every component of the page."""
        with self._state:
            return {cid: c["status"] for cid, c in self.components.items()}

    def error_body(self, status: int) -> Any:
        if status in (420, 429):
            return {"message": "Rate limit exceeded"}
        if status < 500:
            return {
                "message": {
                    401: "Could not authenticate",
                    404: "The requested resource could not be found.",
                }.get(status, "Validation failed")
            }
        return b"<html><body>We're sorry, but something went wrong.</body></html>"

    def route(self, request: Recorded) -> Answer:
        auth = request.headers.get("authorization", "")
        if not auth.startswith("OAuth ") or (
            self.api_keys is not None and auth.removeprefix("OAuth ") not in self.api_keys
        ):
            return Answer(401, {"message": "Could not authenticate"})
        components = self._COMPONENTS.match(request.path)
        match = components or self._INCIDENTS.match(request.path)
        if match is None or (self.page_ids is not None and match["page"] not in self.page_ids):
            return self._not_found()
        if components is not None:
            return self._read_components(request.method, match["page"], match["id"])
        if request.method == "GET" and match["id"] == "unresolved":
            with self._state:
                return Answer(
                    200,
                    [
                        dict(i)
                        for i in self.incidents.values()
                        if i["page_id"] == match["page"] and i["status"] != "resolved"
                    ],
                )
        body = (request.json or {}).get("incident")
        if not isinstance(body, dict):
            return Answer(400, {"message": "incident is missing"})
        if request.method == "POST" and match["id"] is None:
            return self._create(match["page"], body)
        if request.method in ("PATCH", "PUT") and match["id"]:
            return self._update(match["id"], body)
        return Answer(405, {"message": "Method not allowed"})

    def _read_components(self, method: str, page: str, component_id: str | None) -> Answer:
        if method != "GET":
            return Answer(405, {"message": "Method not allowed"})
        with self._state:
            if component_id is None:
                return Answer(200, [c | {"page_id": page} for c in self.components.values()])
            component = self.components.get(component_id)
        return Answer(200, component | {"page_id": page}) if component else self._not_found()

    def _create(self, page: str, body: dict[str, Any]) -> Answer:
        if not body.get("name"):
            return Answer(422, {"message": "Name can't be blank"})
        status = body.get("status", "investigating")
        if status not in self.STATUSES:
            return Answer(422, {"message": f"Status is not included in the list: {status}"})
        now = _now_iso()
        incident_id = secrets.token_hex(6)
        with self._state:
            problem = self._component_problem(body)
            if problem:
                return Answer(422, {"message": problem})
            incident = {
                "id": incident_id,
                "page_id": page,
                "name": body["name"],
                "status": status,
                "impact": body.get("impact_override", "none"),
                "impact_override": body.get("impact_override"),
                "shortlink": f"https://stspg.io/{incident_id[:6]}",
                "created_at": now,
                "updated_at": now,
                "started_at": now,
                "monitoring_at": None,
                "resolved_at": None,
                "postmortem_body": None,
                "metadata": body.get("metadata") or {},
                "components": self._apply_components(body, now),
                "incident_updates": [],
            }
            self._add_update(incident, body, now)
            self.incidents[incident_id] = incident
            return Answer(201, dict(incident))

    def _update(self, incident_id: str, body: dict[str, Any]) -> Answer:
        with self._state:
            incident = self.incidents.get(incident_id)
            if incident is None:
                return self._not_found()
            if body.get("status") and body["status"] not in self.STATUSES:
                return Answer(422, {"message": "Status is not included in the list"})
            problem = self._component_problem(body)
            if problem:
                return Answer(422, {"message": problem})
            now = _now_iso()
            for name in ("name", "status", "impact_override"):
                if name in body:
                    incident[name] = body[name]
            if "impact_override" in body:
                incident["impact"] = body["impact_override"]
            if body.get("components") or body.get("component_ids"):
                incident["components"] = self._apply_components(body, now)
            if incident["status"] == "resolved" and not incident["resolved_at"]:
                incident["resolved_at"] = now
            incident["updated_at"] = now
            if "status" in body or "body" in body:
                self._add_update(incident, body, now)
            return Answer(200, dict(incident))

    def _component_problem(self, body: dict[str, Any]) -> str:
        """Why the components an incident names are refused, or ""; call holding the lock."""
        ids, statuses = body.get("component_ids") or [], body.get("components") or {}
        if not isinstance(ids, list) or not isinstance(statuses, dict):
            return "Components must be a map of component id to status"
        wrong = sorted({str(s) for s in statuses.values()} - {*self.COMPONENT_STATUSES, ""})
        if wrong:
            return f"Component status is not included in the list: {', '.join(wrong)}"
        unknown = [c for c in dict.fromkeys([*ids, *statuses]) if c not in self.components]
        if unknown and self.fixed_components:
            return f"Components not found on this page: {', '.join(map(str, unknown))}"
        return ""

    def _apply_components(self, body: dict[str, Any], now: str) -> list[dict[str, Any]]:
        """Set the statuses the incident gives; its affected components are the ones named.
        Call holding the lock, after _component_problem."""
        statuses = body.get("components") or {}
        affected = []
        for cid in dict.fromkeys([*(body.get("component_ids") or []), *statuses]):
            component = self.components.get(cid) or self.components.setdefault(
                cid, self._new_component(cid, cid, len(self.components) + 1)
            )
            if statuses.get(cid):
                component.update(status=statuses[cid], updated_at=now)
            affected.append({"id": cid, "status": component["status"], "name": component["name"]})
        return affected

    @staticmethod
    def _new_component(component_id: str, name: str, position: int) -> dict[str, Any]:
        now = _now_iso()
        return {
            "id": component_id,
            "name": name,
            "status": "operational",
            "description": None,
            "position": position,
            "group": False,
            "group_id": None,
            "showcase": True,
            "only_show_if_degraded": False,
            "start_date": None,
            "created_at": now,
            "updated_at": now,
            "automation_email": f"component+{component_id}@notifications.statuspage.io",
        }

    @staticmethod
    def _not_found() -> Answer:
        return Answer(404, {"message": "The requested resource could not be found."})

    @staticmethod
    def _add_update(incident: dict[str, Any], body: dict[str, Any], now: str) -> None:
        incident["incident_updates"].insert(
            0,
            {
                "id": secrets.token_hex(6),
                "incident_id": incident["id"],
                "status": incident["status"],
                "body": body.get("body", ""),
                "created_at": now,
                "display_at": now,
                "deliver_notifications": body.get("deliver_notifications", True),
                "affected_components": [
                    {"code": c["id"], "new_status": c["status"]} for c in incident["components"]
                ],
            },
        )


class FakeX(FakeServer):
    """X API v2 with OAuth 1.0a user context: POST /2/tweets (the same text twice is refused with
    the real duplicate-content 403), and the reads a lost post is found with: GET /2/users/me and
    GET /2/users/:id/tweets (newest first, one page, only the tweet.fields asked for). Posts read
    back as X shows them: links wrapped as t.co links (entities.urls keeps the original) and
    &, < and > escaped. Rate-limit headers on every answer."""

    name = "x"
    DUPLICATE_BODY: ClassVar[dict[str, Any]] = {
        "detail": "You are not allowed to create a Tweet with duplicate content.",
        "type": "about:blank",
        "title": "Forbidden",
        "status": 403,
    }
    USER: ClassVar[dict[str, str]] = {
        "id": "1422883372845862913",
        "name": "Klaxon Status",
        "username": "klaxon_status",
    }
    _OAUTH_PARAMS = (
        "oauth_consumer_key",
        "oauth_token",
        "oauth_signature",
        "oauth_signature_method",
        "oauth_timestamp",
        "oauth_nonce",
    )
    _USER_TWEETS = re.compile(r"^/2/users/(?P<id>[^/]+)/tweets$")
    _URL = re.compile(r"https?://\S+")

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        # id -> {"text" (as sent), "in_reply_to", "created_at", "conversation_id"}, oldest first
        self.posts: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(1_790_000_000_000_000_000)
        self._state = threading.Lock()

    def retry_headers(self, seconds: float) -> dict[str, str]:
        reset = int(time.time() + seconds)
        return {
            "x-rate-limit-limit": "100",
            "x-rate-limit-remaining": "0",
            "x-rate-limit-reset": str(reset),
        }

    def error_body(self, status: int) -> Any:
        if status == 429:
            return {
                "title": "Too Many Requests",
                "detail": "Too Many Requests",
                "type": "about:blank",
                "status": 429,
            }
        titles = {
            400: "Invalid Request",
            401: "Unauthorized",
            403: "Forbidden",
            404: "Not Found Error",
        }
        title = titles.get(status, "Service Unavailable" if status >= 500 else "Client Error")
        return {"title": title, "detail": title, "type": "about:blank", "status": status}

    def route(self, request: Recorded) -> Answer:
        auth = request.headers.get("authorization", "")
        if not auth.startswith("OAuth ") or not all(p in auth for p in self._OAUTH_PARAMS):
            return self._problem(401, "Unauthorized", "Unauthorized")
        if request.method == "POST" and request.path == "/2/tweets":
            return self._create(request.json or {})
        if request.method == "GET" and request.path == "/2/users/me":
            return Answer(200, {"data": dict(self.USER)}, self._rate_headers())
        match = self._USER_TWEETS.match(request.path)
        if request.method == "GET" and match is not None:
            return self._timeline(match["id"], request.query)
        return self._problem(404, "Not Found Error", "Not Found")

    def _create(self, body: dict[str, Any]) -> Answer:
        text = body.get("text")
        if not isinstance(text, str) or not text:
            return self._invalid()
        reply_to = (body.get("reply") or {}).get("in_reply_to_tweet_id")
        with self._state:
            if any(post["text"] == text for post in self.posts.values()):
                return Answer(403, self.DUPLICATE_BODY, self._rate_headers())
            if reply_to is not None and reply_to not in self.posts:
                return self._problem(
                    403,
                    "Forbidden",
                    "You attempted to reply to a Tweet that is deleted or not visible to you.",
                )
            post_id = str(next(self._ids))
            root = self.posts[reply_to]["conversation_id"] if reply_to else post_id
            self.posts[post_id] = {
                "text": text,
                "in_reply_to": reply_to,
                "created_at": _now_iso(),
                "conversation_id": root,
            }
            shown = self._as_shown(post_id, ("entities",))
        return Answer(
            201,
            {"data": {"id": post_id, "text": shown["text"], "edit_history_tweet_ids": [post_id]}},
            self._rate_headers(),
        )

    def _timeline(self, user_id: str, query: dict[str, list[str]]) -> Answer:
        """GET /2/users/:id/tweets: one page, newest first; `meta` as X gives it."""
        size = (query.get("max_results") or ["10"])[0]  # X's default page is 10, at most 100
        if not user_id.isdigit() or not size.isdigit() or not 5 <= int(size) <= 100:
            return self._invalid()
        if user_id != self.USER["id"]:
            return Answer(
                200,
                {
                    "errors": [
                        {
                            "value": user_id,
                            "detail": f"Could not find user with id: [{user_id}].",
                            "title": "Not Found Error",
                            "resource_type": "user",
                            "parameter": "id",
                            "resource_id": user_id,
                            "type": "https://api.twitter.com/2/problems/resource-not-found",
                        }
                    ]
                },
                self._rate_headers(),
            )
        fields = _listed(query, "tweet.fields")
        exclude = _listed(query, "exclude")
        token = (query.get("pagination_token") or ["0"])[0]
        if not token.isdigit():
            return self._invalid()
        start = int(token)
        with self._state:  # no retweets exist here; `exclude=replies` drops replies
            ids = [
                i
                for i in reversed(self.posts)
                if not ("replies" in exclude and self.posts[i]["in_reply_to"])
            ]
            page = [self._as_shown(i, fields) for i in ids[start : start + int(size)]]
        if not page:
            return Answer(200, {"meta": {"result_count": 0}}, self._rate_headers())
        meta: dict[str, Any] = {
            "result_count": len(page),
            "newest_id": page[0]["id"],
            "oldest_id": page[-1]["id"],
        }
        if start + len(page) < len(ids):
            meta["next_token"] = str(start + len(page))
        return Answer(200, {"data": page, "meta": meta}, self._rate_headers())

    def _as_shown(self, post_id: str, fields: Any) -> dict[str, Any]:
        """One post as X returns it: default fields plus the tweet.fields asked for."""
        post = self.posts[post_id]
        text, links = self._wrapped(post_id, post["text"])
        shown: dict[str, Any] = {"id": post_id, "text": text, "edit_history_tweet_ids": [post_id]}
        extra: dict[str, Any] = {
            "author_id": self.USER["id"],
            "created_at": post["created_at"],
            "conversation_id": post["conversation_id"],
        }
        if links:
            extra["entities"] = {"urls": links}
        if post["in_reply_to"]:
            extra["in_reply_to_user_id"] = self.USER["id"]  # Klaxon threads under itself
            extra["referenced_tweets"] = [{"type": "replied_to", "id": post["in_reply_to"]}]
        shown.update({k: v for k, v in extra.items() if k in fields})
        return shown

    def _wrapped(self, post_id: str, text: str) -> tuple[str, list[dict[str, Any]]]:
        """X's stored text: every link becomes a 23-character t.co link, &<> are escaped."""
        out, links, at = "", [], 0
        for n, match in enumerate(self._URL.finditer(text)):
            out += _escape(text[at : match.start()])
            short = f"https://t.co/{_tco_path(post_id, n)}"
            shown = match.group().split("://", 1)[1]
            links.append(
                {
                    "start": len(out),
                    "end": len(out) + len(short),
                    "url": short,
                    "expanded_url": match.group(),
                    "display_url": shown if len(shown) <= 26 else shown[:25] + "…",
                }
            )
            out += short
            at = match.end()
        return out + _escape(text[at:]), links

    def _invalid(self) -> Answer:
        return self._problem(
            400, "Invalid Request", "One or more parameters to your request was invalid."
        )

    def _problem(self, status: int, title: str, detail: str) -> Answer:
        return Answer(
            status,
            {"title": title, "detail": detail, "type": "about:blank", "status": status},
            self._rate_headers(),
        )

    def _rate_headers(self) -> dict[str, str]:
        with self._lock:
            remaining = max(0, 100 - len(self._requests))
        return {
            "x-rate-limit-limit": "100",
            "x-rate-limit-remaining": str(remaining),
            "x-rate-limit-reset": str(int(time.time()) + 900),
        }


def _listed(query: dict[str, list[str]], name: str) -> set[str]:
    return {v for value in query.get(name) or [] for v in value.split(",") if v}


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _tco_path(post_id: str, n: int) -> str:
    """A stable 10-character t.co path for the n-th link of a post."""
    return hashlib.sha256(f"{post_id}:{n}".encode()).hexdigest()[:10]


class FakeSubscriber(FakeServer):
    """Someone's webhook endpoint subscribed to the status page: takes every POST."""

    name = "subscriber"

    def route(self, request: Recorded) -> Answer:
        return Answer(200, {"ok": True}) if request.method == "POST" else Answer(405)
