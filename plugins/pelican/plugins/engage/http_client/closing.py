"""The ``with`` block of everything that holds connections: leaving it closes them."""

from __future__ import annotations

from typing import Self


class Closing:
    """``with thing:`` closes ``thing`` at the end; subclasses say what :meth:`close` releases."""

    def close(self) -> None:
        """Release what is held (nothing here)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
