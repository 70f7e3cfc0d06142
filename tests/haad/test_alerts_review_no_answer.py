"""``haad alerts review ID --normal`` where nobody can answer its question (a script, cron: stdin
closed) says to add --yes, exit 2, and changes nothing; it said a bare "Aborted!" (exit 1)."""

from __future__ import annotations

from pathlib import Path

import yaml
from typer.testing import CliRunner

from edge.store import AlertStore
from haad.cli import app
from tests.edge.review.review_helpers import seed


def test_review_normal_with_nobody_to_answer_says_to_add_yes_and_changes_nothing(tmp_path: Path) -> None:
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    seeded = seed(f"sqlite:///{tmp_path / 'alerts.db'}", profiles)
    cfg = tmp_path / "edge.yaml"
    cfg.write_text(yaml.safe_dump({"store": {"url": seeded.url}, "profiles_dir": str(profiles)}))
    alert_id = seeded.ids[0]
    args = ["alerts", "review", str(alert_id), "--normal", "--scope", "camera", "--config", str(cfg)]
    before = sorted(p.name for p in (profiles / "demo-walk").iterdir())
    r = CliRunner().invoke(app, args, input="")  # stdin at its end at once
    assert r.exit_code == 2, r.output
    assert r.stdout.endswith("apply? [y/N]: \n"), r.stdout  # the question, its line ended
    assert r.stderr == (
        "error: no answer (stdin is not a terminal): nothing changed; add --yes to apply without asking\n"
    )
    assert "Aborted" not in r.output
    assert sorted(p.name for p in (profiles / "demo-walk").iterdir()) == before  # no overlay written
    with AlertStore(seeded.url) as store:
        assert store.get_alert(alert_id).status == "new"
    # an answer on stdin is still read, as from a terminal
    r = CliRunner().invoke(app, args, input="y\n")
    assert r.exit_code == 0 and "v0 -> v1" in r.stdout, r.output
    with AlertStore(seeded.url) as store:
        assert store.get_alert(alert_id).status == "dismissed"
