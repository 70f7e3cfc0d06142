"""The raw-DCT scorer as an encoder backend, so the live path can run it on the very same windows.

A window's "embedding" is its ``RAW_DCT_M`` lowest DCT coefficients over time, flattened (the
``raw-dct`` baseline of ``haad eval fewshot``); scoring, threshold calibration (without a prior) and
alert episodes are the encoder's own. A profile for it is enrolled from the same support windows (``build_profile`` or
``edge.enroll.reembed``). ``haad eval stream`` runs it as the baseline; the worker scores every
short-scale crop with it too, the kinematic term of a moment's score (edge/short_scale.py).
"""

from __future__ import annotations

import numpy as np

from edge.backends.base import check_windows
from models.calibration_prior import CalibrationPrior
from models.dct import dct
from models.embedding import EmbedFn
from models.preprocess import WindowSpec
from models.skeleton import NUM_JOINTS

RAW_DCT_M = 10  # the paper's M: the encoder sees the same 10 frequencies


def raw_dct_features(dct_m: int) -> EmbedFn:
    """The ``raw-dct`` baseline: the same normalised windows' low DCT coefficients, flattened."""

    def embed(windows: np.ndarray) -> np.ndarray:
        b, f, j, c = windows.shape
        return dct(windows.reshape(b, f, j * c), dct_m).reshape(b, -1)

    return embed


class RawDctBackend:
    """``embed``: ``(B, F, 20, 3)`` normalised windows -> ``(B, RAW_DCT_M * 60)`` float32."""

    name = "raw-dct"

    def __init__(self, spec: WindowSpec, dct_m: int = RAW_DCT_M) -> None:
        self.spec = spec
        self.embedding_dim = dct_m * NUM_JOINTS * 3
        self.model_version = f"raw-dct-m{dct_m}"
        self.calibration_prior: CalibrationPrior | None = None  # measured for encoders only
        self._features = raw_dct_features(dct_m)

    def embed(self, windows: np.ndarray) -> np.ndarray:
        w = check_windows(windows, self.spec, NUM_JOINTS)
        return np.asarray(self._features(w), dtype=np.float32)
