"""Modals (a stack per person) and Home tabs."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable

from .errors import SlackError
from .model import JsonDict, View

MAX_STACK = 3


def new_hash() -> str:
    """A view hash like Slack's `1596530361.3wRYuk3R`; it changes on every update."""
    return f"{int(time.time())}.{secrets.token_hex(4)}"


class ViewStore:
    """Open modals per user (root first) and the Home tab each user sees."""

    def __init__(self, team_id: str, app_id: str, bot_id: str, new_id: Callable[[str], str]):
        self._team_id = team_id
        self._app_id = app_id
        self._bot_id = bot_id
        self._new_id = new_id
        self.modals: dict[str, list[View]] = {}
        self.homes: dict[str, View] = {}
        self.by_id: dict[str, View] = {}

    def _make(self, user: str, spec: JsonDict, root: str | None, previous: str | None) -> View:
        view_id = self._new_id("V")
        view = View(
            view_id,
            self._team_id,
            user,
            str(spec.get("type", "modal")),
            spec,
            new_hash(),
            self._app_id,
            self._bot_id,
            root or view_id,
            previous,
        )
        self.by_id[view_id] = view
        return view

    def top(self, user: str) -> View | None:
        """The modal `user` is looking at, if any."""
        stack = self.modals.get(user)
        return stack[-1] if stack else None

    def open(self, user: str, spec: JsonDict) -> View:
        """views.open: a new root modal (it replaces whatever the user had open)."""
        for old in self.modals.pop(user, []):
            self.by_id.pop(old.id, None)
        view = self._make(user, spec, None, None)
        self.modals[user] = [view]
        return view

    def push(self, user: str, spec: JsonDict) -> View:
        """views.push: stack a modal on the open one (at most 3 deep)."""
        stack = self.modals.get(user)
        if not stack:
            raise SlackError("not_found")
        if len(stack) >= MAX_STACK:
            raise SlackError("push_limit_reached")
        view = self._make(user, spec, stack[0].id, stack[-1].id)
        stack.append(view)
        return view

    def find(self, view_id: str | None, external_id: str | None) -> View:
        """A view by id or by the app's `external_id`, or `not_found`."""
        if view_id:
            found = self.by_id.get(view_id)
            if found is not None:
                return found
        elif external_id:
            for view in self.by_id.values():
                if view.spec.get("external_id") == external_id:
                    return view
        raise SlackError("not_found")

    def update(self, view: View, spec: JsonDict, expected_hash: str | None) -> View:
        """views.update: replace the content in place (same id), after an optional hash check."""
        if expected_hash and expected_hash != view.hash:
            raise SlackError("hash_conflict")
        view.spec = spec
        view.type = str(spec.get("type", view.type))
        view.hash = new_hash()
        view.errors = {}
        view.state = {}
        return view

    def publish(self, user: str, spec: JsonDict, expected_hash: str | None) -> View:
        """views.publish: set the Home tab `user` sees."""
        current = self.homes.get(user)
        if current is not None:
            return self.update(current, spec, expected_hash)
        view = self._make(user, spec, None, None)
        self.homes[user] = view
        return view

    def close(self, user: str, *, everything: bool = False) -> list[View]:
        """Close the top modal (or the whole stack); returns the views closed."""
        stack = self.modals.get(user, [])
        closed = list(stack) if everything else stack[-1:]
        for view in closed:
            stack.remove(view)
            self.by_id.pop(view.id, None)
        if not stack:
            self.modals.pop(user, None)
        return closed
