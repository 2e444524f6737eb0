"""The agent workspaces a deployment names are checked before anything is queued for them."""

from __future__ import annotations

import pytest

from bot.core.delivery import MAIN_WORKSPACE, workspace_names


def test_names_are_kept_in_order() -> None:
    assert workspace_names([MAIN_WORKSPACE, "staff"]) == (MAIN_WORKSPACE, "staff")


@pytest.mark.parametrize(
    ("names", "why"),
    [
        ([], "at least one"),
        (["main", "main"], "named twice"),
        ([""], "1 to 32"),
        (["x" * 33], "1 to 32"),
    ],
)
def test_a_list_that_would_drop_or_double_what_agents_are_told_is_refused(
    names: list[str], why: str
) -> None:
    with pytest.raises(ValueError, match=why):
        workspace_names(names)
