"""The `engage` command line (click): one module per command group.

Each module defines plain ``click`` commands and imports only ``common``; this
module builds the group from them, so no command module imports another.
"""

from __future__ import annotations

import os
from typing import Any

import click

from ..errors import EngageError
from . import answer, backfeed, drafts, gate, init, sandbox, syndicate, watch
from .common import UserError
from .desk import desk as desk_command


class EngageGroup(click.Group):
    """Turns every EngageError into one sentence and exit code 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except EngageError as exc:
            raise UserError(str(exc)) from None


@click.group(cls=EngageGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="pelican-engage")
def cli() -> None:
    """Cross-post only what you have something to say about, then answer everyone.

    Run the commands from your site's folder (beside pelicanconf.py).
    """


for command in (
    gate.check,
    syndicate.plan,
    syndicate.publish,
    syndicate.syndicate,
    backfeed.sync,
    backfeed.hide,
    answer.inbox,
    answer.reply,
    answer.stats,
    drafts.draft,
    sandbox.sandbox,
):
    cli.add_command(command)
cli.add_command(init.init)
cli.add_command(answer.show)
cli.add_command(answer.like)
cli.add_command(answer.done)
cli.add_command(desk_command)
cli.add_command(watch.watch)


def main() -> None:
    os.environ.setdefault("PYTHONIOENCODING", "utf-8")
    cli(prog_name="engage")
