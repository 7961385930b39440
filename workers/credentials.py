"""Which channel has credentials, from Settings (the only reader of the environment) and the
environment-variable names the rules declare. A channel, or a PagerDuty routing key, that is
not configured returns None: the message goes to the outbox instead of failing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from app.ruleset import RuleSet
from app.settings import Settings
from workers.notifiers import (Channel, DeliveryError, OutboundMessage, Receipt, opsgenie,
                               pagerduty, statuspage, x)

SENDERS: dict[Channel, Callable[[OutboundMessage, Any], Receipt]] = {
    Channel.PAGERDUTY: pagerduty.send, Channel.OPSGENIE: opsgenie.send,
    Channel.STATUSPAGE: statuspage.send, Channel.X: x.send,
}
# What an earlier attempt made when its answer was lost. PagerDuty and Opsgenie deduplicate by
# key, so only a Statuspage create (a second public incident) and an X post (X refuses the text
# again without saying which post has it, and the thread loses its place) need a look.
FINDERS: dict[Channel, Callable[[OutboundMessage, Any], Receipt | None]] = {
    Channel.STATUSPAGE: statuspage.already_made, Channel.X: x.already_made,
}
# A refused message the vendor would take with less in it, and a note saying what was left
# out. Only Statuspage: a component id gone stale in the rules must not keep the incident off
# the public page.
REPAIRS: dict[Channel, Callable[[OutboundMessage, Any, DeliveryError],
                                tuple[OutboundMessage, str] | None]] = {
    Channel.STATUSPAGE: statuspage.without_unknown_components,
}
REQUIRED = {
    Channel.OPSGENIE: ("OPSGENIE_API_KEY",),
    Channel.STATUSPAGE: ("STATUSPAGE_API_KEY", "STATUSPAGE_PAGE_ID"),
    Channel.X: ("X_API_KEY", "X_API_SECRET", "X_ACCESS_TOKEN", "X_ACCESS_TOKEN_SECRET"),
}


def routing_keys(settings: Settings, ruleset: RuleSet) -> dict[str, str]:
    """PagerDuty routing keys by the variable names the rules declare."""
    return {name: settings.environment[name] for name in ruleset.environment
            if settings.environment.get(name)}


def for_message(message: OutboundMessage, settings: Settings, ruleset: RuleSet) -> Any | None:
    if message.channel is Channel.PAGERDUTY:
        keys = routing_keys(settings, ruleset)
        if str(message.body.get("routing_key", "")).removeprefix("$") not in keys:
            return None
        credentials = pagerduty.PagerDutyCredentials.from_outbound(settings.outbound, keys)
        ca_file = settings.outbound.get("PAGERDUTY_CA_FILE")
        return replace(credentials, ca_file=Path(ca_file)) if ca_file else credentials
    if not all(settings.outbound.get(name) for name in REQUIRED[message.channel]):
        return None
    return {Channel.OPSGENIE: opsgenie.OpsgenieCredentials,
            Channel.STATUSPAGE: statuspage.StatuspageCredentials,
            Channel.X: x.XCredentials}[message.channel].from_outbound(settings.outbound)
