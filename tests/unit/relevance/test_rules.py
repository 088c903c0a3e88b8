"""Relevance rule files: loading, caching, the rules-directory override, broken files.

The packaged rules and the tag vocabulary as data are checked in test_scoring.py, next to
the labelled sets they are tuned on.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from scrapers.relevance.rules import (
    GROUPS,
    PACKAGED_RULES_DIR,
    RULES_ENV,
    TAG_GROUP,
    RulesError,
    load_rules,
    tag_vocabulary,
)
from scrapers.relevance.scoring import score_relevance
from tests.conftest import FIXTURES as ALL_FIXTURES

FIXTURES = ALL_FIXTURES / "relevance"


def test_packaged_rules_load_and_are_cached() -> None:
    rules = load_rules()
    assert set(rules) == {"en", "ja", "ru"}
    assert load_rules() is rules
    assert load_rules(PACKAGED_RULES_DIR) is rules
    for ruleset in rules.values():
        assert set(ruleset.groups) == {*GROUPS, TAG_GROUP}
        assert ruleset.scoring.unpaired_cap < ruleset.scoring.threshold


def test_rules_dir_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(RULES_ENV, str(FIXTURES / "rules_custom"))

    custom = score_relevance("Ferry strike on the Zephyr Isles", "")
    assert custom.relevant and custom.matched == ["Zephyr Isles"]
    assert custom.score == 0.6  # this directory's own scoring: 1.5 / (1.5 + 1.0)
    assert not score_relevance("Zephyr Isles ferry timetable", "").relevant
    # the exclusion's `unless` keeps it from firing
    assert score_relevance("Zephyr Isles ferry timetable under blockade", "").relevant
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
candidate_threshold = 0.8
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
  { name = "Tagged", phrase = "Etorofu", tags = ["theme:nope"] },
  { name = "Badly tagged", phrase = "Iturup", tags = "theme:nope" },
]

[groups.asia]
terms = [{ name = "Seoul", phrase = "Seoul" }]

[[exclude]]
name = "Scaler"
phrase = "tennis"
action = "scale"
applies_to = ["nobody"]
scale = 2

[[exclude]]
name = "Masker"
phrase = "chess"
unless = "boxing"

[[exclude]]
name = "Bad unless"
phrase = "golf"
action = "scale"
applies_to = ["japan"]
unless = "(golf"
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
        "('Masker'): 'applies_to'/'scale'/'keep_tags'/'unless' only go with action = \"scale\"",
        "('Bad unless') (unless): invalid regex '(golf'",
        "'candidate_threshold' must be in (0, threshold]",
        "('Tagged'): unknown tag 'theme:nope' (declare it in tags.toml)",
        "('Badly tagged'): 'tags' must be a list of \"kind:id\" strings",
    ]:
        assert problem in message, problem


def test_broken_tag_vocabulary(tmp_path: Path) -> None:
    for name in ("en.toml", "ja.toml", "ru.toml"):
        shutil.copy(FIXTURES / "rules_custom" / name, tmp_path / name)
    (tmp_path / "tags.toml").write_text(
        '[theme]\nok = "fine"\n"Not Snake" = "x"\nempty = ""\n[colour]\nred = "red"\n',
        encoding="utf-8",
    )
    with pytest.raises(RulesError) as caught:
        load_rules(tmp_path)
    message = str(caught.value)
    assert "tags.toml: 3 problem(s) in tag vocabulary" in message
    assert "theme.Not Snake: tag id must be snake_case" in message
    assert "theme.empty: meaning must be a non-empty string" in message
    assert "unknown tag kind [colour]" in message


def test_a_rules_directory_without_vocabulary_has_no_tags(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(RULES_ENV, str(FIXTURES / "rules_custom"))
    assert tag_vocabulary() == {}
    assert score_relevance("Ferry strike on the Zephyr Isles", "").tags == []


def test_rules_file_with_toml_syntax_error(tmp_path: Path) -> None:
    directory = _broken_dir(tmp_path, 'language = "en"\n[groups.japan\nterms = []\n')
    with pytest.raises(RulesError, match=r"en\.toml: not valid TOML: .*line 2"):
        load_rules(directory)


def test_missing_rules_file(tmp_path: Path) -> None:
    shutil.copy(FIXTURES / "rules_custom" / "en.toml", tmp_path / "en.toml")
    with pytest.raises(RulesError, match=r"ja\.toml: rule file not found"):
        load_rules(tmp_path)
