"""The timeline zoomed in to seconds, and its bars' words on hover as the chart is drawn anew, in a
real browser (Chromium through Playwright, a real Uvicorn server on a SQLite log)."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest
from review_helpers import Seeded, log_in, new_context


@pytest.fixture
def utc_page(browser) -> Iterator:  # type: ignore[no-untyped-def]
    """A page whose browser clock is UTC, so the axis reads the same on every host."""
    context = new_context(browser, viewport={"width": 1100, "height": 760}, timezone_id="UTC")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    yield page
    context.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"


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
    lines = utc_page.locator("#tl line.mark").evaluate_all("ls => ls.map((l) => Number(l.getAttribute('x1')))")
    assert len(lines) == len(times)
    gaps = [b - a for a, b in itertools.pairwise(lines)]
    assert max(gaps) - min(gaps) < 0.01, lines
    per_s = gaps[0] / step
    assert abs(lines[0] - (lines[-1] - per_s * (times[-1] - times[0]))) < 0.01
    utc_page.goto("about:blank")  # closes the live stream before the server stops
