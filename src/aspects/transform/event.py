"""Read values out of an Open edX event the way event-routing-backends (ERB) does.

ERB's output depends on two lookup rules, so we reproduce them exactly:

- a dotted key (``"data.mode"``) follows that path and gives ``None`` when any step is missing or
  is not a mapping;
- a plain key (``"session"``) is searched at every depth, the event's own keys first, then each
  nested object in order (depth first);

and in both cases an empty value (``""``, ``[]``, ``{}``, ``None``, but not ``0``/``False``)
counts as missing.
"""

from __future__ import annotations

from typing import Any

from aspects.transform.errors import MalformedEvent

# Deeper nesting is refused (as RecursionError, which the transformer reports as a malformed
# event). Compiled (mypyc) code recurses on the C stack without Python's recursion limit, so the
# bound is explicit: both builds then treat absurd events alike, and neither can overflow.
MAX_DEPTH = 256


def too_deep() -> RecursionError:
    return RecursionError(f"objects nested deeper than {MAX_DEPTH} levels")


def _find_nested(source: dict[str, Any], key: str, depth: int = 0) -> Any:
    if key in source:
        return source[key]
    if depth >= MAX_DEPTH:
        raise too_deep()
    for value in source.values():
        if type(value) is dict:
            found = _find_nested(value, key, depth + 1)
            if found is not None:
                return found
    return None


def _find(raw: dict[str, Any], key: str) -> Any:
    """:func:`_find_nested` from the event's top level, searching each nested object once.

    A logged event holds its payload twice (``event`` and ``data`` are the same object); a
    second search of the same object would find nothing the first did not, so it is skipped.
    """
    if key in raw:
        return raw[key]
    searched: list[dict[str, Any]] = []
    for value in raw.values():
        if type(value) is dict:
            for done in searched:
                if done is value:
                    break
            else:
                found = _find_nested(value, key)
                if found is not None:
                    return found
                searched.append(value)
    return None


def _find_many_nested(
    source: dict[str, Any], keys: list[str], found: dict[str, Any], depth: int
) -> None:
    """:func:`_find_nested` for several keys in one walk, recording the values it finds.

    Per key the outcome is that of its own search: a key present in ``source`` decides this
    subtree (a None there hides the key from the subtree's children, as in ERB); otherwise
    the children are searched in order until one gives a value.
    """
    active: list[str] = []
    for key in keys:
        if key in source:
            value = source[key]
            if value is not None:
                found[key] = value
        else:
            active.append(key)
    if not active:
        return
    if depth >= MAX_DEPTH:
        raise too_deep()
    for value in source.values():
        if type(value) is dict:
            _find_many_nested(value, active, found, depth + 1)
            active = [key for key in active if key not in found]
            if not active:
                return


def _find_many(raw: dict[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    """:func:`_find` for several keys in one walk of the event: key -> value (None: missing)."""
    found: dict[str, Any] = {}
    pending: list[str] = []
    for key in keys:
        if key in raw:
            found[key] = raw[key]
        else:
            pending.append(key)
    if pending:
        searched: list[dict[str, Any]] = []
        for value in raw.values():
            if type(value) is dict:
                for done in searched:
                    if done is value:
                        break
                else:
                    _find_many_nested(value, pending, found, 0)
                    pending = [key for key in pending if key not in found]
                    if not pending:
                        break
                    searched.append(value)
        for key in pending:
            found[key] = None
    return found


_PATHS: dict[str, tuple[str, ...]] = {}


def _empty(value: Any) -> bool:
    # ERB's test is ``value != 0 and not value``: 0, 0.0 and False are values, "" and {} are not.
    return value is None or (value != 0 and not value)


class Event:
    """A read-only view of one event with ERB's lookup semantics."""

    __slots__ = ("_found", "name", "raw")

    def __init__(self, raw: dict[str, Any], name: str) -> None:
        self.raw = raw
        self.name = name
        # results of searches at any depth: problem_check asks for the same keys per question
        self._found: dict[str, Any] = {}

    def get(self, key: str) -> Any:
        """The value at ``key`` (dotted path or key searched at any depth), None when empty."""
        parts = _PATHS.get(key)
        if parts is None:
            parts = _PATHS[key] = tuple(key.split("."))
        value: Any
        size = len(parts)
        if size == 2:  # the common "data.x" / "context.x": no loop
            outer, inner = parts
            value = self.raw.get(outer)
            if type(value) is not dict:
                return None
            value = value.get(inner)
        elif size == 1:
            found = self._found
            if key in found:
                value = found[key]
            else:
                value = found[key] = _find(self.raw, key)
        else:
            value = self.raw
            for part in parts:
                if type(value) is not dict:
                    return None
                value = value.get(part)
                if value is None:
                    return None
        if value is None or (not value and value != 0):
            return None
        return value

    def prefetch(self, keys: tuple[str, ...]) -> None:
        """Search several plain keys at once (one walk instead of one per key).

        For events that ask for many keys found deep down or not at all (problem_check): each
        later :meth:`get` of these keys answers from the result, which is the same.
        """
        wanted = tuple(key for key in keys if key not in self._found)
        if wanted:
            self._found.update(_find_many(self.raw, wanted))

    def need(self, key: str) -> Any:
        """Like :meth:`get`, but a missing value makes the event malformed."""
        value = self.get(key)
        if value is None:
            raise MalformedEvent(f"{self.name}: missing {key}")
        return value

    def need_str(self, key: str) -> str:
        value = self.need(key)
        if not isinstance(value, str):
            raise MalformedEvent(f"{self.name}: {key} must be a string, got {type(value).__name__}")
        return value

    def get_str(self, key: str) -> str | None:
        value = self.get(key)
        if value is None or isinstance(value, str):
            return value
        raise MalformedEvent(f"{self.name}: {key} must be a string, got {type(value).__name__}")

    def need_dict(self, key: str) -> dict[str, Any]:
        value = self.need(key)
        if not isinstance(value, dict):
            raise MalformedEvent(
                f"{self.name}: {key} must be an object, got {type(value).__name__}"
            )
        return value

    def get_number(self, key: str) -> float | int | None:
        value = self.get(key)
        if value is None:
            return None
        return number(self.name, key, value)


def number(name: str, key: str, value: Any) -> float | int:
    """A JSON number (bool excluded) or a numeric string; anything else is malformed."""
    if isinstance(value, bool):
        raise MalformedEvent(f"{name}: {key} must be a number, got a boolean")
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    raise MalformedEvent(f"{name}: {key} must be a number, got {value!r:.40}")
