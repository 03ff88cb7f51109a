"""The accessibility gate's tools: axe-core run inside a page, and the page-width check.

axe-core comes from tests/browser/vendor/axe-core (the npm package, version below, unmodified). It is
evaluated in the page through Playwright's DevTools channel, never served by the site and never added
as a <script>, so the site's Content-Security-Policy stays exactly as strict as in production."""

from __future__ import annotations

from pathlib import Path

AXE_VERSION = "4.14.1"
AXE_SOURCE = (Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js").read_text(encoding="utf-8")
# WCAG 2.0 and 2.1, levels A and AA, and axe's best practices: any violation of any impact fails.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
SMALLEST_PHONE = {"width": 320, "height": 640}

_RUN_AXE = """async (tags) => {
  const results = await window.axe.run(document, {
    runOnly: { type: "tag", values: tags },
    resultTypes: ["violations"],
  });
  return results.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map(n => n.target.join(" ")),
  }));
}"""


def axe_violations(page) -> list[str]:
    """Every axe-core violation on the page as it is now, one line each (empty when there are none)."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE_SOURCE)
        assert page.evaluate("() => window.axe.version") == AXE_VERSION
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {', '.join(v['nodes'][:4])}"
        + (f" and {len(v['nodes']) - 4} more" if len(v["nodes"]) > 4 else "")
        for v in page.evaluate(_RUN_AXE, AXE_TAGS)
    ]


_WIDER_THAN_SCREEN = """() => {
  const width = document.documentElement.clientWidth;
  if (document.documentElement.scrollWidth <= width) return [];
  // Name the elements that reach past the right edge, innermost first, to say what to fix.
  return Array.from(document.querySelectorAll("body *"))
    .filter(e => e.getBoundingClientRect().right > width + 1 && getComputedStyle(e).position !== "fixed"
                 && !e.closest(".visually-hidden, .skip-link"))
    .slice(-4)
    .map(e => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "")
              + (typeof e.className === "string" && e.className ? "." + e.className.trim().split(/\\s+/).join(".") : "")
              + " (" + Math.round(e.getBoundingClientRect().right) + " px)");
}"""


def wider_than_screen(page) -> list[str]:
    """What makes the page scroll sideways (empty when it fits the screen's width)."""
    return page.evaluate(_WIDER_THAN_SCREEN)


_DUPLICATE_IDS = """() => {
  const counts = {};
  document.querySelectorAll("[id]").forEach(e => { counts[e.id] = (counts[e.id] || 0) + 1; });
  return Object.keys(counts).filter(id => counts[id] > 1).map(id => id + " (" + counts[id] + " times)");
}"""


def duplicate_ids(page) -> list[str]:
    """Ids used more than once (axe-core 4.14 no longer checks them; labels and descriptions rely on them)."""
    return page.evaluate(_DUPLICATE_IDS)
