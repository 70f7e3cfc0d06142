"""Recorded skeleton clips: one clip type and the files that hold clips (numpy only).

Every part of haad that reads recordings (enrolment, replay sources, datasets, evaluation) speaks
:class:`Clip` and reads files through :func:`load_clips`.
"""

from clips.clip import Clip, ClipSet
from clips.files import CLIP_FILE_SUFFIXES, load_clips, load_clipset_file, save_clipset_file

__all__ = ["CLIP_FILE_SUFFIXES", "Clip", "ClipSet", "load_clips", "load_clipset_file", "save_clipset_file"]
