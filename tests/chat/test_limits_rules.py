"""The pure rules behind the rate limit and slow mode (chat.limits)."""

from datetime import UTC, datetime, timedelta

from chat.limits import RateLimit, wait_before_posting
from chat.protocol import ErrorCode

NOW = datetime(2026, 11, 25, 18, 0, 0, tzinfo=UTC)


def seconds_ago(*seconds: float) -> list[datetime]:
    return [NOW - timedelta(seconds=s) for s in seconds]


def test_a_first_message_may_always_be_posted():
    assert wait_before_posting([], NOW, slow_mode_seconds=60) is None


def test_the_ninth_message_in_ten_seconds_waits_until_the_oldest_leaves_the_window():
    recent = seconds_ago(0.5, 1, 2, 3, 4, 5, 6, 7.2)
    wait = wait_before_posting(recent, NOW)
    assert wait.code == ErrorCode.RATE_LIMITED
    assert wait.retry_after == 3  # 10 - 7.2 = 2.8, rounded up


def test_messages_older_than_the_window_do_not_count():
    assert wait_before_posting(seconds_ago(1, 2, 3, 4, 5, 6, 7, 11), NOW) is None


def test_slow_mode_waits_from_the_last_message():
    wait = wait_before_posting(seconds_ago(20), NOW, slow_mode_seconds=30)
    assert (wait.code, wait.retry_after) == (ErrorCode.SLOW_MODE, 10)
    assert wait_before_posting(seconds_ago(31), NOW, slow_mode_seconds=30) is None


def test_a_wait_is_never_less_than_a_second():
    wait = wait_before_posting(seconds_ago(29.99), NOW, slow_mode_seconds=30)
    assert wait.retry_after == 1


def test_a_custom_limit_applies():
    assert wait_before_posting(seconds_ago(1, 2), NOW, limit=RateLimit(messages=2, window_seconds=5)).retry_after == 3
