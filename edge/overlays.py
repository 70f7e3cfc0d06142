"""Camera overlays: behaviours a reviewer made normal for one camera only.

"Mark as normal" with the scope *this camera* does not change the profile every camera shares: the
alert's windows become a behaviour of the profile's overlay for that camera, stored like a profile
under the profile's folder (``<profiles_dir>/<profile>/cameras/<stream>/v0001.npz`` + ``.json``,
versioned the same way) and holding feedback behaviours only. The worker scores that camera's
windows against the profile's behaviours and the overlay's together (the nearest of all), with the
profile's threshold; every other camera keeps the profile alone. The scope *every camera using the
profile* adds the behaviour to the profile itself (a new version).

Feedback rows in the alert log name an overlay ``<profile>@<stream>`` (profile names cannot hold
``@``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

from edge.profiles import ProfileStore

OVERLAYS_DIR = "cameras"
Scope = Literal["camera", "all"]


def overlay_store(profiles: ProfileStore, profile: str) -> ProfileStore:
    """The overlays of ``profile``: a store whose names are stream ids."""
    return ProfileStore(profiles.root / profile / OVERLAYS_DIR, overlay=True)


def target_name(profile: str, stream: str | None) -> str:
    """What feedback changed, as the alert log records it: ``profile`` or ``profile@stream``."""
    return profile if stream is None else f"{profile}@{stream}"


def parse_target(target: str) -> tuple[str, str | None]:
    """``profile@stream`` -> (profile, stream); a plain profile name -> (profile, None)."""
    profile, _, stream = target.partition("@")
    return profile, stream or None


def target_versions(profiles: ProfileStore, target: str) -> list[int]:
    """The versions on disk of what feedback changed: a profile, or (``profile@stream``) its overlay."""
    profile, stream = parse_target(target)
    return profiles.versions(profile) if stream is None else overlay_store(profiles, profile).versions(stream)


def cameras_using(profile: str, streams: Mapping[str, Sequence[str]]) -> list[str]:
    """The configured streams scored against ``profile``: those naming it, and those naming no
    profile (they are scored against every loaded one)."""
    return sorted(s for s, names in streams.items() if profile in names or not names)


def affected_cameras(
    profile: str, stream: str, scope: Scope, streams: Mapping[str, Sequence[str]]
) -> list[str]:
    """The cameras a feedback of ``scope`` on an alert of ``stream`` changes."""
    if scope == "camera":
        return [stream]
    using = cameras_using(profile, streams)
    return using if using else [stream]
