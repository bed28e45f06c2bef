"""What the project's venv setup scripts share (bench/reference/setup.py, scripts/fuzz/setup.py): a
one-line failure on stderr, commands whose output goes to stderr (stdout carries only the script's
one line), and making the venv when it is missing.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path


class VenvSetup:
    def __init__(self, prog: str, venv: Path) -> None:
        self.prog = prog
        self.venv = venv
        self.python = venv / "bin" / "python"

    def fail(self, msg: str) -> None:
        print(f"{self.prog}: {msg}", file=sys.stderr)
        sys.exit(1)

    def run(self, cmd: list[str], what: str) -> None:
        if subprocess.run(cmd, stdout=sys.stderr).returncode != 0:
            self.fail(f"{what} failed (command: {' '.join(cmd)})")

    def create(self, announce: str) -> bool:
        """Makes the venv if it is missing (saying `announce` first); True when it was made."""
        if self.python.exists():
            return False
        print(announce, file=sys.stderr, flush=True)
        self.run([sys.executable, "-m", "venv", str(self.venv)], "python3 -m venv (on Debian: apt-get install python3-venv)")
        return True
