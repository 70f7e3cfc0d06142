"""Another website open in the reviewer's browser (Debian's Chromium through Playwright) while they
are logged in to a real Uvicorn review server: it tries to review, mark normal, bulk-dismiss and log
out through forms and fetches, from another site (``localhost``) and from another port of the
review server's own host (same site: the SameSite cookie is sent, so only the CSRF token stops it);
and names written like markup, shown as text, under a CSP that would run none of it."""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import cv2
import numpy as np
import pytest
from review_helpers import Seeded, demo_alert, free_port, log_in, make_context, running

from edge.review.app import create_app
from edge.store import AlertStore
from edge.store.models import StreamStatus


class _AttackerSite:
    """A plain HTTP server on a loopback port answering every path with the page set in ``html``."""

    def __init__(self) -> None:
        site = self
        self.html = ""

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                body = site.html.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def attacker() -> Iterator[_AttackerSite]:
    site = _AttackerSite()
    yield site
    site.server.shutdown()
    site.server.server_close()


def _auto_form(action: str, fields: dict[str, str], enctype: str) -> str:
    inputs = "".join(f"<input name='{k}' value='{v}'>" for k, v in fields.items())
    return f'<form id="f" method="post" action="{action}" enctype="{enctype}">{inputs}</form><script>f.submit()</script>'


def test_a_page_on_another_origin_cannot_review_or_log_the_reviewer_out(
    page, live_server: str, seeded: Seeded, attacker: _AttackerSite
) -> None:  # type: ignore[no-untyped-def]
    log_in(page, live_server)
    first = seeded.ids[0]
    # text/plain forms whose body reads as JSON ({"status":"dismissed","x":"="}), an urlencoded one,
    # fetches without CORS, and a logout form
    json_body = {'{"status":"dismissed","note":"forged","x":"': '"}'}
    attacks = [
        _auto_form(f"{live_server}/api/v1/alerts/{first}/review", json_body, "text/plain"),
        _auto_form(f"{live_server}/api/v1/alerts/{first}/normal", {'{"scope":"all","x":"': '"}'}, "text/plain"),
        _auto_form(f"{live_server}/api/v1/alerts/review", {"status": "dismissed"}, "application/x-www-form-urlencoded"),
        f"""<script>const sent = [];
        for (const [path, body] of [["/alerts/{first}/review", {{status: "dismissed"}}],
              ["/alerts/review", {{ids: [{first}], status: "dismissed"}}]]) {{
          sent.push(fetch("{live_server}/api/v1" + path, {{method: "POST", mode: "no-cors", credentials: "include",
                headers: {{"Content-Type": "text/plain"}}, body: JSON.stringify(body)}}));
          sent.push(fetch("{live_server}/api/v1" + path, {{method: "POST", credentials: "include",
                headers: {{"Content-Type": "application/json", "X-CSRF-Token": "guess"}}, body: JSON.stringify(body)}}));
        }}
        Promise.allSettled(sent).then(() => {{ document.title = "sent"; }});</script>""",
        _auto_form(f"{live_server}/logout", {}, "application/x-www-form-urlencoded"),
    ]  # fmt: skip
    # Each in turn on one login: another site, then the same host on another port.
    for site in ["localhost", "127.0.0.1"]:
        other = page.context.new_page()
        for html in attacks:
            attacker.html = html
            other.goto(f"http://{site}:{attacker.port}/")
            if "<form" in html:  # its post answered: the browser is on the server's answer
                other.wait_for_url(f"{live_server}/**")
            else:
                other.wait_for_function("document.title === 'sent'")
        other.close()
        with AlertStore(seeded.url) as store:
            assert [store.get_alert(i).status for i in seeded.ids] == ["new"] * len(seeded.ids), site
        # the reviewer is still logged in: no cross-site page can drop their session cookie
        page.goto(live_server + "/")
        assert "/login" not in page.url, site
        page.wait_for_selector("#rows tr")
    # while the page's own "log out" still does: the cookie and the session are gone
    page.click("#logout button")
    page.wait_for_url("**/login")
    assert [c["name"] for c in page.context.cookies()] == []
    page.goto(live_server + "/")
    assert "/login" in page.url


# Every page the reviewer opens, and what shows it has drawn (boxes and meters are styled by app.js).
PAGES = [("/", "#rows tr"), ("/alerts/{boxed}", "#meta .person-box"), ("/timeline", "#tl .bar-link"),
         ("/live", ".meter span"), ("/profiles", "table a"), ("/profiles/demo-walk", "h1"),
         ("/alerts/999999", "h1")]  # fmt: skip
STYLED = {"#meta .person-box", ".meter span"}  # placed and sized by their style


def test_the_pages_run_under_a_policy_that_runs_no_script_but_the_servers_own(
    browser, seeded: Seeded
) -> None:  # type: ignore[no-untyped-def]
    """Names in the pages are text (a camera named like markup shows as such); should one ever slip
    through as markup, the Content-Security-Policy runs only /static/app.js, no inline script."""
    markup = '<img src=x onerror="window.ran=1"><script>window.ran=2</script>'
    boxed = dataclasses.replace(demo_alert("door", "demo-walk", datetime.now(UTC), seed=9), box=(0.1, 0.2, 0.4, 0.9),
                                others=((2, (0.5, 0.1, 0.7, 0.6)),), host=markup)  # fmt: skip
    named = dataclasses.replace(demo_alert("cam", "demo-walk", datetime.now(UTC), seed=10), stream_id=markup,
                                episode_key="markup")  # fmt: skip
    with AlertStore(seeded.url) as store:
        boxed_id, _ = store.write_alerts([boxed, named])
        with store.writing() as s:  # a live status, for the live page's score meter
            s.merge(StreamStatus(stream_id="door", profile="demo-walk", profile_version=1, updated_at=datetime.now(UTC),
                                 host=markup, fps=20.0, score=0.5, threshold=0.9, windows_scored=10, recent="[[1.0, 0.5]]"))  # fmt: skip
    context = browser.new_context()  # the policy enforced, unlike new_context's
    page = context.new_page()
    violations: list[str] = []
    page.on("pageerror", lambda e: violations.append(str(e)))
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    port = free_port()
    ctx = make_context(seeded.url, seeded.profiles, port=port)
    try:
        with running(create_app(ctx), port) as base:
            log_in(page, base)
            page.wait_for_selector("#rows tr")
            assert markup in page.locator("#rows").inner_text()  # shown as text
            for path, drawn in PAGES:
                page.goto(base + path.format(boxed=boxed_id))
                page.wait_for_selector(drawn, state="attached")
                if drawn in STYLED:  # sized by the style sheet (a live update may draw it anew meanwhile)
                    page.wait_for_function(
                        "s => (document.querySelector(s)?.getBoundingClientRect().width || 0) > 0", arg=drawn
                    )
                assert page.evaluate("window.ran") is None, path
            assert violations == []
            # markup that got in anyway: its inline script is refused
            page.goto(base + "/")
            with pytest.raises(Exception, match="Content Security Policy|Refused"):
                page.add_script_tag(content="window.ran = 3")
            assert page.evaluate("window.ran") is None
            page.goto("about:blank")  # closes the live stream before the server stops
    finally:
        context.close()
        ctx.store.close()


def test_pictures_show_only_to_a_logged_in_reviewer_on_the_servers_own_pages(
    page, seeded: Seeded, tmp_path: Path, attacker: _AttackerSite
) -> None:  # type: ignore[no-untyped-def]
    """Pictures of people were cached for an hour: the next user of a shared browser, logged out,
    opened them from its cache without a token. And a page on another port of the server's host,
    where the SameSite cookie goes too, could show them."""
    alert_id = seeded.ids[0]
    with AlertStore(seeded.url) as store:
        folder = tmp_path / "snapshots" / store.get_alert(alert_id).episode_key
    folder.mkdir(parents=True)
    ok, jpeg = cv2.imencode(".jpg", np.full((90, 160, 3), 128, np.uint8))
    assert ok
    (folder / "00.jpg").write_bytes(jpeg.tobytes())
    (folder / "index.json").write_text(
        json.dumps({"mode": "keyframes", "frames": [{"name": "00.jpg", "t": 1.0}], "thumbnail": "00.jpg"})
    )
    port = free_port()
    ctx = make_context(seeded.url, seeded.profiles, snapshots_dir=tmp_path / "snapshots", port=port)
    pictures = [f"/api/v1/alerts/{alert_id}/thumbnail.jpg", f"/api/v1/alerts/{alert_id}/snapshots/00.jpg"]
    try:
        with running(create_app(ctx), port) as base:
            log_in(page, base, f"/alerts/{alert_id}")
            page.wait_for_selector("#scene-strip button")
            for path in pictures:  # seen while logged in (and so kept by the browser)
                shown = page.goto(base + path)
                assert shown is not None and shown.status == 200, path
            page.goto(f"{base}/alerts/{alert_id}")
            page.click("#logout button")
            page.wait_for_url("**/login")
            for path in pictures:
                shown = page.goto(base + path)
                assert shown is not None and shown.status == 401, path
            # logged in again, a picture the browser holds is still shown
            log_in(page, base, f"/alerts/{alert_id}")
            shown = page.goto(base + pictures[0])
            assert shown is not None and shown.status in (200, 304) and shown.body() == jpeg.tobytes()
            # but not in a page of another port of this host, to which the SameSite cookie is sent
            attacker.html = f"""<img src="{base}{pictures[0]}" onload="document.title = 'shown ' + this.naturalWidth"
                                     onerror="document.title = 'refused'">"""
            other = page.context.new_page()
            other.goto(f"http://127.0.0.1:{attacker.port}/")
            other.wait_for_function("document.title !== ''")
            assert other.title() == "refused"
            other.close()
    finally:
        ctx.store.close()
