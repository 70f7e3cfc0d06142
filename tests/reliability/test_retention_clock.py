"""The wall clock stepped forward while the daemon runs (a bad NTP or GPS source, a clock set a year
ahead): housekeeping's next retention round must not take every alert for old and delete the log;
it goes by the time elapsed. The clock is stepped where the code reads it (``datetime.now``; for the pictures' folders, ``time.time``)."""

from __future__ import annotations

import logging
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from config.edge import EdgeConfig
from config.store import RetentionConfig
from edge import services, snapshots
from edge.snapshots import alerts_root
from edge.store import AlertStore, retention
from tests.edge.events.mqtt_helpers import closed, new_alert
from tests.edge.test_alerts_sink import wait_for


class SteppedClock(datetime):
    """``datetime`` whose ``now`` is the real one plus ``step`` (set by the test)."""

    step = timedelta(0)

    @classmethod
    def now(cls, tz=None):  # type: ignore[no-untyped-def, override]
        return datetime.now(tz) + cls.step


class RoundByRound(threading.Event):
    """The stop event of housekeeping, whose wait between two retention rounds (``every_s``, at least
    10 s) ends when the test calls :meth:`next_round` instead, so the clock steps between two rounds."""

    def __init__(self) -> None:
        super().__init__()
        self._next = threading.Semaphore(0)

    def wait(self, timeout: float | None = None) -> bool:
        self._next.acquire(timeout=timeout)
        return self.is_set()

    def next_round(self) -> None:
        self._next.release()

    def set(self) -> None:
        super().set()
        self._next.release()


@pytest.mark.parametrize("step", [timedelta(days=100), timedelta(days=3650)])
def test_a_wall_clock_stepped_forward_while_running_deletes_no_alert(
    tmp_path: Path, step: timedelta, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"sqlite:///{tmp_path / 'alerts.db'}"
    with AlertStore(url) as store:
        store.write_alerts([closed(new_alert("cam1")) for _ in range(3)])
    cfg = EdgeConfig.model_validate(
        {"store": {"url": url, "retention": {"every_s": 10, "max_age_days": 90, "windows_days": 30}},
         "profiles_dir": str(tmp_path / "profiles"), "state_dir": str(tmp_path)}
    )  # fmt: skip
    pictures = alerts_root(cfg) / "1"  # an alert's picture folder, written just now
    pictures.mkdir(parents=True)
    monkeypatch.setattr(SteppedClock, "step", timedelta(0))
    monkeypatch.setattr(services, "datetime", SteppedClock, raising=False)
    monkeypatch.setattr(retention, "datetime", SteppedClock)
    caplog.set_level(logging.INFO)
    stop = RoundByRound()
    housekeeping = threading.Thread(target=services.run_housekeeping, args=(cfg, stop))
    housekeeping.start()
    rounds = lambda: sum(r.getMessage().startswith("retention:") for r in caplog.records)  # noqa: E731
    try:
        wait_for(lambda: rounds() == 1, 30)
        SteppedClock.step = step  # between two rounds
        monkeypatch.setattr(snapshots.time, "time", lambda: datetime.now().timestamp() + step.total_seconds())
        stop.next_round()
        wait_for(lambda: rounds() == 2, 30)
    finally:
        stop.set()
        housekeeping.join(30)
    with AlertStore(url) as store:
        kept = [store.get_alert(a.id) for a in store.list_alerts()]
    assert len(kept) == 3 and all(a.windows is not None for a in kept)  # not even their windows went
    assert pictures.is_dir()
    # It says how long the guard holds: a restart of the service alone (after any failure) ends it.
    assert any(
        "wall clock jumped" in m and "until housekeeping restarts" in m
        for m in map(logging.LogRecord.getMessage, caplog.records)
    )


def test_a_wall_clock_not_set_at_start_is_gone_by_once_it_is_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A board without a battery clock starts in 1970 and NTP sets its clock later: retention deletes
    what is old by the clock set, not by the unset one until a restart (which left the log growing)."""
    url = f"sqlite:///{tmp_path / 'alerts.db'}"
    old = replace(closed(new_alert("cam1")), started_at=datetime.now(UTC) - timedelta(days=100))
    with AlertStore(url) as store:
        store.write_alerts([old, closed(new_alert("cam1"))])
    cfg = RetentionConfig(max_age_days=90)
    monkeypatch.setattr(services, "datetime", SteppedClock, raising=False)
    monkeypatch.setattr(SteppedClock, "step", datetime(1970, 1, 1, tzinfo=UTC) - datetime.now(UTC))
    clock = services.RetentionClock()
    with AlertStore(url) as store:
        assert retention.prune(store, cfg, now=clock.now()).deleted_by_age == 0  # by the unset clock
        SteppedClock.step = timedelta(0)  # NTP answers
        assert abs(clock.now() - datetime.now(UTC)) < timedelta(minutes=1)
        assert retention.prune(store, cfg, now=clock.now()).deleted_by_age == 1
        assert len(store.list_alerts()) == 1


@pytest.mark.parametrize("behind", [timedelta(0), timedelta(days=30)])
def test_a_clock_set_at_start_still_ignores_a_later_jump(
    behind: timedelta, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only a clock before any this haad can run at is taken as unset: one behind the newest alert
    (stepped back from a bad source a year ahead) is not, or that source's next step would count."""
    monkeypatch.setattr(services, "datetime", SteppedClock, raising=False)
    monkeypatch.setattr(SteppedClock, "step", -behind)
    clock = services.RetentionClock()
    SteppedClock.step = timedelta(days=365)
    assert clock.now() - (datetime.now(UTC) - behind) < timedelta(minutes=1)  # the jump not taken
