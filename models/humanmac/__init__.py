"""HumanMAC (Sec. 3.2): diffusion over DCT coefficients with DCT-completion, for augmentation.

``network`` (ε_θ), ``scheduler`` (cosine schedule, DDIM), ``codec`` (windows <-> normalised DCT
coefficients) and ``sampler`` (the Eq. 4 loop) are separate; ``generator`` joins them into the
:class:`HumanMAC` object the rest of the project loads once and calls.
"""

from models.humanmac.generator import DEFAULT_HUMANMAC_PATH, HumanMAC, load_humanmac, save_humanmac

__all__ = ["DEFAULT_HUMANMAC_PATH", "HumanMAC", "load_humanmac", "save_humanmac"]
