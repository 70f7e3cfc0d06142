"""Enrolment: a few recorded clips of normal behaviour -> a versioned, calibrated profile.

Clips are cut into windows by the benchmark's rule (``models.preprocess`` ``clip_frames`` then
``cut_windows``, the rule the live path uses for short segments too), enlarged with HumanMAC
completions when asked (Algorithm 2: N_s clips -> N_s·(1+N_g) support windows), embedded with the
running encoder backend and given a threshold calibrated from the support set alone
(``edge.scoring.calibrate_threshold``: leave-one-clip-out, or with one clip its two halves).

A clip must hold at least ``worker.min_segment_s`` of skeleton (live never scores less), a lone clip
twice that (:func:`clip_problems`).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from clips import Clip
from config.completions import CompletionSettings
from config.worker import MIN_SEGMENT_S, CalibrationConfig
from edge.backends import EncoderBackend
from edge.profiles import DEFAULT_BEHAVIOUR, ENROLLED, Profile, check_name
from edge.scoring import calibrate_threshold
from edge.segments import min_segment_frames, skeleton_seconds, too_short
from edge.vigour import enrolled_reference
from models.preprocess import (
    ClipError,
    WindowSpec,
    clip_frames,
    clip_to_windows,
    cut_windows,
    normalise_windows,
)
from models.skeleton import JOINT_NAMES

if TYPE_CHECKING:
    from models.humanmac import HumanMAC

log = logging.getLogger("haad.enroll")
# A profile stores its windows as float16 (edge/profiles.py): a coordinate past this would be saved
# as infinite, and re-embedding the profile for another encoder would give NaN.
_STORED_MAX = float(np.finfo(np.float16).max)


@dataclass(frozen=True)
class Augmentation:
    """HumanMAC completions added to every support window (Algorithm 2): the generator, what it
    generates, and the noise seed."""

    generator: HumanMAC
    completions: CompletionSettings = CompletionSettings()
    seed: int = 0

    def settings(self) -> dict[str, Any]:
        """Every setting but the model, JSON-ready (profile metadata, evaluation reports)."""
        return {**self.completions.model_dump(), "seed": self.seed}


def augment_support(windows: np.ndarray, augmentation: Augmentation) -> tuple[np.ndarray, np.ndarray]:
    """The support windows plus ``n_g`` HumanMAC completions of each.

    windows: ``(S, F, J, 3)`` normalised support windows. Returns ``(S·(1+n_g), F, J, 3)`` float32
    windows (the S originals first, then the variants of window 0, of window 1, ...) and
    ``(S·(1+n_g),)`` source ids: the index of the support window each one is or completes. All
    ``S·n_g`` samples are generated in one batched sampling call.
    """
    import torch

    w = np.asarray(windows, dtype=np.float32)
    s, n_g = len(w), augmentation.completions.n_g
    sources = np.arange(s)
    if s == 0:
        return w.copy(), sources
    variants = augmentation.generator.generate(
        w, augmentation.completions, rng=torch.Generator().manual_seed(augmentation.seed)
    )  # (S, n_g, F, J, 3)
    out = np.concatenate([w, variants.reshape(s * n_g, *w.shape[1:])])
    return out, np.concatenate([sources, np.repeat(sources, n_g)])


def clip_error(joints: np.ndarray, error: ClipError) -> str:
    """Why a clip cannot be cut into windows: ``error``, naming the joints never measured where there
    are some (a joint the camera never sees, the hands of an export without them say, leaves no frame
    whole, and the error alone names none)."""
    if np.ndim(joints) != 3 or not len(joints) or np.shape(joints)[1] != len(JOINT_NAMES):
        return str(error)
    measured = np.isfinite(joints).all(axis=-1).any(axis=0)
    if measured.all():
        return str(error)
    if not measured.any():
        return f"{error}: no joint is measured in any frame"
    never = ", ".join(JOINT_NAMES[j] for j in np.flatnonzero(~measured))
    return f"{error}: {never} never measured (NaN in every frame)"


def short_reason(n_frames: int, spec: WindowSpec, min_segment_s: float) -> str | None:
    """Why a clip of ``n_frames`` resampled frames of skeleton is too short to enrol; None if it is not."""
    if n_frames >= min_segment_frames(spec, min_segment_s):
        return None
    return too_short(skeleton_seconds(n_frames, spec), min_segment_s)


def clip_problems(
    lengths: Sequence[tuple[str, int]],
    spec: WindowSpec,
    min_segment_s: float,
    *,
    total: int | None = None,
    videos: Collection[str] = (),
) -> list[str]:
    """Why clips of these lengths (name, resampled frames of usable skeleton) cannot be enrolled
    together; empty when they can. ``total``: clips in the whole enrolment (default: these). The
    rule: every clip holds at least ``min_segment_s`` of skeleton (edge/segments.py: live never
    scores less), and a lone clip twice that, because its threshold comes from its two halves.
    ``videos``: names of videos not yet through pose estimation, whose length is the most skeleton
    they can hold: said so, and to give a longer video (not as skeleton measured)."""
    need = min_segment_frames(spec, min_segment_s)
    problems = [
        f"{name}: the video holds at most {skeleton_seconds(n, spec):.2f} s of skeleton; windows need at "
        f"least {min_segment_s:g} s (worker.min_segment_s): give a longer video"
        if name in videos
        else f"{name}: {why}"
        for name, n in lengths
        if (why := short_reason(n, spec, min_segment_s))
    ]
    lone = (len(lengths) if total is None else total) == 1
    if lone and len(lengths) == 1 and not problems and lengths[0][1] < 2 * need:
        name, n = lengths[0]
        kind = "video" if name in videos else "clip"
        of = "of at most" if name in videos else "of"
        problems.append(
            f"{name}: one {kind} {of} {skeleton_seconds(n, spec):.2f} s cannot set a threshold: with one clip "
            f"its first half is scored against its second half, and each half needs at least "
            f"{min_segment_s:g} s (worker.min_segment_s); enrol a {kind} of at least "
            f"{2 * skeleton_seconds(need, spec):g} s, or a second clip"
        )
    return problems


def case_twins(new: Sequence[str], known: Sequence[str]) -> list[str]:
    """Why behaviours about to be made (``new``) cannot be: each equal to another, of ``known`` (the
    profile's) or of ``new``, but for case: one behaviour named two ways ('walk' and 'Walk' from two
    annotators, --behaviour Walking for 'walking') would be two, the second calibrated on its own."""
    seen = {n.casefold(): n for n in known}
    problems = []
    for n in new:
        twin = seen.setdefault(n.casefold(), n)
        if twin != n:
            problems.append(
                f"behaviours {n!r} and {twin!r} differ only in case: name it one way (the labels, or "
                f"--behaviour {twin}), or give it a name of its own"
            )
    return problems


def behaviour_name(clip: Clip, behaviour: str | None) -> str:
    """The behaviour an enrolment clip shows: the one named, else the clip's label, else ``normal``."""
    return behaviour or clip.label or DEFAULT_BEHAVIOUR


@dataclass
class _Enrolled:
    """The usable clips of one behaviour: their windows (the benchmark's), resampled frames and names."""

    windows: list[np.ndarray] = field(default_factory=list)
    frames: list[np.ndarray] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)


def _clip_key(windows: np.ndarray) -> bytes:
    """What tells one clip's skeleton from another's: its windows as a profile stores them (float16)."""
    return np.asarray(windows, np.float16).tobytes()


def _enrolled_keys(profile: Profile) -> dict[bytes, str]:
    """:func:`_clip_key` of every clip ``profile`` was enrolled from -> why a clip equal to it is skipped."""
    real = profile.enrolled_rows & ~profile.generated_rows
    names = {int(b["id"]): b["name"] for b in profile.behaviour_table}
    keys = {}
    for g in np.unique(profile.groups[real]):
        rows = real & (profile.groups == g)
        behaviour = names[int(profile.behaviour_ids[rows][0])]
        keys[_clip_key(profile.windows[rows])] = f"already enrolled in profile {profile.name} ({behaviour})"
    return keys


def enrolled_already(clips: Sequence[Clip], spec: WindowSpec, base: Profile) -> dict[str, str]:
    """Name -> why, of the ``clips`` whose skeleton ``base`` was enrolled from (:func:`_cut` leaves
    them out): known before the rules on how many clips a behaviour has, so that a repeat is refused
    as enrolled already, not as a lone clip too short to calibrate."""
    keys = _enrolled_keys(base)
    known = {}
    for c in clips:
        try:
            w = clip_to_windows(c.joints, c.times, spec)
        except ClipError:  # unusable: said as such
            continue
        if (why := keys.get(_clip_key(w))) is not None:
            known[c.name] = why
    return known


def _cut(
    clips: Sequence[Clip],
    spec: WindowSpec,
    min_segment_s: float,
    behaviour: str | None,
    enrolled: dict[bytes, str],
) -> tuple[dict[str, _Enrolled], dict[str, str]]:
    """Usable clips by behaviour name (in order of appearance), and why the others were skipped.
    ``enrolled``: :func:`_enrolled_keys` of the profile they join. A clip given twice or enrolled
    before is skipped: calibration would score it against its twin as against another recording."""
    by_behaviour: dict[str, _Enrolled] = {}
    skipped: dict[str, str] = {}
    seen = dict(enrolled)
    for c in clips:
        try:
            f = clip_frames(c.joints, c.times, spec)
            if why := short_reason(len(f), spec, min_segment_s):
                skipped[c.name] = why
                continue
            w = clip_to_windows(c.joints, c.times, spec)  # the benchmark's own windows
        except ClipError as e:
            skipped[c.name] = clip_error(c.joints, e)
            continue
        if (reach := float(np.abs(w).max())) > _STORED_MAX:
            skipped[c.name] = (
                f"a joint lies {reach:.3g} torso lengths from the skeleton's root (a tracking glitch, "
                "or another joint layout than the one given)"
            )
            continue
        if (key := _clip_key(w)) in seen:
            skipped[c.name] = seen[key]
            continue
        seen[key] = f"given twice (the same skeleton as clip {c.name})"
        b = by_behaviour.setdefault(behaviour_name(c, behaviour), _Enrolled())
        b.windows.append(w)
        b.frames.append(f)
        b.sources.append(c.name)
    # Not a warning: the profile's metadata lists them, and `haad enroll` warns of each it was given;
    # a warning here too said every one twice on the terminal.
    for clip_name, why in skipped.items():
        log.info("clip %s skipped: %s", clip_name, why)
    return by_behaviour, skipped


def build_profile(
    name: str,
    clips: Sequence[Clip],
    backend: EncoderBackend,
    *,
    calibration: CalibrationConfig,
    augmentation: Augmentation | None = None,
    min_segment_s: float = MIN_SEGMENT_S,
    split_stride: int = 5,
    behaviour: str | None = None,
    base: Profile | None = None,
) -> Profile:
    """A new (unsaved, version 0) profile from ``clips``; with ``base``, that profile with the clips
    added (save it as its next version).

    Each clip shows the behaviour ``behaviour`` names, else its own label, else ``normal``: a
    clip-set file of several labels enrols a profile of several behaviours. Clips of a behaviour
    ``base`` already has join it (an enrolled one: a behaviour added by feedback is not enrolled
    into). Clips that cannot be used (empty, all-NaN, malformed, under ``min_segment_s`` of skeleton,
    given twice or already in ``base``, or a joint flung past what a profile stores: a glitch) are
    skipped, logged and listed in the metadata (``skipped``). A behaviour of one clip is calibrated from
    windows of that clip's first half against windows of its second half, each cut every
    ``split_stride`` frames (the live stride, so several windows even from a short clip). Raises
    ValueError when no clip is usable, or a lone clip of a behaviour is too short to split
    (:func:`clip_problems`).
    """
    check_name(name)
    if behaviour is not None:
        check_name(behaviour, "behaviour")
    spec = backend.spec
    enrolled = _enrolled_keys(base) if base is not None else {}
    by_behaviour, skipped = _cut(clips, spec, min_segment_s, behaviour, enrolled)
    if not by_behaviour:
        raise ValueError(
            "no usable clip to enrol (" + "; ".join(f"{k}: {v}" for k, v in skipped.items()) + ")"
        )
    known = [b["name"] for b in base.behaviour_table] if base is not None else []
    if twins := case_twins([n for n in by_behaviour if n not in known], known):
        raise ValueError("; ".join(twins))
    prior = reembed(base, backend, calibration) if base is not None else None
    table = {b["name"]: b for b in (prior.behaviour_table if prior is not None else [])}
    for b_name, b in by_behaviour.items():
        old = table.get(b_name)
        if old is not None and old.get("kind", ENROLLED) != ENROLLED:
            raise ValueError(
                f"behaviour {b_name!r} of profile {name} was added by feedback; enrol it under another name"
            )
        before = len(old.get("sources", [])) if old else 0
        lengths = list(zip(b.sources, map(len, b.frames), strict=True))
        if problems := clip_problems(lengths, spec, min_segment_s, total=before + len(lengths)):
            raise ValueError("; ".join(problems))

    now = datetime.now(UTC).isoformat(timespec="seconds")
    next_id = max((int(b["id"]) for b in table.values()), default=-1) + 1
    next_group = int(prior.groups.max()) + 1 if prior is not None else 0
    if prior is not None and prior.calibration_groups is not None:
        next_group = max(next_group, int(prior.calibration_groups.max()) + 1)
    rows: list[
        tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
    ] = []  # windows, groups, behaviours, generated
    halves: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # behaviour id -> its one clip's halves, groups
    for b_name, b in by_behaviour.items():
        entry = table.get(b_name) or {
            "id": next_id,
            "name": b_name,
            "kind": ENROLLED,
            "sources": [],
            "added_at": now,
        }
        next_id += entry["id"] == next_id
        bid = int(entry["id"])
        table[b_name] = {**entry, "sources": [*entry.get("sources", []), *b.sources]}
        support = np.concatenate(b.windows)
        clip_of = np.concatenate([np.full(len(w), next_group + i) for i, w in enumerate(b.windows)])
        next_group += len(b.windows)
        n_real = len(support)
        if augmentation is not None:
            support, source = augment_support(support, augmentation)
            clip_of = clip_of[source]  # variants belong to their source window's clip
        # augment_support puts the originals first
        rows.append((support, clip_of, np.full(len(support), bid), np.arange(len(support)) >= n_real))
        if len(table[b_name]["sources"]) == 1:
            w, half = split_halves(b.frames[0], spec, split_stride)
            halves[bid] = (w, next_group + half)
            next_group += 2
    windows, groups, behaviours, generated = (np.concatenate(column) for column in zip(*rows, strict=True))
    emb = backend.embed(windows)
    cal_w, cal_g, cal_b = [], [], []
    if prior is not None:
        windows = np.concatenate([prior.windows, windows])
        emb = np.concatenate([prior.embeddings, emb])
        groups = np.concatenate([prior.groups, groups])
        behaviours = np.concatenate([prior.behaviour_ids, behaviours])
        generated = np.concatenate([prior.generated_rows, generated])
        if prior.calibration_windows is not None and prior.calibration_groups is not None:
            # A behaviour that had one clip and now has more is calibrated leave-one-clip-out.
            keep = ~np.isin(prior.calibration_behaviour_ids, [table[n]["id"] for n in by_behaviour])
            cal_w.append(prior.calibration_windows[keep])
            cal_g.append(prior.calibration_groups[keep])
            cal_b.append(prior.calibration_behaviour_ids[keep])
    for bid, (w, g) in halves.items():
        cal_w.append(w)
        cal_g.append(g)
        cal_b.append(np.full(len(w), bid))
    has_halves = bool(cal_w) and sum(len(w) for w in cal_w) > 0
    aug_meta = None
    if augmentation is not None:
        aug_meta = {"model": augmentation.generator.fingerprint, **augmentation.settings()}
    prior_meta = prior.meta if prior is not None else {}
    # A profile enrolled before vigour was recorded keeps none: its earlier clips' is unknown.
    vigour = enrolled_reference([f for b in by_behaviour.values() for f in b.frames], spec.fps)
    if prior is not None:
        vigour = max(float(prior_meta.get("vigour", np.nan)), vigour)
    meta = {
        **{k: v for k, v in prior_meta.items() if k != "vigour"},
        **({"vigour": round(vigour, 4)} if np.isfinite(vigour) else {}),
        "model_version": backend.model_version,
        "window": spec.to_dict(),
        "min_segment_s": min_segment_s,
        "sources": [*prior_meta.get("sources", []), *(s for b in by_behaviour.values() for s in b.sources)],
        "skipped": {**prior_meta.get("skipped", {}), **skipped},
        "augmentation": aug_meta if aug_meta is not None else prior_meta.get("augmentation"),
        "behaviours": sorted(table.values(), key=lambda b: int(b["id"])),
    }
    profile = Profile(
        name, prior.version if prior is not None else 0, emb, groups, windows, 1.0, meta,
        np.concatenate(cal_w) if has_halves else None, np.concatenate(cal_g) if has_halves else None,
        behaviours, generated, np.concatenate(cal_b) if has_halves else None,
    )  # fmt: skip
    return calibrated(profile, backend, calibration, split_stride=split_stride if has_halves else None)


def calibrated(
    profile: Profile,
    backend: EncoderBackend,
    calibration: CalibrationConfig,
    *,
    split_stride: int | None = None,
    scale_s: float | None = None,
) -> Profile:
    """``profile`` with its threshold calibrated (edge/scoring.py) on its enrolled behaviours: the
    support windows of those of several clips, the stored halves (``calibration_windows``, embedded
    with ``backend``) of those of one. ``split_stride``: recorded with the calibration (the stride the
    halves were cut at; default: as recorded before). ``scale_s``: the profile's windows are crops of
    that many seconds re-timed (edge/short_scale.py), calibrated with the encoder's prior for them."""
    halves = profile.calibration_behaviour_ids
    in_halves = set(np.unique(halves).tolist())
    support = profile.enrolled_rows & ~np.isin(profile.behaviour_ids, list(in_halves))
    emb, groups, behaviours = (
        profile.embeddings[support],
        profile.groups[support],
        profile.behaviour_ids[support],
    )
    queries = ~profile.generated_rows[support]
    if profile.calibration_windows is not None and profile.calibration_groups is not None and len(halves):
        emb = np.concatenate([emb, backend.embed(profile.calibration_windows.astype(np.float32))])
        groups = np.concatenate([groups, profile.calibration_groups])
        behaviours = np.concatenate([behaviours, halves])
        queries = np.concatenate([queries, np.ones(len(halves), bool)])
    names = {int(b["id"]): str(b["name"]) for b in profile.behaviour_table}
    # Backends written before the prior existed have no such attribute: they calibrate from the clips.
    prior = getattr(backend, "calibration_prior", None) if calibration.prior else None
    if prior is not None and scale_s is not None:
        prior = prior.at_scale(scale_s)
    cal = calibrate_threshold(
        emb, groups, behaviours=behaviours, target_far=calibration.target_far, margin=calibration.margin,
        queries=queries, split=in_halves, names=names if len(names) > 1 else None,
        kappa=prior.kappa(calibration.target_far) if prior is not None else None,
        draws=prior.draws if prior is not None else None,
    )  # fmt: skip
    recorded = profile.meta.get("calibration", {}).get("split_stride")
    stride = split_stride if split_stride is not None else recorded
    meta = {**profile.meta, "calibration": {**cal.to_dict(), "split_stride": stride if len(halves) else None}}
    return replace(profile, threshold=cal.threshold, meta=meta)


def split_halves(frames: np.ndarray, spec: WindowSpec, stride: int) -> tuple[np.ndarray, np.ndarray]:
    """One clip's resampled frames ``(N, J, 3)`` -> normalised windows of its first and of its second
    half, each cut by enrolment's rule every ``stride`` frames, and their half (0 or 1)."""
    dense = replace(spec, clip_stride=stride)
    halves = [frames[: len(frames) // 2], frames[len(frames) // 2 :]]
    windows = [normalise_windows(cut_windows(h, dense), spec) for h in halves]
    return np.concatenate(windows), np.concatenate([np.full(len(w), i) for i, w in enumerate(windows)])


def reembed(profile: Profile, backend: EncoderBackend, calibration: CalibrationConfig) -> Profile:
    """``profile`` as ``backend`` sees it: its support windows re-embedded and its threshold
    recalibrated the same way (unchanged when ``backend`` runs the model it was enrolled with), so
    embeddings of different models are never compared."""
    if profile.model_version == backend.model_version:
        return profile
    emb = backend.embed(profile.windows.astype(np.float32))
    moved = replace(profile, embeddings=emb, meta={**profile.meta, "model_version": backend.model_version})
    return calibrated(moved, backend, calibration)


def default_augmentation(completions: CompletionSettings, path: Path | None = None) -> Augmentation | None:
    """HumanMAC augmentation with the bundled (or given) model; None, with a warning, if the model is
    absent."""
    from models.humanmac import load_humanmac

    try:
        return Augmentation(load_humanmac(path), completions)
    except FileNotFoundError as e:
        log.warning("enrolling without HumanMAC augmentation: %s", e)
        return None
