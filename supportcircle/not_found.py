"""A wrong address shows the site's own "we couldn't find that page", even with DEBUG on.

With DEBUG on, Django answers an unknown address with its technical page (every URL pattern, the
settings' names): right for someone debugging a route, a yellow wall for a newcomer trying the demo
with `make run`. This swaps that page for templates/404.html; DEBUG_TECHNICAL_404=true keeps
Django's. Without DEBUG, Django already renders 404.html and this does nothing.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.template.loader import render_to_string

# A line only Django's technical 404 page has (django/views/templates/technical_404.html).
_TECHNICAL_MARK = b"because you have <code>DEBUG = True</code>"


class FriendlyNotFoundMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if (
            response.status_code == 404
            and settings.DEBUG
            and not settings.DEBUG_TECHNICAL_404
            and not response.streaming
            and _TECHNICAL_MARK in response.content
        ):
            return HttpResponse(render_to_string("404.html", request=request), status=404)
        return response
