"""The time zones a person chooses from: real places (Area/City), common ones first, grouped by region.

``zoneinfo.available_timezones()`` has about 600 names, among them "Factory", "US/Pacific-New" style
aliases and POSIX rules ("EST5EDT"). People choose from the canonical Area/City names the tz database
lists by country (zone.tab), plus UTC; a browser's older name for a place ("Asia/Calcutta") is
understood as today's ("Asia/Kolkata") through the database's own links.
"""

from __future__ import annotations

import json
import re
import zoneinfo
from functools import cache
from importlib import resources
from pathlib import Path

UTC = "UTC"
REGIONS = {
    "Africa": "Africa",
    "America": "Americas",
    "Antarctica": "Antarctica",
    "Arctic": "Arctic",
    "Asia": "Asia",
    "Atlantic": "Atlantic",
    "Australia": "Australia",
    "Europe": "Europe",
    "Indian": "Indian Ocean",
    "Pacific": "Pacific",
}
# Where most people using SupportCircle are; shown first, each also in its region.
COMMON = (
    UTC,
    "Europe/London",
    "Europe/Dublin",
    "Europe/Lisbon",
    "Europe/Paris",
    "Europe/Berlin",
    "Europe/Madrid",
    "Europe/Rome",
    "Europe/Amsterdam",
    "Europe/Stockholm",
    "Europe/Warsaw",
    "Europe/Athens",
    "Europe/Istanbul",
    "America/St_Johns",
    "America/Halifax",
    "America/New_York",
    "America/Toronto",
    "America/Chicago",
    "America/Denver",
    "America/Phoenix",
    "America/Los_Angeles",
    "America/Vancouver",
    "America/Anchorage",
    "Pacific/Honolulu",
    "America/Mexico_City",
    "America/Bogota",
    "America/Sao_Paulo",
    "America/Argentina/Buenos_Aires",
    "Africa/Lagos",
    "Africa/Cairo",
    "Africa/Johannesburg",
    "Africa/Nairobi",
    "Asia/Dubai",
    "Asia/Karachi",
    "Asia/Kolkata",
    "Asia/Dhaka",
    "Asia/Bangkok",
    "Asia/Jakarta",
    "Asia/Singapore",
    "Asia/Manila",
    "Asia/Shanghai",
    "Asia/Hong_Kong",
    "Asia/Seoul",
    "Asia/Tokyo",
    "Australia/Perth",
    "Australia/Adelaide",
    "Australia/Brisbane",
    "Australia/Sydney",
    "Pacific/Auckland",
)
_AREA_CITY = re.compile(rf"^({'|'.join(REGIONS)})/[A-Z][A-Za-z_\-]+(/[A-Z][A-Za-z_\-]+)?$")


def _tz_file(name: str) -> str | None:
    """A file of the tz database (zone.tab, tzdata.zi): the system's, else the tzdata package's."""
    for folder in zoneinfo.TZPATH:
        path = Path(folder) / name
        if path.is_file():
            return path.read_text(encoding="utf-8", errors="replace")
    try:
        return resources.files("tzdata.zoneinfo").joinpath(name).read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError, OSError):
        return None


@cache
def canonical_zones() -> frozenset[str]:
    """Area/City names of real places, as the tz database lists them by country, that this machine has."""
    available = zoneinfo.available_timezones()
    listed = _tz_file("zone.tab")
    if listed:
        names = {line.split("\t")[2] for line in listed.splitlines() if line and not line.startswith("#")}
    else:  # no zone.tab anywhere: the Area/City shape still leaves out Factory, EST5EDT, US/Eastern...
        names = available
    return frozenset(name for name in names if name in available and _AREA_CITY.match(name)) | {UTC}


@cache
def _links() -> dict[str, str]:
    """Older or other names of a place, to the name people choose from ("Asia/Calcutta": "Asia/Kolkata")."""
    links = {}
    for line in (_tz_file("tzdata.zi") or "").splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "L":
            links[parts[2]] = parts[1]
    return links


def canonical(name: str) -> str | None:
    """The name people choose from for this zone, or None when it is no zone of a place we offer."""
    seen = set()
    while name not in canonical_zones():
        if name in seen or name not in _links():
            return UTC if name in ("Etc/UTC", "Etc/GMT", "GMT", "UCT", "Universal", "Zulu", "Etc/Universal") else None
        seen.add(name)
        name = _links()[name]
    return name


def place(name: str) -> str:
    """ "America/Argentina/Buenos_Aires" as "Buenos Aires, Argentina"; "UTC" as itself."""
    if name == UTC:
        return "UTC (Coordinated Universal Time)"
    parts = [part.replace("_", " ") for part in name.split("/")[1:]]
    return ", ".join(reversed(parts))


@cache
def grouped_choices() -> tuple[tuple[str, tuple[tuple[str, str], ...]], ...]:
    """Optgroups for a <select>: common places first, then every place by region, alphabetically."""
    zones = canonical_zones()
    common = tuple(
        (name, f"{place(name)}" + (f" · {REGIONS[name.split('/')[0]]}" if "/" in name else ""))
        for name in COMMON
        if name in zones
    )
    by_region: dict[str, list[tuple[str, str]]] = {}
    for name in zones - {UTC}:
        by_region.setdefault(REGIONS[name.split("/")[0]], []).append((name, place(name)))
    regions = tuple(
        (region, tuple(sorted(by_region[region], key=lambda choice: choice[1]))) for region in sorted(by_region)
    )
    return (("Common", common), *regions)


@cache
def links_json() -> str:
    """Older names of the places we offer, for the browser's guess (static/js/timezone.js), as JSON."""
    return json.dumps({alias: canonical(alias) for alias in sorted(_links()) if canonical(alias)})
