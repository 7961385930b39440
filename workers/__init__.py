"""RQ side of Klaxon: the notification jobs (jobs.py), one module per outbound channel
(channels/), the one delivery policy (delivery.py), timers and the worker entry point.
`app` never imports `workers`; it enqueues by dotted path (app/notifications.py)."""
