"""Search over a loaded index: BM25 and dense candidates, fusion and the late-interaction rerank.

Builds its ranking objects from what :mod:`scoqa.index.store` loads; never imports the answer,
interface or tool code above it.
"""
