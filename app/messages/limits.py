"""Channel length limits and X's weighted length (twitter-text v3). Pure: no IO.

Sources are in /work/shared/reference/apis.md: §1.1 PagerDuty, §2.2 Opsgenie, §3 Statuspage,
§4.2 X (twitter/twitter-text config/v3.json and docs.x.com "counting characters").
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

PAGERDUTY_SUMMARY_MAX = 1024  # characters; payload.summary (apis.md §1.1)
PAGERDUTY_DEDUP_KEY_MAX = 255  # characters; dedup_key (apis.md §1.1)
OPSGENIE_MESSAGE_MAX = 130  # characters; message (apis.md §2.2)
OPSGENIE_DESCRIPTION_MAX = 15_000  # characters; description (apis.md §2.2)
OPSGENIE_TAGS_MAX = 20  # tags per alert (apis.md §2.2)
OPSGENIE_TAG_MAX = 50  # characters per tag (apis.md §2.2)
STATUSPAGE_NAME_MAX = 255  # characters; incident name (apis.md §3)
STATUSPAGE_BODY_MAX = 25_000  # characters; incident update body (apis.md §3)
X_MAX_WEIGHTED = 280  # weighted characters per post (apis.md §4.2, maxWeightedTweetLength)
X_URL_WEIGHT = 23  # every URL counts this much, whatever its length (transformedURLLength)
X_EMOJI_WEIGHT = 2  # one emoji sequence, however many code points (defaultWeight / scale)
X_DEFAULT_WEIGHT = 2  # any code point outside the ranges below
# Code points that count 1 (weight 100 of scale 100) in twitter-text v3; inclusive ranges.
X_LIGHT_RANGES = ((0x0000, 0x10FF), (0x2000, 0x200D), (0x2010, 0x201F), (0x2032, 0x2037))
ELLIPSIS = "…"
_TRAILING = " \n\t.,;:-–—"  # not worth keeping right before an ellipsis

# URLs: http(s) or bare, on a known top-level domain. twitter-text knows every IANA TLD; we
# know every ASCII country code and the generic TLDs incident text plausibly contains, so a
# bare domain on a rare gTLD ("example.photography") is undercounted (see tests/test_limits.py).
_GTLDS = (
    "com|net|org|io|dev|app|ai|cloud|info|biz|xyz|site|online|tech|page|status|news"
    "|blog|support|help|shop|store|edu|gov|mil|int|email|systems|services|solutions"
)
_CCTLDS = (
    "ac|ad|ae|af|ag|ai|al|am|an|ao|aq|ar|as|at|au|aw|ax|az|ba|bb|bd|be|bf|bg|bh|bi|bj|bl|bm|b"
    "n|bo|bq|br|bs|bt|bv|bw|by|bz|ca|cc|cd|cf|cg|ch|ci|ck|cl|cm|cn|co|cr|cu|cv|cw|cx|cy|cz|de"
    "|dj|dk|dm|do|dz|ec|ee|eg|eh|er|es|et|eu|fi|fj|fk|fm|fo|fr|ga|gb|gd|ge|gf|gg|gh|gi|gl|gm|"
    "gn|gp|gq|gr|gs|gt|gu|gw|gy|hk|hm|hn|hr|ht|hu|id|ie|il|im|in|io|iq|ir|is|it|je|jm|jo|jp|k"
    "e|kg|kh|ki|km|kn|kp|kr|kw|ky|kz|la|lb|lc|li|lk|lr|ls|lt|lu|lv|ly|ma|mc|md|me|mf|mg|mh|mk"
    "|ml|mm|mn|mo|mp|mq|mr|ms|mt|mu|mv|mw|mx|my|mz|na|nc|ne|nf|ng|ni|nl|no|np|nr|nu|nz|om|pa|"
    "pe|pf|pg|ph|pk|pl|pm|pn|pr|ps|pt|pw|py|qa|re|ro|rs|ru|rw|sa|sb|sc|sd|se|sg|sh|si|sj|sk|s"
    "l|sm|sn|so|sr|ss|st|su|sv|sx|sy|sz|tc|td|tf|tg|th|tj|tk|tl|tm|tn|to|tp|tr|tt|tv|tw|tz|ua"
    "|ug|uk|um|us|uy|uz|va|vc|ve|vg|vi|vn|vu|wf|ws|ye|yt|za|zm|zw"
)
_TLDS = f"{_GTLDS}|{_CCTLDS}"
_DOMAIN = rf"(?:[a-z0-9](?:[a-z0-9_-]*[a-z0-9])?\.)+(?:{_TLDS})(?![a-z0-9@+-])"
_PATH = r"/(?:[a-z0-9!*';:=+,.$/%#\[\]\-_~@|&]*[a-z0-9=_#/+-])?"
_QUERY = r"\?[a-z0-9!?*'();:&=+$/%#\[\]\-_.,~|@]*[a-z0-9_&=#/-]"
URL_RE = re.compile(
    rf"(?<![a-z0-9@＠$#＃./_-])(?:https?://)?{_DOMAIN}(?::\d+)?(?:{_PATH})?"
    rf"(?:{_QUERY})?",
    re.IGNORECASE,
)

# Emoji sequences (UTS #51): flags, keycaps, tag sequences, and a pictograph with optional
# presentation selector and skin tone, joined by ZWJ. Ranges cover Emoji 15 pictographs.
_PICTO = (
    "\u00a9\u00ae\u203c\u2049\u2122\u2139\u2194-\u2199\u21a9\u21aa\u231a\u231b\u2328"
    "\u23cf\u23e9-\u23f3\u23f8-\u23fa\u24c2\u25aa\u25ab\u25b6\u25c0\u25fb-\u25fe"
    "\u2600-\u27bf\u2934\u2935\u2b05-\u2b07\u2b1b\u2b1c\u2b50\u2b55\u3030\u303d\u3297"
    "\u3299\U0001f000-\U0001f1e5\U0001f200-\U0001f3fa\U0001f400-\U0001faff"
)
_ELEMENT = rf"[{_PICTO}]\ufe0f?[\U0001f3fb-\U0001f3ff]?"
EMOJI_RE = re.compile(
    r"[\U0001f1e6-\U0001f1ff]{2}"  # a flag is a pair of regional indicators
    r"|[0-9#*]\ufe0f?\u20e3"  # keycap
    r"|\U0001f3f4[\U000e0020-\U000e007e]+\U000e007f"  # subdivision flag (tag sequence)
    rf"|{_ELEMENT}(?:\u200d{_ELEMENT})*"
)


@dataclass(frozen=True, slots=True)
class Piece:
    """A run of text X weighs as one unit: a URL, an emoji sequence or one code point."""

    text: str
    weight: int
    is_url: bool = False


def normalise(text: str) -> str:
    """Text as X counts it: NFC, with CR and CRLF line endings as LF."""
    return re.sub(r"\r\n?", "\n", unicodedata.normalize("NFC", text))


def char_weight(char: str) -> int:
    point = ord(char)
    if any(low <= point <= high for low, high in X_LIGHT_RANGES):
        return 1
    return X_DEFAULT_WEIGHT


def pieces(text: str) -> list[Piece]:
    """The normalised text split into the units X weighs."""
    text = normalise(text)
    urls = {m.start(): m.end() for m in URL_RE.finditer(text)}
    found, at = [], 0
    while at < len(text):
        end = urls.get(at)
        if end is not None:
            found.append(Piece(text[at:end], X_URL_WEIGHT, True))
        elif emoji := EMOJI_RE.match(text, at):
            end = emoji.end()
            found.append(Piece(text[at:end], X_EMOJI_WEIGHT))
        else:
            end = at + 1
            found.append(Piece(text[at], char_weight(text[at])))
        at = end
    return found


def x_weighted_length(text: str) -> int:
    """Length of a post as X counts it (twitter-text v3 weightedLength)."""
    return sum(piece.weight for piece in pieces(text))


class DoesNotFit(ValueError):
    """The text cannot be made to fit without cutting something that must stay whole."""


def truncate(text: str, limit: int) -> str:
    """At most `limit` characters, ending with an ellipsis (at a word break when one is near)
    if anything was cut."""
    if len(text) <= limit:
        return text
    cut = limit - len(ELLIPSIS)
    return _cut_at_word(text[:cut], text[cut:]) + ELLIPSIS


def _cut_at_word(kept: str, dropped: str) -> str:
    """`kept` without a half word at its end, unless that throws away a lot (one long token)."""
    if dropped[:1].isspace():
        return kept.rstrip(_TRAILING)
    space = max(kept.rfind(" "), kept.rfind("\n"))
    if space > 0 and space >= len(kept) - 20:
        kept = kept[:space]
    return kept.rstrip(_TRAILING)


def fit_x(text: str, limit: int = X_MAX_WEIGHTED) -> str:
    """The post shortened to `limit` weighted characters: prose is cut (longest stretch first,
    ending in an ellipsis); URLs and emoji sequences are never split.

    Raises:
        DoesNotFit: the URLs and line structure alone exceed the limit."""
    parts = pieces(text)
    # Re-read the joined text each round: a cut can bring two URLs together, and X reads
    # what it is sent, not our pieces.
    while (weight := x_weighted_length("".join(p.text for p in parts))) > limit:
        parts = pieces(_join(_shorten_longest_prose(parts, weight - limit)))
    return "".join(piece.text for piece in parts)


def _join(parts: list[Piece]) -> str:
    return "".join(piece.text for piece in parts)


def _prose_runs(parts: list[Piece]) -> list[tuple[int, int]]:
    """(start, end) of each stretch of non-URL pieces, skipping bare whitespace."""
    runs, start = [], None
    for index, piece in enumerate(parts + [Piece("", 0, True)]):
        if piece.is_url or piece.text == "\n":
            if start is not None and "".join(p.text for p in parts[start:index]).strip():
                runs.append((start, index))
            start = None
        elif start is None:
            start = index
    return runs


def _shorten_longest_prose(parts: list[Piece], excess: int) -> list[Piece]:
    runs = _prose_runs(parts)
    if not runs:
        raise DoesNotFit(f"{excess} weighted characters too long and nothing left to cut")
    start, end = max(runs, key=lambda run: sum(p.weight for p in parts[run[0] : run[1]]))
    run = parts[start:end]
    # Room for the ellipsis (weight 2: U+2026 is outside the light ranges) and one space.
    kept = _keep_weight(run, sum(p.weight for p in run) - excess - X_DEFAULT_WEIGHT - 1)
    return parts[:start] + kept + parts[end:]


def _keep_weight(run: list[Piece], budget: int) -> list[Piece]:
    """The longest prefix of `run` within `budget`, cut back to a word and ended with '…';
    keeps the run's trailing space so the next URL stays separated."""
    prefix, used = [], 0
    for piece in run:
        if used + piece.weight > budget:
            break
        prefix.append(piece)
        used += piece.weight
    text = _cut_at_word(
        "".join(p.text for p in prefix), "".join(p.text for p in run[len(prefix) :])
    )
    cut = pieces(text + ELLIPSIS) if text.strip() else []
    tail = [run[-1]] if run[-1].text.isspace() and cut else []
    # A run cut away entirely still leaves a space, so the URLs on either side stay apart.
    return cut + tail if cut else [Piece(" ", char_weight(" "))]
