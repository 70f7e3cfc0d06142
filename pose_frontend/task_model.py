"""The MediaPipe Tasks ``PoseLandmarker`` model, built here from the two models the mediapipe wheel ships.

The Tasks API reads a ``.task`` bundle: an uncompressed zip of ``pose_detector.tflite`` and
``pose_landmarks_detector.tflite``, each carrying TFLite metadata that says how to normalise the
input image. The wheel ships both models without metadata (for the legacy graph), so
:func:`pose_task_model` adds it with MediaPipe's own metadata writer (detector input in [-1, 1],
landmark model input in [0, 1]) and bundles them, once per MediaPipe version: the file is cached
under ``cache_dir`` with the SHA-256 of what it was built from in its name, and a digest beside it;
a damaged or unverified file is rebuilt.
"""

from __future__ import annotations

import hashlib
import io
import logging
import zipfile
from pathlib import Path

from models.files import is_verified, write_verified

log = logging.getLogger(__name__)

DETECTOR = "pose_detection/pose_detection.tflite"
LANDMARKER = "pose_landmark/pose_landmark_full.tflite"


def _shipped_models() -> tuple[str, bytes, bytes]:
    import mediapipe

    modules = Path(mediapipe.__file__).parent / "modules"
    return mediapipe.__version__, (modules / DETECTOR).read_bytes(), (modules / LANDMARKER).read_bytes()


def _with_metadata(model: bytes, name: str, mean: float, std: float) -> bytes:
    from mediapipe.tasks.python.metadata.metadata_writers import metadata_writer, writer_utils

    writer = metadata_writer.MetadataWriter.create(bytearray(model)).add_general_info(name)
    writer.add_image_input(norm_mean=[mean], norm_std=[std])
    for _ in writer_utils.get_output_tensor_types(bytearray(model)):
        writer.add_feature_output()
    populated, _ = writer.populate()
    return bytes(populated)


def build_bundle(detector: bytes, landmarker: bytes) -> bytes:
    """The ``.task`` bytes for the two shipped models."""
    from mediapipe.tasks.python.metadata.metadata_writers import model_asset_bundle_utils

    models = {
        "pose_detector.tflite": _with_metadata(detector, "pose_detector", 127.5, 127.5),
        "pose_landmarks_detector.tflite": _with_metadata(landmarker, "pose_landmarks_detector", 0.0, 255.0),
    }
    buffer = io.BytesIO()
    # MediaPipe's bundle writer (an uncompressed zip, aligned so that the models can be mapped),
    # here into memory and with fixed dates: the same models give the same bytes.
    with model_asset_bundle_utils.AlignZipFile(buffer, mode="w", alignment=4) as zf:
        for name, content in models.items():
            zf.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), content)
    return buffer.getvalue()


def pose_task_model(cache_dir: Path) -> Path:
    """The cached ``.task`` file for the installed MediaPipe, built on first use."""
    version, detector, landmarker = _shipped_models()
    source = hashlib.sha256(version.encode() + detector + landmarker).hexdigest()
    path = Path(cache_dir) / f"pose_landmarker-{version}-{source[:16]}.task"
    if not is_verified(path):
        if path.exists():
            log.warning("cached pose model %s is damaged or unverified; building it again", path)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_verified(path, build_bundle(detector, landmarker))
        log.info("built MediaPipe pose model %s", path)
    return path
