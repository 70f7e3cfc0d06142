"""Alert episodes: hysteresis over per-window scores, one state machine per (watched person, profile).

A watched person is a camera stream and a person track in it (:class:`bus.messages.Watched`); a
person who leaves ends their window's segment (edge/window.py: ``person_left``), which closes their
episodes like any reset; "stream" below means that person's windows.

Rules (``config.worker.EpisodeConfig``; all times are source seconds of the windows):

* a window is *hot* when its score is above the profile's threshold; NaN scores are counted in
  ``counts["nan_scores"]`` and otherwise ignored (they are neither hot nor cold);
* an episode **opens** when ``open_k`` of the last ``open_n`` windows are hot; it starts at the first
  hot window among them;
* it **closes** after ``close_after_windows`` consecutive cold windows, or once ``close_after_s`` have
  passed since its last hot window, or when its stream's segment ends (a reset: person left, ...);
  it ends at its last hot window;
* a segment ended by a *hole* in its stream (no frame for over ``max_gap_s``, then frames again within
  ``resume_within_s``: a camera's outage, a live frontend restarted; edge/window.py) does not close it
  at once: it waits for the person's next windows, which go on with it under the same rule, counted
  from the first of them (hot in time: one alert over the hole; cold: it closes, ending at its last
  hot window before the hole). It closes as at a reset if the person is not back, or not seen
  ``max_gap_s`` after their stream is, or no window of theirs came ``resume_within_s`` (wall clock)
  after the hole ended (:meth:`EpisodeTracker.expire`); a tracked person's closes at the hole where
  their stream's frames do not say when its frontend began numbering people (older than schema 3:
  the hole may be its restart, the id someone else's after it);
* while it is open, a hot window at least ``update_every_s`` after its last event brings its row up
  to date (event ``updated``), so a worker that dies loses at most that much of it; the next worker's
  windows go on with the episode it left open as after a hole, the closing rule counted from the first;
* a segment that ends having given fewer than ``open_k`` windows (a person in view for a second or
  two: edge/segments.py), every one of them hot, opens an episode that closes with the segment: the
  k-of-n rule could never hold for it, so it must be unanimous instead;
* after a close, no episode opens for that (stream, profile) until ``cooldown_s`` after the window that
  closed it; hot windows in that time are counted as ``suppressed`` and do not count towards the next
  episode. With ``cooldown_hot_run`` n > 0 an episode opens in that time on n hot windows in a row
  (never fewer than ``open_k``): a new action seconds after an alert alerts too, scores flickering
  around the threshold still do not, but one long action whose score dips for ``close_after_windows``
  gives two alerts (docs/experiments/2026-12-06-cooldown.md). The cooldown is forgotten if the
  stream's clock goes backwards.

A tracked person's ids are their frontend's: when it numbers people from 1 again (a new run), their
open episode, or one a dead worker left, is handed to the one newcomer plainly standing where they
were (edge/successor.py), decided at a newcomer's first window; otherwise it closes (``restart``).

So one long abnormal action is one episode, and a single spike (fewer than ``open_k`` hot windows)
none. Each event carries an :class:`Episode` snapshot with what the alert store keeps: the span, peak,
mean, threshold, window counts and a bounded set of windows (the first hot one, the peak, the last
hot one and hot windows spread evenly over the episode, at most ``windows_kept``: marking the alert
normal re-cuts the stretches they cover, edge/feedback.py, so they should cover the action, not its
end).
"""

from __future__ import annotations

import bisect
import math
import uuid
from collections import Counter, deque
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np

from bus.messages import Box, Watched
from config.worker import EpisodeConfig
from edge.successor import successor
from edge.window import ReadyWindow, union_box

EventKind = Literal["opened", "updated", "closed"]
CloseReason = Literal["cold", "quiet", "reset", "shutdown", "restart"]


@dataclass(frozen=True, eq=False)  # eq=False: array field
class KeptWindow:
    """A window stored with an alert: raw canonical ``frames`` ``(F, 20, 3)`` and its score."""

    t_start: float
    t_end: float
    score: float
    frames: np.ndarray


@dataclass(frozen=True)
class Episode:
    """An alert episode as it stands when an event is emitted.

    start / end: t_start of its first hot window, t_end of its last hot window (source seconds);
    :attr:`action_span` is where the action is placed inside them (what an alert reports).
    n_windows: windows from the first hot one to the last hot one (cold ones in between included);
    n_hot: the hot ones among them; mean_score is over those n_windows.
    person: the person track within the stream; box: the union of that person's image-space boxes
    over the episode's windows (None when the frontend sent none); others: the other people in
    view, ``(person, box)``, when its peak window was completed.
    nearest: the normal behaviour the peak window was nearest (its profile's or camera overlay's
    behaviour name; None where the worker did not say: a window scored by its last second alone).
    timeline: every window's score from the first hot window on (the cold ones after the last hot
    one too), in time order, at most ``TIMELINE_POINTS``: the score as it went, moment by moment.
    Each is at the moment it is about: the window's middle, or its last second's where that crop's
    score decided it (the short scale, edge/short_scale.py).
    """

    episode_id: str
    stream_id: str
    profile: str
    threshold: float
    start: float
    end: float
    peak_score: float
    peak_t_start: float
    peak_t_end: float
    mean_score: float
    n_windows: int
    n_hot: int
    windows: tuple[KeptWindow, ...]
    person: int = 0
    box: Box | None = None
    timeline: tuple[tuple[float, float], ...] = ()  # (the moment a window's score is about, the score)
    others: tuple[tuple[int, Box], ...] = ()
    placed: tuple[float, float] | None = None  # the first and last moment hot windows said, see action_span
    nearest: str | None = None

    @property
    def who(self) -> Watched:
        return Watched(self.stream_id, self.person)

    @property
    def action_span(self) -> tuple[float, float]:
        """Where the action is placed: from the middle of the first hot window to the middle of the
        last. A window turns hot with about half of it in the action (measured: 1-1.5 s of a 3 s
        window) and stays hot until about half of it is past, so a window's whole span overstates
        the action by up to a window on each side. An episode of one window, or of a short segment's
        windows (they all start with the segment, edge/window.py), spans them whole. Where the worker
        said when in its windows it saw the action (``placed``: the short scale, edge/short_scale.py),
        from the first such moment to the last."""
        if self.placed is not None and self.placed[1] > self.placed[0]:
            return self.placed
        if not self.windows or self.windows[0].t_start != self.start:
            return self.start, self.end
        first, last = self.windows[0], self.windows[-1]
        # the last hot window is kept unless windows_kept is 2; then it is as long as the first
        last_start = last.t_start if last.t_end == self.end else self.end - (first.t_end - first.t_start)
        if last_start <= self.start:
            return self.start, self.end
        return (first.t_start + first.t_end) / 2, (last_start + self.end) / 2


@dataclass(frozen=True)
class EpisodeEvent:
    """``opened`` or ``closed``; ``trigger_sent_at`` is the ``sent_at`` behind the deciding window
    (latency origin; for a close by reset or shutdown, the last window the episode saw)."""

    kind: EventKind
    episode: Episode
    close_reason: CloseReason | None
    trigger_sent_at: float


@dataclass
class _Scored:
    window: ReadyWindow
    score: float
    hot: bool
    at: float | None = None  # the moment a hot window saw the action at (None: not said)
    moment: float | None = None  # the moment its score is about (None: the window's middle)
    nearest: str | None = None  # the behaviour the window was nearest

    @property
    def t(self) -> float:
        return self.moment if self.moment is not None else (self.window.t_start + self.window.t_end) / 2


@dataclass
class _Spread:
    """At most ``size`` of an episode's hot windows, spread evenly over it: every ``step``-th one is
    kept, and when that makes more than ``size``, every other kept one goes and the step doubles."""

    size: int
    kept: list[_Scored] = field(default_factory=list)
    step: int = 1
    seen: int = 0

    def add(self, s: _Scored) -> None:
        if self.size > 0 and self.seen % self.step == 0:
            self.kept.append(s)
            if len(self.kept) > self.size:
                self.kept, self.step = self.kept[::2], 2 * self.step
        self.seen += 1


TIMELINE_POINTS = 480  # 2 minutes of windows 0.25 s apart, then pairs are merged


@dataclass
class _Timeline:
    """Every window's (moment, score) from the first hot one on, kept in time order (a score decided
    by a window's last second is about a later moment than the next windows' middles); past ``size``
    points, neighbours are merged in pairs keeping the higher score (a peak is never lost) and later
    windows in groups of as many: a long episode's timeline stays bounded and spans all of it."""

    size: int = TIMELINE_POINTS
    points: list[tuple[float, float]] = field(default_factory=list)
    group: int = 1
    pending: tuple[float, float] | None = None
    in_group: int = 0

    def add(self, t: float, score: float) -> None:
        if self.pending is None or score > self.pending[1]:
            self.pending = (t, score)
        self.in_group += 1
        if self.in_group == self.group:
            bisect.insort(self.points, self.pending, key=lambda p: p[0])
            self.pending, self.in_group = None, 0
        if len(self.points) > self.size:
            pairs = zip(self.points[0::2], self.points[1::2], strict=False)
            merged = [max(a, b, key=lambda p: p[1]) for a, b in pairs]
            self.points = merged + self.points[len(merged) * 2 :]
            self.group *= 2

    def snapshot(self) -> tuple[tuple[float, float], ...]:
        if self.pending is None:
            return tuple(self.points)
        return tuple(sorted((*self.points, self.pending), key=lambda p: p[0]))


@dataclass
class _Open:
    """The running statistics of an open episode."""

    episode_id: str
    threshold: float
    first: _Scored
    peak: _Scored
    last_hot: _Scored
    spread: _Spread
    total: float = 0.0  # score sum up to the last hot window
    count: int = 0
    n_hot: int = 0
    tail_total: float = 0.0  # cold windows after the last hot one (join the sums if another hot comes)
    tail_count: int = 0
    last_sent_at: float = 0.0
    quiet_from: float = -math.inf  # quiet time counts from then: the end of the first window after a break
    reported_t: float = -math.inf  # source time of its last event (opened or updated)
    box: Box | None = None  # the person's boxes over every window added
    timeline: _Timeline = field(default_factory=_Timeline)
    moments: tuple[float, float] | None = None  # the first and the last moment hot windows said
    hole_until: float | None = None  # waiting across a hole in its stream until then (monotonic)

    @classmethod
    def resumed(cls, ep: Episode, keep: int) -> _Open:
        """The running statistics of an episode a previous worker left open, from its snapshot."""
        scored = [
            _Scored(
                ReadyWindow(
                    ep.stream_id, 0, k.t_start, k.t_end, k.frames, 0.0, person=ep.person, others=ep.others
                ),
                k.score,
                k.score > ep.threshold,
            )
            for k in ep.windows
        ]
        hot = [s for s in scored[1:] if s.hot]
        spread = _Spread(keep - 3)
        for s in hot[:-1]:
            spread.add(s)
        peak = max(scored, key=lambda s: s.score)
        peak.nearest = ep.nearest
        last_hot = hot[-1] if hot else scored[0]
        total = ep.mean_score * ep.n_windows
        return cls(ep.episode_id, ep.threshold, scored[0], peak, last_hot, spread, total, ep.n_windows,
                   ep.n_hot, box=ep.box, timeline=_Timeline(points=list(ep.timeline)))  # fmt: skip

    def add(self, s: _Scored) -> None:
        self.last_sent_at = s.window.last_sent_at
        self.box = union_box((self.box, s.window.box))
        self.timeline.add(s.t, s.score)
        if not s.hot:
            self.tail_total += s.score
            self.tail_count += 1
            return
        self.total += self.tail_total + s.score
        self.count += self.tail_count + 1
        self.tail_total, self.tail_count = 0.0, 0
        self.n_hot += 1
        self.last_hot = s
        if s.at is not None:
            self.moments = (self.moments[0] if self.moments else s.at, s.at)
        self.spread.add(s)
        if s.score > self.peak.score:
            self.peak = s

    def snapshot(self, who: Watched, profile: str) -> Episode:
        last = (
            (self.last_hot,) if self.spread.size >= 0 else ()
        )  # windows_kept 2: the first and the peak only
        kept: dict[int, _Scored] = {id(s): s for s in (self.first, self.peak, *self.spread.kept, *last)}
        ordered = sorted(kept.values(), key=lambda s: s.window.t_end)
        return Episode(
            episode_id=self.episode_id,
            stream_id=who.stream_id,
            profile=profile,
            threshold=self.threshold,
            start=self.first.window.t_start,
            end=self.last_hot.window.t_end,
            peak_score=self.peak.score,
            peak_t_start=self.peak.window.t_start,
            peak_t_end=self.peak.window.t_end,
            mean_score=self.total / self.count,
            n_windows=self.count,
            n_hot=self.n_hot,
            windows=tuple(
                KeptWindow(s.window.t_start, s.window.t_end, s.score, s.window.frames) for s in ordered
            ),
            person=who.person,
            box=self.box,
            timeline=self.timeline.snapshot(),
            others=self.peak.window.others,
            placed=self.moments,
            nearest=self.peak.nearest,
        )


@dataclass
class _State:
    segment: int
    recent: deque[_Scored]
    open: _Open | None = None
    cold_streak: int = 0
    cooldown_until: float = -math.inf
    last_t: float = -math.inf
    segment_windows: int = 0  # windows of the current segment fed so far
    hot_run: int = 0  # hot windows in a row up to the latest, counted afresh per segment and after a close
    threshold: float = math.nan  # of the latest window

    def forget_recent(self) -> None:
        """The windows seen so far count towards no episode: a new one needs fresh hot windows."""
        self.recent.clear()
        self.hot_run = 0


# An episode to resume: it, its resume window (source seconds), the monotonic time after which it is
# closed if its person never came back, and when (wall clock) its last row was.
_Left = tuple[Episode, float, float, float]


@dataclass
class _Renumbering:
    """A stream whose frontend gives person ids from 1 again (since ``since``, its wall clock; None:
    a new daemon's, known before its first frame). The open episodes of the people it numbered
    before (``orphans``, by episode id) wait for the first window of a newcomer, then go to the one
    newcomer standing where their person was (edge/successor.py), or close (``restart``)."""

    since: float | None
    deadline: float  # monotonic: then it is forgotten, the orphans still waiting closed
    orphans: dict[str, _Left] = field(default_factory=dict)
    was_there: dict[int, Box | None] = field(default_factory=dict)  # old person -> their latest box
    newcomers: dict[int, Box | None] = field(default_factory=dict)  # new person -> their first box
    deciding: bool = False  # a newcomer's window came: orphans are decided as they come


class EpisodeTracker:
    """Episode state for every (watched person, profile); feed it scored windows in each person's order.

    ``counts``: ``nan_scores``, ``late_windows`` (windows of a segment already ended by
    :meth:`end_segment`, dropped), ``suppressed`` (hot windows during a cooldown), ``opened``, ``closed``.
    """

    def __init__(self, config: EpisodeConfig) -> None:
        self.config = config
        self.counts: Counter[str] = Counter()
        self._states: dict[tuple[Watched, str], _State] = {}
        self._ended: dict[Watched, int] = {}  # person -> last segment ended by end_segment
        # (person, profile) -> an episode a previous worker left open, its resume window (source
        # seconds), the monotonic time after which it is closed if its person never came back and
        # when (wall clock) its last row was
        self._resumable: dict[tuple[Watched, str], _Left] = {}
        self._people_since: dict[str, float] = {}  # stream -> since when its frontend numbers people
        self._handed_on: dict[Watched, int] = {}  # person -> the last segment of their id's previous holder
        self._renumbered: dict[str, _Renumbering] = {}  # stream -> its people's latest renumbering

    def update(
        self,
        window: ReadyWindow,
        profile: str,
        score: float,
        threshold: float,
        at: float | None = None,
        *,
        moment: float | None = None,
        nearest: str | None = None,
    ) -> list[EpisodeEvent]:
        """One scored window for one profile -> the events it causes (none, opened or closed). ``at``:
        the moment at which a hot window saw the action (``Episode.placed``); ``moment``: the moment its
        score is about, where that is not the window's middle (the timeline's point); ``nearest``: the
        behaviour it was nearest (``Episode.nearest``, at the peak)."""
        return self._update(window, profile, score, threshold, score > threshold, at, moment, nearest)

    def resume(
        self,
        episode: Episode,
        *,
        within_s: float,
        deadline: float,
        ended_at: float = math.inf,
        renumbered: bool = False,
    ) -> list[EpisodeEvent]:
        """Continue ``episode``, left open by a previous worker, with the next window of its stream and
        profile if that window starts within ``within_s`` (source seconds) after the episode's last one;
        otherwise close it (reason ``restart``) with what it holds. :meth:`expire` closes it at
        ``deadline`` (monotonic seconds) if its stream sends nothing before. ``ended_at``: the wall
        clock of its last row. A tracked person's episode from before their stream's frontend began
        numbering people (:meth:`numbered_since`; ``renumbered``: the caller knows it was, a new
        daemon's frontends) goes to the newcomer plainly standing where they were, if any, as their
        id names someone else now; else it is closed."""
        key = (episode.who, episode.profile)
        st = self._states.get(key)
        if (st is not None and st.open is not None) or key in self._resumable:
            return [self.close_left_open(episode)]  # this worker already has an episode there
        left = (episode, within_s, deadline, ended_at)
        if episode.person and (renumbered or ended_at < self._people_since.get(episode.stream_id, -math.inf)):
            if renumbered and episode.stream_id not in self._renumbered:
                self._renumbered[episode.stream_id] = _Renumbering(None, deadline)
            return self._orphan(left)
        self._resumable[key] = left
        return []

    def numbered_since(self, stream_id: str, since: float, deadline: float = math.inf) -> list[EpisodeEvent]:
        """``stream_id``'s frontend gives person ids from 1 since ``since`` (its wall clock): the
        resumable episodes of its tracked people whose last row is from before then, and the open
        ones of the people it numbered before (:meth:`handed_on`), wait until ``deadline``
        (monotonic) for a newcomer standing where their person was. Orphans of an earlier
        renumbering still waiting (its newcomers had no window yet) are decided on the newcomers it
        saw: one handed on goes on with its newcomer's last windows, then waits again."""
        self._people_since[stream_id] = since
        events: list[EpisodeEvent] = []
        rec = self._renumbered.get(stream_id)
        if rec is not None and rec.since not in (None, since):
            events += self._decide(stream_id, rec)
            rec = None
        if rec is None:
            rec = self._renumbered[stream_id] = _Renumbering(since, deadline)
        rec.since = since
        gone = [  # (one handed on to a newcomer waits for their windows: ended_at is inf)
            k for k, (ep, _, _, ended_at) in self._resumable.items()
            if ep.stream_id == stream_id and ep.person and ended_at < since
        ]  # fmt: skip
        for k in gone:
            events += self._orphan(self._resumable.pop(k))
        return events

    def newcomer(self, who: Watched, box: Box | None) -> None:
        """``who`` is in view after their stream's frontend numbered people afresh; the first time,
        ``box`` is where they were first seen."""
        rec = self._renumbered.get(who.stream_id)
        if rec is not None and who.person not in rec.newcomers:
            rec.newcomers[who.person] = box

    def awaiting_newcomers(self, stream_id: str) -> bool:
        """Whether ``stream_id``'s newcomers' first boxes are wanted (:meth:`newcomer`): until the
        first window of one, when who is who is decided on those seen."""
        rec = self._renumbered.get(stream_id)
        return rec is not None and not rec.deciding

    def expire(self, now: float) -> list[EpisodeEvent]:
        """Close resumable episodes whose stream did not come back by their deadline, episodes waiting
        across a hole past theirs, and the orphans of renumberings past theirs."""
        late = [k for k, (_, _, deadline, _) in self._resumable.items() if now >= deadline]
        events = [self.close_left_open(self._resumable.pop(k)[0]) for k in late]
        for key, st in list(self._states.items()):
            if st.open is not None and st.open.hole_until is not None and now >= st.open.hole_until:
                events += self._close(*key, st, "reset")  # nobody came back after the hole
        for sid in [sid for sid, rec in self._renumbered.items() if now >= rec.deadline]:
            events += [self.close_left_open(left[0]) for left in self._renumbered.pop(sid).orphans.values()]
        return events

    def end_segment(
        self,
        who: Watched,
        segment: int,
        reason: CloseReason = "reset",
        *,
        hole_s: float = 0.0,
        deadline: float = math.inf,
    ) -> list[EpisodeEvent]:
        """``segment`` ended (a stream reset, or ``shutdown``: the stream is done): a segment too
        short for the k-of-n rule whose windows were all hot opens an episode (module docstring);
        its open episodes close with ``reason``, unless a frame that came ``hole_s`` (at most
        ``resume_within_s``) after the one before ended it: then they wait for the person's next
        windows (a hole, module docstring), until ``deadline`` (monotonic, :meth:`expire`).

        Call it after the windows already queued for scoring have been fed, or they are dropped as late.
        """
        self._ended[who] = max(segment, self._ended.get(who, 0))
        across = reason == "reset" and 0 < hole_s <= self.config.resume_within_s and self._waits_at_holes(who)
        events = []
        for (w, profile), st in self._states.items():
            if w == who and st.segment <= segment:
                if st.segment == segment and self._too_short_for_k_of_n_and_all_hot(st):
                    events.append(self._open(w, profile, st, st.threshold))
                if reason == "restart":
                    events += self._orphan_open(w, profile, st)
                elif across and st.open is not None:
                    st.open.hole_until = deadline
                else:
                    events += self._close(w, profile, st, reason)
        if reason == "restart":  # the id names someone else from now on: nothing of theirs counts
            for key in [k for k, st in self._states.items() if k[0] == who and st.segment <= segment]:
                del self._states[key]
            self._handed_on.pop(who, None)
            for key in [k for k in self._resumable if k[0] == who]:  # handed to them, no window came
                events += self._orphan(self._resumable.pop(key))
        return events

    def handed_on(self, who: Watched, segment: int, box: Box | None = None) -> None:
        """``who``'s id names someone else after ``segment`` (their frontend numbers people from 1
        again; call after :meth:`numbered_since`), ``box`` where they were last seen: their open
        episodes go to the newcomer plainly standing where they were, or close as ``restart``, also
        where the next holder's windows come before :meth:`end_segment` (a backlog), and the next
        holder starts without their cooldown."""
        self._handed_on[who] = segment
        rec = self._renumbered.get(who.stream_id)
        if rec is not None and box is not None:  # (None: not seen lately, so near nobody now)
            rec.was_there[who.person] = box

    def forget(self, who: Watched) -> None:
        """Drop the state of a person who left (their episodes are closed): a long-running worker
        sees many people, each with windows held for the k-of-n rule."""
        for key in [k for k, st in self._states.items() if k[0] == who and st.open is None]:
            del self._states[key]
        self._ended.pop(who, None)

    def close_all(self) -> list[EpisodeEvent]:
        """Close every open episode (reason ``shutdown``), e.g. when the worker stops."""
        waiting = [
            *self._resumable.values(),
            *(o for r in self._renumbered.values() for o in r.orphans.values()),
        ]
        events = [EpisodeEvent("closed", ep, "shutdown", 0.0) for ep, _, _, _ in waiting]
        self._resumable.clear()
        self._renumbered.clear()
        for (who, profile), st in self._states.items():
            events += self._close(who, profile, st, "shutdown")
        return events

    def open_episodes(self) -> list[tuple[Watched, str]]:
        return [key for key, st in self._states.items() if st.open is not None]

    # --- internals -----------------------------------------------------------------------------

    def _update(
        self,
        w: ReadyWindow,
        profile: str,
        score: float,
        threshold: float,
        hot: bool,
        at: float | None = None,
        moment: float | None = None,
        nearest: str | None = None,
    ) -> list[EpisodeEvent]:
        if not math.isfinite(score):
            self.counts["nan_scores"] += 1
            return []
        who = w.who
        if w.segment <= self._ended.get(who, 0):
            self.counts["late_windows"] += 1
            return []
        key = (who, profile)
        c = self.config
        st = self._states.get(key)
        events: list[EpisodeEvent] = []
        if st is not None and w.segment != st.segment and st.segment <= self._handed_on.get(who, -1):
            events += self._orphan_open(who, profile, st)  # the id's previous holder, their windows ended
            st = None
        if st is None:
            st = self._states[key] = _State(w.segment, deque(maxlen=c.open_n))
        rec = self._renumbered.get(who.stream_id)
        if (
            rec is not None
            and not rec.deciding
            and who.person in rec.newcomers
            and w.segment > self._handed_on.get(who, 0)  # not the last windows of the id's previous holder
        ):
            events += self._decide(who.stream_id, rec)  # a newcomer's window: decided on those seen
        if key in self._resumable:
            events += self._adopt(key, st, w)
        if w.segment != st.segment:
            if self._across_hole(st, w):
                self._go_on_after_break(st, w)
            else:
                events += self._close(who, profile, st, "reset")
            st.segment = w.segment
            st.forget_recent()
            st.segment_windows = 0
        st.segment_windows += 1
        st.threshold = threshold
        if w.t_end < st.last_t:  # the source clock went backwards: its cooldown means nothing now
            st.cooldown_until = -math.inf
        st.last_t = w.t_end
        s = _Scored(w, score, hot, at, moment, nearest)
        st.hot_run = st.hot_run + 1 if hot else 0
        cooling = st.open is None and w.t_end < st.cooldown_until
        if cooling and not c.cooldown_hot_run:
            if hot:
                self.counts["suppressed"] += 1
            return events  # not kept either: the next episode is opened by windows after the cooldown
        st.recent.append(s)
        if st.open is not None:
            st.open.add(s)
            st.cold_streak = 0 if hot else st.cold_streak + 1
            if hot and w.t_end - st.open.reported_t >= c.update_every_s:
                st.open.reported_t = w.t_end
                events.append(
                    EpisodeEvent("updated", st.open.snapshot(who, profile), None, s.window.last_sent_at)
                )
            if st.cold_streak >= c.close_after_windows:
                events += self._close(who, profile, st, "cold")
            elif w.t_end - max(st.open.last_hot.window.t_end, st.open.quiet_from) >= c.close_after_s:
                events += self._close(who, profile, st, "quiet")
            return events
        if cooling:
            if hot and st.hot_run >= max(c.cooldown_hot_run, c.open_k):
                events.append(self._open(who, profile, st, threshold))
            elif hot:
                self.counts["suppressed"] += 1
            return events
        if hot and sum(r.hot for r in st.recent) >= c.open_k:
            events.append(self._open(who, profile, st, threshold))
        return events

    def _across_hole(self, st: _State, w: ReadyWindow) -> bool:
        """Whether ``w``, the first window of a new segment, goes on with the open episode across a
        hole in its stream: one that waits for it (:meth:`end_segment`), or, its segment's end not
        fed yet, the very next segment, begun after a hole (``after_hole``); within resume_within_s."""
        ep = st.open
        return (
            ep is not None
            and (
                ep.hole_until is not None
                or (w.after_hole and w.segment == st.segment + 1 and self._waits_at_holes(w.who))
            )
            and w.t_start - st.last_t <= self.config.resume_within_s
        )

    def _waits_at_holes(self, who: Watched) -> bool:
        """Whether ``who``'s episodes wait across a hole in their stream: person 0's (a one-person
        camera: whoever is in view after it is theirs to judge) and those of a stream whose frontend
        says when it began numbering people (:meth:`numbered_since`: its restart renumbers). A
        frontend older than schema 3 says nothing, so a hole may be its restart and the id someone
        else's after it: their episodes close at the hole, as a reset."""
        return who.person == 0 or who.stream_id in self._people_since

    def _adopt(self, key: tuple[Watched, str], st: _State, w: ReadyWindow) -> list[EpisodeEvent]:
        """The first window of a stream with a resumable episode: continue it or close it."""
        ep, within_s, _, _ = self._resumable.pop(key)
        if st.open is not None or not (ep.end < w.t_end and w.t_start - ep.end <= within_s):
            return [self.close_left_open(ep)]
        st.segment = w.segment
        st.forget_recent()
        st.open = _Open.resumed(ep, self.config.windows_kept)
        st.open.reported_t = ep.end
        self._go_on_after_break(st, w)
        return []

    @staticmethod
    def _go_on_after_break(st: _State, w: ReadyWindow) -> None:
        """``st``'s open episode goes on with ``w``, the first window after a break in its windows (a
        hole in its stream, a worker that died: :meth:`_adopt`): the closing rule counts afresh on the
        windows from ``w``, close_after_s from its end: from its start (where the frames came back) it
        would leave them a window's length less, so only the first one or two could keep the alert."""
        assert st.open is not None
        st.open.hole_until, st.open.quiet_from, st.cold_streak = None, w.t_end, 0

    def _orphan_open(self, who: Watched, profile: str, st: _State) -> list[EpisodeEvent]:
        """``who``'s id names someone else now: their open episode waits for a newcomer where they
        were (:meth:`_orphan`)."""
        ep = st.open
        if ep is None:
            return []
        if who.stream_id not in self._renumbered:
            return self._close(who, profile, st, "restart")
        st.open, st.cold_streak = None, 0
        st.forget_recent()
        # -inf: from before any later renumbering, which must not hand it to its own newcomer by id
        return self._orphan((ep.snapshot(who, profile), self.config.resume_within_s, math.inf, -math.inf))

    def _orphan(self, left: _Left) -> list[EpisodeEvent]:
        """An episode of a person whose id names someone else now: it waits in its stream's
        renumbering for a newcomer standing where they were; without one, or a box, it is closed."""
        ep = left[0]
        rec = self._renumbered.get(ep.stream_id)
        if rec is None or ep.box is None:
            return [self.close_left_open(ep)]
        rec.orphans[ep.episode_id] = left
        return self._decide(ep.stream_id, rec) if rec.deciding else []

    def _decide(self, stream_id: str, rec: _Renumbering) -> list[EpisodeEvent]:
        """Each orphan goes on as the newcomer plainly standing where its person was (resumed by their
        next window, edge/successor.py), or closes (``restart``)."""
        rec.deciding = True
        events = []
        for ep, within_s, deadline, _ in rec.orphans.values():
            assert ep.box is not None  # (_orphan)
            others = [b for p, b in rec.was_there.items() if p != ep.person]
            others += [o.box for o, _, _, _ in rec.orphans.values() if o.person != ep.person]
            others += [b for _, b in ep.others]  # who was near them at their peak
            new = successor(ep.box, others, rec.newcomers)
            key = (Watched(stream_id, new), ep.profile) if new is not None else None
            st = self._states.get(key) if key is not None else None
            if key is None or key in self._resumable or (st is not None and st.open is not None):
                events.append(self.close_left_open(ep))  # nobody plainly them, or they alert already
            else:
                # ended_at inf: a renumbering before their windows come leaves it to them, and their
                # end (end_segment, restart) makes it an orphan again
                self._resumable[key] = (replace(ep, person=key[0].person), within_s,
                                        min(deadline, rec.deadline), math.inf)  # fmt: skip
        rec.orphans.clear()
        return events

    def close_left_open(self, ep: Episode) -> EpisodeEvent:
        """Close ``ep``, left open by a previous worker, with what it holds (reason ``restart``)."""
        self.counts["closed"] += 1
        return EpisodeEvent("closed", ep, "restart", 0.0)

    def _too_short_for_k_of_n_and_all_hot(self, st: _State) -> bool:
        n = st.segment_windows
        return (
            st.open is None
            and st.last_t >= st.cooldown_until  # in the cooldown, a run of cooldown_hot_run is needed
            and 0 < n < self.config.open_k
            and len(st.recent) == n
            and all(r.hot for r in st.recent)
        )

    def _open(self, who: Watched, profile: str, st: _State, threshold: float) -> EpisodeEvent:
        span = list(st.recent)
        first_hot = next(i for i, r in enumerate(span) if r.hot)
        first = span[first_hot]
        ep = _Open(uuid.uuid4().hex, threshold, first, first, first, _Spread(self.config.windows_kept - 3))
        for r in span[first_hot:]:
            ep.add(r)
        st.open, st.cold_streak = ep, 0
        ep.reported_t = ep.last_hot.window.t_end
        self.counts["opened"] += 1
        return EpisodeEvent("opened", ep.snapshot(who, profile), None, ep.last_sent_at)

    def _close(self, who: Watched, profile: str, st: _State, reason: CloseReason) -> list[EpisodeEvent]:
        ep = st.open
        if ep is None:
            return []
        st.open, st.cold_streak = None, 0
        st.forget_recent()  # a new episode needs open_k fresh hot windows
        st.cooldown_until = st.last_t + self.config.cooldown_s
        self.counts["closed"] += 1
        return [EpisodeEvent("closed", ep.snapshot(who, profile), reason, ep.last_sent_at)]
