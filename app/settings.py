"""Settings.from_env: the only reader of the environment (12-factor; design.md, Configuration).

The Settings dataclass is the table of every variable Klaxon reads: each field is one row,
`var(NAME, default, description, secret=...)`, and the field's annotation is its type. Reading
(from_env), the documentation check against README.md and app.json (VARIABLES, read by
tests/test_configuration_docs.py), the channels' credentials (outbound) and the scrubbing of
secrets (secret_values) all derive from that table, so a new setting is one row.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, TypeVar, get_type_hints

from app.errors import ConfigError
from app.store.budget import DEFAULT_DELIVERY_TTL_SECONDS, StorageBudget

# The one default for REDIS_URL: a developer's own Redis. A dyno always has REDIS_URL (the
# release phase refuses one without), and the operator commands never fall back to it
# (app/instance_cli.py looks for a running `klaxon run` instead).
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
DEFAULT_MAX_BODY_BYTES = 1024 * 1024  # 1 MiB: PagerDuty drops events over 256 KB anyway
DEFAULT_WEBHOOK_CLOCK_SKEW_SECONDS = 300  # Slack, Stripe and Svix use the same 5 minutes
DEFAULT_WORKER_PROCESSES = 2  # docs/benchmarks.md, "Notifications end to end"
# One keeps up with Statuspage's one call a second per key, which every public worker shares
# (docs/decisions.md 11); more help only when a vendor answers slowly.
DEFAULT_PUBLIC_WORKER_PROCESSES = 1
# No proxy is trusted unless configured: a client's own X-Forwarded-For must never choose the
# address the token guard counts against (app/token_guard.py). Heroku's router is one hop.
DEFAULT_TRUSTED_PROXIES = 0
# A webhook body is a few KB and arrives in milliseconds; a client that has not sent all of it
# in 10 s is broken or stalling on purpose (app/front.py).
DEFAULT_BODY_TIMEOUT_SECONDS = 10
DEFAULT_WEB_THREADS = 4  # docs/decisions.md 7
# A job normally starts within a second; two minutes of waiting with no worker taking any
# job is a stuck or missing worker dyno, not a busy one (a busy worker takes jobs).
DEFAULT_WORKER_STALL_SECONDS = 120
# A suspect is a change of the last hours; two weeks covers late post-mortems.
DEFAULT_CHANGES_DAYS = 14
DEFAULT_STATUS_TITLE = "Service status"
# Each public update is one job per subscriber on the public queue (workers/subscriber_jobs.py).
DEFAULT_SUBSCRIBERS_MAX = 500


@dataclass(frozen=True)
class Variable:
    """One environment variable: a row of the table."""

    name: str
    doc: str
    secret: bool = False
    for_channels: bool = False  # a channel's credential or URL: part of Settings.outbound
    unit: str = "seconds"  # what a whole number counts, named when one does not parse
    minimum: int = 1
    clean: Callable[[str], str] | None = None  # applied to a text value as read


T = TypeVar("T")


def var(
    name: str,
    default: T,
    doc: str,
    *,
    secret: bool = False,
    for_channels: bool = False,
    unit: str = "seconds",
    minimum: int = 1,
    clean: Callable[[str], str] | None = None,
) -> T:
    """A Settings field read from the variable `name` (typed as its value for mypy)."""
    row = Variable(name, doc, secret, for_channels, unit, minimum, clean)
    # A secret stays out of repr(): a Settings in a traceback or a debug log shows none.
    return field(default=default, repr=not secret, metadata={"variable": row})


def group(kind: type[T], **rows: Variable) -> T:
    """A Settings field holding a dataclass whose fields are read from the variables `rows`
    names (their defaults are that dataclass's)."""
    return field(default_factory=kind, metadata={"group": rows})


def _split(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


def _one_line(limit: int) -> Callable[[str], str]:
    return lambda value: value.strip()[:limit]


@dataclass(frozen=True)
class Settings:
    redis_url: str | None = var(
        "REDIS_URL",
        None,
        "Redis URL (redis://, rediss:// with Heroku's self-signed certificate, "
        "unix://). Unset: `klaxon run` starts an embedded Redis.",
        secret=True,  # when it carries a password (secret_values)
    )
    rules_dir: Path = var(
        "KLAXON_RULES_DIR", Path("rules"), "Directory of YAML rules (default rules/)."
    )
    templates_dir: Path = var(
        "KLAXON_TEMPLATES_DIR",
        Path("templates"),
        "Directory of Jinja templates (default templates/).",
    )
    max_body_bytes: int = var(
        "KLAXON_MAX_BODY",
        DEFAULT_MAX_BODY_BYTES,
        "Largest accepted webhook body in bytes (default 1048576).",
        unit="bytes",
    )
    insecure_dev: bool = var(
        "KLAXON_INSECURE_DEV",
        False,
        "1 lets sources without a configured secret accept unsigned "
        "requests. Only `klaxon run` sets it; never in production.",
    )
    api_token: str = var(
        "KLAXON_API_TOKEN",
        "",
        "Bearer token for /api/* and the internal pages. Required on a dyno: the release "
        "phase refuses without it.",
        secret=True,
    )
    public_url: str = var(
        "KLAXON_PUBLIC_URL",
        "http://localhost:8000",
        "Public https:// base URL of this deployment (on Heroku the web_url of `heroku info -s`), used in "
        "every link in messages, pages and the feed. Required on a dyno: the release phase "
        "refuses without it. https adds HSTS; the session cookie is Secure unless this is an "
        "http:// URL.",
        clean=lambda url: url.rstrip("/"),
    )
    status_title: str = var(
        "KLAXON_STATUS_TITLE",
        DEFAULT_STATUS_TITLE,
        "Name of the public status page: its title, masthead and feed, and `page.name` in "
        '/api/v2 (default "Service status"; e.g. "Acme status").',
        clean=_one_line(100),
    )
    log_level: str = var("KLAXON_LOG_LEVEL", "INFO", "Log level (default INFO).", clean=str.upper)
    delivery_ttl_seconds: int = var(
        "KLAXON_DELIVERY_TTL",
        DEFAULT_DELIVERY_TTL_SECONDS,
        "Seconds a delivery id is remembered for redelivery detection "
        "(default 259200, 3 days: PagerDuty retries for 48 h, the longest sender).",
    )
    webhook_clock_skew_seconds: int = var(
        "KLAXON_WEBHOOK_CLOCK_SKEW",
        DEFAULT_WEBHOOK_CLOCK_SKEW_SECONDS,
        "Seconds a signed webhook's send time (Sentry-Hook-Timestamp, Grafana's "
        "timestamp header) may differ from this server's clock before the request "
        "is refused 401 as a replay (default 300; 0 turns the check off).",
        minimum=0,
    )
    worker_processes: int = var(
        "KLAXON_WORKER_PROCESSES",
        DEFAULT_WORKER_PROCESSES,
        "Worker processes `python -m workers` runs for pages "
        "(PagerDuty, Opsgenie), each sending one notification at a "
        "time (default 2). 1 runs a single worker in the process "
        "itself for pages and public channels alike: for local "
        "debugging, not for a dyno.",
        unit="processes",
    )
    public_worker_processes: int = var(
        "KLAXON_PUBLIC_WORKER_PROCESSES",
        DEFAULT_PUBLIC_WORKER_PROCESSES,
        "Worker processes `python -m workers` runs besides, for "
        "the status page and X only, so a page never waits "
        "for them (default 1).",
        unit="processes",
    )
    trusted_proxies: int = var(
        "KLAXON_TRUSTED_PROXIES",
        DEFAULT_TRUSTED_PROXIES,
        "How many proxies in front of the web process append to "
        "X-Forwarded-For; the client address is the entry that many "
        "from the right. 1 on Heroku (its router), 2 behind a CDN in "
        "front of Heroku. Default 0: the header is ignored.",
        unit="proxies",
        minimum=0,
    )
    body_timeout_seconds: int = var(
        "KLAXON_BODY_TIMEOUT",
        DEFAULT_BODY_TIMEOUT_SECONDS,
        "Seconds a client has to send a request body once its headers are in; then 408 "
        "and the connection is closed (default 10).",
    )
    web_threads: int = var(
        "KLAXON_WEB_THREADS",
        DEFAULT_WEB_THREADS,
        "Request threads per web worker process (default 4; docs/decisions.md 7).",
        unit="threads",
    )
    storage: StorageBudget = group(
        StorageBudget,
        retention_days=Variable(
            "KLAXON_RETENTION_DAYS",
            "Days a resolved incident, its alerts and timeline are kept before "
            "the worker removes them (default 90). Open incidents are never removed.",
            unit="days",
        ),
        webhook_log_max=Variable(
            "KLAXON_WEBHOOK_LOG_MAX",
            "Entries kept in the webhook log that `klaxon rules sample` reads (default 10000).",
            unit="entries",
        ),
        alert_events_max=Variable(
            "KLAXON_ALERT_EVENTS_MAX",
            "State changes kept per alert (lifecycle, outcome, time; default 20).",
            unit="entries",
        ),
        raw_sample_bytes=Variable(
            "KLAXON_RAW_SAMPLE_BYTES",
            "Bytes kept of the raw webhook body that opened an alert's current episode, "
            "one per alert (default 4096).",
            unit="bytes",
            minimum=0,
        ),
        outbox_max=Variable(
            "KLAXON_OUTBOX_MAX",
            "Entries kept in the outbox of channels without credentials (default 10000).",
            unit="entries",
        ),
        timeline_max=Variable(
            "KLAXON_TIMELINE_MAX",
            "Entries kept on one incident's timeline; older ones are dropped first (default 5000).",
            unit="entries",
        ),
        maintenance_log_max=Variable(
            "KLAXON_MAINTENANCE_LOG_MAX",
            "Maintenance windows turned on and off kept in the maintenance log (default 1000).",
            unit="entries",
        ),
        memory_warn_percent=Variable(
            "KLAXON_MEMORY_WARN_PERCENT",
            "The worker logs a warning when Redis uses more than this share of "
            "its maxmemory (default 80).",
            unit="percent",
        ),
    )
    metrics_token: str = var(
        "KLAXON_METRICS_TOKEN",
        "",
        "Bearer token GET /metrics accepts besides KLAXON_API_TOKEN, "
        "for a scraper that should open nothing else.",
        secret=True,
    )
    metrics_dir: str = var(
        "KLAXON_METRICS_DIR",
        "",  # "": metrics_directory() picks the per-dyno default
        "Directory the web processes of one dyno share their counters in "
        "(prometheus-client multiprocess mode; default klaxon-metrics-$DYNO under the "
        "system temp dir). Emptied when a dyno starts.",
    )
    worker_stall_seconds: int = var(
        "KLAXON_WORKER_STALL",
        DEFAULT_WORKER_STALL_SECONDS,
        "Seconds jobs may wait with no worker taking any before /readyz answers 503 (default 120).",
    )
    drill_interval_seconds: int = var(
        "KLAXON_DRILL_INTERVAL",
        0,  # 0: no scheduled drill
        "Seconds between scheduled fire drills, run by the worker's ticker "
        "against KLAXON_PUBLIC_URL (e.g. 86400 for daily). Default 0: off.",
        minimum=0,
    )
    dyno: str = var(
        "DYNO", "", "The dyno's name (set by Heroku); names the default metrics directory."
    )
    # Read by the Procfile's web command, not by Python; rows so that they are documented.
    port: str = var("PORT", "", "Port the web process binds (set by Heroku).")
    web_concurrency: str = var(
        "WEB_CONCURRENCY", "", "Web worker processes (set by Heroku from the dyno size)."
    )
    pagerduty_webhook_secrets: tuple[str, ...] = var(
        "PAGERDUTY_WEBHOOK_SECRET",
        (),
        "PagerDuty V3 webhook subscription secret(s), comma-separated during rotation.",
        secret=True,
    )
    sentry_client_secret: str = var(
        "SENTRY_CLIENT_SECRET",
        "",
        "Client secret of the Sentry integration (signs webhooks).",
        secret=True,
    )
    sentry_legacy_webhook_token: str = var(
        "SENTRY_LEGACY_WEBHOOK_TOKEN",
        "",
        "Token the legacy Sentry WebHooks plugin sends as ?token= "
        "in its callback URL (it cannot sign).",
        secret=True,
    )
    opsgenie_webhook_token: str = var(
        "OPSGENIE_WEBHOOK_TOKEN", "", "Shared token Opsgenie sends in X-Klaxon-Token.", secret=True
    )
    datadog_webhook_token: str = var(
        "DATADOG_WEBHOOK_TOKEN",
        "",
        "Shared token Datadog sends in X-Klaxon-Token or as the Basic auth password.",
        secret=True,
    )
    alertmanager_webhook_token: str = var(
        "ALERTMANAGER_WEBHOOK_TOKEN", "", "Bearer/shared token Alertmanager sends.", secret=True
    )
    grafana_webhook_secret: str = var(
        "GRAFANA_WEBHOOK_SECRET",
        "",
        "HMAC secret of the Grafana webhook contact point.",
        secret=True,
    )
    grafana_signature_header: str = var(
        "GRAFANA_SIGNATURE_HEADER",
        "X-Grafana-Alerting-Signature",
        "Header carrying Grafana's HMAC (default X-Grafana-Alerting-Signature).",
    )
    grafana_timestamp_header: str = var(
        "GRAFANA_TIMESTAMP_HEADER",
        "",
        "Header carrying Grafana's signature timestamp, if configured on the contact point.",
    )
    heroku_webhook_secrets: tuple[str, ...] = var(
        "HEROKU_WEBHOOK_SECRET",
        (),
        "Secret(s) of the Heroku app webhook (api:release) that signs releases, "
        "comma-separated during rotation.",
        secret=True,
    )
    github_webhook_secrets: tuple[str, ...] = var(
        "GITHUB_WEBHOOK_SECRET",
        (),
        "Secret(s) of the GitHub webhook (deployment_status, release), comma-separated "
        "during rotation.",
        secret=True,
    )
    changes_days: int = var(
        "KLAXON_CHANGES_DAYS",
        DEFAULT_CHANGES_DAYS,
        "Days a recorded change (release, deploy) is kept to be suspected (default 14; "
        "an incident keeps its own copy of its suspects).",
        unit="days",
    )
    sentry_dsn: str = var(
        "SENTRY_DSN",
        "",
        "DSN for Klaxon's own errors (Flask and RQ). Unset: not reported.",
        secret=True,
    )
    sentry_environment: str = var(
        "SENTRY_ENVIRONMENT", "", "Environment name on Klaxon's own Sentry events."
    )
    # The channels' credentials and URLs, read by the notifiers through `outbound`.
    pagerduty_events_url: str = var(
        "PAGERDUTY_EVENTS_URL",
        "",
        "PagerDuty Events API base URL (default https://events.pagerduty.com).",
        for_channels=True,
    )
    pagerduty_ca_file: str = var(
        "PAGERDUTY_CA_FILE",
        "",
        "Extra CA certificate to trust for the PagerDuty Events API (a "
        "TLS-inspecting proxy); unset in normal deployments.",
        for_channels=True,
    )
    opsgenie_api_key: str = var(
        "OPSGENIE_API_KEY",
        "",
        "Opsgenie API integration key. Unset: Opsgenie goes to the outbox.",
        secret=True,
        for_channels=True,
    )
    opsgenie_api_url: str = var(
        "OPSGENIE_API_URL",
        "",
        "Opsgenie API base URL (default https://api.opsgenie.com; EU or "
        "Jira Service Management hosts work).",
        for_channels=True,
    )
    statuspage_api_key: str = var(
        "STATUSPAGE_API_KEY",
        "",
        "Atlassian Statuspage API key. Unset: outbox.",
        secret=True,
        for_channels=True,
    )
    statuspage_page_id: str = var(
        "STATUSPAGE_PAGE_ID", "", "Atlassian Statuspage page id.", for_channels=True
    )
    statuspage_api_url: str = var(
        "STATUSPAGE_API_URL",
        "",
        "Statuspage API base URL (default https://api.statuspage.io/v1).",
        for_channels=True,
    )
    x_api_key: str = var(
        "X_API_KEY",
        "",
        "X consumer key (OAuth 1.0a). Unset: X goes to the outbox.",
        secret=True,
        for_channels=True,
    )
    x_api_secret: str = var(
        "X_API_SECRET", "", "X consumer secret.", secret=True, for_channels=True
    )
    x_access_token: str = var(
        "X_ACCESS_TOKEN",
        "",
        "X access token of the posting account.",
        secret=True,
        for_channels=True,
    )
    x_access_token_secret: str = var(
        "X_ACCESS_TOKEN_SECRET", "", "X access token secret.", secret=True, for_channels=True
    )
    x_api_url: str = var(
        "X_API_URL", "", "X API base URL (default https://api.twitter.com).", for_channels=True
    )
    slack_bot_token: str = var(
        "SLACK_BOT_TOKEN",
        "",
        "Slack bot token (xoxb-...) of the Klaxon app (slack/manifest.yml). Unset: Slack goes "
        "to the outbox.",
        secret=True,
        for_channels=True,
    )
    slack_api_url: str = var(
        "SLACK_API_URL",
        "",
        "Slack Web API base URL (default https://slack.com/api/).",
        for_channels=True,
    )
    slack_signing_secret: str = var(
        "SLACK_SIGNING_SECRET",
        "",
        "Signing secret of the Klaxon Slack app: /slack/* requests are refused without it "
        "(fail closed).",
        secret=True,
    )
    # Webhook subscribers of the public status page (workers/channels/subscribers.py).
    subscribers_secret: str = var(
        "KLAXON_SUBSCRIBERS_SECRET",
        "",
        "Turns on webhook subscriptions to the status page (/status/subscribe) and signs every "
        "post to a subscriber (X-Klaxon-Signature: sha256=HMAC of the body). Unset: nobody "
        "can subscribe and nothing is posted.",
        secret=True,
        for_channels=True,
    )
    subscribers_max: int = var(
        "KLAXON_SUBSCRIBERS_MAX",
        DEFAULT_SUBSCRIBERS_MAX,
        f"Webhook subscribers the status page accepts; more are refused (default "
        f"{DEFAULT_SUBSCRIBERS_MAX}).",
        unit="subscribers",
    )
    subscribers_allow_loopback: bool = var(
        "KLAXON_SUBSCRIBERS_ALLOW_LOOPBACK",
        False,
        "1 lets a subscriber URL point at a loopback address (127.0.0.0/8, ::1): for local "
        "runs and tests only. Private, link-local and other non-public addresses are always "
        "refused.",
    )

    # Derived, not rows.
    # Secure unless KLAXON_PUBLIC_URL says http: a deployment that forgot the variable still
    # keeps its session cookie off plain http (browsers accept Secure cookies on localhost).
    session_cookie_secure: bool = True
    # The whole environment as read, for the variables the rules name (PagerDuty routing keys
    # by the names in rules/teams.yml): only Settings reads os.environ.
    environment: Mapping[str, str] = field(default_factory=dict, repr=False)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read every variable once; raise ConfigError listing every invalid one."""
        env = os.environ if environ is None else environ
        problems: list[str] = []
        values: dict[str, Any] = {}
        for each in fields(cls):
            if "variable" in each.metadata:
                values[each.name] = _read(
                    each.metadata["variable"], _TYPES[each.name], each.default, env, problems
                )
            elif "group" in each.metadata:
                kind = _TYPES[each.name]
                hints = get_type_hints(kind)
                values[each.name] = kind(
                    **{
                        part.name: _read(rows, hints[part.name], part.default, env, problems)
                        for part in fields(kind)
                        if (rows := each.metadata["group"].get(part.name))
                    }
                )
        if problems:
            raise ConfigError(problems)
        return cls(
            **values,
            session_cookie_secure=not env.get("KLAXON_PUBLIC_URL", "").startswith("http://"),
            environment=dict(env),
        )

    @property
    def redis_connection_url(self) -> str:
        """REDIS_URL, else DEFAULT_REDIS_URL: what the web and worker processes connect to."""
        return self.redis_url or DEFAULT_REDIS_URL

    @property
    def outbound(self) -> Mapping[str, str]:
        """The channels' credentials and URLs that are set, by variable name."""
        return {
            row.name: value
            for row, value in self._rows()
            if row.for_channels and isinstance(value, str) and value
        }

    def metrics_directory(self) -> str:
        """KLAXON_METRICS_DIR, else one directory per dyno under the system temp dir."""
        if self.metrics_dir:
            return self.metrics_dir
        import tempfile

        name = "".join(c if c.isalnum() else "-" for c in (self.dyno or "local"))
        return str(Path(tempfile.gettempdir()) / f"klaxon-metrics-{name}")

    @property
    def serves_https(self) -> bool:
        """KLAXON_PUBLIC_URL is https: browsers are told to use nothing else (HSTS)."""
        return self.public_url.startswith("https://")

    def with_changes(self, **changes: object) -> Settings:
        # Any field by name: replace() refuses an unknown name when it runs, but mypy cannot
        # match `object` values to each field's type; the caller (the tests) gets them right.
        return replace(self, **changes)  # type: ignore[arg-type]

    def secret_values(self, rule_variables: Iterable[str] = ()) -> list[str]:
        """Every configured secret (and the values of the variables the rules name, such as
        routing keys), longest first, for scrubbing logs and error reports."""
        values: list[str] = []
        for row, value in self._rows():
            if row.secret:
                values += value if isinstance(value, tuple) else [value or ""]
        # A URL without user:password@ (REDIS_URL on a developer's machine) holds no secret.
        values = [v for v in values if "://" not in v or "@" in v]
        values += [self.environment.get(name, "") for name in rule_variables]
        return sorted({v for v in values if len(v) >= 6}, key=len, reverse=True)

    def _rows(self) -> Iterator[tuple[Variable, Any]]:
        """Each row with the value it was read as."""
        for each in fields(self):
            if "variable" in each.metadata:
                yield each.metadata["variable"], getattr(self, each.name)
            for name, row in each.metadata.get("group", {}).items():
                yield row, getattr(getattr(self, each.name), name)


_TYPES = get_type_hints(Settings)


def _rows_of_the_table() -> Iterator[Variable]:
    for each in fields(Settings):
        if "variable" in each.metadata:
            yield each.metadata["variable"]
        yield from each.metadata.get("group", {}).values()


# Every variable by name, for the documentation check and `klaxon release`.
VARIABLES: dict[str, Variable] = {row.name: row for row in _rows_of_the_table()}


def _read(
    row: Variable, kind: object, default: Any, env: Mapping[str, str], problems: list[str]
) -> object:
    """The value of one variable as its field's type; a problem appended when it does not parse."""
    raw = env.get(row.name, "")
    if kind is int:
        return _int(raw, row, default, problems)
    if kind is bool:
        return raw in ("1", "true", "yes") if raw else default
    if kind is Path:
        return Path(raw) if raw else default
    if kind == tuple[str, ...]:
        return _split(raw)
    if kind in (str, str | None):
        return (row.clean(raw) if row.clean else raw) or default
    raise TypeError(f"{row.name}: no reader for {kind} (app/settings.py, _read)")


def _int(raw: str, row: Variable, default: int, problems: list[str]) -> int:
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        problems.append(f"{row.name} must be a whole number of {row.unit}, got {raw!r}")
        return default
    if value < row.minimum:
        problems.append(
            f"{row.name} must be "
            + ("positive" if row.minimum == 1 else f"{row.minimum} or more")
            + f", got {value}"
        )
    return value
