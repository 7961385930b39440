"""Settings.from_env: the only reader of the environment (12-factor; design.md, Configuration).

Every variable is documented in VARIABLES, which README.md and app.json are checked against
by a test, so a new variable cannot go undocumented.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from app.errors import ConfigError
from app.store import budget
from app.store.budget import DEFAULT_DELIVERY_TTL_SECONDS, StorageBudget

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
DEFAULT_CHANGES_DAYS = (
    14  # a suspect is a change of the last hours; two weeks covers late postmortems
)

# name -> (description, is_secret)
VARIABLES: dict[str, tuple[str, bool]] = {
    "REDIS_URL": (
        "Redis URL (redis://, rediss:// with Heroku's self-signed certificate, "
        "unix://). Unset: `klaxon run` starts an embedded Redis.",
        True,
    ),
    "KLAXON_RULES_DIR": ("Directory of YAML rules (default rules/).", False),
    "KLAXON_TEMPLATES_DIR": ("Directory of Jinja templates (default templates/).", False),
    "KLAXON_MAX_BODY": ("Largest accepted webhook body in bytes (default 1048576).", False),
    "KLAXON_INSECURE_DEV": (
        "1 lets sources without a configured secret accept unsigned "
        "requests. Only `klaxon run` sets it; never in production.",
        False,
    ),
    "KLAXON_API_TOKEN": (
        "Bearer token for /api/* and the internal pages. Required on a dyno: the release "
        "phase refuses without it.",
        True,
    ),
    "KLAXON_PUBLIC_URL": (
        "Public https:// base URL of this deployment (on Heroku the web_url of `heroku info -s`), used in "
        "every link in messages, pages and the feed. Required on a dyno: the release phase "
        "refuses without it. https adds HSTS; the session cookie is Secure unless this is an "
        "http:// URL.",
        False,
    ),
    "KLAXON_STATUS_TITLE": (
        "Name of the public status page: its title, masthead and feed, and `page.name` in "
        '/api/v2 (default "Service status"; e.g. "Acme status").',
        False,
    ),
    "KLAXON_LOG_LEVEL": ("Log level (default INFO).", False),
    "KLAXON_DELIVERY_TTL": (
        "Seconds a delivery id is remembered for redelivery detection "
        "(default 259200, 3 days: PagerDuty retries for 48 h, the longest sender).",
        False,
    ),
    "KLAXON_RETENTION_DAYS": (
        "Days a resolved incident, its alerts and timeline are kept before "
        "the worker removes them (default 90). Open incidents are never removed.",
        False,
    ),
    "KLAXON_WEBHOOK_LOG_MAX": (
        "Entries kept in the webhook log that `klaxon rules sample` reads (default 10000).",
        False,
    ),
    "KLAXON_ALERT_EVENTS_MAX": (
        "State changes kept per alert (lifecycle, outcome, time; default 20).",
        False,
    ),
    "KLAXON_RAW_SAMPLE_BYTES": (
        "Bytes kept of the raw webhook body that opened an alert's current episode, one per alert (default 4096).",
        False,
    ),
    "KLAXON_OUTBOX_MAX": (
        "Entries kept in the outbox of channels without credentials (default 10000).",
        False,
    ),
    "KLAXON_MEMORY_WARN_PERCENT": (
        "The worker logs a warning when Redis uses more than this share of "
        "its maxmemory (default 80).",
        False,
    ),
    "KLAXON_WEBHOOK_CLOCK_SKEW": (
        "Seconds a signed webhook's send time (Sentry-Hook-Timestamp, Grafana's "
        "timestamp header) may differ from this server's clock before the request "
        "is refused 401 as a replay (default 300; 0 turns the check off).",
        False,
    ),
    "KLAXON_WORKER_PROCESSES": (
        "Worker processes `python -m workers` runs for pages "
        "(PagerDuty, Opsgenie), each sending one notification at a "
        "time (default 2). 1 runs a single worker in the process "
        "itself for pages and public channels alike: for local "
        "debugging, not for a dyno.",
        False,
    ),
    "KLAXON_PUBLIC_WORKER_PROCESSES": (
        "Worker processes `python -m workers` runs besides, for "
        "the status page and X only, so a page never waits "
        "for them (default 1).",
        False,
    ),
    "KLAXON_BODY_TIMEOUT": (
        "Seconds a client has to send a request body once its headers are in; then 408 "
        "and the connection is closed (default 10).",
        False,
    ),
    "KLAXON_WEB_THREADS": (
        "Request threads per web worker process (default 4; docs/decisions.md 7).",
        False,
    ),
    "KLAXON_TRUSTED_PROXIES": (
        "How many proxies in front of the web process append to "
        "X-Forwarded-For; the client address is the entry that many "
        "from the right. 1 on Heroku (its router), 2 behind a CDN in "
        "front of Heroku. Default 0: the header is ignored.",
        False,
    ),
    "PAGERDUTY_WEBHOOK_SECRET": (
        "PagerDuty V3 webhook subscription secret(s), comma-separated during rotation.",
        True,
    ),
    "SENTRY_CLIENT_SECRET": ("Client secret of the Sentry integration (signs webhooks).", True),
    "SENTRY_LEGACY_WEBHOOK_TOKEN": (
        "Token the legacy Sentry WebHooks plugin sends as ?token= "
        "in its callback URL (it cannot sign).",
        True,
    ),
    "OPSGENIE_WEBHOOK_TOKEN": ("Shared token Opsgenie sends in X-Klaxon-Token.", True),
    "DATADOG_WEBHOOK_TOKEN": (
        "Shared token Datadog sends in X-Klaxon-Token or as the Basic auth password.",
        True,
    ),
    "ALERTMANAGER_WEBHOOK_TOKEN": ("Bearer/shared token Alertmanager sends.", True),
    "GRAFANA_WEBHOOK_SECRET": ("HMAC secret of the Grafana webhook contact point.", True),
    "GRAFANA_SIGNATURE_HEADER": (
        "Header carrying Grafana's HMAC (default X-Grafana-Alerting-Signature).",
        False,
    ),
    "GRAFANA_TIMESTAMP_HEADER": (
        "Header carrying Grafana's signature timestamp, if configured on the contact point.",
        False,
    ),
    "HEROKU_WEBHOOK_SECRET": (
        "Secret(s) of the Heroku app webhook (api:release) that signs releases, "
        "comma-separated during rotation.",
        True,
    ),
    "GITHUB_WEBHOOK_SECRET": (
        "Secret(s) of the GitHub webhook (deployment_status, release), comma-separated "
        "during rotation.",
        True,
    ),
    "KLAXON_CHANGES_DAYS": (
        "Days a recorded change (release, deploy) is kept to be suspected (default 14; "
        "an incident keeps its own copy of its suspects).",
        False,
    ),
    "SENTRY_DSN": ("DSN for Klaxon's own errors (Flask and RQ). Unset: not reported.", True),
    "SENTRY_ENVIRONMENT": ("Environment name on Klaxon's own Sentry events.", False),
    "PAGERDUTY_EVENTS_URL": (
        "PagerDuty Events API base URL (default https://events.pagerduty.com).",
        False,
    ),
    "PAGERDUTY_CA_FILE": (
        "Extra CA certificate to trust for the PagerDuty Events API (a "
        "TLS-inspecting proxy); unset in normal deployments.",
        False,
    ),
    "OPSGENIE_API_KEY": ("Opsgenie API integration key. Unset: Opsgenie goes to the outbox.", True),
    "OPSGENIE_API_URL": (
        "Opsgenie API base URL (default https://api.opsgenie.com; EU or "
        "Jira Service Management hosts work).",
        False,
    ),
    "STATUSPAGE_API_KEY": ("Atlassian Statuspage API key. Unset: outbox.", True),
    "STATUSPAGE_PAGE_ID": ("Atlassian Statuspage page id.", False),
    "STATUSPAGE_API_URL": (
        "Statuspage API base URL (default https://api.statuspage.io/v1).",
        False,
    ),
    "X_API_KEY": ("X consumer key (OAuth 1.0a). Unset: X goes to the outbox.", True),
    "X_API_SECRET": ("X consumer secret.", True),
    "X_ACCESS_TOKEN": ("X access token of the posting account.", True),
    "X_ACCESS_TOKEN_SECRET": ("X access token secret.", True),
    "X_API_URL": ("X API base URL (default https://api.twitter.com).", False),
    "KLAXON_METRICS_TOKEN": (
        "Bearer token GET /metrics accepts besides KLAXON_API_TOKEN, "
        "for a scraper that should open nothing else.",
        True,
    ),
    "KLAXON_METRICS_DIR": (
        "Directory the web processes of one dyno share their counters in "
        "(prometheus-client multiprocess mode; default klaxon-metrics-$DYNO under the "
        "system temp dir). Emptied when a dyno starts.",
        False,
    ),
    "KLAXON_WORKER_STALL": (
        "Seconds jobs may wait with no worker taking any before /readyz answers 503 (default 120).",
        False,
    ),
    "KLAXON_DRILL_INTERVAL": (
        "Seconds between scheduled fire drills, run by the worker's ticker "
        "against KLAXON_PUBLIC_URL (e.g. 86400 for daily). Default 0: off.",
        False,
    ),
    "DYNO": ("The dyno's name (set by Heroku); names the default metrics directory.", False),
    "PORT": ("Port the web process binds (set by Heroku).", False),
    "WEB_CONCURRENCY": ("Web worker processes (set by Heroku from the dyno size).", False),
}


def _split(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


@dataclass(frozen=True)
class Settings:
    redis_url: str | None = None
    rules_dir: Path = Path("rules")
    templates_dir: Path = Path("templates")
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    insecure_dev: bool = False
    api_token: str = ""
    public_url: str = "http://localhost:8000"
    # Secure unless KLAXON_PUBLIC_URL says http: a deployment that forgot the variable still
    # keeps its session cookie off plain http (browsers accept Secure cookies on localhost).
    session_cookie_secure: bool = True
    status_title: str = "Service status"
    log_level: str = "INFO"
    delivery_ttl_seconds: int = DEFAULT_DELIVERY_TTL_SECONDS
    webhook_clock_skew_seconds: int = DEFAULT_WEBHOOK_CLOCK_SKEW_SECONDS
    worker_processes: int = DEFAULT_WORKER_PROCESSES
    public_worker_processes: int = DEFAULT_PUBLIC_WORKER_PROCESSES
    trusted_proxies: int = DEFAULT_TRUSTED_PROXIES
    body_timeout_seconds: int = DEFAULT_BODY_TIMEOUT_SECONDS
    web_threads: int = DEFAULT_WEB_THREADS
    storage: StorageBudget = StorageBudget()
    metrics_token: str = ""
    metrics_dir: str = ""  # "" : metrics_directory() picks the per-dyno default
    worker_stall_seconds: int = DEFAULT_WORKER_STALL_SECONDS
    drill_interval_seconds: int = 0  # 0: no scheduled drill
    dyno: str = ""
    pagerduty_webhook_secrets: tuple[str, ...] = ()
    sentry_client_secret: str = ""
    sentry_legacy_webhook_token: str = ""
    opsgenie_webhook_token: str = ""
    datadog_webhook_token: str = ""
    alertmanager_webhook_token: str = ""
    grafana_webhook_secret: str = ""
    grafana_signature_header: str = "X-Grafana-Alerting-Signature"
    grafana_timestamp_header: str = ""
    heroku_webhook_secrets: tuple[str, ...] = ()
    github_webhook_secrets: tuple[str, ...] = ()
    changes_days: int = DEFAULT_CHANGES_DAYS
    sentry_dsn: str = ""
    sentry_environment: str = ""
    outbound: Mapping[str, str] = field(default_factory=dict)  # channel credentials and URLs
    # The whole environment as read, for the variables the rules name (PagerDuty routing keys
    # by the names in rules/teams.yml): only Settings reads os.environ.
    environment: Mapping[str, str] = field(default_factory=dict, repr=False)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read every variable once; raise ConfigError listing every invalid one."""
        env = os.environ if environ is None else environ
        problems: list[str] = []
        max_body = _int(env, "KLAXON_MAX_BODY", DEFAULT_MAX_BODY_BYTES, problems)
        ttl = _int(env, "KLAXON_DELIVERY_TTL", DEFAULT_DELIVERY_TTL_SECONDS, problems)
        skew = _int(
            env,
            "KLAXON_WEBHOOK_CLOCK_SKEW",
            DEFAULT_WEBHOOK_CLOCK_SKEW_SECONDS,
            problems,
            minimum=0,
        )
        processes = _int(
            env, "KLAXON_WORKER_PROCESSES", DEFAULT_WORKER_PROCESSES, problems, unit="processes"
        )
        public_processes = _int(
            env,
            "KLAXON_PUBLIC_WORKER_PROCESSES",
            DEFAULT_PUBLIC_WORKER_PROCESSES,
            problems,
            unit="processes",
        )
        proxies = _int(
            env,
            "KLAXON_TRUSTED_PROXIES",
            DEFAULT_TRUSTED_PROXIES,
            problems,
            unit="proxies",
            minimum=0,
        )
        body_timeout = _int(
            env, "KLAXON_BODY_TIMEOUT", DEFAULT_BODY_TIMEOUT_SECONDS, problems, unit="seconds"
        )
        web_threads = _int(env, "KLAXON_WEB_THREADS", DEFAULT_WEB_THREADS, problems, unit="threads")
        storage = StorageBudget(
            retention_days=_int(
                env, "KLAXON_RETENTION_DAYS", budget.DEFAULT_RETENTION_DAYS, problems, "days"
            ),
            webhook_log_max=_int(
                env, "KLAXON_WEBHOOK_LOG_MAX", budget.DEFAULT_WEBHOOK_LOG_MAX, problems, "entries"
            ),
            alert_events_max=_int(
                env, "KLAXON_ALERT_EVENTS_MAX", budget.DEFAULT_ALERT_EVENTS_MAX, problems, "entries"
            ),
            raw_sample_bytes=_int(
                env,
                "KLAXON_RAW_SAMPLE_BYTES",
                budget.DEFAULT_RAW_SAMPLE_BYTES,
                problems,
                "bytes",
                minimum=0,
            ),
            outbox_max=_int(
                env, "KLAXON_OUTBOX_MAX", budget.DEFAULT_OUTBOX_MAX, problems, "entries"
            ),
            memory_warn_percent=_int(
                env,
                "KLAXON_MEMORY_WARN_PERCENT",
                budget.DEFAULT_MEMORY_WARN_PERCENT,
                problems,
                "percent",
            ),
        )
        stall = _int(env, "KLAXON_WORKER_STALL", DEFAULT_WORKER_STALL_SECONDS, problems)
        drill_interval = _int(env, "KLAXON_DRILL_INTERVAL", 0, problems, minimum=0)
        changes_days = _int(env, "KLAXON_CHANGES_DAYS", DEFAULT_CHANGES_DAYS, problems, "days")
        if problems:
            raise ConfigError(problems)
        outbound_names = (
            "PAGERDUTY_EVENTS_URL",
            "PAGERDUTY_CA_FILE",
            "OPSGENIE_API_KEY",
            "OPSGENIE_API_URL",
            "STATUSPAGE_API_KEY",
            "STATUSPAGE_PAGE_ID",
            "STATUSPAGE_API_URL",
            "X_API_KEY",
            "X_API_SECRET",
            "X_ACCESS_TOKEN",
            "X_ACCESS_TOKEN_SECRET",
            "X_API_URL",
        )
        return cls(
            redis_url=env.get("REDIS_URL") or None,
            rules_dir=Path(env.get("KLAXON_RULES_DIR") or "rules"),
            templates_dir=Path(env.get("KLAXON_TEMPLATES_DIR") or "templates"),
            max_body_bytes=max_body,
            insecure_dev=env.get("KLAXON_INSECURE_DEV", "") in ("1", "true", "yes"),
            api_token=env.get("KLAXON_API_TOKEN", ""),
            public_url=(env.get("KLAXON_PUBLIC_URL") or "http://localhost:8000").rstrip("/"),
            session_cookie_secure=not env.get("KLAXON_PUBLIC_URL", "").startswith("http://"),
            status_title=(env.get("KLAXON_STATUS_TITLE") or "").strip()[:100] or "Service status",
            log_level=(env.get("KLAXON_LOG_LEVEL") or "INFO").upper(),
            delivery_ttl_seconds=ttl,
            webhook_clock_skew_seconds=skew,
            worker_processes=processes,
            public_worker_processes=public_processes,
            trusted_proxies=proxies,
            body_timeout_seconds=body_timeout,
            web_threads=web_threads,
            storage=storage,
            metrics_token=env.get("KLAXON_METRICS_TOKEN", ""),
            metrics_dir=env.get("KLAXON_METRICS_DIR", ""),
            worker_stall_seconds=stall,
            drill_interval_seconds=drill_interval,
            dyno=env.get("DYNO", ""),
            pagerduty_webhook_secrets=_split(env.get("PAGERDUTY_WEBHOOK_SECRET", "")),
            sentry_client_secret=env.get("SENTRY_CLIENT_SECRET", ""),
            sentry_legacy_webhook_token=env.get("SENTRY_LEGACY_WEBHOOK_TOKEN", ""),
            opsgenie_webhook_token=env.get("OPSGENIE_WEBHOOK_TOKEN", ""),
            datadog_webhook_token=env.get("DATADOG_WEBHOOK_TOKEN", ""),
            alertmanager_webhook_token=env.get("ALERTMANAGER_WEBHOOK_TOKEN", ""),
            grafana_webhook_secret=env.get("GRAFANA_WEBHOOK_SECRET", ""),
            grafana_signature_header=(
                env.get("GRAFANA_SIGNATURE_HEADER") or "X-Grafana-Alerting-Signature"
            ),
            grafana_timestamp_header=env.get("GRAFANA_TIMESTAMP_HEADER", ""),
            heroku_webhook_secrets=_split(env.get("HEROKU_WEBHOOK_SECRET", "")),
            github_webhook_secrets=_split(env.get("GITHUB_WEBHOOK_SECRET", "")),
            changes_days=changes_days,
            sentry_dsn=env.get("SENTRY_DSN", ""),
            sentry_environment=env.get("SENTRY_ENVIRONMENT", ""),
            outbound={name: env[name] for name in outbound_names if env.get(name)},
            environment=dict(env),
        )

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
        values = [
            *self.pagerduty_webhook_secrets,
            self.sentry_client_secret,
            self.sentry_legacy_webhook_token,
            self.opsgenie_webhook_token,
            self.datadog_webhook_token,
            self.alertmanager_webhook_token,
            self.grafana_webhook_secret,
            *self.heroku_webhook_secrets,
            *self.github_webhook_secrets,
            self.api_token,
            self.metrics_token,
            self.sentry_dsn,
        ]
        values += [v for k, v in self.outbound.items() if VARIABLES.get(k, ("", False))[1]]
        if self.redis_url and "@" in self.redis_url:
            values.append(self.redis_url)
        values += [self.environment.get(name, "") for name in rule_variables]
        return sorted({v for v in values if len(v) >= 6}, key=len, reverse=True)


def _int(
    env: Mapping[str, str],
    name: str,
    default: int,
    problems: list[str],
    unit: str = "",
    minimum: int = 1,
) -> int:
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        unit = unit or ("bytes" if "BODY" in name else "seconds")
        problems.append(f"{name} must be a whole number of {unit}, got {raw!r}")
        return default
    if value < minimum:
        problems.append(
            f"{name} must be "
            + ("positive" if minimum == 1 else f"{minimum} or more")
            + f", got {value}"
        )
    return value
