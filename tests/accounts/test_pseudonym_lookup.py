"""Finding a person by pseudonym, in any case, reads one index entry, never the whole table:
every login and every sign-up does it, so its cost must not grow with the number of people."""

import pytest
from django.db import connection

from supportcircle.accounts.models import User

pytestmark = pytest.mark.django_db


def plan_for(queryset) -> str:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # A table this small would be read whole anyway; ask whether the index can answer at all.
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("EXPLAIN " + sql, params)
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        return " ".join(str(part) for row in cursor.fetchall() for part in row)


def test_a_pseudonym_in_any_case_finds_its_person(member):
    assert User.objects.get_by_natural_key("sAM") == member
    assert list(User.objects.with_pseudonym(" Sam")) == []


def test_the_lookup_goes_through_the_unique_index_on_the_lower_case(member):
    plan = plan_for(User.objects.with_pseudonym("SAM"))
    assert "unique_pseudonym_any_case" in plan, plan


def test_the_reused_lookup_gives_the_person_the_orm_gives_field_for_field(member):
    from django.utils import timezone

    member.last_login = timezone.now()
    member.save()
    by_orm = User.objects.with_pseudonym("sam").get()
    for _ in range(2):  # compiled on the first call, reused on the second
        found = User.objects.get_by_natural_key("SAM")
        for field in User._meta.concrete_fields:
            assert getattr(found, field.attname) == getattr(by_orm, field.attname), field.name
            assert type(getattr(found, field.attname)) is type(getattr(by_orm, field.attname)), field.name
        assert found._state.db == "default" and not found._state.adding
        assert found.check_password("a-calm-test-password-42") == by_orm.check_password("a-calm-test-password-42")


def test_nobody_by_that_pseudonym_is_djangos_does_not_exist(member):
    with pytest.raises(User.DoesNotExist):
        User.objects.get_by_natural_key("Samwise")
