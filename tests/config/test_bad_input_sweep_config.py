"""A sweep of bad values through every key of edge.yaml and of a frontend host's file: each is one
clear error naming its key (what ``haad config validate`` prints with exit code 2), never another
exception, and no number setting takes a value no deployment means (NaN, infinite, 1e308).

Every key is reached from full documents: the defaults with each section that is off by default
turned on, each source kind and each backend type (a discriminated union checks only its member's
keys)."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel
from typer.testing import CliRunner

from config.bus import CurveConfig
from config.edge import EdgeConfig
from config.events import MqttConfig, WebhookConfig
from config.frontend import FrontendConfig
from config.loader import ConfigError, parse_config
from config.serve import ServeConfig
from haad.cli import app

# Wrong types, wrong signs, values beyond any bound; "1e400" is text (YAML reads it as no number).
_BAD: tuple[Any, ...] = (
    None,
    "abc",
    "",
    "1e400",
    [1],
    {"x": 1},
    -1,
    math.nan,
    math.inf,
    -math.inf,
    1e308,
    10**30,
)
_ABSURD = (math.nan, math.inf, -math.inf, 1e308, 10**30)
# Text settings whose empty value means something (host: this machine's hostname; a clip-set file's
# clip may be unnamed).
_MAY_BE_EMPTY = {"host", "clips"}

_SOURCES: tuple[dict[str, Any], ...] = (
    {"kind": "webcam", "width": 640, "height": 480, "fps": 30},
    {"kind": "url", "url": "rtsp://cam.local/1", "password": {"env": "CAM_PASSWORD"}},
    {"kind": "video", "path": "v.mp4"},
    {"kind": "images", "path": "frames"},
    {"kind": "skeleton", "path": "s.npz", "clips": ["a"]},
    {"kind": "synthetic", "starts_at": 1.7e9},
)


def _edge_docs() -> Iterator[dict[str, Any]]:
    whole = EdgeConfig().model_dump(mode="json")
    whole["serve"] = ServeConfig().model_dump(mode="json")
    whole["events"]["mqtt"] = MqttConfig(url="mqtt://127.0.0.1:1883").model_dump(mode="json")
    whole["events"]["webhooks"] = [
        WebhookConfig(name="ops", url="https://hooks.example/haad").model_dump(mode="json")
    ]
    yield whole
    keys = {"server_secret_key": "s.key_secret", "authorized_clients": "clients", "server_public_key": "s.key",
            "client_secret_key": "c.key_secret", "senders": {"c": ["cam"]}}  # fmt: skip
    tcp = {"endpoint": "tcp://127.0.0.1:5555", "curve": CurveConfig(**keys).model_dump(mode="json")}
    yield EdgeConfig.model_validate({"bus": tcp}).model_dump(mode="json")
    for source in _SOURCES:
        yield EdgeConfig.model_validate({"streams": [{"id": "cam", "source": source}]}).model_dump(
            mode="json"
        )
    for backend in ({"type": "tensorrt"}, {"type": "torch"}):
        yield EdgeConfig.model_validate({"worker": {"backend": backend}}).model_dump(mode="json")


def _frontend_docs() -> Iterator[dict[str, Any]]:
    yield FrontendConfig().model_dump(mode="json")
    for source in _SOURCES:
        yield FrontendConfig.model_validate({"streams": [{"id": "cam", "source": source}]}).model_dump(
            mode="json"
        )


def _places(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """Every key's path in a document (an item of a list by its index) and its value."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        yield (*path, key), value
        yield from _places(value, (*path, key))


def _with(doc: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    node: Any = doc
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return doc


def _named(path: tuple[int | str, ...]) -> str:
    """The key an error about ``path`` must name: its own, or its list's for an item."""
    return str(next(p for p in reversed(path) if isinstance(p, str)))


def _sweep(model: type[BaseModel], docs: Iterator[dict[str, Any]]) -> tuple[list[str], int]:
    """(What went wrong, documents tried.)"""
    wrong: list[str] = []
    tried = 0
    seen: set[tuple[Any, ...]] = set()
    for doc in docs:
        for path, value in _places(doc):
            parent: Any = doc
            for part in path[:-1]:
                parent = parent[part]
            # Swept in an earlier document unless its union member (a source's kind) is new here.
            place = (*path, parent.get("kind", parent.get("type")) if isinstance(parent, dict) else None)
            if place in seen:
                continue
            seen.add(place)
            cases = [(v, _with(doc, path, v)) for v in _BAD]
            if isinstance(value, dict):  # a key nobody reads, one level down
                cases.append(("unknown key", _with(doc, path, {**value, "zz_unknown": 1})))
            for bad, mutated in cases:
                tried += 1
                where = f"{'.'.join(map(str, path))} = {bad!r}"
                try:  # its section alone (the others' defaults): a fiftieth of the whole file's time
                    cfg = parse_config(yaml.safe_dump({path[0]: mutated[path[0]]}), model, "x.yaml")
                except ConfigError as e:
                    key = "zz_unknown" if bad == "unknown key" else _named(path)
                    if key not in str(e) or "x.yaml" not in str(e):
                        wrong.append(f"{where}: the error names no key {key!r}: {e}")
                    continue
                except Exception as e:  # noqa: BLE001 - what the sweep is looking for
                    wrong.append(f"{where}: {type(e).__name__}: {e}")
                    continue
                taken: Any = cfg.model_dump()
                for part in path:
                    taken = taken[part]
                if any(bad is a or bad == a for a in _ABSURD) and taken is not None:
                    wrong.append(f"{where}: accepted as {taken!r}")
                if bad == "" and _named(path) not in _MAY_BE_EMPTY:
                    wrong.append(f"{where}: accepted empty (a path: the working directory, or a default)")
    return wrong, tried


@pytest.mark.parametrize(
    ("model", "docs"), [(EdgeConfig, _edge_docs), (FrontendConfig, _frontend_docs)], ids=["edge", "frontend"]
)
def test_every_key_refuses_bad_values_with_one_error_naming_it(
    model: type[BaseModel], docs: Callable[[], Iterator[dict[str, Any]]]
) -> None:
    wrong, tried = _sweep(model, docs())
    assert tried > 900  # the documents reached every section's keys
    assert wrong == []


def test_a_performance_starting_at_an_absurd_wall_clock_time_is_refused_at_load(tmp_path: Path) -> None:
    # Valid before: the frontend's wait until then overflowed (OverflowError), a crash at every restart.
    for when in ("1e30", ".inf", "1e300"):
        path = tmp_path / "edge.yaml"
        path.write_text(f"streams: [{{id: cam, source: {{kind: synthetic, starts_at: {when}}}}}]\n")
        r = CliRunner().invoke(app, ["config", "validate", str(path)])
        assert r.exit_code == 2, r.output
        assert "streams.0.source.starts_at" in r.output and "Traceback" not in r.output


@pytest.mark.parametrize(
    ("streams", "under", "over"),
    [
        ("[{id: cam}]", 0, 0.04),  # the synthetic performer, 30 frames a second
        ("[{id: cam, source: {kind: webcam}, pose_fps: 10}]", 0.1, 0.11),
        ("[{id: cam, source: {kind: images, path: f, fps: 2}}]", 0.5, 0.6),
        ("[{id: a}, {id: cam, source: {kind: skeleton, path: s.npy, fps: 15}}]", 0.05, 0.07),
    ],
)
def test_max_gap_s_under_a_streams_frame_interval_is_refused_at_load(
    tmp_path: Path, streams: str, under: float, over: float
) -> None:
    # Valid before, and then every frame ended its segment: no window was ever scored, no alert raised.
    path = tmp_path / "edge.yaml"
    path.write_text(f"streams: {streams}\nworker: {{max_gap_s: {under}}}\n")
    with pytest.raises(ConfigError, match=r"worker\.max_gap_s .* must exceed stream cam's frame interval"):
        parse_config(path.read_text(), EdgeConfig, str(path))
    path.write_text(f"streams: {streams}\nworker: {{max_gap_s: {over}}}\n")
    parse_config(path.read_text(), EdgeConfig, str(path))
