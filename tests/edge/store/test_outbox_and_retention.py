"""The events outbox written with the alerts, and retention, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from config.store import RetentionConfig
from edge.store import AlertStore, NewAlert
from edge.store.models import Event, ProfileFeedback
from edge.store.retention import prune

MakeAlert = Callable[..., NewAlert]


def _events(store: AlertStore) -> list[tuple[int, str, int]]:
    with store.reading() as s:
        return [(e.alert_id, e.kind, __import__("json").loads(e.payload)["stream_open_alerts"])
                for e in s.scalars(select(Event).order_by(Event.id))]  # fmt: skip


def test_every_alert_change_is_an_event_with_the_streams_open_count(
    store_url: str, make_alert: MakeAlert
) -> None:
    with AlertStore(store_url) as store:
        first = make_alert(ended_at=None)
        [a] = store.write_alerts([first])
        [b] = store.write_alerts([make_alert(ended_at=None, stream_id="cam1")])
        store.write_alerts([make_alert(ended_at=None, episode_key=first.episode_key)])  # grew, still open
        store.write_alerts([make_alert(episode_key=first.episode_key)])  # closed
        store.set_status(b, "confirmed", "x", reviewer="ann")
        store.write_alerts([make_alert(stream_id="cam2")])  # opened and closed at once
        assert _events(store) == [
            (a, "open", 1), (b, "open", 2), (a, "update", 2), (a, "close", 1), (b, "update", 1),
            (3, "open", 0), (3, "close", 0),
        ]  # fmt: skip


def test_events_of_one_batch_carry_each_streams_open_count_after_the_batch(
    store_url: str, make_alert: MakeAlert
) -> None:
    with AlertStore(store_url) as store:
        ids = store.write_alerts(
            [make_alert(ended_at=None), make_alert(stream_id="cam2"), make_alert(ended_at=None)]
        )
        assert _events(store) == [
            (ids[0], "open", 2), (ids[1], "open", 0), (ids[1], "close", 0), (ids[2], "open", 2),
        ]  # fmt: skip


def test_a_batch_of_new_and_known_episodes_records_its_events_in_the_batchs_order(
    store_url: str, make_alert: MakeAlert
) -> None:
    # A batch's new rows are inserted together once it is decided; their events keep its order.
    with AlertStore(store_url) as store:
        known = make_alert(ended_at=None)
        [k] = store.write_alerts([known])
        new = make_alert(ended_at=None, stream_id="cam2")
        closing = [
            make_alert(episode_key=known.episode_key),
            make_alert(episode_key=new.episode_key, stream_id="cam2"),
        ]
        ids = store.write_alerts([new, *closing])
        assert ids[0] == ids[2] != k and ids[1] == k and store.count() == 2
        assert _events(store)[1:] == [(ids[0], "open", 0), (k, "close", 0), (ids[0], "close", 0)]


def test_event_payload_names_the_person_and_their_box(sqlite_url: str, make_alert: MakeAlert) -> None:
    with AlertStore(sqlite_url) as store:
        store.write_alerts(
            [make_alert(person=5, box=(0.2, 0.1, 0.4, 0.8), others=((1, (0, 0, 0.1, 0.5)),)), make_alert()]
        )
        with store.reading() as s:
            alerts = [
                json.loads(e.payload)["alert"] for e in s.scalars(select(Event).where(Event.kind == "open"))
            ]
    assert [(a["person"], a["box"], a["others"]) for a in alerts] == [
        (5, [0.2, 0.1, 0.4, 0.8], [[1, 0.0, 0.0, 0.1, 0.5]]), (0, None, [])
    ]  # fmt: skip


def test_events_name_the_host_that_raised_the_alert(store_url: str, make_alert: MakeAlert) -> None:
    with AlertStore(store_url) as store:
        store.write_alerts([make_alert(host="hall-b")])  # opened and closed at once
        with store.reading() as s:
            hosts = [json.loads(e.payload)["alert"]["host"] for e in s.scalars(select(Event))]
    assert hosts == ["hall-b", "hall-b"]


def test_a_failed_alert_write_leaves_no_event(store_url: str, make_alert: MakeAlert) -> None:
    with AlertStore(store_url) as store:
        bad = make_alert()
        object.__setattr__(bad, "n_windows", 0)  # violates the window-count check in the database
        with pytest.raises(IntegrityError):
            store.write_alerts([make_alert(), bad])
        assert store.count() == 0 and _events(store) == []


def test_retention_drops_windows_then_old_then_surplus_alerts_and_keeps_open_and_profile_ones(
    store_url: str, make_alert: MakeAlert, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    with AlertStore(store_url) as store:
        ids = store.write_alerts(
            [make_alert(started_at=now - timedelta(days=d)) for d in (100, 95, 40, 20, 2, 1)]
            + [make_alert(started_at=now - timedelta(days=200), ended_at=None)]  # still open
        )
        kept_by_profile = ids[0]
        with store.writing() as s:
            s.add(ProfileFeedback(alert_id=kept_by_profile, profile="assembly", base_version=1, version=2,
                                  action="normal", reviewer="ann", note="", created_at=now))  # fmt: skip
        profiles = tmp_path / "profiles" / "assembly"
        profiles.mkdir(parents=True)
        for v in (1, 2):
            (profiles / f"v{v:04d}.npz").write_bytes(b"x")
            (profiles / f"v{v:04d}.json").write_text("{}")
        cfg = RetentionConfig(max_age_days=90, max_rows=3, windows_days=10, events_days=7)
        report = prune(store, cfg, profiles_dir=tmp_path / "profiles", now=now)
        assert (report.windows_dropped, report.deleted_by_age, report.protected) == (3, 1, 1)
        left = {a.id: a for a in store.list_alerts(limit=None)}
        assert ids[1] not in left and kept_by_profile in left and ids[6] in left  # age; profile; open
        assert report.deleted_by_rows == 1 and ids[2] not in left  # 5 left > 3: the oldest unprotected goes
        assert store.get_alert(ids[3]).windows is None  # 20 days old: windows dropped, row kept
        assert store.get_alert(ids[4]).windows is not None
        assert store.get_alert(kept_by_profile).windows is not None
        # Once no profile version from the one that used it exists, the alert is fair game.
        for v in (1, 2):
            (profiles / f"v{v:04d}.npz").unlink()
        prune(store, cfg, profiles_dir=tmp_path / "profiles", now=now)
        assert kept_by_profile not in {a.id for a in store.list_alerts(limit=None)}


def test_events_are_pruned_only_once_every_sink_is_past_them(store_url: str, make_alert: MakeAlert) -> None:
    from edge.store.outbox import ensure_cursor

    with AlertStore(store_url) as store:
        store.write_alerts([make_alert(), make_alert()])  # 4 events
        with store.writing() as s:
            ensure_cursor(s, "slow", start="all")
            ensure_cursor(s, "fast")
            s.get(__import__("edge.store.models", fromlist=["EventCursor"]).EventCursor, "slow").last_id = 2
        later = datetime.now(UTC) + timedelta(days=30)
        report = prune(
            store, RetentionConfig(max_age_days=0, max_rows=0, windows_days=0, events_days=7), now=later
        )
        assert report.events_deleted == 2 and len(_events(store)) == 2
        assert np.all([k in ("open", "close") for _, k, _ in _events(store)])
