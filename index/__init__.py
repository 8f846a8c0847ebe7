"""Files → a persisted, incrementally updated hybrid index (BM25 over kiwipiepy morphemes + FAISS)."""
