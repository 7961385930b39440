"""The compiled rules: frozen values built only from rules that passed both loading phases, so
classification never re-checks them. No IO here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from app.models import Severity
from app.ruleset.matchers import Matcher, RuleIndex
from app.ruleset.services import Service
from app.ruleset.slackpolicy import SlackPolicy
from app.ruleset.templates import Template
from app.ruleset.timewindows import WeeklyWindow
from app.ruleset.vocabulary import (
    ComponentStatus,
    PageMode,
    ResponderType,
    SilenceKind,
    StatuspageImpact,
)


@dataclass(frozen=True, slots=True)
class Location:
    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True, slots=True)
class RulesVersion:
    content_hash: str  # sha256 of every rules file, short
    git_commit: str = ""  # HEAD of the rules directory's repository, when it is one

    def __str__(self) -> str:
        return (
            f"{self.content_hash}@{self.git_commit[:12]}" if self.git_commit else self.content_hash
        )


@dataclass(frozen=True, slots=True)
class CommsPolicy:
    """The public comms rhythm of a severity (severities.<SEV>.comms; app/cadence.py)."""

    first_post_within_s: int | None = None  # a first public post this soon after declaring
    auto_first_post: bool = False  # none by then: Klaxon publishes the drafted one
    remind_before_s: int | None = None  # the commander is reminded this long before due
    long_incident_after_s: int | None = None  # from then on, updates every ...
    long_incident_update_every_s: int | None = None  # ... this long instead of update_every
    resolution_must_state: tuple[str, ...] = ()  # message, data_loss, customer_impact


@dataclass(frozen=True, slots=True)
class SeverityPolicy:
    severity: Severity
    description: str
    page: PageMode
    statuspage_impact: StatuspageImpact
    component_status: ComponentStatus
    x_post: bool
    update_every_s: int | None  # None: update "when there is news"
    postmortem_due_s: int | None  # None: no post-mortem required
    comms: CommsPolicy = CommsPolicy()


@dataclass(frozen=True, slots=True)
class Responder:
    type: ResponderType
    name: str


@dataclass(frozen=True, slots=True)
class EscalationLevel:
    after_s: int
    notify: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Team:
    name: str
    description: str = ""
    routing_key_env: str = ""  # the *name* of the variable holding the PagerDuty routing key
    opsgenie_team: str = ""
    responders: tuple[Responder, ...] = ()
    ack_timeout_s: int | None = None
    escalation: tuple[EscalationLevel, ...] = ()
    business_hours: WeeklyWindow | None = None


@dataclass(frozen=True, slots=True)
class SeverityLookup:
    """Map one alert field's values to severities, e.g. Datadog's P1-P5 in source_severity."""

    field: str
    values: Mapping[str, Severity]


@dataclass(frozen=True, slots=True)
class FlapPolicy:
    state_changes: int  # this many changes inside `window_s` make an alert flapping
    window_s: int
    hold_s: int  # notifications stay held this long after the last change


@dataclass(frozen=True, slots=True)
class RouteSettings:
    """What a route decides; None means "not set here" so continued routes can layer."""

    team: str | None = None
    severity: Severity | None = None
    severity_map: tuple[SeverityLookup, ...] | None = None
    dedup_key: Template | None = None
    group_by: tuple[str, ...] | None = None
    group_by_empty: bool | None = None  # an empty group_by label groups like any value
    declare_resolved: bool | None = None  # declare even if every alert resolved in group_wait
    group_window_s: int | None = None
    group_wait_s: int | None = None
    resolve_quiet_s: int | None = None
    flapping: FlapPolicy | None = None
    ignore: bool | None = None


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    position: int  # order in the rule set: first match wins
    location: Location
    matchers: tuple[Matcher, ...]
    continue_: bool
    settings: RouteSettings
    description: str = ""

    @property
    def is_catch_all(self) -> bool:
        return not self.matchers


@dataclass(frozen=True, slots=True)
class InhibitRule:
    name: str
    location: Location
    source: tuple[Matcher, ...]  # tested against an open incident's labels
    target: tuple[Matcher, ...]  # tested against the new alert's labels
    equal: tuple[str, ...]  # labels that must be equal (and, unless equal_empty, not empty)
    equal_empty: bool = False  # opt in: empty on both sides counts as equal (Alertmanager's way)


@dataclass(frozen=True, slots=True)
class Silence:
    name: str
    location: Location
    kind: SilenceKind
    matchers: tuple[Matcher, ...]
    comment: str = ""
    created_by: str = ""
    starts_at: float | None = None
    ends_at: float | None = None
    recurring: WeeklyWindow | None = None


@dataclass(frozen=True, slots=True)
class ChangePolicy:
    """rules `changes:`: the suspect window, and what a release just before an incident does."""

    window_s: int = 2 * 3600
    after_release_within_s: int = 0  # 0: no after_release rule
    raise_to: Severity | None = None
    # Page the change's author with the on-call (Opsgenie: a user responder by username).
    page_author: bool = False
    location: str = ""  # file:line of the after_release rule, for `rules explain`


@dataclass(frozen=True, slots=True)
class RuleSet:
    version: RulesVersion
    directory: str
    severities: Mapping[Severity, SeverityPolicy]
    severity_maps: Mapping[str, tuple[SeverityLookup, ...]]
    teams: Mapping[str, Team]
    defaults: RouteSettings
    rules: tuple[Rule, ...]
    index: RuleIndex
    inhibit_rules: tuple[InhibitRule, ...] = ()
    silences: tuple[Silence, ...] = ()
    environment: Mapping[str, str] = field(default_factory=dict)
    # Service -> the Statuspage component ids its incidents affect (statuspage.components).
    statuspage_components: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # Public component group -> the services shown under it (statuspage.groups).
    statuspage_groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # The service catalog (services:) and every spelling key -> canonical name.
    services: Mapping[str, Service] = field(default_factory=dict)
    service_names: Mapping[str, str] = field(default_factory=dict)
    slack: SlackPolicy = SlackPolicy()  # rules/slack.yml
    changes: ChangePolicy = ChangePolicy()
    # Layered settings per tuple of matched route positions, filled by classify.
    settings_cache: dict[tuple[int, ...], RouteSettings] = field(
        default_factory=dict, compare=False, repr=False
    )
