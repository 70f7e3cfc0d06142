"""A backlog of alerts that a slow link to PostgreSQL cannot carry within ``store.timeout_s`` in one
transaction (a camera host on a thin uplink, after an outage): the delivery writes it in smaller
transactions and every alert arrives. It used to send the same whole batch again after every cut,
for ever, each alone taking a tenth of the deadline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from config.store import StoreConfig
from edge import alerts_sink
from edge.alert_outbox import AlertOutbox
from edge.alerts_sink import AlertSink
from edge.episodes import Episode, EpisodeEvent, KeptWindow
from edge.store import AlertStore, NewAlert
from tests.conftest import PG_HOST, PG_PORT
from tests.edge.store.test_alerts_cli import run
from tests.edge.test_alerts_sink import wait_for
from tests.faults import TcpProxy

BACKLOG = 12  # alerts of 12 windows each: about 2 MB to the log, 0.5 s at the link's 4 MB/s
RATE = 4e6
TIMEOUT_S = 0.3  # a few alerts per transaction fit in it, the whole backlog does not


def closed_alert(key: str, rng: np.random.Generator) -> EpisodeEvent:
    """A closed episode with 12 windows of noise (as incompressible as real skeletons, or more)."""
    windows = tuple(
        KeptWindow(float(i), i + 3.0, 2.0, rng.normal(size=(60, 20, 3)).astype(np.float32)) for i in range(12)
    )
    ep = Episode(
        episode_id=key, stream_id="cam0", profile="walk", threshold=1.0, start=0.0, end=15.0, peak_score=2.0,
        peak_t_start=0.0, peak_t_end=3.0, mean_score=1.5, n_windows=12, n_hot=12, windows=windows, timeline=(),
    )  # fmt: skip
    return EpisodeEvent("closed", ep, "cold", trigger_sent_at=1_000.0)


def in_log(url: str) -> int:
    with AlertStore(url) as store:
        return store.count()


# The link hangs (freeze) rather than refuses: a refusing proxy's listener cannot always be had again
# at once.
@pytest.mark.parametrize("backlog_from", ["the link down at start", "a burst", "the link down midway"])
def test_a_backlog_too_big_for_the_slow_link_in_one_deadline_is_delivered_in_smaller_parts(
    tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch, backlog_from: str
) -> None:
    monkeypatch.setattr(alerts_sink, "RETRY_S", (0.05, 0.2))  # a cut write tried again soon
    AlertStore(pg_url).close()  # the schema exists
    rng = np.random.default_rng(0)
    with TcpProxy((PG_HOST, PG_PORT), upload_bytes_per_s=RATE) as proxy:
        url = proxy.url(pg_url)
        cfg = StoreConfig(url=url, timeout_s=TIMEOUT_S, busy_timeout_s=2, deliver_every_s=0.0)
        sink = AlertSink(cfg, tmp_path / "outbox.db", model_version="m1")
        if backlog_from == "the link down at start":
            proxy.set("freeze")
        sink.start([])
        try:
            for i in range(BACKLOG):
                sink.write([closed_alert(f"e{i:02d}", rng)])
                if backlog_from == "the link down midway" and i == BACKLOG // 3:
                    wait_for(lambda: in_log(pg_url) > 0, timeout_s=30)
                    proxy.set("freeze")  # the write under way is cut at its deadline
            proxy.set("forward")
            wait_for(lambda: in_log(pg_url) == BACKLOG, timeout_s=30)
        finally:
            sink.close(timeout_s=2.0)
    assert sink.health().log_error is None


def test_haad_alerts_deliver_carries_the_backlog_over_the_slow_link_in_smaller_parts(
    tmp_path: Path, pg_url: str
) -> None:
    """The stopped daemon's outbox, delivered by hand: the server's statement timeout (``timeout_s``)
    cut the whole batch, and `deliver` failed (exit 1) however often it was run."""
    AlertStore(pg_url).close()  # the schema exists
    rng = np.random.default_rng(0)
    outbox = AlertOutbox(tmp_path / "alert-outbox.db")  # state_dir: the config's folder
    outbox.put([(i + 1, closed_state(f"e{i:02d}", rng)) for i in range(BACKLOG)])
    outbox.close()
    with TcpProxy((PG_HOST, PG_PORT), upload_bytes_per_s=RATE) as proxy:
        config = tmp_path / "edge.yaml"
        config.write_text(f"store: {{url: '{proxy.url(pg_url)}', timeout_s: {TIMEOUT_S}}}\n")
        result = run("deliver", "--config", str(config))
    assert result.exit_code == 0, result.output
    assert f"delivered {BACKLOG} alert(s)" in result.output and in_log(pg_url) == BACKLOG


def closed_state(key: str, rng: np.random.Generator) -> NewAlert:
    """An alert's closed state as the outbox holds it, with 12 windows of noise."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    return NewAlert(
        episode_key=key, stream_id="cam0", profile="walk", profile_version=1, started_at=start,
        ended_at=start + timedelta(seconds=15), peak_score=2.0, mean_score=1.5, threshold=1.0, n_windows=12,
        model_version="m1", windows=rng.normal(size=(12, 60, 20, 3)).astype(np.float32),
        window_times=np.array([[i, i + 3.0] for i in range(12)]), window_scores=np.full(12, 2.0),
    )  # fmt: skip
