"""semdigest: semantic-ranking digests of new arXiv papers."""

__version__ = "0.1.0"
