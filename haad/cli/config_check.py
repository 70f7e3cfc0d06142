"""``haad config``: check and print edge.yaml."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import typer

from config.edge import EdgeConfig
from config.frontend import StreamConfig, WebcamSourceConfig
from haad.cli.common import load_edge_config, say_checks

app = typer.Typer(no_args_is_help=True, help="Check configuration files.")


@app.command("defaults")
def defaults_cmd() -> None:
    """Print every setting of edge.yaml with its default value (a starting point to edit); those of
    the sections that are off (bus.curve, serve, events.mqtt, a webhook) follow as comments."""
    import yaml

    from config.bus import CurveConfig
    from config.events import MqttConfig, WebhookConfig
    from config.serve import ServeConfig

    typer.echo(yaml.safe_dump(EdgeConfig().model_dump(mode="json"), sort_keys=False))
    # Null above, their own settings would stay unknown short of reading config/*.py.
    off = {
        "bus": {"curve": CurveConfig().model_dump(mode="json")},
        "serve": ServeConfig().model_dump(mode="json"),
        "events": {
            "mqtt": MqttConfig(url="mqtt://127.0.0.1:1883").model_dump(mode="json"),
            "webhooks": [WebhookConfig(name="ops", url="https://hooks.example/haad").model_dump(mode="json")],
        },
    }
    commented = "".join(f"# {line}\n" for line in yaml.safe_dump(off, sort_keys=False).splitlines())
    typer.echo("# Off by default (null or [] above); their settings, to merge in:\n" + commented, nl=False)


@app.command("validate")
def validate_cmd(
    path: Path | None = typer.Argument(
        None, help="edge.yaml (or, with --frontend, a frontend host's file) to check."
    ),
    config: Path | None = typer.Option(None, "--config", help="The same, as the other commands take it."),
    frontend: bool = typer.Option(
        False,
        "--frontend",
        help="The file is a frontend host's (haad frontend run FILE): its bus, streams and their packing.",
    ),
) -> None:
    """Check an edge.yaml: every setting (each problem with its line), and what the deployment needs
    on this host: the profiles its streams name, its source files, its bus keys, its secrets, the
    folders it writes in. Warns when no stream has a profile to score against yet. With --frontend,
    a frontend host's file, as `haad frontend run` checks it before starting."""
    # `--config edge.yaml`, as run, enroll, serve and alerts take it, was "No such option: --config".
    target = path or config
    if target is None or (path is not None and config is not None):
        raise typer.BadParameter("give one edge.yaml to check: haad config validate edge.yaml")
    problems, warnings, summary = _frontend_file(target) if frontend else _edge_yaml(target)
    say_checks(target, problems, warnings)
    typer.echo(f"{target}: valid ({summary})")


def _camera_problems(streams: Sequence[StreamConfig]) -> list[str]:
    """Local cameras (by index) that do not open here now. Only validate asks: `haad run` and `haad
    frontend run` start without one, retrying until it is plugged in. Network streams are not probed."""
    from haad.cli.common import camera_refusal

    problems = []
    for stream in streams:
        if isinstance(stream.source, WebcamSourceConfig):
            refusal = camera_refusal(stream.source)
            if refusal is not None:
                problems.append(f"stream {stream.id}: source: {refusal}; connect it or fix source.index")
    return problems


def _edge_yaml(path: Path) -> tuple[list[str], list[str], str]:
    """Problems, warnings and what the file sets up, of an edge.yaml (exits 2 when it is invalid)."""
    from bus.logs import quiet_native_stderr
    from edge.checks import deployment_checks

    cfg = load_edge_config(path)
    with quiet_native_stderr():  # opening its source files: OpenCV's boilerplate (their problems say why)
        problems, warnings = deployment_checks(cfg)
    problems += _camera_problems(cfg.streams if cfg.run_frontends else [])
    # warnings are looked for only without a problem (deployment_checks)
    return (
        problems,
        [] if problems else warnings,
        f"{len(cfg.streams)} stream(s), store {cfg.store.url.split('://')[0]}",
    )


def _frontend_file(path: Path) -> tuple[list[str], list[str], str]:
    """The same of a frontend host's file: the checks `haad frontend run` makes before it starts."""
    from bus.logs import quiet_native_stderr
    from haad.cli.frontend import frontend_checks, load_frontend_config

    cfg = load_frontend_config(path)
    with quiet_native_stderr():  # as for an edge.yaml
        problems, warnings = frontend_checks(cfg)
    problems += _camera_problems(cfg.streams)
    return (
        problems,
        [] if problems else warnings,
        f"frontend host: {len(cfg.streams)} stream(s) publishing to {cfg.bus.endpoint}",
    )
