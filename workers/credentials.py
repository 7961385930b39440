"""Which channel has credentials, from Settings (the only reader of the environment) and the
environment-variable names the rules declare. A channel, or a PagerDuty routing key, that is
not configured returns None: the message goes to the outbox instead of failing."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from app.ruleset import RuleSet
from app.settings import Settings
from workers.channels import (
    Channel,
    DeliveryError,
    OutboundMessage,
    Receipt,
    opsgenie,
    pagerduty,
    statuspage,
    x,
)

SENDERS: dict[Channel, Callable[[OutboundMessage, Any], Receipt]] = {
    Channel.PAGERDUTY: pagerduty.send,
    Channel.OPSGENIE: opsgenie.send,
    Channel.STATUSPAGE: statuspage.send,
    Channel.X: x.send,
}
# What an earlier attempt made when its answer was lost. PagerDuty and Opsgenie deduplicate by
# key, so only a Statuspage create (a second public incident) and an X post (X refuses the text
# again without saying which post has it, and the thread loses its place) need a look.
FINDERS: dict[Channel, Callable[[OutboundMessage, Any], Receipt | None]] = {
    Channel.STATUSPAGE: statuspage.already_made,
    Channel.X: x.already_made,
}
WARMERS: dict[Channel, Callable[[Any], None]] = {
    Channel.OPSGENIE: opsgenie.warm_up,
    Channel.STATUSPAGE: statuspage.warm_up,
    Channel.X: x.warm_up,
}
# A refused message the vendor would take with less in it, and a note saying what was left
# out. Only Statuspage: a component id gone stale in the rules must not keep the incident off
# the public page.
REPAIRS: dict[
    Channel, Callable[[OutboundMessage, Any, DeliveryError], tuple[OutboundMessage, str] | None]
] = {
    Channel.STATUSPAGE: statuspage.without_unknown_components,
}
REQUIRED = {
    Channel.OPSGENIE: ("OPSGENIE_API_KEY",),
    Channel.STATUSPAGE: ("STATUSPAGE_API_KEY", "STATUSPAGE_PAGE_ID"),
    Channel.X: ("X_API_KEY", "X_API_SECRET", "X_ACCESS_TOKEN", "X_ACCESS_TOKEN_SECRET"),
}


def routing_keys(settings: Settings, ruleset: RuleSet) -> dict[str, str]:
    """PagerDuty routing keys by the variable names the rules declare."""
    return {
        name: settings.environment[name]
        for name in ruleset.environment
        if settings.environment.get(name)
    }


class Credentials:
    """Every channel's credentials, resolved once (jobs share one per worker process): not
    one pass over the rules' variables per message."""

    def __init__(self, settings: Settings, ruleset: RuleSet) -> None:
        self._routing_keys = routing_keys(settings, ruleset)
        pd = pagerduty.PagerDutyCredentials.from_outbound(settings.outbound, self._routing_keys)
        ca_file = settings.outbound.get("PAGERDUTY_CA_FILE")
        self._pagerduty = replace(pd, ca_file=Path(ca_file)) if ca_file else pd
        builders: dict[Channel, Callable[[Mapping[str, str]], Any]] = {
            Channel.OPSGENIE: opsgenie.OpsgenieCredentials.from_outbound,
            Channel.STATUSPAGE: statuspage.StatuspageCredentials.from_outbound,
            Channel.X: x.XCredentials.from_outbound,
        }
        self._others: dict[Channel, Any | None] = {
            channel: build(settings.outbound)
            if all(settings.outbound.get(name) for name in REQUIRED[channel])
            else None
            for channel, build in builders.items()
        }

    def warm_up(self) -> None:
        """Build every configured channel's clients once, without connecting: the vendors'
        HTTP stacks load modules on first use (httpcore, h11, truststore: ~50 ms), which the
        first page of every worker process waited for. Before `python -m workers` forks, so
        the modules are loaded once; each process then builds its own clients (and
        connections) on its first call (notifiers/_http.per_process)."""
        if self._routing_keys:
            try:
                pagerduty.warm_up(self._pagerduty)
            except DeliveryError:  # PAGERDUTY_EVENTS_URL is not https: sends will say so
                pass
        for channel, credentials in self._others.items():
            if credentials is not None:
                WARMERS[channel](credentials)

    def for_message(self, message: OutboundMessage) -> Any | None:
        if message.channel is Channel.PAGERDUTY:
            name = str(message.body.get("routing_key", "")).removeprefix("$")
            return self._pagerduty if name in self._routing_keys else None
        return self._others[message.channel]


def for_message(message: OutboundMessage, settings: Settings, ruleset: RuleSet) -> Any | None:
    return Credentials(settings, ruleset).for_message(message)
