"""What people and programs read: markdown.py (pages), atom.py (feeds), json.py (the one JSON form of
papers, hits, ranked papers and digests), write.py (a digest's files, rendered then written)."""
