"""``haad profiles``: what the enrolled profiles hold, on a host with no review server (read only;
rollback stays on the review UI's profile page)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from haad.cli.common import ConfigOption, fail, load_edge_config, printable, table

if TYPE_CHECKING:
    from edge.profiles import Profile, ProfileStore

app = typer.Typer(
    no_args_is_help=True, add_completion=False, help="Show the enrolled profiles (haad enroll)."
)

JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


def _summary(profiles: ProfileStore, name: str, streams: dict[str, list[str]]) -> dict[str, Any]:
    """``name``'s versions, its newest readable one and the behaviours marked normal for one camera;
    ``error`` says why the newest version is not the one shown (unreadable)."""
    from edge.overlays import cameras_using, overlay_store
    from edge.profiles import ProfileError, behaviour_summary

    error = None
    try:
        latest: Profile | None = profiles.load(name)
    except ProfileError as e:  # as a daemon does: the newest readable one keeps serving
        error, latest = str(e), profiles.newest_readable(name)
    cameras = overlay_store(profiles, name)
    overlays: list[dict[str, Any]] = []
    for stream in cameras.names():
        try:
            overlay = cameras.load(stream)
        except ProfileError as e:
            overlays.append({"stream": stream, "error": str(e)})
            continue
        if len(overlay.windows):
            overlays.append(
                {"stream": stream, "version": overlay.version, "behaviours": behaviour_summary(overlay)}
            )
    return {
        "name": name,
        "versions": profiles.versions(name),
        "error": error,
        "version": None if latest is None else latest.version,
        "threshold": None if latest is None else latest.threshold,
        "support_windows": 0 if latest is None else len(latest.windows),
        "model_version": None if latest is None else latest.model_version,
        "created_at": None if latest is None else latest.meta.get("created_at"),
        "behaviours": [] if latest is None else behaviour_summary(latest),
        "cameras": cameras_using(name, streams),
        "overlays": overlays,
    }


def _store_and_streams(config: Path | None) -> tuple[ProfileStore, dict[str, list[str]]]:
    from edge.profiles import ProfileStore
    from edge.review.server import configured_streams

    cfg = load_edge_config(config)
    return ProfileStore(Path(cfg.profiles_dir)), configured_streams(cfg)


def _behaviour_text(b: dict[str, Any]) -> str:
    made = (
        f"marked normal: alert(s) {', '.join(map(str, b['alert_ids']))}"
        if b["kind"] == "feedback"
        else f"{len(b['sources'])} clip(s)"
    )
    return f"{b['name']} ({made}, {b['windows']} windows)"


@app.command("list")
def list_cmd(config: Path | None = ConfigOption, as_json: JsonOpt = False) -> None:
    """Every profile in profiles_dir: its newest version, behaviours, threshold, the cameras scored
    against it and the alerts marked normal for one camera."""
    profiles, streams = _store_and_streams(config)
    summaries = [_summary(profiles, name, streams) for name in profiles.names()]
    if as_json:
        typer.echo(json.dumps(summaries, indent=2))
        return
    if not summaries:
        typer.echo(
            f"no profile in {profiles.root.absolute()} yet: enrol one (haad enroll --profile NAME ...)"
        )
        return
    rows = [
        [
            s["name"],
            "-" if s["version"] is None else f"v{s['version']}",
            str(len(s["versions"])),
            "-" if s["threshold"] is None else f"{s['threshold']:.3f}",
            ", ".join(b["name"] for b in s["behaviours"]) or "-",
            ", ".join(
                f"{b['name']} ({o['stream']})" for o in s["overlays"] for b in o.get("behaviours", [])
            ) or "-",
            ", ".join(s["cameras"]) or "-",
        ]
        for s in summaries
    ]  # fmt: skip
    header = ["PROFILE", "VERSION", "VERSIONS", "THRESH", "BEHAVIOURS", "NORMAL FOR ONE CAMERA", "CAMERAS"]
    typer.echo(table(header, rows))
    for s in summaries:
        if s["error"]:
            typer.echo(printable(f"warning: {s['error']}; v{s['version']} is shown"), err=True)


@app.command("show")
def show_cmd(
    name: Annotated[str, typer.Argument(help="Profile name (see `haad profiles list`).")],
    config: Path | None = ConfigOption,
    as_json: JsonOpt = False,
) -> None:
    """One profile: each behaviour with its clips or the alerts marked normal, its camera overlays
    and every version."""
    profiles, streams = _store_and_streams(config)
    if name not in profiles.names():
        known = ", ".join(profiles.names()) or "none"
        raise fail(
            printable(f"no profile named {name!r} in {profiles.root.absolute()} (enrolled there: {known})")
        )
    s = _summary(profiles, name, streams)
    if as_json:
        typer.echo(json.dumps(s, indent=2))
        return
    if s["error"]:
        typer.echo(printable(f"warning: {s['error']}; v{s['version']} is shown"), err=True)
    if s["version"] is None:
        raise fail(f"no version of profile {name} can be read")
    lines = [
        f"profile {name} v{s['version']} (versions {', '.join(map(str, s['versions']))}): threshold "
        f"{s['threshold']:.3f}, {s['support_windows']} support windows, model {s['model_version']}, "
        f"made {s['created_at']}",
        f"cameras: {', '.join(s['cameras']) or '- (no configured stream names it)'}",
        "behaviours (every camera):",
        *(f"  {_behaviour_text(b)}" for b in s["behaviours"]),
    ]
    for o in s["overlays"]:
        lines.append(
            f"normal for camera {o['stream']} only"
            + (f": {o['error']}" if "error" in o else f" (v{o['version']}):")
        )
        lines += [f"  {_behaviour_text(b)}" for b in o.get("behaviours", [])]
    for line in lines:
        typer.echo(printable(line))
