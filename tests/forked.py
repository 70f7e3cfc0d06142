"""Scripts run in a fork of the test process, as ``python -c`` would run them in a new interpreter:
haad is imported already, where a new interpreter spends a second or more importing it. For tests
that kill or race processes (the outbox and alert-log drills) without paying that second each time."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
import traceback
from pathlib import Path


def start_forked(script: str, said: Path) -> int:
    """The pid of a fork of this process running ``script`` as ``python -c`` would, its stdout and
    stderr in ``said``.out and .err; its exit status is the script's (SystemExit) or, killed, -signal.
    A fork, not a new interpreter: haad is imported already, where a new one spends a second or more
    importing it. Log records go to stderr as in a new interpreter (warnings and up, no handler)."""
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        for fd, suffix in ((1, ".out"), (2, ".err")):
            os.dup2(os.open(f"{said}{suffix}", os.O_WRONLY | os.O_CREAT | os.O_TRUNC), fd)
        sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115
        sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
        logging.root.handlers.clear()
        logging.root.setLevel(logging.WARNING)
        exec(compile(script, "<forked>", "exec"), {"__name__": "__main__"})
        code = 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        if isinstance(e.code, str):
            print(e.code, file=sys.stderr)
    except BaseException:  # noqa: BLE001 - said on its stderr, as a process's would be
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def run_forked(script: str, said: Path, timeout_s: float = 60) -> subprocess.CompletedProcess[str]:
    """``script`` run to its end by :func:`start_forked`: its exit status and output."""
    return wait_forked(start_forked(script, said), said, timeout_s)


def wait_forked(pid: int, said: Path, timeout_s: float = 60) -> subprocess.CompletedProcess[str]:
    """The exit status and output of :func:`start_forked`'s ``pid`` once it ends (killed after
    ``timeout_s``: an error)."""
    deadline = time.monotonic() + timeout_s
    while (ended := os.waitpid(pid, os.WNOHANG)) == (0, 0):
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            raise AssertionError(f"forked process {pid} still running after {timeout_s} s")
        time.sleep(0.01)
    out, err = (Path(f"{said}{suffix}").read_text() for suffix in (".out", ".err"))
    return subprocess.CompletedProcess(pid, os.waitstatus_to_exitcode(ended[1]), out, err)


def haad_script(*args: str) -> str:
    """The source of ``haad ARGS``, for :func:`start_forked`."""
    return f"from haad.cli import app\napp({list(args)!r}, prog_name='haad')\n"


def haad(*args: str, said: Path) -> subprocess.CompletedProcess[str]:
    """``haad ARGS`` as a user runs it, in a fork (:func:`run_forked`); its output also in ``said``.*."""
    return run_forked(haad_script(*args), said)
