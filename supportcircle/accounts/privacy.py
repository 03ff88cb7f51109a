"""Everything we hold about one person, as JSON: what /accounts/export/ downloads.

Generated from the models, so a new model with a link to a person is exported
without anyone remembering to add it. Other people appear only as "Person 1",
"Person 2"... (numbered per export), never by pseudonym or id.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.apps import apps
from django.db.models import Model, Q
from django.utils import timezone

from .models import Attempt, User

# Not about the person (or only counters kept as digests).
SKIPPED = {Attempt}


class Pseudonymiser:
    def __init__(self, me: User) -> None:
        self.me = me.pk
        self.names: dict[int, str] = {}

    def name(self, user_id: int | None) -> str | None:
        if user_id is None:
            return None
        if user_id == self.me:
            return "you"
        return self.names.setdefault(user_id, f"Person {len(self.names) + 1}")


def _value(obj: Model, field, people: Pseudonymiser) -> Any:
    if field.is_relation:
        related_id = getattr(obj, field.attname)
        if field.related_model is User:
            return people.name(related_id)
        if field.related_model._meta.label == "groups.Group" and related_id is not None:
            return getattr(obj, field.name).name  # groups are not people
        return related_id
    value = getattr(obj, field.attname)
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    return value


def _models_about_people() -> list[tuple[type[Model], list]]:
    found = []
    for model in apps.get_models():
        if model is User or model in SKIPPED:
            continue
        links = [f for f in model._meta.concrete_fields if f.is_relation and f.related_model is User]
        if links:
            found.append((model, links))
    return found


def export_for(user: User) -> dict[str, Any]:
    people = Pseudonymiser(user)
    records: dict[str, list[dict]] = {}
    for model, links in _models_about_people():
        about_me = Q()
        for link in links:
            about_me |= Q(**{link.attname: user.pk})
        rows = [
            {field.name: _value(obj, field, people) for field in model._meta.concrete_fields}
            for obj in model.objects.filter(about_me).order_by("pk")
        ]
        if rows:
            records[model._meta.label] = rows
    return {
        "exported_at": timezone.now().isoformat(),
        "about": "Everything SupportCircle holds about you. Other people appear as Person 1, Person 2, ...",
        "you": {
            "pseudonym": user.pseudonym,
            "email": user.email,
            "timezone": user.timezone,
            "date_joined": user.date_joined.isoformat(),
            "last_login": user.last_login.isoformat() if user.last_login else None,
        },
        "records": records,
    }
