"""Review the alert log: list, show, export and triage alerts.

The database is --db, else the HAAD_DB environment variable, else the store of --config edge.yaml,
else sqlite:///haad-alerts.db; deliver writes to the store of the daemon's --config only.
--since/--until take ISO-8601 times (UTC when no zone is given) or times relative to now (30m, 2h, 1d)
and match an alert's start. Exit codes: 0 done, 1 no such alert or database, a database call that failed
or a file that cannot be written, 2 bad usage, 3 (deliver) delivered, but alert states wait in files
beside the outbox for recovery by hand (set aside now or by an earlier run).
"""

from __future__ import annotations

import csv
import getpass
import json
import logging
import re
import sqlite3
import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import numpy as np
import typer
from alembic.util import CommandError
from sqlalchemy.exc import SQLAlchemyError

from bus.messages import Box
from config.secrets import SecretError
from config.store import StoreConfig
from edge.overlays import Scope
from edge.store import AlertRecord, AlertStore, ReviewStatus
from edge.store.engine import SchemaTooNew
from edge.store.models import MAX_ID, REVIEWER_LENGTH
from edge.store.records import RECORD_FIELDS, encode_windows
from edge.timeline_holes import timeline_holes
from haad.cli.common import (
    ConfigOpt,
    DbOpt,
    ProfilesOpt,
    check_behaviour,
    fail,
    load_edge_config,
    open_store,
    printable,
    table,
)

if TYPE_CHECKING:
    from config.edge import EdgeConfig
    from edge.feedback import FeedbackResult

_RELATIVE = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_time(text: str) -> datetime:
    """``2h`` / ``30m`` / ``1d`` / ``45s`` / ``2w`` ago, or an ISO-8601 time (naive = UTC), in UTC."""
    m = _RELATIVE.fullmatch(text.strip())
    try:
        if m:
            return datetime.now(UTC) - timedelta(**{_UNITS[m[2]]: float(m[1])})
        t = datetime.fromisoformat(text.strip())
        return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)
    except OverflowError:  # before year 1 or after 9999 (in UTC): the query would fail on it
        raise typer.BadParameter(f"{text!r} is out of range (years 1 to 9999 in UTC)") from None
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is neither an ISO-8601 time (2024-05-01T13:00:00Z) nor relative (30m, 2h, 1d)"
        ) from None


Db = Annotated[
    str | None,
    typer.Option(
        "--db",
        envvar="HAAD_DB",
        help="Alert database URL (sqlite:///file or postgresql+psycopg://...); replaces the config's store.",
    ),
]
Config = Annotated[Path | None, typer.Option("--config", help="edge.yaml: its store.")]
ReviewConfig = Annotated[
    Path | None,
    typer.Option("--config", help="edge.yaml: its store (and profiles_dir, encoder for --normal)."),
]
Stream = Annotated[str | None, typer.Option(help="Only this stream id.")]
Profile = Annotated[str | None, typer.Option(help="Only this profile.")]
Host = Annotated[str | None, typer.Option(help="Only alerts raised by this host (config `host`).")]
Person = Annotated[
    int | None,
    typer.Option(
        min=0,
        max=MAX_ID,
        help="Only alerts of this person track within its stream (0: a one-person camera's).",
    ),
]
# The shell's TZ plays no part: a time without a zone is UTC, as the times shown are.
_WHEN = "ISO-8601, UTC unless it has an offset (2026-03-29T02:30+02:00), or a time ago (2h, 30m, 1d)"
Since = Annotated[datetime | None, typer.Option(parser=parse_time, help=f"Started at or after: {_WHEN}.")]
Until = Annotated[datetime | None, typer.Option(parser=parse_time, help=f"Started before: {_WHEN}.")]
Status = Annotated[ReviewStatus | None, typer.Option(help="Only this review status.")]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
AlertId = Annotated[
    int, typer.Argument(metavar="ID", min=1, max=MAX_ID, help="Alert id (see `haad alerts list`).")
]

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)


@app.command("list")
def list_cmd(
    db: Db = None,
    config: Config = None,
    stream: Stream = None,
    profile: Profile = None,
    host: Host = None,
    person: Person = None,
    since: Since = None,
    until: Until = None,
    status: Status = None,
    limit: Annotated[
        int, typer.Option(min=1, callback=_all_beyond_ids, help="Most alerts shown (newest first).")
    ] = 50,
    as_json: AsJson = False,
) -> None:
    """The newest alerts matching the filters."""
    with _open(config, db) as store:
        alerts = store.list_alerts(
            stream=stream, profile=profile, host=host, person=person, since=since, until=until, status=status,
            limit=limit,
        )  # fmt: skip
        if len(alerts) == limit:
            total = store.count(
                stream=stream,
                profile=profile,
                host=host,
                person=person,
                since=since,
                until=until,
                status=status,
            )
        else:
            total = len(alerts)
    if as_json:
        typer.echo(json.dumps([a.to_dict() for a in alerts], indent=2))
        return
    if not alerts:
        typer.echo("no alerts")
        return
    rows = [
        [
            str(a.id),
            _when(a.started_at),
            _duration(a),
            a.host or "-",
            a.stream_id,
            str(a.person) if a.person else "-",
            # version 0: no one version (a stream's several profiles, "walk+sit"; one no longer loaded)
            f"{a.profile} v{a.profile_version}" if a.profile_version else a.profile,
            f"{a.peak_score:.3f}",
            f"{a.threshold:.3f}",
            str(a.n_windows),
            a.status,
        ]
        for a in alerts
    ]
    typer.echo(
        table(
            [
                "ID",
                "STARTED (UTC)",
                "DURATION",
                "HOST",
                "STREAM",
                "PERSON",
                "PROFILE",
                "PEAK",
                "THRESH",
                "WINDOWS",
                "STATUS",
            ],  # fmt: skip
            rows,
        )
    )
    if total > len(alerts):
        typer.echo(f"showing {len(alerts)} of {total} (raise --limit or narrow the filters)")


@app.command("show")
def show_cmd(
    alert_id: AlertId,
    db: Db = None,
    config: Config = None,
    as_json: AsJson = False,
    plot: Annotated[
        Path | None, typer.Option(help="Also draw its score timeline to this .png or .svg file.")
    ] = None,
) -> None:
    """One alert in full, with a summary of each stored skeleton window."""
    with _open(config, db) as store:
        alert = _get(store, alert_id)
    if plot is not None:
        from edge.plots import alert_timeline

        if plot.suffix.lower() not in (".png", ".svg"):
            raise typer.BadParameter(f"{plot}: the extension must be .png or .svg", param_hint="--plot")
        with _writing(plot):
            plot.parent.mkdir(parents=True, exist_ok=True)
            alert_timeline(alert, plot, "svg" if plot.suffix.lower() == ".svg" else "png")
        typer.echo(f"score timeline written to {plot}", err=True)
    windows = None if alert.windows is None else _window_summary(alert)  # None: retention dropped them
    timeline = None if alert.timeline is None else alert.timeline.astype(float).tolist()
    if as_json:
        typer.echo(json.dumps({**alert.to_dict(), "windows": windows, "timeline": timeline}, indent=2))
        return
    described = {**alert.to_dict(), **_people(alert)}
    # which normal behaviour its peak was nearest; unknown for alerts logged before it was recorded
    nearest = described.pop("nearest")
    described |= {} if nearest is None else {"nearest normal": nearest}
    for key, value in described.items():
        typer.echo(f"{key:>16}: {printable(value)}")
    typer.echo(f"{'duration':>16}: {_duration(alert)}")
    if windows is None:
        typer.echo("\nstored windows: dropped by retention")
    else:
        typer.echo(f"\nstored windows ({alert.n_kept} of {alert.n_windows}):")
        header = ["#", "T_START (s)", "T_END (s)", "FRAMES", "SCORE", "MOTION (m/frame)"]
        typer.echo(
            table(
                header,
                [
                    [
                        str(i),
                        f"{w['t_start']:.2f}",
                        f"{w['t_end']:.2f}",
                        str(w["frames"]),
                        "-" if w["score"] is None else f"{w['score']:.3f}",
                        "-" if w["motion"] is None else f"{w['motion']:.4f}",
                    ]
                    for i, w in enumerate(windows)
                ],
            )
        )
    if timeline:
        shown = _pooled(timeline, TIMELINE_ROWS)
        pooled = (
            ""
            if len(shown) == len(timeline)
            else f", shown in {len(shown)} rows: consecutive ones pooled, each row the highest score of its "
            "group; --json has all"
        )
        # n_windows ends at the last hot window; the timeline goes on with the cold ones after it
        tail = (
            f"; more than its {alert.n_windows} windows: the cold ones after its last hot window too"
            if len(timeline) > alert.n_windows
            else ""
        )
        typer.echo(
            f"\nscore timeline (each window's score at the moment it is about; {len(timeline)} moments"
            f"{pooled}{tail}):"
        )
        top = max(alert.threshold * 1.5, max(s for _, s in timeline), 1e-9)
        holes = timeline_holes(alert.timeline)
        rows: list[list[str]] = []
        for i, (t, s) in enumerate(shown):
            # a hole in the stream between this row and the one before: said, not pooled over
            rows += [
                ["", "", f"no frames from {a:.2f} to {b:.2f} (a hole in the stream: no score known)"]
                for a, b in holes
                if i and shown[i - 1][0] <= a and t >= b
            ]
            rows.append([f"{t:.2f}", f"{s:.3f}", _bar(s, top, alert.threshold)])
        typer.echo(table(["T (s)", "SCORE", "(| threshold)"], rows))


@app.command("export")
def export_cmd(
    out: Annotated[Path, typer.Option(help="Output file: .jsonl (JSON Lines) or .csv.")],
    db: Db = None,
    config: Config = None,
    stream: Stream = None,
    profile: Profile = None,
    host: Host = None,
    person: Person = None,
    since: Since = None,
    until: Until = None,
    status: Status = None,
    limit: Annotated[
        int | None, typer.Option(min=1, callback=_all_beyond_ids, help="Most alerts exported (default: all).")
    ] = None,
    windows: Annotated[
        Path | None, typer.Option(help="Also write each alert's skeleton windows to DIR/<id>.npz.")
    ] = None,
) -> None:
    """Write the matching alerts to a file (newest first); optionally their windows too."""
    kind = out.suffix.lower()
    if kind not in (".jsonl", ".ndjson", ".csv"):
        raise typer.BadParameter(f"{out}: the extension must be .jsonl or .csv", param_hint="--out")
    if not out.parent.is_dir():  # made, a mistyped folder would hide the export where none looks
        raise fail(f"--out {out}: no folder {out.parent}", code=2)
    if windows is not None and windows.suffix.lower() == ".npz":  # made a folder named w.npz
        raise typer.BadParameter(
            f"{windows}: give a folder: each alert's windows go to a file of their own, FOLDER/<id>.npz",
            param_hint="--windows",
        )
    with _open(config, db) as store:
        alerts = store.list_alerts(
            stream=stream, profile=profile, host=host, person=person, since=since, until=until, status=status,
            limit=limit,
        )  # fmt: skip
        # Written beside ``out``, then renamed: a failed export (a full disk) leaves no half file.
        part = out.with_name(out.name + ".part")
        with _writing(out):
            try:
                with part.open("w", newline="") as f:
                    if kind == ".csv":
                        writer = csv.DictWriter(f, fieldnames=RECORD_FIELDS)
                        writer.writeheader()
                        writer.writerows(
                            {k: _spreadsheet_safe(v) for k, v in a.to_dict().items()} for a in alerts
                        )
                    else:
                        f.writelines(json.dumps(a.to_dict()) + "\n" for a in alerts)
                part.replace(out)
            finally:
                part.unlink(missing_ok=True)
        dropped = 0
        if windows is not None:
            with _writing(windows):
                windows.mkdir(parents=True, exist_ok=True)
                for a in alerts:
                    full = _get(store, a.id)
                    if full.windows is None or full.window_times is None:  # retention dropped them
                        dropped += 1
                        continue
                    data = encode_windows(full.windows, full.window_times, full.window_scores, full.timeline)
                    (windows / f"{a.id}.npz").write_bytes(data)
    typer.echo(
        f"exported {len(alerts)} alerts to {out}"
        + (f", windows to {windows}/" if windows else "")
        + (f" (not those of {dropped}: dropped by retention)" if dropped else "")
    )


@app.command("review")
def review_cmd(
    alert_id: AlertId,
    status: Annotated[
        ReviewStatus | None, typer.Option(help="confirmed or dismissed (new reopens it).")
    ] = None,
    note: Annotated[
        str | None, typer.Option(help="Why (replaces an earlier note; without it, it is kept).")
    ] = None,
    db: Db = None,
    config: ReviewConfig = None,
    normal: Annotated[
        bool,
        typer.Option("--normal", help="Normal behaviour: add its windows to its profile (a new version)."),
    ] = False,
    undo_normal: Annotated[
        bool, typer.Option("--undo-normal", help="Take its windows out of the profile again (a new version).")
    ] = False,
    profile: Annotated[
        str | None, typer.Option(help="With --normal, for an alert against several profiles: which one.")
    ] = None,
    scope: Annotated[
        Scope | None,
        typer.Option(
            help="With --normal: camera (normal for the alert's camera only) or all (every camera using "
            "the profile). The cameras it changes are shown before anything is written."
        ),
    ] = None,
    behaviour: Annotated[
        str | None,
        typer.Option(
            callback=check_behaviour,
            help="With --normal: the behaviour the action is (default: a new one, alert-<id>).",
        ),
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="With --normal: apply without asking.")] = False,
    reviewer: Annotated[
        str, typer.Option(callback=_reviewer, help="Who reviews (default: the OS user).")
    ] = "",
) -> None:
    """Mark an alert confirmed or dismissed, or normal (teaches its profile)."""
    if sum([status is not None, normal, undo_normal]) != 1:
        raise typer.BadParameter("give exactly one of --status, --normal, --undo-normal")
    normal_only = {"--profile": profile, "--scope": scope, "--behaviour": behaviour, "--yes": yes or None}
    if status is not None and (given := [flag for flag, value in normal_only.items() if value is not None]):
        # a reviewer who wrote them expected them to do something
        raise typer.BadParameter(f"{', '.join(given)} go(es) with --normal or --undo-normal, not --status")
    if normal or undo_normal:
        if normal and scope is None:
            raise typer.BadParameter("--normal needs --scope camera or --scope all", param_hint="--scope")
        message = _review_normal(
            alert_id, db=db, config=config, note=note or "", undo=undo_normal, profile=profile, reviewer=reviewer,
            scope=scope or "camera", behaviour=behaviour, yes=yes,
        )  # fmt: skip
        typer.echo(message)
        return
    with _open(config, db) as store:
        try:
            store.set_status(alert_id, status or "new", note, reviewer=reviewer)
        except KeyError as e:
            raise fail(e.args[0]) from None
    typer.echo(printable(f"alert {alert_id}: {status}" + (f" ({note})" if note else "")))


SET_ASIDE = 3  # `deliver`: done, but states wait beside the outbox for a human


@app.command("deliver")
def deliver_cmd(
    config: Annotated[
        Path, typer.Option("--config", help="The daemon's edge.yaml (its store and state_dir).")
    ],
) -> None:
    """Deliver the alerts waiting in the daemon's local outbox to the alert log now (a running daemon
    does it by itself; this is for one that stopped while the log was unreachable). Exit code 3: alert
    states wait in files beside the outbox for recovery by hand (set aside now or earlier: a damaged
    outbox, states that cannot be read or that the log refuses); each is named, with how to recover it."""
    from edge.alert_outbox import awaiting_recovery, recovery_advice
    from edge.state_lock import outbox_path

    cfg = load_edge_config(config)
    path = outbox_path(cfg)
    if not path.parent.is_dir():
        typer.echo(f"no outbox at {path}: nothing to deliver")
        return
    try:
        delivered = _deliver(cfg, path)
        typer.echo(
            f"no outbox at {path}: nothing to deliver"
            if delivered is None
            else f"delivered {delivered} alert(s) from {path}"
        )
    finally:  # also after a failure: the operator learns of them however deliver ends
        awaiting = awaiting_recovery(path)
        if awaiting:
            typer.echo(recovery_advice(path, awaiting), err=True)
    if awaiting:
        raise typer.Exit(SET_ASIDE)


def _deliver(cfg: EdgeConfig, path: Path) -> int | None:
    """``deliver``'s work under the outbox lock: how many alerts it delivered (None: no outbox). What
    the outbox sets aside meanwhile is said on stderr as it happens."""
    from edge.alert_outbox import AlertOutbox, recover_at_start
    from edge.state_lock import StateLocked
    from edge.worker import outbox_lock

    try:
        lock = outbox_lock(cfg)
    except StateLocked as e:
        raise fail(f"{e}: a running worker delivers its outbox itself") from None
    try:
        # Under the lock, nothing else has it open. Also with the file gone: its write-ahead log left
        # behind holds alerts, and is set aside for recovery; a carry-over's side file is taken in.
        with _alert_log_lines_on_stderr():
            recover_at_start(path, name_earlier=False)  # deliver names every file waiting at its end
        outbox = AlertOutbox(path) if path.is_file() else None
    except (sqlite3.Error, OSError) as e:  # locked by another program, a failing disk, ...
        lock.close()
        raise fail(
            f"cannot open the alert outbox {path} ({type(e).__name__}: {e}); its alerts stay in it"
        ) from None
    if outbox is None:
        lock.close()
        return None
    try:
        with AlertStore(cfg.store) as store, _alert_log_lines_on_stderr():
            return outbox.deliver(store)
    except SecretError as e:
        raise fail(f"store.password: {e}; {outbox.waiting()} alert(s) still wait in {path}") from None
    except SchemaTooNew as e:  # reachable, but this haad is too old for it: say what to do
        raise fail(f"{e}; {outbox.waiting()} alert(s) still wait in {path}") from None
    except (SQLAlchemyError, CommandError) as e:
        raise fail(
            f"alert log unreachable ({e.__class__.__name__}); {outbox.waiting()} alert(s) still wait in {path}"
        ) from None
    finally:
        outbox.close()
        lock.close()


@contextmanager
def _alert_log_lines_on_stderr() -> Iterator[None]:
    """Within, the outbox's own lines (what was set aside, why, where, how to recover it) reach
    stderr once, whatever logging this process has set up (none: only Python's last resort)."""
    alerts_log = logging.getLogger("haad.alerts")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    handler.setLevel(logging.WARNING)
    alerts_log.addHandler(handler)
    propagate, alerts_log.propagate = alerts_log.propagate, False
    try:
        yield
    finally:
        alerts_log.propagate = propagate
        alerts_log.removeHandler(handler)


@app.command("prune")
def prune_cmd(
    config: ConfigOpt = None,
    db: DbOpt = None,
    profiles: ProfilesOpt = None,
) -> None:
    """Apply store.retention now: drop old windows, delete old alerts and delivered events."""
    from edge.snapshots import alerts_root, prune_snapshots
    from edge.store.retention import prune

    cfg = load_edge_config(config, db=db, profiles=profiles)
    profiles_dir = Path(cfg.profiles_dir)
    with _opened(cfg.store) as store:
        report = prune(
            store, cfg.store.retention, profiles_dir=profiles_dir if profiles_dir.is_dir() else None
        )
    pictures = prune_snapshots(alerts_root(cfg), cfg.store.retention.windows_days)
    r = report
    typer.echo(
        f"windows dropped: {r.windows_dropped}; alerts deleted: {r.deleted_by_age} by age, {r.deleted_by_rows} "
        f"over max_rows; events deleted: {r.events_deleted}; kept because a profile uses them: {r.protected}; "
        f"alert picture folders deleted: {pictures}"
    )


# --- helpers -------------------------------------------------------------------------------------


def _review_normal(
    alert_id: int,
    *,
    db: str | None,
    config: Path | None,
    note: str,
    undo: bool,
    profile: str | None,
    reviewer: str,
    scope: Scope = "camera",
    behaviour: str | None = None,
    yes: bool = False,
) -> str:
    """``haad alerts review ID --normal`` / ``--undo-normal``: what the page's buttons do. Marking
    normal first shows the cameras the scope changes and asks (unless ``yes``)."""
    from edge.backends import make_backend
    from edge.feedback import (
        AlreadyNormal,
        AlreadyUndone,
        FeedbackError,
        mark_normal,
        preview_normal,
        refuse_normal,
        undo_normal,
    )
    from edge.profiles import ProfileError, ProfileStore
    from edge.review.queries import known_streams
    from edge.review.server import configured_streams

    cfg = load_edge_config(config, db=db)
    with _opened(cfg.store) as store:
        streams = configured_streams(cfg) or known_streams(store)
        profiles = ProfileStore(Path(cfg.profiles_dir))
        try:
            if not undo:
                try:
                    plan = preview_normal(store, alert_id, streams, profile)
                except FeedbackError as e:  # it refuses only a --profile missing or not the alert's
                    raise typer.BadParameter(str(e), param_hint="--profile") from None
                refuse_normal(
                    store, profiles, alert_id, plan["profile"], behaviour
                )  # no preview of a refusal
                reached = plan["scopes"][scope]
                where = f"camera {plan['stream']} only" if scope == "camera" else "every camera using it"
                typer.echo(
                    f"alert {alert_id} -> normal for profile {plan['profile']}, {where}: changes {', '.join(reached)}"
                )
                if not yes and not _confirmed("apply?"):
                    raise fail("nothing changed")
            try:
                backend = make_backend(cfg.worker.backend, Path(cfg.encoder) if cfg.encoder else None)
            except Exception as e:  # noqa: BLE001 - a missing or damaged encoder (its loaders' own types)
                raise fail(f"cannot re-embed: {type(e).__name__}: {e}") from None
            if undo:
                r = undo_normal(store, profiles, backend, cfg.worker.calibration, alert_id, reviewer=reviewer, note=note,
                                streams=streams)  # fmt: skip
                return f"alert {alert_id}: removed from {_target(r)} -> v{r.version}; it alerts again on {', '.join(r.cameras)}"
            r = mark_normal(store, profiles, backend, cfg.worker.calibration, [alert_id], reviewer=reviewer, note=note,
                            profile=profile, scope=scope, streams=streams, behaviour=behaviour,
                            stride=cfg.worker.stride, reach=cfg.worker.feedback_reach)  # fmt: skip
        except KeyError as e:
            raise fail(e.args[0]) from None
        except AlreadyNormal as e:
            raise fail(f"{e}: haad alerts review {e.alert_id} --undo-normal") from None
        except AlreadyUndone as e:  # a run killed once its version was saved, or a second undo: done
            return f"alert {alert_id}: already undone: removed from {e.where} -> v{e.version}"
        except ProfileError as e:
            # --db alone (as `haad demo` prints it) looks for profiles in ./profiles: say where else
            hint = (
                "" if config is not None else " (no --config: give the edge.yaml whose profiles_dir holds it)"
            )
            raise fail(f"{e}{hint}") from None
        except FeedbackError as e:
            raise fail(str(e)) from None
    return (
        f"alert {alert_id}: normal for {', '.join(r.cameras)}; behaviour {r.behaviour} ({r.windows} window(s)) "
        f"added to {_target(r)} v{r.base_version} -> v{r.version}, threshold {r.threshold:.3f} unchanged "
        f"({cfg.profiles_dir}/{r.profile}; a running daemon picks it up)"
    )


def _confirmed(question: str) -> bool:
    """The user's yes to ``question``; exit 2 where nobody can answer (stdin closed or not a terminal
    with nothing on it: a script, cron), which click says as a bare "Aborted!"."""
    try:
        return typer.confirm(question, default=False)
    except typer.Abort:
        if sys.stdin is not None and sys.stdin.isatty():
            raise  # Ctrl-C at the prompt
        typer.echo("")  # ends the question's line
        raise fail("no answer (stdin is not a terminal): nothing changed; add --yes to apply without asking",
                   code=2) from None  # fmt: skip


def _reviewer(name: str) -> str:
    """``--reviewer``'s callback: the name, else the OS user (a status review recorded none); longer
    than the column holds is bad usage (PostgreSQL refused it with a traceback)."""
    name = name or getpass.getuser()
    if len(name) > REVIEWER_LENGTH:
        raise typer.BadParameter(f"at most {REVIEWER_LENGTH} characters (got {len(name)})")
    return name


def _all_beyond_ids(limit: int | None) -> int | None:
    """``--limit``'s callback: a number larger than any id means all of them (SQL could not take it)."""
    return None if limit is None else min(limit, MAX_ID)


def _target(r: FeedbackResult) -> str:
    return f"profile {r.profile}" + (f" for camera {r.stream}" if r.stream else "")


def _open(config: Path | None, db: str | None) -> AbstractContextManager[AlertStore]:
    """The store at ``db``, else the one ``config`` names (it must exist already)."""
    return _opened(load_edge_config(config, db=db).store)


@contextmanager
def _opened(cfg: StoreConfig) -> Iterator[AlertStore]:
    """The alert log ``cfg`` names, open while the block runs; a database error in the block (a
    read-only file, a server gone since it opened, a lock held too long) is one line and exit 1."""
    with open_store(cfg) as store:
        try:
            yield store
        except SQLAlchemyError as e:
            why = str(getattr(e, "orig", None) or e).splitlines()[0]  # not the SQL and its parameters
            raise fail(f"alert log {store.url}: {type(e).__name__}: {why}") from None


def _get(store: AlertStore, alert_id: int) -> AlertRecord:
    try:
        return store.get_alert(alert_id)
    except KeyError as e:
        raise fail(e.args[0]) from None


@contextmanager
def _writing(path: Path) -> Iterator[None]:
    """A write that fails (no such folder, no permission, a full disk) as one line and exit 1."""
    try:
        yield
    except OSError as e:
        raise fail(f"cannot write {path}: {e.strerror or e}") from None


def _spreadsheet_safe(value: object) -> object:
    """A text cell a spreadsheet would run as a formula (=, +, -, @, tab, CR first) gets a leading
    quote, as OWASP advises against CSV injection; numbers stay numbers."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


TIMELINE_ROWS = 40  # `haad alerts show` prints a longer timeline pooled to this many rows (--json: all)


def _pooled(points: list[list[float]], rows: int) -> list[list[float]]:
    """At most ``rows`` points: consecutive ones pooled, each group shown by its highest score."""
    groups = np.array_split(np.arange(len(points)), min(rows, len(points)))
    return [max((points[i] for i in g), key=lambda p: p[1]) for g in groups]


def _bar(score: float, top: float, threshold: float, width: int = 30) -> str:
    """``score`` as a bar on a scale up to ``top``, ``|`` marking the threshold."""
    n = max(0, min(width, round(score / top * width)))
    mark = min(width - 1, round(threshold / top * width))
    return "".join("#" if i < n else ("|" if i == mark else " ") for i in range(width)).rstrip()


def _window_summary(alert: AlertRecord) -> list[dict[str, Any]]:
    """Per stored window: its span, frame count, score and mean joint displacement per frame."""
    assert alert.windows is not None and alert.window_times is not None
    out = []
    for i, w in enumerate(alert.windows):  # w: (F, J, 3)
        step = np.linalg.norm(np.diff(w, axis=0), axis=-1)  # (F-1, J)
        score = None if alert.window_scores is None else float(alert.window_scores[i])
        t0, t1 = alert.window_times[i]
        motion = float(np.nanmean(step)) if np.isfinite(step).any() else None  # None: JSON has no NaN
        out.append(
            {"t_start": float(t0), "t_end": float(t1), "frames": len(w), "score": score, "motion": motion}
        )
    return out


def _people(alert: AlertRecord) -> dict[str, str]:
    """``box`` and ``others`` for a reader: spans as fractions of the frame (bus.messages.Box), 3
    decimals (--json keeps the stored values)."""
    others = ", ".join(f"{pid} ({_span(box)})" for pid, box in alert.others)
    return {
        "box": "-" if alert.box is None else f"{_span(alert.box)} (fractions of the frame's width, height)",
        # person 0 is a single-person frontend's one person: who else was in view is not known
        "others": others or ("none in view" if alert.person else "-"),
    }


def _span(box: Box) -> str:
    x0, y0, x1, y1 = box
    return f"x {x0:.3f}-{x1:.3f}, y {y0:.3f}-{y1:.3f}"


def _when(t: datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S")


def _duration(a: AlertRecord) -> str:
    if a.ended_at is None:
        return "open"
    # A tie rounded up, as the web pages' toFixed rounds it: 0.25 s (5 frames at 20 fps) was 0.2s here
    # and 0.3 s on the alert's page (Python's format rounds a tie to even).
    seconds = Decimal((a.ended_at - a.started_at).total_seconds()).quantize(Decimal("0.1"), ROUND_HALF_UP)
    return f"{seconds}s"
