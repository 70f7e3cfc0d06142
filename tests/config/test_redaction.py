"""redact_url: what a log line, /health, the API or a configuration error may show of a URL."""

from __future__ import annotations

import pytest

from config.redaction import redact_url


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        # Tokens as the path (Slack, Discord, Home Assistant webhooks) or a value under any name.
        ("https://hooks.example/services/T0AB12CD3/B0EF45GH6/q8Zk2LmN4pR7sT1vW3xY5aB9", "https://hooks.example/services/***/***/***"),
        ("HTTPS://ha.example:8123/api/webhook/-kD83hfYq0Wm2bXz7Lr4?x=1", "HTTPS://ha.example:8123/api/webhook/***?x=1"),
        ("https://hooks.example/haad?k=7f3a9c2e4b1d8f60aa&team=ops#top", "https://hooks.example/haad?k=***&team=***#top"),
        # Kept: what tells one URL from another, and the paths of database files and rtsp streams.
        ("https://hooks.example/haad", "https://hooks.example/haad"),
        ("http://[::1]:8080/live/stream1?fps=5", "http://[::1]:8080/live/stream1?fps=5"),
        ("sqlite:////var/lib/haad/alerts-2026-12-production.db", "sqlite:////var/lib/haad/alerts-2026-12-production.db"),
        ("rtsp://admin@10.0.0.5:554/Streaming/Channels/101", "rtsp://***@10.0.0.5:554/Streaming/Channels/101"),
        ("rtsp://10.0.0.5/cam/realmonitor?channel=1&subtype=0", "rtsp://10.0.0.5/cam/realmonitor?channel=1&subtype=0"),
        ("postgresql+psycopg://haad@db:5432/haad?sslmode=require&sslpassword=x", "postgresql+psycopg://***@db:5432/haad?sslmode=require&sslpassword=***"),
        ("mqtt://::1:1883", "mqtt://::1:1883"),
    ],
)  # fmt: skip
def test_token_like_path_segments_and_values_are_masked_names_and_ids_kept(url: str, shown: str) -> None:
    assert redact_url(url) == shown


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        # A Home Assistant webhook id its user chose: a word, as secret as a random one.
        ("https://ha.example:8123/api/webhook/kitchen-door-alarm", "https://ha.example:8123/api/webhook/***"),
        ("https://ha.example/api/webhook/alarm/", "https://ha.example/api/webhook/***/"),
        # Discord's numeric id stays; its token goes, with its Slack-style suffix after it.
        ("https://discord.example/api/webhooks/112233445566778899/abcDEF/slack", "https://discord.example/api/webhooks/112233445566778899/***/***"),
        ("https://hooks.zapier.example/hooks/catch/123456/abcdef/", "https://hooks.zapier.example/hooks/***/123456/***/"),
        # A receiver's key under a name of its own (Azure Functions' code=), short and word-like.
        ("https://fn.example/api/alert?code=kitchen&n=3", "https://fn.example/api/alert?code=***&n=3"),
        ("https://fn.example/api/alert?s3cret", "https://fn.example/api/alert?***"),
        # A mistyped scheme is still a web receiver's URL (a config error echoes it).
        ("htps://hooks.example/services/T0AB12CD3/B0EF45GH6/secret", "htps://hooks.example/services/***/***/***"),
        # A password with an unencoded @, ? or # in it: masked whole, not cut there.
        ("rtsp://admin:p@ss@10.0.0.5/s1", "rtsp://***@10.0.0.5/s1"),
        ("rtsp://admin:p#ss@10.0.0.5/s1", "rtsp://***@10.0.0.5/s1"),
        ("postgresql://haad:p?ss@db/haad", "postgresql://***@db/haad"),
    ],
)  # fmt: skip
def test_a_webhook_key_that_is_a_word_or_short_and_an_unencoded_password_are_masked(
    url: str, shown: str
) -> None:
    assert redact_url(url) == shown
