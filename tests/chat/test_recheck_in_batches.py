"""Every socket due for its periodic re-check is answered together, with three queries, and each
gets the answer it would have got alone: a busy group costs the database the same whatever its size.
"""

import pytest
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore

from chat.protocol import CloseCode
from chat.recheck import verdicts
from groups.models import Membership, MembershipState
from tests.conftest import make_person

pytestmark = pytest.mark.django_db


def session_for(user) -> str:
    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return store.session_key


def test_each_socket_gets_the_answer_it_would_get_alone(group, member, second_member, facilitator, outsider):
    jo = make_person("Jo")
    Membership.objects.create(user=jo, group=group, state=MembershipState.BANNED)
    sam, alex, robin, casey, jos = (session_for(p) for p in (member, second_member, facilitator, outsider, jo))
    Membership.objects.filter(user=second_member, group=group).update(state=MembershipState.LEFT)
    facilitator.set_password("a-new-calm-password-42")  # logs Robin's old sessions out
    facilitator.save()
    keys = [
        (sam, member.pk, group.pk),
        (alex, second_member.pk, group.pk),
        (robin, facilitator.pk, group.pk),
        (casey, outsider.pk, group.pk),
        (jos, jo.pk, group.pk),
        (sam, second_member.pk, group.pk),  # someone else's session
        (None, member.pk, group.pk),
    ]
    assert verdicts(keys) == {
        keys[0]: None,
        keys[1]: CloseCode.MEMBERSHIP_ENDED,
        keys[2]: CloseCode.NOT_LOGGED_IN,
        keys[3]: CloseCode.NOT_LOGGED_IN,
        keys[4]: CloseCode.BANNED,
        keys[5]: CloseCode.NOT_LOGGED_IN,
        keys[6]: CloseCode.NOT_LOGGED_IN,
    }


def test_a_hundred_sockets_are_rechecked_with_three_queries(group, django_assert_num_queries):
    people = [make_person(f"Member {n}") for n in range(100)]
    for person in people:
        Membership.objects.create(user=person, group=group, state=MembershipState.ACTIVE, accepted_version=1)
    keys = [(session_for(person), person.pk, group.pk) for person in people]
    # 1. the sessions, 2. their people, 3. the memberships.
    with django_assert_num_queries(3):
        answers = verdicts(keys)
    assert set(answers.values()) == {None}
