"""The timeline zoomed in to seconds, and its bars' words on hover as the chart is drawn anew, in a
real browser (Chromium through Playwright, a real Uvicorn server on a SQLite log)."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest
from review_helpers import Seeded, log_in, new_context, watched_page


@pytest.fixture
def utc_page(browser) -> Iterator:  # type: ignore[no-untyped-def]
    """A page whose browser clock is UTC, so the axis reads the same on every host."""
    context = new_context(browser, viewport={"width": 1100, "height": 760}, timezone_id="UTC")
    try:
        with watched_page(context) as page:
            yield page
    finally:
        context.close()


def _seconds(label: str) -> float:
    """Seconds since midnight of an axis label such as "10:00:04 AM UTC" or "10:00:03.5 AM UTC"."""
    h, m, s, half = re.fullmatch(r"(\d+):(\d\d):(\d\d(?:\.\d+)?) (AM|PM) UTC", label).groups()  # type: ignore[union-attr]
    return (int(h) % 12 + (12 if half == "PM" else 0)) * 3600 + int(m) * 60 + float(s)


@pytest.mark.parametrize("length_s", [10.0, 2.0])
def test_zoomed_in_to_seconds_the_axis_marks_round_times_evenly(
    utc_page, live_server: str, length_s: float
) -> None:  # type: ignore[no-untyped-def]
    """The period split in four, its marks' labels cut to the second: 10 s from 10:00:03.4 read
    10:00:03, :05, :08, :10, :13 (2, 3, 2, 3 s apart) and 2 s read :03, :03, :04, :04, :05."""
    since = datetime(2026, 1, 1, 10, 0, 3, 400_000, UTC)
    period = {"since": since.isoformat(), "until": (since + timedelta(seconds=length_s)).isoformat()}
    log_in(utc_page, live_server, "/timeline?" + urlencode(period))
    utc_page.wait_for_function("document.getElementById('t-summary').textContent !== ''")
    labels = utc_page.locator("#tl text:not(.row-label)").all_text_contents()
    times = [_seconds(t) for t in labels]
    steps = {round(b - a, 3) for a, b in itertools.pairwise(times)}
    assert len(times) >= 3 and len(steps) == 1, labels  # as many as fit, evenly apart
    step = steps.pop()
    start = 10 * 3600 + 3.4
    assert all(start <= t <= start + length_s for t in times), labels  # within the period
    assert all(abs(t / step - round(t / step)) < 1e-6 for t in times), labels  # round times
    # Each mark's line is where its time is on the chart, the lines evenly apart.
    lines = utc_page.locator("#tl line.mark").evaluate_all(
        "ls => ls.map((l) => Number(l.getAttribute('x1')))"
    )
    assert len(lines) == len(times)
    gaps = [b - a for a, b in itertools.pairwise(lines)]
    assert max(gaps) - min(gaps) < 0.01, lines
    per_s = gaps[0] / step
    assert abs(lines[0] - (lines[-1] - per_s * (times[-1] - times[0]))) < 0.01
    utc_page.goto("about:blank")  # closes the live stream before the server stops


TIP = "document.getElementById('tl-tip')"


def test_a_bars_words_stay_on_hover_as_the_chart_is_drawn_anew(
    page, live_server: str, seeded: Seeded
) -> None:  # type: ignore[no-untyped-def]
    """Hovering a bar showed its words in the browser's tooltip (an SVG title); the chart, drawn anew
    every 5 s, took that bar away with them: they flickered off, back only once the pointer moved."""
    page.clock.install(time=datetime.now(UTC))
    log_in(page, live_server, "/timeline?last=6")
    newest = seeded.ids[-1]
    rect = f"#tl rect.bar[data-id='{newest}']"
    page.wait_for_selector(rect)
    page.hover(rect)
    page.wait_for_function(f"!{TIP}.hidden")
    words = page.locator("#tl-tip").inner_text()
    assert words.startswith(f"alert {newest}: yard") and words == page.locator(
        f"#tl a[data-id='{newest}']"
    ).get_attribute("aria-label")
    assert page.locator("#tl rect.bar title").count() == 0  # no second, native tooltip
    # Every change of the tip from now on, and the bar under the pointer marked as the one drawn now.
    page.evaluate(f"""() => {{
        window.tipChanges = [];
        new MutationObserver((ms) => window.tipChanges.push(...ms.map((m) => m.attributeName + '=' + {TIP}.hidden)))
            .observe({TIP}, {{ attributes: true, attributeFilter: ['hidden'] }});
        document.querySelector("{rect}").dataset.old = '1';
    }}""")
    for _ in range(2):  # two redraws of the sliding "Last 6 hours"
        page.clock.fast_forward("00:05")
        page.wait_for_function(f'!document.querySelector("{rect}").dataset.old')
        page.evaluate(f"document.querySelector(\"{rect}\").dataset.old = '1'")
    assert page.evaluate("window.tipChanges") == []  # never hidden, not for a moment
    assert page.locator("#tl-tip").is_visible() and page.locator("#tl-tip").inner_text() == words
    box = page.locator("#tl").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + 40, box["y"] + box["height"] - 5)  # off the bars, onto the names
    page.wait_for_function(f"{TIP}.hidden")
    # The keyboard's bar shows its words too, kept across a redraw as the focus is.
    page.locator(f"#tl a[data-id='{newest}']").focus()
    page.wait_for_function(f"!{TIP}.hidden")
    page.clock.fast_forward("00:05")
    page.wait_for_function(f'!document.querySelector("{rect}").dataset.old')
    assert page.locator("#tl-tip").is_visible() and page.locator("#tl-tip").inner_text() == words
    page.keyboard.press("Shift+Tab")  # back to the bar before: its words
    page.wait_for_function(f"{TIP}.textContent !== {words!r}")
    assert page.locator("#tl-tip").inner_text().startswith("alert ")
    page.goto("about:blank")  # closes the live stream before the server stops


def test_tab_goes_from_zoom_out_to_the_first_bar_not_to_the_chart(
    page, live_server: str, seeded: Seeded
) -> None:  # type: ignore[no-untyped-def]
    """The chart itself was a Tab stop (Chromium makes an SVG element with focus listeners one, and the
    tip's were on it): between "zoom out" and the first bar, a stop that did nothing."""
    log_in(page, live_server, "/timeline?last=6")
    page.wait_for_selector("#tl rect.bar")
    page.locator("#t-out").focus()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.matches('#tl a.bar-link')")
    page.wait_for_function(f"!{TIP}.hidden")  # its words, shown as the focus came
    assert page.locator("#tl-tip").inner_text() == page.evaluate(
        "document.activeElement.getAttribute('aria-label')"
    )
    page.goto("about:blank")  # closes the live stream before the server stops
