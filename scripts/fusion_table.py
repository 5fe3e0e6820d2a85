"""Rank a gold set with the fusion variants of the README table, on the index in ./index.

Run from the repository root: .venv/bin/python scripts/fusion_table.py [tests/data/gold_retrieval.jsonl]
"""
import json
import sys

import numpy as np

from scoqa.engine import get_engine

s = get_engine().searcher()
path = sys.argv[1] if len(sys.argv) > 1 else "tests/data/gold_retrieval.jsonl"
gold = [json.loads(line) for line in open(path, encoding="utf-8") if line.strip()]
chunks = s.index.chunks
row_of = {c.id: i for i, c in enumerate(chunks)}


def metrics(rankings):
    r1 = r3 = mrr = 0
    for g, order in zip(gold, rankings):
        rank = next((i for i, row in enumerate(order[:10]) if any(a in chunks[row].text for a in g["answers"])), None)
        if rank is not None:
            r1 += rank == 0; r3 += rank < 3; mrr += 1 / (rank + 1)
    n = len(gold)
    return f"{r1 / n:.3f} {r3 / n:.3f} {mrr / n:.3f}"


rrf, wsum_passage, fusion, hybrid = [], [], [], []
for g in gold:
    q = g["question"]; v = s.embed_query(q)
    bm = s.bm25_scores(s.lexical_query(q)); d = s.index.vectors @ v
    rd = np.argsort(-d, kind="stable"); rb = np.argsort(-bm, kind="stable")
    score = np.zeros(len(chunks))
    score[rd] += 1 / (61 + np.arange(len(chunks))); score[rb] += (bm[rb] > 0) / (61 + np.arange(len(chunks)))
    rrf.append(np.argsort(-score, kind="stable"))
    dn = (d - d.min()) / (d.max() - d.min()); bn = bm / bm.max() if bm.max() > 0 else bm
    wsum_passage.append(np.argsort(-(0.5 * bn + 0.5 * dn), kind="stable"))
    fusion.append([row_of[h.chunk_id] for h in s.search(q, 10, "fusion")])
    hybrid.append([row_of[h.chunk_id] for h in s.search(q, 10, "hybrid")])
print(f"{len(gold)} questions from {path}: recall@1 recall@3 MRR@10")
print("rrf", metrics(rrf)); print("wsum passage vectors", metrics(wsum_passage))
print("fusion (best sentence)", metrics(fusion)); print("hybrid (fusion + late-interaction rerank)", metrics(hybrid))
