"""`engage desk`: the local answer desk, a web page on 127.0.0.1 to read and answer what waits."""

from __future__ import annotations

import webbrowser
from pathlib import Path

import click

from .. import site
from ..answering.desk import Desk
from ..settings import EngageSettings
from ..store import Store
from .common import consoles, settings_option


@click.command()
@settings_option("publishconf.py")
@click.option("--no-browser", is_flag=True, help="Print the address only; do not open a browser.")
def desk(settings_file: Path, no_browser: bool) -> None:
    """The answer desk: read and answer what waits, in your browser.

    Starts a small web app on 127.0.0.1 (a random port) and opens it. It
    lists the comments waiting for your answer, oldest first, each with its
    thread, and answers (through the same exactly-once path as `engage
    reply`), likes, marks done or hides them; keys: j/k move, r reply, l
    like, d done, Ctrl+Enter send. It refreshes when `engage sync` brings
    something new. The address carries a key for this run only: keep it to
    yourself. Ctrl+C stops it.

    Example:

    \b
        engage desk
        engage desk --no-browser -s publishconf.py
    """
    out, err = consoles()
    engage = EngageSettings.from_pelican(site.load_settings(settings_file))
    with Store.open(engage.db_path):
        pass  # create or upgrade the database now: the desk reads it without the lock
    answer_desk = Desk(engage)
    out.print(f"The answer desk is at {answer_desk.url}", soft_wrap=True, markup=False)
    err.print("The address carries this run's key: keep it to yourself. Ctrl+C stops the desk.")
    if not no_browser:
        webbrowser.open(answer_desk.url)
    try:
        answer_desk.serve()
    except KeyboardInterrupt:  # uvicorn shuts down gracefully, then passes Ctrl+C on
        pass
    finally:
        answer_desk.sock.close()
    err.print("The answer desk is closed.")
