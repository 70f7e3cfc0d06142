"""A mark (or undo) killed once its profile version was whole, before the alert log recorded it: the
alert's page read the alert, then settled the version (current_feedback), so its first load still
said "new" (or "dismissed") beside "in profile demo-walk" (or none), and only a reload agreed."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from edge.review.app import create_app
from tests.edge.review.review_helpers import AUTH, BASE_URL, Seeded, make_context
from tests.edge.test_profile_kill_mid_mark import _DIES_MARKING, _review, seeded  # noqa: F401 (fixture)
from tests.forked import run_forked


@pytest.mark.parametrize("moment", ["saved", "status", "committed"])
def test_the_first_read_after_a_killed_mark_or_undo_shows_what_the_profile_holds(
    tmp_path: Path,
    seeded: Seeded,  # noqa: F811
    moment: str,
) -> None:
    alert_id, said = seeded.ids[0], tmp_path / "said"
    ctx = make_context(seeded.url, seeded.profiles)
    with TestClient(create_app(ctx), base_url=BASE_URL) as c:
        for flag, status, where in (("--normal", "dismissed", "demo-walk"), ("--undo-normal", "new", None)):
            args = _review(tmp_path, seeded, alert_id, flag)
            killed = run_forked(_DIES_MARKING.format(moment=moment, args=args), said)
            assert killed.returncode == -signal.SIGKILL, (flag, killed.stderr)
            got = c.get(f"/api/v1/alerts/{alert_id}", headers=AUTH).json()
            assert (got["status"], got["in_profile"]) == (status, where), flag
        assert c.get("/api/v1/alerts/999999", headers=AUTH).status_code == 404
    ctx.store.close()
