"""Links back to the review server in every event: ``alert.url`` opens the alert's page and
``alert.thumbnail_url`` its picture nearest the peak (cameras that keep snapshots), both under
``events.public_url``; without one both are null. Added at delivery, not stored in the outbox, so a
changed address applies to events still waiting."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import replace
from typing import Any

from edge.store.outbox import OutboxEvent


def alert_url(public_url: str, alert_id: int) -> str:
    return f"{public_url}/alerts/{alert_id}"


def thumbnail_url(public_url: str, alert_id: int) -> str:
    return f"{public_url}/api/v1/alerts/{alert_id}/thumbnail.jpg"


def alert_with_links(
    alert: dict[str, Any], public_url: str | None, snapshot_streams: Collection[str]
) -> dict[str, Any]:
    """``alert`` (JSON of :func:`edge.store.outbox.alert_json`) with its ``url`` and ``thumbnail_url``."""
    linked = dict(alert)
    linked["url"] = alert_url(public_url, alert["id"]) if public_url else None
    keeps = public_url is not None and alert["stream_id"] in snapshot_streams
    linked["thumbnail_url"] = thumbnail_url(public_url, alert["id"]) if public_url and keeps else None
    return linked


def with_links(event: OutboxEvent, public_url: str | None, snapshot_streams: Collection[str]) -> OutboxEvent:
    alert = alert_with_links(event.payload["alert"], public_url, snapshot_streams)
    return replace(event, payload={**event.payload, "alert": alert})
