"""SupportCircle settings: one file, read from the environment.

With no environment variables at all you get a working development setup:
SQLite and the in-memory channel layer. ``REDIS_URL`` (or ``REDIS_SENTINELS``) switches the
channel layer to Redis, ``DATABASE_URL`` switches the database to PostgreSQL. Every variable is
listed in docs/operations.md; a value that cannot be read stops the server with its name.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlparse

from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be one of {sorted(_TRUE | _FALSE)}, got {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, got {raw!r}") from None


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = os.environ.get(name, default).strip()
    if value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}; got {value!r}")
    return value


def env_networks(name: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """A comma-separated list of addresses or networks (``127.0.0.1``, ``10.0.0.0/8``, ``::1``)."""
    networks = []
    for item in env_list(name, []):
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ImproperlyConfigured(f"{name} must list IP addresses or networks, got {item!r}") from None
    return networks


def env_host_ports(name: str) -> list[tuple[str, int]]:
    """A comma-separated list of ``host:port`` pairs."""
    pairs = []
    for item in env_list(name, []):
        host, _, port = item.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ImproperlyConfigured(f"{name} must list host:port pairs, got {item!r}")
        pairs.append((host.strip("[]"), int(port)))
    return pairs


# libpq's connection parameters a DATABASE_URL may carry after ``?``: handed to psycopg as they are.
LIBPQ_PARAMETERS = {
    "application_name",
    "connect_timeout",
    "keepalives",
    "keepalives_count",
    "keepalives_idle",
    "keepalives_interval",
    "sslcert",
    "sslkey",
    "sslmode",
    "sslrootcert",
    "target_session_attrs",
}
SSLMODES = {"disable", "allow", "prefer", "require", "verify-ca", "verify-full"}
# Ours: the URL names a PgBouncer in transaction pooling, or asks for Django's psycopg pool.
POOL_PARAMETERS = {"pgbouncer", "pool", "pool_min_size", "pool_max_size", "pool_timeout"}


# Django's psycopg pool, per process: the sockets' database threads (DATABASE_THREADS, 8 by default with
# PostgreSQL), Channels' own database thread, and page views in progress.
DEFAULT_POOL_MAX = 20


def database_from_url(url: str) -> dict:
    """Turn postgres://user:pass@host:port/name?options into a Django DATABASES entry.

    Options: libpq's (``sslmode=verify-full``, ``connect_timeout=5``, ...), ``pgbouncer=transaction``
    when the host is a PgBouncer in transaction pooling, or ``pool=true`` (and ``pool_min_size``,
    ``pool_max_size``, ``pool_timeout``) for Django's own psycopg pool. Anything else is refused, so a
    typo never quietly drops ``sslmode``.
    """
    parsed = urlparse(url)
    if parsed.scheme not in {"postgres", "postgresql", "pgsql"}:
        raise ImproperlyConfigured(f"DATABASE_URL must start with postgres:// or postgresql://, got {parsed.scheme!r}")
    query = dict(parse_qsl(parsed.query, keep_blank_values=True))
    unknown = set(query) - LIBPQ_PARAMETERS - POOL_PARAMETERS
    if unknown:
        raise ImproperlyConfigured(
            f"DATABASE_URL has options SupportCircle does not know: {', '.join(sorted(unknown))} "
            f"(known: {', '.join(sorted(LIBPQ_PARAMETERS | POOL_PARAMETERS))})"
        )
    if "sslmode" in query and query["sslmode"] not in SSLMODES:
        raise ImproperlyConfigured(f"DATABASE_URL sslmode must be one of {sorted(SSLMODES)}, got {query['sslmode']!r}")
    for key in ("connect_timeout", "keepalives", "keepalives_count", "keepalives_idle", "keepalives_interval"):
        if key in query and not query[key].isdigit():
            raise ImproperlyConfigured(f"DATABASE_URL {key} must be a whole number, got {query[key]!r}")
    # A database that hangs is answered as one that refuses: connecting gives up after a few seconds, a
    # statement is cancelled by the server after DATABASE_STATEMENT_TIMEOUT_MS (0: never, e.g. for a long
    # migration), and a connection whose packets go unanswered is dropped by the kernel. The URL's own
    # options win over these defaults.
    options: dict = {
        "connect_timeout": env_int("DATABASE_CONNECT_TIMEOUT", 3),
        "options": f"-c statement_timeout={env_int('DATABASE_STATEMENT_TIMEOUT_MS', 5000)}",
        "keepalives": 1,
        "keepalives_idle": 10,
        "keepalives_interval": 5,
        "keepalives_count": 2,
        "tcp_user_timeout": env_int("DATABASE_TCP_USER_TIMEOUT_MS", 10_000),
    }
    options.update({key: value for key, value in query.items() if key in LIBPQ_PARAMETERS})
    entry = {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(parsed.path.lstrip("/")) or "supportcircle",
        "USER": unquote(parsed.username or ""),
        "PASSWORD": unquote(parsed.password or ""),
        "HOST": parsed.hostname or "",
        "PORT": str(parsed.port or ""),
        # Kept by the sockets' database thread. A page view's connection is closed when it ends
        # (supportcircle/http.py): its thread is made for that request and never used again.
        "CONN_MAX_AGE": env_int("DATABASE_CONN_MAX_AGE", 60),
        # Django's check that a kept connection still works before it is used again (with the pool: an empty
        # statement when one is taken out), so one that died while idle in the pool (a database restart) is
        # replaced before anyone's call meets it. One that dies in a thread's hands fails the one call that
        # finds it and is closed (supportcircle/db_threads.py), and the pool discards it.
        "CONN_HEALTH_CHECKS": True,
        "OPTIONS": options,
        "TEST": {"NAME": env_str("DATABASE_TEST_NAME", "") or None},
    }
    pgbouncer = query.get("pgbouncer")
    pool = {key.removeprefix("pool_"): query[key] for key in query if key.startswith("pool_")}
    # Django's psycopg pool unless the URL names a PgBouncer or says pool=false: without either, every
    # page view in progress holds a connection of its own, and a crowd arriving at once runs PostgreSQL
    # out of connections ("too many clients", measured in the bench's connect storm).
    refuses_pool = query.get("pool", "").lower() in _FALSE - {""}
    wants_pool = not pgbouncer and not refuses_pool
    # A page or socket waits for a pooled connection no longer than for a new one: a database that is
    # down is answered as down (a 503 page, 4503, try_again) within the connect timeout, not later.
    pool = {"min_size": "2", "max_size": str(DEFAULT_POOL_MAX), "timeout": str(options["connect_timeout"]), **pool}
    if pgbouncer is not None and pgbouncer != "transaction":
        raise ImproperlyConfigured(f"DATABASE_URL pgbouncer must be 'transaction', got {pgbouncer!r}")
    if pgbouncer and (query.get("pool", "").lower() in _TRUE or any(key.startswith("pool_") for key in query)):
        raise ImproperlyConfigured("DATABASE_URL: choose PgBouncer (pgbouncer=transaction) or Django's pool, not both")
    if pgbouncer:
        # In transaction pooling each transaction may run on a different server connection, so nothing
        # may outlive a transaction on the server: a server-side cursor (Django's .iterator() keeps a
        # named cursor open between fetches) or a prepared statement (psycopg prepares a query it has
        # run five times, then names it on a connection the next transaction may not have).
        entry["DISABLE_SERVER_SIDE_CURSORS"] = True
        options["prepare_threshold"] = None
    if wants_pool:
        try:
            sizes = {key: float(value) if key == "timeout" else int(value) for key, value in pool.items()}
        except ValueError:
            raise ImproperlyConfigured(f"DATABASE_URL pool sizes must be numbers, got {pool}") from None
        options["pool"] = sizes or True
        entry["CONN_MAX_AGE"] = 0  # the pool keeps the connections; Django refuses persistent ones with it
    return entry


DEBUG = env_bool("DEBUG", False)
# With DEBUG on, a wrong address still shows the site's own 404 page (supportcircle.not_found); true: Django's.
DEBUG_TECHNICAL_404 = env_bool("DEBUG_TECHNICAL_404", False)
# "development" is what `make run` and the tests use; "production" is everything real. Anything else
# is refused: a typo (prodution) must never run with development's committed key and open cookies.
ENVIRONMENT = env_choice("SUPPORTCIRCLE_ENV", "development", ("development", "production"))
IS_PRODUCTION = ENVIRONMENT == "production"

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if IS_PRODUCTION:
        raise ImproperlyConfigured("SECRET_KEY must be set when SUPPORTCIRCLE_ENV=production.")
    SECRET_KEY = "dev-only-not-secret-supportcircle-0123456789-abcdefghijklmnopqrstuvwxyz"  # noqa: S105  # nosec B105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
# The proxies in front (nginx), by address or network: only a request from one of them may say in
# X-Forwarded-For whom it came from. Login and sign-up limits count that address
# (supportcircle.accounts.limits.client_address). Empty: every request is from its peer, even a proxy.
TRUSTED_PROXIES = env_networks("TRUSTED_PROXIES")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "csp",
    "supportcircle.accounts",
    "groups",
    "chat",
    "moderation",
    "safeguarding",
    "console",
    "supportcircle.operations",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Before the session and the person: a database outage is answered with a page that needs neither.
    "supportcircle.outage.DatabaseUnavailableMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "supportcircle.security.SecurityHeadersMiddleware",
    "supportcircle.security.LogRefusalsMiddleware",
    # Innermost: the page it swaps in passes every middleware above on its way out.
    "supportcircle.not_found.FriendlyNotFoundMiddleware",
]

ROOT_URLCONF = "supportcircle.urls"
ASGI_APPLICATION = "supportcircle.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {"default": database_from_url(DATABASE_URL)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env_str("SQLITE_PATH", str(BASE_DIR / "db.sqlite3")),
            "OPTIONS": {
                # IMMEDIATE takes the write lock when a transaction starts, so two
                # writers queue instead of failing with "database is locked".
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
            # Keep the connection between socket frames: reopening the file and
            # re-running the PRAGMAs on every frame cost the chat most of its time.
            "CONN_MAX_AGE": env_int("DATABASE_CONN_MAX_AGE", 60),
            "CONN_HEALTH_CHECKS": True,
            # A file, not shared-cache memory, so concurrent writers in tests queue
            # on the lock exactly as they do in production.
            "TEST": {"NAME": env_str("SQLITE_TEST_PATH", str(BASE_DIR / ".test-db.sqlite3"))},
        }
    }

# The channel layer's Redis: one server (REDIS_URL), or the master Sentinel names (REDIS_SENTINELS,
# "host:port,host:port", and REDIS_SENTINEL_MASTER), which follows a failover to the promoted replica.
# PostgreSQL itself, when DATABASE_URL names a PgBouncer: `manage.py backup` and `restore` use it, since
# pg_dump and pg_restore need a session of their own (transaction pooling lends one per transaction).
DATABASE_DIRECT_URL = env_str("DATABASE_DIRECT_URL")
if DATABASE_DIRECT_URL:
    database_from_url(DATABASE_DIRECT_URL)  # read now, so a mistake in it stops the start, not the backup
BACKUP_DIR = Path(env_str("BACKUP_DIR", str(BASE_DIR / "backups")))

REDIS_URL = env_str("REDIS_URL")
REDIS_SENTINELS = env_host_ports("REDIS_SENTINELS")
REDIS_SENTINEL_MASTER = env_str("REDIS_SENTINEL_MASTER", "supportcircle")
REDIS_PASSWORD = env_str("REDIS_PASSWORD")  # with Sentinel: the master's and replicas' requirepass
if REDIS_URL and REDIS_SENTINELS:
    raise ImproperlyConfigured("Set REDIS_URL or REDIS_SENTINELS, not both: which Redis should the chat use?")
# A socket that falls this far behind is closed with 4408 TOO_SLOW and backfills (chat/layers.py):
# events waiting in its channel-layer inbox, and bytes daphne holds that the client has not read.
CHAT_SOCKET_INBOX = env_int("CHAT_SOCKET_INBOX", 500)
CHAT_SEND_BUFFER_BYTES = env_int("CHAT_SEND_BUFFER_BYTES", 1_048_576)
# Threads that carry the chat sockets' database work (supportcircle/db_threads.py), each with its own
# connection: several messages in flight against PostgreSQL; one with SQLite, which takes one writer.
DATABASE_THREADS = env_int("DATABASE_THREADS", 8 if DATABASE_URL else 1)
# Each daphne process opens at most this many connections to Redis. redis-py caps
# an unconfigured pool at 100, which hundreds of sockets exhaust at once.
REDIS_MAX_CONNECTIONS = env_int("REDIS_MAX_CONNECTIONS", 1000)
CHANNEL_ENCRYPTION_KEY = env_str("CHANNEL_ENCRYPTION_KEY")
if REDIS_SENTINELS:
    # channels-redis asks these Sentinels for the master (channels_redis.utils.create_pool), and asks
    # again whenever a connection to it fails; the pool keeps its size as with REDIS_URL.
    _redis_host: dict = {
        "sentinels": REDIS_SENTINELS,
        "master_name": REDIS_SENTINEL_MASTER,
        "max_connections": REDIS_MAX_CONNECTIONS,
        "socket_connect_timeout": 2,
        "sentinel_kwargs": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }
    if REDIS_PASSWORD:
        _redis_host["password"] = REDIS_PASSWORD
elif REDIS_URL:
    _redis_host = {"address": REDIS_URL, "max_connections": REDIS_MAX_CONNECTIONS}
if REDIS_URL or REDIS_SENTINELS:
    _layer_config: dict = {
        "hosts": [_redis_host],
        "prefix": env_str("CHANNEL_PREFIX", "sc"),
        "capacity": CHAT_SOCKET_INBOX,
    }
    if CHANNEL_ENCRYPTION_KEY:
        # Chat payloads cross Redis encrypted, so what members write is never in Redis in clear.
        _layer_config["symmetric_encryption_keys"] = [CHANNEL_ENCRYPTION_KEY]
    elif IS_PRODUCTION:
        raise ImproperlyConfigured(
            "CHANNEL_ENCRYPTION_KEY must be set when SUPPORTCIRCLE_ENV=production and Redis is used."
        )
    CHANNEL_LAYERS = {
        "default": {
            # Pub/sub: one PUBLISH per group message, whatever the group's size.
            # Messages lost by Redis are recovered by sequence-number backfill.
            # Each socket's inbox is bounded (chat/layers.py).
            "BACKEND": "chat.layers.BoundedRedisPubSubChannelLayer",
            "CONFIG": _layer_config,
        }
    }
else:
    CHANNEL_LAYERS = {
        "default": {"BACKEND": "chat.layers.BoundedInMemoryChannelLayer", "CONFIG": {"capacity": CHAT_SOCKET_INBOX}}
    }

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "groups:directory"
LOGOUT_REDIRECT_URL = "groups:directory"

# Django's Argon2, one lane per hash, in a few processes of their own that give way to the server,
# PostgreSQL and Redis, with no database connection held meanwhile, so logins never starve the chat
# (supportcircle/accounts/hashers.py); PBKDF2 checks any older password until its person logs in.
# PASSWORD_HASHING_AT_ONCE: how many hashes at once (0: one per core the process may use beyond the
# first, at least 1).
PASSWORD_HASHERS = [
    "supportcircle.accounts.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
PASSWORD_HASHING_AT_ONCE = env_int("PASSWORD_HASHING_AT_ONCE", 0)
# Only for the test suite, which makes hundreds of people (Argon2 costs about 0.1 s of CPU a hash):
# new passwords are hashed with MD5, and Argon2 still checks any it made. Refused in production.
if env_bool("FAST_PASSWORD_HASHER", False):
    if IS_PRODUCTION:
        raise ImproperlyConfigured("FAST_PASSWORD_HASHER is for the test suite; it is refused in production.")
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PASSWORD_HASHERS]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
# In production `collectstatic` writes each file under a name holding its hash (app.3f2a9c1e.js) and
# pages link those names, so nginx may let browsers keep them for a year; it needs `collectstatic`
# first, which is why development and the tests keep plain names.
_STATIC_BACKEND = (
    "whitenoise.storage.CompressedManifestStaticFilesStorage"
    if IS_PRODUCTION
    else "whitenoise.storage.CompressedStaticFilesStorage"
    if not DEBUG
    else "django.contrib.staticfiles.storage.StaticFilesStorage"
)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": _STATIC_BACKEND},
}
WHITENOISE_USE_FINDERS = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Page fragments that are the same for everyone ({% cache %} in the templates) are kept in each process's
# own memory: made once per process, and read back in microseconds, never over the network.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "template_fragments": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "fragments"},
}
# Django's database sessions, each page's read in one plain statement (supportcircle/accounts/sessions.py).
SESSION_ENGINE = "supportcircle.accounts.sessions"
# Security: what we promise and the tests that prove it are in docs/security.md.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"


def _socket_sources(hosts: list[str]) -> list[str]:
    """connect-src entries for the chat socket: wss:// on every allowed host (ws:// too outside production)."""
    sources = []
    for host in hosts:
        if host == "*":
            continue
        pattern = f"*{host}" if host.startswith(".") else host
        sources.append(f"wss://{pattern}")
        if not IS_PRODUCTION:
            sources.append(f"ws://{pattern}:*")
    return sources


# No inline script or style anywhere: JavaScript lives in static/js, configuration in data- attributes.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'", *_socket_sources(ALLOWED_HOSTS)],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
# "messages/seconds" per author, e.g. "1000/10" for fault tests that send in bulk; unset: chat.protocol's default.
_chat_rate_limit = env_str("CHAT_RATE_LIMIT")
if _chat_rate_limit:
    try:
        CHAT_RATE_LIMIT = tuple(int(part) for part in _chat_rate_limit.split("/", 1))
    except ValueError:
        raise ImproperlyConfigured(f"CHAT_RATE_LIMIT must look like 8/10, got {_chat_rate_limit!r}") from None

# Sent by supportcircle.security.SecurityHeadersMiddleware: no camera, microphone, location, or ad tracking.
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()"

if IS_PRODUCTION:
    if DEBUG:
        raise ImproperlyConfigured("DEBUG must be off when SUPPORTCIRCLE_ENV=production.")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # Health probes and Prometheus ask a daphne process itself, over plain HTTP on its own machine.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]

# Email: only for password recovery, to the address a member chose to add (docs/operations.md, "Email").
# Development prints each email on the console; with EMAIL_HOST set, or in production, it goes by SMTP.
EMAIL_HOST = env_str("EMAIL_HOST")
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST or IS_PRODUCTION
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_HOST = EMAIL_HOST or "localhost"
EMAIL_PORT = env_int("EMAIL_PORT", 587)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured("EMAIL_USE_TLS and EMAIL_USE_SSL can't both be on; SSL on port 465 wants TLS off.")
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "SupportCircle <no-reply@localhost>")
# How long a password-recovery link works, in seconds.
PASSWORD_RESET_TIMEOUT = env_int("PASSWORD_RESET_TIMEOUT", 24 * 60 * 60)

# /metrics answers a request made on this machine straight to a server process, or one that brings
# "Authorization: Bearer <METRICS_TOKEN>" (supportcircle/metrics.py). Unset: only the first.
METRICS_TOKEN = env_str("METRICS_TOKEN")

# Crisis resources shown at once to a member whose message reads as crisis.
# A deployment points these at its own region; the default is international.
CRISIS_RESOURCES = [
    {
        "name": "Find a helpline near you",
        "detail": "Free, confidential helplines in many countries, listed by Find A Helpline.",
        "url": "https://findahelpline.com",
    },
    {
        "name": "Emergency services",
        "detail": (
            "If you are in immediate danger, please call your local emergency number (112 or 911 in many places)."
        ),
        "url": "",
    },
]

# Where the file email backend writes (tests' servers); the safeguarding rota's emails carry no message
# content, only a link that starts with SITE_URL (docs/operations.md, "Email").
EMAIL_FILE_PATH = env_str("EMAIL_FILE_PATH", str(BASE_DIR / "sent-mail"))
SITE_URL = env_str("SITE_URL", "http://localhost:8000")

# The safeguarding rota (docs/operations.md, "The safeguarding rota"): how long an alert waits for someone
# to take it before it climbs, while a live session is open and otherwise (a group may set its own in the
# admin); how often the banner asks; how recently a page asked for someone to count as connected (no email).
SAFEGUARDING_WINDOW_LIVE_MINUTES = env_int("SAFEGUARDING_WINDOW_LIVE_MINUTES", 2)
SAFEGUARDING_WINDOW_QUIET_MINUTES = env_int("SAFEGUARDING_WINDOW_QUIET_MINUTES", 10)
SAFEGUARDING_POLL_SECONDS = env_int("SAFEGUARDING_POLL_SECONDS", 15)
SAFEGUARDING_CONNECTED_SECONDS = env_int("SAFEGUARDING_CONNECTED_SECONDS", 45)

# Where "Quick exit" goes (a neutral page): the chat page is replaced in the tab's history, so Back
# does not return to it. Someone in danger at home may be watched; abuse-support sites do the same.
QUICK_EXIT_URL = env_str("QUICK_EXIT_URL", "https://www.bbc.co.uk/weather")

# "json": one JSON object a line (time, level, logger, message, exception), for a log collector.
LOG_FORMAT = env_choice("LOG_FORMAT", "plain", ("plain", "json"))
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "supportcircle.logs.JSONFormatter"},
    },
    "filters": {
        "hide_secret_url_values": {"()": "supportcircle.security.HideSecretURLValues"},
        "refusals_without_traceback": {"()": "supportcircle.security.RefusalsWithoutTraceback"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        # Every answer of 400 and above is logged with its path: never an invite or reset link's secret.
        # Refusals (403, 404) are one line without a traceback; real errors keep theirs.
        "django.request": {"filters": ["hide_secret_url_values", "refusals_without_traceback"]},
        "django.channels.server": {"level": "WARNING"},
        # Refusals (supportcircle.security.log_refusal) print whatever LOG_LEVEL says.
        "supportcircle.authz": {"level": "WARNING"},
    },
}
