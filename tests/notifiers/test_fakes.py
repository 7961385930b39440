"""The fakes themselves: recording, fault queue order, and auth checks, over plain requests."""

from __future__ import annotations

import threading

import requests
from fakes import FakeOpsgenie, FakePagerDuty, FakeStatuspage, FakeX


def test_faults_apply_to_the_next_n_requests_in_order(fake_opsgenie: FakeOpsgenie) -> None:
    fake_opsgenie.fail_next(503, n=2)
    fake_opsgenie.fail_next(429, retry_after=9)
    url, auth = fake_opsgenie.url + "/v2/alerts", {"Authorization": "GenieKey k"}
    answers = [requests.post(url, json={"message": "m"}, headers=auth, timeout=5)
               for _ in range(4)]
    assert [a.status_code for a in answers] == [503, 503, 429, 202]
    assert answers[2].headers["Retry-After"] == "9"
    assert [r.json for r in fake_opsgenie.requests] == [{"message": "m"}] * 4


def test_recording_is_thread_safe(fake_statuspage: FakeStatuspage) -> None:
    url = fake_statuspage.url + "/v1/pages/p/incidents"

    def create(n: int) -> None:
        with requests.Session() as session:
            for i in range(5):
                session.post(url, json={"incident": {"name": f"{n}-{i}"}},
                             headers={"Authorization": "OAuth k"}, timeout=5)

    threads = [threading.Thread(target=create, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(fake_statuspage.requests) == 40 and len(fake_statuspage.incidents) == 40


def test_missing_credentials_are_refused(fake_opsgenie: FakeOpsgenie,
                                         fake_statuspage: FakeStatuspage, fake_x: FakeX,
                                         fake_pagerduty: FakePagerDuty) -> None:
    assert requests.post(fake_opsgenie.url + "/v2/alerts", json={"message": "m"},
                         timeout=5).status_code == 401
    assert requests.post(fake_statuspage.url + "/v1/pages/p/incidents",
                         json={"incident": {"name": "n"}}, timeout=5).status_code == 401
    assert requests.post(fake_x.url + "/2/tweets", json={"text": "t"},
                         headers={"Authorization": "Bearer t"}, timeout=5).status_code == 401
    answer = requests.post(fake_pagerduty.url + "/v2/enqueue", json={"event_action": "trigger"},
                           verify=str(fake_pagerduty.ca_file), timeout=5)
    assert answer.status_code == 400 and answer.json()["errors"] == ["Invalid routing key"]
