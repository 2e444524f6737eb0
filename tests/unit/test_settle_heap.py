"""After start-up, `threadline run` takes what exists out of the garbage collector's sight."""

from __future__ import annotations

import gc

from bot.app import settle_heap


class StartUp:
    """Something made at start-up that lives as long as the process."""


def test_settle_heap_leaves_start_up_objects_out_of_collections() -> None:
    made = StartUp()
    try:
        settle_heap()
        assert gc.get_freeze_count() > 0
        # No generation holds it any more, so no collection walks it again.
        assert not any(o is made for gen in range(3) for o in gc.get_objects(gen))
    finally:
        gc.unfreeze()  # the test process goes on collecting as before
    assert any(o is made for o in gc.get_objects(2))
