"""A seeded sweep of broken clip files through :func:`clips.load_clips` (what ``haad enroll`` and
``haad eval`` read): keys dropped, of the wrong type or shape, text where numbers go, NaN, infinite
and huge values, one frame, no frames; files truncated, bytes flipped, empty, text. Each is read or
refused with a :class:`ClipFileError` naming the file, never another exception."""

from __future__ import annotations

import io
import logging
import random
import struct
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from clips import load_clips
from clips.files import ClipFileError

_CLIPS, _FRAMES = 3, 40


def _valid(rng: np.random.Generator) -> dict[str, np.ndarray]:
    body = rng.normal(size=(20, 3)).astype(np.float32)
    body[:, 1] = np.linspace(1.8, 0.0, 20)  # upright, as the reader checks
    joints = body + rng.normal(scale=0.01, size=(_CLIPS * _FRAMES, 20, 3)).astype(np.float32)
    return {
        "joints": joints,
        "offsets": np.arange(_CLIPS + 1) * _FRAMES,
        "labels": np.array(["a", "b", "a"]),
        "subjects": np.array(["s1", "s2", "s3"]),
        "layout": np.array("kinect_v1"),
        "timestamps": np.concatenate([np.arange(_FRAMES) / 30.0] * _CLIPS),
        "names": np.array(["x", "y", "z"]),
    }


def _numeric(a: np.ndarray) -> bool:
    return a.dtype.kind in "iuf"


_BREAK: tuple[Callable[[np.ndarray], Any], ...] = (
    lambda a: a.astype(str),  # text in a numeric column
    lambda a: np.array("abc"),
    lambda a: np.array([]),
    lambda a: a[:1],  # one frame, one clip
    lambda a: a.reshape(-1),
    lambda a: np.full(a.shape, np.nan) if _numeric(a) else a,
    lambda a: np.full(a.shape, np.inf) if _numeric(a) else a,
    lambda a: -a if _numeric(a) else a,
    lambda a: a * 1e30 if a.dtype.kind == "f" else a,
    lambda a: a.astype(np.float16) if _numeric(a) else a,
    lambda a: a.astype(bool),
    lambda a: a.astype(np.complex64) if _numeric(a) else a,
    lambda a: a.astype("datetime64[s]") if a.dtype.kind in "iu" else a,
    lambda a: a[..., :2] if a.ndim == 3 else a,
    lambda a: np.zeros((0, *a.shape[1:]), a.dtype),  # no frames
    lambda a: np.array([b"bytes"]),
    lambda a: np.array(2**62),
    lambda a: np.array([[1, 2], [3, 4]]),
)


def _outcome(path: Path, **kw: Any) -> str | None:
    """What is wrong with how ``path`` was read (None: read, or refused as it should be)."""
    try:
        load_clips(path, **kw)
    except ClipFileError as e:
        return None if str(path) in str(e) else f"{path.name}: the error names no file: {e}"
    except Exception as e:  # noqa: BLE001 - what the sweep is looking for
        return f"{path.name}: {type(e).__name__}: {e}"
    return None


@pytest.fixture(autouse=True)
def _quiet(caplog: pytest.LogCaptureFixture):  # type: ignore[no-untyped-def]
    # The reader warns of what it reads as missing; thousands of those are no finding here.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        caplog.set_level(logging.ERROR)
        yield


def test_clip_sets_with_broken_keys_are_read_or_refused_naming_the_file(tmp_path: Path) -> None:
    rng, arrays = random.Random(20261207), np.random.default_rng(20261207)
    wrong = []
    for i in range(250):
        d = _valid(arrays)
        done = []
        for _ in range(rng.randint(1, 2)):
            key = rng.choice([*d, "fps", "views", "frame_labels"])
            if rng.random() < 0.1:
                d.pop(key, None)
                done.append(f"no {key}")
                continue
            given = d.get(key, np.full(_CLIPS, 30.0) if key == "fps" else np.array(["v"] * _CLIPS))
            k = rng.randrange(len(_BREAK))
            try:
                d[key] = _BREAK[k](given)
            except (TypeError, ValueError, IndexError):  # no such array ("v" as bool): nothing to save
                continue
            done.append(f"{key} broken {k}")
        path = tmp_path / f"c{i}.npz"
        np.savez(path, **d)
        for label in (None, "a"):
            if (problem := _outcome(path, label=label)) is not None:
                wrong.append(f"{'; '.join(done)}: {problem}")
    assert wrong == []


def _saved(compressed: bool) -> bytes:
    out = io.BytesIO()
    (np.savez_compressed if compressed else np.savez)(out, **_valid(np.random.default_rng(7)))
    return out.getvalue()


def _zip_entry(raw: bytes, field: int, value: int) -> bytes:
    """``raw`` with a 2-byte field of its first central directory entry set to ``value``."""
    at = raw.index(b"PK\x01\x02") + field
    return raw[:at] + struct.pack("<H", value) + raw[at + 2 :]


def test_damaged_and_odd_files_are_refused_naming_the_file(tmp_path: Path) -> None:
    # Each crafted file a few bytes off a good one; the first four raised TokenError, MemoryError
    # (the header's shape 218 TiB), NotImplementedError and zlib.error out of haad enroll before.
    plain, packed = _saved(False), _saved(True)
    header = io.BytesIO()
    np.save(header, np.zeros((5, 20, 3), np.float32))
    files: list[tuple[str, bytes]] = [
        ("header.npy", header.getvalue().replace(b"'fortran_order': False", b"'fortran_order':)False")),
        ("huge.npy", header.getvalue().replace(b"'shape': (5, 20, 3)", b"'shape': (999999999999, 20, 3)")),
        ("version.npz", _zip_entry(plain, 6, 146)),  # needs zip version 14.6 to extract
        ("inflate.npz", packed[:200] + bytes(b ^ 0xFF for b in packed[200:260]) + packed[260:]),
        ("method.npz", _zip_entry(plain, 10, 99)),  # a compression method zipfile lacks
        ("lzma.npz", _zip_entry(packed, 10, 14)),
        ("bz2.npz", _zip_entry(packed, 10, 12)),
    ]
    rng = random.Random(7)
    for k, raw in enumerate([plain, packed]):
        files += [(f"cut{k}-{n}.npz", raw[:n]) for n in range(0, len(raw), len(raw) // 40)]
        for i in range(150):
            b = bytearray(raw)
            for _ in range(rng.randint(1, 4)):
                b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
            files.append((f"flip{k}-{i}.npz", bytes(b)))
    for k, text in enumerate([b"", b"x", b"\x93NUMPY", b"PK\x03\x04", b"joints,offsets\n1,2\n"]):
        files += [(f"odd{k}.npz", text), (f"odd{k}.npy", text)]
    wrong = []
    for name, content in files:
        (tmp_path / name).write_bytes(content)
        if (problem := _outcome(tmp_path / name)) is not None:
            wrong.append(problem)
    for k, arr in enumerate(
        [
            np.zeros((0, 20, 3)),
            np.zeros((1, 20, 3)),
            np.zeros((5, 20)),
            np.array("x"),
            np.full((5, 20, 3), np.nan),
            np.zeros((3, 2, 20, 3)),
            np.array(["a", "b"]),
            np.zeros((5, 20, 3), complex),
            np.zeros((5, 21, 3)),
            np.ones((5, 20, 3), bool),
            np.zeros((5, 20, 3), "datetime64[s]"),
            np.zeros((5, 0, 3)),
        ]
    ):
        np.save(tmp_path / f"a{k}.npy", arr)
        if (problem := _outcome(tmp_path / f"a{k}.npy")) is not None:
            wrong.append(f"{arr.shape} {arr.dtype}: {problem}")
    assert wrong == []
