"""People arriving and leaving at the same moment: the "here now" list everyone keeps names them right.

Sockets keep the list with the latest time (chat.broadcast.on_commit_presence). An arrival or departure
commits its change first, then dates the list, then reads it (chat.room), so the latest list sees every
change dated before it, in any server process, without taking turns.
"""

import threading

import pytest
from django.db import connection

from chat import room

pytestmark = pytest.mark.django_db(transaction=True)


def names(here: list[dict]) -> list[str]:
    return sorted(person["pseudonym"] for person in here)


def on_its_own_connection(work, name: str | None = None):
    def run() -> None:
        try:
            work()
        finally:
            connection.close()

    thread = threading.Thread(target=run, name=name)
    thread.start()
    return thread


def test_an_arrival_whose_list_is_read_late_still_names_everyone(group, member, second_member, monkeypatch):
    # Sam's arrival has committed but his list is not read yet when Alex arrives: Alex's list names both,
    # and so does Sam's, read later; whichever everyone keeps is right.
    sam_committed, alex_done = threading.Event(), threading.Event()
    read_here_now = room.here_now

    def sam_reads_late(group_id):
        if threading.current_thread().name == "sam":
            sam_committed.set()
            assert alex_done.wait(10)
        return read_here_now(group_id)

    monkeypatch.setattr(room, "here_now", sam_reads_late)
    lists: dict[str, tuple[list[str], float]] = {}

    def sam_arrives() -> None:
        here, at = room.arrive(member.pk, group.pk, "sam-socket")
        lists["sam"] = (names(here), at)

    sam = on_its_own_connection(sam_arrives, name="sam")
    assert sam_committed.wait(10)
    here, at = room.arrive(second_member.pk, group.pk, "alex-socket")
    lists["alex"] = (names(here), at)
    alex_done.set()
    sam.join(10)
    connection.close()
    assert lists["alex"][0] == ["Alex", "Sam"]
    assert lists["sam"][0] == ["Alex", "Sam"]


def test_the_newest_list_of_many_arrivals_at_once_names_everyone(group, member, second_member, facilitator):
    lists: list[tuple[float, list[str]]] = []
    people = {"sam": member, "alex": second_member, "fran": facilitator}

    def arrives(name: str):
        def work() -> None:
            here, at = room.arrive(people[name].pk, group.pk, f"{name}-socket")
            lists.append((at, names(here)))

        return work

    for thread in [on_its_own_connection(arrives(name)) for name in people]:
        thread.join(10)
    newest = max(lists)
    assert newest[1] == names(room.here_now(group.pk)) == sorted(person.pseudonym for person in people.values())


def test_a_departure_during_an_arrival_leaves_the_newest_list_right(group, member, second_member):
    room.arrive(member.pk, group.pk, "sam-socket")
    lists: list[tuple[float, list[str]]] = []

    def alex_arrives() -> None:
        here, at = room.arrive(second_member.pk, group.pk, "alex-socket")
        lists.append((at, names(here)))

    def sam_leaves() -> None:
        room.depart(group.pk, "sam-socket")
        lists.append((room.timezone.now().timestamp(), names(room.here_now(group.pk))))

    for thread in [on_its_own_connection(alex_arrives), on_its_own_connection(sam_leaves)]:
        thread.join(10)
    assert max(lists)[1] == ["Alex"]
