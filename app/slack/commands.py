"""The `/klaxon` slash command's words, parsed into a Command. Pure: no Slack, no store.

    declare <title> [SEVn]      ack                     ic [@user]
    role tech|comms @user       update <status> [text]  sev <SEVn>
    resolve [no-data-lost|data-lost] [text]    status    oncall [team]     help

In an incident's channel the incident is implicit; elsewhere the verb is followed by its id
(`/klaxon ack INC-2026-7`). Users arrive as Slack escapes them, `<@U024BE7LH|alice>`, or as a
plain `@alice` when the command does not escape (slack/manifest.yml asks it to).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from app import plaintext
from app.models import Severity
from app.store.incidents import STATUSES

INCIDENT_ID = re.compile(r"^INC-\d{4}-\d{1,9}$")
ESCAPED_USER = re.compile(r"^<@([UW][A-Z0-9]{2,20})(?:\|([^>]{0,80}))?>$")
PLAIN_USER = re.compile(r"^@([\w.-]{1,80})$")
ROLE_WORDS = {"tech": "tech_lead", "comms": "comms_lead"}
MAX_TITLE = 200
MAX_MESSAGE = 5000
DEFAULT_DECLARE_SEVERITY = "SEV2"  # a room of its own by default (rules/slack.yml)
NEEDS_INCIDENT = frozenset({"ack", "ic", "role", "update", "sev", "resolve", "status"})

HELP = """\
`/klaxon declare <title> [SEV1-4]`  declare an incident (default SEV2)
`/klaxon ack`  acknowledge: stops escalation; you lead unless someone does
`/klaxon ic [@user]`  take command, or hand it to @user
`/klaxon role tech|comms @user`  name the technical or communications lead
`/klaxon update <investigating|identified|monitoring|resolved> <message>`  post a status update (without a message: a form)
`/klaxon sev <SEV1-4>`  change the severity
`/klaxon resolve [no-data-lost|data-lost] [message]`  resolve, saying whether data was lost (the resolution checklist)
`/klaxon status`  where the incident stands
`/klaxon oncall [team]`  who is paged for a team
In an incident channel the incident is implicit; elsewhere add its id after the verb: `/klaxon ack INC-2026-7`."""


class CommandError(ValueError):
    """Words `/klaxon` does not understand; the message says what it expected."""


@dataclass(frozen=True, slots=True)
class UserRef:
    """A user named in a command: a Slack id when Slack escaped it, else a handle."""

    user_id: str = ""
    handle: str = ""


@dataclass(frozen=True, slots=True)
class Command:
    verb: str
    incident: str = ""  # given in the words; "" = the channel's incident
    title: str = ""
    severity: str = ""
    user: UserRef | None = None
    role: str = ""  # tech_lead or comms_lead
    status: str = ""
    message: str = ""
    team: str = ""
    data_loss: str = ""  # the resolution checklist's answer: "no", "yes" or "" (not given)


def parse(text: str) -> Command:
    """The command in `text` (what followed /klaxon).

    Raises:
        CommandError: unknown verb or arguments, with what was expected.
    """
    words = plaintext.clean(text).split()
    if not words or words[0].lower() == "help":
        return Command("help")
    verb, rest = words[0].lower(), words[1:]
    incident = ""
    if verb in NEEDS_INCIDENT and rest and INCIDENT_ID.match(rest[0].upper()):
        incident, rest = rest[0].upper(), rest[1:]
    parser = _PARSERS.get(verb)
    if parser is None:
        raise CommandError(f"unknown command {verb[:40]!r}; try `/klaxon help`")
    command = parser(rest)
    return replace(command, incident=incident)


def _declare(words: list[str]) -> Command:
    severity = DEFAULT_DECLARE_SEVERITY
    if words and _severity(words[-1]):
        severity, words = _severity(words[-1]), words[:-1]
    title = " ".join(words)
    if not title:
        raise CommandError("declare needs a title: `/klaxon declare <title> [SEV1-4]`")
    if len(title) > MAX_TITLE:
        raise CommandError(f"the title is longer than {MAX_TITLE} characters")
    return Command("declare", title=title, severity=severity)


def _ack(words: list[str]) -> Command:
    _no_more("ack", words)
    return Command("ack")


def _ic(words: list[str]) -> Command:
    if len(words) > 1:
        raise CommandError("ic takes at most one user: `/klaxon ic [@user]`")
    return Command("ic", user=_user(words[0]) if words else None)


def _role(words: list[str]) -> Command:
    if len(words) != 2 or words[0].lower() not in ROLE_WORDS:
        raise CommandError("role needs a role and a user: `/klaxon role tech|comms @user`")
    return Command("role", role=ROLE_WORDS[words[0].lower()], user=_user(words[1]))


def _update(words: list[str]) -> Command:
    if not words:
        return Command("update")  # a form asks for the rest
    status = words[0].lower()
    if status not in STATUSES:
        raise CommandError(f"update needs a status first: one of {', '.join(STATUSES)}")
    message = " ".join(words[1:])
    if len(message) > MAX_MESSAGE:
        raise CommandError(f"the message is longer than {MAX_MESSAGE} characters")
    return Command("update", status=status, message=message)


def _sev(words: list[str]) -> Command:
    severity = _severity(words[0]) if len(words) == 1 else ""
    if not severity:
        raise CommandError("sev needs one severity: `/klaxon sev SEV1` (SEV1 to SEV4)")
    return Command("sev", severity=severity)


# The resolution checklist's data-loss answer, as the first word of `/klaxon resolve`.
DATA_LOSS_WORDS = {"no-data-lost": "no", "data-lost": "yes"}


def _resolve(words: list[str]) -> Command:
    data_loss = DATA_LOSS_WORDS.get(words[0].lower(), "") if words else ""
    message = " ".join(words[1:] if data_loss else words)
    if len(message) > MAX_MESSAGE:
        raise CommandError(f"the message is longer than {MAX_MESSAGE} characters")
    return Command("resolve", message=message, data_loss=data_loss)


def _status(words: list[str]) -> Command:
    _no_more("status", words)
    return Command("status")


def _oncall(words: list[str]) -> Command:
    if len(words) > 1:
        raise CommandError("oncall takes at most one team: `/klaxon oncall [team]`")
    return Command("oncall", team=words[0].lower() if words else "")


def _severity(word: str) -> str:
    word = word.upper()
    return word if word in Severity.__members__ else ""


def _user(word: str) -> UserRef:
    escaped = ESCAPED_USER.match(word)
    if escaped:
        return UserRef(escaped.group(1), escaped.group(2) or "")
    plain = PLAIN_USER.match(word)
    if plain:
        return UserRef(handle=plain.group(1))
    raise CommandError(f"expected a user such as @alice, got {word[:40]!r}")


def _no_more(verb: str, words: list[str]) -> None:
    if words:
        raise CommandError(f"{verb} takes no arguments here; try `/klaxon help`")


_PARSERS = {
    "declare": _declare,
    "ack": _ack,
    "ic": _ic,
    "role": _role,
    "update": _update,
    "sev": _sev,
    "resolve": _resolve,
    "status": _status,
    "oncall": _oncall,
}
