"""Whether a video given to ``haad enroll`` shows several people for much of its length.

Enrolment reads a video with the one-person estimator, which follows whoever it finds: in a crowd its
skeleton drifts and jumps from one body to another, and the profile enrols those splices as one
person's motion (vtest.avi's walkers: a most vigorous second of 3.44 torso lengths/s, against 0.9-2.1
for clips of one person). The several-people estimator (pose_frontend/multi.py) counts who is in view
at :data:`CHECK_FPS`; a video where several people are in view in :data:`CROWDED_SHARE` of the frames
checked is refused, saying how to enrol it. Every one-person video of MediaPipe's test media shows one
person in every frame checked; vtest.avi several in 139 of 159.
"""

from __future__ import annotations

import math
import threading
from pathlib import Path

from bus.messages import SkeletonFrame
from config.frontend import EstimatorConfig, PeopleConfig, StreamConfig, VideoSourceConfig

# Frames checked per second of video: people in view change over seconds, and a several-people frame
# costs several landmark passes.
CHECK_FPS = 2.0
# Share of the frames checked with several people in view that makes a video a crowd's.
CROWDED_SHARE = 0.25


class _Counter:
    """A publisher counting the frames with several people; it stops the loop once ``enough`` of them
    make the video a crowd's whatever its other frames show (None: reads it all)."""

    def __init__(self, enough: int | None, stop: threading.Event) -> None:
        self.frames = self.crowded = self.most = 0
        self._enough, self._stop = enough, stop

    def publish(self, frame: SkeletonFrame, *, wait: object = None) -> bool:
        people = len(frame.person_ids)
        self.frames += 1
        self.crowded += people > 1
        self.most = max(self.most, people)
        if self._enough is not None and self.crowded >= self._enough:
            self._stop.set()
        return True


def crowd_problem(path: Path) -> str | None:
    """Why the video at ``path`` cannot be enrolled as one person's (several people in view in at
    least :data:`CROWDED_SHARE` of its frames checked), or None."""
    from pose_frontend.process import run_stream
    from pose_frontend.sources import VideoFileSource

    video = VideoFileSource(path)
    # its length, as its container says, ends the check once a crowd is sure (0: not said, read it all)
    expected = video.frame_count / video.fps * CHECK_FPS
    stop = threading.Event()
    counter = _Counter(math.ceil(CROWDED_SHARE * expected) or None, stop)
    source = VideoSourceConfig(path=str(path), realtime=False)
    people = EstimatorConfig(people=PeopleConfig())
    run_stream(StreamConfig(id="enrol", source=source, estimator=people, pose_fps=CHECK_FPS), counter, stop)
    if not counter.frames or counter.crowded < CROWDED_SHARE * counter.frames:
        return None
    checked = (
        f"the first {counter.frames} frames checked" if stop.is_set() else f"{counter.frames} frames checked"
    )
    return (
        f"{path.name}: several people are in view (up to {counter.most}) in {counter.crowded} of {checked}; "
        "a video is read with the one-person estimator, which follows whoever it finds, so their motions "
        "would be enrolled spliced as one person's: cut the video to one person, or record it with a "
        "several-people estimator (a stream with `estimator: {people: {}}`) keeping one person "
        "(`haad frontend record edge.yaml --stream ID --person longest --out clip.npz`) and enrol the .npz"
    )
