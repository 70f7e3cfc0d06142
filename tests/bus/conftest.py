"""Fixtures of the skeleton-bus tests: a wire-format packer written from docs/bus.md (independent of
bus.messages, so the tests pin the documented layout) and one invalid message per drop reason."""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from bus.messages import MAX_MESSAGE_BYTES

Pack = Callable[..., list[bytes]]


def _pack(
    stream_id: str = "cam1",
    seq: int = 0,
    timestamp: float = 1.0,
    sent_at: float | None = None,
    joints: np.ndarray | None = None,
    visibility: np.ndarray | None = None,
    *,
    person: bool = True,
    version: int = 1,
    n_joints: int | None = None,
    topic: bytes | None = None,
) -> list[bytes]:
    """[topic, payload] as docs/bus.md specifies schema 1; a person with zero joints by default."""
    sid = stream_id.encode()
    body = b""
    if person:
        joints = np.zeros((20, 3)) if joints is None else joints
        visibility = np.ones(len(joints)) if visibility is None else visibility
        body = np.asarray(joints, "<f4").tobytes() + np.asarray(visibility, "<f4").tobytes()
        n_joints = len(joints) if n_joints is None else n_joints
    sent = time.time() if sent_at is None else sent_at
    header = struct.pack(
        "<4sHHQddBB", b"HSKL", version, int(person), seq, timestamp, sent, n_joints or 0, len(sid)
    )
    return [topic if topic is not None else b"skel/" + sid, header + sid + body]


def _pack_v2(
    stream_id: str = "cam1",
    seq: int = 0,
    timestamp: float = 1.0,
    sent_at: float = 0.0,
    people: tuple[tuple[int, tuple[float, ...] | None, np.ndarray, np.ndarray], ...] = (),
    people_since: float | None = None,
) -> list[bytes]:
    """[topic, payload] as docs/bus.md specifies schema 2: ``people`` as (id, box, joints, visibility);
    schema 3 (``people_since`` after ``sent_at``) when ``people_since`` is given."""
    sid = stream_id.encode()
    counts = (20 if people else 0, len(people), len(sid))
    if people_since is None:
        header = struct.pack("<4sHHQddBBB", b"HSKL", 2, 0, seq, timestamp, sent_at, *counts)
    else:
        header = struct.pack("<4sHHQdddBBB", b"HSKL", 3, 0, seq, timestamp, sent_at, people_since, *counts)
    body = b"".join(
        struct.pack("<I4f", pid, *(box if box is not None else (np.nan,) * 4))
        + np.asarray(joints, "<f4").tobytes()
        + np.asarray(vis, "<f4").tobytes()
        for pid, box, joints, vis in people
    )
    return [b"skel/" + sid, header + sid + body]


@pytest.fixture
def pack() -> Pack:
    return _pack


@pytest.fixture
def pack_v2() -> Callable[..., list[bytes]]:
    return _pack_v2


def _with_joint(index: tuple[int, int], value: float) -> np.ndarray:
    joints = np.zeros((20, 3))
    joints[index] = value
    return joints


def _bad_visibility(value: float) -> np.ndarray:
    visibility = np.ones(20)
    visibility[7] = value
    return visibility


# name -> (message parts, expected drop reason); every one is addressed to stream cam1.
BAD_MESSAGES: dict[str, tuple[list[bytes], str]] = {
    "garbage_payload": ([b"skel/cam1", b"\x00\xffnot a skeleton at all"], "malformed"),
    "single_part": ([b"skel/cam1 and garbage in one part"], "malformed"),
    "extra_part": ([*_pack(), b"extra"], "malformed"),
    "truncated_payload": ([_pack()[0], _pack()[1][:-5]], "malformed"),
    "truncated_header": ([_pack()[0], _pack()[1][:20]], "malformed"),
    "oversized": ([_pack()[0], _pack()[1] + bytes(MAX_MESSAGE_BYTES)], "oversized"),
    "wrong_version": (_pack(version=4), "wrong_version"),
    "inf_joint": (_pack(joints=_with_joint((3, 1), np.inf)), "bad_values"),
    "wrong_joint_count": (_pack(joints=np.zeros((19, 3))), "bad_values"),
    "visibility_above_one": (_pack(visibility=_bad_visibility(1.5)), "bad_values"),
    "visibility_nan": (_pack(visibility=_bad_visibility(np.nan)), "bad_values"),
    "nan_timestamp": (_pack(timestamp=float("nan")), "bad_values"),
    "bad_stream_id": (_pack(stream_id="cam1 x"), "bad_values"),
    "topic_stream_mismatch": (_pack(stream_id="cam2", topic=b"skel/cam1"), "wrong_topic"),
}


@pytest.fixture(params=sorted(BAD_MESSAGES))
def bad_message(request: pytest.FixtureRequest) -> tuple[list[bytes], str]:
    return BAD_MESSAGES[request.param]


def free_tcp_endpoint() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"tcp://127.0.0.1:{s.getsockname()[1]}"


@pytest.fixture
def ipc_endpoint(tmp_path: Path) -> str:
    return f"ipc://{tmp_path}/bus.sock"


@pytest.fixture
def tcp_endpoint() -> str:
    return free_tcp_endpoint()


@pytest.fixture(params=["ipc", "tcp"])
def endpoint(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return f"ipc://{tmp_path}/bus.sock" if request.param == "ipc" else free_tcp_endpoint()


@pytest.fixture(scope="session")
def curve_keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Real CURVE keys made as `haad keys` makes them: the worker's pair and two frontends', one of
    them authorized."""
    from bus.curve import make_client_keys, make_server_keys

    folder = tmp_path_factory.mktemp("keys")
    server_public, server_secret = make_server_keys(folder)
    _, good = make_client_keys(folder, "good")
    stranger = tmp_path_factory.mktemp("stranger")
    _, bad = make_client_keys(stranger, "stranger")  # its public key is not in folder/authorized
    return {"server_public": server_public, "server_secret": server_secret, "authorized": folder / "authorized",
            "client": good, "stranger": bad}  # fmt: skip


@pytest.fixture
def bus_config(curve_keys: dict[str, Path]):  # -> Callable[..., BusConfig]
    """``bus_config(endpoint, **fields)``: a BusConfig for ``endpoint``, with the CURVE keys above
    when it is tcp:// (``client=`` picks the frontend's key: "client" or "stranger")."""
    from config.bus import BusConfig, CurveConfig

    def make(endpoint: str, *, client: str = "client", **fields: object) -> BusConfig:
        curve = None
        if endpoint.startswith("tcp://"):
            curve = CurveConfig(
                server_secret_key=str(curve_keys["server_secret"]),
                authorized_clients=str(curve_keys["authorized"]),
                server_public_key=str(curve_keys["server_public"]),
                client_secret_key=str(curve_keys[client]),
            )
        return BusConfig(endpoint=endpoint, curve=curve, **fields)  # type: ignore[arg-type]

    return make
