"""The incident's war room in Slack (https://docs.slack.dev/reference/methods), over the
official slack_sdk WebClient: on declaration a channel of its own for the severities
rules/slack.yml names (`#inc-<n>-<slug>`: created, its topic set, the commander and the team's
members invited), the sitrep posted and pinned there, and an announcement in the team's
channel; lower severities get the sitrep in the team's channel only. Every later event is a
thread reply under the sitrep and an edit of it (chat.update), so the sitrep is always current.

Each step is one message through the ledger; a later step names what an earlier one made
("$slack_channel", "$slack_sitrep": workers/delivery.py `with_state`). A create whose answer
was lost is found by the channel's name, a lost sitrep or reply by its text, like the
Statuspage repair; "name_taken", "already_in_channel", "already_pinned" are what was wanted.
Slack's text is escaped (&, <, >): an alert's title cannot ping <!channel>.
"""

from __future__ import annotations

import logging
import re
import socket
import urllib.error
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.client import HTTPException
from typing import TYPE_CHECKING, Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from app.messages import limits
from app.messages.context import MessageEvent
from app.ruleset import RuleSet
from app.settings import Settings
from workers.channels.base import (
    BaseNotifier,
    Channel,
    DeliveryError,
    FailureReason,
    Field,
    Occasion,
    OutboundMessage,
    RateLimit,
    Receipt,
    configured,
    new_message,
)

if TYPE_CHECKING:
    from app.messages.render import Rendered

logger = logging.getLogger("klaxon.jobs")
CHANNEL = Channel.SLACK
DEFAULT_API_URL = "https://slack.com/api/"
TIMEOUT_SECONDS = 10
NAME_MAX = 80  # Slack's channel-name limit
KNOWN_MAX = 2500  # what we know, in the sitrep
SECTION_MAX = 3000  # a section block's text
E = MessageEvent
# Slack's method tiers (https://docs.slack.dev/apis/web-api/rate-limits): Tier 2 about 20 calls a
# minute, Tier 3 about 50; chat.postMessage about one a second per channel. One budget per tier
# shared by every worker, sized for Tier 2's; Slack's own 429 + Retry-After covers the rest.
TIERS = {
    "create": "tier2",
    "topic": "tier2",
    "pin": "tier2",
    "archive": "tier2",
    "invite": "tier3",
    "update": "tier3",
}
AUTH_ERRORS = frozenset(
    {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "missing_scope"}
)
ALREADY = frozenset({"name_taken", "already_in_channel", "already_pinned", "already_archived"})
SERVER_ERRORS = frozenset(
    {"fatal_error", "internal_error", "request_timeout", "service_unavailable"}
)
BUTTONS = (
    ("klaxon_ack", "Acknowledge"),
    ("klaxon_command", "Take command"),
    ("klaxon_update", "Post update"),
    ("klaxon_resolve", "Resolve"),
)


# ---- pure builders -------------------------------------------------------------------------


def channel_name(incident_id: str, title: str) -> str:
    """`inc-<n>-<slug>`: the incident's number and its title in Slack's channel alphabet."""
    number = incident_id.rsplit("-", 1)[-1].lstrip("0") or "0"
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    name = f"inc-{number}-{slug}" if slug else f"inc-{number}"
    return name[:NAME_MAX].rstrip("-")


def escape(text: str) -> str:
    """Slack's three control characters (https://docs.slack.dev/messaging/formatting-message-text):
    without this, a title like `<!channel>` would notify everyone."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def sitrep_blocks(
    incident_id: str, sitrep: str, known: str, resolved: bool
) -> list[dict[str, Any]]:
    """The sitrep message: its text, what we know, and the buttons while it is open."""
    blocks: list[dict[str, Any]] = [_section(sitrep)]
    if known:
        blocks.append(_section(f"*What we know:* {known}"))
    if not resolved:
        blocks.append(
            {
                "type": "actions",
                "block_id": "klaxon_sitrep",
                "elements": [
                    {
                        "type": "button",
                        "action_id": action,
                        "text": {"type": "plain_text", "text": label},
                        "value": incident_id,
                    }
                    for action, label in BUTTONS
                ],
            }
        )
    return blocks


def sitrep_text(incident_id: str) -> str:
    """The sitrep's notification text: what finds it again when its answer was lost."""
    return f"Sitrep {incident_id}"


def _section(text: str) -> dict[str, Any]:
    return {
        "type": "section",
        "text": {"type": "mrkdwn", "text": limits.truncate(text, SECTION_MAX)},
    }


@dataclass(frozen=True, slots=True)
class SlackCredentials:
    token: str = field(repr=False)
    api_url: str = DEFAULT_API_URL

    @classmethod
    def from_outbound(cls, outbound: Mapping[str, str]) -> SlackCredentials:
        return cls(
            outbound["SLACK_BOT_TOKEN"],
            (outbound.get("SLACK_API_URL") or DEFAULT_API_URL).rstrip("/") + "/",
        )

    def client(self) -> WebClient:
        # No retry handlers: workers/delivery.py retries, and knows what a retry may repeat.
        return WebClient(
            token=self.token, base_url=self.api_url, timeout=TIMEOUT_SECONDS, retry_handlers=[]
        )


# ---- the channel ---------------------------------------------------------------------------


class Slack(BaseNotifier):
    name = CHANNEL
    fields = (
        Field("line", "txt", SECTION_MAX, limits.truncate),
        Field("sitrep", "md", SECTION_MAX, limits.truncate),
        Field("topic", "txt", 250, limits.truncate),
    )
    required_env = ("SLACK_BOT_TOKEN",)
    rate_limit = RateLimit(interval_seconds=3.0, burst=5)
    state_fields = (
        "slack_channel",
        "slack_sitrep",
        "slack_room",
        "slack_known",
        "slack_opened",
        "slack_archived",
    )

    def credentials(self, settings: Settings, ruleset: RuleSet) -> SlackCredentials | None:
        if not configured(settings, self.required_env):
            return None
        return SlackCredentials.from_outbound(settings.outbound)

    def wants(self, occasion: Occasion, state: Mapping[str, str]) -> bool:
        slack = occasion.ctx.policy.get("slack") or {}  # rules/slack.yml, for this incident
        if state.get("slack_archived"):
            return False  # its channel is archived: nothing more is said there
        return bool(
            state.get("slack_sitrep") or slack.get("incident_channel") or slack.get("announce")
        )

    def build(
        self, occasion: Occasion, rendered: Rendered | None, state: Mapping[str, str]
    ) -> list[OutboundMessage]:
        if rendered is None:
            return []
        ctx = occasion.ctx
        said = str((ctx.update or {}).get("message") or "")  # escalations carry no message
        known = escape(said)[:KNOWN_MAX] if said else state.get("slack_known", "")
        resolved = ctx.incident["status"] == "resolved"
        blocks = sitrep_blocks(ctx.incident["id"], escape(rendered["sitrep"]), known, resolved)
        sitrep = {"text": sitrep_text(ctx.incident["id"]), "blocks": blocks, "known": known}
        # The event that opened it builds the opening again when retried (the ledger skips
        # the steps done), never the replies of a later event.
        opened_here = state.get("slack_opened") == _event_key(occasion)
        if not state.get("slack_sitrep") or opened_here:
            return self._opening(occasion, rendered, sitrep) if not resolved or opened_here else []

        def message(action: str, body: dict[str, Any], **target: str) -> OutboundMessage:
            return _step(action, occasion, body, target)

        where = {"channel": state["slack_channel"], "ts": state["slack_sitrep"]}
        steps = [
            message("reply", {"text": escape(rendered["line"])}, **where),  # in its thread
            message("update", sitrep, **where),
        ]
        if state.get("slack_room") and (resolved or ctx.event is E.SEVERITY_RAISED):
            topic = {"topic": escape(rendered["topic"])}
            steps.append(message("topic", topic, channel=state["slack_channel"]))
        return steps

    def _opening(
        self, occasion: Occasion, rendered: Rendered, sitrep: dict[str, Any]
    ) -> list[OutboundMessage]:
        """Its own channel (topic, invitations, pinned sitrep, announcement), or the sitrep
        in the team's channel."""
        ctx = occasion.ctx
        slack = ctx.policy.get("slack") or {}
        team_channel = slack.get("channel") or "#incidents"
        if not slack.get("incident_channel"):
            return [_step("sitrep", occasion, sitrep, {"channel": team_channel})]
        name = channel_name(ctx.incident["id"], ctx.incident["title"])
        room = {"channel": "$slack_channel"}
        steps = [
            _step("create", occasion, {"name": name}, {}),
            _step("topic", occasion, {"topic": escape(rendered["topic"])}, room),
        ]
        if slack.get("invite") or slack.get("invite_emails"):
            people = {"users": ",".join(slack.get("invite") or [])}
            people["emails"] = ",".join(slack.get("invite_emails") or [])
            steps.append(_step("invite", occasion, people, room))
        steps += [
            _step("sitrep", occasion, sitrep, room),
            _step("pin", occasion, {}, room | {"ts": "$slack_sitrep"}),
        ]
        if slack.get("announce", True):
            text = f"{escape(rendered['line'])} Join #{name}"
            steps.append(_step("announce", occasion, {"text": text}, {"channel": team_channel}))
        return steps

    def destination(self, message: OutboundMessage) -> str:
        return TIERS.get(message.action, "chat")

    def send(self, message: OutboundMessage, credentials: SlackCredentials) -> Receipt:
        return send(message, credentials)

    def already_made(
        self, message: OutboundMessage, credentials: SlackCredentials
    ) -> Receipt | None:
        return already_made(message, credentials)

    def duplicate(
        self, message: OutboundMessage, credentials: SlackCredentials, error: DeliveryError
    ) -> Receipt:
        """Slack says it is done already: the channel exists (adopted, found by its name),
        the people are in it, the sitrep is pinned."""
        if message.action == "create":
            found = already_made(message, credentials)
            if found is None:
                raise error
            return found
        return Receipt(CHANNEL, vendor_id=message.target.get("channel", ""))

    def state_changes(self, message: OutboundMessage, receipt: Receipt) -> dict[str, str]:
        if message.action == "create":
            return {"slack_channel": receipt.vendor_id, "slack_room": "1"}
        if message.action == "sitrep":
            channel = receipt.detail.get("channel") or message.target.get("channel", "")
            opened = message.idempotency_key.rsplit(":", 1)[0]
            return {
                "slack_channel": channel,
                "slack_sitrep": receipt.vendor_id,
                "slack_opened": opened,
            } | _known(message)
        if message.action == "update":
            return _known(message)
        if message.action == "archive":
            return {"slack_archived": "1"}
        return {}

    def warm_up(self, credentials: SlackCredentials) -> None:
        credentials.client()


def sitrep_refresh(
    occasion: Occasion, rendered: Rendered, state: Mapping[str, str]
) -> OutboundMessage:
    """The sitrep as it is now, after a change no lifecycle event reports (the roles):
    one edit, keyed by the change (`occasion.seq`)."""
    ctx = occasion.ctx
    resolved = ctx.incident["status"] == "resolved"
    known = state.get("slack_known", "")
    blocks = sitrep_blocks(ctx.incident["id"], escape(rendered["sitrep"]), known, resolved)
    body = {"text": sitrep_text(ctx.incident["id"]), "blocks": blocks, "known": known}
    target = {"channel": state["slack_channel"], "ts": state["slack_sitrep"]}
    message = _step("update", occasion, body, target)
    key = f"slack:{ctx.incident['id']}:roles:{occasion.seq}"
    return OutboundMessage(CHANNEL, "update", message.incident_id, "roles", key, body, target)


def archive_message(incident_id: str, channel: str, why: str) -> OutboundMessage:
    """The incident channel archived (conversations.archive): once per incident, whatever
    asked first (the post-mortem published, or archive_after since resolution)."""
    key = f"slack:{incident_id}:archive"
    return OutboundMessage(CHANNEL, "archive", incident_id, why, key, {}, {"channel": channel})


def _known(message: OutboundMessage) -> dict[str, str]:
    known = str(message.body.get("known", ""))
    return {"slack_known": known} if known else {}


def _event_key(occasion: Occasion) -> str:
    """What every message of this event's key starts with."""
    return new_message(CHANNEL, "", occasion, {}).idempotency_key


def _step(
    action: str, occasion: Occasion, body: dict[str, Any], target: dict[str, str]
) -> OutboundMessage:
    message = new_message(CHANNEL, action, occasion, body, target)
    # One event sends several messages: each its own ledger entry.
    key = f"{message.idempotency_key}:{action}"
    return OutboundMessage(
        message.channel, action, message.incident_id, message.event, key, body, target
    )


# ---- the calls -----------------------------------------------------------------------------


def send(message: OutboundMessage, credentials: SlackCredentials) -> Receipt:
    """One Web API call; vendor_id is the channel id (create) or the message ts.

    Raises:
        DeliveryError: Slack did not take it; `retryable` says whether to try again.
    """
    client, body, target = credentials.client(), message.body, message.target
    channel = target.get("channel", "")
    with _translated():
        if message.action == "create":
            made = client.conversations_create(name=body["name"])
            return Receipt(CHANNEL, vendor_id=str(made["channel"]["id"]))
        if message.action == "topic":
            client.conversations_setTopic(channel=channel, topic=body["topic"])
        elif message.action == "invite":
            return _invite(client, channel, body)
        elif message.action == "pin":
            client.pins_add(channel=channel, timestamp=target["ts"])
        elif message.action == "archive":
            client.conversations_archive(channel=channel)
        elif message.action == "update":
            client.chat_update(
                channel=channel, ts=target["ts"], text=body["text"], blocks=body["blocks"]
            )
            return Receipt(CHANNEL, vendor_id=target["ts"])
        else:  # sitrep, announce, reply: a new message
            posted = client.chat_postMessage(
                channel=channel,
                text=body["text"],
                blocks=body.get("blocks"),
                thread_ts=target.get("ts") if message.action == "reply" else None,
                unfurl_links=False,
            )
            return Receipt(
                CHANNEL, vendor_id=str(posted["ts"]), detail={"channel": str(posted["channel"])}
            )
    return Receipt(CHANNEL, vendor_id=channel)


def _invite(client: WebClient, channel: str, body: Mapping[str, Any]) -> Receipt:
    """Invite the ids and the people found by their emails (users.lookupByEmail). An email
    Slack cannot find (or may not look up) is left out and named in the receipt's note, on
    the timeline: one missing person never keeps the others out of the room."""
    users = [u for u in str(body.get("users", "")).split(",") if u]
    missing = []
    for email in (e for e in str(body.get("emails", "")).split(",") if e):
        try:
            found = client.users_lookupByEmail(email=email)
        except SlackApiError as exc:
            error = _from_slack(exc)
            if error.retryable:
                raise error from None
            missing.append(f"{email} ({exc.response.get('error') or 'not found'})")
            continue
        users.append(str(found["user"]["id"]))
    if users:
        client.conversations_invite(channel=channel, users=",".join(dict.fromkeys(users)))
    note = f"not invited, not found in Slack: {', '.join(missing)}" if missing else ""
    return Receipt(CHANNEL, vendor_id=channel, detail={"note": note} if note else {})


def already_made(message: OutboundMessage, credentials: SlackCredentials) -> Receipt | None:
    """What an earlier attempt made when its answer was lost: the channel by its name, the
    sitrep by its text. Edits, topics, pins and invitations are the same when repeated.

    Raises:
        DeliveryError: Slack could not be read.
    """
    client = credentials.client()
    with _translated():
        if message.action == "create":
            found = _channel_named(client, message.body["name"])
            return Receipt(CHANNEL, vendor_id=found) if found else None
        if message.action in ("sitrep", "announce"):
            channel = message.target.get("channel", "")
            history = client.conversations_history(channel=channel, limit=50)
            for posted in history.get("messages") or []:
                if posted.get("text") == message.body["text"]:
                    return Receipt(
                        CHANNEL, vendor_id=str(posted["ts"]), detail={"channel": channel}
                    )
    return None


def _channel_named(client: WebClient, name: str) -> str:
    cursor = ""
    while True:
        page = client.conversations_list(limit=200, cursor=cursor or None, types="public_channel")
        for channel in page.get("channels") or []:
            if channel.get("name") == name:
                return str(channel["id"])
        cursor = (page.get("response_metadata") or {}).get("next_cursor") or ""
        if not cursor:
            return ""


class _translated:
    """Slack's and the network's failures as DeliveryErrors (no token in them)."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, error: Any, _: Any) -> None:
        if error is None or isinstance(error, DeliveryError):
            return
        if isinstance(error, SlackApiError):
            raise _from_slack(error) from None
        if isinstance(error, (TimeoutError, socket.timeout)):
            raise DeliveryError(CHANNEL, FailureReason.TIMEOUT, type(error).__name__) from None
        if isinstance(error, (urllib.error.URLError, HTTPException, ConnectionError, OSError)):
            reason = getattr(error, "reason", None)
            timed_out = isinstance(reason, (TimeoutError, socket.timeout))
            why = FailureReason.TIMEOUT if timed_out else FailureReason.CONNECTION
            raise DeliveryError(CHANNEL, why, type(error).__name__) from None


def _from_slack(error: SlackApiError) -> DeliveryError:
    response = error.response
    status = int(response.status_code or 0)
    code = str(response.get("error") or "") if isinstance(response.data, dict) else ""
    if status == 429 or code == "ratelimited":
        retry_after = float(
            response.headers.get("Retry-After") or response.headers.get("retry-after") or 1
        )
        return DeliveryError(CHANNEL, FailureReason.RATE_LIMITED, code, status, retry_after)
    if code in AUTH_ERRORS:
        return DeliveryError(CHANNEL, FailureReason.AUTH, code, status)
    if code in ALREADY:
        return DeliveryError(CHANNEL, FailureReason.DUPLICATE, code, status)
    if status >= 500 or code in SERVER_ERRORS:
        return DeliveryError(CHANNEL, FailureReason.SERVER_ERROR, code, status)
    return DeliveryError(CHANNEL, FailureReason.CLIENT_ERROR, code or f"HTTP {status}", status)


NOTIFIER = Slack()
