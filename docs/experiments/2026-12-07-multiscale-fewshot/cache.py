"""Cache, per dataset, what the multiscale few-shot rules need (once; the rules then run in seconds).

For every window of ``evaluation.fewshot.eval_windows`` (the benchmark's windows, bundled encoder):
* ``emb3``: the window's embedding (what ``haad eval fewshot`` scores);
* ``sup_emb``: its 1 s crops every ``CROP_STRIDE`` frames (edge/short_scale.py's support crops,
  ``short_profile``), embedded: ``(W, 9, D)``; ``sup_dct``: the same crops' raw-DCT features;
* ``live_emb``: the crops the live worker scores of this window (``edge.short_scale.live_crops``: the
  last 1 s; of a clip shorter than a window, its share of 1 s in the re-timed window), at every
  ``CROP_STRIDE`` offset of that size, ``live_start`` their first frames (the last is the live one);
  ``live_dct`` their raw-DCT features.

    python cache.py kinder-gator msr nw-ucla utkinect    # -> /tmp/h-k3/cache-D.npz
"""

from __future__ import annotations

import sys
import time

import numpy as np
import torch

from edge.backends.raw_dct import RAW_DCT_M, raw_dct_features
from edge.short_scale import CROP_STRIDE, crop_frames
from evaluation.fewshot import eval_windows
from models.embedding import embed_all
from models.encoder import DEFAULT_ENCODER_PATH, encoder_embed_fn, load_encoder
from models.preprocess import ClipError, clip_frames, crop_starts, crop_windows
from training.datasets import load_dataset
from training.protocol import split_for

torch.set_num_threads(2)


def say(*parts: object) -> None:
    sys.stdout.write(" ".join(map(str, parts)) + "\n")
    sys.stdout.flush()


def main() -> None:
    encoder, spec, _ = load_encoder(DEFAULT_ENCODER_PATH)
    embed = encoder_embed_fn(encoder)
    rawdct = raw_dct_features(RAW_DCT_M)
    n = crop_frames(1.0, spec)
    for dataset in sys.argv[1:]:
        t0 = time.time()
        clipset = load_dataset(dataset, None)
        split = split_for(dataset, clipset.subjects, clipset.labels)
        tw = eval_windows(clipset, split, spec)
        by_name = {c.name: c for c in clipset.clips}
        frames_of = []
        for name in tw.names:
            c = by_name[name]
            try:
                frames_of.append(len(clip_frames(c.joints, c.times, spec)))
            except ClipError:
                frames_of.append(-1)
        w = tw.windows.astype(np.float32)
        f = spec.frames
        emb3 = embed_all(embed, w)
        k = len(crop_starts(f, n, CROP_STRIDE))
        sup_crops = crop_windows(w, n, spec, CROP_STRIDE)  # (W*k, F, J, 3) window by window
        sup_emb = embed_all(embed, sup_crops).reshape(len(w), k, -1)
        sup_dct = rawdct(sup_crops).reshape(len(w), k, -1)
        # live crop size per window (edge.short_scale.live_crops' rule)
        m = np.array([frames_of[c] for c in tw.clip_of])
        sizes = np.where(m >= f, n, np.minimum(f, np.maximum(2, np.round(f * n / np.maximum(m, 1))))).astype(
            int
        )
        live_emb = np.empty((len(w), k, emb3.shape[1]), np.float32)
        live_dct = np.empty((len(w), k, sup_dct.shape[2]), np.float32)
        live_start = np.full((len(w), k), -1, int)
        live_emb[:] = np.nan
        live_dct[:] = np.nan
        same = sizes == n
        live_emb[same], live_dct[same] = sup_emb[same], sup_dct[same]
        live_start[same] = crop_starts(f, n, CROP_STRIDE)
        for size in np.unique(sizes[~same]):
            rows = np.flatnonzero(sizes == size)
            starts = crop_starts(f, int(size), CROP_STRIDE)
            cw = crop_windows(w[rows], int(size), spec, CROP_STRIDE)
            e = embed_all(embed, cw).reshape(len(rows), len(starts), -1)
            dd = rawdct(cw).reshape(len(rows), len(starts), -1)
            # right-aligned: the last column is always the live crop
            live_emb[rows, k - len(starts) :] = e[:, -k:]
            live_dct[rows, k - len(starts) :] = dd[:, -k:]
            live_start[rows, k - len(starts) :] = starts[-k:]
        np.savez(
            f"/tmp/h-k3/cache-{dataset}.npz",
            emb3=emb3, sup_emb=sup_emb, sup_dct=sup_dct, live_emb=live_emb, live_dct=live_dct,
            live_start=live_start, clip_of=tw.clip_of, labels=np.array(tw.labels), names=np.array(tw.names),
            views=np.array(tw.views), clip_frames=np.array(frames_of), win_dct=rawdct(w),
        )  # fmt: skip
        say(dataset, len(w), "windows", len(tw.labels), "clips", f"{time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
