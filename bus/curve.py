"""CURVE keys of the bus: the worker is the server, frontends are clients.

Keys are ZeroMQ certificate files: ``NAME.key`` holds a public key, ``NAME.key_secret`` the pair.
The worker loads its pair and accepts only clients whose public key is in ``authorized_clients``
(a ZAP handler in the worker's context checks every connection); a frontend loads its own pair and
the worker's public key. Traffic is then encrypted and no unknown sender can reach the worker.

Each authorized key is bound to the streams it may send (``senders``; one key alone sends them all):
the worker reads every message's sender key (ZAP's User-Id) and refuses a frame of a stream from
any other key, so a valid key for one camera cannot forge or suppress another camera's frames.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections import deque
from pathlib import Path

import zmq
import zmq.auth
import zmq.utils.z85 as z85
from zmq.auth.thread import ThreadAuthenticator

from config.bus import CurveConfig


class CurveKeyError(ValueError):
    """A key file that is missing or not a ZeroMQ certificate of the right kind."""


def make_server_keys(folder: Path) -> tuple[Path, Path]:
    """A new worker key pair in ``folder``: (``server.key`` public, ``server.key_secret`` pair)."""
    return _make(folder, "server")


def make_client_keys(folder: Path, name: str) -> tuple[Path, Path]:
    """A new frontend key pair: ``folder/NAME.key_secret`` for the frontend host, and its public key
    in ``folder/authorized/NAME.key``, the folder the worker's ``authorized_clients`` names."""
    target = folder / "authorized" / f"{name}.key"
    # Its secret has usually gone to the frontend host: a new pair would lock that host out.
    if target.exists():
        raise FileExistsError(f"{target} exists; keys are never overwritten")
    public, secret = _make(folder, name)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(public, target)
    return target, secret


def _make(folder: Path, name: str) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    for suffix in (".key", ".key_secret"):
        if (folder / f"{name}{suffix}").exists():
            raise FileExistsError(f"{folder / name}{suffix} exists; keys are never overwritten")
    # Private from its first byte: a chmod after writing left it readable meanwhile, and for good
    # when the process died in between.
    umask = os.umask(0o077)
    try:
        public, secret = zmq.auth.create_certificates(str(folder), name)
    finally:
        os.umask(umask)
    os.chmod(public, 0o644)  # a public key: copied to other hosts
    return Path(public), Path(secret)


def load_key(path: str, *, secret: bool) -> tuple[bytes, bytes | None]:
    p = Path(path)
    try:
        public, secret_key = _read_certificate(p)
    except PermissionError:
        # Not a damaged file: "not a ZeroMQ certificate" sent the operator to make new keys.
        raise _unreadable(p, " and its folders (chown it; secret keys stay mode 600)") from None
    if secret and secret_key is None:
        raise CurveKeyError(f"{p} holds no secret key (use the .key_secret file)")
    if not secret and secret_key is not None:
        # The other end's secret: whoever reads this host's files could pose as that end.
        raise CurveKeyError(f"{p} holds a secret key: give this host only the public key (the .key file)")
    # A cut or edited file still parses: the worker failed to start ('Invalid argument'), or an
    # authorized key turned away its frontend as unknown, while `haad config validate` passed.
    if not _is_z85_key(public) or (
        secret_key is not None and (not _is_z85_key(secret_key) or zmq.curve_public(secret_key) != public)
    ):
        raise CurveKeyError(
            f"{p} is damaged (its keys are cut short or do not match): copy it again or make new keys"
        )
    return public, secret_key


def _read_certificate(p: Path) -> tuple[bytes, bytes | None]:
    """The keys in ``p``; raises PermissionError as it is (also from a folder on its way)."""
    if p.is_dir():
        raise CurveKeyError(f"{p} is a folder: name the key file in it")
    if not p.is_file():
        raise CurveKeyError(f"CURVE key file not found: {p}{_where(p)}")
    try:
        return zmq.auth.load_certificate(str(p))
    except PermissionError:
        raise
    except (OSError, ValueError) as e:
        raise CurveKeyError(f"{p} is not a ZeroMQ certificate: {e}") from e


def _unreadable(p: Path, also: str = "") -> CurveKeyError:
    """The error for a key file or folder closed to this user; ``also`` adds to what needs access."""
    return CurveKeyError(
        f"{p} cannot be read by this user (uid {os.geteuid()}): give the user haad runs as read access "
        f"to it{also}"
    )


def _where(p: Path) -> str:
    # Relative paths are read from the folder haad was started in, which a service sets apart.
    return "" if p.is_absolute() else f" (relative to the current folder {Path.cwd()})"


def authorized_keys(folder: Path) -> list[Path]:
    """The public key files (``*.key``) in ``folder``, by name; CurveKeyError when it cannot be read
    (a glob said "no keys" of a folder missing, a file, or closed to this user)."""
    try:
        names = sorted(os.listdir(folder))
    except NotADirectoryError:
        raise CurveKeyError(
            f"{folder} is a file, not a folder: name the folder of frontends' public keys (the authorized/ "
            "that `haad keys client` writes)"
        ) from None
    except FileNotFoundError:
        raise CurveKeyError(f"folder not found: {folder}{_where(folder)}") from None
    except PermissionError:
        raise _unreadable(folder) from None
    return [folder / n for n in names if n.endswith(".key") and not n.startswith(".")]  # as glob("*.key")


def _is_z85_key(key: bytes) -> bool:
    if len(key) != 40:
        return False
    try:
        z85.decode(key)
    except (KeyError, ValueError):
        return False
    return True


class _Authenticator(ThreadAuthenticator):
    """A ZAP handler that keeps the last connections it refused, ``(peer address, z85 key)``: the
    worker's log names the host and key it turns away, which the socket monitor cannot tell."""

    def __init__(self, context: zmq.Context) -> None:
        super().__init__(context)
        self.denied: deque[tuple[str, str]] = deque(maxlen=64)  # appended in the ZAP thread

    async def handle_zap_message(self, msg: list[bytes]) -> None:
        # Noted before the reply: the refusal it causes may be read from the monitor at once.
        if len(msg) == 7 and msg[5] == b"CURVE" and len(msg[6]) == 32:
            key = z85.encode(msg[6])
            domain = msg[2].decode("utf-8", "replace") or "*"
            if not self.certs.get(domain, {}).get(key):  # as the base class decides
                self.denied.append((msg[3].decode("utf-8", "replace"), key.decode("ascii")))
        await super().handle_zap_message(msg)


class _Authenticators:
    """One ZAP handler per ZeroMQ context (it binds a fixed inproc address), shared by the servers
    of that context and stopped when the last of them closes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: dict[int, tuple[_Authenticator, int]] = {}

    def acquire(self, context: zmq.Context, clients: Path) -> _Authenticator:
        with self._lock:
            auth, users = self._running.get(id(context), (None, 0))
            if auth is None:
                auth = _start_authenticator(context)
            auth.configure_curve(domain="*", location=str(clients))
            self._running[id(context)] = (auth, users + 1)
            return auth

    def release(self, auth: _Authenticator) -> None:
        with self._lock:
            key = id(auth.context)
            held, users = self._running[key]
            if users > 1:
                self._running[key] = (held, users - 1)
                return
            del self._running[key]
            auth.stop()


AUTHENTICATORS = _Authenticators()


def _start_authenticator(context: zmq.Context, wait_s: float = 5.0) -> _Authenticator:
    """A running ZAP handler; its fixed inproc address may still be held for a moment by one that
    was just stopped, so binding is retried briefly."""
    deadline = time.monotonic() + wait_s
    while True:
        auth = _Authenticator(context)
        try:
            auth.start()
            return auth
        except zmq.ZMQError as e:
            if e.errno != zmq.EADDRINUSE or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def secure_server(socket: zmq.Socket, curve: CurveConfig) -> _Authenticator:
    """Make ``socket`` (not yet bound or connected) a CURVE server that admits only authorized
    clients; returns the ZAP authenticator in use (``AUTHENTICATORS.release`` it after closing the
    socket)."""
    if curve.server_secret_key is None or curve.authorized_clients is None:
        raise CurveKeyError("the worker needs bus.curve.server_secret_key and bus.curve.authorized_clients")
    public, secret = load_key(curve.server_secret_key, secret=True)
    clients = Path(curve.authorized_clients)
    if not authorized_keys(clients):
        raise CurveKeyError(f"no authorized client keys (*.key) in {clients}")
    auth = AUTHENTICATORS.acquire(socket.context, clients)
    socket.curve_secretkey = secret
    socket.curve_publickey = public
    socket.curve_server = True
    return auth


def secure_client(socket: zmq.Socket, curve: CurveConfig) -> None:
    """Make ``socket`` (not yet bound or connected) a CURVE client of the worker."""
    if curve.client_secret_key is None or curve.server_public_key is None:
        raise CurveKeyError("a frontend needs bus.curve.client_secret_key and bus.curve.server_public_key")
    public, secret = load_key(curve.client_secret_key, secret=True)
    server_public, _ = load_key(curve.server_public_key, secret=False)
    socket.curve_secretkey = secret
    socket.curve_publickey = public
    socket.curve_serverkey = server_public


def sender_streams(curve: CurveConfig) -> dict[str, tuple[str, frozenset[str] | None]]:
    """Every authorized key, by its User-Id (the z85 public key ZAP reports with each message): its
    name and the streams it may send (None: any; only when it is the one authorized key and
    ``senders`` is not set). A key ``senders`` does not name may send nothing."""
    if curve.authorized_clients is None:
        raise CurveKeyError("the worker needs bus.curve.authorized_clients")
    keys = {p.stem: p for p in authorized_keys(Path(curve.authorized_clients))}
    out: dict[str, tuple[str, frozenset[str] | None]] = {}
    for name, path in keys.items():
        public, _ = load_key(str(path), secret=False)
        streams = None if curve.senders is None and len(keys) == 1 else (curve.senders or {}).get(name, [])
        out[public.decode("ascii")] = (name, None if streams is None else frozenset(streams))  # z85 already
    return out
