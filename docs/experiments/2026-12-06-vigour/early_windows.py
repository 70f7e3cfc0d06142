"""Growing segments scored as they grow, not held until the segment ends short: ``haad eval stream``
with the worker patched (scratch, not the product). MODE: ``full`` (each growing window scored whole
and by its last second, as short segments are at their end), ``crop`` (by its last second and its
vigour only), ``vigour`` (by its vigour only):

    python docs/experiments/2026-12-06-vigour/early_windows.py MODE --dataset kinder-gator-calm

Nothing is held for a segment's end, so short segments lose their whole-window score too. The
product's own growing windows (ReadyWindow.growing, kept after this measurement) are turned off here.
"""

from __future__ import annotations

import sys

import numpy as np

import evaluation.stream as stream_eval
from edge import pipeline as worker
from edge.window import StreamWindow
from haad.cli import app

MODE = sys.argv[1]
_short_windows = StreamWindow._short_windows
_init = StreamWindow.__init__


def _without_growing(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
    _init(self, *args, **{**kwargs, "growing": False})


def _at_once(self, t_end, sent_at):  # noqa: ANN001, ANN202
    _short_windows(self, t_end, sent_at)
    self._early = [*getattr(self, "_early", []), *self._held]
    self._held.clear()


def _releasing(name: str) -> None:
    method = getattr(StreamWindow, name)

    def wrapped(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        out = method(self, *args, **kwargs)
        early, self._early = getattr(self, "_early", []), []
        return out + early

    setattr(StreamWindow, name, wrapped)


class Growing(worker.Pipeline):
    """Growing windows (``segment_frames`` set) scored by their last second and vigour (``crop``) or
    by vigour alone (``vigour``)."""

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        take = self.batcher.take

        def taking():  # noqa: ANN202
            batch = take()
            self._items = batch.items if batch is not None else ()
            return batch

        self.batcher.take = taking  # type: ignore[method-assign]

    def _with_short_scale(self, scores, crop_embeddings, streams, vigour_ratios=None):  # noqa: ANN001, ANN201
        growing = np.array([w.segment_frames is not None for w in self._items])
        if not growing.any():
            return super()._with_short_scale(scores, crop_embeddings, streams, vigour_ratios)
        scores = scores.copy()
        scores[growing] = 0.0
        short = self.short_scorer.score(crop_embeddings, streams) / self.short_scorer.thresholds
        if MODE == "vigour":
            short[growing] = 0.0
        if vigour_ratios is not None:
            short = worker.vigour.hinge(short, vigour_ratios)
        ones = np.ones_like(self.short_scorer.thresholds)
        return worker.fuse(scores, short, self.scorer.thresholds, ones), short


def main() -> None:
    StreamWindow.__init__ = _without_growing  # type: ignore[method-assign]
    StreamWindow._short_windows = _at_once  # type: ignore[method-assign]
    for name in ("push", "reset", "finish"):
        _releasing(name)
    if MODE in ("crop", "vigour"):
        replay = stream_eval.replay

        def growing_replay(stream, profile, backend, cfg, make_pipeline=Growing):  # noqa: ANN001, ANN202
            return replay(stream, profile, backend, cfg, make_pipeline)

        stream_eval.replay = growing_replay
    sys.argv = ["haad", "eval", "stream", *sys.argv[2:]]
    app()


if __name__ == "__main__":
    main()
