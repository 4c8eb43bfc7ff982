"""The gate in six languages, and translations exempt from the reuse rule (issue 12).

Words are counted by Unicode word rules (see ``gate/text.py``): one word per Han
ideograph, per kana run, per run of letters between spaces (Korean, Arabic,
Russian), and for Thai an approximation that cuts before leading vowels and every
four letters. Each commentary below is original text written for these tests, an
opinion about the same (made up) news item, which each language's source reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from sitebuilder import TAKE, translated_site, write_post

from pelican.plugins.engage import site
from pelican.plugins.engage.gate.commentary import analyze
from pelican.plugins.engage.gate.rules import GateSettings, PostInput, Verdict, evaluate
from pelican.plugins.engage.gate.text import count_words
from pelican.plugins.engage.model import SourceText

SOURCE_URL = "https://news.example.org/2026/11/library-sundays"


@dataclass(frozen=True)
class Language:
    source: str  # a news report
    take: str  # an original commentary on it, 40 to 80 words
    short: str  # the commentary cut to a few words
    words: int  # what the gate counts in ``take``
    sensible: tuple[int, int]  # the range a person counting words would accept


LANGUAGES = {
    "chinese": Language(
        source=(
            "市议会周二投票决定，公共图书馆将在周日继续开放，推翻了去年春天的决定。"
            "此前一份请愿书征集了四千多个签名。馆员表示，自从分馆增设了维修咖啡馆和"
            "种子交换角，周末的到访人数翻了一番。预算委员会通过推迟停车场翻修一年筹到了这笔钱。"
        ),
        take=(
            "我觉得这次投票最值得注意的不是图书馆本身，而是居民终于学会了怎样让议会听见"
            "自己的声音。四千个签名听起来不多，但在一个小城市里，这意味着几乎每条街都有人"
            "愿意站出来。维修咖啡馆的成功也说明，人们需要的不只是借书的地方，而是一个可以"
            "一起动手、彼此认识的公共空间。希望明年的预算讨论也能保持这样的透明。"
        ),
        short="我觉得这次投票很重要。",
        words=137,  # 147 characters: one word per ideograph, punctuation none
        sensible=(120, 150),
    ),
    "japanese": Language(
        source=(
            "市議会は火曜日、公共図書館の日曜開館を続けることを決めた。昨年春の決定を覆した"
            "もので、四千人以上の署名を集めた請願がきっかけとなった。図書館によると、修理カフェ"
            "と種の交換コーナーを設けてから週末の利用者は倍になったという。予算は駐車場の改修を"
            "一年延期して確保する。"
        ),
        take=(
            "正直に言うと、このニュースを読んでほっとした。日曜日に図書館が開いているかどうか"
            "は、平日に働く人にとって大きな違いだ。特に修理カフェの話が面白い。本を借りるだけ"
            "でなく、壊れたものを直しながら近所の人と話せる場所になっているのだと思う。駐車場の"
            "改修が遅れるのは残念だが、町が何を大切にするのかをはっきり示した決定だと感じる。"
        ),
        short="このニュースを読んでほっとした。",
        words=88,  # 161 characters: kanji one word each, a kana run one word
        sensible=(70, 110),
    ),
    "korean": Language(
        source=(
            "시의회는 화요일 공공도서관의 일요일 개관을 유지하기로 의결했다. 지난봄의 결정을 "
            "뒤집은 것으로, 4천 명 이상이 서명한 청원이 계기가 되었다. 도서관 측은 수리 카페와 "
            "씨앗 교환 코너를 만든 뒤 주말 방문객이 두 배로 늘었다고 밝혔다. 예산은 주차장 보수 "
            "공사를 1년 미루어 마련한다."
        ),
        take=(
            "솔직히 이 소식을 읽고 마음이 놓였다. 평일에 일하는 사람들에게 일요일에 도서관이 "
            "문을 여는지는 생각보다 큰 차이를 만든다. 특히 수리 카페 이야기가 인상 깊었다. "
            "책을 빌리는 곳을 넘어 이웃과 함께 고장 난 물건을 고치며 이야기를 나누는 공간이 된 "
            "것 같다. 주차장 공사가 늦어지는 것은 아쉽지만, 시가 무엇을 소중히 여기는지 분명히 "
            "보여 준 결정이라고 생각한다. 내년 예산 논의도 이렇게 투명하게 진행되기를 바란다."
        ),
        short="솔직히 이 소식을 읽고 마음이 놓였다.",
        words=60,  # words between spaces (eojeol)
        sensible=(55, 65),
    ),
    "arabic": Language(
        source=(
            "صوّت مجلس المدينة يوم الثلاثاء على إبقاء المكتبة العامة مفتوحة أيام الأحد، متراجعًا "
            "عن قرار اتُّخذ في الربيع الماضي بعد عريضة جمعت أكثر من أربعة آلاف توقيع. وقال أمناء "
            "المكتبة إن زيارات نهاية الأسبوع تضاعفت منذ افتتاح مقهى للتصليح وركن لتبادل البذور، "
            "ووجدت لجنة الميزانية المال بتأجيل تجديد موقف السيارات عامًا آخر."
        ),
        take=(
            "بصراحة، شعرت بالارتياح حين قرأت هذا الخبر. فتح المكتبة يوم الأحد يصنع فرقًا كبيرًا "
            "لمن يعملون طوال الأسبوع ولا يجدون وقتًا آخر للقراءة. أكثر ما أعجبني هو مقهى التصليح، "
            "لأنه يحوّل المكتبة من مكان لاستعارة الكتب إلى مكان يلتقي فيه الجيران ويتعلمون من "
            "بعضهم. تأجيل موقف السيارات مزعج قليلًا، لكن القرار يوضح ما تعتبره المدينة مهمًا "
            "حقًا، وأتمنى أن تكون نقاشات الميزانية القادمة بالشفافية نفسها."
        ),
        short="بصراحة، شعرت بالارتياح حين قرأت هذا الخبر.",
        words=65,  # diacritics (tanwin, shadda) are marks inside a word, not breaks
        sensible=(60, 70),
    ),
    "russian": Language(
        source=(
            "Городской совет во вторник проголосовал за то, чтобы публичная библиотека "
            "оставалась открытой по воскресеньям, отменив решение, принятое прошлой весной. "
            "Петиция собрала более четырёх тысяч подписей. Библиотекари говорят, что число "
            "посетителей в выходные удвоилось после открытия ремонтного кафе и обмена семенами, "
            "а бюджетный комитет нашёл деньги, отложив ремонт парковки ещё на год."
        ),
        take=(
            "Честно говоря, я выдохнул, когда прочитал эту новость. Для тех, кто работает всю "
            "неделю, открытая по воскресеньям библиотека значит гораздо больше, чем кажется. "
            "Больше всего мне понравилась история с ремонтным кафе: библиотека перестаёт быть "
            "просто местом, где берут книги, и становится местом, где соседи знакомятся и чинят "
            "вещи вместе. Жаль, что парковку отложили, но город ясно показал, что для него важно."
        ),
        short="Честно говоря, я выдохнул.",
        words=61,
        sensible=(58, 64),
    ),
    "thai": Language(
        source=(
            "สภาเมืองลงมติเมื่อวันอังคารให้ห้องสมุดประชาชนเปิดทำการในวันอาทิตย์ต่อไป "
            "ซึ่งเป็นการกลับคำตัดสินเมื่อฤดูใบไม้ผลิที่แล้ว หลังจากมีผู้ลงชื่อในคำร้องมากกว่าสี่พันคน "
            "บรรณารักษ์กล่าวว่าจำนวนผู้มาใช้บริการในวันหยุดสุดสัปดาห์เพิ่มขึ้นเป็นสองเท่า "
            "นับตั้งแต่มีร้านกาแฟซ่อมของและมุมแลกเปลี่ยนเมล็ดพันธุ์"
        ),
        take=(
            "พูดตรง ๆ ผมรู้สึกโล่งใจเมื่อได้อ่านข่าวนี้ สำหรับคนที่ทำงานทั้งสัปดาห์ "
            "การที่ห้องสมุดเปิดวันอาทิตย์มีความหมายมากกว่าที่คิด สิ่งที่ผมชอบที่สุดคือร้านกาแฟซ่อมของ "
            "เพราะมันทำให้ห้องสมุดไม่ได้เป็นแค่ที่ยืมหนังสือ "
            "แต่กลายเป็นที่ที่เพื่อนบ้านได้มาพบกันและช่วยกันซ่อมของ "
            "น่าเสียดายที่ต้องเลื่อนการปรับปรุงที่จอดรถออกไป "
            "แต่การตัดสินใจครั้งนี้แสดงให้เห็นชัดว่าเมืองให้ความสำคัญกับอะไร"
        ),
        short="ผมรู้สึกโล่งใจเมื่อได้อ่านข่าวนี้",
        words=82,  # a dictionary segmentation finds 88 words: the approximation is 7% short
        sensible=(70, 100),
    ),
}


def post(take: str, key: str = "content/p.md", *, source: bool = True, day: int = 1) -> PostInput:
    return PostInput(
        key=key,
        title=key,
        date=datetime(2026, 11, day),
        html=f"<p>Worth reading.</p><h2>My take</h2><p>{take}</p>",
        candidate=True,
        source_url=SOURCE_URL if source else None,
    )


def judge(*posts: PostInput, source: str = "") -> dict[str, Verdict]:
    sources = {SOURCE_URL: SourceText(SOURCE_URL, True, source)} if source else {}
    return evaluate(list(posts), sources, GateSettings())


@pytest.mark.parametrize("name", LANGUAGES)
def test_word_counts_are_sensible_in_every_script(name: str) -> None:
    language = LANGUAGES[name]
    commentary = analyze(post(language.take).html, GateSettings().headings).commentary
    assert commentary is not None
    assert commentary.own_words == count_words(language.take) == language.words
    low, high = language.sensible
    assert low <= language.words <= high


@pytest.mark.parametrize("name", LANGUAGES)
def test_an_original_commentary_passes_the_default_gate(name: str) -> None:
    language = LANGUAGES[name]
    verdict = judge(post(language.take), source=language.source)["content/p.md"]
    assert verdict.eligible, verdict.reasons
    assert verdict.commentary_words == language.words
    # same topic, own words: few of its three-word phrases are in the source
    assert verdict.copy_containment is not None and verdict.copy_containment < 0.1


@pytest.mark.parametrize("name", LANGUAGES)
def test_cut_to_a_few_words_it_is_too_short(name: str) -> None:
    language = LANGUAGES[name]
    verdict = judge(post(language.short), source=language.source)["content/p.md"]
    words = count_words(language.short)
    assert 3 <= words <= 15
    assert verdict.codes == ["too_short"]
    assert verdict.reasons[0].message == f"commentary has {words} words, 40 needed"


@pytest.mark.parametrize("name", LANGUAGES)
def test_a_verbatim_copy_of_the_source_is_caught(name: str) -> None:
    language = LANGUAGES[name]
    verdict = judge(post(language.source), source=language.source)["content/p.md"]
    assert "copied_from_source" in verdict.codes
    assert verdict.copy_containment == 1.0


@pytest.mark.parametrize("name", LANGUAGES)
def test_a_copy_with_an_own_opening_sentence_is_still_caught(name: str) -> None:
    language = LANGUAGES[name]
    opening = language.short
    verdict = judge(post(f"{opening} {language.source}"), source=language.source)
    assert "copied_from_source" in verdict["content/p.md"].codes


@pytest.mark.parametrize("name", LANGUAGES)
def test_reuse_is_caught_in_every_script(name: str) -> None:
    language = LANGUAGES[name]
    first = post(language.take, "content/first.md", source=False, day=1)
    again = post(f"{language.short} {language.take}", "content/again.md", source=False, day=2)
    verdicts = judge(first, again)
    assert verdicts["content/first.md"].eligible
    assert verdicts["content/again.md"].codes == ["reused_commentary"]


def test_mixed_script_words_add_up() -> None:
    take = "I agree with the 市议会: Sunday hours matter, 特别是对上班的人来说。"
    # seven English words and 3 + 10 ideographs
    assert count_words(take) == 7 + 3 + 10


def test_the_min_words_setting_applies_to_the_words_counted() -> None:
    chinese = LANGUAGES["chinese"]
    strict = evaluate([post(chinese.take)], {}, GateSettings(min_words=200))
    assert strict["content/p.md"].codes == ["too_short", "source_unchecked"]
    assert strict["content/p.md"].reasons[0].message == "commentary has 137 words, 200 needed"


# -- translations are exempt from each other in the reuse rule ------------------------------

EN = "content/small-servers.md"
FR = "content/small-servers-fr.md"
OTHER = "content/again.md"


def make_site(root: Path, **settings: object) -> Path:
    """An English post, its French translation not yet translated (same slug, the
    English commentary as it is), and a later post that pastes the same commentary."""
    untranslated = f"Traduction à venir.\n\n## My take\n\n{TAKE}"
    conf, lang = translated_site(root, untranslated, settings, Date="2026-11-02 10:00")
    write_post(
        root / "content",
        "again",
        f"## My take\n\n{TAKE} One more thing: I answer every email myself.",
        Slug="again",
        Date="2026-11-05 10:00",
        **lang,
    )
    return conf


def reasons(conf: Path) -> dict[str, list[str]]:
    record = site.read_site(site.load_settings(conf))
    return {p.source_path: p.verdict.codes for p in record.posts if p.kind == "article"}


def test_an_untranslated_translation_is_no_reuse(tmp_path: Path) -> None:
    codes = reasons(make_site(tmp_path))
    assert codes[EN] == [] and codes[FR] == []
    assert codes[OTHER] == ["reused_commentary"]  # another post pasting it still is


@pytest.mark.usefixtures("_no_i18n_subsites_afterwards")
def test_an_untranslated_translation_is_no_reuse_with_i18n_subsites(tmp_path: Path) -> None:
    conf = make_site(
        tmp_path,
        PLUGINS=["engage", "i18n_subsites"],
        I18N_SUBSITES={"fr": {"SITENAME": "Site de test"}},
    )
    codes = reasons(conf)
    assert codes[EN] == [] and codes[FR] == []
    assert codes[OTHER] == ["reused_commentary"]
