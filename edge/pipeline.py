"""Frames in, alert events out: the worker's scoring path, free of processes and sockets.

frame -> :class:`~edge.window.StreamWindow` (one per watched person: camera stream and person track)
-> :class:`~edge.window.WindowBatcher` (all of them) -> one encoder call per batch -> distance to each profile's nearest behaviour
(:class:`~edge.scoring.Scorer`) -> :class:`~edge.episodes.EpisodeTracker`.

The worker process feeds it decoded bus frames; ``haad bench worker`` and ``haad eval stream`` feed
it recorded ones, so all three measure the same code.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from bus.messages import MAX_PEOPLE, SkeletonFrame, Watched
from config.worker import WorkerConfig
from edge import vigour
from edge.backends import EncoderBackend
from edge.backends.raw_dct import RawDctBackend
from edge.episodes import CloseReason, EpisodeEvent, EpisodeTracker
from edge.profiles import Profile
from edge.scoring import Scorer, behaviour_names
from edge.segments import min_segment_frames
from edge.short_scale import fuse, kinematic_weight, live_crops, short_embeddings, short_profile
from edge.window import ReadyWindow, StreamWindow, WindowBatch, WindowBatcher, WindowReset

SCORING_STAGES = ("normalise", "embed", "score", "episodes")
_ONLY_PERSON_0 = frozenset({0})
FINISHED = "finished"  # a segment ended because its stream is done (not a reset)
RENUMBERED = "renumbered"  # its frontend gives person ids from 1 again: the person is someone else now
# People with a window, per stream. A window outlives its person by max_gap_s of source time, so a
# real camera holds a frame's people (at most MAX_PEOPLE) and the few who just left; a stream whose
# clock stands still while its ids change every frame would otherwise add windows without end, and
# every frame walks them all.
MAX_PEOPLE_PER_STREAM = 4 * MAX_PEOPLE
_CLOSE_REASONS: dict[str, CloseReason] = {FINISHED: "shutdown", RENUMBERED: "restart"}


@dataclass(frozen=True, eq=False)
class ScoredBatch:
    """What one encoder call produced: windows, their ``(B, P)`` scores, and the episode events."""

    windows: tuple[ReadyWindow, ...]
    profiles: tuple[str, ...]
    scores: np.ndarray
    events: list[EpisodeEvent]
    seconds: float = 0.0  # normalise + encoder + scores + episodes
    # (B, P) the short scale's score / its threshold, raised by vigour (edge/vigour.py) (None: off)
    crops: np.ndarray | None = None
    full: np.ndarray | None = None  # (B, P) with crops: the windows' own score / threshold, unfused
    kinematic: np.ndarray | None = None  # (B, P) the crops' raw-DCT score / its threshold (None: off)


@dataclass
class _Rows:
    """A batch's ``(B, P)`` scores and what made them (ScoredBatch's fields)."""

    scores: np.ndarray
    crops: np.ndarray | None = None
    full: np.ndarray | None = None
    kinematic: np.ndarray | None = None
    crop_decides: np.ndarray | None = None  # where the last second's ratio, not the window's, decided
    # (B, P) the nearest behaviour of each (Scorer.behaviours index; -1: not scored by the encoder)
    nearest: np.ndarray | None = None


@dataclass
class PipelineStats:
    frames: Counter[str] = field(default_factory=Counter)  # per stream
    windows: Counter[Watched] = field(default_factory=Counter)  # scored, per person not retired
    windows_scored: int = 0
    short_windows: int = 0  # scored windows made from segments shorter than a window
    growing_windows: int = 0  # windows of growing segments, measured by vigour alone (edge/vigour.py)
    crops_scored: int = 0  # the short scale's windows (each window's last short_window_s), scored
    batches: int = 0
    stage_s: dict[str, float] = field(default_factory=lambda: dict.fromkeys(SCORING_STAGES, 0.0))


class Pipeline:
    """Windows, batching, scoring and episodes for any number of streams and profiles.

    ``stream_profiles`` maps a stream id to the profile names that apply to it; a stream not in the
    map is scored against every loaded profile. A stream with several profiles is normal while its
    window is normal for any one of them. ``extra``: behaviours one stream adds to a profile (a
    camera's overlay, edge/overlays.py). Profiles can be swapped at any time (:meth:`set_profiles`);
    open episodes of profiles that disappear are closed.

    ``kinematic``: also score every crop by the kinematic score (``ScoredBatch.kinematic``), when
    ``cfg.kinematic_fusion`` is on. Only the per-moment score of ``haad eval stream`` reads it;
    alerts and stored scores do not (docs/experiments/2026-12-06-say-when-5.md), so the daemon
    leaves it off and spends nothing on it.
    """

    def __init__(
        self,
        cfg: WorkerConfig,
        backend: EncoderBackend,
        profiles: Sequence[Profile] = (),
        *,
        stream_profiles: Mapping[str, Sequence[str]] | None = None,
        extra: Mapping[tuple[str, str], Profile] | None = None,
        clock: Callable[[], float] = time.monotonic,
        kinematic: bool = False,
    ) -> None:
        self.cfg = cfg
        self.backend = backend
        self.spec = backend.spec
        self.clock = clock
        self.stream_profiles = {k: tuple(v) for k, v in (stream_profiles or {}).items()}
        self.batcher = WindowBatcher(
            self.spec,
            max_batch=cfg.max_batch,
            max_wait_s=cfg.batch_timeout_s,
            max_pending=cfg.max_pending_windows,
        )
        self.tracker = EpisodeTracker(cfg.episodes)
        self.windows: dict[Watched, StreamWindow] = {}
        # Person 0's window of each stream, also in ``windows`` (never retired): looked up per frame.
        self._person_0: dict[str, StreamWindow] = {}
        self.people: dict[str, set[int]] = {}  # stream -> the people it has windows for
        self.retired: dict[Watched, int] = {}  # a person who left -> their window's last segment
        self.retired_resets: Counter[str] = Counter()  # the resets of retired windows, by reason
        self.last_frame_at: dict[str, float] = {}  # per stream
        self.people_since: dict[str, float] = {}  # per stream: since when its frontend numbers people
        self._left_open_closed: list[EpisodeEvent] = []  # episodes of a previous worker, closed on a frame
        self.people_refused = 0  # people left out of frames of a stream at MAX_PEOPLE_PER_STREAM
        self.stats = PipelineStats()
        self._pending_resets: list[WindowReset] = []
        self.scorer: Scorer | None = None
        self.short_scorer: Scorer | None = None  # the short scale's (edge/short_scale.py), when on
        self.kinematic_scorer: Scorer | None = None  # the crops' raw-DCT score, when on
        self.kinematic_weights = np.zeros(0)  # (P,) its weight in a moment's score (kinematic_weight)
        # the kinematic score's backend, only where asked for (None: the term is off)
        self._kinematic = RawDctBackend(backend.spec) if kinematic and cfg.kinematic_fusion else None
        self.set_profiles(profiles, extra)

    # --- configuration ---------------------------------------------------------------------------

    def set_profiles(
        self,
        profiles: Sequence[Profile],
        extra: Mapping[tuple[str, str], Profile] | None = None,
    ) -> list[EpisodeEvent]:
        """Score against ``profiles`` (and per-stream ``extra`` behaviours: ``{(stream, profile name):
        overlay}``, whose windows :class:`Scorer` takes one by one) from now on (e.g. a new version of
        one). When the set of names changes, the profile groups of streams change too: every open
        episode is closed."""
        old = set(self.profile_names)
        extra = extra or {}
        reach = self.cfg.feedback_reach
        self.scorer = (
            Scorer(
                profiles,
                {k: o.embeddings for k, o in extra.items()},
                feedback_reach=reach,
                extra_names={k: behaviour_names(o, o.behaviour_ids) for k, o in extra.items()},
            )
            if profiles
            else None
        )
        self._set_vigour(profiles, extra)
        seconds = self.cfg.short_window_s
        self.short_scorer = self.kinematic_scorer = None
        self.kinematic_weights = np.zeros(len(profiles))
        if profiles and seconds > 0:  # the overlays' windows are cropped like the profiles' support
            short = [short_profile(p, self.backend, self.cfg.calibration, seconds) for p in profiles]
            crops = {k: short_embeddings(o.windows, self.backend, seconds) for k, o in extra.items()}
            self.short_scorer = Scorer(short, crops, feedback_reach=reach)
            self._set_kinematic(profiles, short, extra)
        return self.tracker.close_all() if set(self.profile_names) != old else []

    def _set_vigour(self, profiles: Sequence[Profile], extra: Mapping[tuple[str, str], Profile]) -> None:
        """Each profile's vigour reference (edge/vigour.py), and the larger one of each camera whose
        overlay marked more vigorous windows normal."""
        self.vigour_references = np.array([vigour.reference(p, self.spec) for p in profiles], np.float64)
        column = {p.name: c for c, p in enumerate(profiles)}
        self._vigour_by_stream: dict[str, np.ndarray] = {}  # a camera with an overlay: its references
        for (stream, name), overlay in extra.items():
            if name in column:
                row = self._vigour_by_stream.setdefault(stream, self.vigour_references.copy())
                c = column[name]
                row[c] = max(row[c], vigour.reference(overlay, self.spec, overlay=True))

    def _vigour_ratios(self, windows: np.ndarray, items: Sequence[ReadyWindow]) -> np.ndarray | None:
        """``(B, P)`` each window's last second's vigour over ``vigour_factor`` times its profile's
        (and camera's) reference; None when vigour is off or no profile has a reference."""
        factor = self.cfg.vigour_factor
        if factor <= 0 or not np.isfinite(self.vigour_references).any():
            return None
        span = np.array([w.t_end - w.t_start for w in items])
        dt = np.where(
            [w.segment_frames is None for w in items], 1.0 / self.spec.fps, span / (self.spec.frames - 1)
        )
        by_stream, base = self._vigour_by_stream, self.vigour_references
        refs = np.stack([by_stream.get(w.stream_id, base) for w in items]) if by_stream else base[None, :]
        return vigour.ratios(vigour.last_second(windows, dt), refs, factor)

    def _set_kinematic(
        self, profiles: Sequence[Profile], short: Sequence[Profile], extra: Mapping[tuple[str, str], Profile]
    ) -> None:
        """The crops' kinematic scorer (the raw-DCT scorer on the support cropped alike, its own
        threshold) and its weight per profile, unless not asked for or the encoder is that scorer already."""
        kin = self._kinematic
        if kin is None or isinstance(self.backend, RawDctBackend):
            return
        seconds = self.cfg.short_window_s
        at_scale = [short_profile(p, kin, self.cfg.calibration, seconds) for p in profiles]
        crops = {k: short_embeddings(o.windows, kin, seconds) for k, o in extra.items()}
        self.kinematic_scorer = Scorer(at_scale, crops, feedback_reach=self.cfg.feedback_reach)
        self.kinematic_weights = np.array(
            [kinematic_weight(e, k, self.cfg.kinematic_floor) for e, k in zip(short, at_scale, strict=True)]
        )

    @property
    def profile_names(self) -> tuple[str, ...]:
        return self.scorer.names if self.scorer else ()

    # --- input -------------------------------------------------------------------------------------

    def push(self, frame: SkeletonFrame) -> None:
        """Add one decoded frame; windows it completes are queued for the next batch.

        Each person in the frame feeds their own window; a person with a window who is not in the
        frame feeds it "no person", so their segment ends (``person_left``) after ``max_gap_s``
        and their episodes close. A tracked person whose window has ended while they are away (not
        just missing from the first frames after a hole in the stream: edge/window.py) is retired (a
        long-running camera sees many people); person 0, the single-person frontend's, never is.
        New people beyond :data:`MAX_PEOPLE_PER_STREAM` windows of a stream are left out
        (``people_refused``) until some have retired."""
        now = self.clock()
        sid = frame.stream_id
        self.last_frame_at[sid] = now
        self.stats.frames[sid] += 1
        if frame.people_since and frame.people_since != self.people_since.get(sid):
            self._renumbered(sid, frame.people_since, now)
        known = self.people.get(sid, _ONLY_PERSON_0)
        if frame.person_id == 0 and not frame.others and known <= _ONLY_PERSON_0:
            # A single-person frontend's frame (every frame of most cameras): the loop below, short.
            window = self._person_0.get(sid) or self._new_window(Watched(sid, 0))
            if ready := window.push(frame):
                self.batcher.add(ready, now)
            return
        known = self.people.setdefault(sid, set())
        if self.tracker.awaiting_newcomers(sid):  # who is who after a renumbering: where each came in
            for p in frame.people:
                self.tracker.newcomer(Watched(sid, p.person_id), p.box)
        present = set(frame.person_ids)
        everyone = known | present
        if len(everyone) > MAX_PEOPLE_PER_STREAM:
            refused = sorted(present - known)[max(0, MAX_PEOPLE_PER_STREAM - len(known)) :]
            self.people_refused += len(refused)
            present.difference_update(refused)
            everyone.difference_update(refused)
        for person in sorted(everyone) or [0]:
            who = Watched(sid, person)
            window = self.windows.get(who) or self._new_window(who)
            ready = window.push(frame.of(person))
            if ready and frame.others:  # who else was in view: the review page draws them
                others = tuple((p.person_id, p.box) for p in frame.people if p.person_id != person and p.box)
                ready = [replace(w, others=others) for w in ready]
            self.batcher.add(ready, now)
            if person not in present and person != 0 and not window.active and not window.awaiting_return:
                self.retired[who] = window.segment
                self.retired_resets.update(window.resets)
                del self.windows[who]
                known.discard(person)

    def _new_window(self, who: Watched) -> StreamWindow:
        window = self.windows[who] = StreamWindow(
            self.spec,
            stride=self.cfg.stride,
            max_gap_s=self.cfg.max_gap_s,
            min_visibility=self.cfg.min_visibility,
            min_frames=min_segment_frames(self.spec, self.cfg.min_segment_s),
            on_reset=self._pending_resets.append,
            growing=self.cfg.vigour_factor > 0,
        )
        # Segment numbers go on where a person's earlier window stopped (a restarted frontend's ids
        # start again), so the episode tracker never takes the new windows for late ones.
        window.segment = self.retired.pop(who, 0)
        self.people.setdefault(who.stream_id, set()).add(who.person)
        if who.person == 0:
            self._person_0[who.stream_id] = window
        return window

    def _renumbered(self, sid: str, since: float, now: float) -> None:
        """``sid``'s frontend gives person ids from 1 again (a new run of it): its tracked people's
        open episodes, also those a previous worker left open from before then, go to the newcomer
        plainly standing where their person was (edge/successor.py), or close (``restart``), never
        going on with whoever has their id now. Person 0, a one-person camera's, goes on."""
        deadline = now + self.cfg.episodes.resume_within_s
        self._left_open_closed += self.tracker.numbered_since(sid, since, deadline)
        if sid in self.people_since:
            for person in sorted(self.people.get(sid, set()) - {0}):
                who = Watched(sid, person)
                window = self.windows.pop(who)
                box = window.recent_box  # (finishing the window lets its boxes go)
                self.batcher.add(window.finish(), now)  # the last windows of the one who had the id
                self._pending_resets.append(
                    WindowReset(sid, window.segment, RENUMBERED, window.last_t, person)
                )
                self.retired[who] = window.segment
                self.retired_resets.update(window.resets)
                self.people[sid].discard(person)
                self.tracker.handed_on(who, window.segment, box)
        self.people_since[sid] = since

    def reset_stale(self) -> None:
        """Stall the streams that sent nothing for ``stale_after_s`` (a camera that went away, or a
        frontend being restarted): their segments end, their episodes stay open until the next frame
        shows whether it goes on where they stopped (``StreamWindow.stall``), at most
        ``episodes.resume_within_s`` after the last frame (a camera that is gone)."""
        now = self.clock()
        give_up_s = max(self.cfg.stale_after_s, self.cfg.episodes.resume_within_s)
        for who, window in self.windows.items():
            silent_s = now - self.last_frame_at.get(who.stream_id, now)
            if window.active and silent_s > self.cfg.stale_after_s:
                self.batcher.add(window.stall(), now)
            if window.stalled and silent_s > give_up_s:
                window.let_go()

    def finish_streams(self) -> None:
        """End every stream's segment (the streams are done): windows of segments that ended short
        are queued, and their episodes close (reason ``shutdown``) once those are scored."""
        now = self.clock()
        for who, window in self.windows.items():
            if window.active:
                self.batcher.add(window.finish(), now)
                self._pending_resets.append(
                    WindowReset(who.stream_id, window.segment, FINISHED, window.last_t, who.person)
                )

    def report(self) -> dict[str, Any]:
        """What was scored, per watched person (JSON-ready; ``cam`` for person 0, ``cam#3`` for
        person 3; retired people are not listed): frames of the stream, windows, segments by outcome
        (``too_short`` / ``short`` / ``full``; an active segment is not counted yet), the longest
        ended segment's seconds of skeleton, and the rule's minimum."""
        return {
            "windows_scored": self.stats.windows_scored,
            "short_windows": self.stats.short_windows,
            "min_segment_s": self.cfg.min_segment_s,
            "streams": {
                str(who): {
                    "frames": self.stats.frames[who.stream_id],
                    "windows": self.stats.windows[who],
                    "segments": dict(w.segments),
                    "longest_segment_s": w.longest_s,
                    "skeleton_s": w.skeleton_s,
                }
                for who, w in sorted(self.windows.items())
            },
        }

    # --- scoring -----------------------------------------------------------------------------------

    def wait_s(self) -> float | None:
        """Seconds until a batch is due (0: now; None: nothing queued): the loop's poll timeout."""
        return self.batcher.wait_s(self.clock())

    def run_due(self, *, flush: bool = False) -> list[ScoredBatch]:
        """Score every batch that is due (all queued windows when ``flush``), oldest first."""
        done: list[ScoredBatch] = []
        while self.batcher.due(self.clock()) or (flush and len(self.batcher)):
            done.append(self._score_batch())
        if self._pending_resets or self._left_open_closed:
            # Closes caused by stream resets come as a batch without windows.
            closed, self._left_open_closed = self._left_open_closed, []
            done.append(
                ScoredBatch(
                    (),
                    self.profile_names,
                    np.zeros((0, len(self.profile_names)), np.float32),
                    closed + self._end_segments(),
                )
            )
        return done

    def close_all(self) -> list[EpisodeEvent]:
        """End every stream's segment, score what is queued, then close every open episode (shutdown)."""
        self.finish_streams()
        events = [e for b in self.run_due(flush=True) for e in b.events]
        return events + self.tracker.close_all()

    def _score_batch(self) -> ScoredBatch:
        stage = self.stats.stage_s
        t0 = time.perf_counter()
        batch = self.batcher.take()
        assert batch is not None
        growing = np.array([w.growing for w in batch.items], bool)
        items, windows = batch.items, batch.windows
        if growing.any():  # growing windows are measured apart (no encoder rows): no copy otherwise
            items, windows = tuple(w for w in items if not w.growing), windows[~growing]
        n = len(items)
        cropped = None
        if self.short_scorer is not None and n:  # the short scale's crops: as many encoder rows again
            crop_s = self.cfg.short_window_s
            cropped = live_crops(windows, [w.segment_frames for w in items], crop_s, self.spec)
        t1 = time.perf_counter()
        names = self.profile_names
        rows = _Rows(np.zeros((n, len(names)), np.float32))
        events: list[EpisodeEvent] = []
        t2 = t3 = t1
        if self.scorer is not None:
            if n:
                # Two calls, not one of both concatenated: the backend runs a batch in runs of its own size.
                emb = self.backend.embed(windows)
                crop_emb = None if cropped is None else self.backend.embed(cropped)
                t2 = time.perf_counter()
                rows = self._scored(emb, crop_emb, windows, items, cropped)
            elif self.short_scorer is not None:  # growing windows only: the fields they fill
                empty = np.zeros((0, len(names)), np.float32)
                kinematic = (
                    empty if self.kinematic_scorer is not None and self._kinematic is not None else None
                )
                rows = _Rows(empty, empty, empty, kinematic, np.zeros((0, len(names)), bool))
            if growing.any():
                items, rows = self._with_growing(batch, growing, rows)
            t3 = time.perf_counter()
            short_hot = None if rows.crops is None else rows.crops > 1.0
            events = self._update_episodes(
                items, names, rows.scores, self.scorer.thresholds, short_hot,
                crop_decides=rows.crop_decides, nearest=rows.nearest,
            )  # fmt: skip
        t4 = time.perf_counter()
        for name, dt in zip(SCORING_STAGES, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
            stage[name] += dt
        self.stats.windows_scored += n
        self.stats.growing_windows += int(growing.sum())
        self.stats.crops_scored += 0 if cropped is None else len(cropped)
        self.stats.windows.update(w.who for w in items)
        self.stats.short_windows += sum(w.segment_frames is not None and not w.growing for w in items)
        self.stats.batches += 1
        return ScoredBatch(items, names, rows.scores, events, t4 - t0, rows.crops, rows.full, rows.kinematic)

    def _scored(
        self,
        emb: np.ndarray,
        crop_emb: np.ndarray | None,
        windows: np.ndarray,
        items: Sequence[ReadyWindow],
        cropped: np.ndarray | None,
    ) -> _Rows:
        """The encoder-scored windows' scores: whole, fused with their last second's (raised by
        vigour), and the kinematic score where asked for."""
        assert self.scorer is not None
        thresholds = self.scorer.thresholds
        streams = [w.stream_id for w in items]
        scores, nearest = self.scorer.score_nearest(emb, streams)
        vig = self._vigour_ratios(windows, items)
        rows = _Rows(scores, nearest=nearest)
        if crop_emb is not None:
            rows.full = scores / thresholds
            rows.scores, rows.crops = self._with_short_scale(scores, crop_emb, streams, vig)
            rows.crop_decides = rows.crops > rows.full
        elif vig is not None:  # no short scale: the window's own ratio is raised
            rows.scores = vigour.hinge(scores / thresholds, vig) * thresholds
        if self.kinematic_scorer is not None and self._kinematic is not None and cropped is not None:
            kin = self.kinematic_scorer.score(self._kinematic.embed(cropped), streams)
            rows.kinematic = kin / self.kinematic_scorer.thresholds
        return rows

    def _with_growing(
        self, batch: WindowBatch, growing: np.ndarray, encoded: _Rows
    ) -> tuple[tuple[ReadyWindow, ...], _Rows]:
        """The batch's encoder-scored windows with its growing ones (ReadyWindow.growing) merged back in
        order: those whose last second is over its vigour threshold for some profile, scored by that
        ratio alone (0 for the others; no whole-window or kinematic score: NaN); the rest are dropped,
        their segment is still judged at its end. Their last second decides where the action is."""
        assert self.scorer is not None
        at = np.flatnonzero(growing)
        ratios = self._vigour_ratios(batch.windows[growing], [batch.items[i] for i in at])
        hot = np.zeros(len(at), bool) if ratios is None else (ratios > 1.0).any(axis=1)
        kept = np.concatenate([np.flatnonzero(~growing), at[hot]])
        order = np.argsort(kept, kind="stable")
        ratio = np.zeros((int(hot.sum()), len(self.scorer.thresholds)), np.float32)
        if ratios is not None:
            ratio = np.where(ratios[hot] > 1.0, ratios[hot], 0.0).astype(np.float32)
        nan = np.full_like(ratio, np.nan)

        def merged(mine: np.ndarray | None, theirs: np.ndarray) -> np.ndarray | None:
            return None if mine is None else np.concatenate([mine, theirs])[order]

        rows = _Rows(
            np.concatenate([encoded.scores, ratio * self.scorer.thresholds])[order],
            merged(encoded.crops, ratio),
            merged(encoded.full, nan),
            merged(encoded.kinematic, nan),
            merged(encoded.crop_decides, np.ones(ratio.shape, bool)),
            merged(encoded.nearest, np.full(ratio.shape, -1)),
        )
        return tuple(batch.items[i] for i in kept[order]), rows

    def _with_short_scale(
        self,
        scores: np.ndarray,
        crop_embeddings: np.ndarray,
        streams: Sequence[str],
        vigour_ratios: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Windows' scores fused with those of their last ``short_window_s`` (edge/short_scale.py), and
        ``(B, P)`` those crops' scores divided by their threshold, raised where the window's last second
        is over its vigour threshold (edge/vigour.py)."""
        assert self.scorer is not None and self.short_scorer is not None
        short = self.short_scorer.score(crop_embeddings, streams) / self.short_scorer.thresholds
        if vigour_ratios is not None:
            short = vigour.hinge(short, vigour_ratios)
        fused = fuse(scores, short, self.scorer.thresholds, np.ones_like(self.short_scorer.thresholds))
        return fused, short

    def _update_episodes(
        self,
        items: Sequence[ReadyWindow],
        names: Sequence[str],
        scores: np.ndarray,
        thresholds: np.ndarray,
        short_hot: np.ndarray | None = None,
        *,
        crop_decides: np.ndarray | None = None,
        nearest: np.ndarray | None = None,
    ) -> list[EpisodeEvent]:
        """Feed the tracker. A stream's profiles are alternatives: its window is abnormal only when
        it is abnormal for every one of them. With one profile the episode carries that profile's
        score and threshold; with several it is keyed ``a+b`` and carries the smallest
        score-to-threshold ratio against a threshold of 1.0. With the short scale on (``short_hot``:
        where a window's last ``short_window_s`` is over its threshold), a window whose crop is hot
        (for every profile) says it saw the action at the middle of that crop. ``crop_decides``: where
        the crop's ratio, not the window's, made the fused score; the score is then about the crop's
        moment, and the episode's timeline puts it there rather than at the window's middle.
        ``nearest``: which behaviour (:attr:`Scorer.behaviours`) each window was nearest, per profile;
        the episode's is that of the profile whose score it carries."""
        events: list[EpisodeEvent] = []
        index = {n: i for i, n in enumerate(names)}
        crop_s = self.cfg.short_window_s
        labels = self.scorer.behaviours if self.scorer is not None else ()
        for b, w in enumerate(items):
            wanted = self.stream_profiles.get(w.stream_id)
            cols = list(range(len(names))) if wanted is None else [index[n] for n in wanted if n in index]
            if not cols:
                continue
            # a short segment's windows are spanned whole (Episode.action_span); a growing one's last
            # second is what it was scored by
            crop_at = None
            if w.segment_frames is None or w.growing:
                crop_at = w.t_end - (vigour.SECOND_S if w.growing else crop_s) / 2
            at = crop_at if short_hot is not None and short_hot[b, cols].all() else None
            if len(cols) == 1:
                c = cols[0]
                name, score, threshold = names[c], float(scores[b, c]), float(thresholds[c])
            else:  # the smallest ratio is the episode's (NaN if any score is NaN: the tracker drops it)
                ratios = scores[b, cols] / thresholds[cols]
                c = cols[int(np.argmin(ratios))]
                name, score, threshold = "+".join(names[i] for i in cols), float(np.min(ratios)), 1.0
            moment = crop_at if crop_decides is not None and crop_decides[b, c] else None
            near = None if nearest is None or nearest[b, c] < 0 else labels[nearest[b, c]]
            events += self.tracker.update(w, name, score, threshold, at, moment=moment, nearest=near)
        return events

    def _end_segments(self) -> list[EpisodeEvent]:
        """Close episodes of ended segments once none of their windows waits in the batcher."""
        queued = {(w.who, w.segment) for w in self.batcher.queued()}
        hole_deadline = self.clock() + self.cfg.episodes.resume_within_s
        events: list[EpisodeEvent] = []
        still = []
        left = set()
        for r in self._pending_resets:
            if (r.who, r.segment) in queued:
                still.append(r)
            else:
                reason: CloseReason = _CLOSE_REASONS.get(r.reason, "reset")
                events += self.tracker.end_segment(
                    r.who, r.segment, reason, hole_s=r.hole_s, deadline=hole_deadline
                )
                if r.who in self.retired:  # the person left: their episodes are closed now
                    left.add(r.who)
        # Once nothing of theirs waits, nothing of a person who left is kept: a camera sees people
        # by the thousand. Should their id come back, their windows start again from segment 1.
        for who in left - {r.who for r in still}:
            self.tracker.forget(who)
            del self.retired[who]
            self.stats.windows.pop(who, None)
        self._pending_resets[:] = still  # in place: every window reports its resets to this list
        return events
