"""Slack's jobs besides the lifecycle events: the sitrep edited when the roles change (no
lifecycle event tells the channels that), and a pinned message put on the timeline.

A message pinned (:pushpin:) in an incident's Slack channel goes on the incident's timeline,
and so into its post-mortem. The reaction event carries no text, so this job reads the message
(conversations.history, then conversations.replies for a thread reply) with the bot token;
without one, the timeline says where the pinned message is."""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from app import plaintext
from app.messages.context import MessageEvent
from app.messages.render import render
from app.slack.forms import api_url
from workers.channels import slack
from workers.delivery import deliver_once
from workers.incident_context import load_event
from workers.jobs import runtime

NOTE_MAX_CHARS = 2000
API_TIMEOUT_SECONDS = 10


def pin_to_timeline(incident_id: str, channel: str, ts: str, by: str) -> str:
    """Add the pinned message to the timeline: noted, resolved or unknown.

    Raises:
        SlackApiError: Slack refused the read (RQ retries the job; rate limits included).
    """
    rt = runtime()
    token = rt.settings.outbound.get("SLACK_BOT_TOKEN", "")
    text = ""
    if token:
        client = WebClient(
            token=token, base_url=api_url(rt.settings.outbound), timeout=API_TIMEOUT_SECONDS
        )
        text = message_text(client, channel, ts)
    text = (
        plaintext.clean(text).strip()[:NOTE_MAX_CHARS] or f"a message in Slack ({channel} at {ts})"
    )
    note = rt.incidents.note(incident_id, f"pinned by {by}: {text}", by=by, via="Slack")
    return str(note["result"])


def message_text(client: WebClient, channel: str, ts: str) -> str:
    """The text of message `ts` in `channel`, a top-level message or a thread reply; ""
    when it is gone."""
    history = client.conversations_history(
        channel=channel, latest=ts, oldest=ts, inclusive=True, limit=1
    )
    for message in history.get("messages") or []:
        if message.get("ts") == ts:
            return str(message.get("text", ""))
    try:
        thread = client.conversations_replies(channel=channel, ts=ts, limit=1)
    except SlackApiError as exc:
        if exc.response.get("error") == "thread_not_found":
            return ""
        raise
    for message in thread.get("messages") or []:
        if message.get("ts") == ts:
            return str(message.get("text", ""))
    return ""


def archive_room(incident_id: str) -> str:
    """Archive the resolved incident's Slack channel (conversations.archive), once through the
    ledger; the timeline says so and why. Returns the vendor id, or "" when there is no
    channel of its own to archive (or it is not resolved: a post-mortem published early)."""
    rt = runtime()
    incident = rt.incidents.incident(incident_id) or {}
    channel = incident.get("slack_channel", "")
    if incident.get("status") != "resolved" or not incident.get("slack_room") or not channel:
        return ""
    published = incident.get("postmortem_status") == "published"
    why = "post-mortem published" if published else "archive_after since resolution"
    state = {
        name: str(incident[name]) for name in slack.NOTIFIER.state_fields if incident.get(name)
    }
    return deliver_once(rt, slack.NOTIFIER, slack.archive_message(incident_id, channel, why), state)


def refresh_sitrep(incident_id: str, seq: str) -> str:
    """Edit the sitrep after a change no lifecycle event reports (a commander, a lead): one
    chat.update through the ledger, once per `seq`. Returns the vendor id, or "" when the
    incident has no sitrep yet (the declaration posts a current one)."""
    rt = runtime()
    told = load_event(rt, incident_id, MessageEvent.ACKNOWLEDGED.value, seq, "roles changed", None)
    if told is None or not told.state.get("slack_sitrep") or told.state.get("slack_archived"):
        return ""
    rendered = render(slack.NOTIFIER, told.ctx.event, told.ctx, rt.settings.templates_dir)
    message = slack.sitrep_refresh(told.occasion, rendered, told.state)
    return deliver_once(rt, slack.NOTIFIER, message, told.state)
