#!/usr/bin/env python3
"""Make the venv that `npm run fuzz` runs schemathesis from, and print one line saying what it did.

    python3 scripts/fuzz/setup.py        # from anywhere; then use .cache/fuzz-venv/bin/st

A venv of its own, .cache/fuzz-venv, not .cache/parity-venv: schemathesis needs none of torch,
and its pins (requests, hypothesis, click, ...) must not move under the parity stack's, nor theirs
under it. The venv remembers the sha256 of the requirements.txt it was installed from; while that
matches, pip is not run at all, so a second run takes well under a second. Exits 1 with a one-line
message on stderr if python3 -m venv or pip fails.
"""
from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / ".cache" / "fuzz-venv"
PY = VENV / "bin" / "python"
ST = VENV / "bin" / "st"
REQUIREMENTS = Path(__file__).resolve().parent / "requirements.txt"
STAMP = VENV / ".requirements.sha256"


def fail(msg: str) -> None:
    print(f"scripts/fuzz/setup.py: {msg}", file=sys.stderr)
    sys.exit(1)


def run(cmd: list[str], what: str) -> None:
    # Everything pip says goes to stderr (stdout carries only our one line).
    if subprocess.run(cmd, stdout=sys.stderr).returncode != 0:
        fail(f"{what} failed (command: {' '.join(cmd)})")


def main() -> None:
    want = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    rel = VENV.relative_to(ROOT)
    if ST.exists() and STAMP.exists() and STAMP.read_text().strip() == want:
        print(f"{rel} is up to date with {REQUIREMENTS.relative_to(ROOT)}; nothing installed; {ST}")
        return
    created = False
    if not PY.exists():
        print(f"creating {rel}", file=sys.stderr, flush=True)
        run([sys.executable, "-m", "venv", str(VENV)], "python3 -m venv (on Debian: apt-get install python3-venv)")
        created = True
    print(f"installing {REQUIREMENTS.relative_to(ROOT)} into {rel}", file=sys.stderr, flush=True)
    run([str(PY), "-m", "pip", "--disable-pip-version-check", "install", "-q", "-r", str(REQUIREMENTS)], "pip install")
    if not ST.exists():
        fail(f"pip finished but {ST} is missing")
    STAMP.write_text(want + "\n")
    print(f"{'created' if created else 'updated'} {rel} from {REQUIREMENTS.relative_to(ROOT)}; {ST}")


if __name__ == "__main__":
    main()
