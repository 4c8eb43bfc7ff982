"""Pelican glue (filled in below)."""


def register() -> None:
    """Connect the signal handlers."""

