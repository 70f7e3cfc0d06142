"""What the review server's routes share: the alert log, the profiles, auth, and the encoder that
"mark as normal" needs (loaded on first use, once)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from config.serve import ServeConfig
from config.worker import CalibrationConfig, WorkerConfig
from edge.backends import EncoderBackend
from edge.profiles import ProfileStore
from edge.review.alert_log import ReviewLog
from edge.review.auth import Auth
from edge.store import AlertStore


@dataclass
class ReviewContext:
    cfg: ServeConfig
    log: ReviewLog  # the alert log, open or opened once it answers
    profiles: ProfileStore
    auth: Auth
    calibration: CalibrationConfig = field(default_factory=CalibrationConfig)
    stride: int = 5  # the live stride: marked alerts' stretches are re-cut at it (edge/feedback.py)
    # the worker's: which windows of a marked alert it finds normal already
    feedback_reach: float = WorkerConfig.model_fields["feedback_reach"].default
    make_backend: Callable[[], EncoderBackend] | None = None
    streams: Mapping[str, Sequence[str]] = field(default_factory=dict)  # configured stream -> profiles
    status_every_s: float = 5.0
    snapshots_dir: Path | None = None  # the alerts' pictures (edge.snapshots.alerts_root); None: none
    stopping: threading.Event = field(default_factory=threading.Event)  # the server shuts down: streams end
    _backend: EncoderBackend | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def store(self) -> AlertStore:
        """The alert log; :class:`~edge.review.alert_log.LogNotOpen` (a 503) until it has answered."""
        return self.log.store()

    def backend(self) -> EncoderBackend:
        """The encoder, loaded on first call; RuntimeError when this server runs without one."""
        with self._lock:
            if self._backend is None:
                if self.make_backend is None:
                    raise RuntimeError("this server runs without an encoder (serve.encoder: false)")
                self._backend = self.make_backend()
            return self._backend
