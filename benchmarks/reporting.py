"""What the request, site and watch benchmarks share: progress lines and their SYNC.md sections."""

from __future__ import annotations

import re
import sys
from datetime import UTC, datetime
from pathlib import Path

SYNC_MD = Path(__file__).resolve().parent / "SYNC.md"


def say(message: str) -> None:
    """Progress on stderr, so stdout holds only the result."""
    print(message, file=sys.stderr, flush=True)


def write_section(text: str, mark: str) -> None:
    """Put ``text`` between the ``<!-- mark:begin -->`` and ``:end`` lines of SYNC.md."""
    current = SYNC_MD.read_text(encoding="utf-8")
    begin, end = f"<!-- {mark}:begin -->", f"<!-- {mark}:end -->"
    block = f"{begin}\n{text}\n{end}"
    if begin in current:
        pattern = re.escape(begin) + ".*?" + re.escape(end)
        current = re.sub(pattern, lambda _: block, current, flags=re.S)
    else:
        current = current.rstrip() + "\n\n" + block + "\n"
    SYNC_MD.write_text(current, encoding="utf-8")


def publish(text: str, *, mark: str, write: bool) -> None:
    """Print the result; with ``--write``, also keep it in SYNC.md with the command line."""
    print(text)
    if write:
        stamp = f"Run of {datetime.now(UTC):%Y-%m-%d %H:%M} UTC: `{' '.join(sys.argv)}`."
        write_section(f"{stamp}\n\n{text}", mark)
