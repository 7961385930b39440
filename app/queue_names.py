"""RQ queue names, shared by the workers (which consume them) and the internal pages (which
list their failed jobs): app/ never imports workers/, so the names live here."""

from __future__ import annotations

NOTIFY_QUEUE = "klaxon-notify"  # pages (PagerDuty, Opsgenie): what responders wait for
# Status page and X, apart: Statuspage takes one call a second per key and a vendor can be
# slow, and a page must never wait behind them (docs/decisions.md 11).
PUBLIC_QUEUE = "klaxon-public"
TIMERS_QUEUE = "klaxon-timers"  # escalations, reminders, post-mortem due dates
QUEUE_NAMES = (NOTIFY_QUEUE, PUBLIC_QUEUE, TIMERS_QUEUE)  # dequeue order: pages first
