"""redact_url: what a log line, /health or the API may show of a configured URL."""

from __future__ import annotations

import pytest

from bus.logs import redact_url


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        # Tokens as the path (Slack, Discord, Home Assistant webhooks) or a value under any name.
        ("https://hooks.example/services/T0AB12CD3/B0EF45GH6/q8Zk2LmN4pR7sT1vW3xY5aB9", "https://hooks.example/services/T0AB12CD3/B0EF45GH6/***"),
        ("HTTPS://ha.example:8123/api/webhook/-kD83hfYq0Wm2bXz7Lr4?x=1", "HTTPS://ha.example:8123/api/webhook/***?x=1"),
        ("https://hooks.example/haad?k=7f3a9c2e4b1d8f60aa&team=ops#top", "https://hooks.example/haad?k=***&team=ops#top"),
        # Kept: what tells one URL from another, and the paths of database files and rtsp streams.
        ("https://hooks.example/haad", "https://hooks.example/haad"),
        ("http://[::1]:8080/live/stream1?fps=5", "http://[::1]:8080/live/stream1?fps=5"),
        ("sqlite:////var/lib/haad/alerts-2026-12-production.db", "sqlite:////var/lib/haad/alerts-2026-12-production.db"),
        ("rtsp://admin@10.0.0.5:554/Streaming/Channels/101", "rtsp://***@10.0.0.5:554/Streaming/Channels/101"),
        ("mqtt://::1:1883", "mqtt://::1:1883"),
    ],
)  # fmt: skip
def test_token_like_path_segments_and_values_are_masked_names_and_ids_kept(url: str, shown: str) -> None:
    assert redact_url(url) == shown
