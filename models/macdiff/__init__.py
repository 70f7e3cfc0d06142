"""MacDiff (Wu et al., ECCV 2024): masked conditional diffusion for skeletons.

``patches`` (patchify and random masking), ``network`` (semantic encoder, AdaLN-conditioned diffusion
decoder) and ``model`` (data scaling, the uses and the checkpoint) are separate; the noise schedule
and DDIM steps are HumanMAC's (``models.humanmac.scheduler``).
"""

from models.macdiff.model import DEFAULT_MACDIFF_PATH, MacDiff, load_macdiff, save_macdiff

__all__ = ["DEFAULT_MACDIFF_PATH", "MacDiff", "load_macdiff", "save_macdiff"]
