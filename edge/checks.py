"""What must hold before a deployment can run: checked by ``haad config validate`` and at the
start of ``haad run`` (which refuses to start otherwise, exit code 2), beyond what the config schema
checks: profiles the encoder can score, source files, bus keys and which key sends which stream,
secrets it references, a PostgreSQL alert log its server refuses. Warnings name what lets it run but
not alert yet, or not log its alerts yet (that server not answering)."""

from __future__ import annotations

import os
import pwd
import socket
import stat
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from bus.curve import CurveKeyError, authorized_keys, load_key
from config.bus import BusConfig
from config.edge import EdgeConfig
from config.frontend import (
    ImagesSourceConfig,
    SkeletonSourceConfig,
    StreamConfig,
    VideoSourceConfig,
    looped_seam_warnings,
)
from config.redaction import redact_url
from config.secrets import SecretError, SecretRef
from config.store import StoreConfig
from edge.backends.base import EncoderFacts
from edge.profiles import ProfileError, ProfileStore, check_model
from edge.state_lock import state_dir


def deployment_checks(cfg: EdgeConfig) -> tuple[list[str], list[str]]:
    """The problems found, then the warnings (looked for only when there is no problem). One answer
    of the alert log's server serves both: asking it twice waited twice on one that does not answer."""
    store_answer = _store_answer(cfg.store)
    problems = _problems(cfg, store_answer)
    return problems, [] if problems else _warnings(cfg, store_answer)


def _problems(cfg: EdgeConfig, store_answer: tuple[str, str]) -> list[str]:
    """Every problem found, each naming the stream, file or setting and what to do; [] when none."""
    # The worker refuses frames of streams not listed: with none it could only fail, again and again.
    no_streams = (
        []
        if cfg.streams
        else ["streams: none listed; list the cameras it scores (run here or sent by haad frontend run)"]
    )
    return [
        *no_streams,
        *_folder_problems(cfg),
        *_profile_problems(cfg),
        *_source_problems(cfg.streams if cfg.run_frontends else []),
        *_key_problems(cfg),
        *secret_problems(cfg),
        *_tls_problems(cfg),
        *_port_problems(cfg),
        *[text for kind, text in [store_answer] if kind == "problem"],
    ]


def _warnings(cfg: EdgeConfig, store_answer: tuple[str, str]) -> list[str]:
    """What does not stop the deployment but keeps it from alerting (no profile to score against: a
    fresh install enrols after configuring; a running worker picks profiles up as they come), or
    exposes it (a secret file every user may read)."""
    curve = cfg.bus.curve
    warnings = _exposed(
        _secret_refs(cfg, ""), [] if curve is None else [curve.server_secret_key, curve.client_secret_key]
    )
    warnings += [text for kind, text in [store_answer] if kind == "warning"]
    warnings += looped_seam_warnings(cfg.bus, cfg.streams if cfg.run_frontends else [])
    if (
        not cfg.streams
        or any(s.profiles for s in cfg.streams)
        or ProfileStore(Path(cfg.profiles_dir)).names()
    ):
        return warnings
    return [
        f"no stream has a profile to score against (none enrolled in {Path(cfg.profiles_dir).resolve()}): "
        "the streams are watched, but nothing alerts until one is enrolled (`haad enroll --profile NAME ...`)",
        *warnings,
    ]


# How long validate, or a start, waits for the alert log's server (libpq's shortest is 2 s).
_STORE_PROBE_S = 3
# What a PostgreSQL server that answered says when it refuses this URL for good: no such database or
# user, a password or method it does not accept. Anything else (no answer, "starting up", too many
# connections) may pass.
_REFUSALS = ("does not exist", "authentication failed", "no pg_hba.conf entry", "no password supplied",
             "not permitted to log in", "permission denied")  # fmt: skip


def _store_answer(store: StoreConfig) -> tuple[str, str]:
    """What a PostgreSQL alert log's server says to ``store.url`` now: ("problem", why) when it
    refuses it (no such database, schema or user, a wrong password), which only the operator can
    fix; ("warning", why) when it does not answer, as the daemon runs through that (the outbox keeps
    the alerts until it does); ("", "") when it takes it, or for a SQLite file."""
    from edge.store.engine import DEADLINES, make_engine

    if make_url(store.url).get_backend_name() != "postgresql":
        return "", ""
    try:
        engine = make_engine(store.model_copy(update={"busy_timeout_s": _STORE_PROBE_S}))
    except SecretError:
        return "", ""  # secret_problems names it
    shown = f"store.url {redact_url(store.url)}"
    try:
        with DEADLINES.within(2 * _STORE_PROBE_S), engine.connect() as conn:
            schema = conn.execute(text("SELECT current_schema()")).scalar()
            search_path = conn.execute(text("SHOW search_path")).scalar()
    except SQLAlchemyError as e:
        # The server's own words follow its severity; libpq prefixes them with the address.
        why = " ".join(str(getattr(e, "orig", e)).split()).split("FATAL: ")[-1]
        if not any(refusal in why for refusal in _REFUSALS):
            return "warning", (
                f"{shown}: no answer from the server now ({why}); haad starts, and its alerts wait "
                "in the outbox until the server answers"
            )
        fix = (
            "create that database or fix the database in store.url"
            if why.startswith("database ")
            else "fix the user in store.url or store.password (or the server's pg_hba.conf)"
        )
        return "problem", f"{shown}: the server refuses it: {why}; {fix}"
    finally:
        engine.dispose()
    if schema is None:  # nowhere to create the tables: every alert would wait in the outbox for ever
        return "problem", (
            f"{shown}: no schema of its search_path ({search_path}) exists in that database; "
            "create it (CREATE SCHEMA name) or fix store.url"
        )
    return "", ""


def _exposed(refs: Iterable[tuple[str, SecretRef]], secret_keys: Sequence[str | None]) -> list[str]:
    """Secret files (``refs``) and CURVE secret key files every user of this host may read."""
    warnings = [
        f"{where}: every user may read {ref.file} (chmod o-rwx it)"
        for where, ref in refs
        if ref.file is not None and _world_readable(Path(ref.file))
    ]
    return warnings + [
        f"bus.curve: every user may read the secret key {path} (chmod 600 it)"
        for path in secret_keys
        if path is not None and _world_readable(Path(path))
    ]


def _world_readable(path: Path) -> bool:
    try:
        return bool(path.stat().st_mode & stat.S_IROTH)
    except OSError:
        return False  # a problem of its own (_problems)


def _folder_problems(cfg: EdgeConfig) -> list[str]:
    """Folders the daemon writes in (made when missing) and the profile folder it reads: a file in
    their place, or one it may not write in (another owner, a read-only mount), stopped it at start
    or failed the worker after validate had passed."""
    problems = []
    folders = {"state_dir": state_dir(cfg)}
    url = make_url(cfg.store.url)
    if url.get_backend_name() == "sqlite" and url.database:
        database = Path(url.database).expanduser()
        folders["store.url"] = database.parent
        # Alerts would wait in the outbox for a log that can never open.
        if database.is_dir():
            problems.append(f"store.url: {database} is a folder, not a database file")
        elif database.is_file() and not _is_sqlite(database):
            problems.append(f"store.url: {database} is not an SQLite database")
    user = _user_name()
    for where, folder in folders.items():
        existing = next(p for p in (folder, *folder.parents) if p.exists())
        if not existing.is_dir():
            problems.append(f"{where}: {existing} is a file, not a folder")
        elif not os.access(existing, os.W_OK | os.X_OK):
            problems.append(f"{where}: user {user} cannot write in {existing} (give it a folder of its own)")
    if cfg.bus.endpoint.startswith("ipc://"):  # its socket is made there, the folder is not
        sockets = Path(cfg.bus.endpoint.removeprefix("ipc://")).parent
        if not sockets.is_dir():
            problems.append(f"bus.endpoint: no folder {sockets} for its socket")
        elif not os.access(sockets, os.W_OK | os.X_OK):
            problems.append(f"bus.endpoint: user {user} cannot make its socket in {sockets}")
    profiles = Path(cfg.profiles_dir)
    if profiles.exists() and not profiles.is_dir():
        problems.append(f"profiles_dir: {profiles} is a file, not a folder")
    return problems


def _profile_problems(cfg: EdgeConfig) -> list[str]:
    store = ProfileStore(Path(cfg.profiles_dir))
    folder = Path(cfg.profiles_dir).resolve()
    enrolled = store.names()
    try:
        model = EncoderFacts.of(Path(cfg.encoder) if cfg.encoder else None)
    except (OSError, ValueError, KeyError) as e:
        return [f"encoder: cannot read {cfg.encoder or 'the bundled encoder'}: {e}"]
    problems = []
    for stream in cfg.streams:
        for name in stream.profiles:
            if name not in enrolled:
                have = ", ".join(enrolled) if enrolled else "none"
                problems.append(
                    f"stream {stream.id}: profile {name!r} not found in {folder} (enrolled there: {have}); "
                    f"enrol it with `haad enroll --profile {name} ...` or fix profiles_dir"
                )
                continue
            try:
                check_model(store.load(name), model)
            except ProfileError as e:
                problems.append(f"stream {stream.id}: {e}; enrol it again or remove the bad version")
    return problems


class BusUnavailable(OSError):
    """The worker would not have bus.endpoint to itself (another listens there, or none can)."""


def check_bus_endpoint(bus: BusConfig) -> None:
    """Raise :class:`BusUnavailable` when the worker would not get ``bus.endpoint`` to itself: a tcp
    port in use failed its bind, again at every restart until it was given up; an ipc socket another
    worker listens on was taken from it (ZeroMQ replaces the file), that daemon's frames went astray."""
    if not bus.subscriber_binds:
        return
    hint = "stop what listens there or give bus.endpoint another"
    if bus.endpoint.startswith("ipc://"):
        address = bus.endpoint.removeprefix("ipc://")
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            try:
                probe.connect(address)
            except OSError:
                pass  # no file, or one left by a worker that is gone: binding replaces it
            else:
                raise BusUnavailable(f"bus.endpoint {bus.endpoint}: another worker listens there; {hint}")
        left = Path(address)
        if left.exists() and not _may_replace(left):
            raise BusUnavailable(
                f"bus.endpoint {bus.endpoint}: the socket file is another user's (uid {left.lstat().st_uid}) "
                "and this one may not replace it; remove it or give bus.endpoint another"
            )
        return
    host, port = _tcp_address(bus.endpoint)
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as ZeroMQ binds
            probe.bind((host, port))
    except OSError as e:
        raise BusUnavailable(
            f"bus.endpoint {bus.endpoint}: cannot listen there ({e.strerror}); {hint}"
        ) from None


def _tcp_address(endpoint: str) -> tuple[str, int]:
    """The host (``*``: 0.0.0.0, an IPv6 address without brackets) and port of ``tcp://host:port``."""
    host, port = endpoint.removeprefix("tcp://").rsplit(":", 1)
    return {"*": "0.0.0.0"}.get(host, host.strip("[]")), int(port)


def _user_name() -> str:
    """This process's user, as a problem names it; a container's user id often has no name."""
    uid = os.geteuid()
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"id {uid}"


def _is_sqlite(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            header = f.read(16)
    except OSError:
        return True  # unreadable here: the worker's own error says why
    return header in (b"", b"SQLite format 3\x00")


def _may_replace(path: Path) -> bool:
    """Whether this user may delete ``path`` (as binding a socket there does)."""
    folder = path.parent.stat()
    if os.geteuid() == 0:
        return True
    if not os.access(path.parent, os.W_OK | os.X_OK):
        return False
    # In a sticky folder such as /tmp only a file's owner or the folder's may delete it.
    return not folder.st_mode & stat.S_ISVTX or os.geteuid() in (path.lstat().st_uid, folder.st_uid)


def frontend_problems(bus: BusConfig, streams: Sequence[StreamConfig]) -> list[str]:
    """What keeps a frontend host (``haad frontend run``) from sending: source files it cannot open,
    camera passwords it cannot read, key files that are not there."""
    return [
        *_source_problems(streams),
        *_unreadable_secrets(_camera_refs(streams)),
        *_unreadable(_client_keys(bus)),
    ]


def frontend_warnings(bus: BusConfig, streams: Sequence[StreamConfig]) -> list[str]:
    """What exposes a frontend host (``haad frontend run``): its client secret key or a camera
    password file every user may read, as an edge.yaml's are warned of; and a looped stream whose
    seam its ``bus.guard`` refuses, as an edge.yaml's."""
    exposed = _exposed(_camera_refs(streams), [] if bus.curve is None else [bus.curve.client_secret_key])
    return [*exposed, *looped_seam_warnings(bus, streams)]


def _camera_refs(streams: Sequence[StreamConfig]) -> Iterator[tuple[str, SecretRef]]:
    """The camera passwords of ``streams``, each with where the file gives it."""
    return (ref for i, s in enumerate(streams) for ref in _secret_refs(s, f"streams.{i}."))


def _source_problems(streams: Sequence[StreamConfig]) -> list[str]:
    """Files opened as the frontend will open them: one it cannot (missing, not a video, a skeleton
    array of the wrong shape, no task model) would fail, be restarted and given up, whatever the wait."""
    from pose_frontend.base import SourceError
    from pose_frontend.sources import open_source

    problems = []
    for stream in streams:
        if isinstance(stream.source, VideoSourceConfig | SkeletonSourceConfig | ImagesSourceConfig):
            try:
                open_source(stream.source).close()
            except SourceError as e:
                problems.append(f"stream {stream.id}: {e}")
        model = stream.estimator.task_model_path  # read by kind: tasks only (config/frontend.py)
        if model is not None and not Path(model).is_file():
            problems.append(
                f"stream {stream.id}: estimator.task_model_path: MediaPipe task model not found: {model}"
            )
    return problems


def _client_keys(bus: BusConfig) -> list[tuple[str | None, bool]]:
    """A frontend's key files, each with whether it must hold a secret key."""
    return (
        []
        if bus.curve is None
        else [(bus.curve.server_public_key, False), (bus.curve.client_secret_key, True)]
    )


def _unreadable(keys: Sequence[tuple[str | None, bool]]) -> list[str]:
    """Key files missing, not ZeroMQ certificates, or without the secret key they must hold."""
    problems = []
    for path, secret in keys:
        try:
            if path is not None:
                load_key(path, secret=secret)
        except CurveKeyError as e:
            problems.append(f"bus.curve: {e}")
    return problems


def _key_problems(cfg: EdgeConfig) -> list[str]:
    curve = cfg.bus.curve
    if curve is None:
        return []
    problems = _unreadable(
        [(curve.server_secret_key, True), *(_client_keys(cfg.bus) if cfg.run_frontends else [])]
    )
    if curve.authorized_clients is None:
        return problems
    try:
        authorized = authorized_keys(Path(curve.authorized_clients))
    except CurveKeyError as e:
        return [*problems, f"bus.curve.authorized_clients: {e}"]
    problems += _unreadable([(str(p), False) for p in authorized])  # else a damaged one refuses its frontend
    keys = [p.stem for p in authorized]
    if not keys:
        problems.append(
            f"bus.curve.authorized_clients: no client public keys (*.key) in {curve.authorized_clients}"
        )
    elif curve.senders is None and len(keys) > 1:
        problems.append(
            f"bus.curve.senders: {len(keys)} client keys are authorized ({', '.join(keys)}); bind each to "
            f"the streams it may send, e.g. senders: {{{keys[0]}: [{', '.join(s.id for s in cfg.streams)}]}}"
        )
    if curve.senders is not None:
        streams = {s.id for s in cfg.streams}
        bound = {s for sent in curve.senders.values() for s in sent}
        problems += [f"bus.curve.senders: no key {k}.key in {curve.authorized_clients}"
                     for k in sorted(set(curve.senders) - set(keys))]  # fmt: skip
        problems += [f"stream {s}: no key in bus.curve.senders may send it" for s in sorted(streams - bound)]
        problems += [f"bus.curve.senders: {s} is not a configured stream" for s in sorted(bound - streams)]
    return problems


def secret_problems(settings: BaseModel, where: str = "") -> list[str]:
    """Each secret referenced in ``settings`` (found at ``where`` in the file) this host cannot read
    (an unset variable, a missing file): found now, not when the store, a sink or a camera first
    needs it."""
    return _unreadable_secrets(_secret_refs(settings, where))


def _unreadable_secrets(refs: Iterable[tuple[str, SecretRef]]) -> list[str]:
    problems = []
    for where, ref in refs:
        try:
            ref.value()
        except SecretError as e:
            problems.append(f"{where}: {e}")
    return problems


def _tls_problems(cfg: EdgeConfig) -> list[str]:
    """TLS files the review server or an events sink would fail to read (the server at start, a
    sink at every delivery)."""
    from edge.events.tls import ca_file_problems

    files: dict[str, str | None] = {}
    if cfg.serve is not None:
        files |= {"serve.tls_cert": cfg.serve.tls_cert, "serve.tls_key": cfg.serve.tls_key}
    missing = [
        f"{where}: file not found: {path}"
        for where, path in files.items()
        if path and not Path(path).is_file()
    ]
    return [*ca_file_problems(cfg.events), *missing]


def _port_problems(cfg: EdgeConfig) -> list[str]:
    """Two of the daemon's listeners on one port: the second failed at every start, or (the review
    server) at every restart, for good."""
    listeners = []
    if cfg.metrics.enabled:
        listeners.append(("metrics", cfg.metrics.host, cfg.metrics.port))
    if cfg.serve is not None:
        listeners.append(("serve", cfg.serve.host, cfg.serve.port))
    if cfg.bus.endpoint.startswith("tcp://") and cfg.bus.subscriber_binds:
        listeners.append(("bus.endpoint", *_tcp_address(cfg.bus.endpoint)))
    every = {"0.0.0.0", "::", "*", ""}
    return [
        f"{a}: port {port_a} is also {b}'s; give each its own"
        for i, (a, host_a, port_a) in enumerate(listeners)
        for b, host_b, port_b in listeners[i + 1 :]
        if port_a == port_b and (host_a == host_b or {host_a, host_b} & every)
    ]


def _secret_refs(model: BaseModel, where: str) -> Iterator[tuple[str, SecretRef]]:
    """Every secret reference in ``model`` with its setting path; camera ones only when the frontends
    run here."""
    for name in type(model).model_fields:
        if name == "streams" and isinstance(model, EdgeConfig) and not model.run_frontends:
            continue
        value = getattr(model, name)
        for i, item in enumerate(value) if isinstance(value, list) else [(None, value)]:
            path = f"{where}{name}" + ("" if i is None else f".{i}")
            if isinstance(item, SecretRef):
                yield path, item
            elif isinstance(item, BaseModel):
                yield from _secret_refs(item, path + ".")
