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
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
from pyvenv import VenvSetup  # noqa: E402

VENV = ROOT / ".cache" / "fuzz-venv"
SETUP = VenvSetup("scripts/fuzz/setup.py", VENV)
PY = SETUP.python
fail, run = SETUP.fail, SETUP.run
ST = VENV / "bin" / "st"
REQUIREMENTS = Path(__file__).resolve().parent / "requirements.txt"
STAMP = VENV / ".requirements.sha256"


def main() -> None:
    want = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()
    rel = VENV.relative_to(ROOT)
    if ST.exists() and STAMP.exists() and STAMP.read_text().strip() == want:
        print(f"{rel} is up to date with {REQUIREMENTS.relative_to(ROOT)}; nothing installed; {ST}")
        return
    created = SETUP.create(f"creating {rel}")
    print(f"installing {REQUIREMENTS.relative_to(ROOT)} into {rel}", file=sys.stderr, flush=True)
    run([str(PY), "-m", "pip", "--disable-pip-version-check", "install", "-q", "-r", str(REQUIREMENTS)], "pip install")
    if not ST.exists():
        fail(f"pip finished but {ST} is missing")
    STAMP.write_text(want + "\n")
    print(f"{'created' if created else 'updated'} {rel} from {REQUIREMENTS.relative_to(ROOT)}; {ST}")


if __name__ == "__main__":
    main()
