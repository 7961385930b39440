"""RQ side of Klaxon: jobs (one module per outbound channel), timers and the worker entry point.
`app` never imports `workers`; it enqueues by dotted path (workers.queues.JOB_PATHS)."""
