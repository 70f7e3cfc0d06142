"""The CA a sink's TLS peer (an mqtts:// broker, an https:// webhook receiver) is checked against:
its ``ca_file`` (a private CA, a self-signed certificate) or the system's CAs."""

from __future__ import annotations

import ssl
from pathlib import Path

from config.events import EventsConfig


def tls_context(ca_file: str | None) -> ssl.SSLContext:
    """OSError (ssl.SSLError among them) when ``ca_file`` cannot be read or holds no certificate."""
    return ssl.create_default_context(cafile=ca_file)


def ca_file_problems(cfg: EventsConfig) -> list[str]:
    """Each ``ca_file`` missing or holding no certificate, for ``haad config validate`` and the start
    of ``haad run`` and ``haad events run``: a file of the wrong kind (a key, a DER file) passed both
    and failed every delivery instead."""
    files = {"events.mqtt.ca_file": cfg.mqtt.ca_file if cfg.mqtt else None}
    files |= {f"events.webhooks.{i}.ca_file": w.ca_file for i, w in enumerate(cfg.webhooks)}
    problems = []
    for where, ca_file in files.items():
        if ca_file is None:
            continue
        if not Path(ca_file).is_file():
            problems.append(f"{where}: file not found: {ca_file}")
            continue
        try:
            tls_context(ca_file)
        except OSError as e:
            problems.append(f"{where}: no PEM certificate to trust in {ca_file} ({e})")
    return problems
