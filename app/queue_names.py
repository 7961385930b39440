"""RQ queue names, shared by the workers (which consume them) and the internal pages (which
list their failed jobs): app/ never imports workers/, so the names live here."""

from __future__ import annotations

NOTIFY_QUEUE = "klaxon-notify"  # pages, status page, X: what people are waiting for
TIMERS_QUEUE = "klaxon-timers"  # escalations, reminders, post-mortem due dates
QUEUE_NAMES = (NOTIFY_QUEUE, TIMERS_QUEUE)  # dequeue order: notifications first
