"""The project's one error hierarchy."""

from __future__ import annotations


class KBError(Exception):
    """Any knowledge-base problem the user can act on."""


class ManualError(KBError):
    """A manual (or curated YAML file) is not what the pipeline expects.

    ``str()`` is ``path:line: what was expected``.
    """

    def __init__(self, path: str, line: int, message: str) -> None:
        self.path = path
        self.line = line
        self.message = message
        super().__init__(f"{path}:{line}: {message}")


class CuratedError(ManualError):
    """A curated YAML record has the wrong shape."""


class ObservationError(KBError):
    """An observation cannot be understood (e.g. an unknown error-code format)."""


class KBMissingError(KBError):
    """No compiled knowledge base at the given path."""
