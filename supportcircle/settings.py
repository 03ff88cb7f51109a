"""SupportCircle settings: one file, read from the environment.

With no environment variables at all you get a working development setup:
SQLite and the in-memory channel layer. ``REDIS_URL`` switches the channel
layer to Redis, ``DATABASE_URL`` switches the database to PostgreSQL.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote, urlparse

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


def database_from_url(url: str) -> dict:
    """Turn postgres://user:pass@host:port/name into a Django DATABASES entry."""
    parsed = urlparse(url)
    if parsed.scheme not in {"postgres", "postgresql", "pgsql"}:
        raise ImproperlyConfigured(f"DATABASE_URL must start with postgres:// or postgresql://, got {parsed.scheme!r}")
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(parsed.path.lstrip("/")) or "supportcircle",
        "USER": unquote(parsed.username or ""),
        "PASSWORD": unquote(parsed.password or ""),
        "HOST": parsed.hostname or "",
        "PORT": str(parsed.port or ""),
        # Kept by the sockets' database thread. A page view's connection is closed when it ends
        # (supportcircle/http.py): its thread is made for that request and never used again.
        "CONN_MAX_AGE": env_int("DATABASE_CONN_MAX_AGE", 60),
        "CONN_HEALTH_CHECKS": True,
        "TEST": {"NAME": env_str("DATABASE_TEST_NAME", "") or None},
        # A database that hangs is answered as one that refuses: connecting gives up after a few seconds,
        # a statement is cancelled by the server after DATABASE_STATEMENT_TIMEOUT_MS (0: never, e.g. for
        # a long migration), and a connection whose packets go unanswered is dropped by the kernel.
        "OPTIONS": {
            "connect_timeout": env_int("DATABASE_CONNECT_TIMEOUT", 3),
            "options": f"-c statement_timeout={env_int('DATABASE_STATEMENT_TIMEOUT_MS', 5000)}",
            "keepalives": 1,
            "keepalives_idle": 10,
            "keepalives_interval": 5,
            "keepalives_count": 2,
            "tcp_user_timeout": env_int("DATABASE_TCP_USER_TIMEOUT_MS", 10_000),
        },
    }


DEBUG = env_bool("DEBUG", False)
# "development" is what `make run` and the tests use; anything else is production.
ENVIRONMENT = env_str("SUPPORTCIRCLE_ENV", "development")
IS_PRODUCTION = ENVIRONMENT == "production"

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if IS_PRODUCTION:
        raise ImproperlyConfigured("SECRET_KEY must be set when SUPPORTCIRCLE_ENV=production.")
    SECRET_KEY = "dev-only-not-secret-supportcircle-0123456789-abcdefghijklmnopqrstuvwxyz"  # noqa: S105  # nosec B105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

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

REDIS_URL = env_str("REDIS_URL")
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
if REDIS_URL:
    _redis_host: dict = {"address": REDIS_URL, "max_connections": REDIS_MAX_CONNECTIONS}
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
            "CHANNEL_ENCRYPTION_KEY must be set when SUPPORTCIRCLE_ENV=production and REDIS_URL is set."
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

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
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
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

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

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {
        "hide_secret_url_values": {"()": "supportcircle.security.HideSecretURLValues"},
        "refusals_without_traceback": {"()": "supportcircle.security.RefusalsWithoutTraceback"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
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
