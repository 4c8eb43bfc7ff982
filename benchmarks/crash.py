"""Exactly once, counted: SIGKILL `engage syndicate`, `publish` and `reply` at random points.

Usage::

    .venv/bin/python benchmarks/crash.py [--runs 50] [--networks mastodon,x] [--commands reply]
                                         [--mutation no-recovery] [--mastodon-key-expired] [--json]

``make crash`` runs 50 seeds per network and command; ``make mutation`` runs the
same crash runs with the product's recovery removed in the child processes
(``ENGAGE_MUTATION=no-recovery``, see tests/loopback_guard/engage_mutation.py).

Method: the runs of tests/test_crash.py (tests/crash_harness.py), one network at
a time against its stand-in in permissive mode (it accepts every duplicate the
real service would refuse; Mastodon keeps its Idempotency-Key unless
``--mastodon-key-expired``), each answer held 50 ms after the write took effect.
Each run kills the command right after a random write (plus 0 to 75 ms), kills
half of the recovery reruns too at a random request, reruns to completion, and
compares the stand-in's records with the database.

Columns: ``runs``; ``kills`` (first attempts killed before they finished);
``in window`` (kills that left a write on the network the database had not
recorded: what the recovery must find); ``rerun kills`` (recovery reruns killed
too); ``dup`` (extra copies on the network); ``lost`` (expected posts or answers
missing, or not recorded as posted); ``failed`` (runs with any problem, also a
follow-up off its thread or a ledger naming the wrong post).

Exit status: without ``--mutation``, 1 if any run failed; with it, 1 unless every
network and command had failed runs (the mutation was detected everywhere).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent / "tests"
sys.path.insert(0, str(TESTS))
os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost,::1"

from crash_harness import COMMANDS, NETWORKS, Lab, Outcome  # noqa: E402

COLUMNS = ("runs", "kills", "in window", "rerun kills", "dup", "lost", "failed")


def cell(outcomes: list[Outcome]) -> dict[str, int]:
    return {
        "runs": len(outcomes),
        "kills": sum(o.killed for o in outcomes),
        "in window": sum(o.unrecorded > 0 for o in outcomes),
        "rerun kills": sum(o.killed_rerun for o in outcomes),
        "dup": sum(o.duplicates for o in outcomes),
        "lost": sum(o.lost for o in outcomes),
        "failed": sum(not o.ok for o in outcomes),
        "window failed": sum(o.unrecorded > 0 and not o.ok for o in outcomes),
    }


def table(rows: dict[tuple[str, str], dict[str, int]]) -> str:
    """A Markdown table, one row per network and command, and the totals."""
    total = {c: sum(r[c] for r in rows.values()) for c in COLUMNS}
    body = [[n, c, *(str(r[k]) for k in COLUMNS)] for (n, c), r in rows.items()]
    body.append(["all", "", *(str(total[k]) for k in COLUMNS)])
    head = ["network", "command", *COLUMNS]
    widths = [max(len(row[i]) for row in [head, *body]) for i in range(len(head))]

    def line(cells: list[str]) -> str:
        pairs = enumerate(zip(cells, widths, strict=True))
        return "| " + " | ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in pairs) + " |"

    rule = "|" + "|".join("-" * (w + 1) + ("-" if i < 2 else ":") for i, w in enumerate(widths))
    rule += "|"
    return "\n".join([line(head), rule, *map(line, body)])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=50, help="seeds per network and command")
    parser.add_argument("--networks", default=",".join(NETWORKS))
    parser.add_argument("--commands", default=",".join(COMMANDS))
    parser.add_argument("--mutation", choices=["no-recovery"], help="remove the recovery")
    parser.add_argument(
        "--mastodon-key-expired",
        action="store_true",
        help="Mastodon permissive too: the rerun comes after the server forgot the key",
    )
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    args = parser.parse_args()
    if args.mutation:
        os.environ["ENGAGE_MUTATION"] = args.mutation  # read by the children's sitecustomize
    else:
        os.environ.pop("ENGAGE_MUTATION", None)
    networks = [n for n in args.networks.split(",") if n]
    commands = [c for c in args.commands.split(",") if c]
    rows: dict[tuple[str, str], dict[str, int]] = {}
    failures: list[str] = []
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="engage-crash-") as tmp:
        for network in networks:
            lab = Lab(network, Path(tmp), key_expired=args.mastodon_key_expired)
            try:
                for command in commands:
                    t0 = time.monotonic()
                    outcomes = [lab.run(command, seed) for seed in range(args.runs)]
                    rows[(network, command)] = cell(outcomes)
                    failures += [o.report() for o in outcomes if not o.ok]
                    print(
                        f"{network} {command}: {rows[(network, command)]} "
                        f"({time.monotonic() - t0:.0f} s)",
                        file=sys.stderr,
                    )
            finally:
                lab.close()
    elapsed = time.monotonic() - started
    failed = sum(r["failed"] for r in rows.values())
    runs = sum(r["runs"] for r in rows.values())
    in_window = sum(r["in window"] for r in rows.values())
    window_failed = sum(r["window failed"] for r in rows.values())
    detected = [k for k, r in rows.items() if r["failed"]]
    if args.json:
        print(
            json.dumps(
                {
                    "mutation": args.mutation,
                    "mastodon_key_expired": args.mastodon_key_expired,
                    "runs_per_cell": args.runs,
                    "elapsed_s": round(elapsed, 1),
                    "cells": [{"network": n, "command": c, **r} for (n, c), r in rows.items()],
                    "failures": failures,
                },
                indent=2,
            )
        )
    else:
        title = f"mutation {args.mutation}" if args.mutation else "recovery on"
        print(f"Crash runs ({title}), {args.runs} seeds per network and command:\n")
        print(table(rows))
        print(f"\n{runs} runs in {elapsed:.0f} s; {in_window} kills left an unrecorded write.")
        for line in failures[:20]:
            print("  " + line[:300])
        if len(failures) > 20:
            print(f"  … and {len(failures) - 20} more")
    if args.mutation:
        missed = [k for k in rows if k not in detected]
        print(
            f"\nWith recovery disabled, {failed} of {runs} runs produced a duplicate or a loss, "
            f"{window_failed} of the {in_window} whose kill left a write unrecorded; "
            + (
                "every network and command detected it."
                if not missed
                else f"NOT detected for {', '.join('/'.join(k) for k in missed)}."
            )
        )
        return 1 if missed else 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
