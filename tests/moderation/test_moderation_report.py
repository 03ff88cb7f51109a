"""`manage.py moderation_report`: the engine's quality on the labelled set, with targets that fail loudly."""

import io
import json

import pytest
from django.core.management import CommandError, call_command

from moderation.management.commands.moderation_report import DEFAULT_DATA


def write_examples(path, examples):
    path.write_text("".join(json.dumps(example) + "\n" for example in examples))
    return path


def test_the_labelled_set_is_big_balanced_and_has_a_holdout():
    examples = [json.loads(line) for line in DEFAULT_DATA.read_text().splitlines() if line.strip()]
    assert len(examples) >= 320
    assert sum(not example["categories"] for example in examples) / len(examples) >= 0.40
    holdout = sum(example["split"] == "holdout" for example in examples) / len(examples)
    assert 0.2 <= holdout <= 0.3
    assert len({example["text"] for example in examples}) == len(examples)


def test_the_repository_set_meets_every_target(tmp_path):
    out = io.StringIO()
    figures_path = tmp_path / "figures.json"
    call_command("moderation_report", json_path=str(figures_path), stdout=out)
    printed = out.getvalue()
    assert "All targets met" in printed
    assert "holdout:" in printed and "dev:" in printed
    report = json.loads(figures_path.read_text())
    assert report["passed"] is True
    whole = report["splits"]["all"]
    assert whole["categories"]["crisis"]["recall"] >= 0.95
    assert all(row["recall"] >= 0.85 for row in whole["categories"].values())
    assert whole["no_category_flagged_rate"] <= 0.05


def test_it_prints_json_to_stdout_when_no_path_is_given(tmp_path):
    data = write_examples(tmp_path / "tiny.jsonl", [{"text": "i want to die", "categories": ["crisis"]}])
    out = io.StringIO()
    call_command("moderation_report", data=data, json_path="-", stdout=out)
    report = json.loads(out.getvalue())
    assert report["splits"]["all"]["categories"]["crisis"] == {"precision": 1.0, "recall": 1.0, "support": 1}


def test_it_fails_when_crisis_recall_drops_below_target(tmp_path):
    data = write_examples(
        tmp_path / "missed.jsonl",
        [
            {"text": "i want to die", "categories": ["crisis"]},
            {"text": "the sky is falling and so am i", "categories": ["crisis"]},
        ],
    )
    with pytest.raises(CommandError, match="crisis recall 0.50 is below 0.95"):
        call_command("moderation_report", data=data, stdout=io.StringIO())


def test_it_fails_when_too_many_clean_messages_are_flagged(tmp_path):
    data = write_examples(
        tmp_path / "noisy.jsonl",
        [{"text": "you should just eat more", "categories": []}] + [{"text": "hello", "categories": []}] * 9,
    )
    with pytest.raises(CommandError, match="10.0% of messages with no category were flagged"):
        call_command("moderation_report", data=data, stdout=io.StringIO())


def test_it_names_the_line_of_a_bad_label(tmp_path):
    data = tmp_path / "bad.jsonl"
    data.write_text('{"text": "hi", "categories": ["rude"]}\n')
    with pytest.raises(CommandError, match="bad.jsonl:1 has unknown categories: rude"):
        call_command("moderation_report", data=data, stdout=io.StringIO())


def test_it_scores_a_file_with_both_stages_and_prints_the_crisis_and_clean_figures(tmp_path):
    data = write_examples(
        tmp_path / "sealed.jsonl",
        [
            {"text": "i want to die", "categories": ["crisis"], "crisis_kind": "suicide"},
            {
                "text": "he's hitting mum again and i'm scared he's coming upstairs next",
                "categories": ["crisis"],
                "crisis_kind": "danger_at_home",
            },
            {"text": "you should just eat more", "categories": ["advice"]},
            {"text": "had a lovely walk with my dog today", "categories": []},
            {"text": "this commute is killing me lol", "categories": [], "hard_negative": True},
        ],
    )
    out = io.StringIO()
    call_command("moderation_report", data=data, second_opinion=True, stdout=out)
    printed = out.getvalue()
    assert "crisis reached (card or alert): 1.000 of 2" in printed
    assert "crisis with the card:           1.000" in printed
    assert "clean messages acted on:        0.000 of 2" in printed
    assert "clean messages alerted:         0.000" in printed

    out = io.StringIO()
    call_command("moderation_report", data=data, second_opinion=True, json_path="-", stdout=out)
    report = json.loads(out.getvalue())
    whole = report["splits"]["all"]
    assert report["stages"] == ["engine", "second_opinion"] and report["passed"] is True
    assert whole["crisis_kind_right"] == 1.0
    assert whole["categories"]["advice"] == {"precision": 1.0, "recall": 1.0, "support": 1}


def test_both_stages_fail_loudly_below_a_goal(tmp_path):
    data = write_examples(tmp_path / "hard.jsonl", [{"text": "had a lovely walk", "categories": ["crisis"]}])
    with pytest.raises(CommandError, match="crisis reached 0.00 is below 0.95"):
        call_command("moderation_report", data=data, second_opinion=True, stdout=io.StringIO())
