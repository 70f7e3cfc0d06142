"""The action encoder's architecture and checkpoint identity, readable without torch.

An ONNX Runtime host reads a checkpoint's sidecar (architecture, window spec) through this module and
never imports torch; :mod:`models.encoder` builds the network from the same :class:`EncoderConfig`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from models.checkpoint import load_metadata
from models.preprocess import WindowSpec

KIND = "haad.encoder"
DEFAULT_ENCODER_PATH = Path(__file__).resolve().parent / "weights" / "encoder.safetensors"


@dataclass(frozen=True)
class EncoderConfig:
    """Architecture of :class:`models.encoder.ActionEncoder` (stored with its weights).

    joints / frames: window shape it accepts. dct_m: low DCT frequencies kept (paper: 10).
    hidden: graph-conv feature width (paper: 128); the embedding of one encoder has this size (the
        hidden features max-pooled over joints). blocks: residual blocks of two GC layers (4).
    dropout: applied inside residual blocks during training.
    members: independently trained encoders of this architecture (:class:`models.encoder.EncoderEnsemble`)
        whose embeddings are concatenated; 1 is a single encoder.
    normalize: scale embeddings to unit length. Training compares embeddings by cosine similarity
        (Eq. 5), so their length carries no trained meaning; on the unit sphere the Euclidean scores
        of Eq. (6) lie in [0, 2] for every profile and measured slightly better on MSR / UTKinect.
    """

    joints: int = 20
    frames: int = 60
    dct_m: int = 10
    hidden: int = 128
    blocks: int = 4
    dropout: float = 0.0
    normalize: bool = True
    members: int = 1

    @property
    def embedding_dim(self) -> int:
        return self.members * self.hidden

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> EncoderConfig:
        return cls(**d)


def read_encoder_metadata(path: Path | None = None) -> tuple[EncoderConfig, WindowSpec, dict[str, Any]]:
    """(architecture, window spec, whole sidecar) of an encoder checkpoint; default the bundled one."""
    meta = load_metadata(Path(path) if path is not None else DEFAULT_ENCODER_PATH, KIND)
    return EncoderConfig.from_dict(meta["encoder"]), WindowSpec.from_dict(meta["window"]), meta
