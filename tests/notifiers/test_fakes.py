"""The fakes themselves: recording, fault queue order, and auth checks, over plain requests."""

from __future__ import annotations

import threading

import pytest
import requests
from fakes import FakeOpsgenie, FakePagerDuty, FakeStatuspage, FakeX

# The fake checks that OAuth 1.0a parameters are present, not that they sign the request.
X_AUTH = {
    "Authorization": 'OAuth oauth_consumer_key="k", oauth_token="t", '
    'oauth_signature="s", oauth_signature_method="HMAC-SHA1", oauth_timestamp="1", '
    'oauth_nonce="n"'
}


def test_faults_apply_to_the_next_n_requests_in_order(fake_opsgenie: FakeOpsgenie) -> None:
    fake_opsgenie.fail_next(503, n=2)
    fake_opsgenie.fail_next(429, retry_after=9)
    url, auth = fake_opsgenie.url + "/v2/alerts", {"Authorization": "GenieKey k"}
    answers = [requests.post(url, json={"message": "m"}, headers=auth, timeout=5) for _ in range(4)]
    assert [a.status_code for a in answers] == [503, 503, 429, 202]
    assert answers[2].headers["Retry-After"] == "9"
    assert [r.json for r in fake_opsgenie.requests] == [{"message": "m"}] * 4


def test_recording_is_thread_safe(fake_statuspage: FakeStatuspage) -> None:
    url = fake_statuspage.url + "/v1/pages/p/incidents"

    def create(n: int) -> None:
        with requests.Session() as session:
            for i in range(5):
                session.post(
                    url,
                    json={"incident": {"name": f"{n}-{i}"}},
                    headers={"Authorization": "OAuth k"},
                    timeout=5,
                )

    threads = [threading.Thread(target=create, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(fake_statuspage.requests) == 40 and len(fake_statuspage.incidents) == 40


def test_missing_credentials_are_refused(
    fake_opsgenie: FakeOpsgenie,
    fake_statuspage: FakeStatuspage,
    fake_x: FakeX,
    fake_pagerduty: FakePagerDuty,
) -> None:
    assert (
        requests.post(
            fake_opsgenie.url + "/v2/alerts", json={"message": "m"}, timeout=5
        ).status_code
        == 401
    )
    assert (
        requests.post(
            fake_statuspage.url + "/v1/pages/p/incidents",
            json={"incident": {"name": "n"}},
            timeout=5,
        ).status_code
        == 401
    )
    assert (
        requests.post(
            fake_x.url + "/2/tweets",
            json={"text": "t"},
            headers={"Authorization": "Bearer t"},
            timeout=5,
        ).status_code
        == 401
    )
    answer = requests.post(
        fake_pagerduty.url + "/v2/enqueue",
        json={"event_action": "trigger"},
        verify=str(fake_pagerduty.ca_file),
        timeout=5,
    )
    assert answer.status_code == 400 and answer.json()["errors"] == ["Invalid routing key"]


def test_a_lost_answer_still_acts(fake_x: FakeX) -> None:
    fake_x.lose_next()
    with pytest.raises(requests.ConnectionError):
        requests.post(fake_x.url + "/2/tweets", json={"text": "t"}, headers=X_AUTH, timeout=5)
    assert [p["text"] for p in fake_x.posts.values()] == ["t"] and fake_x.answers == []


def test_x_reads_back_the_account_and_its_posts_newest_first(fake_x: FakeX) -> None:
    def get(path: str, **params: str) -> dict:
        return requests.get(fake_x.url + path, params=params, headers=X_AUTH, timeout=5).json()

    me = get("/2/users/me")["data"]
    assert set(me) == {"id", "name", "username"}
    assert get(f"/2/users/{me['id']}/tweets") == {"meta": {"result_count": 0}}

    def post(body: dict) -> str:
        answer = requests.post(fake_x.url + "/2/tweets", json=body, headers=X_AUTH, timeout=5)
        return answer.json()["data"]["id"]

    first = post({"text": "Down & out: https://st.example/i/1"})
    second = post({"text": "Fixed", "reply": {"in_reply_to_tweet_id": first}})

    plain = get(f"/2/users/{me['id']}/tweets", max_results=5)
    assert [p["id"] for p in plain["data"]] == [second, first]
    assert set(plain["data"][1]) == {"id", "text", "edit_history_tweet_ids"}  # default fields
    assert plain["meta"] == {"result_count": 2, "newest_id": second, "oldest_id": first}
    shown = plain["data"][1]["text"]
    assert shown.startswith("Down &amp; out: https://t.co/") and len(shown) == 16 + 23

    fields = get(
        f"/2/users/{me['id']}/tweets",
        max_results=5,
        **{"tweet.fields": "entities,referenced_tweets,conversation_id"},
    )["data"]
    assert fields[0]["referenced_tweets"] == [{"type": "replied_to", "id": first}]
    assert fields[0]["conversation_id"] == first and "entities" not in fields[0]
    [link] = fields[1]["entities"]["urls"]
    assert link["expanded_url"] == "https://st.example/i/1"
    assert shown[link["start"] : link["end"]] == link["url"]
    assert (
        get(f"/2/users/{me['id']}/tweets", max_results=5, exclude="replies")["meta"]["result_count"]
        == 1
    )


def test_x_timeline_refuses_what_x_refuses(fake_x: FakeX) -> None:
    tweets = f"{fake_x.url}/2/users/{FakeX.USER['id']}/tweets"
    assert (
        requests.get(tweets, params={"max_results": 101}, headers=X_AUTH, timeout=5).status_code
        == 400
    )
    assert requests.get(tweets, timeout=5).status_code == 401
    other = requests.get(f"{fake_x.url}/2/users/12/tweets", headers=X_AUTH, timeout=5).json()
    assert other["errors"][0]["title"] == "Not Found Error" and "data" not in other


def test_statuspage_knows_its_page_components_and_refuses_others() -> None:
    with FakeStatuspage(components={"ftgks51sfs2d": "Checkout", "r8t2vz6c0wqe": "Search"}) as sp:
        base, auth = sp.url + "/v1/pages/pg1kx", {"Authorization": "OAuth k"}
        listed = requests.get(f"{base}/components", headers=auth, timeout=5).json()
        assert [(c["id"], c["name"], c["status"], c["page_id"]) for c in listed] == [
            ("ftgks51sfs2d", "Checkout", "operational", "pg1kx"),
            ("r8t2vz6c0wqe", "Search", "operational", "pg1kx"),
        ]

        unknown = requests.post(
            f"{base}/incidents",
            headers=auth,
            timeout=5,
            json={
                "incident": {
                    "name": "n",
                    "component_ids": ["ftgks51sfs2d", "zzzzzzzzzzzz"],
                    "components": {"ftgks51sfs2d": "major_outage", "zzzzzzzzzzzz": "major_outage"},
                }
            },
        )
        assert unknown.status_code == 422
        assert unknown.json() == {"message": "Components not found on this page: zzzzzzzzzzzz"}
        assert sp.incidents == {} and set(sp.component_statuses().values()) == {"operational"}

        made = requests.post(
            f"{base}/incidents",
            headers=auth,
            timeout=5,
            json={
                "incident": {
                    "name": "n",
                    "component_ids": ["ftgks51sfs2d"],
                    "components": {"ftgks51sfs2d": "major_outage"},
                }
            },
        ).json()
        assert made["components"] == [
            {"id": "ftgks51sfs2d", "status": "major_outage", "name": "Checkout"}
        ]
        assert sp.component_statuses() == {
            "ftgks51sfs2d": "major_outage",
            "r8t2vz6c0wqe": "operational",
        }
        requests.patch(
            f"{base}/incidents/{made['id']}",
            headers=auth,
            timeout=5,
            json={
                "incident": {"status": "resolved", "components": {"ftgks51sfs2d": "operational"}}
            },
        )
        one = requests.get(f"{base}/components/ftgks51sfs2d", headers=auth, timeout=5).json()
        assert one["status"] == "operational"
        assert (
            requests.get(f"{base}/components/zzzzzzzzzzzz", headers=auth, timeout=5).status_code
            == 404
        )


def test_statuspage_refuses_a_component_status_it_does_not_have(
    fake_statuspage: FakeStatuspage,
) -> None:
    answer = requests.post(
        fake_statuspage.url + "/v1/pages/p/incidents",
        timeout=5,
        headers={"Authorization": "OAuth k"},
        json={"incident": {"name": "n", "components": {"ftgks51sfs2d": "down"}}},
    )
    assert answer.status_code == 422
    assert answer.json()["message"] == "Component status is not included in the list: down"
