"""Two reviewers on one alert: a page open for a while cannot overwrite the other's review unseen."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from review_helpers import AUTH, BASE_URL, Seeded, log_in, make_context, seed

from edge.review.app import create_app
from edge.store import AlertStore


def test_a_review_naming_the_one_it_saw_is_refused_once_another_came(
    client: TestClient, seeded: Seeded
) -> None:
    alert_id = seeded.ids[0]
    url = f"/api/v1/alerts/{alert_id}/review"
    never = client.post(
        url, json={"status": "dismissed", "if_reviewed_at": "2026-01-01T00:00:00Z"}, headers=AUTH
    )
    assert never.json()["detail"] == f"alert {alert_id} has not been reviewed: if_reviewed_at is null for it"
    with AlertStore(seeded.url) as store:
        store.set_status(alert_id, "confirmed", "bob: a real fall", reviewer="bob")
    stale = client.post(url, json={"status": "dismissed", "if_reviewed_at": None}, headers=AUTH)
    assert stale.status_code == 409 and "reviewed meanwhile (confirmed, by bob)" in stale.json()["detail"]
    seen = client.get(f"/api/v1/alerts/{alert_id}", headers=AUTH).json()
    assert (seen["status"], seen["note"]) == ("confirmed", "bob: a real fall")
    normal = client.post(
        f"/api/v1/alerts/{alert_id}/normal", json={"scope": "camera", "if_reviewed_at": None}, headers=AUTH
    )
    assert normal.status_code == 409
    fresh = client.post(
        url, json={"status": "dismissed", "if_reviewed_at": seen["reviewed_at"]}, headers=AUTH
    )
    assert fresh.status_code == 200 and fresh.json()["status"] == "dismissed"
    assert (
        client.post(url, json={"status": "new"}, headers=AUTH).status_code == 200
    )  # a script that names none


def test_the_alert_page_left_open_shows_another_reviewers_review_instead_of_erasing_it(
    page, live_server: str, seeded: Seeded
) -> None:  # type: ignore[no-untyped-def]
    """It dismissed the alert over a colleague's confirmation and emptied their note."""
    alert_id = seeded.ids[0]
    # The page has not heard of the colleague's review yet: without this, its live stream (or the
    # catch-up as it opens) told it first on a slow host, and the press was an informed one.
    page.route("**/api/v1/events/live*", lambda route: route.abort())
    log_in(page, live_server, f"/alerts/{alert_id}")
    page.wait_for_selector("#meta dt")
    with AlertStore(seeded.url) as store:
        store.set_status(alert_id, "confirmed", "bob: a real fall", reviewer="bob")
    page.click("#dismiss")
    page.wait_for_function("document.getElementById('review-msg').textContent.startsWith('Failed')")
    assert "reviewed meanwhile (confirmed, by bob)" in page.locator("#review-msg").inner_text()
    assert page.locator("#status-badge").inner_text() == "confirmed"
    assert "bob: a real fall" in page.locator("#meta").inner_text()
    with AlertStore(seeded.url) as store:
        a = store.get_alert(alert_id)
        assert (a.status, a.note, a.reviewed_by) == ("confirmed", "bob: a real fall", "bob")
    page.click("#dismiss")  # seen now: a second press is the reviewer's own decision
    page.wait_for_function("document.getElementById('review-msg').textContent === 'Marked dismissed.'")
    with AlertStore(seeded.url) as store:
        assert store.get_alert(alert_id).status == "dismissed"


def test_bulk_review_if_still_new_leaves_the_alerts_reviewed_meanwhile(
    client: TestClient, seeded: Seeded
) -> None:
    first, second = seeded.ids[:2]
    with AlertStore(seeded.url) as store:
        store.set_status(second, "confirmed", "bob: real", reviewer="bob")
    body = {"ids": [first, second, 999_999], "status": "dismissed", "if_status": "new"}
    r = client.post("/api/v1/alerts/review", json=body, headers=AUTH)
    assert r.json() == {"updated": [first], "missing": [999_999], "changed": [second]}
    with AlertStore(seeded.url) as store:
        assert (store.get_alert(first).status, store.get_alert(second).status) == ("dismissed", "confirmed")


def test_mark_page_reviewed_on_a_list_gone_stale_dismisses_only_what_is_still_new(
    page, live_server: str, seeded: Seeded
) -> None:  # type: ignore[no-untyped-def]
    """With the live updates cut (a proxy dropping the stream), the list still showed an alert a
    colleague had confirmed as new, and "Mark page reviewed" dismissed it over their confirmation."""
    page.route("**/api/v1/events/live", lambda route: route.abort())
    log_in(page, live_server)
    page.wait_for_function("document.querySelectorAll('#rows tr.new').length === 6")
    with AlertStore(seeded.url) as store:
        store.set_status(seeded.ids[0], "confirmed", "bob: real", reviewer="bob")
    page.click("#bulk-reviewed")
    page.wait_for_function("document.querySelectorAll('#rows tr.dismissed').length === 5")
    assert page.locator("#review-result").inner_text() == (
        "5 alert(s) dismissed; 1 reviewed meanwhile by someone else, left as they are"
    )
    assert page.locator(f"#rows tr[data-id='{seeded.ids[0]}']").get_attribute("class") == "confirmed"
    with AlertStore(seeded.url) as store:
        assert store.get_alert(seeded.ids[0]).status == "confirmed"


def test_a_double_press_on_the_alert_page_sends_one_review(page, live_server: str, seeded: Seeded) -> None:  # type: ignore[no-untyped-def]
    """Both presses were sent, the second naming the review the first replaced: a 409 whose
    "Failed: reviewed meanwhile" could be the last word on the reviewer's own action."""
    log_in(page, live_server, f"/alerts/{seeded.ids[0]}")
    page.wait_for_selector("#meta dt")
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    page.evaluate("for (const i of [1, 2]) document.getElementById('dismiss').click()")
    page.wait_for_function("document.getElementById('review-msg').textContent === 'Marked dismissed.'")
    assert not page.locator("#dismiss").is_disabled()
    assert [u.split("/api/v1")[1] for u in posts] == [f"/alerts/{seeded.ids[0]}/review"]


def test_the_review_an_api_client_read_back_is_the_one_it_names_on_postgresql(
    tmp_path: Path, pg_url: str
) -> None:
    """``reviewed_at`` read from the API, sent back as ``if_reviewed_at``, matches (timestamptz, µs)."""
    (tmp_path / "profiles").mkdir()
    seeded = seed(pg_url, tmp_path / "profiles")
    ctx = make_context(seeded.url, seeded.profiles)
    url = f"/api/v1/alerts/{seeded.ids[0]}/review"
    with TestClient(create_app(ctx), base_url=BASE_URL) as c:
        assert (
            c.post(url, json={"status": "confirmed", "if_reviewed_at": None}, headers=AUTH).status_code == 200
        )
        seen = c.get(f"/api/v1/alerts/{seeded.ids[0]}", headers=AUTH).json()["reviewed_at"]
        assert (
            c.post(url, json={"status": "dismissed", "if_reviewed_at": seen}, headers=AUTH).status_code == 200
        )
        assert c.post(url, json={"status": "new", "if_reviewed_at": seen}, headers=AUTH).status_code == 409
        bulk = {"ids": seeded.ids[:2], "status": "dismissed", "if_status": "new"}
        assert c.post("/api/v1/alerts/review", json=bulk, headers=AUTH).json()["changed"] == [seeded.ids[0]]
    ctx.store.close()


def test_a_bulk_review_of_selected_alerts_on_a_stale_list_leaves_a_colleagues_review(
    page, live_server: str, seeded: Seeded
) -> None:  # type: ignore[no-untyped-def]
    """Confirming two selected alerts overwrote the dismissal a colleague had made of one meanwhile."""
    page.route("**/api/v1/events/live", lambda route: route.abort())  # live updates down
    log_in(page, live_server)
    page.wait_for_function("document.querySelectorAll('#rows tr.new').length === 6")
    first, second = seeded.ids[:2]
    for i in (first, second):
        page.check(f"#rows tr[data-id='{i}'] input.pick")
    with AlertStore(seeded.url) as store:
        store.set_status(second, "dismissed", "bob: a cleaner", reviewer="bob")
    page.click("#bulk-confirm")
    page.wait_for_function(
        "document.getElementById('review-result').textContent.startsWith('1 alert(s) confirmed')"
    )
    assert (
        page.locator("#review-result")
        .inner_text()
        .endswith("; 1 reviewed meanwhile by someone else, left as they are")
    )
    with AlertStore(seeded.url) as store:
        assert (store.get_alert(first).status, store.get_alert(second).status) == ("confirmed", "dismissed")


def test_an_undo_of_normal_naming_the_review_it_saw_is_refused_once_another_came(
    client: TestClient, seeded: Seeded
) -> None:
    """Undoing "normal" took no if_reviewed_at (it was ignored): a page open for a while took the
    windows out and reopened the alert over a colleague's later review."""
    from edge.profiles import ProfileStore

    alert_id, url = seeded.ids[0], f"/api/v1/alerts/{seeded.ids[0]}/normal"
    assert client.post(url, json={"scope": "camera"}, headers=AUTH).status_code == 200
    seen = client.get(f"/api/v1/alerts/{alert_id}", headers=AUTH).json()["reviewed_at"]
    versions = ProfileStore(seeded.profiles).versions("demo-walk")
    with AlertStore(seeded.url) as store:
        store.set_status(alert_id, "confirmed", "bob: not normal at all", reviewer="bob")
    stale = client.delete(url, params={"if_reviewed_at": seen}, headers=AUTH)
    assert stale.status_code == 409 and "reviewed meanwhile (confirmed, by bob)" in stale.json()["detail"]
    assert ProfileStore(seeded.profiles).versions("demo-walk") == versions  # nothing taken out
    now = client.get(f"/api/v1/alerts/{alert_id}", headers=AUTH).json()
    assert (now["status"], now["in_profile"]) == ("confirmed", "demo-walk@door")
    fresh = client.delete(url, params={"if_reviewed_at": now["reviewed_at"]}, headers=AUTH)
    assert fresh.status_code == 200, fresh.text
    assert client.get(f"/api/v1/alerts/{alert_id}", headers=AUTH).json()["in_profile"] is None


def test_the_alert_page_left_open_does_not_undo_normal_over_another_reviewers_review(
    page, live_server: str, seeded: Seeded
) -> None:  # type: ignore[no-untyped-def]
    import httpx

    alert_id = seeded.ids[0]
    marked = httpx.post(
        f"{live_server}/api/v1/alerts/{alert_id}/normal", json={"scope": "camera"}, headers=AUTH
    )
    assert marked.status_code == 200, marked.text
    page.route("**/api/v1/events/live*", lambda route: route.abort())  # it has not heard of bob's review
    log_in(page, live_server, f"/alerts/{alert_id}")
    page.wait_for_selector("#undo:not([hidden])")
    with AlertStore(seeded.url) as store:
        store.set_status(alert_id, "confirmed", "bob: not normal at all", reviewer="bob")
    page.click("#undo")
    page.wait_for_function("document.getElementById('review-msg').textContent.startsWith('Failed')")
    assert "reviewed meanwhile (confirmed, by bob)" in page.locator("#review-msg").inner_text()
    assert page.locator("#status-badge").inner_text() == "confirmed"
    with AlertStore(seeded.url) as store:
        assert store.get_alert(alert_id).status == "confirmed"
