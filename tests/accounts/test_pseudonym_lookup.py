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
