"""Relevance scoring: the seed article, a labelled set, rule-file handling.

``tests/fixtures/relevance/labelled.jsonl`` holds invented news items (title, lead,
language, expected label, why), a third each in English, Japanese and Russian, half of
them relevant, many of them traps (Medvedev the tennis player, Australia's Northern
Territory, 北方謙三, 露天風呂, "он курил", G7 lists, Kuril Trench quakes). Each item is its
own test case, so a failure names the item. Add a case by adding a line.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from scrapers.models import Relevance
from scrapers.relevance import (
    FIELDS,
    GROUPS,
    PACKAGED_RULES_DIR,
    RULES_ENV,
    RulesError,
    _Text,
    detect_language,
    load_rules,
    normalize,
    score_relevance,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "relevance"
LABELLED = [
    json.loads(line)
    for line in (FIXTURES / "labelled.jsonl").read_text(encoding="utf-8").splitlines()
    if line.strip()
]
SEED = (
    Path(__file__).resolve().parents[3]
    / "shared"
    / "seed"
    / "cgtn-2019-05-31-japan-russia-joint-economic-activities.txt"
)


@pytest.fixture(autouse=True)
def _packaged_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test scores with the packaged rules unless it points elsewhere itself."""
    monkeypatch.delenv(RULES_ENV, raising=False)


def _terms(result: Relevance, group: str | None = None) -> set[str]:
    return {e.term for e in result.evidence if group is None or e.group == group}


# --- the labelled set ------------------------------------------------------------------


def test_labelled_set_is_balanced() -> None:
    assert len(LABELLED) >= 60
    assert len({item["id"] for item in LABELLED}) == len(LABELLED)
    for language in ("en", "ja", "ru"):
        share = sum(item["language"] == language for item in LABELLED) / len(LABELLED)
        assert 0.28 <= share <= 0.38, language
    relevant = sum(item["relevant"] for item in LABELLED) / len(LABELLED)
    assert 0.45 <= relevant <= 0.55
    assert all(item["reason"] and item["title"] and item["lead"] for item in LABELLED)


@pytest.mark.parametrize("item", LABELLED, ids=[item["id"] for item in LABELLED])
def test_labelled_item(item: dict[str, Any]) -> None:
    for language in (item["language"], None):  # declared, then detected
        result = score_relevance(item["title"], item["lead"], language)
        assert result.relevant is item["relevant"], (
            f"{item['id']} ({item['reason']}): language={language} "
            f"score={result.score} reason={result.reason}"
        )


@pytest.mark.parametrize("item", LABELLED, ids=[item["id"] for item in LABELLED])
def test_labelled_item_language_is_detected(item: dict[str, Any]) -> None:
    assert detect_language(f"{item['title']} {item['lead']}") == item["language"]


# --- the seed article ------------------------------------------------------------------


def test_seed_article_is_relevant_with_evidence() -> None:
    lines = SEED.read_text(encoding="utf-8").splitlines()
    title, body = lines[0], "\n".join(lines[3:])

    result = score_relevance(title, body, "en")

    assert result.relevant and result.score >= 0.8
    assert {"Northern Territories", "Southern Kurils"} <= _terms(result, "bilateral")
    assert {"Lavrov"} <= _terms(result, "russia")
    assert {"Kono", "Japan"} <= _terms(result, "japan")
    assert "peace treaty" in _terms(result, "topic")
    northern = [e for e in result.evidence if e.term == "Northern Territories"]
    assert [(e.field, e.group, e.weight) for e in northern] == [("body", "bilateral", 2.0)]
    assert ("joint economic activities", "title") in {(e.term, e.field) for e in result.evidence}
    assert result.reason.startswith("relevant (")
    assert "Northern Territories" in result.reason


def test_seed_article_is_relevant_without_declared_language() -> None:
    lines = SEED.read_text(encoding="utf-8").splitlines()
    assert score_relevance(lines[0], "\n".join(lines[3:])).relevant


# --- the result's shape ----------------------------------------------------------------


def test_evidence_fields_and_weights() -> None:
    result = score_relevance(
        "Kuril Islands talks stall",
        "Officials in Tokyo blamed Moscow. Kuril Islands residents wait.",
        "en",
        summary="Japan and Russia remain apart.",
    )

    assert {e.field for e in result.evidence} <= set(FIELDS)
    assert {e.group for e in result.evidence} <= set(GROUPS)
    assert all(e.weight > 0 for e in result.evidence)
    assert result.matched == sorted({e.term for e in result.evidence})
    by_field = {e.field: e.weight for e in result.evidence if e.term == "Kuril Islands"}
    assert by_field == {"title": 3.0, "body": 2.0}  # weight 2.0 x title 1.5 / body 1.0
    summary = {(e.term, e.group) for e in result.evidence if e.field == "summary"}
    assert summary == {("Japan", "japan"), ("Russia", "russia")}
    # one Evidence per term and field, however often the term occurs there
    assert len({(e.term, e.field) for e in result.evidence}) == len(result.evidence)


def test_empty_item_scores_zero() -> None:
    result = score_relevance("", "")
    assert result == Relevance(
        score=0.0, relevant=False, matched=[], evidence=[], reason=result.reason
    )
    assert "no rule term matched" in result.reason


def test_score_stays_in_range_and_grows_with_evidence() -> None:
    steps = [
        ("Markets", "Shares rose."),
        ("Markets", "Shares rose in Tokyo."),
        ("Markets", "Shares rose in Tokyo and Moscow."),
        ("Japan and Russia", "Shares rose in Tokyo and Moscow."),
        ("Japan and Russia sign fisheries deal", "Shares rose in Tokyo and Moscow."),
        ("Japan and Russia sign fisheries deal", "Fishing near the Kuril Islands resumes."),
        (
            "Japan and Russia sign fisheries deal near Kuril Islands",
            "Fishing near the Kuril Islands and Shikotan resumes, Lavrov and Motegi said.",
        ),
    ]
    scores = [score_relevance(title, body, "en").score for title, body in steps]
    assert all(0.0 <= s < 1.0 for s in scores)
    assert scores == sorted(scores), scores
    assert scores[0] == 0.0 and scores[-1] > 0.8


def test_one_sided_evidence_is_never_relevant() -> None:
    body = " ".join(
        ["Putin, Lavrov, Peskov, Shoigu and Zakharova met in the Kremlin in Moscow."] * 20
    )
    result = score_relevance("Russia, Russia, Russia", body, "en")
    assert not result.relevant and result.score <= 0.3
    assert "only russia-side terms" in result.reason


# --- languages -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ロシアと日本", "ja"),
        ("北方領土問題", "ja"),  # kanji only
        ("Россия и Япония", "ru"),
        ("Japan and Russia", "en"),
        ("", "en"),
        ("Protesters in Tokyo chanted 北方領土を返せ as the Russian envoy arrived.", "en"),
        ("В японских СМИ острова называют 北方領土.", "ru"),
    ],
)
def test_detect_language(text: str, expected: str) -> None:
    assert detect_language(text) == expected


@pytest.mark.parametrize("language", ["ja", "ja-JP", "JA", "ja_JP", "de", None])
def test_language_argument_is_normalised(language: str | None) -> None:
    result = score_relevance("日ロ首脳会談", "", language)
    assert result.relevant and result.reason.startswith("relevant (") and ", ja)" in result.reason


def test_other_languages_bilateral_terms_always_apply() -> None:
    quoted = score_relevance("Японские СМИ", "Острова в Японии называют 北方領土.", "ru")
    assert ("北方領土", "bilateral") in {(e.term, e.group) for e in quoted.evidence}
    assert quoted.relevant

    cyrillic = score_relevance("Island names", "Locals on Итуруп use the Russian name.", "en")
    assert "Итуруп" in _terms(cyrillic, "bilateral")

    # ... but not their japan/russia/topic terms: a Cyrillic "Россия" in English is not evidence
    stray = score_relevance("Market report", "The Россия bank and the 日本 fund.", "en")
    assert stray.evidence == []


# --- language-specific matching ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "russia_side"),
    [
        ("日露首脳会談", True),
        ("対露制裁を強化", True),
        ("露外相が来日", True),
        ("露大統領府", True),
        ("訪露した議員団", True),
        ("ロシア軍の演習", True),
        ("対ロ制裁", True),
        ("露天風呂の人気", False),
        ("新作を披露した", False),
        ("内部文書を暴露", False),
        ("肌の露出を控える", False),
        ("問題が露呈した", False),
        ("朝露に濡れた庭", False),
        ("ロシアンブルーの子猫", False),
        ("有明コロシアムで決勝", False),
        ("プロ野球の開幕", False),
        ("毎日ロードショー", False),
    ],
)
def test_japanese_ro_only_in_compounds(text: str, russia_side: bool) -> None:
    result = score_relevance(text, "", "ja")
    groups = {e.group for e in result.evidence}
    assert bool(groups & {"russia", "bilateral"}) is russia_side, result.evidence


def test_kitakata_kenzo_is_not_the_northern_territories() -> None:
    result = score_relevance("北方謙三さんが新作", "作家の北方謙三さんが北方の港町を描く。", "ja")
    assert not result.relevant and _terms(result, "bilateral") == set()
    assert "北方謙三" in result.reason


@pytest.mark.parametrize(
    ("text", "term"),
    [
        ("Курилы", "Курилы"),
        ("жители Курил", "Курилы"),
        ("на Курильских островах", "Курилы"),
        ("Южные Курилы", "Южные Курилы"),
        ("на Итурупе", "Итуруп"),
        ("у Кунашира", "Кунашир"),
        ("Японии", "Япония"),
        ("в Японию", "Япония"),
        ("японской стороны", "японский"),
        ("японцы", "японский"),
        ("России", "Россия"),
        ("российский", "российский"),
        ("Москвы", "Москва"),
        ("Кремля", "Кремль"),
        ("мирного договора", "мирный договор"),
        ("Посол Ноздрёв", "Ноздрев"),  # ё folded to е
        ("ЯПОНИЯ", "Япония"),
    ],
)
def test_russian_word_forms(text: str, term: str) -> None:
    assert term in score_relevance(text, "", "ru").matched


@pytest.mark.parametrize(
    "text",
    [
        "Он курил на балконе",
        "Курил ли он раньше, неизвестно",
        "курильщики в Москве",
        "На Камчатке началась путина",
        "Ветер нес тучи песков",
    ],
)
def test_russian_homographs_are_not_names(text: str) -> None:
    matched = set(score_relevance(text, "", "ru").matched)
    assert not matched & {"Курилы", "Путин", "Песков"}


@pytest.mark.parametrize(
    ("text", "expected", "absent"),
    [
        ("Japanese knotweed spreads", set(), {"Japanese"}),
        ("Floods in the Northern Territory", set(), {"Northern Territories"}),
        ("Rally for the Northern Territories", {"Northern Territories"}, set()),
        ("Kurils and Kuriles", {"Kuril Islands"}, set()),
        ("Abel Tasman and the Abenaki", set(), {"Abe"}),
        ("ＪＡＰＡＮ ａｎｄ ＲＵＳＳＩＡ", {"Japan", "Russia"}, set()),  # full-width: NFKC
        ("Russia-Japan ties", {"Japan-Russia"}, set()),
    ],
)
def test_english_word_boundaries(text: str, expected: set[str], absent: set[str]) -> None:
    matched = set(score_relevance(text, "", "en").matched)
    assert expected <= matched and not absent & matched


@pytest.mark.parametrize(
    ("title", "lead"),
    [
        ("Magnitude 6 quake strikes off the Kuril Islands", "No tsunami warning was issued."),
        (
            "Medvedev wins in Tokyo",
            "Russian Daniil Medvedev beat a Japanese qualifier at the ATP event.",
        ),
        (
            "G7 ministers meet",
            "Ministers of Britain, Canada, France, Germany, Italy, Japan and "
            "the United States condemned Russia.",
        ),
    ],
)
def test_exclusions_are_named_in_the_reason(title: str, lead: str) -> None:
    result = score_relevance(title, lead, "en")
    assert not result.relevant
    assert "exclusions:" in result.reason


# --- rule files -------------------------------------------------------------------------


def test_packaged_rules_load_and_are_cached() -> None:
    rules = load_rules()
    assert set(rules) == {"en", "ja", "ru"}
    assert load_rules() is rules
    assert load_rules(PACKAGED_RULES_DIR) is rules
    for ruleset in rules.values():
        assert set(ruleset.groups) == set(GROUPS)
        assert ruleset.scoring.unpaired_cap < ruleset.scoring.threshold


def test_rules_dir_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(RULES_ENV, str(FIXTURES / "rules_custom"))

    custom = score_relevance("Ferry strike on the Zephyr Isles", "")
    assert custom.relevant and custom.matched == ["Zephyr Isles"]
    assert custom.score == 0.6  # this directory's own scoring: 1.5 / (1.5 + 1.0)
    assert not score_relevance("Zephyr Isles ferry timetable", "").relevant
    assert score_relevance("Конфликт вокруг Зефировых островов", "").relevant
    assert not score_relevance("Russia stages drills on the Kuril Islands", "").relevant

    monkeypatch.delenv(RULES_ENV)
    assert score_relevance("Russia stages drills on the Kuril Islands", "").relevant


def _broken_dir(tmp_path: Path, en_toml: str) -> Path:
    for name in ("ja.toml", "ru.toml"):
        shutil.copy(FIXTURES / "rules_custom" / name, tmp_path / name)
    (tmp_path / "en.toml").write_text(en_toml, encoding="utf-8")
    return tmp_path


def test_broken_rules_file_lists_every_problem(tmp_path: Path) -> None:
    directory = _broken_dir(
        tmp_path,
        """
language = "en"
colour = "red"

[scoring]
threshold = 0.5
unpaired_cap = 0.7
speed = 3

[groups.bilateral]
terms = [
  { name = "Bad regex", regex = '(Kuril' },
  { name = "Both", phrase = "Habomai", regex = 'Habomai' },
  { name = "Neither" },
  { name = "Heavy", phrase = "Shikotan", weight = "a lot" },
  { name = "Named", regex = '(?P<x>Iturup)' },
  { name = "Empty", regex = 'x*' },
  { name = "Dup", phrase = "Kunashir" },
  { name = "Dup", phrase = "Kunashiri" },
]

[groups.asia]
terms = [{ name = "Seoul", phrase = "Seoul" }]

[[exclude]]
name = "Scaler"
phrase = "tennis"
action = "scale"
applies_to = ["nobody"]
scale = 2
""",
    )
    with pytest.raises(RulesError) as caught:
        load_rules(directory)
    message = str(caught.value)
    assert str(directory / "en.toml") in message
    for problem in [
        "unknown top-level key 'colour'",
        "'unpaired_cap' must be below 'threshold'",
        "scoring: unknown key 'speed'",
        "('Bad regex'): invalid regex '(Kuril'",
        "('Both'): give exactly one of 'phrase' or 'regex'",
        "('Neither'): give exactly one of 'phrase' or 'regex'",
        "('Heavy'): 'weight' must be a number",
        "('Named'): regex may not use named groups",
        "('Empty'): regex 'x*' matches the empty string",
        "('Dup'): duplicate term name",
        "groups.asia: unknown group",
        "applies_to names unknown group or term 'nobody'",
        "'scale' must be between 0 and 1",
    ]:
        assert problem in message, problem


def test_rules_file_with_toml_syntax_error(tmp_path: Path) -> None:
    directory = _broken_dir(tmp_path, 'language = "en"\n[groups.japan\nterms = []\n')
    with pytest.raises(RulesError, match=r"en\.toml: not valid TOML: .*line 2"):
        load_rules(directory)


def test_missing_rules_file(tmp_path: Path) -> None:
    shutil.copy(FIXTURES / "rules_custom" / "en.toml", tmp_path / "en.toml")
    with pytest.raises(RulesError, match=r"ja\.toml: rule file not found"):
        load_rules(tmp_path)


# --- speed ------------------------------------------------------------------------------


def _alternations() -> list[Any]:
    found = []
    for ruleset in load_rules().values():
        found += list(ruleset.groups.values())
        found += [ruleset.mask] if ruleset.mask else []
        found += [context.trigger for context in ruleset.contexts]
    return found


def test_anchored_matching_equals_a_full_scan() -> None:
    """The literal-key shortcut must find exactly what ``pattern.finditer`` finds."""
    texts = [SEED.read_text(encoding="utf-8")]
    texts += [f"{item['title']}\n{item['lead']}" for item in LABELLED]
    for text in map(normalize, texts):
        for alternation in _alternations():
            assert alternation.keys is not None, alternation.pattern.pattern[:80]
            full = [(m.lastgroup, m.start(), m.end()) for m in alternation.pattern.finditer(text)]
            assert list(alternation.finditer(_Text(text))) == full


def test_scoring_a_5kb_body_is_fast() -> None:
    body = (SEED.read_text(encoding="utf-8") * 2)[:5000]
    score_relevance("Japan, Russia discuss", body, "en")  # load and compile the rules
    runs = 50
    started = time.perf_counter()
    for _ in range(runs):
        score_relevance("Japan, Russia discuss", body, "en")
    per_item = (time.perf_counter() - started) / runs
    assert per_item < 0.02, f"{per_item * 1000:.1f} ms per 5 KB item"  # ~1 ms on a laptop
