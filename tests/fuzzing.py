"""What the fuzz suites share: their size, and a cheap exact picture of the Redis database.

CI runs each property at a size that keeps the whole suite under a minute; a longer run is
KLAXON_FUZZ_EXAMPLES=5000 (docs/operations.md, "Fuzzing"), which sets every property's
example count."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings


def fuzz(ci_examples: int) -> settings:
    """Hypothesis settings: `ci_examples`, or KLAXON_FUZZ_EXAMPLES when it is set."""
    examples = int(os.environ.get("KLAXON_FUZZ_EXAMPLES") or ci_examples)
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,  # each run explores afresh; a failure prints its reproducing example
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,  # one app and database for all examples
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
        ],
    )


def database(redis_client) -> dict[bytes, bytes | None]:
    """Every key with its serialised value (DUMP, one round trip): equal pictures mean the
    request wrote nothing."""
    names = sorted(redis_client.keys("*"))
    with redis_client.pipeline(transaction=False) as pipe:
        for name in names:
            pipe.dump(name)
        return dict(zip(names, pipe.execute(), strict=True))
