"""What Slack does for an incident (rules/slack.yml): which severities get their own channel,
where declarations are announced, each team's channel and members, and who each Slack user is.
No IO; built from the gathered `slack:` section by Builder.slack_policy."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

DEFAULT_CHANNEL_SEVERITIES = ("SEV1", "SEV2")
DEFAULT_ANNOUNCE_CHANNEL = "#incidents"
DEFAULT_ARCHIVE_AFTER_SECONDS = 7 * 86400  # an incident channel's life after resolution
DEFAULT_TEAM = "default"  # the teams entry every team without its own falls back to


@dataclass(frozen=True, slots=True)
class SlackUser:
    """A Slack user (by id, U...) and the responder name Klaxon records for them."""

    user_id: str
    name: str
    email: str = ""


@dataclass(frozen=True, slots=True)
class SlackTeam:
    channel: str  # where the team's announcements (and lower severities) go
    # Invited to each of its incident channels: Slack user ids, or emails looked up in the
    # workspace (users.lookupByEmail) when the channel opens.
    members: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SlackPolicy:
    channel_severities: tuple[str, ...] = DEFAULT_CHANNEL_SEVERITIES
    announce_severities: tuple[str, ...] = ("SEV1", "SEV2", "SEV3")
    teams: Mapping[str, SlackTeam] = field(default_factory=dict)
    users: Mapping[str, SlackUser] = field(default_factory=dict)
    # An incident channel is archived this long after resolution, or when its post-mortem
    # is published, whichever comes first.
    archive_after_s: int = DEFAULT_ARCHIVE_AFTER_SECONDS

    def opens_channel(self, severity: str) -> bool:
        return severity in self.channel_severities

    def announces(self, severity: str) -> bool:
        return severity in self.announce_severities or self.opens_channel(severity)

    def team(self, name: str) -> SlackTeam:
        return (
            self.teams.get(name)
            or self.teams.get(DEFAULT_TEAM)
            or SlackTeam(DEFAULT_ANNOUNCE_CHANNEL)
        )

    def responder_name(self, user_id: str, fallback: str) -> str:
        """The mapped responder name, else what Slack calls the user (their handle)."""
        user = self.users.get(user_id)
        return user.name if user else fallback

    def invitees(self, people: list[str]) -> tuple[list[str], list[str]]:
        """(Slack user ids, emails to look up) of the people to invite, each once: a member
        given by email whom `users` names by id is invited by that id."""
        ids: list[str] = []
        emails: list[str] = []
        for person in people:
            if "@" not in person:
                ids.append(person)
                continue
            email = person.lower()
            known = next((u for u in self.users.values() if u.email.lower() == email), None)
            (ids if known else emails).append(known.user_id if known else email)
        return list(dict.fromkeys(ids)), list(dict.fromkeys(emails))

    def user_for_name(self, name: str) -> SlackUser | None:
        """The Slack user a responder name belongs to (commanders are recorded by name)."""
        return next((u for u in self.users.values() if u.name == name), None)
