"""``haad eval stream --recordings`` given a user's file of the other kind."""

from __future__ import annotations

from pathlib import Path

import pytest

from clips.files import save_clipset_file
from evaluation.recordings import read_recording_set
from models.preprocess import WindowSpec


def test_a_few_shot_clip_set_given_as_recordings_points_to_haad_eval_fewshot(
    tmp_path: Path, kinder_gator
) -> None:  # type: ignore[no-untyped-def]
    # It said only 'needs frame_labels', leaving a user with a labelled clip set to guess the command.
    clips = tmp_path / "clips.npz"
    save_clipset_file(clips, [c for c in kinder_gator.clips if c.label in ("Walk-in-place", "Bow")][:4])
    with pytest.raises(
        ValueError, match=r"needs frame_labels .*haad eval fewshot --dataset takes such a file"
    ):
        read_recording_set(clips, "Walk-in-place", shots=3, spec=WindowSpec(), min_segment_s=1.0)
