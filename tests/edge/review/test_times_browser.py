"""Times on the review pages as a reviewer in another zone sees them: a browser in Los Angeles looking
at alerts a host in UTC raised across both of its DST changes (Chromium through Playwright, a real
Uvicorn server on a SQLite log)."""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
from review_helpers import demo_alert, logged_in_context, served, watched_page

from edge.demo import PROFILES_DIR
from edge.store import AlertStore

LA = "America/Los_Angeles"
# 2026-03-08 10:00Z Los Angeles springs forward (02:00 PST -> 03:00 PDT); 2026-11-01 09:00Z it falls
# back (02:00 PDT -> 01:00 PST), so 08:30Z and 09:30Z are both 01:30 on its clocks.
STARTS = [
    datetime(2026, 3, 8, 9, 30, tzinfo=UTC),  # 01:30 PST
    datetime(2026, 3, 8, 10, 30, tzinfo=UTC),  # 03:30 PDT
    datetime(2026, 11, 1, 8, 30, tzinfo=UTC),  # 01:30 PDT
    datetime(2026, 11, 1, 9, 30, tzinfo=UTC),  # 01:30 PST
]


@pytest.fixture(scope="module")
def dst_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server on a log holding ``STARTS``' alerts (ids 1..4 in that order); yields its base URL.
    Shared by the module's tests: none of them writes."""
    folder = tmp_path_factory.mktemp("dst")
    profiles = folder / "profiles"
    shutil.copytree(PROFILES_DIR / "demo-walk", profiles / "demo-walk")
    url = f"sqlite:///{folder / 'alerts.db'}"
    with AlertStore(url) as store:
        store.write_alerts([demo_alert("door", "demo-walk", t, seed=i + 1) for i, t in enumerate(STARTS)])
    with served(url, profiles) as base:
        yield base


@pytest.fixture(scope="module")
def la_context(browser, dst_server: str):  # type: ignore[no-untyped-def]
    """A browser in Los Angeles, logged in to ``dst_server`` once for the module's pages."""
    with logged_in_context(
        browser, dst_server, timezone_id=LA, locale="en-US", viewport={"width": 1100, "height": 760}
    ) as context:
        yield context


@pytest.fixture
def la_page(la_context):  # type: ignore[no-untyped-def]
    with watched_page(la_context) as page:
        yield page


def _started_cells(page) -> list[str]:  # type: ignore[no-untyped-def]
    page.wait_for_selector("#rows tr")
    return page.locator("#rows tr td:nth-child(4)").all_inner_texts()


def test_times_name_their_zone_so_the_fall_back_hour_is_not_shown_twice(la_page, dst_server: str) -> None:  # type: ignore[no-untyped-def]
    """Times were the browser's local time with no zone: the two alerts an hour apart at the fall-back
    hour both read "11/1/2026, 1:30:00 AM", and nothing said the list was not in the host's UTC."""
    la_page.goto(dst_server + "/")
    assert _started_cells(la_page) == [
        "11/1/2026, 1:30:00 AM PST",
        "11/1/2026, 1:30:00 AM PDT",
        "3/8/2026, 3:30:00 AM PDT",
        "3/8/2026, 1:30:00 AM PST",
    ]
    # The date filters took and showed local time without saying whose (the list's cells name a zone).
    labels = la_page.locator(".filters label").all_inner_texts()
    assert [t.strip() for t in labels if t.startswith(("From", "To"))] == [
        "From (America/Los_Angeles)",
        "To (America/Los_Angeles)",
    ]
    la_page.goto(f"{dst_server}/alerts/3")
    la_page.wait_for_selector("#meta dd")
    keys, values = (la_page.locator(f"#meta {tag}").all_inner_texts() for tag in ("dt", "dd"))
    meta = dict(zip(keys, values, strict=True))
    assert meta["started"] == "11/1/2026, 1:30:00 AM PDT"
    assert meta["ended"] == "11/1/2026, 1:30:04 AM PDT"
    la_page.goto(f"{dst_server}/timeline?since=2026-11-01T08:00:00.000Z&until=2026-11-01T10:00:00.000Z")
    la_page.wait_for_function("document.getElementById('t-summary').textContent !== ''")
    summary = la_page.locator("#t-summary").inner_text()
    assert summary == "2 alert(s) on 3 camera(s), 11/1/2026, 1:00:00 AM PDT – 11/1/2026, 2:00:00 AM PST"
    # The axis named no zone either: it read 1:00, 1:30, 1:00, 1:30, 2:00.
    assert _axis(la_page) == ["1:00 AM PDT", "1:30 AM PDT", "1:00 AM PST", "1:30 AM PST", "2:00 AM PST"]
    la_page.goto(f"{dst_server}/timeline?since=2026-10-29T09:00Z&until=2026-11-04T09:00Z")  # days: a date too
    la_page.wait_for_function("document.getElementById('t-summary').textContent !== ''")
    assert _axis(la_page) == [
        "10/29/2026, 2:00 AM PDT", "10/30/2026, 2:00 PM PDT", "11/1/2026, 1:00 AM PST",
        "11/2/2026, 1:00 PM PST", "11/4/2026, 1:00 AM PST",
    ]  # fmt: skip
    # Longer times: fewer fit side by side; on a phone, its two ends only (they overlapped there).
    for width in (860, 375):
        la_page.set_viewport_size({"width": width, "height": 760})
        la_page.reload()
        la_page.wait_for_function("document.getElementById('t-summary').textContent !== ''")
        spans = la_page.locator("#tl text:not(.row-label)").evaluate_all(
            "ts => ts.map((t) => [t.getBBox().x, t.getBBox().x + t.getBBox().width])"
        )
        assert len(spans) >= 2 and all(a[1] < b[0] for a, b in itertools.pairwise(spans)), (width, spans)


def _axis(page) -> list[str]:  # type: ignore[no-untyped-def]
    return page.locator("#tl text:not(.row-label)").all_text_contents()


@pytest.mark.parametrize(
    "since, shown, ids",
    [
        ("2026-03-08T10:00", "2026-03-08T03:00", ["4", "3", "2"]),  # the docs: the URL is UTC
        ("2026-03-08 10:00:00", "2026-03-08T03:00", ["4", "3", "2"]),
        ("2026-03-08T10:00:00-08:00", "2026-03-08T11:00", ["4", "3"]),  # an offset is kept
        ("2026-03-08T10:00:00.000Z", "2026-03-08T03:00", ["4", "3", "2"]),  # what the page writes
        # The field holds local minutes, yet the link's own moment is asked for: its seconds, and the
        # second 01:30 of the fall-back night (the field's 01:30 read as the first: alert 3 listed too).
        ("2026-03-08T09:30:30Z", "2026-03-08T01:30", ["4", "3", "2"]),
        ("2026-11-01T09:30:00Z", "2026-11-01T01:30", ["4"]),
    ],
)
def test_a_time_without_a_zone_in_the_address_is_utc_as_the_docs_and_the_api_say(  # type: ignore[no-untyped-def]
    la_page, dst_server: str, since: str, shown: str, ids: list[str]
) -> None:
    """A hand-written (or CLI-copied) ``?since=2026-03-08T10:00`` was read as the browser's local time:
    in Los Angeles the list began 8 hours later than the same link did for a colleague in UTC, the API
    and ``haad alerts list --since``. A link's seconds were dropped, and the fall-back night's second
    01:30 read as its first, by going through the form's field: the list and the address changed."""
    la_page.goto(dst_server + "/?since=" + since)
    la_page.wait_for_selector("#rows tr")
    assert la_page.locator("#f-since").input_value() == shown
    assert la_page.locator("#rows tr").evaluate_all("rows => rows.map((r) => r.dataset.id)") == ids
    meant = datetime.fromisoformat(since)
    meant = meant if meant.tzinfo else meant.replace(tzinfo=UTC)
    written = parse_qs(urlsplit(la_page.url).query)["since"][0]  # the page writes the address back in UTC
    assert written.endswith("Z") and datetime.fromisoformat(written) == meant
    assert la_page.locator("#url-notice").inner_text() == ""


def test_the_timeline_reads_a_zoneless_period_in_the_address_as_utc(la_page, dst_server: str) -> None:  # type: ignore[no-untyped-def]
    """The timeline's period from the address, without a zone, was the browser's local time too."""
    la_page.goto(dst_server + "/timeline?since=2026-03-08T09:00&until=2026-03-08T11:00")
    la_page.wait_for_function("document.getElementById('t-summary').textContent !== ''")
    # two hours, across the change to summer time: without the zones it read as three
    summary = "2 alert(s) on 3 camera(s), 3/8/2026, 1:00:00 AM PST – 3/8/2026, 4:00:00 AM PDT"
    assert la_page.locator("#t-summary").inner_text() == summary
    query = parse_qs(urlsplit(la_page.url).query)
    assert (query["since"], query["until"]) == (["2026-03-08T09:00:00.000Z"], ["2026-03-08T11:00:00.000Z"])
