"""How much does the engage plugin add to a Pelican build of a large site?

Usage::

    .venv/bin/python benchmarks/gate_build.py [--posts 2000] [--repeat 5] [--local] [--cold]
        [--json] [--profile]

This is a measurement, not a test: it always exits 0 (unless the site fails to
build) and prints whether the target, "a build with the plugin takes at most
1.05 times the CPU time of one without, at 2,000 posts", was met.

Method
------
1. A realistic site is generated in a temporary directory, deterministically
   (fixed seed): N Markdown posts of 300-1,500 words with headings, lists,
   blockquotes and some code; dates spread over twelve years; categories and
   tags. Most posts carry a commentary section ("## My take" and the other
   default headings, or raw HTML with class="commentary"); some have none,
   some are too short, some reuse boilerplate from earlier posts (so the
   reuse index has real work), some copy their source, some are mostly
   quotation. A third name a Source whose text is cached in the state
   database, so the copy check runs too. The repo's theme is used, with
   feeds and the content cache off, the same settings as the demo site.
2. Every build runs ``Pelican(settings).run()`` in a fresh interpreter (a
   child process of this script) into a fresh output folder, so no build
   inherits imported modules, connected signal handlers or warm caches from
   another. Builds with ``PLUGINS = []`` (A) and ``PLUGINS = ["engage"]`` (B)
   are interleaved over ``--repeat`` pairs, alternating which goes first
   (AB, BA, AB, ...), after one untimed warm-up build. On a shared, noisy
   machine load drifts over minutes: interleaving exposes both variants to the
   same drift, and the median of each ignores the odd build that was hit by
   a neighbour. Each child's CPU time (user + system, from
   ``getrusage(RUSAGE_CHILDREN)`` before and after it, start-up and imports
   included) is measured from outside; the figure of the target is the ratio
   of the CPU medians B / A from the same run, with each pair's ratio beside
   it. Wall time inside the child is reported too.
3. In the builds with the plugin, the plugin's handler for
   ``article_generator_finalized`` and, inside it, ``gate.evaluate`` and
   ``commentary.mark`` are wrapped with timers (a handful of clock reads, far
   below the noise), giving the gate's own time over the same N posts'
   rendered HTML, in the same builds that give the ratio. The build time of
   a child includes importing the plugin, so that cost is counted too.

4. By default the gate's saved results are warm, as they are for a build that
   follows an `engage` command (`engage check`, `publish`, `plan` and `watch`
   save what they judged; gate/cache.py): after the warm-up build a child
   reads the site and saves its results with ``site.remember_gate``, the same
   call `engage check` makes (the command itself would try to fetch again the
   sources this site marks as unreadable). ``--cold`` skips that: every build
   with the plugin then analyses every post itself, as the first build after
   an upgrade or on a fresh database does.

``--profile`` adds one more build with the handler under cProfile and prints
where its time goes.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))  # the test helpers (sitebuilder)

from reporting import timed  # noqa: E402  # benchmarks/, beside this script

TARGET_RATIO = 1.05
SEED = 20261130

# Common English words, most frequent first; drawn with Zipf weights so that
# frequent three-word phrases recur across posts as they do in real prose.
_WORD_LIST = """
the of and to a in is it that for you was with on as have but be they this at
not are from by or one had what all we when your can said there use an each which
she do how their if will up other about out many then them these so some her would
make like him into time has look two more write go see number no way could people my
than first water been call who oil its now find long down day did get come made may
part over new sound take only little work know place year live me back give most very
after thing our just name good sentence man think say great where help through much
before line right too mean old any same tell boy follow came want show also around form
three small set put end does another well large must big even such because turn here
why ask went men read need land different home us move try kind hand picture again
change off play spell air away animal house point page letter mother answer found study
still learn should world high every near add food between own below country plant last
school father keep tree never start city earth eye light thought head under story saw
left few while along might close something seem next hard open example begin life always
those both paper together got group often run important until children side feet car
mile night walk white sea began grow took river four carry state once book hear stop
without second later miss idea enough eat face watch far really almost let above girl
sometimes mountain cut young talk soon list song being leave family server feed site
static blog post reader comment network mastodon instance moderation hosting script
theme markdown template plugin build deploy cache index search archive bookmark photo
"""
WORDS = _WORD_LIST.split()
WEIGHTS = [1 / (rank + 2) for rank in range(len(WORDS))]

TOPICS = ["Feeds", "Hosting", "Moderation", "Tooling", "Photography", "Writing", "Notes", "Links"]
TAGS = [f"tag-{name}" for name in WORDS[-60:]]
HEADINGS = ["My take", "My take", "My take", "Commentary", "What I think", "Why it matters"]


def sentence(rng: random.Random, low: int = 6, high: int = 20) -> str:
    words = rng.choices(WORDS, WEIGHTS, k=rng.randint(low, high))
    return " ".join(words).capitalize() + "."


def paragraph(rng: random.Random, sentences: tuple[int, int] = (3, 6)) -> str:
    return " ".join(sentence(rng) for _ in range(rng.randint(*sentences)))


def words_in(text: str) -> int:
    return len(text.split())


# A few stock closing paragraphs that careless authors paste under many posts.
BOILERPLATE = [paragraph(random.Random(f"boilerplate-{i}"), (5, 7)) for i in range(6)]


@dataclass
class Post:
    text: str
    source: tuple[str, str] | None  # (url, cached text) when the post names a Source


def make_post(rng: random.Random, index: int, date: datetime) -> Post:
    """One Markdown post with Pelican metadata."""
    target = rng.randint(300, 1500)
    title = f"{sentence(rng, 3, 7).rstrip('.')} ({index})"
    meta = {
        "Title": title,
        "Date": date.strftime("%Y-%m-%d %H:%M"),
        "Category": rng.choice(TOPICS),
        "Tags": ", ".join(rng.sample(TAGS, rng.randint(1, 4))),
        "Slug": f"post-{index:05d}",
        "Summary": sentence(rng),
    }
    source: tuple[str, str] | None = None
    source_text = ""
    if rng.random() < 0.33:
        url = f"https://news.example.org/{date:%Y/%m}/story-{index}"
        source_text = "\n\n".join(paragraph(rng) for _ in range(rng.randint(4, 9)))
        source = (url, source_text)
        meta["Source"] = url
    if rng.random() < 0.04:
        meta["Syndicate"] = "none"

    # The commentary first, so the body can be sized around it.
    kind = rng.choices(
        ["take", "html", "missing", "short", "boilerplate", "copied"],
        [62, 8, 12, 7, 8, 3 if source else 0],
    )[0]
    if kind == "take":
        take = "\n\n".join(paragraph(rng) for _ in range(rng.randint(1, 4)))
    elif kind == "short":
        take = sentence(rng, 5, 25)
    elif kind == "boilerplate":
        take = f"{sentence(rng)}\n\n{rng.choice(BOILERPLATE)}"
    elif kind == "copied":
        take = source_text.split("\n\n")[0]
    else:
        take = ""
    if kind == "html":
        paras = "".join(f"<p>{paragraph(rng)}</p>" for _ in range(rng.randint(1, 3)))
        commentary = f'<div class="commentary">{paras}</div>'
    elif take:
        commentary = f"## {rng.choice(HEADINGS)}\n\n{take}"
    else:
        commentary = ""

    blocks = [paragraph(rng)]
    if source_text or rng.random() < 0.55:
        quote = source_text.split("\n\n")[-1] if source_text else paragraph(rng)
        if rng.random() < 0.05:  # a post that is mostly quotation
            quote = "\n>\n> ".join(paragraph(rng, (6, 9)) for _ in range(4))
        blocks.append(f"> {quote}")
    budget = target - words_in(commentary) - sum(words_in(b) for b in blocks)
    while budget > 0:
        roll = rng.random()
        if roll < 0.25 and not blocks[-1].startswith("#"):  # no empty sections
            block = f"## {sentence(rng, 2, 5).rstrip('.')}"
        elif roll < 0.40:
            marker = rng.choice(["-", "1."])
            block = "\n".join(f"{marker} {sentence(rng, 3, 12)}" for _ in range(rng.randint(3, 6)))
        elif roll < 0.45:
            block = "```\n" + "\n".join(sentence(rng, 2, 6) for _ in range(4)) + "\n```"
        else:
            block = paragraph(rng)
        blocks.append(block)
        budget -= words_in(block)
    if commentary:
        blocks.append(commentary)
        if rng.random() < 0.3:  # something after the take: it ends at the next heading
            blocks.append(f"## Links\n\n- [{sentence(rng, 2, 4)}](https://example.net/{index})")
    header = "".join(f"{k}: {v}\n" for k, v in meta.items())
    return Post(header + "\n" + "\n\n".join(blocks) + "\n", source)


def generate_site(root: Path, posts: int, seed: int = SEED, *, local: bool = False) -> Path:
    """Write N posts, a pelicanconf.py and a state database; return the settings path."""
    from sitebuilder import QUIET_BUILD  # tests/, the settings of every test build

    from pelican.plugins.engage.model import SourceText
    from pelican.plugins.engage.store import Store

    rng = random.Random(seed)
    content = root / "content"
    content.mkdir(parents=True)
    start = datetime(2014, 12, 1, 8, 0)
    span = timedelta(days=12 * 365)
    dates = sorted(start + span * rng.random() for _ in range(posts))
    sources: list[tuple[str, str]] = []
    for index, date in enumerate(dates, 1):
        post = make_post(rng, index, date.replace(second=0, microsecond=0))
        (content / f"post-{index:05d}.md").write_text(post.text, encoding="utf-8")
        if post.source:
            sources.append(post.source)
    db = root / "engage.sqlite3"
    with Store.open(db) as store:
        for n, (url, text) in enumerate(sources):
            # A few sources could not be fetched: the gate reports them unchecked.
            ok = n % 20 != 0
            cached = SourceText(url, ok, text if ok else "", None if ok else "HTTP 404")
            store.save_source(cached, feed_url=None, via="benchmark")
    settings = {
        "AUTHOR": "Benchmark Author",
        "SITENAME": "A large blog",
        "SITEURL": "",
        "PATH": "content",
        "TIMEZONE": "Europe/Berlin",
        "DEFAULT_LANG": "en",
        "THEME": str(REPO / "theme"),
        "PLUGINS": ["engage"],
        "ENGAGE_DB": str(db),
        # A production build (publishconf.py) shows no verdict; a local one shows it on
        # every article, which makes the site-wide gate run during the build.
        "ENGAGE_SHOW_GATE": local,
        **QUIET_BUILD,
        "DEFAULT_PAGINATION": 10,
        "RELATIVE_URLS": True,
    }
    conf = root / "pelicanconf.py"
    conf.write_text("".join(f"{k} = {v!r}\n" for k, v in settings.items()), encoding="utf-8")
    return conf


# -- one build, in a child process ------------------------------------------------------


def one_build(conf: Path, output: Path, plugin: bool, profile: Path | None) -> dict[str, Any]:
    """Build the site once in this (fresh) interpreter; return the timings."""
    from pelican import Pelican
    from pelican.settings import read_settings

    timings: dict[str, Any] = {"evaluate_s": 0.0, "mark_s": 0.0, "handler_s": 0.0}
    start = time.perf_counter()
    if plugin:
        _instrument(timings, profile)
    settings = read_settings(
        str(conf),
        override={"PLUGINS": ["engage"] if plugin else [], "OUTPUT_PATH": str(output)},
    )
    Pelican(settings).run()
    timings["build_s"] = time.perf_counter() - start
    during_build = timings["evaluate_s"]
    if plugin:
        from pelican.plugins.engage.plugin import last_build

        build = last_build()
        assert build is not None, "the engage handler did not run"
        reasons: dict[str, int] = {}
        for record in build.posts:
            for reason in record.verdict.reasons:
                reasons[reason.code] = reasons.get(reason.code, 0) + 1
        timings["judged"] = len(build.posts)
        timings["eligible"] = sum(1 for r in build.posts if r.verdict.eligible)
        timings["reasons"] = dict(sorted(reasons.items()))
    timings["evaluate_s"] = during_build  # counting the reasons above is not part of the build
    return timings


def _instrument(timings: dict[str, Any], profile: Path | None) -> None:
    """Wrap the handler, gate.evaluate and commentary.mark with timers.

    Must run before Pelican calls ``register()``, which connects whatever
    ``plugin.on_article_generator_finalized`` is at that moment.
    """
    from pelican.plugins.engage import plugin
    from pelican.plugins.engage.gate import commentary
    from pelican.plugins.engage.gate import rules as gate

    original = handler = plugin.on_article_generator_finalized
    if profile is not None:
        import cProfile

        def profiled(generator: Any) -> None:
            with cProfile.Profile() as prof:
                original(generator)
            prof.dump_stats(profile)

        handler = profiled
    gate.evaluate = timed(timings, "evaluate_s", gate.evaluate)
    commentary.mark = timed(timings, "mark_s", commentary.mark)
    plugin.on_article_generator_finalized = timed(timings, "handler_s", handler)


def prime(conf: Path) -> None:
    """Save the gate's results for the site, as `engage check` does."""
    from pelican.plugins.engage import site
    from pelican.plugins.engage.store import Store

    record = site.read_site(site.load_settings(conf))
    with Store.open(record.settings.db_path) as store:
        site.remember_gate(record, store, judge=True)


def children_cpu_s() -> float:
    """User + system CPU time of every waited-for child so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_child(
    conf: Path, output: Path, plugin: bool, profile: Path | None = None
) -> dict[str, Any]:
    """One build in a fresh interpreter; adds ``cpu_s``, the child's CPU time measured
    from outside (``getrusage(RUSAGE_CHILDREN)`` before and after: user + system,
    interpreter start-up and imports included)."""
    cmd = [sys.executable, __file__, "--_one-build", str(conf), "--_output", str(output)]
    cmd += ["--_plugin"] if plugin else []
    cmd += ["--_profile", str(profile)] if profile else []
    cpu_before = children_cpu_s()
    done = subprocess.run(cmd, cwd=conf.parent, capture_output=True, text=True, check=False)
    cpu_s = children_cpu_s() - cpu_before
    if done.returncode != 0:
        sys.exit(f"build failed ({' '.join(cmd)}):\n{done.stdout}\n{done.stderr}")
    last_line = done.stdout.strip().splitlines()[-1]  # Pelican prints its summary first
    result: dict[str, Any] = json.loads(last_line)
    result["cpu_s"] = cpu_s
    return result


# -- the measurement --------------------------------------------------------------------


def measure(
    posts: int,
    repeat: int,
    profile: bool,
    say: Callable[[str], None],
    *,
    local: bool = False,
    cold: bool = False,
) -> tuple[dict[str, Any], str | None]:
    with tempfile.TemporaryDirectory(prefix="engage-bench-") as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        conf = generate_site(root, posts, local=local)
        say(f"generated {posts} posts in {time.perf_counter() - t0:.1f} s; warm-up build")
        counter = iter(range(10_000))

        def build(plugin: bool, prof: Path | None = None) -> dict[str, Any]:
            output = root / f"output-{next(counter)}"
            result = run_child(conf, output, plugin, prof)
            shutil.rmtree(output, ignore_errors=True)
            return result

        build(plugin=False)
        if not cold:
            say("saving the gate's results as `engage check` does")
            cmd = [sys.executable, __file__, "--_prime", str(conf)]
            subprocess.run(cmd, cwd=conf.parent, check=True, capture_output=True)
        without_: list[dict[str, Any]] = []
        with_: list[dict[str, Any]] = []
        for round_ in range(repeat):  # one pair per round: AB, BA, AB, ... (ABBA...)
            for plugin in (False, True) if round_ % 2 == 0 else (True, False):
                result = build(plugin)
                (with_ if plugin else without_).append(result)
                label = "with   " if plugin else "without"
                say(
                    f"pair {round_ + 1}/{repeat}: {label} plugin {result['build_s']:.2f} s wall, "
                    f"{result['cpu_s']:.2f} s CPU"
                )
        without = [r["build_s"] for r in without_]
        profile_text = None
        if profile:
            stats_file = root / "handler.prof"
            build(plugin=True, prof=stats_file)
            profile_text = format_profile(stats_file)

    build_without = statistics.median(without)
    build_with = statistics.median(r["build_s"] for r in with_)
    cpu_without = statistics.median(r["cpu_s"] for r in without_)
    cpu_with = statistics.median(r["cpu_s"] for r in with_)
    cpu_ratio = cpu_with / cpu_without
    pair_ratios = [b["cpu_s"] / a["cpu_s"] for a, b in zip(without_, with_, strict=True)]
    gate_s = statistics.median(r["evaluate_s"] + r["mark_s"] for r in with_)
    ratio = build_with / build_without
    handler_s = statistics.median(r["handler_s"] for r in with_)
    last = with_[-1]
    return {
        "posts": posts,
        "repeat": repeat,
        "mode": "local (verdict box on every article)" if local else "production",
        "gate_cache": "cold" if cold else "warm (saved by a command before the builds)",
        # The figure of the target: CPU time of each child build, measured from outside.
        "cpu_without_s": round(cpu_without, 3),
        "cpu_with_s": round(cpu_with, 3),
        "cpu_ratio": round(cpu_ratio, 4),
        "pair_cpu_ratios": [round(r, 4) for r in pair_ratios],
        "cpus_without_s": [round(r["cpu_s"], 3) for r in without_],
        "cpus_with_s": [round(r["cpu_s"], 3) for r in with_],
        # Wall time measured inside the child (settings read to end of run()).
        "build_without_s": round(build_without, 3),
        "build_with_s": round(build_with, 3),
        "ratio": round(ratio, 4),
        "gate_s": round(gate_s, 3),
        "handler_s": round(handler_s, 3),
        # The handler's time over the baseline build: steadier than the ratio, which
        # carries the noise of two build times.
        "handler_share": round(handler_s / build_without, 4),
        # Only meaningful when the build ran the site-wide rules (a local build).
        "gate_posts_per_s": round(posts / gate_s) if gate_s > 0.05 else None,
        "target_ratio": TARGET_RATIO,
        "meets_target": cpu_ratio <= TARGET_RATIO,
        "builds_without_s": [round(t, 3) for t in without],
        "builds_with_s": [round(r["build_s"], 3) for r in with_],
        "judged": last["judged"],
        "eligible": last["eligible"],
        "reasons": last["reasons"],
    }, profile_text


def format_profile(stats_file: Path, top: int = 25) -> str:
    import io
    import pstats

    out = io.StringIO()
    stats = pstats.Stats(str(stats_file), stream=out)
    stats.strip_dirs().sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)
    return out.getvalue()


def report(result: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(
        title=f"engage plugin cost, {result['posts']} posts, {result['repeat']} pairs, "
        f"{result['mode']} build, {result['gate_cache'].split()[0]} gate cache"
    )
    table.add_column("measure")
    table.add_column("median", justify="right")
    table.add_column("all runs", justify="right")

    def seconds_row(label: str, median: str, runs: str) -> None:
        every = ", ".join(f"{t:.2f}" for t in result[runs])
        table.add_row(label, f"{result[median]:.2f} s", every)

    seconds_row("CPU without plugin", "cpu_without_s", "cpus_without_s")
    seconds_row("CPU with plugin", "cpu_with_s", "cpus_with_s")
    table.add_row(
        "CPU ratio with / without",
        f"{result['cpu_ratio']:.3f}",
        "pairs: " + ", ".join(f"{r:.3f}" for r in result["pair_cpu_ratios"]),
    )
    seconds_row("build without plugin", "build_without_s", "builds_without_s")
    seconds_row("build with plugin", "build_with_s", "builds_with_s")
    table.add_row("wall ratio with / without", f"{result['ratio']:.3f}", "")
    table.add_row("plugin handler", f"{result['handler_s']:.2f} s", "")
    table.add_row("handler / build without", f"{result['handler_share']:.1%}", "")
    table.add_row("gate (evaluate + mark)", f"{result['gate_s']:.2f} s", "")
    rate = result["gate_posts_per_s"]
    table.add_row(
        "gate throughput", f"{rate} posts/s" if rate else "not run (no verdict shown)", ""
    )
    console = Console()
    console.print(table)
    console.print(
        f"judged {result['judged']} articles, {result['eligible']} eligible; "
        f"reasons: {result['reasons']}"
    )
    verdict = "met" if result["meets_target"] else "NOT met"
    console.print(
        f"target: the plugin adds at most {TARGET_RATIO - 1:.0%} "
        f"(CPU ratio <= {TARGET_RATIO}): {verdict} (CPU ratio {result['cpu_ratio']:.3f}, "
        f"pairs {min(result['pair_cpu_ratios']):.3f}-{max(result['pair_cpu_ratios']):.3f})"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5, help="alternating pairs (AB, BA, ...)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--profile", action="store_true", help="cProfile the plugin handler")
    parser.add_argument(
        "--local", action="store_true", help="build as pelicanconf.py does (ENGAGE_SHOW_GATE on)"
    )
    parser.add_argument(
        "--cold", action="store_true", help="no saved gate results: every post analysed"
    )
    # Child mode: one build in this fresh interpreter, timings printed as JSON.
    parser.add_argument("--_one-build", dest="one_build", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--_output", dest="output", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--_plugin", dest="plugin", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--_profile", dest="profile_to", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--_prime", dest="prime", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.posts < 1 or args.repeat < 1:
        parser.error("--posts and --repeat must be at least 1")

    if args.prime:
        prime(args.prime)
        return 0
    if args.one_build:
        timings = one_build(args.one_build, args.output, args.plugin, args.profile_to)
        print(json.dumps(timings))
        return 0

    def say(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    result, profile_text = measure(
        args.posts, args.repeat, args.profile, say, local=args.local, cold=args.cold
    )
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        report(result)
    if profile_text:
        print(profile_text, file=sys.stderr if args.json else sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
