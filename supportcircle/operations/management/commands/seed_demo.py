"""Build the small demo world described in README. Safe to run again: it changes nothing the second time."""

from __future__ import annotations

from datetime import time

from django.core.management.base import BaseCommand
from django.db import transaction

from chat.actions import post_message
from groups.actions import create_group, join_group, update_boundary_settings
from groups.models import BoundarySettings, Group, JoinPolicy, SessionSchedule, Topic, Weekday
from moderation.follow_up import wait_until_answered
from safeguarding.models import RotaHours, RotaMember
from supportcircle.accounts.models import User

DEMO_PASSWORD = "circle-demo-2026"  # noqa: S105  # nosec B105: documented demo password

PEOPLE = [
    # pseudonym, staff?
    ("Robin", False),  # facilitator of Gentle Mornings and Steady Ground
    ("Morgan", False),  # facilitator of After the Storm
    ("Sam", False),
    ("Alex", False),
    ("Jo", False),
    ("Kai", False),
    ("Quinn", True),  # an operator, on the safeguarding rota around the clock
]

# The group's own agreements; the default agreements of its rule sets (curiosity, no unsolicited
# advice, self-kindness, staying on the platform, eating-disorder safety...) follow them.
GENERAL_AGREEMENTS = [
    "What is shared here stays here.",
    "If we get it wrong, we repair: we own it and try again.",
]

GROUPS = [
    {
        "slug": "gentle-mornings",
        "name": "Gentle Mornings",
        "topic": Topic.STRESS,
        "description": (
            "A calm place to start the day when everyday stress feels heavy. "
            "We check in, we listen, and we remind each other that small steps count."
        ),
        "join_policy": JoinPolicy.OPEN,
        "facilitators": ["Robin"],
        "members": ["Sam", "Alex", "Jo"],
        "rulesets": ["crisis", "curiosity", "no_advice", "self_kindness", "off_platform"],
        "agreements": GENERAL_AGREEMENTS,
        "sessions": [
            (Weekday.MONDAY, time(8, 0), 45, "Europe/London"),
            (Weekday.THURSDAY, time(8, 0), 45, "Europe/London"),
        ],
        "history": [
            ("Robin", "Good morning, everyone. However today is starting for you, you're welcome here."),
            ("Sam", "Morning. Slept badly, but I made tea and I'm here, so that's something."),
            ("Alex", "That's a real something, Sam. I'm glad you came."),
            ("Jo", "Work has been a lot this week. I noticed I hold my breath when my inbox pings."),
            ("Robin", "Thank you for noticing that, Jo. What do you think your body is asking for?"),
            ("Jo", "Probably a pause before I open it. I'll try one slow breath first."),
        ],
    },
    {
        "slug": "steady-ground",
        "name": "Steady Ground",
        "topic": Topic.EATING_DISORDER,
        "description": (
            "Peer support for eating-disorder recovery, wherever you are on the path. "
            "We talk about food and bodies without numbers, and we celebrate every kind of progress."
        ),
        "join_policy": JoinPolicy.OPEN,
        "facilitators": ["Robin"],
        "members": ["Sam", "Kai"],
        "rulesets": ["crisis", "curiosity", "no_advice", "ed_safety", "self_kindness", "off_platform"],
        "agreements": GENERAL_AGREEMENTS,
        "sessions": [(Weekday.WEDNESDAY, time(18, 30), 60, "Europe/London")],
        "history": [
            ("Robin", "Welcome to Steady Ground. This week's theme is noticing one kind thing we did for ourselves."),
            ("Kai", "I ate lunch with a friend today instead of hiding at my desk. It felt scary and also okay."),
            ("Sam", "Kai, that sounds brave. Me too: I let myself have a snack without apologising for it."),
            ("Robin", "Both of those are real progress. Thank you for sharing them."),
        ],
    },
    {
        "slug": "after-the-storm",
        "name": "After the Storm",
        "topic": Topic.TRAUMA,
        "description": (
            "A small, steady group for people living with the after-effects of trauma. "
            "You never have to share details; being here is enough."
        ),
        "join_policy": JoinPolicy.REQUEST,
        "facilitators": ["Morgan"],
        "members": [],
        "rulesets": ["crisis", "curiosity", "no_advice", "self_kindness", "off_platform"],
        "agreements": GENERAL_AGREEMENTS + ["We never ask anyone for details of what happened to them."],
        "sessions": [(Weekday.TUESDAY, time(19, 0), 75, "America/New_York")],
        "history": [
            ("Morgan", "Hello and welcome. We start each session with a grounding breath. There's no rush here."),
        ],
    },
]


class Command(BaseCommand):
    help = "Create the demo people, groups, agreements and a little history (idempotent)."

    def handle(self, *args, **options) -> None:
        with transaction.atomic():
            people = self._people()
            for spec in GROUPS:
                self._group(spec, people)
            self._boundaries(people)
            self._rota(people["Quinn"])
        # The second opinion reads the demo's messages a moment after they post; its answers are acted
        # on here, while the command can still send, not in the exit hooks after Python has begun
        # shutting down its thread pools (which turned each answer into a traceback on `make run`).
        if not wait_until_answered(timeout=60.0):
            self.stderr.write(
                "The second opinion had not answered every demo message within a minute; the rest are skipped."
            )
        names = ", ".join(name for name, _ in PEOPLE)
        self.stdout.write(self.style.SUCCESS(f"Demo world ready. People: {names}. Password for each: {DEMO_PASSWORD}"))

    def _boundaries(self, people: dict[str, User]) -> None:
        # Kai asks to be heard, not advised; Sam folds messages about food. Only set once.
        for name, labels, heard in (("Kai", [], True), ("Sam", ["food"], False)):
            if not BoundarySettings.objects.filter(user=people[name]).exists():
                update_boundary_settings(
                    people[name], dm_policy="accepted", collapsed_labels=labels, here_to_be_heard=heard
                )

    def _rota(self, person: User) -> None:
        # Quinn takes any crisis alert that a group's own facilitators don't, every hour of the week.
        member, made = RotaMember.objects.get_or_create(user=person, defaults={"time_zone": "Europe/London"})
        if made:
            RotaHours.objects.bulk_create(
                RotaHours(member=member, weekday=day, starts=time(0, 0), ends=time(0, 0)) for day in range(7)
            )

    def _people(self) -> dict[str, User]:
        people = {}
        for pseudonym, is_staff in PEOPLE:
            user = User.objects.filter(pseudonym=pseudonym).first()
            if user is None:
                user = User.objects.create_user(pseudonym, DEMO_PASSWORD, is_staff=is_staff)
            people[pseudonym] = user
        return people

    def _group(self, spec: dict, people: dict[str, User]) -> None:
        group = Group.objects.filter(slug=spec["slug"]).first()
        if group is None:
            group = create_group(
                slug=spec["slug"],
                name=spec["name"],
                topic=spec["topic"],
                description=spec["description"],
                join_policy=JoinPolicy.OPEN,  # members are seated first, the policy applies after
                facilitators=[people[name] for name in spec["facilitators"]],
                agreements=spec["agreements"],
                rulesets=spec["rulesets"],
            )
            for weekday, start_time, minutes, zone_name in spec.get("sessions", []):
                SessionSchedule.objects.create(
                    group=group, weekday=weekday, start_time=start_time, duration_minutes=minutes, timezone=zone_name
                )
            for name in spec["members"]:
                join_group(people[name], group, accepted_version=group.agreement_version)
            group.join_policy = spec["join_policy"]
            group.save(update_fields=["join_policy"])
        for number, (author, body) in enumerate(spec["history"], start=1):
            post_message(people[author].pk, group.pk, client_id=f"seed-{spec['slug']}-{number}", body=body)
