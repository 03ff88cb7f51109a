"""The site's views, generated from the URL conf, so security tests cover every view that exists.

A new view shows up here by itself; the tests that use this then fail until
they know what to expect of it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver

# Django's admin has its own (staff-only) security; its many generated URLs are checked once, by prefix.
SKIPPED_PREFIXES = ("admin/",)

_PARAMETER = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")


@dataclass(frozen=True)
class Route:
    name: str  # "namespace:name"
    template: str  # "groups/<slug:slug>/join/"

    @property
    def parameters(self) -> list[str]:
        return [match.group("name") for match in _PARAMETER.finditer(self.template)]

    def url(self, values: dict[str, object]) -> str:
        unknown = [name for name in self.parameters if name not in values]
        if unknown:
            raise LookupError(f"{self.template}: give {unknown} a real value in tests/security/scene.py")
        return "/" + _PARAMETER.sub(lambda match: str(values[match.group("name")]), self.template)

    def dummy_url(self) -> str:
        """A URL that resolves to this view, with made-up values (enough for checks that run before the view)."""

        def made_up(match: re.Match) -> str:
            return "1" if match.group("converter") == "int" else "x"

        return "/" + _PARAMETER.sub(made_up, self.template)


def _walk(patterns, prefix: str = "", namespace: str = ""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = namespace + (f"{pattern.namespace}:" if pattern.namespace else "")
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern):
            yield Route(name=namespace + (pattern.name or ""), template=prefix + str(pattern.pattern))


def routes() -> list[Route]:
    seen: set[str] = set()
    found = []
    for route in _walk(get_resolver().url_patterns):
        if route.template.startswith(SKIPPED_PREFIXES) or route.template in seen:
            continue  # the first pattern for a path is the one Django serves
        seen.add(route.template)
        found.append(route)
    return found
