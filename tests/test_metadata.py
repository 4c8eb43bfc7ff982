"""Parsing the engage metadata keys, and the one-sentence errors."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from pelican.plugins.engage.gate.metadata import parse_metadata

BERLIN = ZoneInfo("Europe/Berlin")


def parse(**meta: object):  # type: ignore[no-untyped-def]
    return parse_metadata("content/p.md", meta, timezone="Europe/Berlin")


def test_defaults() -> None:
    meta, errors = parse()
    assert errors == [] and meta.syndicate is None and meta.followups == ()


def test_syndicate_lists_and_none() -> None:
    assert parse(syndicate="Mastodon, bluesky,mastodon")[0].syndicate == ("mastodon", "bluesky")
    assert parse(syndicate="none")[0].opted_out


def test_unknown_network_names_file_and_key() -> None:
    _, errors = parse(syndicate="mastodon, myspace")
    assert [str(e) for e in errors] == [
        (
            "content/p.md: metadata 'Syndicate' names unknown network 'myspace' "
            "(known: mastodon, bluesky, x, facebook, webmention, feed)."
        )
    ]


def test_source_must_be_a_url() -> None:
    meta, errors = parse(source="my friend's blog")
    assert meta.source is None
    assert (
        str(errors[0])
        == "content/p.md: metadata 'Source' is not an http(s) URL: \"my friend's blog\"."
    )
    assert parse(source="https://a.example/x")[0].source == "https://a.example/x"
    assert parse(source_feed="file:content/sources/feed.xml", source="https://a.example/x")[1] == []
    assert "Source" in str(parse(source="file:/etc/passwd")[1][0])


def test_schedule_in_site_time_zone() -> None:
    meta, errors = parse(schedule="2026-12-01 08:00")
    assert errors == [] and meta.schedule == datetime(2026, 12, 1, 8, 0, tzinfo=BERLIN)
    assert parse(schedule="2026-12-01T08:00:00+00:00")[0].schedule == datetime.fromisoformat(
        "2026-12-01T08:00:00+00:00"
    )
    assert "Schedule" in str(parse(schedule="tomorrow morning")[1][0])


def test_followups_relative_and_absolute() -> None:
    meta, errors = parse(
        followup=["+4h One more thought.", "+1d2h Later still.", "2026-12-01 16:00 At four."]
    )
    assert errors == []
    first = datetime(2026, 12, 1, 8, 0, tzinfo=BERLIN)
    assert [f.due(first) for f in meta.followups] == [
        first + timedelta(hours=4),
        first + timedelta(days=1, hours=2),
        datetime(2026, 12, 1, 16, 0, tzinfo=BERLIN),
    ]
    assert meta.followups[0].text == "One more thought."
    # reST hands a multi-line field over as one string
    assert len(parse(followup="+1h a\n+2h b")[0].followups) == 2


def test_bad_followup_says_what_is_wrong() -> None:
    _, errors = parse(followup="later: something")
    assert "does not start with an offset like +4h" in str(errors[0])


def test_snippet_overrides() -> None:
    meta, errors = parse(
        snippet="General", snippet_mastodon="For the fediverse", snippet_myspace="x"
    )
    assert meta.snippet == "General" and meta.snippets["mastodon"] == "For the fediverse"
    assert "Snippet_myspace" in str(errors[0])
