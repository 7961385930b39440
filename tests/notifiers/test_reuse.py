"""Each worker process keeps one HTTP client per destination and credentials (keep-alive, no
TLS handshake per call): calls reuse a connection, credentials never cross between clients,
every call is still one bounded attempt, and a forked process starts with no clients."""

from __future__ import annotations

import os
import warnings

import pytest
from fakes import FakePagerDuty, FakeStatuspage, FakeX

from notifiers.channels import CASES, TIMEOUT, X_KEYS
from workers.channels import (
    Channel,
    DeliveryError,
    FailureReason,
    OutboundMessage,
    _http,
    pagerduty,
    statuspage,
    x,
)

KEY_A = "R0UT1NGK3YSERVICEAaaaaaaaaaaaaaa"  # 32 characters, as PagerDuty's are
KEY_B = "R0UT1NGK3YSERVICEBbbbbbbbbbbbbbb"


@pytest.mark.parametrize("channel", list(CASES))
def test_calls_reuse_one_kept_alive_connection(
    channel: Channel, request: pytest.FixtureRequest
) -> None:
    fixture, make_case = CASES[channel]
    case = make_case(request.getfixturevalue(fixture))
    for _ in range(3):
        case.send(case.message())
    peers = {r.peer for r in case.fake.requests}
    assert len(case.fake.requests) == 3 and len(peers) == 1


def page(variable: str, n: int) -> OutboundMessage:
    return OutboundMessage(
        Channel.PAGERDUTY,
        "trigger",
        f"inc-{n}",
        "declared",
        f"pd-{n}",
        {
            "routing_key": f"${variable}",
            "event_action": "trigger",
            "dedup_key": f"inc-{n}",
            "payload": {"summary": "s", "source": "h", "severity": "error"},
        },
    )


def test_pagerduty_routing_keys_share_a_pool_and_never_cross(fake_pagerduty: FakePagerDuty) -> None:
    credentials = pagerduty.PagerDutyCredentials(
        {"PD_A": KEY_A, "PD_B": KEY_B}, fake_pagerduty.url, TIMEOUT, fake_pagerduty.ca_file
    )
    order = ["PD_A", "PD_B", "PD_A", "PD_B", "PD_B"]
    for n, variable in enumerate(order):
        pagerduty.send(page(variable, n), credentials)
    sent = [r.json["routing_key"] for r in fake_pagerduty.requests]
    assert sent == [{"PD_A": KEY_A, "PD_B": KEY_B}[v] for v in order]
    assert len({r.peer for r in fake_pagerduty.requests}) == 1  # one pool for the destination
    # Each key has a client of its own, and that client only ever carries its own key.
    client_a = pagerduty._client(KEY_A, credentials)
    assert client_a is not pagerduty._client(KEY_B, credentials)
    assert client_a.auth_method.auth_param == {"routing_key": KEY_A}


def test_a_reused_pagerduty_client_still_makes_one_bounded_attempt(
    fake_pagerduty: FakePagerDuty,
) -> None:
    credentials = pagerduty.PagerDutyCredentials(
        {"PD_A": KEY_A}, fake_pagerduty.url, TIMEOUT, fake_pagerduty.ca_file
    )
    pagerduty.send(page("PD_A", 1), credentials)
    fake_pagerduty.fail_next(503)
    with pytest.raises(DeliveryError) as failed:
        pagerduty.send(page("PD_A", 2), credentials)
    assert failed.value.reason is FailureReason.SERVER_ERROR
    fake_pagerduty.slow_next(TIMEOUT[1] * 4)
    with pytest.raises(DeliveryError) as slow:
        pagerduty.send(page("PD_A", 3), credentials)
    assert slow.value.reason is FailureReason.TIMEOUT
    pagerduty.send(page("PD_A", 4), credentials)  # the timed-out connection is not reused
    assert [r.json["dedup_key"] for r in fake_pagerduty.requests] == [
        "inc-1",
        "inc-2",
        "inc-3",
        "inc-4",
    ]  # one attempt each


def test_statuspage_keys_never_cross(fake_statuspage: FakeStatuspage) -> None:
    first, second = (
        statuspage.StatuspageCredentials(key, "pg1kx", fake_statuspage.url + "/v1", TIMEOUT)
        for key in ("sp-key-of-page-one-111", "sp-key-of-page-two-222")
    )
    for n, credentials in enumerate([first, second, first, second]):
        statuspage.send(
            OutboundMessage(
                Channel.STATUSPAGE,
                "create",
                f"inc-{n}",
                "declared",
                f"sp-{n}",
                {"incident": {"name": f"n{n}", "status": "investigating"}},
            ),
            credentials,
        )
    assert [r.headers["authorization"] for r in fake_statuspage.requests] == [
        "OAuth sp-key-of-page-one-111",
        "OAuth sp-key-of-page-two-222",
        "OAuth sp-key-of-page-one-111",
        "OAuth sp-key-of-page-two-222",
    ]
    assert "cookie" not in {h for r in fake_statuspage.requests for h in r.headers}


def test_x_accounts_never_cross(fake_x: FakeX) -> None:
    other = (
        "xck-OTHERconsumer0000",
        "xcs-OTHERsecret11111111",
        "xat-OTHERtoken22222",
        "xas-OTHERtokensecret333",
    )
    accounts = [
        x.XCredentials(*keys, api_url=fake_x.url, timeout=TIMEOUT) for keys in (X_KEYS, other)
    ]
    for n, credentials in enumerate([accounts[0], accounts[1], accounts[0]]):
        x.send(
            OutboundMessage(
                Channel.X, "post", f"inc-{n}", "declared", f"x-{n}", {"text": f"Update number {n}"}
            ),
            credentials,
        )
    consumers = [
        r.headers["authorization"].split('oauth_consumer_key="')[1].split('"')[0]
        for r in fake_x.requests
    ]
    assert consumers == [X_KEYS[0], other[0], X_KEYS[0]]


def test_a_forked_process_starts_without_the_parents_clients(fake_pagerduty: FakePagerDuty) -> None:
    credentials = pagerduty.PagerDutyCredentials(
        {"PD_A": KEY_A}, fake_pagerduty.url, TIMEOUT, fake_pagerduty.ca_file
    )
    pagerduty.send(page("PD_A", 1), credentials)  # the parent now holds a kept-alive client
    assert len(pagerduty._keyed_client) >= 1
    caches = (pagerduty._keyed_client, pagerduty._transport, _http.shared_session, x._client)
    read, write = os.pipe()
    with warnings.catch_warnings():  # 3.12+ warns about forking with threads (the fake's)
        warnings.simplefilter("ignore", DeprecationWarning)
        child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        os.write(write, bytes(len(cache) for cache in caches))
        os._exit(0)
    os.close(write)
    sizes = os.read(read, 16)
    os.close(read)
    os.waitpid(child, 0)
    assert list(sizes) == [0] * len(caches)


def test_warm_up_builds_the_clients_without_calling_anyone(
    fake_pagerduty: FakePagerDuty, fake_statuspage: FakeStatuspage, fake_x: FakeX
) -> None:
    """What `python -m workers` does before it forks: every configured channel's client is
    built (so the HTTP stack's modules are loaded once), and no vendor is contacted."""
    from pathlib import Path

    from app.ruleset import load_ruleset
    from app.settings import Settings
    from workers.runtime import channel_credentials, warm_up_channels

    settings = Settings.from_env(
        {
            "PD_ROUTING_KEY_CHECKOUT": KEY_A,
            "PAGERDUTY_EVENTS_URL": fake_pagerduty.url,
            "PAGERDUTY_CA_FILE": str(fake_pagerduty.ca_file),
            "STATUSPAGE_API_KEY": "sp-key-1234567",
            "STATUSPAGE_PAGE_ID": "pg1kx",
            "STATUSPAGE_API_URL": fake_statuspage.url + "/v1",
            "X_API_KEY": X_KEYS[0],
            "X_API_SECRET": X_KEYS[1],
            "X_ACCESS_TOKEN": X_KEYS[2],
            "X_ACCESS_TOKEN_SECRET": X_KEYS[3],
            "X_API_URL": fake_x.url,
        }
    )
    ruleset = load_ruleset(Path(__file__).parent.parent.parent / "rules")  # names that key
    for cache in (pagerduty._keyed_client, _http.shared_session, x._client):
        cache.clear()
    warm_up_channels(channel_credentials(settings, ruleset))
    assert len(pagerduty._keyed_client) == 1
    assert len(_http.shared_session) == 1
    assert len(x._client) == 2
    assert fake_pagerduty.requests == fake_statuspage.requests == fake_x.requests == []
