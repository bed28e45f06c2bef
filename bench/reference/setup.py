#!/usr/bin/env python3
"""Make the venv that bench/reference/reference.py runs in, and print one line saying what it did.

    python3 bench/reference/setup.py        # from anywhere; then use .cache/parity-venv/bin/python

It reuses .cache/parity-venv, the venv of scripts/parity/make_reference.py: torch and
sentence-transformers are already there (a 6 GB download we do not want twice), so installing
bench/reference/requirements.txt only adds faiss-cpu. When every pin is already installed it does
not run pip at all, so a second run takes well under a second. Exits 1 with a one-line message on
stderr if python3 -m venv or pip fails.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
from pyvenv import VenvSetup  # noqa: E402

VENV = ROOT / ".cache" / "parity-venv"
SETUP = VenvSetup("bench/reference/setup.py", VENV)
PY = SETUP.python
fail, run = SETUP.fail, SETUP.run
REQUIREMENTS = Path(__file__).resolve().parent / "requirements.txt"

# Run inside the venv: prints the pins (name==version) that are missing or at another version.
CHECK = """
import importlib.metadata as md, sys
for pin in sys.argv[1:]:
    name, _, want = pin.partition("==")
    try:
        have = md.version(name)
    except md.PackageNotFoundError:
        have = None
    # torch from download.pytorch.org reports "2.15.0+cpu": the local part does not matter here.
    if have is None or (want and have.split("+")[0] != want):
        print(pin)
"""


def main() -> None:
    pins = [l.split("#")[0].strip() for l in REQUIREMENTS.read_text().splitlines()]
    pins = [p for p in pins if p]
    rel = VENV.relative_to(ROOT)

    created = SETUP.create(f"creating {rel} (about 6 GB once torch is in)")

    check = subprocess.run([str(PY), "-c", CHECK, *pins], capture_output=True, text=True)
    if check.returncode != 0:
        last = (check.stderr.strip().splitlines() or ["no error output"])[-1]
        fail(f"cannot run {PY}: {last}")
    missing = check.stdout.split()
    if not missing:
        print(f"{rel} already has {', '.join(pins)}; nothing installed; interpreter {PY}")
        return

    pip = [str(PY), "-m", "pip", "--disable-pip-version-check", "install", "-q"]
    torch_index = os.environ.get("PARITY_TORCH_INDEX_URL")
    torch_pin = next((p for p in missing if p.startswith("torch==")), None)
    if torch_index and torch_pin:
        print(f"installing {torch_pin} (CPU build) from {torch_index}", file=sys.stderr, flush=True)
        run([*pip, "--index-url", torch_index, torch_pin], "pip install torch (CPU build)")
    print(f"installing {', '.join(missing)} into {rel}", file=sys.stderr, flush=True)
    run([*pip, "-r", str(REQUIREMENTS)], f"pip install -r {REQUIREMENTS.relative_to(ROOT)}")
    print(f"{'created' if created else 'updated'} {rel}: installed {', '.join(missing)}; interpreter {PY}")


if __name__ == "__main__":
    main()
