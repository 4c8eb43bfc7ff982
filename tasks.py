"""invoke tasks: Pelican's quickstart tasks, plus the engage ones."""

import os
import shlex
import shutil
import sys

from invoke import task
from invoke.main import program
from pelican import main as pelican_main
from pelican.server import ComplexHTTPRequestHandler, RootedHTTPServer
from pelican.settings import DEFAULT_CONFIG, get_settings_from_file

OPEN_BROWSER_ON_SERVE = True
SETTINGS_FILE_BASE = "pelicanconf.py"
SETTINGS = {}
SETTINGS.update(DEFAULT_CONFIG)
LOCAL_SETTINGS = get_settings_from_file(SETTINGS_FILE_BASE)
SETTINGS.update(LOCAL_SETTINGS)

CONFIG = {
    "settings_base": SETTINGS_FILE_BASE,
    "settings_publish": "publishconf.py",
    # Output path. Can be absolute or relative to tasks.py. Default: 'output'
    "deploy_path": SETTINGS["OUTPUT_PATH"],
    # Github Pages configuration
    "github_pages_branch": "gh-pages",
    "commit_message": "'Publish site'",
    # Host and port for `serve`
    "host": "localhost",
    "port": 8000,
}


@task
def clean(c):
    """Remove generated files"""
    if os.path.isdir(CONFIG["deploy_path"]):
        shutil.rmtree(CONFIG["deploy_path"])
        os.makedirs(CONFIG["deploy_path"])


@task
def build(c):
    """Build local version of site"""
    pelican_run("-s {settings_base}".format(**CONFIG))


@task
def rebuild(c):
    """`build` with the delete switch"""
    pelican_run("-d -s {settings_base}".format(**CONFIG))


@task
def regenerate(c):
    """Automatically regenerate site upon file modification"""
    pelican_run("-r -s {settings_base}".format(**CONFIG))


@task
def serve(c):
    """Serve site at http://$HOST:$PORT/ (default is localhost:8000)"""

    class AddressReuseTCPServer(RootedHTTPServer):
        allow_reuse_address = True

    server = AddressReuseTCPServer(
        CONFIG["deploy_path"],
        (CONFIG["host"], CONFIG["port"]),
        ComplexHTTPRequestHandler,
    )

    if OPEN_BROWSER_ON_SERVE:
        # Open site in default browser
        import webbrowser

        webbrowser.open("http://{host}:{port}".format(**CONFIG))

    sys.stderr.write("Serving at {host}:{port} ...\n".format(**CONFIG))
    server.serve_forever()


@task
def reserve(c):
    """`build`, then `serve`"""
    build(c)
    serve(c)


@task
def preview(c):
    """Build production version of site"""
    pelican_run("-s {settings_publish}".format(**CONFIG))


@task
def livereload(c):
    """Automatically reload browser tab upon file modification."""
    from livereload import Server

    def cached_build():
        cmd = "-s {settings_base} -e CACHE_CONTENT=true LOAD_CONTENT_CACHE=true"
        pelican_run(cmd.format(**CONFIG))

    cached_build()
    server = Server()
    theme_path = SETTINGS["THEME"]
    watched_globs = [
        CONFIG["settings_base"],
        f"{theme_path}/templates/**/*.html",
    ]

    content_file_extensions = [".md", ".rst"]
    for extension in content_file_extensions:
        content_glob = "{}/**/*{}".format(SETTINGS["PATH"], extension)
        watched_globs.append(content_glob)

    static_file_extensions = [".css", ".js"]
    for extension in static_file_extensions:
        static_file_glob = f"{theme_path}/static/**/*{extension}"
        watched_globs.append(static_file_glob)

    for glob in watched_globs:
        server.watch(glob, cached_build)

    if OPEN_BROWSER_ON_SERVE:
        # Open site in default browser
        import webbrowser

        webbrowser.open("http://{host}:{port}".format(**CONFIG))

    server.serve(host=CONFIG["host"], port=CONFIG["port"], root=CONFIG["deploy_path"])


@task
def gh_pages(c):
    """Publish to GitHub Pages"""
    preview(c)
    c.run(
        "ghp-import -b {github_pages_branch} -m {commit_message} {deploy_path} -p".format(**CONFIG)
    )


# --- engage ------------------------------------------------------------------


@task(help={"json": "print JSON instead of a table"})
def check(c, json=False):
    """Gate report: which posts will be cross-posted, and why not"""
    engage_run("check -s {settings_base}".format(**CONFIG) + (" --json" if json else ""))


@task(help={"json": "print JSON instead of a table"})
def plan(c, json=False):
    """The queue: what will be posted where and when"""
    engage_run("plan -s {settings_publish}".format(**CONFIG) + (" --json" if json else ""))


@task(help={"dry_run": "show everything, change nothing", "backfill": "also post old posts"})
def publish(c, dry_run=False, backfill=False):
    """Build with publishconf.py, gate, deploy, then cross-post what is due"""
    args = "publish -s {settings_publish}".format(**CONFIG)
    args += " --dry-run" if dry_run else ""
    args += " --backfill" if backfill else ""
    engage_run(args)


@task(help={"article": "only this post (slug)", "all": "also posts past the sync cut-off"})
def sync(c, article=None, all=False):
    """Fetch replies, likes and reposts; rebuild when anything changed"""
    args = "sync --rebuild -s {settings_publish}".format(**CONFIG)
    args += f" --article {shlex.quote(article)}" if article else ""
    args += " --all" if all else ""
    engage_run(args)


@task(help={"json": "print JSON instead of a table"})
def inbox(c, json=False):
    """Comments waiting for your answer, oldest first (and the local dashboard)"""
    engage_run("inbox -s {settings_base}".format(**CONFIG) + (" --json" if json else ""))


@task(help={"comment_id": "an id from `invoke inbox`", "text": "the answer (else $EDITOR)"})
def reply(c, comment_id, text=None):
    """Answer a comment in its own thread on its own network"""
    args = f"reply -s {CONFIG['settings_publish']} {shlex.quote(comment_id)}"
    engage_run(args + (f" {shlex.quote(text)}" if text else ""))


@task(help={"json": "print JSON instead of a table", "period": "e.g. 30d"})
def stats(c, json=False, period="90d"):
    """Response rate and time to first answer, per network"""
    args = "stats -s {settings_base} --period ".format(**CONFIG) + shlex.quote(period)
    engage_run(args + (" --json" if json else ""))


@task(help={"from_feed": "URL of the feed to pick an article from"})
def draft(c, from_feed):
    """Start a post from a feed entry: source, short quote, empty commentary"""
    engage_run(f"draft -s {CONFIG['settings_base']} --from-feed {shlex.quote(from_feed)}")


@task(help={"port": "where to serve the demo site"})
def demo(c, port=CONFIG["port"]):
    """The whole loop without any account: stand-ins, publish, replies, sync, serve"""
    from pathlib import Path

    from pelican.plugins.engage.cli.demo import main

    main(Path(__file__).resolve().parent, int(port))


def pelican_run(cmd):
    cmd += " " + program.core.remainder  # allows to pass-through args to pelican
    pelican_main(shlex.split(cmd))


def engage_run(args):
    """Run an `engage` command in this process; its exit code becomes invoke's."""
    from pelican.plugins.engage.cli import cli

    cli.main(shlex.split(args), prog_name="engage")
