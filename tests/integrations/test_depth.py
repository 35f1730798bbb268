"""Nesting limits (#15 finding 8): measured without recursion, refused with a sentence."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from integrations import depth

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='[]{}"\\ab', max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=20,
)


@given(json_values)
def test_the_text_scan_agrees_with_the_decoded_depth(value):
    # Brackets and escaped quotes inside strings do not count.
    assert depth.json_text_depth(json.dumps(value)) == depth.value_depth(value)


def test_far_too_deep_values_are_refused_not_recursed():
    text = "[" * 100_000 + "]" * 100_000
    with pytest.raises(depth.TooDeep, match="more than 64 levels"):
        depth.loads(text)
    nested: list = []
    for _ in range(100_000):
        nested = [nested]
    with pytest.raises(depth.TooDeep):
        depth.check_value(nested)


def test_values_at_the_limit_pass():
    assert depth.loads("[" * 64 + "]" * 64) is not None
    assert depth.check_value({"a": {"b": [1]}}) == {"a": {"b": [1]}}
