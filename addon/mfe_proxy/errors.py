"""The project's own error types: everything the pure modules raise derives from ``MfeError``."""


class MfeError(Exception):
    """Base of every error mfe-proxy raises on purpose."""


class PathPatternError(MfeError):
    """A path pattern that cannot be compiled; the message says what is wrong, for a person."""
