"""Staff read groups, memberships, agreements, reports, the audit log and live sessions in the Django admin;
the records of what happened are read-only there."""

import pytest

from console.live import close_session, open_session
from tests.conftest import PASSWORD, make_person

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(db):
    return make_person("Quinn", is_staff=True, is_superuser=True)


def test_staff_read_every_record_the_console_relies_on(client, staff, group, facilitator):
    session = open_session(facilitator.pk, group.pk)
    close_session(facilitator.pk, group.pk)
    client.login(username=staff.pseudonym, password=PASSWORD)
    for path in (
        "/admin/groups/group/",
        "/admin/groups/membership/",
        "/admin/groups/livesession/",
        "/admin/groups/caremessage/",
        "/admin/moderation/report/",
        "/admin/moderation/auditentry/",
    ):
        assert client.get(path).status_code == 200, path
    detail = client.get(f"/admin/groups/livesession/{session.pk}/change/").content.decode()
    assert 'name="_save"' not in detail  # read-only: nothing to save
    assert client.get("/admin/groups/livesession/add/").status_code == 403
    assert client.get("/admin/moderation/auditentry/add/").status_code == 403


def test_a_facilitator_who_is_not_staff_cannot_open_the_admin(client, facilitator):
    client.login(username=facilitator.pseudonym, password=PASSWORD)
    response = client.get("/admin/groups/livesession/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
