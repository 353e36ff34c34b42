"""Errors a user can cause. The CLI prints their one-line message and exits with code 2."""


class SemdigestError(Exception):
    """Base class: anything raised as a SemdigestError is the user's to fix, not a bug."""


class InvalidIdError(SemdigestError):
    """A string that is not an arXiv identifier in any accepted form."""


class ArxivError(SemdigestError):
    """arXiv answered with an error, or could not be reached after the allowed retries."""


class ArxivAPIError(ArxivError):
    """The export API's error feed (entry titled "Error"), e.g. "incorrect id format for abc"."""


class ArxivUnavailable(ArxivError):
    """Network errors or HTTP 429/5xx persisted through every retry."""


class MalformedResponse(ArxivError):
    """A response that is not the XML arXiv sends (truncated, HTML error page, ...)."""


class StoreError(SemdigestError):
    """The data directory is locked, unreadable or from a newer semdigest."""


class InputFileError(SemdigestError):
    """An input file (snapshot, topics) cannot be read at all."""


class IndexProblem(SemdigestError):
    """An index on disk is missing, damaged, or built for another model: rebuild it from the cache."""
