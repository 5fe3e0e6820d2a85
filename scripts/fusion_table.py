"""Rank the gold questions with the fusion variants of the README table, on the index in ./index.

Run from the repository root: .venv/bin/python scripts/fusion_table.py
"""
import importlib, json
import numpy as np
R = importlib.import_module("scoqa.retrieve")
from scoqa.api import get_engine
s = get_engine().searcher()
gold = [json.loads(l) for l in open("tests/data/gold_retrieval.jsonl")]
chunks = s.index.chunks
def metrics(rankings):
    r1 = r3 = mrr = 0
    for g, order in zip(gold, rankings):
        rank = next((i for i, row in enumerate(order[:10]) if any(a in chunks[row].text for a in g["answers"])), None)
        if rank is not None:
            r1 += rank == 0; r3 += rank < 3; mrr += 1 / (rank + 1)
    n = len(gold); return f"{r1/n:.3f} {r3/n:.3f} {mrr/n:.3f}"
rrf, wsum_passage, ours = [], [], []
for g in gold:
    q = g["question"]; v = s.embed_query(q)
    bm = s.bm25_scores(s.lexical_query(q)); d = s.index.vectors @ v
    rd = np.argsort(-d, kind="stable"); rb = np.argsort(-bm, kind="stable")
    score = np.zeros(len(chunks))
    score[rd] += 1 / (61 + np.arange(len(chunks))); score[rb] += (bm[rb] > 0) / (61 + np.arange(len(chunks)))
    rrf.append(np.argsort(-score, kind="stable"))
    dn = (d - d.min()) / (d.max() - d.min()); bn = bm / bm.max() if bm.max() > 0 else bm
    wsum_passage.append(np.argsort(-(0.5 * bn + 0.5 * dn), kind="stable"))
    row_of = {c.id: i for i, c in enumerate(chunks)}
    ours.append([row_of[h.chunk_id] for h in s.search(q, 10)])
print("rrf", metrics(rrf)); print("wsum passage vectors", metrics(wsum_passage)); print("ours", metrics(ours))
