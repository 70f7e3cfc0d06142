"""The HTTP API through FastAPI's TestClient on a real SQLite alert log and real profiles on disk."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from review_helpers import AUTH, BASE_URL, TOKEN, Seeded, demo_alert, make_context, seed
from sqlalchemy import select

from config.serve import ServeConfig
from edge.profiles import ProfileStore
from edge.review.app import create_app
from edge.store import AlertStore
from edge.store.models import Event
from models import skeleton


def _routes(client: TestClient) -> list[APIRoute]:
    from edge.review import api, pages

    return [r for r in [*api.router.routes, *pages.router.routes] if isinstance(r, APIRoute)]


def _path(route: APIRoute) -> str:
    return route.path.replace("{alert_id}", "1").replace("{name}", "demo-walk").replace("{kind}", "png")


def test_every_api_route_refuses_without_a_token_and_every_page_redirects_to_login(
    client: TestClient,
) -> None:
    checked = 0
    for route in _routes(client):
        if route.path in ("/login", "/logout", "/healthz", "/favicon.ico"):  # no data in them
            continue
        for method in route.methods:
            r = client.request(method, _path(route), follow_redirects=False)
            if route.path.startswith("/api/"):
                assert r.status_code == 401, (method, route.path, r.status_code)
                assert r.headers["www-authenticate"] == "Bearer"
            else:
                assert r.status_code == 303 and r.headers["location"].startswith("/login?next="), route.path
            checked += 1
    assert checked >= 18
    wrong = client.get("/api/v1/alerts", headers={"Authorization": "Bearer not-the-token"})
    assert wrong.status_code == 401
    assert client.get("/api/v1/openapi.json").status_code == 401
    assert client.get("/api/v1/openapi.json", headers=AUTH).json()["info"]["title"] == "haad review API"


def test_alert_list_filters_pages_and_counts_unreviewed(client: TestClient, seeded: Seeded) -> None:
    def ids(**params: object) -> list[int]:
        r = client.get("/api/v1/alerts", params=params, headers=AUTH)
        assert r.status_code == 200, r.text
        return [a["id"] for a in r.json()["items"]]

    door = seeded.ids[:3]
    assert ids() == seeded.ids[::-1]  # newest first
    assert ids(stream="door") == door[::-1]
    assert ids(profile="other") == [seeded.ids[5]]
    since = (datetime.now(UTC) - timedelta(hours=2, minutes=30)).isoformat()
    assert ids(since=since) == seeded.ids[3:][::-1]
    assert ids(until=since, stream="door", limit=2) == door[::-1][:2]
    assert ids(stream="door", limit=2, offset=2) == [door[0]]
    client.post(f"/api/v1/alerts/{door[0]}/review", json={"status": "confirmed"}, headers=AUTH)
    page = client.get("/api/v1/alerts", params={"stream": "door"}, headers=AUTH).json()
    assert (page["total"], page["unreviewed"]) == (3, 2)
    assert ids(status="confirmed") == [door[0]]
    assert client.get("/api/v1/alerts", params={"status": "bogus"}, headers=AUTH).status_code == 422


def test_alerts_filter_by_the_host_that_raised_them(client: TestClient, seeded: Seeded) -> None:
    with AlertStore(seeded.url) as store:
        (hall_b,) = store.write_alerts(
            [replace(demo_alert("gate", "demo-walk", datetime.now(UTC), seed=7), host="hall-b")]
        )
    assert client.get("/api/v1/hosts", headers=AUTH).json() == ["hall-b"]
    page = client.get("/api/v1/alerts", params={"host": "hall-b"}, headers=AUTH).json()
    assert [(a["id"], a["host"]) for a in page["items"]] == [(hall_b, "hall-b")]
    assert client.get(f"/api/v1/alerts/{seeded.ids[0]}", headers=AUTH).json()["host"] == ""


def test_alert_detail_windows_as_json_and_npz_and_the_skeleton_layout(
    client: TestClient, seeded: Seeded
) -> None:
    alert_id = seeded.ids[0]
    detail = client.get(f"/api/v1/alerts/{alert_id}", headers=AUTH).json()
    assert detail["stream_id"] == "door" and detail["windows_available"] is True
    assert len(detail["windows"]) == 6 and detail["in_profile"] is None
    w = client.get(f"/api/v1/alerts/{alert_id}/windows", headers=AUTH).json()
    frames = np.array(w["frames"], dtype=np.float64)
    assert frames.shape == (6, 60, 20, 3)
    assert w["fps"] == pytest.approx(20.0, rel=0.02)
    with AlertStore(seeded.url) as store:
        stored = store.get_alert(alert_id)
    assert np.allclose(frames, stored.windows, atol=1e-4)  # metres, y up, as stored
    assert stored.timeline is not None and np.allclose(w["timeline"], stored.timeline)
    npz = client.get(f"/api/v1/alerts/{alert_id}/windows", params={"format": "npz"}, headers=AUTH)
    with np.load(io.BytesIO(npz.content)) as z:
        assert np.array_equal(z["windows"], stored.windows)
    layout = client.get("/api/v1/skeleton", headers=AUTH).json()
    assert layout["bones"] == [list(b) for b in skeleton.BONES]
    assert layout["parents"] == list(skeleton.PARENTS) and len(layout["joints"]) == 20
    png = client.get(f"/api/v1/alerts/{alert_id}/timeline.png", headers=AUTH)
    assert png.status_code == 200 and png.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert client.get("/api/v1/alerts/99999", headers=AUTH).status_code == 404


def test_review_by_session_cookie_needs_the_csrf_header_and_records_who(
    client: TestClient, seeded: Seeded
) -> None:
    r = client.post("/login", data={"token": "wrong", "next": "/"}, follow_redirects=False)
    assert r.status_code == 401
    r = client.post("/login", data={"token": TOKEN, "next": "/alerts/1"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/alerts/1"
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    alert_id = seeded.ids[1]
    body = {"status": "dismissed", "note": "cleaner"}
    assert client.post(f"/api/v1/alerts/{alert_id}/review", json=body).status_code == 403
    me = client.get("/api/v1/me").json()
    assert me["name"] == "alice"
    r = client.post(
        f"/api/v1/alerts/{alert_id}/review", json=body, headers={"X-CSRF-Token": me["csrf_token"]}
    )
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["reviewed_by"], r.json()["note"]) == (
        "dismissed",
        "alice",
        "cleaner",
    )
    with AlertStore(seeded.url) as store, store.reading() as s:
        kinds = [(e.alert_id, e.kind) for e in s.scalars(select(Event).order_by(Event.id))]
    assert kinds[-1] == (alert_id, "update")  # the review went to the events outbox
    assert client.get("/", follow_redirects=False).status_code == 200  # pages with the cookie
    r = client.post("/logout", headers={"X-CSRF-Token": me["csrf_token"]}, follow_redirects=False)
    assert r.status_code == 303
    assert client.get("/api/v1/me").status_code == 401


def test_login_form_posted_from_another_site_is_refused(client: TestClient) -> None:
    r = client.post(
        "/login", data={"token": TOKEN}, headers={"Origin": "http://evil.example"}, follow_redirects=False
    )
    assert r.status_code == 403
    r = client.get("/login", params={"next": "//evil.example/x"})
    assert 'value="/"' in r.text  # no open redirect
    r = client.get("/login", params={"error": "Mail your token to evil@example.com"})
    assert "evil@example.com" not in r.text  # no words of a link's in the server's error line


def test_a_login_post_without_a_token_is_a_bad_request_naming_the_field(client: TestClient) -> None:
    """A login script posting the wrong field got 404 "There is no such page." for /login."""
    r = client.post("/login", data={"tok": TOKEN}, follow_redirects=False)
    assert r.status_code == 400 and r.headers["content-type"].startswith("text/html")
    assert "The form lacks or has a bad field: token (field required)." in r.text
    assert TOKEN not in r.text


def _mark(client: TestClient, alert_id: int, **body: object) -> dict:  # type: ignore[type-arg]
    r = client.post(f"/api/v1/alerts/{alert_id}/normal", json=body, headers=AUTH)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def test_mark_as_normal_for_every_camera_saves_a_new_profile_version_and_undo_restores_it(
    client: TestClient, seeded: Seeded
) -> None:
    profiles = ProfileStore(seeded.profiles)
    v1 = profiles.load("demo-walk")
    alert_id = seeded.ids[2]
    preview = client.get(f"/api/v1/alerts/{alert_id}/normal", headers=AUTH).json()
    assert preview == {
        "profile": "demo-walk",
        "stream": "door",
        "scopes": {"camera": ["door"], "all": ["dock", "door"]},
        "enrolled": True,
    }
    out = _mark(client, alert_id, note="stretching", scope="all")
    assert (out["profile"], out["scope"], out["stream"], out["cameras"]) == (
        "demo-walk",
        "all",
        None,
        ["dock", "door"],
    )
    assert (out["base_version"], out["version"], out["behaviour"]) == (1, 2, f"alert-{alert_id}")
    assert out["windows"] > 6  # the six stored windows overlap: re-cut along the stretch they cover
    v2 = profiles.load("demo-walk")
    assert v2.version == 2 and len(v2.embeddings) == len(v1.embeddings) + out["windows"]
    assert [b["name"] for b in v2.behaviour_table] == ["walk_in_place", f"alert-{alert_id}"]
    [entry] = v2.meta["feedback"]
    assert (entry["alert_ids"], entry["reviewer"], entry["note"]) == ([alert_id], "alice", "stretching")
    assert (
        v2.threshold == pytest.approx(v1.threshold) == pytest.approx(out["threshold"])
    )  # feedback never moves it
    detail = client.get(f"/api/v1/alerts/{alert_id}", headers=AUTH).json()
    assert detail["status"] == "dismissed" and detail["in_profile"] == "demo-walk"
    again = client.post(f"/api/v1/alerts/{alert_id}/normal", json={"scope": "all"}, headers=AUTH)
    assert again.status_code == 409 and "already" in again.json()["detail"]
    undo = client.delete(f"/api/v1/alerts/{alert_id}/normal", headers=AUTH)
    assert undo.status_code == 200, undo.text
    v3 = profiles.load("demo-walk")
    assert v3.version == 3 and [b["name"] for b in v3.behaviour_table] == ["walk_in_place"]
    assert np.allclose(v3.embeddings, v1.embeddings, atol=1e-5) and np.array_equal(v3.groups, v1.groups)
    assert v3.threshold == pytest.approx(v1.threshold, rel=1e-5)
    assert client.get(f"/api/v1/alerts/{alert_id}", headers=AUTH).json()["in_profile"] is None
    history = client.get("/api/v1/profiles/demo-walk", headers=AUTH).json()["history"]
    assert [h["version"] for h in history] == [3, 2, 1]


def test_mark_as_normal_for_one_camera_leaves_the_shared_profile_alone(
    client: TestClient, seeded: Seeded
) -> None:
    from edge.overlays import overlay_store

    profiles = ProfileStore(seeded.profiles)
    alert_id = seeded.ids[2]  # door
    out = _mark(client, alert_id, scope="camera", behaviour="stretching")
    assert (out["scope"], out["stream"], out["cameras"], out["behaviour"]) == (
        "camera",
        "door",
        ["door"],
        "stretching",
    )
    assert (out["base_version"], out["version"]) == (0, 1)
    assert profiles.versions("demo-walk") == [1]  # every other camera keeps the profile as it was
    overlay = overlay_store(profiles, "demo-walk").load("door")
    assert [b["name"] for b in overlay.behaviour_table] == ["stretching"] and len(overlay.embeddings) == out[
        "windows"
    ]
    detail = client.get(f"/api/v1/alerts/{alert_id}", headers=AUTH).json()
    assert detail["in_profile"] == "demo-walk@door"
    p = client.get("/api/v1/profiles/demo-walk", headers=AUTH).json()
    assert [(o["stream"], [b["name"] for b in o["behaviours"]]) for o in p["overlays"]] == [
        ("door", ["stretching"])
    ]
    # a second alert of another camera cannot join that camera's overlay by accident
    dock = client.post(
        f"/api/v1/alerts/{seeded.ids[3]}/normal", json={"scope": "camera"}, headers=AUTH
    ).json()
    assert dock["stream"] == "dock" and overlay_store(profiles, "demo-walk").names() == ["dock", "door"]
    undo = client.delete(f"/api/v1/alerts/{alert_id}/normal", headers=AUTH)
    assert undo.status_code == 200 and undo.json()["version"] == 2
    assert len(overlay_store(profiles, "demo-walk").load("door").embeddings) == 0
    assert (
        client.post(f"/api/v1/alerts/{alert_id}/normal", json={}, headers=AUTH).status_code == 422
    )  # scope is required


def test_an_alert_normal_in_one_scope_is_refused_in_the_other_even_by_two_reviewers_at_once(
    client: TestClient, seeded: Seeded
) -> None:
    """Marked for its camera and then (or at the same moment) for every camera, its windows would be in
    the overlay and the profile both, and undo would take them out of only one: refused instead."""
    from concurrent.futures import ThreadPoolExecutor

    from edge.overlays import overlay_store

    profiles = ProfileStore(seeded.profiles)
    first, second = seeded.ids[1], seeded.ids[2]  # door
    _mark(client, first, scope="camera")
    again = client.post(f"/api/v1/alerts/{first}/normal", json={"scope": "all"}, headers=AUTH)
    assert again.status_code == 409 and "already normal in demo-walk@door" in again.json()["detail"]
    assert profiles.versions("demo-walk") == [1]

    def mark(scope: str) -> int:
        r = client.post(f"/api/v1/alerts/{second}/normal", json={"scope": scope}, headers=AUTH)
        return r.status_code

    with ThreadPoolExecutor(2) as pool:
        codes = sorted(pool.map(mark, ["camera", "all"]))
    assert codes == [200, 409]
    in_profile = str(second) in profiles.load("demo-walk").meta.get("feedback_groups", {})
    in_overlay = str(second) in overlay_store(profiles, "demo-walk").load("door").meta["feedback_groups"]
    assert in_profile != in_overlay  # in exactly one of them
    assert client.delete(f"/api/v1/alerts/{second}/normal", headers=AUTH).status_code == 200
    assert str(second) not in profiles.load("demo-walk").meta.get("feedback_groups", {})
    assert str(second) not in overlay_store(profiles, "demo-walk").load("door").meta["feedback_groups"]


def test_an_alert_a_rollback_took_out_of_the_profile_is_no_longer_in_it_and_can_be_marked_again(
    client: TestClient, seeded: Seeded
) -> None:
    """The alert log's rows still said "normal in demo-walk": the page offered only an undo, which
    failed (409), and marking it again was refused."""
    alert_id = seeded.ids[2]
    _mark(client, alert_id, scope="all")  # v2
    r = client.post("/api/v1/profiles/demo-walk/rollback", json={"version": 1}, headers=AUTH)  # v3
    assert r.status_code == 200, r.text
    assert client.get(f"/api/v1/alerts/{alert_id}", headers=AUTH).json()["in_profile"] is None
    undo = client.delete(f"/api/v1/alerts/{alert_id}/normal", headers=AUTH)
    assert undo.status_code == 409 and "not in any profile" in undo.json()["detail"]
    assert _mark(client, alert_id, scope="camera")["stream"] == "door"
    assert client.get(f"/api/v1/alerts/{alert_id}", headers=AUTH).json()["in_profile"] == "demo-walk@door"
    # undone, then a rollback puts its windows back into the profile: it is normal there again
    assert client.delete(f"/api/v1/alerts/{alert_id}/normal", headers=AUTH).status_code == 200
    assert (
        client.post("/api/v1/profiles/demo-walk/rollback", json={"version": 2}, headers=AUTH).status_code
        == 200
    )
    assert client.get(f"/api/v1/alerts/{alert_id}", headers=AUTH).json()["in_profile"] == "demo-walk"
    assert client.delete(f"/api/v1/alerts/{alert_id}/normal", headers=AUTH).status_code == 200
    assert str(alert_id) not in ProfileStore(seeded.profiles).load("demo-walk").meta["feedback_groups"]


def test_rolling_back_to_a_damaged_version_is_a_conflict_not_a_server_error(
    client: TestClient, seeded: Seeded
) -> None:
    _mark(client, seeded.ids[2], scope="all")  # v2
    (seeded.profiles / "demo-walk" / "v0001.npz").write_bytes(b"not a zip file")
    r = client.post("/api/v1/profiles/demo-walk/rollback", json={"version": 1}, headers=AUTH)
    assert r.status_code == 409 and "demo-walk v1 is unreadable" in r.json()["detail"], r.text
    assert ProfileStore(seeded.profiles).versions("demo-walk") == [1, 2]


def test_a_review_without_a_note_keeps_the_alerts_note_as_the_bulk_one_does(
    client: TestClient, seeded: Seeded
) -> None:
    alert_id = seeded.ids[0]
    url = f"/api/v1/alerts/{alert_id}/review"
    assert client.post(url, json={"status": "confirmed", "note": "cleaner"}, headers=AUTH).status_code == 200
    r = client.post(url, json={"status": "dismissed"}, headers=AUTH)
    assert (r.json()["status"], r.json()["note"]) == ("dismissed", "cleaner")
    r = client.post(url, json={"status": "new", "note": ""}, headers=AUTH)  # an empty one erases it
    assert (r.json()["status"], r.json()["note"]) == ("new", "")
    bulk = client.post(
        "/api/v1/alerts/review", json={"ids": [alert_id, 999], "status": "confirmed"}, headers=AUTH
    )
    assert bulk.json() == {"updated": [alert_id], "missing": [999], "changed": []}


def test_times_beyond_year_9999_or_before_year_1_in_utc_are_invalid_input(client: TestClient) -> None:
    """They were a 500: the query cannot hold them (and the timeline's default day began before year 1)."""
    r = client.get("/api/v1/alerts", params={"since": "9999-12-31T23:59:59-01:00"}, headers=AUTH)
    assert r.status_code == 422 and "since is out of range" in r.json()["detail"]
    r = client.get("/api/v1/timeline", params={"until": "0001-01-01T00:00:00+01:00"}, headers=AUTH)
    assert r.status_code == 422 and "until is out of range" in r.json()["detail"]
    r = client.get("/api/v1/timeline", params={"until": "0001-01-01T00:00:00"}, headers=AUTH)
    assert r.status_code == 200 and r.json()["alerts"] == []
    r = client.get("/api/v1/alerts", params={"since": "2000-01-01T01:00:00+01:00"}, headers=AUTH)
    assert r.json()["total"] == 6


def test_mark_as_normal_refuses_a_bad_behaviour_name_as_invalid_input(
    client: TestClient, seeded: Seeded
) -> None:
    for name in ("x/y", ""):
        body = {"scope": "all", "behaviour": name}
        r = client.post(f"/api/v1/alerts/{seeded.ids[2]}/normal", json=body, headers=AUTH)
        assert r.status_code == 422 and "invalid behaviour name" in r.text
    assert ProfileStore(seeded.profiles).versions("demo-walk") == [1]


def test_mark_as_normal_of_an_alert_whose_profile_is_missing_is_a_conflict(
    client: TestClient, seeded: Seeded
) -> None:
    r = client.post(f"/api/v1/alerts/{seeded.ids[5]}/normal", json={"scope": "all"}, headers=AUTH)
    # the browser is told what is wrong, not where the server keeps its profiles
    assert r.status_code == 409, r.text
    assert r.json()["detail"] == "profile 'other' is not enrolled on this host"


def test_profiles_list_versions_streams_and_rollback(client: TestClient, seeded: Seeded) -> None:
    [p] = client.get("/api/v1/profiles", headers=AUTH).json()
    assert p["name"] == "demo-walk" and p["versions"] == [1] and p["streams"] == ["dock", "door"]
    assert p["latest"]["clips"] == 3 and p["latest"]["support_windows"] > 0
    r = client.post("/api/v1/profiles/demo-walk/rollback", json={"version": 1}, headers=AUTH)
    assert r.status_code == 200 and r.json()["versions"] == [1, 2]
    assert (
        client.post("/api/v1/profiles/demo-walk/rollback", json={"version": 7}, headers=AUTH).status_code
        == 409
    )


def test_health_reports_counts_and_sinks(client: TestClient) -> None:
    h = client.get("/api/v1/health", headers=AUTH).json()
    assert h["status"] == "ok" and h["alerts"] == 6 and h["unreviewed"] == 6 and h["sinks"] == []


def test_server_without_auth_is_loopback_only_and_still_needs_csrf_for_changes(seeded: Seeded) -> None:
    with pytest.raises(ValueError, match="loopback"):
        ServeConfig(host="0.0.0.0", auth=False)
    with pytest.raises(ValueError, match="loopback"):
        ServeConfig(host="192.168.1.4", auth=False)
    ctx = make_context(seeded.url, seeded.profiles, auth=False)
    with TestClient(create_app(ctx), base_url=BASE_URL) as c:
        assert c.get("/api/v1/alerts").status_code == 200
        assert c.get("/", follow_redirects=False).status_code == 200
        body = {"status": "confirmed"}
        assert c.post(f"/api/v1/alerts/{seeded.ids[0]}/review", json=body).status_code == 403
        csrf = c.get("/api/v1/me").json()["csrf_token"]
        r = c.post(f"/api/v1/alerts/{seeded.ids[0]}/review", json=body, headers={"X-CSRF-Token": csrf})
        assert r.status_code == 200 and r.json()["reviewed_by"] == "local"
    ctx.store.close()


def test_alert_whose_windows_retention_dropped_still_lists_and_says_so(
    client: TestClient, seeded: Seeded
) -> None:
    from config.store import RetentionConfig
    from edge.store.retention import prune

    with AlertStore(seeded.url) as store:
        report = prune(
            store, RetentionConfig(windows_days=0.1, max_age_days=0, max_rows=0), profiles_dir=None
        )
    assert report.windows_dropped == 3  # the three door alerts are older than 2.4 h
    detail = client.get(f"/api/v1/alerts/{seeded.ids[0]}", headers=AUTH).json()
    assert detail["windows_available"] is False and detail["windows"] == []
    assert client.get(f"/api/v1/alerts/{seeded.ids[0]}/windows", headers=AUTH).status_code == 404
    assert (
        client.post(
            f"/api/v1/alerts/{seeded.ids[0]}/normal", json={"scope": "camera"}, headers=AUTH
        ).status_code
        == 409
    )
    assert len(detail["timeline"]) > 6  # the score moment by moment outlives the windows
    svg = client.get(f"/api/v1/alerts/{seeded.ids[0]}/timeline.svg", headers=AUTH)
    assert svg.status_code == 200 and "seconds since the alert started" in svg.text


def test_pictures_gone_from_disk_are_not_offered_as_broken_images(seeded: Seeded, tmp_path: Path) -> None:
    """An index naming deleted pictures gave the list a broken thumbnail and the page broken keyframes."""
    snapshots = tmp_path / "snapshots"
    with AlertStore(seeded.url) as store:
        keys = [store.get_alert(i).episode_key for i in seeded.ids[:2]]
    for key in keys:
        (snapshots / key).mkdir(parents=True)
        frames = [{"name": "00.jpg", "t": 1.0}, {"name": "01.jpg", "t": 2.0}]
        (snapshots / key / "index.json").write_text(
            json.dumps({"mode": "keyframes", "frames": frames, "thumbnail": "00.jpg"})
        )
    (snapshots / keys[0] / "01.jpg").write_bytes(b"\xff\xd8 the one left")  # the peak's picture is gone
    ctx = make_context(seeded.url, seeded.profiles, snapshots_dir=snapshots)
    with TestClient(create_app(ctx), base_url=BASE_URL) as c:
        partly, none = (c.get(f"/api/v1/alerts/{i}", headers=AUTH).json() for i in seeded.ids[:2])
        assert (partly["snapshots"], [f["name"] for f in partly["snapshot_frames"]]) == (1, ["01.jpg"])
        assert (none["snapshots"], none["snapshot_frames"], none["snapshot_mode"]) == (0, [], None)
        listed = {a["id"]: a["snapshots"] for a in c.get("/api/v1/alerts", headers=AUTH).json()["items"]}
        assert (listed[seeded.ids[0]], listed[seeded.ids[1]]) == (1, 0)
        thumb = c.get(f"/api/v1/alerts/{seeded.ids[0]}/thumbnail.jpg", headers=AUTH)
        assert thumb.status_code == 200 and thumb.content == b"\xff\xd8 the one left"
        again = {**AUTH, "If-None-Match": thumb.headers["etag"]}  # a browser's revalidation: no body again
        assert c.get(f"/api/v1/alerts/{seeded.ids[0]}/thumbnail.jpg", headers=again).status_code == 304
        assert c.get(f"/api/v1/alerts/{seeded.ids[1]}/thumbnail.jpg", headers=AUTH).status_code == 404
    ctx.store.close()


def test_healthz_needs_no_token_errors_outside_the_api_are_pages_and_the_schema_declares_its_auth(
    client: TestClient,
) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    for path in ("/alerts/abc", "/alerts/999999", "/no-such-page", "/profiles/no-such-profile"):
        page = client.get(path, headers=AUTH)
        assert page.status_code == 404 and page.headers["content-type"].startswith("text/html"), path
        assert "There is no such page." in page.text and 'href="/"' in page.text
    assert client.get("/api/v1/alerts/999999", headers=AUTH).json() == {"detail": "no alert with id 999999"}
    assert client.get("/api/v1/alerts/abc", headers=AUTH).status_code == 422
    spec = client.get("/api/v1/openapi.json", headers=AUTH).json()
    schemes = spec["components"]["securitySchemes"]
    assert {s["type"] for s in schemes.values()} == {"http", "apiKey"}
    bearer = next(s for s in schemes.values() if s["type"] == "http")
    assert bearer["scheme"].lower() == "bearer"
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            assert {k for req in op["security"] for k in req} == set(schemes), (method, path)


def test_bulk_review_sets_many_keeps_notes_and_names_the_missing(client: TestClient, seeded: Seeded) -> None:
    first, second = seeded.ids[:2]
    client.post(
        f"/api/v1/alerts/{first}/review", json={"status": "confirmed", "note": "keep me"}, headers=AUTH
    )
    r = client.post("/api/v1/alerts/review", json={"ids": [first, second, 999999], "status": "dismissed"},
                    headers=AUTH)  # fmt: skip
    assert r.status_code == 200 and r.json() == {
        "updated": [first, second],
        "missing": [999999],
        "changed": [],
    }
    with AlertStore(seeded.url) as store:
        a, b = store.get_alert(first), store.get_alert(second)
    assert (a.status, a.note, a.reviewed_by) == ("dismissed", "keep me", "alice") and b.status == "dismissed"
    assert (
        client.post(
            "/api/v1/alerts/review", json={"ids": [], "status": "dismissed"}, headers=AUTH
        ).status_code
        == 422
    )


def test_live_events_resume_after_the_last_event_id(live_server: str, seeded: Seeded) -> None:
    import httpx

    with AlertStore(seeded.url) as store, store.reading() as s:
        events = s.scalars(select(Event.id).order_by(Event.id)).all()
    assert len(events) >= 6  # one per seeded alert
    headers = {**AUTH, "Last-Event-ID": str(events[-3])}  # a plain id, as a page before uids sent
    got: list[str] = []
    with httpx.stream("GET", f"{live_server}/api/v1/events/live", headers=headers, timeout=10) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        for line in r.iter_lines():
            if line.startswith("id: "):
                got.append(line[4:].split(":")[0])
            if len(got) == 2:
                break
    assert got == [str(e) for e in events[-2:]]  # the two after it, none missed, none repeated


def test_an_alert_id_beyond_the_sql_integer_is_no_such_page_on_postgresql(
    tmp_path: Path, pg_url: str
) -> None:
    """PostgreSQL refuses a number its integer column cannot hold (SQLite just finds no row): the page
    said 500, now no such page, as /alerts/abc."""
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    seed(pg_url, profiles)
    ctx = make_context(pg_url, profiles)
    with TestClient(create_app(ctx), base_url=BASE_URL) as c:
        for path in ("/alerts/99999999999", "/alerts/0"):
            r = c.get(path, headers=AUTH)
            assert r.status_code == 404 and "There is no such page." in r.text, (path, r.status_code)
        assert c.get("/api/v1/alerts/99999999999", headers=AUTH).status_code == 422
    ctx.store.close()


def test_a_filter_holding_a_nul_is_invalid_input_on_postgresql(tmp_path: Path, pg_url: str) -> None:
    """PostgreSQL text cannot hold one: the list said 500."""
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    seed(pg_url, profiles)
    ctx = make_context(pg_url, profiles)
    with TestClient(create_app(ctx), base_url=BASE_URL) as c:
        for name in ("stream", "profile", "host"):
            r = c.get("/api/v1/alerts", params={name: "door\x00"}, headers=AUTH)
            assert r.status_code == 422, (name, r.status_code)
        assert c.get("/api/v1/alerts", params={"stream": "door"}, headers=AUTH).json()["total"] == 3
    ctx.store.close()


def test_a_note_holding_a_nul_is_invalid_input_on_postgresql(tmp_path: Path, pg_url: str) -> None:
    """A review's note with a NUL was a 500 (PostgreSQL text cannot hold one), and nothing was saved."""
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    seeded = seed(pg_url, profiles)
    ctx = make_context(pg_url, profiles)
    one, many = f"/api/v1/alerts/{seeded.ids[0]}", [seeded.ids[1]]
    with TestClient(create_app(ctx), base_url=BASE_URL) as c:
        for path, body in [
            (one + "/review", {"status": "confirmed", "note": "a\x00b"}),
            ("/api/v1/alerts/review", {"ids": many, "status": "confirmed", "note": "a\x00b"}),
            (one + "/normal", {"scope": "camera", "note": "a\x00b"}),
            (one + "/normal", {"scope": "camera", "profile": "demo-walk\x00"}),
            ("/api/v1/profiles/demo-walk/rollback", {"version": 1, "note": "a\x00b"}),
        ]:
            r = c.post(path, json=body, headers=AUTH)
            assert r.status_code == 422 and r.json()["detail"][0]["loc"][0] == "body", (path, r.status_code)
        assert c.get(one, headers=AUTH).json()["status"] == "new"
        assert (
            c.post(one + "/review", json={"status": "confirmed", "note": "ok"}, headers=AUTH).status_code
            == 200
        )
    ctx.store.close()


def test_live_events_after_an_id_no_event_can_have_go_on_from_now_on_postgresql(
    tmp_path: Path, pg_url: str
) -> None:
    """PostgreSQL refused the number: the stream ended at once with a traceback in the server log."""
    import httpx
    from review_helpers import free_port, running

    profiles = tmp_path / "profiles"
    profiles.mkdir()
    seeded = seed(pg_url, profiles)
    port = free_port()
    ctx = make_context(pg_url, profiles, port=port)
    try:
        with running(create_app(ctx), port) as base:
            r = httpx.get(f"{base}/api/v1/events/live", params={"after": 2**31}, headers=AUTH)
            assert r.status_code == 422
            headers = {**AUTH, "Last-Event-ID": str(2**31)}
            with httpx.stream("GET", f"{base}/api/v1/events/live", headers=headers, timeout=10) as r:
                lines = r.iter_lines()
                assert next(lines).startswith("retry:")  # the stream began: its "now" is past
                ctx.store.set_status(seeded.ids[0], "confirmed")
                got = next((line for line in lines if line.startswith("id: ")), None)
    finally:
        ctx.store.close()
    assert got is not None  # the review, after the stream began


def test_a_timeline_with_more_alerts_than_its_limit_keeps_the_newest(
    client: TestClient, seeded: Seeded
) -> None:
    """It kept the oldest: on a busy day the default timeline drew the morning and left the last hours
    empty, as if nothing had happened since (the summary only said "more: zoom in")."""
    r = client.get("/api/v1/timeline", params={"limit": 2}, headers=AUTH).json()
    assert r["truncated"] is True
    assert [a["id"] for a in r["alerts"]] == seeded.ids[-2:]  # oldest first, as drawn
    r = client.get("/api/v1/timeline", params={"limit": 6}, headers=AUTH).json()
    assert r["truncated"] is False and [a["id"] for a in r["alerts"]] == seeded.ids


def test_the_normal_preview_says_whether_the_profile_is_enrolled_here(
    client: TestClient, seeded: Seeded
) -> None:
    """The page offered "Mark as normal" for an alert whose profile this host lacks (a review-only
    host): the reviewer chose a scope, named a behaviour, pressed, and only then read the refusal."""
    door, yard = seeded.ids[0], seeded.ids[5]  # demo-walk is enrolled here, other is not
    assert client.get(f"/api/v1/alerts/{door}/normal", headers=AUTH).json()["enrolled"] is True
    assert client.get(f"/api/v1/alerts/{yard}/normal", headers=AUTH).json()["enrolled"] is False


def test_the_browsers_icon_is_served_without_a_token(client: TestClient) -> None:
    """/favicon.ico was a 404, which browsers log as an error in the console of every page."""
    r = client.get("/favicon.ico")
    assert r.status_code == 200 and r.headers["content-type"] == "image/x-icon"
    assert r.content[:4] == b"\x00\x00\x01\x00"  # an ICO file


def test_a_number_is_no_time(client: TestClient) -> None:
    """since=1999 (a year, meant) was read as Unix seconds, 1970-01-01T00:33:44Z, and matched every alert."""
    for path, key, value in [("/api/v1/alerts", "since", "1999"), ("/api/v1/timeline", "until", "0.5")]:
        r = client.get(path, params={key: value}, headers=AUTH)
        assert r.status_code == 422, r.text
        [err] = r.json()["detail"]
        assert err["loc"] == ["query", key] and "ISO-8601" in err["msg"] and value not in err["msg"]
    assert client.get("/api/v1/alerts", params={"since": "2024-05-01"}, headers=AUTH).json()["total"] == 6


def test_a_body_that_is_not_utf8_is_invalid_input_like_bad_json(client: TestClient, seeded: Seeded) -> None:
    """It was a 400 "There was an error parsing the body", in no operation's schema (schemathesis)."""
    for body in (b"d\xff", b'{"status": "confirmed", "note": "\xe9"}'):
        r = client.post(
            f"/api/v1/alerts/{seeded.ids[0]}/review",
            content=body,
            headers={**AUTH, "Content-Type": "application/json"},
        )
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body"], r.text
    assert client.get(f"/api/v1/alerts/{seeded.ids[0]}", headers=AUTH).json()["status"] == "new"
