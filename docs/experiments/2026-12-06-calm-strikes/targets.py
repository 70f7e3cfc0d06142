"""What the scripts of this folder score: a built-in stream set by name, or FILE:LABEL, a
recording-set file and its normal label, enrolled as `haad eval stream --recordings` enrols it."""

from pathlib import Path

from config.worker import WorkerConfig
from edge.backends import EncoderBackend
from evaluation.recordings import read_recording_set
from evaluation.stream_sets import STREAM_SETS, LabelledStream


def streams_of(target: str, backend: EncoderBackend, cfg: WorkerConfig) -> list[LabelledStream]:
    if target in STREAM_SETS:
        return STREAM_SETS[target](None)
    path, label = target.rsplit(":", 1)
    return read_recording_set(
        Path(path), label, shots=3, spec=backend.spec, min_segment_s=cfg.min_segment_s
    ).streams
