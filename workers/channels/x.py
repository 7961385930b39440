"""Post one update to X (apis.md §4) with tweepy's v2 Client and OAuth 1.0a user context, and
find a post whose answer was lost among the account's recent posts.

tweepy 4.17 hard-codes `https://api.twitter.com` inside `BaseClient.request` and passes no
timeout to `session.request`; its session is replaced by one that rewrites the host to
`api_url` (so tests and `api.x.com` work) and always sets a timeout. OAuth 1.0a signs the
rewritten URL, because requests applies the auth after our `request` override runs.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import requests
import tweepy

if TYPE_CHECKING:
    from app.messages.render import Rendered

from app.logs import log
from app.messages import limits
from app.messages.context import MessageEvent
from app.ruleset import RuleSet
from app.settings import Settings
from workers.channels._http import (
    DEFAULT_TIMEOUT,
    Timeout,
    TimeoutSession,
    per_process,
    redact,
    requests_error,
    status_error,
)
from workers.channels.base import (
    BaseNotifier,
    Channel,
    DeliveryError,
    FailureReason,
    Field,
    Occasion,
    OutboundMessage,
    Receipt,
    configured,
    new_message,
)

CHANNEL = Channel.X
E = MessageEvent
logger = logging.getLogger("klaxon.jobs")
LOST_POST = {  # what an X post whose id stays unknown costs the thread
    "post": "its id is unknown, so the next update starts a new post instead of replying",
    "reply": "its id is unknown, so the next update replies to the post before it",
}
DEFAULT_API_URL = "https://api.twitter.com"
TWEEPY_HOST = "https://api.twitter.com"  # tweepy/client.py BaseClient.request, 4.17.0
DUPLICATE_DETAIL = "duplicate content"  # 403 detail: "...create a Tweet with duplicate content."
DUPLICATE_CODE = 187  # v1.1-style {"errors": [{"code": 187}]}
# One page of the account's timeline: a lost answer is minutes old, and X bills reads per post.
RECENT_POSTS = 20  # X allows 5-100
LOOKUP_FIELDS = ["entities", "referenced_tweets"]  # t.co links' originals; what a post replies to
X_ESCAPES = (("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&"))  # X escapes these three in `text`


@dataclass(frozen=True, slots=True)
class XCredentials:
    """OAuth 1.0a user-context keys of the posting account."""

    api_key: str = field(repr=False)  # consumer key
    api_secret: str = field(repr=False)
    access_token: str = field(repr=False)
    access_token_secret: str = field(repr=False)
    api_url: str = DEFAULT_API_URL
    timeout: Timeout = DEFAULT_TIMEOUT

    @classmethod
    def from_outbound(cls, outbound: Mapping[str, str]) -> XCredentials:
        """From Settings.outbound (X_API_KEY, X_API_SECRET, X_ACCESS_TOKEN,
        X_ACCESS_TOKEN_SECRET, X_API_URL)."""
        return cls(
            outbound["X_API_KEY"],
            outbound["X_API_SECRET"],
            outbound["X_ACCESS_TOKEN"],
            outbound["X_ACCESS_TOKEN_SECRET"],
            (outbound.get("X_API_URL") or DEFAULT_API_URL).rstrip("/"),
        )

    def secrets(self) -> tuple[str, ...]:
        return (self.api_key, self.api_secret, self.access_token, self.access_token_secret)


class _HostSession(TimeoutSession):
    """tweepy's session: sends what tweepy addresses to api.twitter.com to `api_url`."""

    def __init__(self, api_url: str, timeout: Timeout) -> None:
        super().__init__(timeout)
        self.api_url = api_url.rstrip("/")
        self.trust_env = False

    def request(
        self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any
    ) -> requests.Response:
        if isinstance(url, str) and url.startswith(TWEEPY_HOST + "/"):
            url = self.api_url + url.removeprefix(TWEEPY_HOST)
        return super().request(method, url, *args, **kwargs)


def send(message: OutboundMessage, credentials: XCredentials) -> Receipt:
    """Post `body.text` (a reply when `body.reply.in_reply_to_tweet_id` is set); vendor_id is
    the new post's id, which the next update replies to.

    Raises:
        DeliveryError: not posted; DUPLICATE means X already has this exact text.
    """
    text, reply_to = _text_and_reply(message)
    client = _client(credentials)  # the process's client for these keys (keep-alive)
    try:
        response = client.create_tweet(text=text, in_reply_to_tweet_id=reply_to, user_auth=True)
    except tweepy.HTTPException as exc:
        # tweepy's text quotes the vendor's body unredacted, and a chained cause lands in RQ's
        # stored traceback; the DeliveryError keeps the status and the redacted body.
        raise _http_error(exc, credentials) from None
    except requests.RequestException as exc:
        raise requests_error(CHANNEL, exc, secrets=credentials.secrets()) from exc
    data = response.data or {}
    return Receipt(
        CHANNEL, vendor_id=str(data.get("id", "")), detail={"in_reply_to": reply_to or ""}
    )


def already_made(message: OutboundMessage, credentials: XCredentials) -> Receipt | None:
    """The post an earlier attempt of `message` made, if X has it: how a post whose answer was
    lost (a worker killed after the call, a dropped connection) is found, since X refuses the
    same text again without saying which post has it.

    Raises:
        DeliveryError: the account's recent posts could not be read.
    """
    text, reply_to = _text_and_reply(message)
    post_id = find_post(text, reply_to, credentials)
    if post_id is None:
        return None
    return Receipt(
        CHANNEL,
        vendor_id=post_id,
        detail={
            "in_reply_to": reply_to or "",
            "note": "found among the account's recent posts; the answer to posting it was lost",
        },
    )


def find_post(text: str, in_reply_to: str | None, credentials: XCredentials) -> str | None:
    """The id of the newest of the account's RECENT_POSTS latest posts that says exactly `text`
    and replies to `in_reply_to` (to nothing when None), if any.

    Raises:
        DeliveryError: X did not answer both reads with what they promise.
    """
    client = _client(credentials, return_type=dict)  # plain JSON: nothing for tweepy to parse
    try:
        me = client.get_me(user_auth=True)
        timeline = client.get_users_tweets(
            _user_id(me),
            max_results=RECENT_POSTS,
            exclude=["retweets"],
            tweet_fields=LOOKUP_FIELDS,
            user_auth=True,
        )  # replies stay in: updates are replies
    except tweepy.HTTPException as exc:
        raise _http_error(exc, credentials) from None
    except requests.JSONDecodeError as exc:  # a 2xx that is not JSON: X is not itself
        raise DeliveryError(
            CHANNEL, FailureReason.SERVER_ERROR, f"X's answer was not JSON: {exc.msg}"
        ) from None
    except requests.RequestException as exc:
        raise requests_error(CHANNEL, exc, secrets=credentials.secrets()) from exc
    wanted = unicodedata.normalize("NFC", text)
    for post in _posts(timeline):
        if _replied_to(post) == in_reply_to and _as_sent(post) == wanted:
            return str(post["id"])
    return None


def _user_id(answer: Any) -> str:
    data = answer.get("data") if isinstance(answer, dict) else None
    user_id = data.get("id") if isinstance(data, dict) else None
    if not isinstance(user_id, str) or not user_id.isdigit():
        raise DeliveryError(
            CHANNEL, FailureReason.SERVER_ERROR, "X's answer to GET /2/users/me named no user id"
        )
    return user_id


def _posts(answer: Any) -> list[dict[str, Any]]:
    """The posts of a timeline page; an empty page has no `data` at all."""
    data = answer.get("data") if isinstance(answer, dict) else None
    if not isinstance(data, list):
        return []
    return [post for post in data if isinstance(post, dict) and post.get("id")]


def _as_sent(post: dict[str, Any]) -> str:
    """A post's text as Klaxon sent it: X gives it back with &, < and > escaped and each link
    replaced by a t.co link whose original is in entities.urls."""
    text = str(post.get("text") or "")
    for escaped, plain in X_ESCAPES:
        text = text.replace(escaped, plain)
    entities = post.get("entities")
    links = entities.get("urls") if isinstance(entities, dict) else None
    for link in links if isinstance(links, list) else []:
        if isinstance(link, dict) and link.get("url") and link.get("expanded_url"):
            text = text.replace(str(link["url"]), str(link["expanded_url"]), 1)
    return unicodedata.normalize("NFC", text)


def _replied_to(post: dict[str, Any]) -> str | None:
    references = post.get("referenced_tweets")
    for reference in references if isinstance(references, list) else []:
        if isinstance(reference, dict) and reference.get("type") == "replied_to":
            return str(reference.get("id"))
    return None


def _text_and_reply(message: OutboundMessage) -> tuple[str, str | None]:
    text = message.body.get("text")
    if not isinstance(text, str) or not text:
        raise DeliveryError(CHANNEL, FailureReason.CLIENT_ERROR, "body.text is empty")
    reply_to = (message.body.get("reply") or {}).get("in_reply_to_tweet_id") or message.target.get(
        "x_in_reply_to"
    )
    if message.action == "reply" and not reply_to:
        raise DeliveryError(
            CHANNEL, FailureReason.CLIENT_ERROR, "reply needs body.reply.in_reply_to_tweet_id"
        )
    if message.action not in ("post", "reply"):
        raise DeliveryError(
            CHANNEL,
            FailureReason.CLIENT_ERROR,
            f"unknown action {message.action!r}; expected post or reply",
        )
    return text, (str(reply_to) if reply_to else None)


def warm_up(credentials: XCredentials) -> None:
    """Build the clients now (no connection is made), as the first call would."""
    _client(credentials)
    _client(credentials, return_type=dict)


def _close_client(client: tweepy.Client) -> None:
    client.session.close()


@per_process(maxsize=8, close=_close_client)
def _client(credentials: XCredentials, return_type: Any = tweepy.Response) -> tweepy.Client:
    """One tweepy client per posting account (and answer type) and process: tweepy keeps no
    state between calls but its session and OAuth 1.0a signer, both bound to these keys."""
    client = tweepy.Client(
        consumer_key=credentials.api_key,
        consumer_secret=credentials.api_secret,
        access_token=credentials.access_token,
        access_token_secret=credentials.access_token_secret,
        return_type=return_type,
        wait_on_rate_limit=False,
    )  # never sleep inside a job (apis.md §4.4)
    client.session.close()
    client.session = _HostSession(credentials.api_url, credentials.timeout)
    return client


def _http_error(exc: tweepy.HTTPException, credentials: XCredentials) -> DeliveryError:
    response = exc.response
    if response.status_code == 403 and _is_duplicate(exc):
        return DeliveryError(
            CHANNEL,
            FailureReason.DUPLICATE,
            redact(response.text, credentials.secrets()),
            status=403,
        )
    error = status_error(
        CHANNEL,
        response.status_code,
        response.headers,
        response.text,
        secrets=credentials.secrets(),
    )
    assert error is not None  # tweepy raises only for non-2xx answers
    return error


def _is_duplicate(exc: tweepy.HTTPException) -> bool:
    return DUPLICATE_CODE in exc.api_codes or any(
        DUPLICATE_DETAIL in str(m).lower() for m in exc.api_messages
    )


class X(BaseNotifier):
    """A thread on the company's X account: a post when the policy says so, a reply for every
    later public event, so followers read the incident in one place."""

    name = CHANNEL
    public = True
    fields = (
        Field(
            "post",
            "txt",
            limits.X_MAX_WEIGHTED,
            fit=limits.fit_x,
            measure=limits.x_weighted_length,
            unit="weighted characters",
        ),
    )
    silent = frozenset({E.ACKNOWLEDGED, E.ESCALATED, E.REMINDER})
    required_env = ("X_API_KEY", "X_API_SECRET", "X_ACCESS_TOKEN", "X_ACCESS_TOKEN_SECRET")
    state_fields = ("x_last_id", "x_root_id")
    # X recognises a repeat, and a lost post is found, only by the exact text, and a retry a
    # minute later renders another one.
    repeat_by_text = True

    def credentials(self, settings: Settings, ruleset: RuleSet) -> XCredentials | None:
        if not configured(settings, self.required_env):
            return None
        return XCredentials.from_outbound(settings.outbound)

    def wants(self, occasion: Occasion, state: Mapping[str, str]) -> bool:
        return bool(occasion.ctx.policy["x_post"] or state.get("x_last_id"))

    def build(
        self, occasion: Occasion, rendered: Rendered | None, state: Mapping[str, str]
    ) -> list[OutboundMessage]:
        if rendered is None:
            return []
        last = state.get("x_last_id")
        if not last:
            if occasion.ctx.incident["status"] == "resolved":
                return []
            return [new_message(CHANNEL, "post", occasion, {"text": rendered["post"]})]
        body = {"text": rendered["post"], "reply": {"in_reply_to_tweet_id": last}}
        return [new_message(CHANNEL, "reply", occasion, body)]

    def send(self, message: OutboundMessage, credentials: XCredentials) -> Receipt:
        return send(message, credentials)

    def already_made(self, message: OutboundMessage, credentials: XCredentials) -> Receipt | None:
        try:
            return already_made(message, credentials)
        except DeliveryError as error:
            # Posting blind cannot post twice (X refuses the same text), and if X refuses it,
            # `duplicate` looks again.
            log(
                logger,
                "could not look for a lost X post",
                logging.WARNING,
                incident=message.incident_id,
                key=message.idempotency_key,
                error=str(error),
            )
            return None

    def duplicate(
        self, message: OutboundMessage, credentials: XCredentials, error: DeliveryError
    ) -> Receipt:
        """An earlier attempt made the post and its answer was lost. Find it, so the next
        update replies to it; failing that, count it as posted, as X says, and say in the
        receipt (and so on the timeline) what the thread loses."""
        try:
            found = already_made(message, credentials)
            why = "none of the account's recent posts has it"
        except DeliveryError as lookup:
            found, why = None, f"looking it up failed ({lookup})"
        return found or Receipt(
            CHANNEL,
            vendor_id="duplicate",
            detail={"note": f"X already had this text but {why}: {LOST_POST[message.action]}"},
        )

    def state_changes(self, message: OutboundMessage, receipt: Receipt) -> dict[str, str]:
        if receipt.vendor_id == "duplicate":  # X had it already: the post id is unknown
            return {}
        if message.action == "post":
            return {"x_last_id": receipt.vendor_id, "x_root_id": receipt.vendor_id}
        return {"x_last_id": receipt.vendor_id} if message.action == "reply" else {}

    def warm_up(self, credentials: XCredentials) -> None:
        warm_up(credentials)


NOTIFIER = X()
