"""The world P and D serve, built through the real code and kept between runs.

Members are created with ``User.objects.create_user`` and seated with
``groups.actions.create_group`` / ``join_group`` (the same functions the sign-up and
join pages call). Every member's password is the same Argon2 hash, made once with the
settings' own first hasher (``make_password``): checking it at login costs exactly what any
member's login costs, without spending 100 ms of CPU on each of 10,000 members here. Each
member already has a login session, made with Django's session store exactly as
``django.contrib.auth.login`` writes one (members who come back to the chat page); the login
storm logs in through the real login form. The two history groups are filled with
``bulk_create`` (a million messages through ``post_message`` would take the whole time
budget); the history reads measured against them are the real code.

The world is kept in the bench database and reused while its recipe is unchanged; each reuse
first clears what earlier runs left (``_tidy``), so every run starts from the same world.

Run as a script by bench/run.py, in the environment of the server it is for
(bench/servers.app_environment), so the settings, the database and SECRET_KEY are the server's:

    python bench/world.py [--quick] [--costs]

It prints the path of the world's description (JSON), and with ``--costs`` measures P's hot paths
in this process (bench/costs.py) into that description.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "bench" / ".data"
PASSWORD = "bench-password-not-secret"  # noqa: S105  (the bench's made-up members only)


@dataclass(frozen=True)
class Recipe:
    members: int  # bench members, seated in home groups of `group_size`
    group_size: int
    big_room: int  # members (the first ones) also seated in one big group
    history_small: int
    history_large: int
    version: int = 3  # 3: passwords hashed with the settings' hasher (Argon2), not the bench's MD5

    @property
    def home_groups(self) -> int:
        return self.members // self.group_size


FULL = Recipe(members=10_000, group_size=10, big_room=500, history_small=1_000, history_large=1_000_000)
QUICK = Recipe(members=2_000, group_size=10, big_room=100, history_small=1_000, history_large=100_000)


def secret_key() -> str:
    """The bench servers' SECRET_KEY, made once and kept beside the worlds whose sessions it signs."""
    path = DATA_DIR / "secret-key"
    if not path.exists():
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


def database_for(column: str, *, postgres_url: str, quick: bool) -> str:
    """Where a column's world lives: a PostgreSQL database (production) or a SQLite file (development).

    The quick and the full world live apart, so neither rebuilds the other.
    """
    if column == "production":
        from bench.servers import database_name, with_database

        return with_database(postgres_url, database_name(postgres_url) + ("_quick" if quick else ""))
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    return str(DATA_DIR / ("bench-quick.sqlite3" if quick else "bench.sqlite3"))


def _ensure_postgres_database(url: str) -> None:
    import psycopg

    from bench.servers import database_name, for_libpq, with_database

    name = database_name(url)
    with psycopg.connect(for_libpq(with_database(url, "postgres")), autocommit=True, connect_timeout=5) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def member_name(index: int) -> str:
    return f"bench-{index:05d}"


def home_slug(group_index: int) -> str:
    return f"bench-home-{group_index:04d}"


BIG_SLUG = "bench-big-room"
SLOW_SLUG = "bench-slow-room"


def history_slug(size: int) -> str:
    return f"bench-history-{size}"


def build(recipe: Recipe, log=print) -> dict:
    """Create (or reuse) the world; return what the load generator needs: slugs and session keys."""
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    marker = DATA_DIR / f"world-{_db_identity()}.json"
    wanted = asdict(recipe)
    signer = _secret_fingerprint()
    if marker.exists():
        saved = json.loads(marker.read_text())
        # The sessions are signed with SECRET_KEY: a world made under another key has none that work.
        if saved.get("recipe") == wanted and saved.get("secret_fingerprint") == signer and _still_there(saved):
            log(f"  reusing the bench world ({recipe.members:,} members)")
            left = _tidy(saved)
            log(f"  cleared what earlier runs left: {left['messages']:,} messages, {left['sessions']:,} sessions")
            return saved
    started = time.monotonic()
    world = _create(recipe, log)
    world["recipe"] = wanted
    world["secret_fingerprint"] = signer
    world["build_seconds"] = round(time.monotonic() - started, 1)
    DATA_DIR.mkdir(exist_ok=True)
    marker.write_text(json.dumps(world))
    return world


def _secret_fingerprint() -> str:
    import hashlib

    from django.conf import settings

    return hashlib.sha256(settings.SECRET_KEY.encode()).hexdigest()[:16]


def _db_identity() -> str:
    from django.db import connection

    name = str(connection.settings_dict["NAME"])
    return f"{connection.vendor}-{Path(name).name}"


def _still_there(saved: dict) -> bool:
    from django.contrib.sessions.models import Session

    from groups.models import Group

    return (
        Group.objects.filter(slug=saved["big_slug"]).exists()
        and Session.objects.filter(session_key=saved["sessions"][-1]).exists()
    )


def _tidy(saved: dict) -> dict[str, int]:
    """Put a reused world back as it was built, so every run starts from the same one.

    Runs post into the load groups, and the connect storm logs in through the real page. Each
    run's messages (with their reactions and read markers), the storm's sessions, presence rows
    and counted attempts go. The two history groups keep their messages, and the world's own
    sessions stay. Without this the bench database grew by every run.
    """
    from django.contrib.sessions.models import Session
    from django.db import transaction

    from chat.models import Message, Presence, ReadMarker
    from groups.models import Group
    from supportcircle.accounts.models import Attempt

    load = Group.objects.filter(slug__startswith="bench-").exclude(slug__in=saved["history_slugs"].values())
    with transaction.atomic():
        messages = Message.objects.filter(group__in=load).delete()[1].get(Message._meta.label, 0)
        load.update(last_seq=0)
        ReadMarker.objects.filter(group__in=load).delete()
        Presence.objects.filter(group__slug__startswith="bench-").delete()
        Attempt.objects.all().delete()
        # The bench database holds only the bench's sessions: keep the world's own, by key.
        sessions = Session.objects.exclude(session_key__in=saved["sessions"]).delete()[0]
    return {"messages": messages, "sessions": sessions}


def _create(recipe: Recipe, log) -> dict:
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.hashers import make_password
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.utils import timezone
    from django.utils.crypto import get_random_string

    from chat.models import Message
    from groups.actions import create_group, join_group
    from groups.models import Group
    from supportcircle.accounts.models import User

    log(f"  building the bench world: {recipe.members:,} members (kept in the bench database for the next run)")
    # A fresh world: remove the previous bench groups and members.
    Group.objects.filter(slug__startswith="bench-").delete()
    User.objects.filter(pseudonym__startswith="bench-").delete()
    password = make_password(PASSWORD)  # the settings' first hasher: Argon2, as in production
    facilitator = User.objects.create_user("bench-facilitator", PASSWORD)
    agreements = ["What is shared here stays here.", "We listen with curiosity, not judgment."]

    def group(slug: str, capacity: int) -> Group:
        return create_group(
            name=slug.replace("-", " ").title(),
            slug=slug,
            facilitators=[facilitator],
            agreements=agreements,
            capacity=capacity,
        )

    members = []
    t0 = time.monotonic()
    for index in range(recipe.members):
        members.append(User.objects.create_user(member_name(index)))  # no password yet: no hashing
    User.objects.filter(pseudonym__startswith="bench-").update(password=password)
    for user in members:
        user.password = password  # the session hash below is derived from it
    log(f"  {len(members):,} members created in {time.monotonic() - t0:.1f}s")
    t0 = time.monotonic()
    for g in range(recipe.home_groups):
        home = group(home_slug(g), recipe.group_size)
        for user in members[g * recipe.group_size : (g + 1) * recipe.group_size]:
            join_group(user, home, accepted_version=1)
    big = group(BIG_SLUG, recipe.big_room)
    for user in members[: recipe.big_room]:
        join_group(user, big, accepted_version=1)
    slow = group(SLOW_SLUG, recipe.group_size)
    for user in members[: recipe.group_size]:
        join_group(user, slow, accepted_version=1)
    log(f"  groups and memberships through join_group in {time.monotonic() - t0:.1f}s")

    t0 = time.monotonic()
    store = SessionStore()
    expiry = timezone.now() + timezone.timedelta(days=14)
    sessions = []
    rows = []
    for user in members:
        key = get_random_string(32, "abcdefghijklmnopqrstuvwxyz0123456789")
        data = {
            SESSION_KEY: str(user.pk),
            BACKEND_SESSION_KEY: "django.contrib.auth.backends.ModelBackend",
            HASH_SESSION_KEY: user.get_session_auth_hash(),
        }
        rows.append(Session(session_key=key, session_data=store.encode(data), expire_date=expiry))
        sessions.append(key)
    Session.objects.bulk_create(rows, batch_size=2000)
    log(f"  {len(sessions):,} sessions in {time.monotonic() - t0:.1f}s")

    for size in (recipe.history_small, recipe.history_large):
        t0 = time.monotonic()
        history = group(history_slug(size), recipe.group_size)
        join_group(members[0], history, accepted_version=1)
        _fill_history(history, members[0], size, Message)
        log(f"  history group with {size:,} messages in {time.monotonic() - t0:.1f}s")

    return {
        "home_slugs": [home_slug(g) for g in range(recipe.home_groups)],
        "group_size": recipe.group_size,
        "big_slug": BIG_SLUG,
        "slow_slug": SLOW_SLUG,
        "history_slugs": {"small": history_slug(recipe.history_small), "large": history_slug(recipe.history_large)},
        "history_sizes": {"small": recipe.history_small, "large": recipe.history_large},
        "members": [member_name(i) for i in range(recipe.members)],
        "sessions": sessions,
        "password": PASSWORD,
        "password_hasher": password.split("$", 1)[0],
    }


def _fill_history(group, author, size: int, Message) -> None:
    from django.db import transaction

    from groups.models import Group

    body = "A past message, kept so the history has depth: thank you all for listening last week."
    batch = 20_000
    for start in range(1, size + 1, batch):
        with transaction.atomic():
            Message.objects.bulk_create(
                [
                    Message(group=group, seq=seq, author=author, client_id=f"h{seq}", body=body)
                    for seq in range(start, min(start + batch, size + 1))
                ],
                batch_size=2_000,
            )
    Group.objects.filter(pk=group.pk).update(last_seq=size)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="the smaller world of make bench-quick")
    parser.add_argument("--costs", action="store_true", help="also measure P's hot paths (bench/costs.py)")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    if os.environ.get("DATABASE_URL"):
        _ensure_postgres_database(os.environ["DATABASE_URL"])
    import django

    django.setup()
    recipe = QUICK if args.quick else FULL
    world = build(recipe, log=lambda line: print(line, file=sys.stderr, flush=True))
    if os.environ.get("SUPPORTCIRCLE_ENV") == "production":
        from django.core.management import call_command

        call_command("collectstatic", interactive=False, verbosity=0)  # as an operator deploys
    marker = DATA_DIR / f"world-{_db_identity()}.json"
    if args.costs:
        from bench import costs

        print("  the hot paths' cost, called directly (bench/costs.py)", file=sys.stderr, flush=True)
        world = {**world, "costs": costs.measure(world, args.quick)}
        marker = marker.with_suffix(".costs.json.tmp")
        marker.write_text(json.dumps(world))
    print(marker)
    return 0


if __name__ == "__main__":
    sys.exit(main())
