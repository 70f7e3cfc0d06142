"""Several people in one camera: every person gets an id, a canonical skeleton and a box per frame.

Per frame (:meth:`MultiPoseEstimator.estimate`):

1. each tracked person's landmarks are read in their region (MediaPipe's own tracking: the region
   follows the last landmarks; a person not seen coasts at their last velocity for
   ``lost_timeout_s``, looked for in their region for the first ``REGION_RESUME_S`` of it, then
   only resumed by a detection);
2. two tracks that read one person keep one pose (:meth:`PersonTracker.losers_of_duplicates`);
   a track whose person was lost where it crossed another, and whose reading walks that person's
   way, is given it back (:meth:`PersonTracker.crossed`);
3. BlazePose's detector looks for new people on a few tiles of the frame (``tiles_per_frame``):
   tiles 4x the smallest person's height, half-overlapping, then twice, four times as large, up to
   the whole frame, swept in turn over successive frames (the first frame all of them), and the
   whole frame every frame, so that someone large enough for it is found at once; people small in
   the frame are large in a tile, where the 224 x 224 detector sees them. People already tracked
   are greyed out of the frame it looks at, so that someone beside them is not outshone;
4. a detection outside every tracked person starts a landmark pass in its region: it resumes the
   nearest lost track, or starts a new id (where it shows that tracks changed people at a
   crossing, each takes back its own and the detection resumes its track);
5. only confirmed tracks are given out (:mod:`pose_frontend.tracking`: found by the detector and
   read standing, read standing twice in a row, walked, moved its limbs against its torso, or read
   upright or lying in every frame for 2 s, keeping its limbs' lengths).

Each person has their own landmark graph (:class:`RoiLandmarker`), so landmark smoothing never
mixes two people. Cost grows with the number of people (one landmark pass each, ~10 ms on a 2-core
host) plus ``tiles_per_frame`` + 1 detector passes; ``haad bench frontend`` measures it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from config.frontend import PeopleConfig
from pose_frontend.estimator import Closing, PoseResult, check_frame, to_canonical_pose
from pose_frontend.graphs import Detection, PersonDetector, Roi, RoiLandmarker
from pose_frontend.tracking import (
    BODY_LANDMARKS,
    DUPLICATE_IOU,
    Box,
    Crossing,
    PersonTracker,
    box_height,
    box_iou,
    landmark_box,
    landmark_extent,
    pose_distance,
)

# BlazePose's detector finds people down to about a quarter of its input's side (measured on
# vtest.avi: docs/experiments/2026-12-04-multi-person-frontend.md).
DETECTOR_REACH = 4
# A person's box does not shrink to less than this in one frame, nor is a new person's box this
# much smaller than a tracked person's it lies within: such a pose is a fragment (a head, an arm of
# the person in front) read as a whole body.
FRAGMENT_SCALE = 0.6
OVERSIZE = 1.25
# A lost track's own region is read for this long (a missed reading, a blink of occlusion); after
# that only a detection resumes it. On vtest.avi a lost track's region, coasting for 0.7 s beside a
# walking pair, read crumpled bodies lying over them (visibility 0.64-0.66) and published them under
# its id; with 0.3 s the hand count is unchanged (117 of 122), skeletons on no counted person halve
# (docs/experiments/2026-12-07-vtest-false-alerts.md).
REGION_RESUME_S = 0.3
Tile = tuple[int, int, int, int]  # x, y, width, height in frame pixels


@dataclass(frozen=True)
class PersonPose:
    """One tracked person in one frame.

    track_id: stable while the person is tracked (ids start at 1 and are never reused).
    joints: ``(20, 3)`` canonical skeleton (models/skeleton.py), metres, hip-centred.
    visibility: ``(20,)`` in [0, 1].
    box: ``(x0, y0, x1, y1)`` around the landmarks, frame pixels.
    score: mean visibility of the body landmarks (shoulders to ankles), in [0, 1].
    landmarks: MediaPipe's 33 landmarks, image and world.
    """

    track_id: int
    joints: np.ndarray
    visibility: np.ndarray
    box: Box
    score: float
    landmarks: PoseResult


def _starts(length: int, side: int) -> list[int]:
    if side >= length:
        return [0]
    starts = list(range(0, length - side + 1, side // 2))
    if starts[-1] != length - side:
        starts.append(length - side)
    return starts


def sweep_tiles(width: int, height: int, min_person_px: int) -> list[Tile]:
    """The detector's tiles for a ``width`` x ``height`` frame, coarse first: the frame, then
    half-overlapping squares of side ``DETECTOR_REACH * min_person_px`` doubled until one would
    span the frame, larger squares first."""
    tiles: list[Tile] = []
    side = DETECTOR_REACH * min_person_px
    while side < max(width, height):
        tiles = [
            (x, y, min(side, width), min(side, height))
            for y in _starts(height, side)
            for x in _starts(width, side)
        ] + tiles
        side *= 2
    return [(0, 0, width, height), *tiles]


def _suppress_repeats(detections: list[Detection]) -> list[Detection]:
    """One detection per person: tiles overlap, so a person may be found in several."""
    kept: list[Detection] = []
    for d in sorted(detections, key=lambda d: -d.score):
        if all(
            np.hypot(d.roi.cx - k.roi.cx, d.roi.cy - k.roi.cy) > 0.1 * max(d.roi.size, k.roi.size)
            for k in kept
        ):
            kept.append(d)
    return kept


def _shrunk(box: Box, before: Box) -> bool:
    """Whether a person's box shrank too much to be them (see :data:`FRAGMENT_SCALE`)."""
    return box_height(box) < FRAGMENT_SCALE * box_height(before)


class _Body(NamedTuple):
    """A read pose's size: its landmarks' box in the frame, and their whole extent (parts the model
    places outside the frame included)."""

    box: Box
    extent: Box


def _body(pose: np.ndarray, width: int, height: int) -> _Body:
    return _Body(landmark_box(pose, width, height), landmark_extent(pose))


def _fragment_of(body: _Body, other: _Body) -> bool:
    """Whether a body lies mostly within the box of ``other`` (grown by a fifth of its height: the
    landmarks stop short of the hair and the hands' ends) and is much smaller: a part of that person.
    Sizes are the whole extents: a person seated in front of a standing one, their legs cut off by
    the frame, has a box half the other's but a body as large."""
    box, around = body.box, other.box
    m = 0.2 * box_height(around)
    ix = max(0.0, min(box[2], around[2] + m) - max(box[0], around[0] - m))
    iy = max(0.0, min(box[3], around[3] + m) - max(box[1], around[1] - m))
    area = max(1.0, (box[2] - box[0]) * (box[3] - box[1]))
    return ix * iy > 0.6 * area and _shrunk(body.extent, other.extent)


class MultiPoseEstimator(Closing):
    """``estimate(rgb, timestamp_s)`` -> a :class:`PersonPose` per person seen, ordered by id;
    ``retired`` then lists the ids that frame retired (not seen for ``lost_timeout_s``: gone), and
    ``tracker.counters`` counts what the tracker did.

    ``first_id``: the first track id to give (ids are never reused: a restarted frontend's go on).
    Feed frames of one camera in time order. Create it in the process that uses it (MediaPipe
    graphs are neither fork- nor pickle-safe) and close it when done.
    """

    def __init__(self, config: PeopleConfig, first_id: int = 1) -> None:
        self.config = config
        self.tracker = PersonTracker(config.max_people, config.lost_timeout_s, first_id=first_id)
        self.detector_passes = 0
        self.landmark_passes = 0
        self.retired: list[int] = []  # ids retired by the last frame: those people are gone for good
        self.fragments = 0
        self._detector = PersonDetector(config.min_detection_confidence)
        self._landmarkers: dict[int, RoiLandmarker] = {}
        self._rois: dict[int, Roi] = {}  # where to read each person next (as of when last seen)
        self._tiles: list[Tile] = []
        self._next_tile = 0
        self._first_frame = True

    def _landmarker(self) -> RoiLandmarker:
        return RoiLandmarker(self.config.min_presence_confidence, smooth=self.config.smooth_landmarks)

    def _read(self, landmarker: RoiLandmarker, rgb: np.ndarray, roi: Roi) -> tuple[PoseResult, Roi] | None:
        self.landmark_passes += 1
        return landmarker.landmarks(rgb, roi)

    def estimate(self, rgb: np.ndarray, timestamp_s: float) -> list[PersonPose]:
        frame = check_frame(rgb)
        height, width = frame.shape[:2]
        if not self._tiles or self._tiles[0][2:] != (width, height):
            self._tiles = sweep_tiles(width, height, self.config.min_person_height_px)
            self._next_tile = 0
        t = timestamp_s
        tracker = self.tracker

        read: dict[int, tuple[PoseResult, Roi]] = {}
        for tid, track in tracker.tracks.items():
            if track.active:
                roi = self._rois[tid]
            elif t - track.last_seen_s > REGION_RESUME_S:
                continue  # coasted this long, its region is a guess: only a detection resumes it
            elif tracker.covered(track.predicted_hip(t), t):
                continue  # hidden behind someone tracked: their region would read that person
            else:
                roi = self._rois[tid].shifted(*track.predicted_shift(t))
            got = self._read(self._landmarkers[tid], self._others_hidden(frame, tid, roi), roi)
            if got is None:
                continue
            box = landmark_box(got[0].image, width, height)
            if box[0] == box[2] or box[1] == box[3]:
                continue  # wholly outside the frame (gone): the model places a body beyond the edge
            if _shrunk(box, track.box):
                self.fragments += 1
                continue
            read[tid] = got
        bodies = {tid: _body(pose.image, width, height) for tid, (pose, _) in read.items()}
        fragments = {a for a in read for b in read if a != b and _fragment_of(bodies[a], bodies[b])}
        self.fragments += len(fragments)
        duplicates = tracker.losers_of_duplicates(
            {k: v[0].image for k, v in read.items() if k not in fragments}, t
        )
        for tid in fragments | duplicates:
            del read[tid]
            self._replace_landmarker(tid)  # its smoothing filter followed someone else
        for tid in tracker.tracks:
            if tid in read:
                pose, next_roi = read[tid]
                tracker.seen(tid, pose.image, landmark_box(pose.image, width, height), t)
                self._rois[tid] = next_roi
            else:
                tracker.missed(tid)
        if crossing := tracker.crossed(None, t):
            self._reassign(crossing, read)

        # Coarse tiles first. Tiles smaller than half the frame look at it with everyone found so far
        # greyed out (beside a tracked person, a small one is outshone); on larger tiles grey boxes
        # over big people leave shapes the detector takes for people.
        for level in self._sweep_share():
            small = 2 * max(level[0][2:]) <= max(width, height)
            unseen = self._seen_hidden(frame, [pose for pose, _ in read.values()]) if small else frame
            for detection, resumes in self._new_people(unseen, level, t, read):
                self._add_person(detection, resumes, unseen, t, read)

        self.retired = tracker.retire_stale(t)
        for tid in self.retired:
            self._landmarkers.pop(tid).close()
            del self._rois[tid]
        return [
            self._person(tid, read[tid][0], width, height)
            for tid in sorted(read)
            if tracker.tracks[tid].confirmed
        ]

    def _sweep_share(self) -> list[list[Tile]]:
        """This frame's tiles, grouped by scale, coarse first: the whole frame and
        ``tiles_per_frame`` of the other tiles in turn (the first frame all of them).

        The whole frame is looked at every frame: only there (and on the few largest tiles) does
        the detector see someone nearly as large as the frame. Swept in turn with the small tiles,
        it came round once in ``len(tiles) / tiles_per_frame`` frames (18 at 1049 x 861, 39 at
        1920 x 1080): a person stepping in close to the camera went unseen for seconds. It costs
        one more detector pass a frame."""
        whole, rest = self._tiles[0], self._tiles[1:]
        if self._first_frame or not rest:
            tiles = list(self._tiles)
        else:
            tiles = [whole]
            for _ in range(min(self.config.tiles_per_frame, len(rest))):
                tiles.append(rest[self._next_tile])
                self._next_tile = (self._next_tile + 1) % len(rest)
        self._first_frame = False
        levels: dict[int, list[Tile]] = {}
        for tile in tiles:
            levels.setdefault(max(tile[2:]), []).append(tile)
        return [levels[side] for side in sorted(levels, reverse=True)]

    def _new_people(
        self, frame: np.ndarray, tiles: list[Tile], t: float, read: dict[int, tuple[PoseResult, Roi]]
    ) -> list[tuple[Detection, int | None]]:
        """Detections on ``tiles`` of people nobody tracks yet, each with the lost track it resumes
        (None: a new person). A detection that reveals a takeover
        (:meth:`PersonTracker.taken_over`) or tracks that changed people where people crossed
        (:meth:`PersonTracker.crossed`) first gives the tracks back their own people."""
        found: list[Detection] = []
        for x, y, w, h in tiles:
            found += self._detector.detect(frame[y : y + h, x : x + w], (x, y))
            self.detector_passes += 1
        fresh = [d for d in _suppress_repeats(found) if not self.tracker.covered((d.roi.cx, d.roi.cy), t)]
        taken: list[tuple[Detection, int | None]] = []
        rest = []
        for d in fresh:
            if takeover := self.tracker.taken_over((d.roi.cx, d.roi.cy), t):
                active, lost = takeover
                self._swap(active, lost, read)
                taken.append((d, active))
            elif crossing := self.tracker.crossed((d.roi.cx, d.roi.cy), t):
                self._reassign(crossing, read)
                taken.append((d, crossing.appeared))
            else:
                rest.append(d)
        return taken + list(
            zip(rest, self.tracker.match_lost([(d.roi.cx, d.roi.cy) for d in rest], t), strict=True)
        )

    def _add_person(
        self,
        detection: Detection,
        resumes: int | None,
        frame: np.ndarray,
        t: float,
        read: dict[int, tuple[PoseResult, Roi]],
    ) -> None:
        """Read the pose at ``detection`` and give it to the track it resumes or to a new one,
        unless it is someone already seen this frame, or a part of them."""
        tracker = self.tracker
        if resumes is None and not tracker.has_room():
            tracker.counters.refused += 1
            return
        height, width = frame.shape[:2]
        # A lost track's graph has seen nobody since (its smoothing starts afresh): reuse it.
        landmarker = self._landmarkers[resumes] if resumes is not None else self._landmarker()
        got = self._read(landmarker, frame, detection.roi)
        box = None if got is None else landmark_box(got[0].image, width, height)
        if (
            got is None
            or box is None
            # Someone seen this frame, as losers_of_duplicates tells them. The boxes count on their
            # own: a person's track lags a fall (its smoothing), and a lying body's short height
            # inflates pose_distance; a new track started on them took the pose next frame, and the
            # fallen person, lying still, was no longer published.
            or any(
                pose_distance(got[0].image, p.image) < tracker.duplicate_distance
                or box_iou(landmark_extent(got[0].image), landmark_extent(p.image)) >= DUPLICATE_IOU
                for p, _ in read.values()
            )
            or any(
                _fragment_of(_body(got[0].image, width, height), _body(p.image, width, height))
                for p, _ in read.values()
            )
            or (resumes is not None and _shrunk(box, tracker.tracks[resumes].box))
            # A tile sees people smaller than itself; a body larger than the tile is a part of
            # someone big (a head, an arm) read as a whole body.
            or box_height(box) > OVERSIZE * detection.image_px
        ):
            if got is not None:
                self.fragments += 1
            if resumes is None:
                landmarker.close()
            return
        pose, next_roi = got
        person = resumes if resumes is not None else tracker.start(pose.image, box, t)
        if person is None:
            landmarker.close()
            return
        self._landmarkers[person] = landmarker
        tracker.seen(person, pose.image, box, t)
        self._rois[person] = next_roi
        read[person] = got

    def _swap(self, active: int, lost: int, read: dict[int, tuple[PoseResult, Roi]]) -> None:
        """The passer-by's track (``lost``) takes the pose ``active`` followed; ``active`` is lost
        until it resumes at its own person."""
        self.tracker.swap(active, lost)
        self._landmarkers[active], self._landmarkers[lost] = (
            self._landmarkers[lost],
            self._landmarkers[active],
        )
        self._rois[active], self._rois[lost] = self._rois[lost], self._rois[active]
        if active in read:
            read[lost] = read.pop(active)

    def _reassign(self, crossing: Crossing, read: dict[int, tuple[PoseResult, Roi]]) -> None:
        """Each track of ``crossing`` takes the pose, landmark graph and region of the track that
        followed its person; the track whose person appeared gets the graph nobody took (the lost
        track's: it has seen nobody since), to read them at the detection."""
        self.tracker.reassign(crossing)
        landmarkers, rois = dict(self._landmarkers), dict(self._rois)
        poses = {giver: read.pop(giver) for giver in set(crossing.takes.values())}
        for taker, giver in crossing.takes.items():
            self._landmarkers[taker], self._rois[taker], read[taker] = (
                landmarkers[giver],
                rois[giver],
                poses[giver],
            )
        for spare in set(crossing.takes) - set(crossing.takes.values()):
            self._landmarkers[crossing.appeared], self._rois[crossing.appeared] = (
                landmarkers[spare],
                rois[spare],
            )

    @staticmethod
    def _seen_hidden(frame: np.ndarray, poses: list[PoseResult]) -> np.ndarray:
        """``frame`` with the people in ``poses`` greyed out."""
        if not poses:
            return frame
        height, width = frame.shape[:2]
        hidden = frame.copy()
        for pose in poses:
            x0, y0, x1, y1 = landmark_box(pose.image, width, height)
            hidden[int(y0) : int(y1) + 1, int(x0) : int(x1) + 1] = 128
        return hidden

    def _others_hidden(self, frame: np.ndarray, tid: int, roi: Roi) -> np.ndarray:
        """``frame`` with the other people in ``roi`` greyed out where they were last seen: in a
        region holding two people side by side the landmark model may jump to the more salient one.
        People overlapping this one by much (a crossing) stay: hiding them would hide this one."""
        mine = self.tracker.tracks[tid].box
        x0, y0, x1, y1 = roi.box()
        hidden = frame
        for other in self.tracker.tracks.values():
            b = other.box
            if other.id == tid or not other.active or b[2] < x0 or b[0] > x1 or b[3] < y0 or b[1] > y1:
                continue
            if box_iou(b, mine) > 0.1:
                continue
            if hidden is frame:
                hidden = frame.copy()
            hidden[int(b[1]) : int(b[3]) + 1, int(b[0]) : int(b[2]) + 1] = 128
        return hidden

    def _replace_landmarker(self, tid: int) -> None:
        self._landmarkers[tid].close()
        self._landmarkers[tid] = self._landmarker()

    def _person(self, tid: int, pose: PoseResult, width: int, height: int) -> PersonPose:
        joints, visibility = to_canonical_pose(pose)
        return PersonPose(
            track_id=tid,
            joints=joints,
            visibility=visibility,
            box=landmark_box(pose.image, width, height),
            score=float(pose.visibility[BODY_LANDMARKS].mean()),
            landmarks=pose,
        )

    def close(self) -> None:
        for landmarker in self._landmarkers.values():
            landmarker.close()
        self._landmarkers.clear()
        self._detector.close()
