"""``haad enroll``: a behaviour profile from a few clips of normal behaviour."""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from clips import CLIP_FILE_SUFFIXES
from config.completions import CompletionSettings, Gap
from haad.cli.common import ConfigOption, check_behaviour, fail, load_edge_config
from models.skeleton import Layout

if TYPE_CHECKING:
    from edge.profiles import Profile

_COMPLETIONS = CompletionSettings()


def enroll_cmd(
    profile: str = typer.Option(
        ..., "--profile", help="Profile name (letters, digits, . _ -; a letter or digit first)."
    ),
    clips: list[Path] = typer.Argument(..., help="Video files, clip-set .npz files or .npy skeleton arrays."),
    config: Path | None = ConfigOption,
    label: str | None = typer.Option(
        None, help="Only clips with this label from clip-set files; the label of .npy files' clips."
    ),
    behaviour: str | None = typer.Option(
        None,
        callback=check_behaviour,
        help="The behaviour the clips show (walking, sitting-down, ...): added to the profile if it exists "
        "(a new version; clips of a behaviour it has join it), else the profile is made of it. Without "
        "it, a new profile is made and each clip-set label becomes a behaviour (unlabelled clips: normal); "
        "an existing profile of that name is replaced, with a warning naming the behaviours it loses.",
    ),
    layout: Layout | None = typer.Option(  # the loader's own list of layouts: none left out
        None,
        help="Joint layout of .npy files (default kinect_v1; docs/benchmark.md says each one's joints).",
    ),
    fps: float | None = typer.Option(None, min=1.0, help="Frame rate of .npy files (default 30)."),
    augment: bool = typer.Option(
        False,
        help="Add HumanMAC completions of every support window. Off by default: on the benchmark they "
        "lowered AUC and raised its spread (docs/humanmac.md).",
    ),
    samples: int | None = typer.Option(
        None, min=1, help=f"HumanMAC completions per support window (default {_COMPLETIONS.n_g})."
    ),
    steps: int | None = typer.Option(
        None, min=1, help=f"DDIM steps of the completions (default {_COMPLETIONS.steps})."
    ),
    observed: int | None = typer.Option(
        None,
        min=1,
        max=59,
        help=f"Frames of each support window the completions keep (default {_COMPLETIONS.observed}).",
    ),
    gap: Gap | None = typer.Option(
        None,
        help="Completions re-generate the window's middle (middle) or predict its last frames (end; "
        f"default {_COMPLETIONS.gap}).",
    ),
    verbose: bool = typer.Option(
        False, "--verbose", "-v", help="Also show the start-up lines MediaPipe and TensorFlow Lite print."
    ),
) -> None:
    """Enrol normal behaviour from a few clips; a running daemon picks the profile up by itself.

    A profile holds one or more behaviours; a window is normal when it is near any of them. Every file
    is checked (readable, long enough) before pose estimation runs on any video. Each clip needs at
    least worker.min_segment_s of skeleton (1 s by default); a behaviour's only clip needs twice that,
    as its threshold then comes from its first half against its second half."""
    from bus.logs import quiet_native_stderr
    from edge.backends import make_backend
    from edge.backends.base import BackendUnavailable
    from edge.enrol_files import load_enrol_clips
    from edge.enroll import build_profile, case_twins, default_augmentation
    from edge.profiles import ProfileError, ProfileStore, check_model, check_name, profile_lock

    completion_options = {
        "n_g": ("--samples", samples), "steps": ("--steps", steps), "observed": ("--observed", observed),
        "gap": ("--gap", gap),
    }  # fmt: skip
    _check_used(clips, label=label, npy={"--layout": layout, "--fps": fps}, augment=augment,
                aug=dict(completion_options.values()))  # fmt: skip
    cfg = load_edge_config(config)
    w = cfg.worker
    store = ProfileStore(Path(cfg.profiles_dir))
    completions = CompletionSettings.model_validate(
        {setting: v for setting, (_, v) in completion_options.items() if v is not None}
    )

    def behaviour_base() -> Profile | None:
        """The profile a --behaviour enrolment adds to (None: a new one, or a whole-profile enrolment)."""
        # An unreadable newest version is passed over, as a running daemon passes it over.
        if behaviour is None:
            return None
        found = store.newest_readable(profile)
        if found is None and store.latest_version(profile) is not None:
            # Versions, none of which loads: a profile of this behaviour alone would drop the others.
            try:
                store.load(profile)
            except ProfileError as e:
                raise ProfileError(f"{e}; enrol it anew without --behaviour to replace it") from e
        return found

    # Exit 2: what the command was given cannot be enrolled (a name, a file, its clips, the config's
    # encoder); exit 1: the profile it met cannot be added to, or the new version cannot be saved.
    try:
        check_name(profile)  # before minutes of pose estimation on a name that cannot be saved
        backend = make_backend(w.backend, Path(cfg.encoder) if cfg.encoder else None)
    except (OSError, ValueError, BackendUnavailable) as e:
        raise fail(str(e), code=2) from None
    try:
        base = behaviour_base()
        before = (
            next((len(b.get("sources", [])) for b in base.behaviour_table if b["name"] == behaviour), 0)
            if base
            else 0
        )
        # A profile this encoder cannot score takes no behaviour: said before pose estimation.
        if base is not None:
            check_model(base, backend)
            # --behaviour Walking for the profile's 'walking': said before minutes of pose estimation
            if twins := case_twins([str(behaviour)], [b["name"] for b in base.behaviour_table]):
                raise ValueError(twins[0])
        with nullcontext() if verbose else quiet_native_stderr():  # pose estimation's boilerplate
            loaded = load_enrol_clips(
                clips, spec=backend.spec, min_segment_s=w.min_segment_s, min_visibility=w.min_visibility,
                label=label,
                **{k: v for k, v in (("layout", layout), ("fps", fps)) if v is not None},  # type: ignore[arg-type]
                enrolled_before=before, behaviour=behaviour, base=base,
            )  # fmt: skip
        aug = default_augmentation(completions) if augment else None

        def build(on: Profile | None) -> Profile:
            return build_profile(
                profile, loaded, backend, calibration=w.calibration, augmentation=aug,
                min_segment_s=w.min_segment_s, split_stride=w.stride, behaviour=behaviour, base=on,
            )  # fmt: skip

        # Built before the lock, whose folder a refusal here (no usable clip, labels equal but for
        # case) would have left behind, empty, for a profile never saved.
        built = build(base)
        with profile_lock(store, profile):
            # What another enrolment or a reviewer saved meanwhile counts too, a profile another
            # `--behaviour` enrolment made meanwhile included (else its behaviour would be replaced).
            latest = behaviour_base()
            if (None if latest is None else latest.version) != (None if base is None else base.version):
                built = build(latest)
            base = latest
            replaced = store.newest_readable(profile) if base is None else None
            saved = store.save(built)
    except ProfileError as e:
        raise fail(str(e)) from None
    except OSError as e:  # profiles_dir (a missing clip is an EnrolmentError, a ValueError)
        raise fail(f"cannot write profile {profile} in {cfg.profiles_dir}: {e.strerror or e}") from None
    except ValueError as e:  # EnrolmentError, or no clip left to enrol once repeats are left out
        raise fail(str(e), code=2) from None
    cal = saved.meta["calibration"]
    how = "first half vs second half" if cal["method"] == "split_halves" else "leave-one-clip-out"
    prior = (
        f"; other people's normal from the encoder's prior: {cal['prior_kappa']:.3f}"
        if cal.get("prior_kappa")
        else ""
    )
    if cal.get("enrolment_kappa"):
        prior += f"; your clips' people measured the same way: {cal['enrolment_kappa']:.3f}"
    ids = saved.behaviour_ids
    kinds = ", ".join(
        f"{b['name']} ({len(b.get('sources', [])) if b.get('kind') != 'feedback' else 'marked normal'}"
        f"{' clip(s)' if b.get('kind') != 'feedback' else ''}, {int((ids == b['id']).sum())} windows)"
        for b in saved.behaviour_table
    )
    typer.echo(
        f"profile {saved.name} v{saved.version}: {len(saved.meta['sources'])} clip(s), "
        f"{saved.meta['support_windows']} support windows, threshold {saved.threshold:.3f} "
        f"({how}: {cal['n_scores']} scores, mean {cal['score_mean']:.3f}, max {cal['score_max']:.3f}{prior}; "
        f"target false-alarm rate {cal['target_far']:.1%}) -> {cfg.profiles_dir}/{saved.name}"
    )
    typer.echo(f"behaviours: {kinds}")
    if "vigour" in saved.meta:  # edge/vigour.py
        typer.echo(
            f"most vigorous second: {saved.meta['vigour']:.2f} torso lengths/s "
            f"(a second {cfg.worker.vigour_factor:g}x that is abnormal)"
        )
    if base is not None and base.version != saved.version - 1:
        passed = range(base.version + 1, saved.version)
        typer.echo(
            f"warning: profile {saved.name} v{saved.version} adds {behaviour} to v{base.version}, the newest "
            f"version that loads (the one a running daemon served): {', '.join(f'v{v}' for v in passed)} "
            f"cannot be read, and what they held is not in v{saved.version}",
            err=True,
        )
    if base is not None and base.model_version != saved.model_version:
        # The whole profile moved to this config's encoder, its threshold recalibrated: say so, as a
        # daemon says it when it re-embeds one.
        typer.echo(
            f"warning: profile {saved.name} v{base.version} was enrolled with model {base.model_version}; "
            f"v{saved.version} holds its windows re-embedded with this config's model {saved.model_version}, "
            f"threshold {base.threshold:.3f} -> {saved.threshold:.3f} (a daemon running the other model "
            "re-embeds it again)",
            err=True,
        )
    if replaced is not None:
        kept = {b["name"] for b in saved.behaviour_table}
        if lost := [b["name"] for b in replaced.behaviour_table if b["name"] not in kept]:
            typer.echo(
                f"warning: profile {saved.name} v{saved.version} replaces v{replaced.version}: behaviour(s) "
                f"{', '.join(lost)} are gone (enrol with --behaviour to add to a profile instead)",
                err=True,
            )
    given = {c.name for c in loaded}  # the metadata lists what earlier versions left out too
    for clip_name, why in saved.meta["skipped"].items():
        if clip_name in given:
            typer.echo(f"warning: clip {clip_name} left out: {why}", err=True)
    for warning in cal["warnings"]:
        typer.echo(f"warning: {warning}", err=True)


def _check_used(
    clips: list[Path], *, label: str | None, npy: dict[str, object], augment: bool, aug: dict[str, object]
) -> None:
    """Exit 2 naming an option that would change nothing: a user who typed --label for --behaviour,
    or --samples without --augment, would otherwise get a profile other than the one asked for."""
    suffixes = {c.suffix.lower() for c in clips}
    unused = [
        *(["--label (it picks clips of clip-set .npz files and labels .npy ones; --behaviour names what "
           "videos show)"] if label is not None and not suffixes & CLIP_FILE_SUFFIXES else []),
        *(f"{flag} (it reads .npy files)" for flag, v in npy.items() if v is not None and ".npy" not in suffixes),
        *(f"{flag} (it shapes --augment's completions)" for flag, v in aug.items() if v is not None and not augment),
    ]  # fmt: skip
    if unused:
        raise fail(f"these options would change nothing here: {'; '.join(unused)}", code=2)
