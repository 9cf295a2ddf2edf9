"""The edge skips its walk of a parsed body when the text shows nothing the walk could refuse:
every body it skips must be one the walk would have passed."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import assume, given
from hypothesis import strategies as st

from api.edge import MAX_JSON_DEPTH, _check_tree, _may_need_checking

# Any text, NUL and lone surrogates included; containers nested past the depth allowed.
_TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=8)
_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | _TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
    max_leaves=40,
)


def _nested(value: Any, depth: int) -> Any:
    for _ in range(depth):
        value = [value]
    return value


@given(_VALUES, st.integers(0, MAX_JSON_DEPTH + 4), st.booleans())
def test_a_body_the_edge_does_not_walk_is_one_the_walk_passes(
    value: Any, depth: int, ascii_only: bool
) -> None:
    text = json.dumps(_nested(value, depth), ensure_ascii=ascii_only)
    try:
        text.encode("utf-8")  # a body is UTF-8: a raw lone surrogate cannot arrive
    except UnicodeEncodeError:
        assume(False)
    if not _may_need_checking(text):
        _check_tree(json.loads(text))  # raises if the skipped walk would have refused the body
