"""Event sink settings a broker or receiver would refuse at every delivery are refused by
``haad config validate`` and at start (``haad events run`` loads the same config), naming the setting."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from haad.cli import app

runner = CliRunner()


def refusals(tmp_path: Path, events: str) -> list[str]:
    """What `haad config validate` and `haad events run` say, each refusing an edge.yaml with these
    ``events`` (exit 2)."""
    path = tmp_path / "edge.yaml"
    path.write_text(f"streams: [{{id: cam, profiles: []}}]\nstate_dir: {tmp_path}\nevents: {events}\n")
    outputs = []
    for command in (["config", "validate"], ["events", "run", "--config"]):
        result = runner.invoke(app, [*command, str(path)])
        assert result.exit_code == 2, result.output
        outputs.append(result.output)
    return outputs


@pytest.mark.parametrize(
    ("events", "setting", "said"),
    [
        # paho refused each publish: a notifier round failing with a traceback each second, forever.
        ('{mqtt: {url: "mqtt://127.0.0.1:1883", discovery_prefix: "homeassistant/#"}}', "events.mqtt.discovery_prefix", "wildcard"),
        ('{mqtt: {url: "mqtt://127.0.0.1:1883", discovery_prefix: "home+assistant"}}', "events.mqtt.discovery_prefix", "wildcard"),
        ('{mqtt: {url: "mqtt://127.0.0.1:1883", topic_prefix: "haad/"}}', "events.mqtt.topic_prefix", "empty level"),
        ('{mqtt: {url: "mqtt://127.0.0.1:1883", topic_prefix: "site//haad"}}', "events.mqtt.topic_prefix", "empty level"),
        # haad events run crashed at start with ValueError from urlsplit.
        ('{mqtt: {url: "mqtt://127.0.0.1:99999"}}', "events.mqtt.url", "Port out of range"),
        ('{mqtt: {url: "mqtt://127.0.0.1:1883x"}}', "events.mqtt.url", "bad port"),
        # http.client's InvalidURL escaped each delivery: no back-off, no last_error.
        ('{webhooks: [{name: ops, url: "http://127.0.0.1:80a/hook"}]}', "events.webhooks.0.url", "bad port"),
        ('{webhooks: [{name: ops, url: "https://hooks.example:70000/hook"}]}', "events.webhooks.0.url", "Port out of range"),
        # The resolver's UnicodeError failed each round with a traceback, not a retry with back-off.
        ('{webhooks: [{name: ops, url: "https://hooks..example/hook"}]}', "events.webhooks.0.url", "bad host name"),
        ('{mqtt: {url: "mqtt://.broker.lan:1883"}}', "events.mqtt.url", "bad host name"),
        # http.client refused each delivery, its error (last_error, the log) holding the raw path and token,
        # or a non-ASCII letter failing the notifier's round with a traceback each second.
        ('{webhooks: [{name: ops, url: "https://ha.example/api/webhook/k\u00fcche"}]}', "events.webhooks.0.url", "percent-encode"),
        ('{webhooks: [{name: ops, url: "https://ha.example/hook?room=k\u00fcche"}]}', "events.webhooks.0.url", "percent-encode"),
        ('{webhooks: [{name: ops, url: "https://ha.example/api/webhook/my hook"}]}', "events.webhooks.0.url", "percent-encode"),
        ('{webhooks: [{name: ops, url: "https://ha.example/api/webhook/myhook\\t"}]}', "events.webhooks.0.url", "percent-encode"),
        # Never sent (every delivery failed on a DNS error), and a password written into the config.
        ('{webhooks: [{name: ops, url: "https://bob:hunter2@hooks.example/hook"}]}', "events.webhooks.0.url", "no user or password"),
        ('{webhooks: [{name: ops, url: "https://bob@hooks.example/hook"}]}', "events.webhooks.0.url", "no user or password"),
    ],
)  # fmt: skip
def test_topics_and_ports_no_broker_or_receiver_takes_are_refused_by_validate_and_at_start(
    tmp_path: Path, events: str, setting: str, said: str
) -> None:
    for output in refusals(tmp_path, events):
        assert setting in output and said in output and "hunter2" not in output


def test_a_prefix_of_several_levels_is_still_fine(tmp_path: Path) -> None:
    path = tmp_path / "edge.yaml"
    path.write_text(
        f"streams: [{{id: cam, profiles: []}}]\nstate_dir: {tmp_path}\nprofiles_dir: {tmp_path}\n"
        'events: {mqtt: {url: "mqtt://127.0.0.1:1883", topic_prefix: site-1/haad, discovery_prefix: ha.test/x}}\n'
    )
    result = runner.invoke(app, ["config", "validate", str(path)])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (None, "events.mqtt.ca_file: file not found"),  # haad events run started and failed every delivery
        ("not a certificate\n", "events.mqtt.ca_file: no PEM certificate to trust"),  # both passed it
        (b"\x30\x82\x01\x0a\x02\x82\x01\x01\x00", "events.mqtt.ca_file: no PEM certificate to trust"),  # DER
    ],
)
@pytest.mark.parametrize(
    ("events", "where"),
    [
        ('{{mqtt: {{url: "mqtts://127.0.0.1:8883", ca_file: {ca}}}}}', "events.mqtt.ca_file"),
        ('{{webhooks: [{{name: ops, url: "https://127.0.0.1:8443/hook", ca_file: {ca}}}]}}', "events.webhooks.0.ca_file"),
    ],
)  # fmt: skip
def test_a_ca_file_with_no_certificate_is_refused_by_validate_and_at_start(
    tmp_path: Path, content: str | bytes | None, said: str, events: str, where: str
) -> None:
    ca = tmp_path / "ca.pem"
    if isinstance(content, str):
        ca.write_text(content)
    elif content is not None:
        ca.write_bytes(content)
    for output in refusals(tmp_path, events.format(ca=ca)):
        assert said.replace("events.mqtt.ca_file", where) in output, output


def test_a_webhook_ca_file_is_for_an_https_url(tmp_path: Path) -> None:
    for output in refusals(
        tmp_path, '{webhooks: [{name: ops, url: "http://127.0.0.1:8080/hook", ca_file: /x.pem}]}'
    ):
        assert "ca_file is for an https:// URL" in output, output


@pytest.mark.parametrize(
    ("events", "shown", "secret"),
    [
        # The setting's error echoed the url as written, a webhook's token or a broker's password in it.
        ('{webhooks: [{name: ops, url: "htps://hooks.example/services/T0AB12CD3/B0EF45GH6/s3cretHook"}]}', "(got 'htps://hooks.example/services/***/***/***')", "s3cretHook"),
        ('{webhooks: [{name: ops, url: "https://ha.example/api/webhook/kitchen door"}]}', "(got 'https://ha.example/api/webhook/***')", "kitchen"),
        ('{webhooks: [{name: ops, url: "https://ha.example:99999/api/webhook/kitchen-door-alarm"}]}', "(got 'https://ha.example:99999/api/webhook/***')", "kitchen"),
        ('{webhooks: [{name: ops, url: "https://ha.example:80a/hook?code=kitchen"}]}', "(got 'https://ha.example:80a/hook?code=***')", "kitchen"),
        ('{webhooks: [{name: ops, url: "ha.example/api/webhook/kitchen-door-alarm"}]}', "events.webhooks.0.url: not an http(s) URL\n", "kitchen"),
        ('{mqtt: {url: "tcp://bob:hunter2@broker.lan:1883"}}', "(got 'tcp://***@broker.lan:1883')", "hunter2"),
        ('{public_url: "https://bob:hunter2@haad.lan/?x=1"}', "(got 'https://***@haad.lan/?x=1')", "hunter2"),
    ],
)  # fmt: skip
def test_a_refused_url_is_echoed_with_its_token_or_password_masked(
    tmp_path: Path, events: str, shown: str, secret: str
) -> None:
    for output in refusals(tmp_path, events):
        assert shown in output and secret not in output, output
