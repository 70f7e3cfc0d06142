"""``haad eval``: measure accuracy (few-shot benchmark, the live path on recordings, HumanMAC, MacDiff)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from config.completions import CompletionSettings, Gap, SamplerSettings
from config.frontend import PeopleConfig
from haad.cli.common import ConfigOption, fail, load_edge_config, output_folder

app = typer.Typer(
    no_args_is_help=True, help="Measure accuracy (few-shot, streams, HumanMAC, MacDiff, several people)."
)
_COMPLETIONS = CompletionSettings()
_SAMPLER = SamplerSettings()
DataRoot = typer.Option(None, help="Dataset folder (default: HAAD_DATA or ../shared/data).")


@app.command("fewshot")
def eval_fewshot_cmd(
    dataset: str = typer.Option(
        ...,
        help="kinder-gator, msr, utkinect, nw-ucla (cross-view: support from one camera, queries from "
        "another), or a clip-set .npz path of your own clips, one labelled action each (cross-view too "
        "when it names views; its keys: docs/benchmark.md).",
    ),
    encoder: Path | None = typer.Option(None, help="Encoder checkpoint (default: the bundled one)."),
    shots: int = typer.Option(3, min=1, help="Support clips per category (N_s)."),
    seeds: int = typer.Option(10, min=1, help="Support-set draws per category."),
    out: Path = typer.Option(Path("runs/fewshot"), help="Folder for summary.json and the ROC plot."),
    data_root: str | None = DataRoot,
    augment: int = typer.Option(
        0, min=0, max=50, help="HumanMAC completions per support window (N_g; 0: no support augmentation)."
    ),
    observed: int = typer.Option(
        _COMPLETIONS.observed, min=1, max=59, help="Frames of each support window the completions keep."
    ),
    gap: Gap = typer.Option(_COMPLETIONS.gap, help="Where the completions are generated: middle or end."),
    aug_steps: int = typer.Option(_COMPLETIONS.steps, min=1, help="DDIM steps of the completions."),
    humanmac: Path | None = typer.Option(None, help="HumanMAC checkpoint (default: the bundled one)."),
    cache_dir: Path = typer.Option(Path(".cache/augbank"), help="Where completions are cached between runs."),
    sensor: str | None = typer.Option(
        None,
        help="Score every clip as this sensor would deliver it: mediapipe (the live frontend's joints, "
        "hip-centring, depth and jitter, measured on real video; models/sensors/).",
    ),
    sensor_seed: int = typer.Option(0, help="Seed of the sensor model's errors."),
    macdiff: Path | None = typer.Option(
        None, help="Also score with this MacDiff checkpoint's pretrained encoder alone (method macdiff)."
    ),
    behaviours: int = typer.Option(
        1,
        min=1,
        help="Categories normal at once: each category with this many minus one others drawn per seed, "
        "--shots clips of each as a behaviour of the profile; every other category is abnormal.",
    ),
    rule: str = typer.Option(
        "prototype",
        help="Scoring rule: prototype (the runtime's), or a candidate it was chosen against: eq6, knn3, "
        "knn-clip, behaviour-eq6, behaviour-eq6-scaled, one-prototype (evaluation/scoring_rules.py).",
    ),
    onnx: str | None = typer.Option(
        None, help="Embed through ONNX Runtime at this precision (fp32 or int8) instead of PyTorch."
    ),
) -> None:
    """Few-shot anomaly detection benchmark: per-category AUC, encoder vs raw-dct."""
    from evaluation.run_fewshot import format_table, run_fewshot_eval
    from training.augbank import BankSettings

    output_folder(out)
    augmentation = None
    if augment > 0:
        completions = CompletionSettings(n_g=augment, observed=observed, gap=gap, steps=aug_steps)
        augmentation = BankSettings(completions=completions)
    try:
        summary = run_fewshot_eval(
            dataset, encoder_path=encoder, shots=shots, seeds=seeds, out_dir=out, data_root=data_root,
            augmentation=augmentation, humanmac=humanmac, cache_dir=str(cache_dir), sensor=sensor,
            sensor_seed=sensor_seed, behaviours=behaviours, rule=rule, macdiff=macdiff, onnx=onnx,
        )  # fmt: skip
    except (
        OSError,
        ValueError,
    ) as e:  # a clip-set file or dataset folder not there, O impossible for the gap
        raise fail(str(e), code=2) from None
    typer.echo(format_table(summary))
    typer.echo(f"wrote {out / 'summary.json'}, pairs.json and roc_{summary['dataset']}.png")


@app.command("stream")
def eval_stream_cmd(
    dataset: str | None = typer.Option(
        None,
        show_default="kinder-gator",
        help="kinder-gator (stitched test clips), kinder-gator-short (abnormal parts cut to 1-3 s), "
        "kinder-gator-short-gaps (the same, nobody in view for 1 s before and after them), "
        "kinder-gator-calm (1 s strikes between calm stretches of about a second), utkinect "
        "(recordings, each action normal in turn), utkinect-behaviours (the same, three actions "
        "normal at once), or kinder-gator-dense, msr-dense, nw-ucla-dense (abnormal and normal parts "
        "of 0.5-2 s alternating).",
    ),
    recordings: Path | None = typer.Option(
        None,
        help="Your own labelled recordings instead: a recording-set file (a clip-set .npz of "
        "continuous recordings with a frame_labels entry, one label per frame; see docs/benchmark.md).",
    ),
    normal: list[str] | None = typer.Option(
        None,
        help="With --recordings: the frame label of normal behaviour; repeat it for several normal "
        "behaviours (a profile of several). Other labels are abnormal.",
    ),
    shots: int | None = typer.Option(
        None,
        min=1,
        help="With --recordings: enrol each normal behaviour from its longest run in this many "
        "recordings of other subjects [default: 3].",
    ),
    profile: str | None = typer.Option(
        None, help="With --recordings: score against this enrolled profile (from the config's profiles_dir)."
    ),
    config: Path | None = ConfigOption,
    augment: bool = typer.Option(False, help="Enrol with HumanMAC support augmentation."),
    observed: int = typer.Option(
        _COMPLETIONS.observed, min=1, max=59, help="Frames of each support window the completions keep."
    ),
    gap: Gap = typer.Option(_COMPLETIONS.gap, help="Where the completions are generated: middle or end."),
    out: Path = typer.Option(Path("runs/stream"), help="Folder for stream_<dataset or file name>.json."),
    data_root: str | None = DataRoot,
    feedback: int = typer.Option(
        0,
        min=0,
        help="Simulated reviewer: mark the first K alerts of each stream that catch an abnormal action "
        "normal, then replay that action and every other one of the set in the stream: report how many "
        "repeats of marked actions still alert and the recall of unmarked ones, before and after "
        "(feedback_<dataset>.json). 0, the default: no reviewer, the stream evaluation alone.",
    ),
    plots: Path | None = typer.Option(None, help="Write a score timeline PNG per recording to this folder."),
    pose_fps: float | None = typer.Option(
        None, min=0.1, help="Score only the frames a frontend at this pose rate estimates (stream.pose_fps)."
    ),
) -> None:
    """Frame-level AUC, alert precision, recall (also by abnormal-part duration) and delay on
    labelled recordings, through the worker's own pipeline, for the encoder and for a raw-DCT scorer
    on the very same windows."""
    from edge.backends import make_backend
    from edge.enroll import default_augmentation
    from edge.profiles import ProfileStore, check_model
    from evaluation.stream import format_table, run_recordings_eval, run_stream_eval
    from models.preprocess import same_frames

    if recordings is None and (normal or profile is not None or shots is not None):
        raise fail("--normal, --profile and --shots go with --recordings (a built-in set enrols as "
                   "docs/benchmark.md says)", code=2)  # fmt: skip
    if recordings is not None and dataset is not None:
        raise fail("--dataset and --recordings name two stream sets; give one", code=2)
    ignored = [flag for flag, given in (("--pose-fps", pose_fps is not None), ("--augment", augment),
                                        ("--profile", profile is not None)) if feedback and given]  # fmt: skip
    if ignored:
        raise fail(
            f"--feedback enrols and replays as docs/review.md says; it takes no {', '.join(ignored)}", code=2
        )
    enrolling = [flag for flag, given in (("--shots", shots is not None), ("--augment", augment)) if given]
    if profile is not None and enrolling and not feedback:  # --feedback's refusal of --profile says it
        # the summary said the run was augmented, of a profile enrolled before and as it was
        raise fail(f"--profile scores against that enrolled profile; it takes no {', '.join(enrolling)} (they "
                   "enrol one from the file)", code=2)  # fmt: skip
    dataset = dataset or "kinder-gator"
    shots = 3 if shots is None else shots
    # a path after '=' or from a script comes as written: the reports name the file read
    recordings = recordings.expanduser() if recordings is not None else None
    if recordings is not None and not normal:
        raise fail("--recordings needs --normal LABEL (the frame label of normal behaviour)", code=2)
    # each behaviour once, in the order given, without the blanks a file's labels lose (clips/files.py)
    normal = list(dict.fromkeys(n.strip() for n in normal or ()))
    if "" in normal:
        raise fail('--normal "": frames labelled "" are not annotated, left out of the metrics; give the '
                   "frame label of normal behaviour", code=2)  # fmt: skip
    output_folder(out)
    if plots is not None:
        output_folder(plots, "--plots")
    cfg = load_edge_config(config)
    if pose_fps is not None and 0 < cfg.worker.max_gap_s <= 1 / pose_fps:
        # each frame a hole the worker does not bridge: no window is scored, and the figures of none
        # read as every action missed. At the bound the gaps are a period and a part of a source
        # frame's (pose_frontend/rate.py), over it: 2 fps scored 2 normal windows of 280.
        raise fail(
            f"--pose-fps {pose_fps:g}: frames {1 / pose_fps:.2f} s apart or more, and the worker bridges holes "
            f"of worker.max_gap_s = {cfg.worker.max_gap_s:g} s at most, so (almost) no window would be scored; "
            f"give --pose-fps over {1 / cfg.worker.max_gap_s:g}",
            code=2,
        )
    try:
        backend = make_backend(cfg.worker.backend, Path(cfg.encoder) if cfg.encoder else None)
    except (OSError, ValueError) as e:  # the config's encoder: missing, or another kind of checkpoint
        raise fail(f"encoder: {e}", code=2) from None
    if feedback:
        from evaluation.feedback import run_feedback_eval
        from evaluation.recordings import read_recording_set

        name = dataset if recordings is None else recordings.stem
        try:
            labelled = None
            if recordings is not None:
                labelled = read_recording_set(recordings, normal, shots=shots, spec=backend.spec,
                                              min_segment_s=cfg.worker.min_segment_s,
                                              min_visibility=cfg.worker.min_visibility)  # fmt: skip
            result = run_feedback_eval(name, backend, cfg.worker, k=feedback, data_root=data_root, recordings=labelled,
                                       recordings_file=recordings, out=out, plots=plots)  # fmt: skip
        except (OSError, ValueError) as e:
            raise fail(str(e), code=2) from None
        typer.echo(json.dumps(result, indent=2))
        for note in result["notes"]:  # said plainly, not left to a reader of nulls
            typer.echo(f"note: {note}")
        typer.echo(f"wrote {out / f'feedback_{name}.json'}{_plots_written(plots)}")
        return
    on_run = None
    if plots is not None:
        from evaluation.feedback import plot_run

        def on_run(stream, run):  # type: ignore[no-untyped-def]
            plot_run(plots, stream, run)

    aug = default_augmentation(CompletionSettings(observed=observed, gap=gap)) if augment else None
    try:
        if aug is not None:
            same_frames("HumanMAC", aug.generator.spec, backend.spec)
        if recordings is not None:
            # The worker's own check: a profile cut for another encoder is refused, not re-embedded.
            given = (
                check_model(ProfileStore(Path(cfg.profiles_dir)).load(profile), backend) if profile else None
            )
            summary = run_recordings_eval(
                recordings, normal, backend, cfg.worker, shots=shots, profile=given, augmentation=aug, out=out,
                pose_fps=pose_fps, on_run=on_run,
            )  # fmt: skip
            name = recordings.stem
        else:
            summary = run_stream_eval(
                dataset, backend, cfg.worker, pose_fps=pose_fps, data_root=data_root, augmentation=aug,
                out=out, on_run=on_run,
            )  # fmt: skip
            name = dataset
    except (OSError, ValueError) as e:
        raise fail(str(e), code=2) from None
    # as fewshot: the table on the terminal, every figure in the files it names
    typer.echo(format_table(summary))
    typer.echo(f"wrote {out / f'stream_{name}.json'}{_plots_written(plots)}")


def _plots_written(plots: Path | None) -> str:
    """What ``--plots`` wrote, said after the summary's path."""
    return "" if plots is None else f" and a score timeline PNG per recording in {plots}"


@app.command("humanmac")
def eval_humanmac_cmd(
    model: Path | None = typer.Option(None, help="HumanMAC checkpoint (default: the bundled one)."),
    samples: int = typer.Option(
        _COMPLETIONS.n_g, min=2, help="Completions per window (N_g); ADE/FDE take the best."
    ),
    steps: int = typer.Option(_COMPLETIONS.steps, min=1, help="DDIM steps."),
    eta: float = typer.Option(
        _SAMPLER.eta, min=0.0, help="DDIM eta (0: deterministic given the start noise)."
    ),
    observed: int = typer.Option(_COMPLETIONS.observed, min=2, help="Frames of each window kept (O)."),
    gap: Gap = typer.Option(
        _COMPLETIONS.gap,
        help="middle: keep O/2 frames at each end, generate between; end: predict the last frames.",
    ),
    start: float = typer.Option(
        _SAMPLER.start, min=0.001, max=1.0, help="Start the reverse process at start·T (1: the paper's)."
    ),
    temperature: float = typer.Option(
        _SAMPLER.temperature, min=0.01, help="Scale of the initial noise (1: the paper's)."
    ),
    refine: bool = typer.Option(
        _SAMPLER.refine, help="Re-anchor on the last observed pose and keep bone lengths."
    ),
    seed: int = typer.Option(0, help="Noise seed."),
    dataset: str = typer.Option(
        "kinder-gator",
        help="Test participants of kinder-gator or msr, or a clip-set .npz path (all its people).",
    ),
    max_windows: int | None = typer.Option(None, min=1, help="Evaluate this many windows, spread evenly."),
    threads: int | None = typer.Option(None, min=1, help="torch CPU threads (default: torch's)."),
    out: Path = typer.Option(Path("runs/humanmac"), help="Folder for humanmac_eval.json and the figure."),
    data_root: str | None = DataRoot,
) -> None:
    """Best-of-N ADE/FDE, APD and bone drift on held-out test participants, vs naive predictors."""
    import torch

    from evaluation.humanmac import evaluate_humanmac, format_table
    from models.humanmac import load_humanmac

    output_folder(out)
    if threads is not None:
        torch.set_num_threads(threads)
    sampler = SamplerSettings(start=start, temperature=temperature, refine=refine, eta=eta)
    completions = CompletionSettings(n_g=samples, observed=observed, gap=gap, steps=steps, sampler=sampler)
    try:
        summary = evaluate_humanmac(
            load_humanmac(model), completions, seed=seed, dataset=dataset, max_windows=max_windows,
            data_root=data_root, out_dir=out,
        )  # fmt: skip
    except (OSError, ValueError) as e:  # a checkpoint or dataset that is not there, or not HumanMAC's
        raise fail(str(e), code=2) from None
    typer.echo(format_table(summary))
    typer.echo(f"wrote {out / 'humanmac_eval.json'} and {out / 'humanmac_examples.png'}")


@app.command("macdiff")
def eval_macdiff_cmd(
    model: Path | None = typer.Option(None, help="MacDiff checkpoint (default: the bundled one)."),
    humanmac: Path | None = typer.Option(
        None, help="HumanMAC checkpoint compared (default: the bundled one)."
    ),
    no_humanmac: bool = typer.Option(False, "--no-humanmac", help="Skip the HumanMAC in-betweens."),
    encoder: Path | None = typer.Option(None, help="Encoder judging categories (default: the bundled one)."),
    t_s: list[int] = typer.Option(
        [300], "--t-s", min=0, max=999, help="Start timestep(s) of the one-step variants."
    ),
    samples: int = typer.Option(4, min=1, max=50, help="Variants per window (both generators)."),
    dropouts: int = typer.Option(3, min=1, max=19, help="Joints missing per window (reconstruction)."),
    steps: int = typer.Option(20, min=1, max=1000, help="DDIM steps of the reconstruction."),
    seed: int = typer.Option(0, help="Seed of the dropouts, masks and noise."),
    dataset: str = typer.Option(
        "kinder-gator",
        help="Test participants of kinder-gator or msr, or a clip-set .npz path (all its people).",
    ),
    max_windows: int | None = typer.Option(256, min=1, help="Evaluate this many windows, spread evenly."),
    out: Path = typer.Option(Path("runs/macdiff"), help="Folder for macdiff_eval.json and the figure."),
    data_root: str | None = DataRoot,
) -> None:
    """Masked-joint reconstruction vs linear gap filling, and how often MacDiff's one-step variants
    and HumanMAC's in-betweens of the same held-out windows keep their category."""
    from evaluation.macdiff import evaluate_macdiff, format_table
    from models.humanmac import load_humanmac
    from models.macdiff import load_macdiff

    output_folder(out)
    try:
        summary = evaluate_macdiff(
            load_macdiff(model), None if no_humanmac else load_humanmac(humanmac), dataset=dataset,
            max_windows=max_windows, dropouts=dropouts, steps=steps, t_s=t_s, samples=samples, seed=seed,
            encoder=encoder, data_root=data_root, out_dir=out,
        )  # fmt: skip
    except (OSError, ValueError) as e:
        raise fail(str(e), code=2) from None
    typer.echo(format_table(summary))
    typer.echo(f"wrote {out / 'macdiff_eval.json'} and {out / 'macdiff_examples.png'}")


@app.command("multiperson")
def eval_multiperson_cmd(
    data_root: str | None = DataRoot,
    sequence: list[str] | None = typer.Option(
        None, help="Only these composited sequences (repeat the option; default: all)."
    ),
    vtest: bool = typer.Option(True, help="Also run opencv_vtest/vtest.avi against its hand count."),
    max_frames: int | None = typer.Option(None, min=1, help="Stop each video after this many frames."),
    max_people: int = typer.Option(PeopleConfig().max_people, min=1, help="Most people tracked at once."),
    min_person_height: int = typer.Option(
        PeopleConfig().min_person_height_px, min=16, help="Smallest person to look for, in pixels."
    ),
    tiles_per_frame: int = typer.Option(
        PeopleConfig().tiles_per_frame, min=1, help="Detector passes per frame besides the whole frame's."
    ),
    tracks_out: Path | None = typer.Option(
        None, help="Write vtest's tracks (id and box per frame) to this JSON."
    ),
    skeletons_out: Path | None = typer.Option(
        None, help="Write vtest's skeletons as the frontend publishes them to this .npz."
    ),
    reference: bool = typer.Option(
        True, help="Also score each estimator on one person against MediaPipe's reference landmarks."
    ),
    alerts: bool = typer.Option(
        True,
        help="Also per-person alerts: two-person kinder-gator replays (one abnormal, one normal person) "
        "and a walking profile on vtest.avi (enrolled from its first 30 s).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Several people in one camera: detection recall per person and id switches per minute on
    two-person sequences built from real recordings, and on vtest.avi against a hand count;
    per-person alert precision and recall on two-person skeleton replays."""
    from pydantic import ValidationError

    from evaluation.multiperson import format_report, run_multiperson_eval
    from training.datasets import DataNotFoundError, resolve_data_root

    try:
        config = PeopleConfig(
            max_people=max_people, min_person_height_px=min_person_height, tiles_per_frame=tiles_per_frame
        )
    except ValidationError as e:  # the schema's bounds, said as the option the user gave
        flag = {"max_people": "--max-people", "min_person_height_px": "--min-person-height",
                "tiles_per_frame": "--tiles-per-frame"}  # fmt: skip
        raise fail(
            "; ".join(f"{flag[str(err['loc'][0])]}: {err['msg']}" for err in e.errors()), code=2
        ) from None
    try:
        report = run_multiperson_eval(
            resolve_data_root(data_root),
            config,
            sequence,
            vtest=vtest,
            max_frames=max_frames,
            tracks_out=tracks_out,
            with_reference=reference,
            with_alerts=alerts,
            skeletons_out=skeletons_out,
        )
    except (ValueError, DataNotFoundError, FileNotFoundError) as e:
        raise fail(str(e), code=2) from None
    typer.echo(report.to_json() if as_json else format_report(report))
