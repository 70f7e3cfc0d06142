"""``haad demo`` lists its alerts with their times labelled UTC, as the alert log stores them and
``haad alerts list`` shows them (STARTED (UTC)); bare, they read as this host's clock."""

from __future__ import annotations

from datetime import UTC, datetime

from edge.store.records import AlertRecord


def _alert(ended_at: datetime | None) -> AlertRecord:
    started = datetime(2026, 12, 7, 9, 30, 1, tzinfo=UTC)
    return AlertRecord(
        id=1, episode_key="k", stream_id="cam0", profile="demo-walk", profile_version=1, started_at=started,
        ended_at=ended_at, peak_score=0.91, mean_score=0.8, threshold=0.5, n_windows=4, model_version="m",
        n_kept=4, created_at=started, status="new", note="", reviewed_at=None,
    )  # fmt: skip


def test_demo_alert_lines_say_their_times_are_utc() -> None:
    from haad.cli.demo import alert_line

    ended = alert_line(_alert(datetime(2026, 12, 7, 9, 30, 5, tzinfo=UTC)))
    assert (
        ended
        == "  #1 stream=cam0 profile=demo-walk 09:30:01-09:30:05 UTC peak=0.910 threshold=0.500 windows=4"
    )
    assert alert_line(_alert(None)) == "  #1 stream=cam0 profile=demo-walk open since 09:30:01 UTC"
