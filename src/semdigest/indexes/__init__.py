"""The indexes over the store's cached vectors and texts: directory.py (the index folder: paths, open,
refresh), vectors.py (FAISS), lexical.py (BM25), sample.py (the calibration sample)."""
