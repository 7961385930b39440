"""Outside text made safe to keep and to show: pure functions, no IO.

`clean()` is applied where text enters Klaxon (the sources' field readers, the API and the
forms): it removes what no page, feed or vendor API should ever receive -- C0 controls but
tab, newline and carriage return; DEL; C1 controls; U+FFFE and U+FFFF; lone surrogates. These
are exactly the characters XML 1.0 forbids (plus DEL and C1, which are legal but never meant),
so text that went through it can always go into the Atom feed.

`plain()` is applied to what a public channel (Statuspage, X) receives: clean text with HTML
tags removed and links to anything but http(s) reduced to their words, so markup a responder
typed (`<script>`, `[click](javascript:...)`) reaches the public as plain words.
"""

from __future__ import annotations

import re
from typing import Any

# XML 1.0 Char excludes C0 but \t \n \r, surrogates, U+FFFE, U+FFFF; DEL and C1 go too.
_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
# A tag, a comment or a declaration: `<` then a letter, `/`, `!` or `?`, up to the next `>`
# (or the end: a tag cut by truncation is still a tag). "a < b" and "<3" stay.
_TAG = re.compile(r"<[A-Za-z/!?][^>]*(?:>|$)")
_TAG_START = re.compile(r"<(?=[A-Za-z/!?])")
# Markdown links and images: [words](target) and ![words](target).
_MARKDOWN_LINK = re.compile(
    r"!?\[([^\]\n]{0,300})\]\(\s*([^()\s]{0,2048}(?:\([^()\s]{0,512}\)[^()\s]{0,512})?)\s*\)"
)  # bounded: no quadratic backtracking on a 16,000-character message
# A scheme that runs code or smuggles content, wherever it stands (also bare, for autolinkers,
# and glued to a word: "seejavascript:" is still a link to some autolinkers).
# `data:` and `file:` only in URL shape: "Customer data: unaffected" is prose.
_UNSAFE_SCHEME = re.compile(
    r"(?i)(?:(?:javascript|vbscript)\s*:|data:(?=[a-z]+/[a-z0-9.+-]+[;,])|file:(?=/))"
)
_SAFE_LINK = re.compile(r"(?i)^(?:https?://|mailto:)")


def clean(text: str) -> str:
    """`text` without control and XML-invalid characters (see the module docstring)."""
    if _INVALID.search(text) is None:  # the common case: no copy
        return text
    return _INVALID.sub("", text)


def plain(text: str) -> str:
    """Clean text without markup, for a public channel."""
    text = clean(text)
    text = _TAG.sub("", text)
    # "<<b>script>" is "<script>" once "<b>" is gone: a "<" that now starts a tag gets a
    # space, which no HTML parser reads as one (one pass, not a loop a nesting could stretch).
    text = _TAG_START.sub("< ", text)
    text = _MARKDOWN_LINK.sub(_link_or_words, text)
    return _UNSAFE_SCHEME.sub(_defuse, text)


def _link_or_words(match: re.Match[str]) -> str:
    words, target = match.group(1), match.group(2)
    image = match.group(0).startswith("!")  # an image loads from its target unasked
    return match.group(0) if _SAFE_LINK.match(target) and not image else words


def _defuse(match: re.Match[str]) -> str:
    """`javascript:` becomes `javascript -`: still readable, never a link target."""
    return match.group(0).rstrip(":").rstrip() + " -"


# In a JSON body: an escape or a raw byte that can decode to a character clean() removes.
# Backspace and form feed have short escapes (\b, \f). Tab, newline and CR (\u0009 ...) and
# an escaped backslash before b or f match too: they only cost a walk.
_SUSPECT_JSON = re.compile(
    rb"\\[bf]|\\u00[01789][0-9a-fA-F]|\\u[dD][89a-fA-F]|\\u[fF]{3}[eEfF]"
    rb"|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|\xc2[\x80-\x9f]|\xef\xbf[\xbe\xbf]"
)


def may_need_cleaning(body: bytes) -> bool:
    """False when no string decoded from this JSON body can hold a character clean() removes:
    the common case, where the decoded payload is used as it is."""
    return _SUSPECT_JSON.search(body) is not None


def clean_json(value: Any) -> Any:
    """A decoded JSON document with every string (keys too) clean()ed, in place where it is a
    container. Iterative: a document nested as deep as the decoder allows is no RecursionError."""
    if isinstance(value, str):
        return clean(value)
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key in list(node):
                item = node[key]
                if isinstance(key, str) and clean(key) != key:
                    del node[key]
                    key = clean(key)
                node[key] = clean(item) if isinstance(item, str) else item
                if isinstance(item, (dict, list)):
                    stack.append(item)
        elif isinstance(node, list):
            for index, item in enumerate(node):
                if isinstance(item, str):
                    node[index] = clean(item)
                elif isinstance(item, (dict, list)):
                    stack.append(item)
    return value
