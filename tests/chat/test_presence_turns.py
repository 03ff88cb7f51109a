"""Two people arriving at the same moment each end up in the "here now" list everyone keeps.

Arrivals and departures in a group take turns (chat.room): on PostgreSQL with a lock for the length
of the change, on SQLite because its writers take turns anyway. Without that, each of two arrivals
read the list before the other's was committed, and the list sent last missed someone who was here.
"""

import threading

import pytest
from django.db import connection, transaction

from chat import room

pytestmark = pytest.mark.django_db(transaction=True)


def names(here: list[dict]) -> list[str]:
    return sorted(person["pseudonym"] for person in here)


def second_waits_for_first(first, second) -> bool:
    """Run ``first`` in a transaction held open while ``second`` starts on another connection; then let
    it commit. Whether ``second`` was still waiting half a second in."""
    first_inside, let_first_finish = threading.Event(), threading.Event()

    def hold_first() -> None:
        try:
            with transaction.atomic():
                first()
                first_inside.set()
                let_first_finish.wait(10)
        finally:
            connection.close()

    def then_second() -> None:
        try:
            second()
        finally:
            connection.close()

    one, two = threading.Thread(target=hold_first), threading.Thread(target=then_second)
    one.start()
    assert first_inside.wait(10)
    two.start()
    two.join(0.5)
    waited = two.is_alive()
    let_first_finish.set()
    one.join(10)
    two.join(10)
    return waited


def test_an_arrival_during_another_waits_its_turn_and_its_list_names_both(group, member, second_member):
    lists: dict[str, list[str]] = {}

    def sam_arrives() -> None:
        lists["sam"] = names(room.arrive(member.pk, group.pk, "sam-socket")[0])

    def alex_arrives() -> None:
        lists["alex"] = names(room.arrive(second_member.pk, group.pk, "alex-socket")[0])

    assert second_waits_for_first(sam_arrives, alex_arrives), "Alex's arrival did not wait for Sam's"
    assert lists["sam"] == ["Sam"]
    assert lists["alex"] == ["Alex", "Sam"]  # the later list, the one everyone keeps, names both
    assert names(room.here_now(group.pk)) == ["Alex", "Sam"]


def test_a_departure_during_an_arrival_waits_its_turn(group, member, second_member):
    room.arrive(member.pk, group.pk, "sam-socket")
    lists: dict[str, list[str]] = {}

    def alex_arrives() -> None:
        lists["alex"] = names(room.arrive(second_member.pk, group.pk, "alex-socket")[0])

    def sam_leaves() -> None:
        room.depart(group.pk, "sam-socket")
        lists["after sam left"] = names(room.here_now(group.pk))

    assert second_waits_for_first(alex_arrives, sam_leaves)
    assert lists == {"alex": ["Alex", "Sam"], "after sam left": ["Alex"]}
