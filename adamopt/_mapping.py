"""The read-only mapping a result hands out (``res.state``, ``res.history``)."""

from collections.abc import Mapping


class ReadOnlyMapping(Mapping):
    """A read-only mapping over a dict of plain values and arrays: picklable,
    ``dict(m)`` gives a plain dict, and a subclass gives it a short repr so
    that printing a result does not print its arrays."""

    def __init__(self, data):
        self._data = dict(data)

    def __getitem__(self, key):
        return self._data[key]

    def __iter__(self):
        return iter(self._data)

    def __len__(self):
        return len(self._data)
