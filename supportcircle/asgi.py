"""ASGI entry point: HTTP through Django, WebSockets through Channels.

Two plain requests are answered in front of Django, with Django's own checks and answer: a member's
request for the chat history (chat/fast_history.py), and a login with the right pseudonym and
password (supportcircle/accounts/fast_login.py). Every other HTTP request goes to Django.

WebSockets pass an Origin check (a foreign or missing Origin cannot open a
socket) and session authentication before they reach a consumer.
"""

import gc
import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supportcircle.settings")
django.setup(set_prefix=False)  # as django.core.asgi.get_asgi_application does

from supportcircle.http import ClosingASGIHandler, leave_request_bodies_to_django  # noqa: E402

# Django's handler, except that each request closes the database connections it opened (see there).
django_asgi_app = ClosingASGIHandler()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402

from chat.fast_history import ChatHistoryFastPath  # noqa: E402
from chat.layers import bound_daphne_send_buffers, lighten_daphne_sockets  # noqa: E402
from chat.routing import websocket_urlpatterns  # noqa: E402
from supportcircle.accounts.fast_login import FastLoginPath  # noqa: E402
from supportcircle.accounts.socket_auth import SessionAuthMiddleware  # noqa: E402
from supportcircle.security import CloseCleanlyOnFailure  # noqa: E402

# A client that stops reading costs at most this much memory, then is closed with 4408.
bound_daphne_send_buffers(settings.CHAT_SEND_BUFFER_BYTES)
# An idle socket costs less: daphne keeps a smaller queue and lets go of the upgraded HTTP request.
lighten_daphne_sockets()
# Django reads POST bodies; Twisted parsing them first only cost time.
leave_request_bodies_to_django()

application = ProtocolTypeRouter(
    {
        "http": FastLoginPath(ChatHistoryFastPath(django_asgi_app), django_app=django_asgi_app),
        "websocket": AllowedHostsOriginValidator(
            CloseCleanlyOnFailure(SessionAuthMiddleware(URLRouter(websocket_urlpatterns)))
        ),
    }
)

# Everything imported so far lives as long as the process: keep it out of the collector's way, and
# collect the youngest objects less often. A full collection walks every object on the heap, and with
# a room of 500 sockets open such a pause held up deliveries by a tenth of a second or more.
gc.freeze()
gc.set_threshold(50_000, 20, 100)
