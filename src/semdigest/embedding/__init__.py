"""Sentence embeddings of paper texts: registry.py (which model, loaded lazily), st.py (sentence-transformers
fp32), onnx.py (the int8 ONNX fast path at run time), build.py (building that path once), cache.py (the
store's content-hash cache: a text is embedded once per model)."""
