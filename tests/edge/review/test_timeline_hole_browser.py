"""An alert that waited across a hole in its stream (no frames: a camera's outage, edge/episodes.py):
its page drew the score line straight across the hole, as if scores were known there, and the
playback went from the last pose before it to the first after it as if they were one movement."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import numpy as np
from review_helpers import Seeded, demo_alert, performance_windows, timeline

from edge.store import AlertStore

HOLE_S = 5.0


def _alert_across_a_hole(log: Seeded) -> int:
    windows, spans = performance_windows("jump_flail", 6.0, 12, 6)
    spans[3:] += HOLE_S  # the last three windows came after the hole
    scores = np.linspace(1.0, 1.5, 6)
    line = np.concatenate([timeline(spans[:3], scores[:3], tail_s=0.0), timeline(spans[3:], scores[3:])])
    alert = dataclasses.replace(
        demo_alert("door", "demo-walk", datetime.now(UTC) - timedelta(minutes=3), seed=12),
        windows=windows, window_times=spans, window_scores=scores, timeline=line,
    )  # fmt: skip
    with AlertStore(log.url) as store:
        [alert_id] = store.write_alerts([alert])
    return alert_id


def test_the_score_line_breaks_at_a_hole_and_the_playback_says_no_frames(  # type: ignore[no-untyped-def]
    module_page, module_server: str, module_log: Seeded
) -> None:
    page = module_page
    page.goto(f"{module_server}/alerts/{_alert_across_a_hole(module_log)}")
    page.wait_for_function("document.getElementById('clock').textContent.includes('frame')")
    traces = page.locator("#timeline polyline.trace")
    assert traces.count() == 2  # one each side, none across
    assert page.locator("#timeline rect.hole").count() == 1
    assert page.locator("#timeline text.hole-label").text_content() == "no frames"
    page.click("#play")  # paused: the scrubber alone moves the playback
    n = int(page.locator("#scrub").get_attribute("max")) + 1
    said = []
    for i in range(n):
        said.append(
            page.evaluate(
                """(i) => {
                  const s = document.getElementById('scrub'); s.value = String(i); s.dispatchEvent(new Event('input'));
                  const c = document.querySelector('#timeline line.cursor'), r = document.querySelector('#timeline rect.hole');
                  const x = Number(c.getAttribute('x1')), x0 = Number(r.getAttribute('x')), w = Number(r.getAttribute('width'));
                  return [document.getElementById('clock').textContent.includes('no frames'), x0 < x && x < x0 + w];
                }""",
                i,
            )
        )
    hole = [i for i, (no_frames, _) in enumerate(said) if no_frames]
    assert hole and hole == list(range(hole[0], hole[-1] + 1)), said  # one stretch, scrubbed through
    assert all(in_band for _, in_band in (said[i] for i in hole))  # the cursor crosses the band
    assert 0 < hole[0] and hole[-1] < n - 1  # poses either side


def test_the_timeline_pages_trace_breaks_at_a_hole(
    module_page, module_server: str, module_log: Seeded
) -> None:  # type: ignore[no-untyped-def]
    alert_id = _alert_across_a_hole(module_log)
    module_page.goto(f"{module_server}/timeline")
    traces = module_page.locator(f"#tl polyline.trace[data-id='{alert_id}']")
    traces.first.wait_for(state="attached")  # a few seconds in 24 hours: no width to be visible
    assert traces.count() == 2  # one each side of the hole
    assert module_page.locator(f"#tl polyline.trace[data-id='{module_log.ids[0]}']").count() == 1
