"""Packing stored event bodies into Commanders Act batches at the exact limits."""

from __future__ import annotations

import pytest

from integrations.commanders_act.payloads import (
    BATCH_LIMIT_BYTES,
    BATCH_OVERHEAD_BYTES,
    EVENT_LIMIT_BYTES,
    PayloadError,
    pack_encoded_batches,
)


def body(size: int) -> bytes:
    return b'{"p":"' + b"x" * (size - 8) + b'"}'


def batch_bytes(batch) -> int:
    return BATCH_OVERHEAD_BYTES + sum(len(b) for _, b in batch) + len(batch) - 1


def test_a_batch_filled_to_exactly_500_kb_is_one_request():
    # n events of size s with n-1 commas: pick sizes that land on the limit exactly.
    n = 16
    room = BATCH_LIMIT_BYTES - BATCH_OVERHEAD_BYTES - (n - 1)
    sizes = [room // n] * n
    sizes[-1] += room - sum(sizes)
    batches = list(pack_encoded_batches(enumerate(body(s) for s in sizes)))
    assert len(batches) == 1
    assert batch_bytes(batches[0]) == BATCH_LIMIT_BYTES


def test_one_byte_more_splits_and_order_is_kept():
    n = 16
    room = BATCH_LIMIT_BYTES - BATCH_OVERHEAD_BYTES - (n - 1) + 1
    sizes = [room // n] * n
    sizes[-1] += room - sum(sizes)
    batches = list(pack_encoded_batches(enumerate(body(s) for s in sizes)))
    assert [len(b) for b in batches] == [15, 1]
    assert [k for batch in batches for k, _ in batch] == list(range(n))
    assert all(batch_bytes(b) <= BATCH_LIMIT_BYTES for b in batches)


def test_an_event_of_exactly_32_kb_packs_and_one_byte_more_is_refused():
    assert len(list(pack_encoded_batches([("a", body(EVENT_LIMIT_BYTES))]))) == 1
    with pytest.raises(PayloadError):
        list(pack_encoded_batches([("a", body(EVENT_LIMIT_BYTES + 1))]))
