"""`run.config` and `run.summary`: dicts whose changes reach the server.

A change marks its key dirty; the sender thread sends the dirty keys in a
PATCH /api/v1/runs/{id} within a flush interval (the server merges them into
what it has). Deleting a key is local only: the server's merge cannot
express it. Values must be JSON-like (numbers, strings, lists, dicts);
others are sent as their str().

Thread-safety: mutate from one thread; `take_dirty` from the sender. A set's
add/discard and dict item assignment are atomic, and a key dirtied while
being sent is sent again.
"""

from __future__ import annotations

from collections.abc import MutableMapping


class SyncedDict(MutableMapping):
    def __init__(self, initial=None):
        self._data = dict(initial or {})
        self._dirty: set = set()

    def __getitem__(self, key):
        return self._data[key]

    def __setitem__(self, key, value) -> None:
        self._data[key] = value
        self._dirty.add(key)

    def __delitem__(self, key) -> None:
        del self._data[key]
        self._dirty.discard(key)

    def __iter__(self):
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return repr(self._data)

    def as_dict(self) -> dict:
        return dict(self._data)

    def take_dirty(self) -> dict:
        """The dirty keys with their values, now clean."""
        out = {}
        for key in list(self._dirty):
            self._dirty.discard(key)
            if key in self._data:
                out[key] = self._data[key]
        return out

    def mark_dirty(self, keys) -> None:
        for key in keys:
            if key in self._data:
                self._dirty.add(key)
