"""Logging out from a page with a live stream (an alert's, the list): the server ends the stream at
logout, and the page's reconnect, refused, sent the browser to ``/login?next=<this page>`` while the
logout's own answer was still on its way; whichever came first won (CI saw the ``next`` one). A
reviewer who logs out lands on the plain login page, however late the logout's answer comes."""

from __future__ import annotations

import time

import pytest
from review_helpers import Seeded, log_in


@pytest.mark.slow
@pytest.mark.parametrize("late", [False, True], ids=["answer-at-once", "answer-after-the-refused-reconnect"])
@pytest.mark.parametrize("target", ["/alerts/{id}"])  # the list shares its api() and log out
def test_logging_out_lands_on_the_plain_login_page(  # type: ignore[no-untyped-def]
    page, live_server: str, seeded: Seeded, target: str, late: bool
) -> None:
    log_in(page, live_server, target.format(id=seeded.ids[0]))
    page.wait_for_function("document.getElementById('alert').dataset.live === 'on'", timeout=15_000)

    held = []  # the logout's answer, kept back

    def answer(route):  # type: ignore[no-untyped-def]
        fetched = route.fetch()  # the server has logged out: the live stream ends now
        if late:
            held.append((route, fetched))
        else:
            route.fulfill(response=fetched)

    page.route("**/logout", answer)
    if late:
        # The stream ends, saying the session has (where the defect went to /login?next=...; it
        # was a refused reconnect then): the logout answers a second later.
        # The stream's end is a finished request where the browser sees the server end it first, a
        # failed one (aborted) where the page's own close on "signed-out" comes first: either.
        ended = []
        for event in ("requestfinished", "requestfailed"):
            page.on(event, lambda r: ended.append(r.url) if "/api/v1/events/live" in r.url else None)
        page.click("#logout button")
        for _ in range(600):  # until the stream has ended (the logout's handler has fetched)
            if ended and held:
                break
            page.wait_for_timeout(50)
        assert ended and held, "the live stream did not end at the logout"
        page.wait_for_timeout(1000)  # what the page does with that end is done
        ((route, fetched),) = held
        try:
            route.fulfill(response=fetched)
        except Exception:  # noqa: BLE001 - the page navigated away meanwhile (the defect)
            pass
    else:
        page.click("#logout button")
    page.wait_for_url("**/login**")
    time.sleep(0.5)  # anything still to come has come
    assert page.url == live_server + "/login"
