"""Who is who across frames: person ids that survive short occlusions and crossings.

Pure bookkeeping on image-space boxes and landmarks (no MediaPipe): :mod:`pose_frontend.multi`
asks it which track keeps a pose two tracks both read, which tracks a fresh detection may resume,
and when a track is retired. A track is *active* while its person is seen, *lost* while not (it
keeps its id and its predicted position, coasting at its last velocity) and *retired* once lost for
``lost_timeout_s``; a retired id is never used again.

A track is *confirmed* (published, so scored) once it was read as a standing body (:func:`upright`)
when the detector found it (two sources agree: a new person's first reading), in
``CONFIRM_READINGS`` readings in a row (more after misreadings: one more for every two of its
readings over the last ``SETTLED_S`` that were upside down or had stumps for legs,
:func:`misread`; a thing read so for seconds is read standing now and then), once its feet walked ``CONFIRM_WALK`` of its height from
where it was first seen, or once its limbs moved against its own torso as a body's do
(:func:`articulated`: someone seated, crouched or lying who moves their arms or legs), or once
read in every frame for ``SETTLED_S`` as a body upright or lying, head and legs where its torso
says, that keeps its limbs' lengths (:func:`settled`: someone seated, crouched or lying on the floor
who keeps still, published before they act: a fallen person first seen on the floor). Things
the detector and the landmark model take for people on a fixed camera (a garment on the grass, a
bollard: vtest.avi) read as bodies lying, upside down, leaning or with stumps for legs, never walk,
and their limbs' jitter changes the limbs' lengths: tracked, never confirmed, never scored. Someone
seated with their feet at their hips' height is not published until they move a limb. A track's
readings before it was confirmed are not published afterwards; a confirmed track stays confirmed
(someone who falls and lies still stays published).

Counters (``PersonTracker.counters``): ``started`` (new ids), ``resumed`` (a lost track seen again),
``lost`` (an active track not seen), ``retired``, ``duplicates`` (two tracks reading one person:
the one that moved less consistently lost the pose), ``refused`` (a new person beyond
``max_people``), ``swaps`` (a track that had followed a passer-by given back its own person:
:meth:`PersonTracker.taken_over`; or tracks that changed people where people crossed given back
theirs: :meth:`PersonTracker.crossed`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
from scipy.optimize import linear_sum_assignment

Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in pixels

# MediaPipe landmarks that say where a body is (shoulders, elbows, wrists, hips, knees, ankles);
# the face and hand points are too close together to tell two people apart.
BODY_LANDMARKS = np.array([11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28])
# Two poses this much in the same place are one person read twice, however they differ (a garbled
# reading of someone already tracked); two people that far overlap leave one of them hidden anyway.
DUPLICATE_IOU = 0.6
# A track's velocity is its feet's over this last stretch.
_VELOCITY_SPAN_S = 1.0
# Crossings (PersonTracker.crossed), in track heights: the tracks within CROSSING_REACH of where a
# track was lost may have changed people with it. Measured on vtest.avi's tracks before the rule
# (760 frames). At every track started or resumed while another was lost, re-pairings with each
# pair within CROSSING_GATE fitted 0.08-0.34 of the pairing as the tracks stood 5 times, each where
# a track had gone on with the person it crossed (13 s twice, 30, 36 and 73 s; 73 s: the walking
# profile's false alert), and 0.65 or more elsewhere. Checked every frame with nobody appearing,
# such a track first fitted the lost one's way 0.22-0.39 off its own course at 13, 16, 35 and 73 s
# (16 s: a man in jeans whose track went on with a woman he passed); the other fits were tracks lost
# after a reading or two (misreadings coasting at no speed: CROSSING_TRACKED_S) or 0.11-0.18 off
# (CROSSING_ASTRAY).
CROSSING_REACH = 1.0
CROSSING_GATE = 0.5
CROSSING_FIT = 0.5
CROSSING_TRACKED_S = 1.0
CROSSING_ASTRAY = 0.25
_HIPS = [23, 24]
_SHOULDERS = [11, 12]
_ANKLES = [27, 28]
# Confirmation (see the module docstring). Measured on vtest.avi: of its 23 tracks of walkers, 18
# read upright at their first reading or twice within their first three, the others within 7.5 s; of
# its tracks of the garment (10) and the bollard (12) none did, while single upright misreadings of
# the bollard occur. The bollard's readings that pass the legs' rule lean their torso by 0.19-0.24 of
# its length, walkers' first readings by up to 0.16 (an elevated camera, people walking);
# MediaPipe's pose.jpg (someone standing, legs wide apart) has legs 0.98 of the torso. The things'
# feet stayed within 0.8 of their height of where they appeared.
CONFIRM_READINGS = 2
CONFIRM_WALK = 1.5
# Articulation (:func:`articulated`), over the readings of the last ARTICULATION_SPAN_S (at least
# ARTICULATION_READINGS of them), in torso lengths. Measured over every 1 s window of vtest.avi's
# tracks (838 of the garment and the bollard, 4317 of walkers) and of MediaPipe's pose_squats.mp4
# (60): the things' limbs jitter as far as walkers' and the squatter's limbs move (the second-most-
# moving limb end up to 0.77 torso), but where they moved ARTICULATION_MOVE or more the things'
# segment lengths varied by 0.103 or more (coefficient of variation, median segment), and where
# those held within ARTICULATION_LIMB_CV their limbs moved at most 0.25; the squatter's moved up
# to 0.49 with lengths held (7 windows pass), walkers' likewise (234 windows pass), the things' none.
ARTICULATION_SPAN_S = 1.0
ARTICULATION_READINGS = 6
ARTICULATION_MOVE = 0.35
ARTICULATION_LIMB_CV = 0.06
# Wrists, elbows, knees, ankles (what moves against the torso), and the limbs' segments
# (upper arms, forearms, thighs, shins: lengths a body keeps).
_LIMB_ENDS = [13, 14, 15, 16, 25, 26, 27, 28]
_SEGMENTS = np.array([(11, 13), (12, 14), (13, 15), (14, 16), (23, 25), (24, 26), (25, 27), (26, 28)])
_MIN_LEG_TO_TORSO = 0.9
_MAX_TORSO_LEAN = 0.17
# Settled (:func:`settled`): over every 2 s window of vtest.avi's tracks read in every frame (516 of
# the garment and the bollard, 2814 of walkers), the things' median readings had the hips 2.8 torso
# heights or more to the side of the shoulders (the garment, lying) or the ankles at most 0.14 of
# the torso below the hips (the bollard's stumps), and their limbs' lengths varied by 0.057 or more:
# none passes. The squatter's deepest crouch (pose_squats.mp4) leans its torso by 0.4-0.5 of its
# length, its ankles 1.1 of it below the hips: held still 10 s, she is published from 2 s on.
# Measured along the torso (so that someone lying counts), no 2 s window of vtest.avi's 510 of
# unconfirmed tracks passes either: where the garment, read lying (torso 71-82 degrees from
# upright), has legs of half its torso its limbs' lengths vary by 0.10 or more, and where they vary
# less its legs are 0.27 of it; the bollard's torso tilts 0-30 or 150-180 degrees. MediaPipe's
# pose.jpg turned by 60, 90, 120, 240, 270 or 300 degrees (a person lying still): legs 0.93-0.95
# of the torso, limbs' lengths varying 0.01 or less, published at 2 s.
SETTLED_S = 2.0
# Misreadings (:func:`misread`) over the last SETTLED_S that ask one more upright reading in a row
# each. On vtest.avi the bollard, read upside down or with stumps 11 times in the 1.5 s before, was
# read standing twice in a row (23.3 s; published until a walker took its track at 34.3 s); the
# walkers confirmed by standing were misread at most 5 times before (one appearing upside down for
# 0.6 s, then standing 4 times in a row): 3 in a row confirm them now, 1 reading later.
MISREADINGS_PER_READING = 2
_SETTLED_MAX_TILT_DEG = 135.0  # seated, crouched, lying; the bollard's upside-down readings tilt 150-180
_SETTLED_MIN_LEGS = 0.5  # ankles below the hips by half the torso: legs, not stumps
_NOSE = 0


def box_center(box: Box) -> np.ndarray:
    return np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2])


def box_height(box: Box) -> float:
    return max(box[3] - box[1], box[2] - box[0], 1.0)


def landmark_box(image_landmarks: np.ndarray, width: int, height: int) -> Box:
    """The box around a pose's image landmarks ``(33, >=2)`` pixels, clipped to the frame."""
    x, y = image_landmarks[:, 0], image_landmarks[:, 1]
    return (
        float(np.clip(x.min(), 0, width)),
        float(np.clip(y.min(), 0, height)),
        float(np.clip(x.max(), 0, width)),
        float(np.clip(y.max(), 0, height)),
    )


def box_iou(a: Box, b: Box) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def landmark_extent(landmarks: np.ndarray) -> Box:
    """The box around a pose's image landmarks, unclipped: parts the model places outside the frame
    count."""
    return (
        float(landmarks[:, 0].min()),
        float(landmarks[:, 1].min()),
        float(landmarks[:, 0].max()),
        float(landmarks[:, 1].max()),
    )


def pose_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Mean distance between two poses' body landmarks ``(33, >=2)`` over the larger body's height:
    about 0 for two readings of one person, 0.3 and up for two people side by side."""
    pa, pb = a[BODY_LANDMARKS, :2], b[BODY_LANDMARKS, :2]
    span = max(np.ptp(a[:, 1]), np.ptp(b[:, 1]), 1.0)
    return float(np.linalg.norm(pa - pb, axis=1).mean() / span)


def upright(landmarks: np.ndarray) -> bool:
    """Whether image landmarks ``(33, >=2)`` (pixels, parts beyond the frame included) are a standing
    body: hips below the shoulders, the torso within ``_MAX_TORSO_LEAN`` of its length of vertical,
    and the ankles below the hips by ``_MIN_LEG_TO_TORSO`` of it."""
    shoulders, hips = landmarks[_SHOULDERS, :2].mean(axis=0), landmarks[_HIPS, :2].mean(axis=0)
    ankles = landmarks[_ANKLES, 1].mean()
    torso = hips[1] - shoulders[1]
    return bool(
        torso > 0
        and abs(hips[0] - shoulders[0]) <= _MAX_TORSO_LEAN * torso
        and ankles - hips[1] >= _MIN_LEG_TO_TORSO * torso
    )


def misread(landmarks: np.ndarray) -> bool:
    """Whether image landmarks ``(33, >=2)`` are no body the right way up: the hips not below the
    shoulders (upside down), or the ankles less than ``_SETTLED_MIN_LEGS`` of the torso below the
    hips (stumps for legs)."""
    shoulders, hips = landmarks[_SHOULDERS, :2].mean(axis=0), landmarks[_HIPS, :2].mean(axis=0)
    torso = hips[1] - shoulders[1]
    return bool(torso <= 0 or landmarks[_ANKLES, 1].mean() - hips[1] < _SETTLED_MIN_LEGS * torso)


def articulated(readings: np.ndarray) -> bool:
    """Whether image landmarks ``(n, 33, >=2)`` of one track (successive readings) show a body moving
    its limbs: against its torso (shoulder to hip centre, so scale-free), its second-most-moving limb
    end moved ``ARTICULATION_MOVE`` torso lengths from where it mostly was (80th percentile; one
    garbled reading does not count), while its limbs' segments kept their lengths (the median
    segment's coefficient of variation within ``ARTICULATION_LIMB_CV``): a misread thing's jitter
    stretches and shrinks them."""
    xy = readings[:, :, :2]
    hips = xy[:, _HIPS].mean(axis=1)
    torso = np.maximum(np.linalg.norm(xy[:, _SHOULDERS].mean(axis=1) - hips, axis=1), 1e-6)[:, None]
    limbs = (xy[:, _LIMB_ENDS] - hips[:, None]) / torso[:, :, None]
    moved = np.linalg.norm(limbs - np.median(limbs, axis=0), axis=2)
    second = np.sort(np.percentile(moved, 80, axis=0))[-2]
    return bool(second >= ARTICULATION_MOVE and _limb_length_variation(xy, torso) <= ARTICULATION_LIMB_CV)


def _limb_length_variation(xy: np.ndarray, torso: np.ndarray) -> float:
    """The median limb segment's coefficient of variation over readings ``(n, 33, 2)``, lengths in
    each reading's ``torso`` lengths ``(n, 1)``."""
    lengths = np.linalg.norm(xy[:, _SEGMENTS[:, 0]] - xy[:, _SEGMENTS[:, 1]], axis=2) / torso
    return float(np.median(lengths.std(axis=0) / np.maximum(lengths.mean(axis=0), 1e-6)))


def settled(readings: np.ndarray) -> bool:
    """Whether image landmarks ``(n, 33, >=2)`` of one track (successive readings) are a body at rest
    keeping its shape, upright or lying: measured along its own torso (shoulders to hips), in every
    reading the torso within ``_SETTLED_MAX_TILT_DEG`` of upright (a body lying on the floor, head
    level with the hips or a little below, passes; one read upside down does not); in the median
    reading the nose beyond the shoulders and the ankles beyond the hips by ``_SETTLED_MIN_LEGS`` of
    the torso (legs, not stumps); the limbs' segments keeping their lengths (the median segment's
    coefficient of variation within ``ARTICULATION_LIMB_CV``), which a misread thing's jitter does
    not."""
    xy = readings[:, :, :2]
    shoulders, hips = xy[:, _SHOULDERS].mean(axis=1), xy[:, _HIPS].mean(axis=1)
    torso_length = np.maximum(np.linalg.norm(hips - shoulders, axis=1), 1e-6)[:, None]
    axis = (hips - shoulders) / torso_length  # the body's own "down", head to hips
    if (axis[:, 1] < np.cos(np.radians(_SETTLED_MAX_TILT_DEG))).any():
        return False
    legs = np.median(np.sum((xy[:, _ANKLES].mean(axis=1) - hips) * axis, axis=1) / torso_length[:, 0])
    head = np.median(np.sum((shoulders - xy[:, _NOSE]) * axis, axis=1))
    return bool(
        head > 0
        and legs >= _SETTLED_MIN_LEGS
        and _limb_length_variation(xy, torso_length) <= ARTICULATION_LIMB_CV
    )


def _feet(box: Box) -> np.ndarray:
    return np.array([(box[0] + box[2]) / 2, box[3]])


def _hip(landmarks: np.ndarray) -> np.ndarray:
    return landmarks[_HIPS, :2].mean(axis=0)


class Sighting(NamedTuple):
    """Where a track's person was in one frame they were seen in."""

    t: float
    center: np.ndarray  # of the box
    feet: np.ndarray  # the box's bottom centre: stays put while a person stands, squats or waves
    hip: np.ndarray  # the hip centre


def _feet_velocity(path: Sequence[Sighting], t: float) -> np.ndarray:
    """The feet's motion (px/s) over the ``_VELOCITY_SPAN_S`` before ``t``: a box's centre jumps with
    every squat, wave or partial reading, the feet only when the person walks."""
    recent = [s for s in path if t - _VELOCITY_SPAN_S <= s.t <= t]
    if not recent or recent[-1].t - recent[0].t < 0.3:
        return np.zeros(2)
    return (recent[-1].feet - recent[0].feet) / (recent[-1].t - recent[0].t)


@dataclass
class Track:
    """One person's id and where they were last seen."""

    id: int
    box: Box
    landmarks: np.ndarray  # (33, >=2) image landmarks when last seen, pixels
    first_seen_s: float
    last_seen_s: float
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(2))  # px/s of the box centre
    active: bool = True
    # the frames it was seen in, over the last lost_timeout_s and a second
    path: deque[Sighting] = field(default_factory=deque)
    confirmed: bool = False  # published: see the module docstring
    upright_run: int = 0  # readings in a row that were upright (while not confirmed)
    origin: np.ndarray | None = None  # its feet when first seen
    # (time, image landmarks, misread) of its readings over the last SETTLED_S (while not confirmed)
    recent: deque[tuple[float, np.ndarray, bool]] = field(default_factory=deque)
    seen_since: float | None = None  # seen in every frame since (while not confirmed)

    def predicted_hip(self, t: float) -> np.ndarray:
        """Where its hip centre is (when lost: coasting at its velocity). Detections are placed by
        their hip centre too; a box's centre is far from it when an arm is raised or the frame cuts
        the body off."""
        return _hip(self.landmarks) + self.predicted_shift(t)

    def predicted_shift(self, t: float) -> np.ndarray:
        return self.velocity * max(0.0, t - self.last_seen_s)

    def walked(self, t: float, span_s: float = 1.0) -> float | None:
        """How far its feet moved over the ``span_s`` before ``t`` (px), if remembered."""
        seen = [s.feet for s in self.path if t - span_s <= s.t <= t]
        return float(np.linalg.norm(seen[-1] - seen[0])) if len(seen) >= 2 else None

    def center_at(self, t: float) -> np.ndarray | None:
        """Where it was at time ``t`` (the nearest frame it was seen in), if that is remembered."""
        if not self.path or t < self.path[0].t:
            return None
        return min(self.path, key=lambda s: abs(s.t - t)).center

    def walked_on(self, since: float, t: float) -> np.ndarray | None:
        """Where its hip centre would be at ``t`` had it walked on from ``since`` as it walked up to
        then (its feet's velocity over the second before); None if it was not seen by ``since``
        within that second."""
        before = [s for s in self.path if s.t <= since]
        if not before or since - before[-1].t > _VELOCITY_SPAN_S:
            return None
        last = before[-1]
        return last.hip + _feet_velocity(before, last.t) * (t - last.t)


def _walker_and_stander(walker: float | None, stander: float | None) -> bool:
    """Whether feet that moved ``walker`` px are clearly walking past feet that moved ``stander``."""
    return walker is not None and stander is not None and walker > 2 * stander


@dataclass(frozen=True)
class Crossing:
    """Tracks that changed people where people crossed (:meth:`PersonTracker.crossed`): ``takes``
    maps a track to the track whose reading this frame is its person's; ``appeared`` is the track
    whose person the detection is (with no detection: the one left without a reading, its person
    unseen), lost until it is resumed; ``met`` is when the lost track among them was last seen."""

    met: float
    takes: dict[int, int]
    appeared: int


@dataclass
class TrackerCounters:
    started: int = 0
    resumed: int = 0
    lost: int = 0
    retired: int = 0
    duplicates: int = 0
    refused: int = 0
    swaps: int = 0

    def snapshot(self) -> dict[str, int]:
        return dict(vars(self))


class PersonTracker:
    """Ids for up to ``max_people`` people; see the module docstring.

    ``duplicate_distance``: two poses closer than this (:func:`pose_distance`) are one person.
    ``resume_distance``: a detection may resume a lost track whose predicted centre is within this
    many track heights of it. ``first_id``: the first id to give (a restarted frontend's go on).
    """

    def __init__(
        self,
        max_people: int,
        lost_timeout_s: float,
        duplicate_distance: float = 0.2,
        resume_distance: float = 1.0,
        first_id: int = 1,
    ) -> None:
        self.max_people = max_people
        self.lost_timeout_s = lost_timeout_s
        self.duplicate_distance = duplicate_distance
        self.resume_distance = resume_distance
        self.tracks: dict[int, Track] = {}
        self.counters = TrackerCounters()
        self._next_id = first_id

    def losers_of_duplicates(self, poses: Mapping[int, np.ndarray], t: float) -> set[int]:
        """Tracks that must give up this frame's pose: of two tracks whose poses (image landmarks
        ``(33, >=2)``) are one person (close postures, or boxes overlapping by ``DUPLICATE_IOU``), the
        one with the weaker claim (:meth:`_claim_weakness`)."""
        losers: set[int] = set()
        ids = sorted(poses)
        for i, a in enumerate(ids):
            for b in ids[i + 1 :]:
                if a in losers or b in losers:
                    continue
                if (
                    pose_distance(poses[a], poses[b]) >= self.duplicate_distance
                    and box_iou(landmark_extent(poses[a]), landmark_extent(poses[b])) < DUPLICATE_IOU
                ):
                    continue
                losers.add(max((a, b), key=lambda k: self._claim_weakness(k, poses[k], t)))
                self.counters.duplicates += 1
        return losers

    def _claim_weakness(self, track_id: int, pose: np.ndarray, t: float) -> tuple[bool, float, float]:
        """Larger = weaker claim on ``pose``: a lost track before an active one, then how unlike the
        track's last pose (moved on at its velocity) it is, then the younger track. Two people that
        overlap differ in posture even where their boxes coincide."""
        track = self.tracks[track_id]
        last = track.landmarks[:, :2] + track.predicted_shift(t)
        return (not track.active, pose_distance(pose, last), track.first_seen_s)

    def covered(self, point: tuple[float, float] | np.ndarray, t: float) -> bool:
        """Whether ``point`` (a hip centre) is where an active track's person is: within a quarter of
        their height of their hip centre (people side by side are further apart than that)."""
        return any(
            tr.active and np.linalg.norm(np.asarray(point) - tr.predicted_hip(t)) < 0.25 * box_height(tr.box)
            for tr in self.tracks.values()
        )

    def match_lost(self, points: list[tuple[float, float]], t: float) -> list[int | None]:
        """For each detection (its hip centre), the lost track it resumes, or None for a new person:
        one-to-one, nearest predicted positions first (Hungarian), within ``resume_distance``."""
        lost = [tr for tr in self.tracks.values() if not tr.active]
        matches: list[int | None] = [None] * len(points)
        if not lost or not points:
            return matches
        cost = np.array(
            [
                [np.linalg.norm(np.asarray(p) - tr.predicted_hip(t)) / box_height(tr.box) for tr in lost]
                for p in points
            ]
        )
        # Pairs beyond the gate all cost the same, so that they never sway which pairs within it win.
        rows, cols = linear_sum_assignment(np.minimum(cost, self.resume_distance + 1.0))
        for r, c in zip(rows, cols, strict=True):
            if cost[r, c] <= self.resume_distance:
                matches[r] = lost[c].id
        return matches

    def taken_over(self, point: tuple[float, float] | np.ndarray, t: float) -> tuple[int, int] | None:
        """Whether a person appearing at ``point`` reveals a takeover: while a walker passed in front
        of a standing person, the stander's track went on with the walker and the walker's own
        track was lost. Evidence: the lost track was lost where the active one then was (they met),
        its feet were walking then while the active one's stood, the active one's feet walk now,
        and someone is back where they met. Returns (active id, lost id): the active track's person
        is at ``point``, its pose is the lost track's."""
        p = np.asarray(point)
        for lost in self.tracks.values():
            if lost.active or lost.last_seen_s - lost.first_seen_s < self.lost_timeout_s:
                continue  # only a person tracked for a while, not a passing misreading
            met = lost.last_seen_s
            for active in self.tracks.values():
                then = active.center_at(met) if active.active else None
                if then is None:
                    continue
                h = box_height(active.box)
                stood, walks = active.walked(met), active.walked(t)
                if (
                    np.linalg.norm(box_center(lost.box) - then) < 0.5 * h
                    and np.linalg.norm(p - then) < 0.5 * h
                    and _walker_and_stander(lost.walked(met), stood)
                    and _walker_and_stander(walks, stood)
                ):
                    return active.id, lost.id
        return None

    def swap(self, active: int, lost: int) -> None:
        """Undo a takeover (:meth:`taken_over`): ``lost`` gets where ``active`` is now (the person
        it followed is its own), and ``active`` is lost where it was when the two met, standing."""
        a, b = self.tracks[active], self.tracks[lost]
        met = b.last_seen_s
        then = a.center_at(met)
        shift = (then - box_center(a.box)) if then is not None else np.zeros(2)
        b.box, b.landmarks, b.last_seen_s, b.velocity, b.active = (
            a.box,
            a.landmarks,
            a.last_seen_s,
            a.velocity,
            True,
        )
        b.path = deque(a.path)
        a.box = (a.box[0] + shift[0], a.box[1] + shift[1], a.box[2] + shift[0], a.box[3] + shift[1])
        a.landmarks = a.landmarks + np.append(shift, np.zeros(a.landmarks.shape[1] - 2))
        a.last_seen_s, a.velocity, a.active = met, np.zeros(2), False
        a.path = deque(s for s in a.path if s.t <= met)
        self.counters.swaps += 1

    def crossed(self, point: tuple[float, float] | np.ndarray | None, t: float) -> Crossing | None:
        """Whether tracks changed people where people crossed, seen when a person appears at
        ``point`` (a hip centre; None: checked with nobody appearing). The tracks near a lost one
        when it was lost (they met), walking on as they walked up to then, and the lost one,
        coasting, are each expected where one of the readings now is (the active ones', ``point``
        or, with none, nobody's: one track left without a reading, at ``CROSSING_GATE``). If another
        pairing than as the tracks stand (``point`` to the lost one) fits much better (its
        distances, in track heights, each within ``CROSSING_GATE`` and summing to ``CROSSING_FIT``
        of theirs or less), it is returned as a :class:`Crossing` (:meth:`reassign`); of several lost
        tracks, the one whose pairing fits best for how the tracks stand. With nobody appearing, the
        lost track must have been tracked ``CROSSING_TRACKED_S`` (a passing misreading coasts
        nowhere) and the tracks as they stand be ``CROSSING_ASTRAY`` off (readings of people still
        side by side fit either). A walker passing a stander is the case :meth:`taken_over` also
        sees; here both may walk (two men passing each other, a track going on with the other)."""
        p = None if point is None else np.asarray(point, dtype=float)
        best: tuple[float, Crossing] | None = None
        for lost in self.tracks.values():
            if lost.active:
                continue
            met, where = lost.last_seen_s, _hip(lost.landmarks)
            ids, expected = [lost.id], [lost.predicted_hip(t)]
            for other in self.tracks.values():
                if not other.active:
                    continue
                then, now = other.walked_on(met, met), other.walked_on(met, t)
                if (
                    then is not None
                    and now is not None
                    and np.linalg.norm(then - where) < CROSSING_REACH * box_height(lost.box)
                ):
                    ids.append(other.id)
                    expected.append(now)
            if len(ids) == 1 or (p is None and met - lost.first_seen_s < CROSSING_TRACKED_S):
                continue
            readings = [_hip(self.tracks[i].landmarks) for i in ids[1:]]
            cost = np.array(
                [
                    [
                        np.linalg.norm(r - e) / box_height(self.tracks[i].box)
                        for i, e in zip(ids, expected, strict=True)
                    ]
                    for r in ([] if p is None else [p]) + readings
                ]
            )
            if p is None:  # nobody appeared: one track is left without a reading, at the gate's cost
                cost = np.vstack([np.full(len(ids), CROSSING_GATE), cost])
            rows, cols = linear_sum_assignment(cost)
            fit, as_they_stand = cost[rows, cols].sum(), np.trace(cost)
            if p is None:
                fit, as_they_stand = fit - CROSSING_GATE, as_they_stand - CROSSING_GATE
            if (
                (cols == rows).all()
                or cost[rows, cols].max() > CROSSING_GATE
                or fit > CROSSING_FIT * as_they_stand
                or (p is None and as_they_stand < CROSSING_ASTRAY)
            ):
                continue
            # Reading r (0: the person at point, else the reading of track ids[r]) goes to ids[cols[r]].
            takes = {ids[c]: ids[r] for r, c in zip(rows, cols, strict=True) if r not in (0, c)}
            crossing = Crossing(met, takes, appeared=ids[cols[0]])
            if best is None or fit / as_they_stand < best[0]:
                best = (fit / as_they_stand, crossing)
        return best[1] if best is not None else None

    def reassign(self, crossing: Crossing) -> None:
        """Give each track of ``crossing`` its reading (:meth:`crossed`), with the way its person
        walked since the tracks met; the track whose person appeared (if active) is lost where it
        was when they met, to be resumed by the caller with the appeared person's reading."""
        met = crossing.met
        before = {i: (tr.box, tr.landmarks, tr.last_seen_s, tr.path) for i, tr in self.tracks.items()}
        for taker, giver in crossing.takes.items():
            track = self.tracks[taker]
            box, landmarks, last_seen_s, path = before[giver]
            track.box, track.landmarks, track.last_seen_s, track.active = box, landmarks, last_seen_s, True
            track.path = deque(s for s in before[taker][3] if s.t <= met) + deque(
                s for s in path if s.t > met
            )
            track.velocity = _feet_velocity(track.path, last_seen_s)
        appeared = self.tracks[crossing.appeared]
        if appeared.active:
            own = deque(s for s in before[crossing.appeared][3] if s.t <= met)
            then = own[-1].center if own else box_center(appeared.box)
            shift = then - box_center(appeared.box)
            x0, y0, x1, y1 = appeared.box
            appeared.box = (x0 + shift[0], y0 + shift[1], x1 + shift[0], y1 + shift[1])
            appeared.landmarks = appeared.landmarks + np.append(
                shift, np.zeros(appeared.landmarks.shape[1] - 2)
            )
            appeared.path, appeared.active = own, False
            appeared.last_seen_s = own[-1].t if own else met
            appeared.velocity = _feet_velocity(own, appeared.last_seen_s)
        self.counters.swaps += 1

    @property
    def last_id(self) -> int:
        """The highest id given so far (``first_id - 1`` before any)."""
        return self._next_id - 1

    def has_room(self) -> bool:
        return len(self.tracks) < self.max_people

    def start(self, landmarks: np.ndarray, box: Box, t: float) -> int | None:
        """A new person's id, or None (counted as ``refused``) when ``max_people`` are tracked."""
        if not self.has_room():
            self.counters.refused += 1
            return None
        track = Track(self._next_id, box, landmarks, first_seen_s=t, last_seen_s=t)
        self._next_id += 1
        self.tracks[track.id] = track
        self.counters.started += 1
        return track.id

    def seen(self, track_id: int, landmarks: np.ndarray, box: Box, t: float) -> None:
        """The person of ``track_id`` has ``landmarks`` ``(33, >=2)`` within ``box`` at time ``t``."""
        track = self.tracks[track_id]
        if not track.active:
            self.counters.resumed += 1
        track.box, track.landmarks, track.last_seen_s, track.active = box, landmarks, t, True
        feet = _feet(box)
        track.path.append(Sighting(t, box_center(box), feet, _hip(landmarks)))
        if not track.confirmed:
            track.upright_run = track.upright_run + 1 if upright(landmarks) else 0
            first = track.origin is None
            if track.origin is None:
                track.origin = feet
            walked = float(np.linalg.norm(feet - track.origin))
            track.recent.append((t, landmarks, misread(landmarks)))
            while track.recent[0][0] < t - SETTLED_S:
                track.recent.popleft()
            if track.seen_since is None:
                track.seen_since = t
            moving = [lm for ts, lm, _ in track.recent if ts >= t - ARTICULATION_SPAN_S]
            misreadings = sum(wrong for _, _, wrong in track.recent)
            track.confirmed = (
                track.upright_run
                >= max(1 if first else CONFIRM_READINGS, misreadings / MISREADINGS_PER_READING)
                or walked >= CONFIRM_WALK * box_height(box)
                or (len(moving) >= ARTICULATION_READINGS and articulated(np.stack(moving)))
                or (
                    t - track.seen_since >= SETTLED_S and settled(np.stack([lm for _, lm, _ in track.recent]))
                )
            )
            if track.confirmed:
                track.recent.clear()
        # Kept a second longer than a track can stay lost: taken_over and crossed look at the
        # second before two people met.
        while track.path and track.path[0].t < t - self.lost_timeout_s - _VELOCITY_SPAN_S:
            track.path.popleft()
        track.velocity = _feet_velocity(track.path, t)

    def missed(self, track_id: int) -> None:
        """The person of ``track_id`` was not seen in this frame."""
        track = self.tracks[track_id]
        track.upright_run = 0
        track.seen_since = None
        if track.active:
            track.active = False
            self.counters.lost += 1

    def retire_stale(self, t: float) -> list[int]:
        """Retire the tracks lost for longer than ``lost_timeout_s``; returns their ids."""
        stale = [
            i for i, tr in self.tracks.items() if not tr.active and t - tr.last_seen_s > self.lost_timeout_s
        ]
        for i in stale:
            del self.tracks[i]
        self.counters.retired += len(stale)
        return stale
