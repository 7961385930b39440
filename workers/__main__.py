"""`python -m workers`: the Procfile's worker process.

An InlineHerokuWorker (workers/worker.py: jobs run in this process, no fork per job; on
SIGTERM the running job gets a few seconds, then fails cleanly and is retried) with the RQ
scheduler, on a connection built by Klaxon rather than RQ's CLI, because
RQ's CLI cannot accept Heroku's self-signed rediss:// certificate (reference/apis.md §0.4).
"""

from __future__ import annotations

import logging

from rq.serializers import JSONSerializer

from app import DEFAULT_REDIS_URL
from app.clock import SystemClock
from app.logs import configure_logging, log
from app.observability import init_sentry, remember_secrets
from app.ruleset import load_ruleset
from app.settings import Settings
from app.store.connection import connect
from app.store.incidents import IncidentStore
from workers.jobs import warm_up
from workers.queues import queues
from workers.ticker import TickerThread
from workers.worker import InlineHerokuWorker

logger = logging.getLogger("klaxon.worker")


def main(burst: bool = False) -> bool:
    settings = Settings.from_env()
    configure_logging(settings.log_level, settings.secret_values())
    init_sentry(settings)
    connection = connect(settings.redis_url or DEFAULT_REDIS_URL)
    clock = SystemClock()
    ruleset = load_ruleset(settings.rules_dir)
    # The routing keys the rules name are secrets too: logs and Sentry scrub them.
    rule_secrets = settings.secret_values(ruleset.environment)
    configure_logging(settings.log_level, rule_secrets)
    remember_secrets(rule_secrets)
    ticker = TickerThread(connection, clock,
                          IncidentStore(connection, clock, settings.delivery_ttl_seconds),
                          ruleset)
    ticker.start()
    warm_up()
    worker = InlineHerokuWorker(queues(connection), connection=connection,
                                serializer=JSONSerializer)
    log(logger, "worker starting", queues=[q.name for q in worker.queues], burst=burst)
    try:
        return worker.work(with_scheduler=True, burst=burst, logging_level=settings.log_level)
    finally:
        ticker.stopping.set()


if __name__ == "__main__":  # the scheduler is a multiprocessing child: keep this guard
    import sys

    main(burst="--burst" in sys.argv[1:])
