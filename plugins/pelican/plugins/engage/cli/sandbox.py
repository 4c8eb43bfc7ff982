"""`engage sandbox`: local stand-ins of every network, for trying the whole loop."""

from __future__ import annotations

import json
import shlex
import time

import click

from .common import consoles


@click.command()
@click.option(
    "--latency", type=float, default=0.0, show_default=True, help="Seconds added to each answer."
)
def sandbox(latency: float) -> None:
    """Start local stand-ins of all six networks until interrupted.

    Prints the ENGAGE_NETWORKS setting and the environment variables that
    point a site at them: try the whole loop without any account.

    Example:

    \b
        engage sandbox
    """
    from ..sandbox import start_all

    out, _ = consoles()
    standins = start_all(latency=latency)
    try:
        networks = {name: s.network_options() for name, s in standins.items()}
        env = {k: v for s in standins.values() for k, v in s.environment().items()}
        out.print("[bold]Stand-ins are running.[/] Put this in pelicanconf.py or publishconf.py:\n")
        out.print(
            f"ENGAGE_NETWORKS = {json.dumps(networks, indent=4)}\n", soft_wrap=True, markup=False
        )
        out.print("and export these in the shell that runs engage:\n")
        for key, value in sorted(env.items()):
            out.print(f"export {key}={shlex.quote(value)}", soft_wrap=True, markup=False)
        out.print("\nPress Ctrl-C to stop.")
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        out.print("Stopping the stand-ins.")
    finally:
        for standin in standins.values():
            standin.stop()
