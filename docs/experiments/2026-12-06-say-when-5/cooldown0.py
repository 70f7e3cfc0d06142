"""Issue 24 (5), table 2: ``alert_rules.py`` on kinder-gator-short-gaps (base, geo) with the episodes'
``cooldown_s`` at 0 instead of the default, to see what the cooldown after a false alert hides.

    PYTHONPATH=. python docs/experiments/2026-12-06-say-when-5/cooldown0.py
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import alert_rules  # noqa: E402

from config.edge import EdgeConfig  # noqa: E402


def no_cooldown() -> EdgeConfig:
    cfg = EdgeConfig()
    episodes = cfg.worker.episodes.model_copy(update={"cooldown_s": 0.0})
    return cfg.model_copy(update={"worker": cfg.worker.model_copy(update={"episodes": episodes})})


alert_rules.EdgeConfig = no_cooldown  # type: ignore[misc, assignment]
alert_rules.main("kinder-gator-short-gaps", ["base", "geo"])
