from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import torch

from config.loader import ConfigError, load_config, parse_config
from config.training import EncoderTrainConfig
from evaluation.fewshot import training_evaluator
from models.encoder import EncoderEnsemble, load_encoder
from training.train_encoder import train_encoder, training_clips

pytestmark = pytest.mark.slow  # trains encoders for real

CONFIGS = sorted(Path("training/configs").glob("encoder*.yaml"))


@pytest.mark.parametrize("path", CONFIGS, ids=[p.name for p in CONFIGS])
def test_committed_configs_validate(path: Path) -> None:
    load_config(path, EncoderTrainConfig)


# Configs documented as "the bundled encoder's config" with a few settings changed: everything else
# must stay equal to it, so a change to the bundled config cannot leave them comparing something else.
# Nested settings are compared one by one (``encoder.members``). The HumanMAC experiments ran on the
# Kinect-only recipe of 2026-11-29 (Kinder-Gator + MSR, no sensor model, short clips padded).
_KINECT_ONLY = {"datasets", "sensor", "window.short"}
DERIVED = {
    "encoder-aug.yaml": {"generative", "out", "encoder.members", *_KINECT_ONLY},
    "encoder-aug-middle.yaml": {"generative", "out", *_KINECT_ONLY},
    "encoder-lowdata.yaml": {"datasets", "train_subjects", "out", "encoder.members", *_KINECT_ONLY},
}


def flat(settings: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in settings.items():
        if isinstance(v, dict) and v:
            out.update(flat(v, f"{prefix}{k}."))
        else:
            out[prefix + k] = v
    return out


@pytest.mark.parametrize("name", sorted(DERIVED))
def test_derived_configs_differ_from_the_bundled_one_only_where_stated(name: str) -> None:
    bundled = flat(load_config("training/configs/encoder.yaml", EncoderTrainConfig).model_dump())
    derived = flat(load_config(f"training/configs/{name}", EncoderTrainConfig).model_dump())
    stated = DERIVED[name]
    differ = {k for k in bundled.keys() | derived.keys() if bundled.get(k) != derived.get(k)}
    # A section stated as a whole ("generative") covers every setting inside it.
    assert {k.split(".")[0] if k.split(".")[0] in stated else k for k in differ} == stated


def test_bad_config_names_the_line() -> None:
    with pytest.raises(ConfigError, match=r"x.yaml:3: temperature"):
        parse_config("seed: 1\nsteps: 10\ntemperature: -1\n", EncoderTrainConfig, source="x.yaml")
    with pytest.raises(ConfigError, match="Extra inputs"):
        parse_config("stepz: 10\n", EncoderTrainConfig)


def test_tiny_training_run_writes_a_loadable_checkpoint(tmp_path: Path, data_root: Path) -> None:
    cfg = parse_config(
        f"datasets: [msr]\nsteps: 30\neval_seeds: 2\ndata_root: {data_root}\n"
        "encoder: {hidden: 32, blocks: 1}\n",
        EncoderTrainConfig,
    )
    evaluate = training_evaluator(cfg.datasets, cfg.data_root, cfg.eval_seeds)
    result = train_encoder(cfg, out=tmp_path / "enc.safetensors", evaluate=evaluate, progress=False)
    encoder, spec, meta = load_encoder(result.path)
    assert spec.frames == 60 and meta["encoder"]["hidden"] == 32
    assert meta["data_split"]["msr"]["train_subjects"] == ["1", "2", "3", "4", "5", "6"]
    assert "a03 hammer" not in meta["categories"]  # unseen categories never reach training
    assert 0.5 < meta["metrics"]["fewshot"]["msr"]["all"] <= 1.0
    assert meta["git_revision"]
    with torch.inference_mode():
        assert encoder(torch.zeros(2, 60, 20, 3)).shape == (2, 32)
    json.dumps(meta)


def test_training_is_reproducible_under_a_seed(tmp_path: Path, data_root: Path) -> None:
    text = f"datasets: [msr]\nsteps: 5\ndata_root: {data_root}\nencoder: {{hidden: 16, blocks: 1}}\n"
    cfg = parse_config(text, EncoderTrainConfig)
    a = train_encoder(cfg, out=tmp_path / "a.safetensors", progress=False)
    b = train_encoder(cfg, out=tmp_path / "b.safetensors", progress=False)
    wa, wb = load_encoder(a.path)[0].state_dict(), load_encoder(b.path)[0].state_dict()
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


def test_ensemble_members_are_the_single_seed_runs(tmp_path: Path, data_root: Path) -> None:
    """Member k of an ensemble trained in worker processes is bit for bit the one-member run with
    seed + k, and the checkpoint's embedding is the members' concatenated (unit length)."""
    text = f"datasets: [msr]\nsteps: 5\ndata_root: {data_root}\nthreads: 1\nseed: 3\n"
    single = parse_config(text + "encoder: {hidden: 16, blocks: 1}\n", EncoderTrainConfig)
    paths = []
    for seed in (3, 4):
        cfg = single.model_copy(update={"seed": seed})
        out = tmp_path / f"s{seed}.safetensors"
        paths.append(train_encoder(cfg, out=out, progress=False).path)
    ens_cfg = parse_config(
        text + "member_processes: 2\nencoder: {hidden: 16, blocks: 1, members: 2}\n", EncoderTrainConfig
    )
    ens = train_encoder(ens_cfg, out=tmp_path / "ens.safetensors", progress=False)
    ensemble, _, meta = load_encoder(ens.path)
    assert isinstance(ensemble, EncoderEnsemble) and meta["encoder"]["members"] == 2
    assert [m["seed"] for m in meta["metrics"]["members"]] == [3, 4]
    singles = [load_encoder(p)[0] for p in paths]
    for member, alone in zip(ensemble.members, singles, strict=True):
        ws, wa = member.state_dict(), alone.state_dict()
        assert ws.keys() == wa.keys() and all(torch.equal(ws[k], wa[k]) for k in ws)
    windows = torch.randn(4, 60, 20, 3)
    with torch.inference_mode():
        z = ensemble(windows)
        parts = [m(windows) for m in singles]
    assert z.shape == (4, 32)
    torch.testing.assert_close(z, torch.cat(parts, dim=1) / 2**0.5)
    torch.testing.assert_close(z.norm(dim=1), torch.ones(4))


def test_ensemble_members_draw_humanmac_variants_from_their_own_banks(
    tmp_path: Path, data_root: Path
) -> None:
    """Training-time augmentation in worker processes: each member builds (or reuses) the bank of
    its own seed, and the checkpoint records both."""
    cfg = parse_config(
        f"datasets: [msr]\nsteps: 3\ndata_root: {data_root}\nthreads: 1\nmember_processes: 2\n"
        "encoder: {hidden: 16, blocks: 1, members: 2}\n"
        f"generative: {{n_g: 1, bank: {{n_g: 1, steps: 2}}, bank_stride: 60, cache_dir: {tmp_path / 'banks'}}}\n",
        EncoderTrainConfig,
    )
    result = train_encoder(cfg, out=tmp_path / "ens.safetensors", progress=False)
    members = result.metrics["members"]
    assert [m["seed"] for m in members] == [0, 1]
    banks = [m["augmentation_bank"] for m in members]
    assert all(b["bank_variants"] == b["bank_windows"] > 0 for b in banks)
    assert len(list((tmp_path / "banks").glob("*.npy"))) == 2  # one bank per member seed


def _children(pid: int) -> list[int]:
    """Live (not zombie) processes whose parent is ``pid``, from /proc."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            out.append(int(stat.parent.name))
    return out


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc/self/stat").is_file(), reason="reads processes from /proc (Linux)")
def test_ensemble_workers_stop_when_the_training_process_dies(tmp_path: Path, data_root: Path) -> None:
    """A killed ``haad train encoder`` must not leave its member processes training on."""
    cfg = tmp_path / "ens.yaml"
    cfg.write_text(
        f"datasets: [msr]\nsteps: 1000000\ndata_root: {data_root}\nthreads: 1\nmember_processes: 2\n"
        "encoder: {hidden: 16, blocks: 1, members: 2}\n"
    )
    command = [sys.executable, "-m", "haad", "train", "encoder", "--config", str(cfg), "--no-eval"]
    parent = subprocess.Popen(
        [*command, "--out", str(tmp_path / "e.safetensors")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        workers: list[int] = []
        while len(workers) < 2 and time.monotonic() < deadline:
            time.sleep(0.5)
            workers = [
                p for p in _children(parent.pid) if "spawn_main" in Path(f"/proc/{p}/cmdline").read_text()
            ]
        assert len(workers) == 2, "the member processes never started"
        time.sleep(3)  # let them reach the training loop
    finally:
        parent.kill()
        parent.wait()
    deadline = time.monotonic() + 60
    while any(_alive(p) for p in workers) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not any(_alive(p) for p in workers)


def test_train_subjects_narrow_the_split_and_refuse_test_people(data_root: Path) -> None:
    def config(subjects: str) -> EncoderTrainConfig:
        return parse_config(
            f"datasets: [msr]\ndata_root: {data_root}\ntrain_subjects: {subjects}\n", EncoderTrainConfig
        )

    clips, info = training_clips(config("['1', '4']"))
    assert {c.subject for c in clips} == {"1", "4"}
    assert info["msr"]["train_subjects"] == ["1", "4"]
    all_clips, _ = training_clips(config("null"))
    assert len(all_clips) > len(clips)
    with pytest.raises(ValueError, match=r"\['7'\] are not training subjects"):
        training_clips(config("['1', '7']"))  # subject 7 is a test subject of MSR
    with pytest.raises(ValueError, match="no training subject of msr"):
        training_clips(
            parse_config(
                f"datasets: [kinder-gator, msr]\ndata_root: {data_root}\ntrain_subjects: ['565']\n",
                EncoderTrainConfig,
            )
        )
