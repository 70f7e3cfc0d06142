"""``haad frontend``: run pose frontends onto the bus, record a stream to a clip-set file."""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
import yaml

from bus.lifetime import Restarts, stop_on_signals
from config.edge import EdgeConfig
from config.frontend import FrontendConfig, StreamConfig, pack_streams
from config.loader import ConfigError, parse_config, read_config_text
from haad.cli.common import fail, logging_set_up, say_checks
from pose_frontend.base import Progress
from pose_frontend.group import FrontendGroupProcess
from pose_frontend.process import FrontendProcess
from pose_frontend.record import Recording
from pose_frontend.synthetic import ABNORMAL_MOTIONS, MOTIONS

log = logging.getLogger(__name__)
app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="Pose frontends: camera / video / replay -> MediaPipe Pose -> canonical skeletons.",
)

# How long a finished stream's frames get to reach a worker on another host before the socket closes.
REMOTE_FLUSH_S = 2.0
# How often the streams' processes are looked at (ended, failed, due for a restart).
POLL_S = 0.2
ConfigArg = Annotated[
    Path,
    typer.Argument(help="Frontend YAML: the bus, the streams, their packing and logging, as in edge.yaml."),
]
RecordConfigArg = Annotated[
    Path, typer.Argument(help="Frontend YAML or edge.yaml: the stream to record is read from its streams.")
]


def load_frontend_config(path: Path) -> FrontendConfig:
    """``path`` validated as a frontend host's file (``haad frontend run`` and ``haad config validate
    --frontend`` read it); exits with code 2 and every problem with its line, saying once what to do
    when it holds settings only an edge.yaml takes."""
    text = _read(path)
    try:
        return parse_config(text, FrontendConfig, str(path))
    except ConfigError as e:
        refused = fail(str(e), code=2)
        if edge_only := _edge_only_keys(text):
            # each is refused on its own line: say once what a frontend host's file takes instead
            typer.echo(
                f"{path}: {', '.join(edge_only)}: only an edge.yaml (haad run) takes "
                f"{'this setting' if len(edge_only) == 1 else 'these settings'}; a frontend host's file "
                f"takes {', '.join(FrontendConfig.model_fields)}",
                err=True,
            )
        raise refused from None


def _read(path: Path) -> str:
    """The file's text, read once: what it holds decides which model checks it."""
    try:
        return read_config_text(path)
    except ConfigError as e:
        raise fail(str(e), code=2) from None


def _edge_only_keys(text: str) -> list[str]:
    """The top-level settings of ``text`` that an edge.yaml takes and a frontend host's file does not,
    in file order; [] when it holds none, or a key neither takes (a typo, said as such)."""
    try:
        keys = yaml.safe_load(text)
    except (yaml.YAMLError, RecursionError):
        return []
    extra = [k for k in keys if k not in FrontendConfig.model_fields] if isinstance(keys, dict) else []
    return extra if set(extra) <= set(EdgeConfig.model_fields) else []


def _streams_to_record(path: Path) -> list[StreamConfig]:
    """The streams of a frontend file or of an edge.yaml: a camera is recorded for `haad enroll` on
    the host whose edge.yaml names it, with that stream's estimator settings."""
    text = _read(path)
    model: type[EdgeConfig | FrontendConfig] = EdgeConfig if _edge_only_keys(text) else FrontendConfig
    try:
        return parse_config(text, model, str(path)).streams
    except ConfigError as e:
        raise fail(str(e), code=2) from None


def frontend_checks(cfg: FrontendConfig) -> tuple[list[str], list[str]]:
    """What keeps a frontend host from sending, then what exposes it (a secret key file every user
    may read), looked for only when there is no problem; as ``haad run`` checks an edge.yaml."""
    from edge.checks import frontend_problems, frontend_warnings

    problems = frontend_problems(cfg.bus, cfg.streams)
    return problems, [] if problems else frontend_warnings(cfg.bus, cfg.streams)


@app.command("run")
def run_cmd(
    config: ConfigArg,
    stats_every_s: Annotated[float, typer.Option(min=0.5, help="Seconds between counter lines.")] = 10.0,
    log_level: Annotated[
        str | None,
        typer.Option(help="Log level of the frontend processes; default: the file's logging.level."),
    ] = None,
) -> None:
    """Start the streams' frontend processes (cameras_per_frontend streams each, as haad run packs
    them) and publish to the bus until Ctrl-C (or SIGTERM) or all sources end."""

    from bus.logs import setup_logging

    cfg = load_frontend_config(config)
    problems, warnings = frontend_checks(cfg)
    say_checks(config, problems, warnings)
    level = logging.getLevelNamesMapping().get((log_level or cfg.logging.level).upper())
    if level is None:
        typer.echo(f"unknown log level {log_level!r}", err=True)
        raise typer.Exit(2)
    setup_logging(
        level, cfg.logging.format
    )  # as the streams' processes log: MediaPipe's boilerplate left out
    progress = {s.id: Progress.shared() for s in cfg.streams}
    frontends = [
        _Frontend(
            g, Restarts(cfg.supervisor), {s.id: progress[s.id] for s in g}, cfg.cameras_per_frontend > 1
        )
        for g in pack_streams(cfg.streams, cfg.cameras_per_frontend)
    ]
    # systemd and docker stop a frontend host with SIGTERM: stop the streams as Ctrl-C does, instead
    # of dying and taking the processes down without their last frames.
    on_sigterm = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        for f in frontends:
            f.start(cfg, level)
        typer.echo(
            f"{len(cfg.streams)} stream(s) in {len(frontends)} frontend process(es) publishing to "
            f"{cfg.bus.endpoint}; Ctrl-C stops them"
        )
        last_stats = time.monotonic()
        while not all(f.done for f in frontends):
            time.sleep(POLL_S)
            now = time.monotonic()
            for f in frontends:
                f.tend(now, cfg, level)
            if now - last_stats >= stats_every_s or all(f.done for f in frontends):
                last_stats = now
                for f in frontends:
                    for line in f.stats():
                        typer.echo(line)
    except KeyboardInterrupt:
        typer.echo("stopping")
    finally:
        running = [p for f in frontends if (p := f.process) is not None and p.pid and p.exitcode is None]
        for p in running:  # all at once: one stopped after another, the last waited for the others
            p.stop_event.set()
        codes = [p.stop(cfg.supervisor.stop_timeout_s) for p in running]
        signal.signal(signal.SIGTERM, on_sigterm)
    if any(f.given_up or f.cameras_given_up() for f in frontends) or any(
        code not in (0, None) for code in codes
    ):
        raise typer.Exit(1)


@dataclass
class _Frontend:
    """One frontend process on a frontend host: a stream's, or (``packed``: cameras_per_frontend > 1)
    a group of streams' as ``haad run`` packs them (pose_frontend.group: a failing camera is restarted
    inside it). The process is restarted after a failure as ``haad run`` restarts its frontends
    (config.supervisor), each stream continuing where it was (Progress)."""

    streams: list[StreamConfig]
    restarts: Restarts
    progress: dict[str, Progress]  # by stream id
    packed: bool
    process: FrontendProcess | FrontendGroupProcess | None = None  # None until started
    started_at: float = 0.0
    restart_at: float | None = None
    finished_at: float | None = None
    finished: bool = False  # its sources ended
    given_up: bool = False

    @property
    def done(self) -> bool:
        return self.finished or self.given_up

    @property
    def name(self) -> str:
        """``stream ID``, or ``streams A, B`` for a group: what its log lines are about."""
        ids = [s.id for s in self.streams]
        return f"stream {ids[0]}" if len(ids) == 1 else f"streams {', '.join(ids)}"

    def cameras_given_up(self) -> list[str]:
        """The streams given up inside the group process while it went on."""
        p = self.process
        return [i for i, e in p.given_up.items() if e.is_set()] if isinstance(p, FrontendGroupProcess) else []

    def stats(self) -> list[str]:
        """``<id> (<state>): <its counters>``, a line per stream."""
        p = self.process
        assert p is not None
        state = "running" if p.is_alive() else f"exit {p.exitcode}"
        if self.given_up:
            state = f"given up, exit {p.exitcode}"
        elif self.restart_at is not None:
            state = f"exit {p.exitcode}, restarting"
        lines = []
        for s in self.streams:
            restarted = self.restarts.count
            if isinstance(p, FrontendGroupProcess):
                counters, restarted = p.counters[s.id], restarted + p.restarts[s.id].value
                camera = ", camera given up" if p.given_up[s.id].is_set() else ""
            else:
                counters, camera = p.counters, ""
            times = f", restarted {restarted}x" if restarted else ""
            lines.append(f"{s.id} ({state}{camera}{times}): {counters.snapshot()}")
        return lines

    def start(self, cfg: FrontendConfig, level: int) -> None:
        log_format = cfg.logging.format
        self.process = (
            FrontendGroupProcess(self.streams, cfg.bus, cfg.supervisor, pose_threads=cfg.pose_threads,
                                 log_level=level, log_format=log_format, progress=self.progress)
            if self.packed
            else FrontendProcess(self.streams[0], cfg.bus, log_level=level, log_format=log_format,
                                 progress=self.progress[self.streams[0].id])
        )  # fmt: skip
        self.process.start()
        self.started_at, self.restart_at = time.monotonic(), None
        log.info("started %s (pid %s)", self.name, self.process.pid)

    def tend(self, now: float, cfg: FrontendConfig, level: int) -> None:
        """Release a finished process's queue, note a failure, restart a failed process when due."""
        p = self.process
        if self.done or p is None:
            return
        if self.restart_at is not None:
            if now >= self.restart_at:
                self.start(cfg, level)
            return
        if p.finished_event.is_set():
            # A remote worker cannot say when it has read a finished stream's queue: give it a moment
            # before the socket closes.
            self.finished_at = self.finished_at if self.finished_at is not None else now
            if now - self.finished_at >= REMOTE_FLUSH_S:
                p.release_event.set()
        if p.is_alive():
            self.restarts.running(self.started_at, now)
            return
        if p.exitcode == 0:
            self.finished = True
            return
        wait = self.restarts.failed(now)
        if wait is None:
            self.given_up = True
            policy = self.restarts.policy
            log.error("%s failed %d times within %.0f s (last exit code %s); giving it up (the others go "
                      "on)", self.name, len(self.restarts.failures), policy.give_up_window_s,
                      p.exitcode)  # fmt: skip
            return
        self.restart_at = now + wait
        # Exit code 1: the stream logged why as an ERROR; one ERROR per failure (as haad run's daemon).
        level = logging.WARNING if p.exitcode == 1 else logging.ERROR
        log.log(level, "%s exited with code %s; restarting in %.1f s", self.name, p.exitcode, wait)


def _person_choice(values: list[str] | None) -> list[str] | None:
    """``--person``: first, longest or all alone, or one or more person ids (whole numbers); None
    (not given): first."""
    if not values or values in (["first"], ["longest"], ["all"]) or all(v.isdigit() for v in values):
        return values
    raise typer.BadParameter(
        f"{' '.join(values)!r}: give first, longest or all (alone), or person ids (whole numbers)"
    )


def _chosen_people(recording: Recording, person: list[str] | None) -> list[int]:
    """The ids ``--person`` picks from ``recording``'s people (someone was seen); exits with code 1
    naming the ids seen when one asked for is not among them."""
    people = recording.people
    if not person or person == ["first"]:
        return people[:1]
    if person == ["all"]:
        return people
    if person == ["longest"]:
        return [max(people, key=lambda pid: sum(pid in f.person_ids for f in recording.frames))]
    ids = list(dict.fromkeys(int(p) for p in person))
    if missing := [pid for pid in ids if pid not in recording.people]:
        # nothing is written rather than a file short of a person: the ids seen say what to ask for
        typer.echo(f"error: no person {missing} in the recording; people seen: {recording.people}", err=True)
        raise typer.Exit(1)
    return ids


@app.command("record")
def record_cmd(
    config: RecordConfigArg,
    out: Annotated[Path, typer.Option(help="Clip-set .npz to write (a clip per person recorded).")],
    stream: Annotated[str | None, typer.Option(help="Stream id in the config; default: the first.")] = None,
    label: Annotated[str, typer.Option(help="Behaviour label of the clip.")] = "normal",
    subject: Annotated[str, typer.Option(help="Who performs in it.")] = "subject0",
    max_seconds: Annotated[
        float | None,
        typer.Option(
            min=0.1,
            help="Stop after this much source time. A camera or URL is also held to it in wall time, "
            "from the start until its first frame, then from that frame: one that never opens ends "
            "with an error, nothing written.",
        ),
    ] = None,
    person: Annotated[
        list[str] | None,
        typer.Option(
            callback=_person_choice,
            help="Of several people (estimator.people, a replay of several): first (the first one seen), "
            "longest (the one in view in the most frames: the performer in a busy scene), all (a clip "
            "each), or a person id (again for more: a clip each).",
        ),
    ] = None,
) -> None:
    """Run one stream's source through pose estimation here and save the skeletons as a clip-set file."""
    from clips import Clip
    from clips.files import save_clipset_file
    from pose_frontend.record import RecordError, record_stream

    streams = _streams_to_record(config)
    chosen: list[StreamConfig] = [s for s in streams if stream is None or s.id == stream]
    if not chosen:
        typer.echo(f"no stream {stream!r} in {config}; streams: {[s.id for s in streams]}", err=True)
        raise typer.Exit(2)
    # Found after a live recording, a file that cannot be written would lose it.
    problem = (
        "a clip-set file's name ends in .npz" if out.suffix != ".npz"
        else "it is a folder" if out.is_dir()
        else f"no folder {out.parent}" if not out.parent.is_dir()
        else None
    )  # fmt: skip
    if problem:
        typer.echo(f"--out {out}: {problem}", err=True)
        raise typer.Exit(2)
    stop = threading.Event()
    stop_on_signals(stop.set, signal.SIGINT, signal.SIGTERM)  # Ctrl-C or kill end the recording, keeping it
    started = time.monotonic()
    try:
        with logging_set_up(logging.INFO, "text"):  # as a frontend process logs
            recording = record_stream(chosen[0], max_seconds=max_seconds, stop=stop)
    except RecordError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(1) from None
    times = recording.times
    if len(times) == 0:  # stopped (Ctrl-C) before the source gave a frame: a camera down, say
        failed = recording.counters.snapshot()["failed_opens"]
        tried = f" ({failed} failed attempt{'' if failed == 1 else 's'} to open its source)" if failed else ""
        typer.echo(
            f"error: no frame was recorded from stream {chosen[0].id}{tried}: nothing written", err=True
        )
        raise typer.Exit(1)
    if not recording.people:
        # a file of no skeleton is refused by haad enroll, later: say it while they are at the camera
        typer.echo(f"error: nobody was seen in the {len(times)} frames of stream {chosen[0].id}: nothing "
                   "written", err=True)  # fmt: skip
        raise typer.Exit(1)
    ids = _chosen_people(recording, person)
    # One clip per person: several people's skeletons spliced into one would be enrolled as one
    # person's motion. Named by id when there are several, so that each is told apart.
    clips = []
    for pid in ids:
        # with each joint's visibility: haad enroll leaves out the frames the worker would count missing
        joints, visibility = recording.of(pid)
        suffix = f":person{pid}" if len(ids) > 1 else ""
        clips.append(Clip(joints=joints, times=times, label=label, subject=f"{subject}{suffix}",
                          name=f"{chosen[0].id}:{label}{suffix}", visibility=visibility))  # fmt: skip
    # Written beside it, then renamed over it: a write that fails (a full disk) leaves an earlier
    # recording of that name whole, never half replaced; the last line says one was replaced.
    replaced = out.exists()
    partial = out.with_name(f".{out.stem}.{os.getpid()}.partial.npz")
    try:
        save_clipset_file(partial, clips)
        partial.replace(out)
    except OSError as e:
        partial.unlink(missing_ok=True)
        typer.echo(f"error: cannot write {out}: {e.strerror}", err=True)
        raise typer.Exit(1) from None
    # Which stream (the first, without --stream) and how much of it holds each person recorded: a
    # crowd's first person seen may be in view for a part of it only, the rest gaps enrolment skips.
    seen = [int(np.isfinite(c.joints).any(axis=(1, 2)).sum()) for c in clips]
    held = (
        f"the person recorded in {seen[0]} of them"
        if len(clips) == 1
        else f"{len(clips)} people, one clip each, in view in " + ", ".join(
            f"{n} (person {pid})" for pid, n in zip(ids, seen, strict=True)
        )
    )  # fmt: skip
    typer.echo(
        f"wrote {out}{' (replacing the recording there)' if replaced else ''}: stream {chosen[0].id}, "
        f"{len(times)} frames, {held}, {times[-1] - times[0]:.1f} s of source time in "
        f"{time.monotonic() - started:.1f} s; {recording.counters.snapshot()}"
    )
    if len(clips) == 1 and len(recording.people) > 1:
        # first or longest picked one of several: which, and the ids --person takes for the others
        typer.echo(f"kept person {ids[0]} of the people seen {recording.people}; --person ID (or all) "
                   "records another")  # fmt: skip


@app.command("motions")
def motions_cmd() -> None:
    """List the motions of the synthetic performer (for the script of a kind: synthetic source)."""
    for name in MOTIONS:
        typer.echo(f"{name}{'  (abnormal)' if name in ABNORMAL_MOTIONS else ''}")
