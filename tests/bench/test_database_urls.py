"""The bench keeps a DATABASE_URL's options when it names another database or address, and hands
its own connections only what libpq understands."""

from bench import servers, world

URL = "postgres://bench:secret@db.example:5433/supportcircle_bench?pool=true&pool_max_size=20&sslmode=require"


def test_the_quick_world_lives_in_its_own_database_with_the_same_options():
    quick = world.database_for("production", postgres_url=URL, quick=True)
    assert servers.database_name(quick) == "supportcircle_bench_quick"
    assert quick.endswith("?pool=true&pool_max_size=20&sslmode=require")
    assert world.database_for("production", postgres_url=URL, quick=False) == URL


def test_the_proxy_takes_the_address_and_nothing_else():
    assert servers.address(URL) == "db.example:5433"
    moved = servers.with_address(URL, "127.0.0.1:6543")
    assert (
        moved == "postgres://bench:secret@127.0.0.1:6543/supportcircle_bench?pool=true&pool_max_size=20&sslmode=require"
    )


def test_the_harness_connects_with_libpq_options_only():
    assert servers.for_libpq(URL) == "postgres://bench:secret@db.example:5433/supportcircle_bench?sslmode=require"
