"""The review server's reads and the tables it shares with the worker, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from edge.feedback import feedback_history
from edge.review.queries import open_alert_counts, page_alerts, stream_statuses
from edge.store import AlertStore, NewAlert
from edge.store.models import ProfileFeedback, StreamStatus
from edge.store.store import alert_filters

MakeAlert = Callable[..., NewAlert]


def test_paging_counts_and_open_alerts(store_url: str, make_alert: MakeAlert) -> None:
    now = datetime(2024, 5, 1, 12, tzinfo=UTC)
    with AlertStore(store_url) as store:
        ids = store.write_alerts(
            [make_alert(stream_id=f"cam{i % 2}", started_at=now + timedelta(minutes=i)) for i in range(7)]
            + [make_alert(stream_id="cam1", started_at=now + timedelta(hours=1), ended_at=None)]
        )
        store.set_status(ids[0], "confirmed")
        items, total, unreviewed, has = page_alerts(store, alert_filters(stream="cam0"), offset=1, limit=2)
        assert [a.id for a in items] == [ids[4], ids[2]] and (total, unreviewed) == (4, 3)
        assert all(has.values())
        since = alert_filters(since=now + timedelta(minutes=5))
        assert page_alerts(store, since, offset=0, limit=50)[1] == 3
        assert open_alert_counts(store) == {"cam1": 1}


def test_stream_status_upserts_and_feedback_history(store_url: str, make_alert: MakeAlert) -> None:
    with AlertStore(store_url) as store:
        [alert_id] = store.write_alerts([make_alert()])
        for score in (0.5, 0.7):  # the second write replaces the first row
            with store.writing() as s:
                s.merge(StreamStatus(stream_id="cam1", profile="walk", profile_version=2,
                                     updated_at=datetime.now(UTC), host="h", fps=20.0, score=score, threshold=0.6,
                                     windows_scored=10, recent=json.dumps([[1.0, score]])))  # fmt: skip
        [row] = stream_statuses(store)
        assert (row["score"], row["profile_version"], row["recent"]) == (0.7, 2, [[1.0, 0.7]])
        assert 0 <= row["age_s"] < 60
        now = datetime.now(UTC)
        with store.writing() as s:
            for action, version in (("normal", 3), ("undo", 4), ("normal", 5)):
                s.add(ProfileFeedback(alert_id=alert_id, profile="walk", base_version=version - 1, version=version,
                                      action=action, reviewer="ann", note="", created_at=now))  # fmt: skip
        assert [h["action"] for h in feedback_history(store, alert_id)] == ["normal", "undo", "normal"]
        longest = f"{'p' * 64}@{'s' * 64}"  # a camera overlay's target with both names at their maximum
        with store.writing() as s:  # PostgreSQL refused it (128 characters) after the version was saved
            s.add(ProfileFeedback(alert_id=alert_id, profile=longest, base_version=0, version=1,
                                  action="normal", reviewer="ann", note="", created_at=now))  # fmt: skip
        assert feedback_history(store, alert_id)[-1]["profile"] == longest
