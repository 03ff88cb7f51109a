"""docs/protocol.md is the contract: it must name everything chat/protocol.py can send or accept."""

from pathlib import Path

from chat.protocol import CLIENT_FRAME_TYPES, SERVER_FRAME_TYPES, CloseCode, ErrorCode

DOC = (Path(__file__).resolve().parents[2] / "docs" / "protocol.md").read_text()


def test_every_frame_type_is_documented():
    for frame_type in CLIENT_FRAME_TYPES + SERVER_FRAME_TYPES:
        assert f"| `{frame_type}` |" in DOC, frame_type


def test_every_error_code_is_documented():
    for code in ErrorCode:
        assert f"| `{code.value}` |" in DOC, code


def test_every_close_code_is_documented():
    for code in CloseCode:
        assert f"| {code.value} | `{code.name}` |" in DOC, code
