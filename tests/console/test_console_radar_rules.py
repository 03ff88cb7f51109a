"""The wellbeing radar's rules, on a clock moved by hand: who a facilitator may want to check on, and why.

Pure core (console.radar): no database, no sockets. The negatives matter as much as the positives.
"""

from datetime import UTC, datetime, timedelta

from console.radar import MemberDay, Reason, Thresholds, concerns_for, radar

SESSION_START = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)
DEFAULTS = Thresholds(silence_minutes=20, quiet_after_reply_minutes=10)


def minutes(n: float) -> datetime:
    return SESSION_START + timedelta(minutes=n)


def reasons(member: MemberDay, *, now: datetime, live: bool = True, thresholds: Thresholds = DEFAULTS) -> list[Reason]:
    started = SESSION_START if live else None
    return [c.reason for c in concerns_for(member, now=now, session_started_at=started, thresholds=thresholds)]


SAM = dict(user_id=1, pseudonym="Sam")


def test_a_member_silent_for_the_threshold_of_a_live_session_is_flagged():
    sam = MemberDay(**SAM, here=True, arrived_at=SESSION_START)
    assert reasons(sam, now=minutes(20)) == [Reason.SILENT]
    [concern] = concerns_for(sam, now=minutes(25), session_started_at=SESSION_START, thresholds=DEFAULTS)
    assert concern.text == "Hasn't said anything for 25 minutes of this session."


def test_a_member_is_not_flagged_one_minute_before_the_threshold():
    sam = MemberDay(**SAM, here=True, arrived_at=SESSION_START)
    assert reasons(sam, now=minutes(19.9)) == []


def test_silence_counts_from_when_they_last_spoke_or_arrived():
    spoke = MemberDay(**SAM, here=True, arrived_at=SESSION_START, last_spoke_at=minutes(10))
    assert reasons(spoke, now=minutes(29)) == []
    assert reasons(spoke, now=minutes(30)) == [Reason.SILENT]
    late = MemberDay(**SAM, here=True, arrived_at=minutes(15))
    assert reasons(late, now=minutes(34)) == []


def test_a_member_who_said_they_would_only_listen_today_is_not_flagged_for_silence():
    listening = MemberDay(**SAM, here=True, arrived_at=SESSION_START, listening_today=True)
    assert reasons(listening, now=minutes(55)) == []


def test_a_check_in_need_for_quiet_also_means_listening_today():
    quiet = MemberDay(**SAM, here=True, arrived_at=SESSION_START, checkin_feelings=("calm",), checkin_need="quiet")
    assert reasons(quiet, now=minutes(55)) == []


def test_silence_is_not_flagged_outside_a_live_session_or_for_someone_not_here():
    sam = MemberDay(**SAM, here=True, arrived_at=SESSION_START)
    assert reasons(sam, now=minutes(55), live=False) == []
    away = MemberDay(**SAM, here=False)
    assert reasons(away, now=minutes(55)) == []


def test_thresholds_are_per_group():
    sam = MemberDay(**SAM, here=True, arrived_at=SESSION_START)
    patient = Thresholds(silence_minutes=45, quiet_after_reply_minutes=10)
    assert reasons(sam, now=minutes(30), thresholds=patient) == []
    assert reasons(sam, now=minutes(45), thresholds=patient) == [Reason.SILENT]


def test_going_quiet_after_a_hard_reply_is_flagged_after_its_threshold():
    sam = MemberDay(**SAM, here=True, arrived_at=SESSION_START, last_spoke_at=minutes(5), hard_reply_at=minutes(6))
    assert reasons(sam, now=minutes(15)) == []
    [concern] = concerns_for(sam, now=minutes(16), session_started_at=SESSION_START, thresholds=DEFAULTS)
    assert concern.reason == Reason.QUIET_AFTER_HARD_REPLY
    assert concern.text == "Went quiet after a hard reply to them 10 minutes ago."


def test_speaking_again_after_a_hard_reply_clears_it():
    sam = MemberDay(**SAM, here=True, arrived_at=SESSION_START, last_spoke_at=minutes(8), hard_reply_at=minutes(6))
    assert reasons(sam, now=minutes(20)) == []


def test_leaving_mid_session_is_flagged_until_they_come_back():
    gone = MemberDay(**SAM, here=False, arrived_at=SESSION_START, left_at=minutes(12), last_spoke_at=minutes(11))
    [concern] = concerns_for(gone, now=minutes(13), session_started_at=SESSION_START, thresholds=DEFAULTS)
    assert concern.reason == Reason.LEFT_ABRUPTLY
    assert concern.text == "Left the session at 18:12 UTC and hasn't come back."
    back = MemberDay(**SAM, here=True, arrived_at=SESSION_START, left_at=None, last_spoke_at=minutes(11))
    assert reasons(back, now=minutes(13)) == []


def test_a_difficult_check_in_feeling_is_named_and_an_easy_one_is_not():
    hard = MemberDay(**SAM, checkin_feelings=("tired", "overwhelmed", "lonely"))
    [concern] = concerns_for(hard, now=minutes(1), session_started_at=None, thresholds=DEFAULTS)
    assert concern.text == "Checked in today feeling overwhelmed and lonely."
    easy = MemberDay(**SAM, checkin_feelings=("calm", "hopeful", "tired"))
    assert reasons(easy, now=minutes(1), live=False) == []


def test_crisis_and_self_criticism_today_come_first():
    sam = MemberDay(
        **SAM,
        here=True,
        arrived_at=SESSION_START,
        checkin_feelings=("sad",),
        flagged_today=frozenset({"self_criticism", "crisis"}),
    )
    assert reasons(sam, now=minutes(25)) == [
        Reason.CRISIS_TODAY,
        Reason.SELF_CRITICISM_TODAY,
        Reason.DIFFICULT_CHECKIN,
        Reason.SILENT,
    ]


def test_the_radar_lists_only_people_with_a_reason_most_urgent_first():
    members = [
        MemberDay(user_id=1, pseudonym="Sam", here=True, arrived_at=SESSION_START),
        MemberDay(user_id=2, pseudonym="Alex", flagged_today=frozenset({"crisis"})),
        MemberDay(user_id=3, pseudonym="Jo", here=True, arrived_at=SESSION_START, last_spoke_at=minutes(24)),
    ]
    entries = radar(members, now=minutes(25), session_started_at=SESSION_START, thresholds=DEFAULTS)
    assert [entry.pseudonym for entry in entries] == ["Alex", "Sam"]
    assert entries[0].to_wire()["concerns"][0]["reason"] == "crisis_today"
