"""Settings for the benchmark's P target: the real settings, with two bench-only changes.

1. Passwords are hashed with MD5 for the bench's own made-up members, so the connect storm
   (5,000 real logins) measures the login path rather than Argon2's deliberate slowness
   (about 100 ms of CPU per login by design). Production keeps Argon2.
2. Logging is quiet, so log formatting does not count as serving cost.

Everything else (database, Redis layer, middleware, consumer, actions) is the real code.
"""

from supportcircle.settings import *  # noqa: F403
from supportcircle.settings import LOGGING

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # bench-only, see above
AUTH_PASSWORD_VALIDATORS = []
LOGGING = {**LOGGING, "root": {"handlers": ["console"], "level": "WARNING"}}

# The saturation ramp makes 1,000 sockets stand in for many more people, so each bench member
# posts faster than the per-member limit allows; the limit's query still runs on every send.
CHAT_RATE_LIMIT = (10_000, 10)
