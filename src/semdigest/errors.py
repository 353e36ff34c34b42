"""Every error a user can cause, in one place. Front ends print the one-line message and exit with code 2;
anything raised that is not a SemdigestError is a bug."""


class SemdigestError(Exception):
    """Base class: anything raised as a SemdigestError is the user's to fix, not a bug."""


class InvalidIdError(SemdigestError):
    """A string that is not an arXiv identifier in any accepted form."""


class ConfigError(SemdigestError):
    """config.toml or an environment setting that cannot be used."""


class ArxivError(SemdigestError):
    """arXiv answered with an error, or could not be reached after the allowed retries."""


class ArxivAPIError(ArxivError):
    """The export API's error feed (entry titled "Error"), e.g. "incorrect id format for abc"."""


class ArxivUnavailable(ArxivError):
    """Network errors or HTTP 429/5xx persisted through every retry."""


class OaiError(ArxivError):
    """arXiv's OAI-PMH interface refused a request (`<error code="badArgument">`, idDoesNotExist, ...)."""


class BadResumptionToken(OaiError):
    """OAI-PMH `badResumptionToken`: the token expired (arXiv's expire daily); the harvest starts over."""


class MalformedResponse(ArxivError):
    """A response that is not the XML arXiv sends (truncated, HTML error page, ...)."""


class UnknownPaper(SemdigestError):
    """A paper that is neither in the store nor known to arXiv."""


class StoreError(SemdigestError):
    """The data directory is locked, unreadable or from a newer semdigest."""


class InputFileError(SemdigestError):
    """An input file (snapshot, topics) cannot be read at all."""


class UnknownModelError(SemdigestError):
    """A --model / config model that is neither the default, a folder under models/, nor a model folder path."""


class IndexProblem(SemdigestError):
    """An index on disk is missing, damaged, or built for another model: rebuild it from the cache."""


class IndexDamaged(IndexProblem):
    """An index file does not match its manifest, or holds what cannot have been written: repaired from
    the store's cached vectors and texts."""


class TopicsError(SemdigestError):
    """A topics file that cannot be used, or a topic that does not exist."""


class EmptyPeriod(SemdigestError):
    """No stored paper was listed in the period asked for."""


class UsageError(SemdigestError):
    """Arguments that do not fit together (e.g. a day and a period at once)."""


class OutputError(SemdigestError):
    """A digest, page or feed that cannot be written where it was asked for."""


class NoDataDirectory(StoreError):
    """A command that only reads found no data directory (or no store in it) and created none."""


class DamagedStore(StoreError):
    """SQLite reports the database as damaged, or a stored value cannot be what semdigest wrote."""


class CannotWrite(SemdigestError):
    """The environment refuses a write: a full disk, a read-only filesystem, an immutable file, permissions."""


class MailError(SemdigestError):
    """The digest was written but could not be mailed: the SMTP server is down, refused the login or a recipient."""


class MissingExtra(SemdigestError):
    """An option that needs an optional extra that is not installed (e.g. `--engine ray` without Ray)."""


class ClusterUnreachable(SemdigestError):
    """`--address` names a Ray cluster that does not answer."""
