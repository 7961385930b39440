"""Klaxon's web app. create_app() is the only assembly point: nothing reads the environment,
connects or loads files at import time."""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass
from typing import Any

import redis
from flask import Flask, g, request
from werkzeug.middleware.proxy_fix import ProxyFix

from app import (
    api,
    change_intake,
    changes_api,
    fastpath,
    health,
    http_errors,
    http_headers,
    metrics,
    pages,
    webhooks,
)
from app.cadence import first_reminder_at
from app.changes import Change, ChangeSource, build_change_sources
from app.clock import Clock, SystemClock
from app.logs import configure_logging, log_request, observe_requests
from app.notifications import enqueue_notification
from app.observability import init_sentry, remember_secrets
from app.resolution import Checklist, resolution_post
from app.ruleset import RuleSet, load_ruleset, reload_ruleset
from app.settings import Settings
from app.slack import views as slack_views
from app.sources import Source, build_sources
from app.store.changes import ChangeStore
from app.store.connection import connect
from app.store.incidents import Acted, IncidentStore
from app.store.maintenance import MaintenanceMode
from app.store.outbox import Outbox
from app.store.timers import Timers
from app.store.token_failures import TokenFailures


@dataclass
class Klaxon:
    """Everything a request needs, built once per process and kept on app.extensions."""

    settings: Settings
    redis: redis.Redis
    clock: Clock
    sources: dict[str, Source]
    incidents: IncidentStore
    ruleset: RuleSet
    outbox: Outbox
    maintenance: MaintenanceMode
    token_failures: TokenFailures  # wrong API tokens per client address (app/token_guard.py)
    changes: ChangeStore  # releases and deploys, suspects of incidents (issue 17)
    change_sources: dict[str, ChangeSource]  # POST /webhooks/heroku, /webhooks/github

    def enqueue(
        self,
        incident_id: str,
        event: str,
        seq: str = "",
        reason: str = "",
        update: dict[str, Any] | None = None,
    ) -> str | None:
        """Tell the workers about a state change (one job per incident, event and seq; that
        job enqueues the event's public part, if it has one)."""
        return enqueue_notification(self.redis, incident_id, event, seq, reason, update)

    def post_update(
        self,
        incident_id: str,
        status: str,
        message: str,
        by: str,
        severity: str = "",
        checklist: Checklist | None = None,
    ) -> dict[str, Any]:
        """A status update from a person (API or form): stored, then sent to the channels. A
        'resolved' one closes the incident with the resolution `checklist`."""
        if status == "resolved" and checklist is not None:
            message = resolution_post(message, checklist)  # it says whether data was lost
        result = self.incidents.post_update(
            incident_id, status, message, by, severity=severity, checklist=checklist
        )
        if result["result"] is Acted.UPDATED and status != "resolved":
            self._rearm_update_reminder(incident_id)
        if result["result"] is Acted.UPDATED:
            event = "resolved" if status == "resolved" else "update_posted"
            self.enqueue(
                incident_id,
                event,
                repr(self.clock.now()),
                "status update posted",
                {"status": status, "message": message, "by": by},
            )
        return result

    def _rearm_update_reminder(self, incident_id: str) -> None:
        """An update moves the next one's due time on: the reminder follows at once, so its
        'due soon' comes ahead of the new time (app/cadence.py), not after an old chase."""
        incident = self.incidents.incident(incident_id) or {}
        at = first_reminder_at(incident, self.ruleset)
        if at is not None:
            Timers(self.redis).schedule("remind", incident_id, at)

    def record_change(
        self, change: Change, source: str = "", delivery_id: str = ""
    ) -> dict[str, Any]:
        """A change from a webhook, the API or the CLI: stored, held against open incidents."""
        return change_intake.record_change(
            change,
            self.ruleset,
            self.changes,
            self.incidents,
            self.enqueue,
            self.clock.now(),
            source,
            delivery_id,
        )

    def suspect_changes(self, incident_id: str, services: list[str]) -> list[Change]:
        """An incident opened, or an alert of another service joined it: its suspects."""
        return change_intake.suspect_changes_fenced(
            incident_id, services, self.ruleset, self.changes, self.incidents, self.enqueue
        )

    def describe(self) -> dict[str, Any]:
        """What /readyz shows beside its checks."""
        return {"rules_version": str(self.ruleset.version), "sources": sorted(self.sources)}

    def reload_rules(self) -> list[str]:
        """Load the rules directory again; on any problem keep the rules in force and return
        the problems (an invalid directory never replaces a valid one)."""
        ruleset, problems = reload_ruleset(self.ruleset, self.settings.rules_dir)
        if ruleset is not None:
            self.ruleset = ruleset
        return problems


def create_app(
    settings: Settings | None = None,
    *,
    connection: redis.Redis | None = None,
    clock: Clock | None = None,
) -> Flask:
    settings = settings or Settings.from_env()
    configure_logging(settings.log_level, settings.secret_values())
    init_sentry(settings)
    connection = connection or connect(settings.redis_connection_url)
    clock = clock or SystemClock()
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    # Flask types app.json as the JSONProvider base; the DefaultJSONProvider it is has sort_keys.
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["klaxon"] = Klaxon(
        settings=settings,
        redis=connection,
        clock=clock,
        sources=build_sources(settings),
        incidents=IncidentStore(connection, clock, settings.delivery_ttl_seconds, settings.storage),
        ruleset=load_ruleset(settings.rules_dir),  # raises RulesError: refuse to start
        outbox=Outbox(connection, clock, settings.storage.outbox_max),
        maintenance=MaintenanceMode(connection, clock, settings.storage),
        token_failures=TokenFailures(connection, clock),
        changes=ChangeStore(
            connection, clock, settings.changes_days, settings.delivery_ttl_seconds
        ),
        change_sources=build_change_sources(settings),
    )
    # The routing keys the rules name are secrets too: logs and Sentry scrub them.
    rule_secrets = settings.secret_values(app.extensions["klaxon"].ruleset.environment)
    configure_logging(settings.log_level, rule_secrets)
    remember_secrets(rule_secrets)
    # The compiled rules live as long as the process: keep the collector from walking them
    # on every request (it caused the slowest 1% of classifications in bench/classify.py).
    gc.collect()
    gc.freeze()
    app.register_blueprint(webhooks.blueprint)
    app.register_blueprint(health.blueprint)
    app.register_blueprint(api.blueprint)
    app.register_blueprint(changes_api.blueprint)
    app.register_blueprint(metrics.blueprint)
    app.register_blueprint(slack_views.blueprint)
    klaxon = app.extensions["klaxon"]
    counted = metrics.configure(
        settings.metrics_directory(), frozenset([*klaxon.sources, *klaxon.change_sources])
    )
    observe_requests(counted.observe)
    pages.register(app, settings)
    http_errors.register(app)
    http_headers.install(app, settings)
    app.before_request(_start_request_log)
    app.after_request(_write_request_log)
    fastpath.install(app)  # POST /webhooks/<source> without Flask's request cycle
    if settings.trusted_proxies:
        _trust_forwarded_for(app, settings.trusted_proxies)
    return app


def _trust_forwarded_for(app: Flask, hops: int) -> None:
    """request.remote_addr becomes the X-Forwarded-For entry `hops` from the right: the address
    the last trusted proxy (Heroku's router) saw connect. Entries left of it are the client's
    own words, so sending X-Forwarded-For cannot choose the address the token guard counts.
    Outermost, so the webhook fast path and Flask see the same address. Only X-Forwarded-For:
    links are built from KLAXON_PUBLIC_URL, never from forwarded scheme or host headers."""
    fixed = ProxyFix(app.wsgi_app, x_for=hops, x_proto=0, x_host=0, x_port=0, x_prefix=0)
    # Wrapping wsgi_app is Flask's documented way to add middleware; mypy sees a method replaced.
    app.wsgi_app = fixed  # type: ignore[method-assign]


def _start_request_log() -> None:
    g.started = time.perf_counter()
    g.log_fields = {}


def _write_request_log(response: Any) -> Any:
    log_request(
        request.method,
        request.path,
        response.status_code,
        getattr(g, "started", time.perf_counter()),
        getattr(g, "log_fields", {}),
    )
    return response
