"""The gate's rules, each with posts that pass and posts that fail."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from sitebuilder import TAKE, TAKES

from pelican.plugins.engage.gate.rules import GateSettings, PostInput, Verdict, evaluate
from pelican.plugins.engage.model import SourceText

SOURCE_URL = "https://news.example.org/2026/10/story"
ARTICLE = (
    "The city council voted on Tuesday to keep the public library open on Sundays, "
    "reversing a decision made last spring after a petition gathered more than four "
    "thousand signatures. Librarians said weekend visits had doubled since the branch "
    "added a repair cafe and a seed exchange, and the budget committee found the money "
    "by delaying a parking garage renovation for one more year. Opponents argued the "
    "garage is falling apart and that the library could share hours with the school."
)


def post(
    key: str = "content/p.md",
    take: str | None = TAKE,
    *,
    before: str = "<p>Some news worth sharing.</p>",
    source: str | None = None,
    day: int = 1,
    candidate: bool = True,
) -> PostInput:
    html = before + (f"<h2>My take</h2><p>{take}</p>" if take is not None else "")
    return PostInput(
        key=key,
        title=key.rsplit("/", 1)[-1],
        date=datetime(2026, 11, 1) + timedelta(days=day),
        html=html,
        candidate=candidate,
        source_url=source,
    )


def judge(
    *posts: PostInput, sources: dict[str, SourceText] | None = None, **kw: object
) -> dict[str, Verdict]:
    return evaluate(list(posts), sources or {}, GateSettings(**kw))  # type: ignore[arg-type]


def test_an_original_take_passes() -> None:
    verdict = judge(post())["content/p.md"]
    assert verdict.eligible and verdict.reasons == []
    assert verdict.commentary_words == len(TAKE.split())


def test_missing_commentary() -> None:
    verdict = judge(post(take=None))["content/p.md"]
    assert verdict.codes == ["missing_commentary"]
    assert "My take" in verdict.reasons[0].message


def test_too_short_names_the_numbers() -> None:
    verdict = judge(post(take="Short, but mine: twelve words of my own thinking right here now."))[
        "content/p.md"
    ]
    assert verdict.codes == ["too_short"]
    assert verdict.reasons[0].message == "commentary has 12 words, 40 needed"


def test_quotes_inside_the_commentary_do_not_count_as_own_words() -> None:
    quoted = "<blockquote><p>" + "borrowed words " * 40 + "</p></blockquote>"
    take = f'{quoted}<p>I agree, "{"a quoted line " * 10}" and that is all.</p>'
    verdict = judge(post(take=take, before=""))["content/p.md"]
    assert "too_short" in verdict.codes
    assert verdict.commentary_words == 6  # "I agree, and that is all."


def test_min_words_is_a_setting() -> None:
    short = "Twelve words of my own thinking, which is plenty for this site."
    assert judge(post(take=short), min_words=10)["content/p.md"].eligible


def test_mostly_quoted() -> None:
    before = "<blockquote><p>" + "the source said many things " * 40 + "</p></blockquote>"
    verdict = judge(post(before=before))["content/p.md"]
    assert verdict.codes == ["mostly_quoted"]
    assert "of the post (200 of 263 words), at most 60% allowed" in verdict.reasons[0].message


def test_a_quote_with_attribution_and_a_real_take_passes() -> None:
    before = "<blockquote><p>" + "a fair quotation " * 12 + "</p></blockquote><p>— Jane Doe</p>"
    assert judge(post(before=before))["content/p.md"].eligible


@pytest.mark.parametrize(
    ("take", "expected"),
    [
        (ARTICLE, ["copied_from_source"]),  # verbatim
        (  # lightly edited: a few words swapped, the rest pasted
            ARTICLE.replace("Tuesday", "Monday")
            .replace("more than four", "over four")
            .replace("doubled", "grown a lot")
            .replace("falling apart", "crumbling"),
            ["copied_from_source"],
        ),
        (TAKE, []),  # original
    ],
    ids=["verbatim", "lightly-edited", "original"],
)
def test_copied_from_source(take: str, expected: list[str]) -> None:
    sources = {SOURCE_URL: SourceText(SOURCE_URL, True, "Header. " + ARTICLE + " Footer.")}
    verdict = judge(post(take=take, source=SOURCE_URL), sources=sources)["content/p.md"]
    assert verdict.codes == expected
    assert verdict.copy_containment is not None
    if expected:
        assert verdict.copy_containment >= 0.5
        assert SOURCE_URL in verdict.reasons[0].message
    else:
        assert verdict.copy_containment < 0.1


def test_quoting_the_source_in_quotation_marks_is_not_copying() -> None:
    take = f'The article says "{ARTICLE[:200]}" and {TAKE}'
    sources = {SOURCE_URL: SourceText(SOURCE_URL, True, ARTICLE)}
    verdict = judge(post(take=take, source=SOURCE_URL), sources=sources)["content/p.md"]
    assert verdict.eligible, verdict.reasons


def test_very_short_commentary_is_compared_as_a_whole_phrase() -> None:
    sources = {SOURCE_URL: SourceText(SOURCE_URL, True, ARTICLE)}
    copied = judge(
        post(take="to keep the public library open", source=SOURCE_URL),
        sources=sources,
        min_words=1,
    )["content/p.md"]
    assert copied.codes == ["copied_from_source"]
    assert "word for word" in copied.reasons[0].message
    own = judge(
        post(take="Libraries on Sunday: yes.", source=SOURCE_URL), sources=sources, min_words=1
    )
    assert own["content/p.md"].eligible


def test_a_post_without_source_is_not_compared() -> None:
    verdict = judge(post(source=None))["content/p.md"]
    assert verdict.copy_containment is None and verdict.eligible


def test_unreachable_source_holds_the_post_back() -> None:
    sources = {SOURCE_URL: SourceText(SOURCE_URL, False, "", "timed out")}
    verdict = judge(post(source=SOURCE_URL), sources=sources)["content/p.md"]
    assert verdict.codes == ["source_unchecked"]
    assert "timed out" in verdict.reasons[0].message
    never_fetched = judge(post(source=SOURCE_URL))["content/p.md"]
    assert never_fetched.codes == ["source_unchecked"]


def test_two_posts_sharing_boilerplate() -> None:
    boilerplate = (
        "As always, this shows that the open web only works when we all take part in it, "
        "write for each other, link generously, and keep our own archives in good order."
    )
    first = post(
        "content/first.md", take=boilerplate + " Also, the first post has its own words.", day=1
    )
    second = post("content/second.md", take=boilerplate + " Short addition.", day=5)
    verdicts = judge(second, first, min_words=20)  # input order does not matter: dates do
    assert verdicts["content/first.md"].eligible
    reused = verdicts["content/second.md"]
    assert reused.codes == ["reused_commentary"]
    assert reused.reused_from == "content/first.md"
    assert "earlier post 'first.md' (content/first.md)" in reused.reasons[0].message
    assert reused.reuse_containment is not None and reused.reuse_containment > 0.8


def test_a_shared_sentence_is_not_reuse() -> None:
    sign_off = "Thanks for reading, and write back."
    first = post("content/a.md", take=TAKE + " " + sign_off, day=1)
    other = (
        "Moderation is mostly patience: reading reports carefully, asking before acting, and "
        "writing down every decision so the next moderator can follow it without guessing."
    )
    second = post("content/b.md", take=other + " " + sign_off, day=2)
    assert judge(first, second, min_words=20)["content/b.md"].eligible


def translation(p: PostInput, group: str) -> PostInput:
    return replace(p, translation_group=group)


def test_translations_are_exempt_from_each_other_in_the_reuse_rule() -> None:
    # a French version not translated yet, and one dated before the original
    original = translation(post("content/en.md", day=2), "content/en.md")
    untranslated = translation(post("content/fr.md", day=3), "content/en.md")
    earlier = translation(post("content/de.md", day=1), "content/en.md")
    pasted = post("content/other.md", take=TAKE + " One more line.", day=4)
    verdicts = judge(original, untranslated, earlier, pasted)
    assert [verdicts[k].codes for k in ("content/en.md", "content/fr.md", "content/de.md")] == [
        [],
        [],
        [],
    ]
    # a post outside the group is still compared with all of them: the earliest first
    assert verdicts["content/other.md"].codes == ["reused_commentary"]
    assert verdicts["content/other.md"].reused_from == "content/de.md"


def test_a_translation_still_reuses_another_posts_commentary() -> None:
    first = post("content/first.md", day=1)
    original = translation(post("content/en.md", take=TAKES[1], day=2), "content/en.md")
    fr = translation(post("content/fr.md", take=TAKE, day=3), "content/en.md")
    verdicts = judge(first, original, fr)
    assert verdicts["content/fr.md"].codes == ["reused_commentary"]
    assert verdicts["content/fr.md"].reused_from == "content/first.md"


def test_short_commentaries_of_one_translation_group_are_exempt_too() -> None:
    short = "Libraries on Sunday: yes."
    en = translation(post("content/en.md", take=short, day=1), "content/en.md")
    fr = translation(post("content/fr.md", take=short, day=2), "content/en.md")
    other = post("content/other.md", take=short, day=3)
    verdicts = judge(en, fr, other, min_words=1)
    assert verdicts["content/fr.md"].eligible
    assert verdicts["content/other.md"].reused_from == "content/en.md"
    later = translation(post("content/it.md", take=short, day=4), "content/en.md")
    # outside its group only the other post has the same text
    assert judge(en, fr, other, later, min_words=1)["content/it.md"].reused_from == (
        "content/other.md"
    )


def test_reuse_index_scales_to_thousands_of_posts() -> None:
    posts = [
        post(
            f"content/{i}.md", take=f"{TAKE} Unique thought number {i} about topic {i * 7}.", day=i
        )
        for i in range(1500)
    ]
    verdicts = judge(*posts)
    # every commentary after the first repeats the same long paragraph
    assert verdicts["content/0.md"].eligible
    assert all(verdicts[f"content/{i}.md"].codes == ["reused_commentary"] for i in range(1, 1500))


def test_non_candidates_are_judged_but_never_eligible() -> None:
    verdict = judge(post(candidate=False))["content/p.md"]
    assert verdict.reasons == [] and not verdict.eligible
