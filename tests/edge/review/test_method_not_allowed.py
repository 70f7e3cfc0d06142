"""A method a path does not take, answered as HTTP says: 405 with every method the path does take
(Allow), on the API and on the pages, also where a literal path of the API sits beside an id."""

from __future__ import annotations

from fastapi.testclient import TestClient
from review_helpers import AUTH, Seeded


def _allow(r) -> set[str]:  # type: ignore[no-untyped-def]
    assert r.status_code == 405, (r.request.method, r.request.url, r.status_code, r.text[:200])
    return {m.strip() for m in r.headers["allow"].split(",")}


def test_allow_names_every_method_of_the_path(client: TestClient, seeded: Seeded) -> None:
    """Allow named the methods of the first route on the path only: PUT .../normal said "GET", as if
    marking normal (POST) and undoing it (DELETE) were not there."""
    alert = seeded.ids[0]
    assert _allow(client.put(f"/api/v1/alerts/{alert}/normal", headers=AUTH)) == {
        "GET",
        "HEAD",
        "POST",
        "DELETE",
    }
    assert _allow(client.delete(f"/api/v1/alerts/{alert}", headers=AUTH)) == {"GET", "HEAD"}
    assert _allow(client.put(f"/api/v1/alerts/{alert}/review", headers=AUTH)) == {"POST"}
    page = client.put("/login")  # a page: the error is a page too
    assert _allow(page) == {"GET", "HEAD", "POST"} and page.headers["content-type"].startswith("text/html")


def test_get_of_the_bulk_review_is_405_not_a_bad_alert_id(client: TestClient) -> None:
    """GET /api/v1/alerts/review was taken for alert "review" (the route beside it): 422, "alert_id:
    Input should be a valid integer", for a path that takes POST only."""
    for headers in (AUTH, {}):  # as every 405, before a token is asked for
        r = client.get("/api/v1/alerts/review", headers=headers)
        assert _allow(r) == {"POST"} and r.json() == {"detail": "Method Not Allowed"}
        assert _allow(client.head("/api/v1/alerts/review", headers=headers)) == {"POST"}
    # An id that is no number is still one, refused as such.
    assert client.get("/api/v1/alerts/abc", headers=AUTH).json()["detail"][0]["loc"] == ["path", "alert_id"]
    assert (
        client.post("/api/v1/alerts/review", json={"ids": [1], "status": "new"}, headers=AUTH).status_code
        == 200
    )
