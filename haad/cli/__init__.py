"""The haad command."""

from __future__ import annotations

try:  # a second of imports: Ctrl-C meanwhile ends as it does later, quietly with 130
    import typer

    from haad import __version__
    from haad.cli import alerts, bench, config_check, evaluate, events, frontend, keys, profiles, serve, train
    from haad.cli.demo import demo_cmd
    from haad.cli.enroll import enroll_cmd
    from haad.cli.run import run_cmd
except KeyboardInterrupt:
    raise SystemExit(130) from None

HELP = """haad flags unusual human actions on live cameras after being shown a few clips of normal
behaviour.

Start with `haad demo`; run a deployment with `haad run --config edge.yaml`; enrol normal behaviour
with `haad enroll` (see what is enrolled with `haad profiles`); review what it found with `haad serve` (web pages) or `haad alerts`.

Exit codes: 0 done; 1 failed while running (a database, a file that cannot be written, a camera
given up); 2 bad usage, configuration or input file (nothing was started); 130 interrupted by
Ctrl-C, but for run, demo, events run, frontend run and serve, which stop cleanly with 0."""

app = typer.Typer(no_args_is_help=True, add_completion=False, help=HELP, rich_markup_mode=None)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"haad {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    pass


app.command("run")(run_cmd)
app.command("demo")(demo_cmd)
app.command("enroll")(enroll_cmd)
app.add_typer(profiles.app, name="profiles")
app.add_typer(serve.app, name="serve")
app.add_typer(alerts.app, name="alerts")
app.add_typer(events.app, name="events")
app.add_typer(config_check.app, name="config")
app.add_typer(frontend.app, name="frontend")
app.add_typer(keys.app, name="keys")
app.add_typer(train.app, name="train")
app.add_typer(evaluate.app, name="eval")
app.add_typer(bench.app, name="bench")


def main() -> None:
    app()
