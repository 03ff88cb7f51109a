"""ASGI entry point: HTTP through Django, WebSockets through Channels.

WebSockets pass an Origin check (a foreign or missing Origin cannot open a socket), then Channels'
own cookie and session middleware (supportcircle/accounts/socket_auth.py), before they reach a consumer,
which decides whose session it is as it admits the socket (chat.opening.admit).
"""

import gc
import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supportcircle.settings")
django.setup(set_prefix=False)  # as django.core.asgi.get_asgi_application does

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402

from chat.layers import bound_daphne_send_buffers  # noqa: E402
from chat.middleware import CloseCleanlyOnFailure  # noqa: E402
from chat.routing import websocket_urlpatterns  # noqa: E402
from supportcircle.accounts.socket_auth import SocketSessionStack  # noqa: E402
from supportcircle.http import ClosingASGIHandler  # noqa: E402

# A client that stops reading costs at most this much memory, then is closed with 4408.
bound_daphne_send_buffers(settings.CHAT_SEND_BUFFER_BYTES)

application = ProtocolTypeRouter(
    {
        # Django's handler, except that each request closes the database connections it opened (see there).
        "http": ClosingASGIHandler(),
        "websocket": AllowedHostsOriginValidator(
            CloseCleanlyOnFailure(SocketSessionStack(URLRouter(websocket_urlpatterns)))
        ),
    }
)

# Everything imported so far lives as long as the process: keep it out of the collector's way, and
# collect the youngest objects less often. A full collection walks every object on the heap, and with
# a room of 500 sockets open such a pause held up deliveries by a tenth of a second or more.
gc.freeze()
gc.set_threshold(50_000, 20, 100)
