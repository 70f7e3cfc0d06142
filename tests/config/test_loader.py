"""config/loader.py: what a hand-edited file gets wrong is reported with its line, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from config.edge import EdgeConfig
from config.frontend import FrontendConfig
from config.loader import ConfigError, load_config, parse_config


def test_a_key_given_twice_is_refused_naming_it_and_both_lines() -> None:
    with pytest.raises(ConfigError, match=r"edge.yaml:3: streams: given twice \(first on line 1\)"):
        parse_config("streams: []\nprofiles_dir: p\nstreams: []\n", EdgeConfig, source="edge.yaml")
    with pytest.raises(ConfigError, match=r"edge.yaml:4: stride: given twice \(first on line 2\)"):
        parse_config("worker:\n  stride: 5\n  batch_size: 8\n  stride: 10\n", EdgeConfig, source="edge.yaml")


def test_a_key_overriding_a_merged_one_is_not_a_duplicate() -> None:
    class Pair(BaseModel):
        base: dict[str, int]
        over: dict[str, int]

    pair = parse_config("base: &b {a: 1, b: 2}\nover:\n  <<: *b\n  a: 3\n", Pair)
    assert pair.over == {"a": 3, "b": 2}


def test_a_file_that_is_not_text_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "bin.yaml"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ConfigError, match=r"bin.yaml: not a text file \(byte 0 is not UTF-8\)"):
        load_config(path, EdgeConfig)


def test_a_directory_is_named_as_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a directory, not a configuration file"):
        load_config(tmp_path, EdgeConfig)


@pytest.mark.parametrize("text", ["", "\n", "# every setting to come\n", "---\n"])
def test_a_file_without_settings_is_refused_not_run_on_the_defaults(tmp_path: Path, text: str) -> None:
    path = tmp_path / "edge.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=r"edge.yaml: no settings in it \(an empty file\); write \{\}"):
        load_config(path, EdgeConfig)
    assert parse_config("{}", EdgeConfig) == EdgeConfig()


def test_a_yaml_syntax_error_names_the_file_and_line() -> None:
    with pytest.raises(
        ConfigError, match=r'(?s)edge.yaml: not valid YAML: .*\n  in "edge.yaml", line 2, column 1'
    ):
        parse_config("streams:\n\t- id: a\n", EdgeConfig, source="edge.yaml")


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("streams:\n  - id: a\n    source: {kind: webcam, index: x}\n", "edge.yaml:3: streams.0.source.index: "),
        # the member's tag ("url") is also a key of it
        ("streams:\n  - id: a\n    source: {kind: url, url: 'rtsp://u:pw@h/s'}\n",
         "edge.yaml:3: streams.0.source.url: no password inside the URL"),
        ("streams:\n  - id: a\n    source: {kind: video}\n", "edge.yaml:3: streams.0.source.path: Field required"),
        ("worker: {backend: {type: tensorrt, fp16: maybe}}\n", "edge.yaml:1: worker.backend.fp16: "),
    ],
)  # fmt: skip
def test_a_problem_is_named_by_the_keys_the_file_has(text: str, said: str) -> None:
    # Not by pydantic's path through a tagged union (streams.0.source.webcam.index: no key webcam).
    with pytest.raises(ConfigError) as e:
        parse_config(text, EdgeConfig, source="edge.yaml")
    assert said in str(e.value), str(e.value)


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("strems: []\n", "edge.yaml:1: strems: Extra inputs are not permitted; did you mean 'streams'?"),
        ("worker: {episodes: {open_kk: 2}}\n", "worker.episodes.open_kk: Extra inputs are not permitted (got 2); did you mean 'open_k'?"),
        # the member of a tagged union the file's kind names: a webcam's index, not a video's path
        ("streams:\n  - id: a\n    source: {kind: webcam, indx: 1}\n", "did you mean 'index'?"),
        ("worker: {backend: {type: tensorrt, fp61: true}}\n", "did you mean 'fp16'?"),
        # a key put one level too high: docs/bus.md's senders live in bus.curve
        ("bus:\n  curve: {}\n  senders: {dock: [door]}\n", "edge.yaml:3: bus.senders: Extra inputs are not permitted; it belongs in 'curve' (bus.curve.senders)"),
        ("tokens: []\n", "tokens: Extra inputs are not permitted; it belongs in 'serve' (serve.tokens)"),
        ("port: 9\n", "it belongs in 'metrics' (metrics.port) or 'serve' (serve.port)"),
    ],
)  # fmt: skip
def test_a_mistyped_key_is_answered_with_the_one_meant(text: str, said: str) -> None:
    with pytest.raises(ConfigError) as e:
        parse_config(text, EdgeConfig, source="edge.yaml")
    assert said in str(e.value), str(e.value)
    with pytest.raises(ConfigError) as e:
        parse_config("zzzzzz: 1\n", EdgeConfig)
    assert "did you mean" not in str(e.value)


@pytest.mark.parametrize("model", [EdgeConfig, FrontendConfig])
def test_two_streams_on_one_webcam_are_refused_naming_both(model: type[BaseModel]) -> None:
    streams = (
        "streams:\n"
        "  - {id: door, source: {kind: webcam, index: 0}}\n"
        "  - {id: hall, source: {kind: webcam, index: 1}}\n"
        "  - {id: desk, source: {kind: webcam, index: 0}}\n"
    )
    with pytest.raises(ConfigError, match=r"streams 'door' and 'desk' both use webcam index 0"):
        parse_config(streams, model, source="edge.yaml")


@pytest.mark.parametrize("model", [EdgeConfig, FrontendConfig])
def test_two_streams_may_replay_one_video_file(model: type[EdgeConfig] | type[FrontendConfig]) -> None:
    streams = (
        "streams:\n"
        "  - {id: a, source: {kind: video, path: walk.mp4}}\n"
        "  - {id: b, source: {kind: video, path: walk.mp4}}\n"
    )
    assert [s.id for s in parse_config(streams, model).streams] == ["a", "b"]
