"""What the benchmarks share: progress lines, SYNC.md sections and the command line that
writes them, and timers around the product's functions."""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

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


def run_section(
    doc: str,
    options: dict[str, tuple[type, Any]],
    measure: Callable[..., dict[str, Any]],
    report: Callable[[dict[str, Any]], str],
    *,
    mark: str,
) -> None:
    """The command line of a benchmark with a SYNC.md section: ``--<option>`` for each of
    ``options`` (type, default) and ``--write``; ``measure(*values, folder)`` runs in a
    temporary folder, ``report`` turns its result into the section's text."""
    parser = argparse.ArgumentParser(description=doc.split("\n", 1)[0])
    for name, (kind, default) in options.items():
        parser.add_argument(f"--{name}", type=kind, default=default)
    parser.add_argument("--write", action="store_true", help="update benchmarks/SYNC.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix=f"engage-{mark}-") as tmp:
        result = measure(*(getattr(args, name) for name in options), Path(tmp))
    publish(report(result), mark=mark, write=args.write)


def timed(
    spent: dict[str, Any],
    key: str,
    func: Callable[..., Any],
    clock: Callable[[], float] = time.perf_counter,
) -> Callable[..., Any]:
    """``func``, adding the ``clock`` time of each call to ``spent[key]``."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = clock()
        try:
            return func(*args, **kwargs)
        finally:
            spent[key] += clock() - start

    return wrapper
