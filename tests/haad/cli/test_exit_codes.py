"""The exit codes `haad --help` promises, as a shell sees them."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from tests.daemon_harness import ROOT, haad

# Runs the installed entry point with Ctrl-C arriving while ``module`` is imported (a second of
# imports passes before any command runs).
INTERRUPTED = textwrap.dedent(
    """
    import importlib.abc, sys

    interrupted = sys.argv[1]

    class CtrlC(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name == interrupted:
                raise KeyboardInterrupt
            return None

    sys.meta_path.insert(0, CtrlC())
    sys.argv[1:] = ["--version"]
    from haad.cli import main
    main()
    """
)


def test_help_states_the_exit_codes() -> None:
    text = " ".join(haad("--help").stdout.split())
    assert "Exit codes: 0 done; 1 failed while running" in text and "2 bad usage" in text
    assert "130 interrupted by Ctrl-C" in text


@pytest.mark.parametrize("module", ["typer", "haad.cli.alerts", "haad.cli.run"])
def test_ctrl_c_while_haad_starts_exits_130_without_a_traceback(module: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", INTERRUPTED, module], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert (done.returncode, done.stderr) == (130, ""), done.stderr[-800:]


def test_bad_usage_is_2_and_a_missing_alert_database_is_1(tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "edge.yaml").write_text("no_such_setting: 1\n")
    bad = haad("run", "--config", str(tmp_path / "edge.yaml"))
    assert bad.returncode == 2 and "no_such_setting" in bad.stderr and "Traceback" not in bad.stderr
    gone = haad("alerts", "list", "--db", f"sqlite:///{tmp_path / 'none.db'}")
    assert gone.returncode == 1 and gone.stderr.startswith("error: no alert database")
