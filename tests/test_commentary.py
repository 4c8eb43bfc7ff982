"""Finding the commentary in rendered HTML, and measuring quotations."""

from __future__ import annotations

import markdown
import pytest

from pelican.plugins.engage.gate.commentary import MARK_OPEN, Commentary, analyze, mark

HEADINGS = ["My take", "Commentary", "What I think", "Why it matters"]


def render(md: str) -> str:
    return markdown.markdown(md)


def commentary_in(html: str) -> Commentary:
    """The commentary :func:`analyze` finds in ``html``; there must be one."""
    found = analyze(html, HEADINGS).commentary
    assert found is not None
    return found


@pytest.mark.parametrize(
    ("md", "own", "quoted", "outside"),
    [
        pytest.param(
            "Intro.\n\n## My take\n\nMine, all mine.\n\n### A detail\n\nStill mine.\n\n"
            "## Links\n\nNot mine.",
            "Mine, all mine. A detail Still mine.",
            "",
            ["Links", "My take"],
            id="a-section-runs-to-the-next-heading-of-the-same-level",
        ),
        pytest.param(
            "## WHY   it matters:\n\nBecause I say so.",
            "Because I say so.",
            "",
            ["WHY"],
            id="the-heading-match-ignores-case-colons-and-spacing",
        ),
        pytest.param(
            "## My take\n\n> > The source quoting someone.\n>\n> The source itself.\n\n"
            "My answer to both.",
            "My answer to both.",
            "The source quoting someone. The source itself.",
            ["My take"],
            id="nested-quotations-inside-the-commentary",
        ),
    ],
)
def test_own_and_quoted_words_of_a_markdown_commentary(
    md: str, own: str, quoted: str, outside: list[str]
) -> None:
    """``outside``: headings the commentary's HTML leaves out (its own, the next one)."""
    found = commentary_in(render(md))
    assert found.own_text == own and found.own_words == len(own.split())
    assert found.quoted_text == quoted
    assert not any(heading in found.html for heading in outside)


def test_rest_sections_end_with_their_wrapper() -> None:
    # Pelican's reST writer wraps each section in <div class="section">.
    html = (
        '<div class="section" id="news"><h2>News</h2><p>A thing happened.</p></div>\n'
        '<div class="section" id="my-take"><h2>My take</h2><p>It matters to me.</p>'
        '<div class="section"><h3>Deeper</h3><p>Really.</p></div></div>\n'
        '<div class="section"><h2>Elsewhere</h2><p>Not the take.</p></div>'
    )
    found = commentary_in(html)
    assert found.own_text == "It matters to me. Deeper Really."
    marked = mark(html, found)
    assert marked.count(MARK_OPEN) == 1
    assert marked.index(MARK_OPEN) < marked.index("<h2>My take") < marked.index("</section>")
    assert marked.index("</section>") < marked.index("Elsewhere")


def test_element_with_commentary_class_counts() -> None:
    html = '<p>News.</p><div class="aside commentary"><p>My own words here.</p></div><p>After</p>'
    found = commentary_in(html)
    assert found.own_text == "My own words here."
    assert mark(html, found).endswith("</div></section><p>After</p>")


def test_quotes_code_and_quotation_marks_are_not_own_words() -> None:
    html = render(
        "## My take\n\n> A long quotation from the source article here.\n\n"
        'I agree that "the web is a commons" and I wrote `some code` about it.\n\n'
        "    print('code block')\n\nMy closing words, with a <q>short quote</q>."
    )
    found = commentary_in(html)
    assert "quotation" not in found.own_text and "commons" not in found.own_text
    assert "code" not in found.own_text.replace("some code", "")
    expected = "I agree that and I wrote about it. My closing words, with a ."
    assert found.own_text.split() == expected.split()
    assert "the web is a commons" in found.quoted_text and "short quote" in found.quoted_text


def test_curly_and_guillemet_quotes() -> None:
    html = "<h2>My take</h2><p>She said “this is quoted” and «ceci aussi», then I spoke.</p>"
    found = commentary_in(html)
    assert found.own_text == "She said and , then I spoke."


def test_whole_post_quotation_ratio() -> None:
    html = render("> " + "quoted words " * 30 + "\n\n## My take\n\n" + "mine " * 20)
    analysis = analyze(html, HEADINGS)
    assert analysis.total_words == 80 and analysis.quoted_words == 60
    assert analysis.quoted_ratio == 0.75


def test_no_commentary() -> None:
    analysis = analyze(render("## Summary\n\nJust news."), HEADINGS)
    assert analysis.commentary is None
    assert mark("<p>x</p>", None) == "<p>x</p>"


def test_marking_is_idempotent() -> None:
    html = render("Intro\n\n## My take\n\nMine.")
    once = mark(html, analyze(html, HEADINGS).commentary)
    assert mark(once, analyze(once, HEADINGS).commentary) == once
    assert analyze(once, HEADINGS).commentary.own_text == "Mine."  # type: ignore[union-attr]


def test_non_ascii_and_multiline_offsets() -> None:
    html = "<p>Ünïcødé\nlines\n</p>\n<h2>My take</h2>\n<p>Ça marche\nbien.</p>\n<h2>Fin</h2>"
    found = commentary_in(html)
    assert found.own_text == "Ça marche bien."
    assert html[found.start : found.end].startswith("<h2>My take")


# -- nested quotations and other markup a regular expression misreads ------------------
def test_text_after_a_nested_blockquote_is_still_quoted() -> None:
    analysis = analyze("<blockquote><blockquote>a</blockquote>b</blockquote> mine", HEADINGS)
    assert (analysis.total_words, analysis.quoted_words) == (3, 2)


def test_nested_inline_quotes() -> None:
    html = "<h2>My take</h2><p>I said <q>she wrote <q>no</q> twice</q> and left.</p>"
    found = commentary_in(html)
    assert found.own_text == "I said and left."
    assert found.quoted_text == "she wrote no twice"


def test_section_ends_before_an_element_that_holds_the_next_heading() -> None:
    html = "<h2>My take</h2><p>one</p><div><h2>Links</h2><p>x</p></div><p>later</p>"
    found = commentary_in(html)
    assert found.own_text == "one"
    assert mark(html, found) == (
        f"{MARK_OPEN}<h2>My take</h2><p>one</p></section><div><h2>Links</h2><p>x</p></div>"
        "<p>later</p>"
    )


def test_a_heading_written_inside_a_script_or_comment_is_not_the_commentary() -> None:
    html = (
        '<script>var s = "<h2>My take</h2>";</script><!-- <h2>My take</h2> -->'
        "<h2>My take</h2><p>Mine.</p>"
    )
    found = commentary_in(html)
    assert found.own_text == "Mine." and found.html == "<p>Mine.</p>"
    assert html[found.start :].startswith("<h2>My take</h2><p>Mine.")
    assert mark(html, found).endswith(f"{MARK_OPEN}<h2>My take</h2><p>Mine.</p></section>")


def test_hostile_nesting_is_bounded() -> None:
    # The parser stops at a fixed depth; what lies deeper is not read, and nothing recurses.
    html = "<blockquote>" * 50_000 + "deep" + "</blockquote>" * 50_000
    analysis = analyze(html + "<h2>My take</h2><p>Mine.</p>", HEADINGS)
    assert analysis.total_words <= 2
