"""X weighted length against twitter-text-parser (the oracle, test-only), plus fitting and
plain truncation.

Known divergences, which is why the generator below is restricted:
- Emoji data: the oracle's emoji list is Unicode Emoji 12.0 (2019); we count any well-formed
  sequence (UTS #51 grammar) as one, so newer sequences such as ❤️‍🔥 (13.1) count 2 for us and
  7 for the oracle, and odd pairs such as ☀🏽 count 2 for us and 4 for the oracle. The generator
  draws emoji only from whole Emoji ≤ 12.0 sequences, and keeps symbols (So), variation
  selectors, joiners, enclosing marks and regional indicators out of the free text.
- Bare domains: the oracle knows every IANA TLD; we know every ASCII country code plus common
  generic TLDs, so "example.photography" is 23 for the oracle and 19 for us. The free text
  has no dots, colons or slashes; URLs come as whole, space-separated tokens on known TLDs.
"""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from app.messages.limits import (
    ELLIPSIS,
    X_DEFAULT_WEIGHT,
    X_MAX_WEIGHTED,
    X_URL_WEIGHT,
    DoesNotFit,
    fit_x,
    pieces,
    truncate,
    x_weighted_length,
)

twitter_text = pytest.importorskip("twitter_text")  # the oracle; in the test extra

EMOJI = [
    "😷",
    "🚨",
    "✅",
    "⚠️",
    "⚠",
    "❤",
    "❤️",
    "©",
    "®",
    "©️",
    "™️",
    "‼️",
    "👍🏽",
    "🙋🏿‍♀️",
    "👨‍👩‍👧‍👦",
    "👩‍💻",
    "🏳️‍🌈",
    "🇺🇸",
    "🇯🇵",
    "🇬🇧",
    "🏴󠁧󠁢󠁳󠁣󠁴󠁿",
    "1️⃣",
    "#️⃣",
    "*️⃣",
    "👩🏽‍🔬",
    "👁️‍🗨️",
    "🔥",
    "🟢",
    "🛑",
    "⏱️",
    "☕",
]
URLS = [
    "https://status.example.com/incidents/01HX9",
    "http://example.org",
    "https://checkout.shop.example.co.uk/a/b_c-d?x=1&y=2",
    "example.com",
    "https://docs.klaxon.dev/runbooks/checkout#latency",
    "status.example.io/p/abc",
]
# Scripts and ranges that stress the weights: Latin, Greek, Cyrillic, Hebrew, Arabic,
# Devanagari, Thai, Georgian (inside U+0000–U+10FF), Hangul, CJK, kana (outside), the general
# punctuation block with its light and heavy parts, and combining marks (NFC).
SCRIPTS = st.characters(
    min_codepoint=0x20,
    max_codepoint=0x10FFFF,
    blacklist_categories=("Cs", "Co", "Cn", "Cc", "Cf", "So", "Sk", "Me", "Zl", "Zp"),
    blacklist_characters=".:/@#$＠＃。．｡\ufe0e\ufe0f\u20e3",
)
LIGHT_EDGES = st.sampled_from(
    [
        "\u2000",
        "\u200a",
        "\u200b",
        "\u200c",
        "\u2010",
        "\u201c",
        "\u201f",
        "\u2020",
        "\u2026",
        "\u2032",
        "\u2037",
        "\u2038",
        "\u10ff",
        "\u1100",
        "e\u0301",
        "\n",
        "\r\n",
        "\t",
    ]
)
WORD = st.lists(st.one_of(SCRIPTS, LIGHT_EDGES), min_size=1, max_size=12).map("".join)
TOKEN = st.one_of(
    WORD,
    WORD,
    st.sampled_from(EMOJI),
    st.sampled_from(URLS),
    st.lists(st.sampled_from(EMOJI), min_size=2, max_size=4).map("".join),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(TOKEN, max_size=30).map(" ".join))
def test_weighted_length_matches_twitter_text(text: str) -> None:
    assert x_weighted_length(text) == twitter_text.parse_tweet(text).weightedLength


@pytest.mark.parametrize(
    "text, expected",
    [
        ("a" * 280, 280),
        ("日" * 141, 282),
        ("😷" * 140, 280),
        ("👨‍👩‍👧", 2),
        ("https://example.com/" + "a" * 100, 23),
        ("café", 4),
        ("cafe\u0301", 4),
        ("🇺🇸🇬🇧", 4),
        ("1\ufe0f\u20e3", 2),
        ("©", 2),
        ("see status.example.com now", 31),
        ("\u2013 \u2033 \u2038", 6),  # en dash and double prime are light; caret (U+2038) is not
    ],
)
def test_weighted_length_known_values(text: str, expected: int) -> None:
    assert x_weighted_length(text) == expected
    assert twitter_text.parse_tweet(text).weightedLength == expected


def test_newer_emoji_sequence_counts_once_unlike_the_emoji_12_oracle() -> None:
    assert x_weighted_length("❤️‍🔥") == 2


def test_fit_x_leaves_short_posts_alone() -> None:
    assert fit_x("All good https://status.example.com") == "All good https://status.example.com"


def test_fit_x_cuts_prose_at_a_word_and_keeps_the_url_whole() -> None:
    url = "https://status.example.com/incidents/01HX9" + "x" * 60
    text = "Checkout is failing for some customers. " * 10 + url + " Next update 10:30 UTC."
    fitted = fit_x(text)
    assert x_weighted_length(fitted) <= X_MAX_WEIGHTED
    assert twitter_text.parse_tweet(fitted).valid
    assert url in fitted and fitted.endswith(" Next update 10:30 UTC.")
    prose = fitted.split(url)[0]
    assert prose.endswith(f"{ELLIPSIS} ") and prose[-3].isalpha()  # a whole word, then "…"


@settings(max_examples=150, deadline=None)
@given(st.lists(TOKEN, min_size=1, max_size=80).map(" ".join))
def test_fit_x_always_fits_when_urls_leave_room(text: str) -> None:
    # URLs are never cut and must stay apart: they need 23 each plus a space between them,
    # and the cut prose its ellipsis. Beyond that fit_x must say DoesNotFit (tested below).
    urls = sum(1 for piece in pieces(text) if piece.is_url)
    assume(urls * X_URL_WEIGHT + max(urls - 1, 0) + 2 * X_DEFAULT_WEIGHT <= X_MAX_WEIGHTED)
    fitted = fit_x(text)
    assert x_weighted_length(fitted) <= X_MAX_WEIGHTED
    assert twitter_text.parse_tweet(fitted).weightedLength <= X_MAX_WEIGHTED


def test_fit_x_never_cuts_a_url_and_says_so() -> None:
    with pytest.raises(DoesNotFit):
        fit_x(" ".join(["https://example.com/a"] * 13))  # 13 × 23 + 12 spaces > 280


@pytest.mark.parametrize(
    "text, limit, expected",
    [
        ("short", 10, "short"),
        ("exactly ten", 11, "exactly ten"),
        ("checkout latency is high on every region", 20, "checkout latency is…"),
        ("x" * 50, 10, "x" * 9 + ELLIPSIS),
    ],
)
def test_truncate(text: str, limit: int, expected: str) -> None:
    assert truncate(text, limit) == expected
    assert len(truncate(text, limit)) <= limit
