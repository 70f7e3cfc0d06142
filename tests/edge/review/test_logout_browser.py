"""Logging out from a page with a live stream (an alert's, the list): the server ends the stream at
logout, and the page's reconnect, refused, sent the browser to ``/login?next=<this page>`` while the
logout's own answer was still on its way; whichever came first won (CI saw the ``next`` one). A
reviewer who logs out lands on the plain login page, however late the logout's answer comes."""

from __future__ import annotations

import time

import pytest
from review_helpers import Seeded, log_in


@pytest.mark.slow
@pytest.mark.parametrize("answer_after_s", [0.0, 6.0])  # 6 s: the page's stream reconnect refused first
@pytest.mark.parametrize("target", ["/alerts/{id}"])  # the list shares its api() and log out
def test_logging_out_lands_on_the_plain_login_page(  # type: ignore[no-untyped-def]
    page, live_server: str, seeded: Seeded, target: str, answer_after_s: float
) -> None:
    log_in(page, live_server, target.format(id=seeded.ids[0]))
    page.wait_for_function("document.querySelector('main') && document.readyState === 'complete'")
    time.sleep(0.5)  # the live stream open

    def late_answer(route):  # type: ignore[no-untyped-def]
        answer = route.fetch()  # the server has logged out: the live stream ends now
        time.sleep(answer_after_s)
        try:
            route.fulfill(response=answer)
        except Exception:  # noqa: BLE001 - the page navigated away meanwhile (the defect)
            pass

    page.route("**/logout", late_answer)
    page.click("#logout button")
    page.wait_for_url("**/login**")
    time.sleep(answer_after_s + 0.5)  # anything still to come has come
    assert page.url == live_server + "/login"
