"""An alert of a camera scored against several profiles ("calm+ward") has no one version (0): the
list and its page said "calm+ward v0", a version no profile has."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from review_helpers import Seeded, demo_alert, logged_in_context, served, watched_page

from edge.store import AlertStore


def test_an_alert_of_several_profiles_names_them_without_a_version(browser, seeded: Seeded) -> None:  # type: ignore[no-untyped-def]
    with AlertStore(seeded.url) as store:
        [both] = store.write_alerts(
            [replace(demo_alert("door", "calm+ward", datetime.now(UTC), seed=40), profile_version=0)]
        )
    with served(seeded.url, seeded.profiles) as base, logged_in_context(browser, base) as context:
        with watched_page(context) as page:
            page.goto(base + "/")
            row = page.locator(f"#rows tr[data-id='{both}']")
            row.wait_for()
            assert "calm+ward" in row.inner_text() and "v0" not in row.inner_text()
            one = page.locator(f"#rows tr[data-id='{seeded.ids[0]}']").inner_text()
            assert "demo-walk v1" in one  # one profile: its version, as before
            page.goto(f"{base}/alerts/{both}")
            page.wait_for_selector("#meta dd")
            meta = page.locator("#meta").inner_text()
            assert "calm+ward" in meta and "v0" not in meta, meta
            page.goto("about:blank")  # closes the live stream before the server stops
