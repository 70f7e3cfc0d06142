"""Another website open in the reviewer's browser (Debian's Chromium through Playwright) while they
are logged in to a real Uvicorn review server: it tries to review, mark normal, bulk-dismiss and log
out through forms and fetches, from another site (``localhost``) and from another port of the
review server's own host (same site: the SameSite cookie is sent, so only the CSRF token stops it)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from review_helpers import Seeded, log_in

from edge.store import AlertStore


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


@pytest.mark.parametrize("site", ["localhost", "127.0.0.1"])  # another site; the same host, another port
def test_a_page_on_another_origin_cannot_review_or_log_the_reviewer_out(
    page, live_server: str, seeded: Seeded, attacker: _AttackerSite, site: str
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
        f"""<script>for (const [path, body] of [["/alerts/{first}/review", {{status: "dismissed"}}],
              ["/alerts/review", {{ids: [{first}], status: "dismissed"}}]]) {{
          fetch("{live_server}/api/v1" + path, {{method: "POST", mode: "no-cors", credentials: "include",
                headers: {{"Content-Type": "text/plain"}}, body: JSON.stringify(body)}});
          fetch("{live_server}/api/v1" + path, {{method: "POST", credentials: "include",
                headers: {{"Content-Type": "application/json", "X-CSRF-Token": "guess"}}, body: JSON.stringify(body)}});
        }}</script>""",
        _auto_form(f"{live_server}/logout", {}, "application/x-www-form-urlencoded"),
    ]  # fmt: skip
    other = page.context.new_page()
    for html in attacks:
        attacker.html = html
        other.goto(f"http://{site}:{attacker.port}/")
        other.wait_for_load_state("load")
        other.wait_for_timeout(300)  # the fetches' answers
    other.close()
    with AlertStore(seeded.url) as store:
        assert [store.get_alert(i).status for i in seeded.ids] == ["new"] * len(seeded.ids)
    # the reviewer is still logged in: no cross-site page can drop their session cookie
    page.goto(live_server + "/")
    assert "/login" not in page.url
    page.wait_for_selector("#rows tr")
    # while the page's own "log out" still does: the cookie and the session are gone
    page.click("#logout button")
    page.wait_for_url("**/login")
    assert [c["name"] for c in page.context.cookies()] == []
    page.goto(live_server + "/")
    assert "/login" in page.url
