"""Properties of the pure parts: rate limiting, block limits, message timestamps."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from integrations.sandbox.slack import Rate, RateLimits, SlackError, demo_workspace
from integrations.sandbox.slack.blocks import parse_blocks
from integrations.sandbox.slack.workspace import Workspace


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@given(
    gaps=st.lists(st.floats(min_value=0.0, max_value=2.0), min_size=1, max_size=200),
    count=st.integers(min_value=1, max_value=5),
    burst=st.integers(min_value=1, max_value=5),
)
def test_token_bucket_never_allows_more_than_burst_plus_rate(
    gaps: list[float], count: int, burst: int
) -> None:
    clock = FakeClock()
    limits = RateLimits(enabled=True, clock=clock)
    limits.set_rate("users.info", Rate(count, 1.0, burst))
    allowed = 0
    for gap in gaps:
        clock.now += gap
        retry_after = limits.check("users.info")
        if retry_after is None:
            allowed += 1
        else:
            assert isinstance(retry_after, int)
            assert retry_after >= 1
        assert allowed <= burst + count * clock.now + 1e-9


@given(sizes=st.lists(st.integers(min_value=0, max_value=3100), min_size=1, max_size=60))
def test_block_limits(sizes: list[int]) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "a" * n}} for n in sizes]
    valid = len(blocks) <= 50 and all(n <= 3000 for n in sizes)
    if valid:
        assert parse_blocks(blocks) == blocks
    else:
        with pytest.raises(SlackError) as caught:
            parse_blocks(blocks)
        assert caught.value.code == "invalid_blocks"


def test_message_ts_are_unique_and_increasing() -> None:
    workspace = Workspace(demo_workspace())
    stamps = [workspace.next_ts() for _ in range(10_000)]
    assert len(set(stamps)) == len(stamps)
    values = [float(s) for s in stamps]
    assert values == sorted(values)
    assert all(len(s.split(".")[1]) == 6 for s in stamps)
