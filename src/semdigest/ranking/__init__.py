"""Ranking: fusion.py (the scoring maths, no I/O), topics.py (the topics model and topics.toml), rank.py
(one topic over a pool of papers), search.py (`similar` over the whole store), digest.py (every topic
over a period)."""
