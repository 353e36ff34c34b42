"""Mailing a digest (stdlib smtplib over STARTTLS, SSL or a plain local relay), and the outbox.

A digest whose mail fails still counts as shown: its pages, feeds and seen-history are written, as for
any digest, and the message waits in `<home>/outbox/<day>.eml`. The next mailing sends what waits there
first, over the same connection. Rolling the seen-history back instead would not bring the papers to the
inbox: tomorrow's digest ranks tomorrow's listing, in which today's papers are not, so they would be
lost to the reader silently; the outbox delivers them late but surely, and the pages stay consistent
with the history their feeds publish.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from ..config import EmailSettings
from ..files import atomic_write_bytes
from .reports import MailDelivery

SMTP_TIMEOUT = 30.0  # seconds per network operation: a hung server must not hold the writer lock for long


def deliver(settings: EmailSettings, outbox: Path, label: str, message: EmailMessage) -> MailDelivery:
    """Send the outbox's waiting digests, then this one; whatever is not sent waits in the outbox.
    A digest made again (the same day) replaces its waiting copy."""
    waiting = sorted(path for path in outbox.glob("*.eml") if path.stem != label)
    queue = [(path.stem, _read(path)) for path in waiting] + [(label, message)]
    sent, error = send(settings, [queued for _, queued in queue])
    for path in waiting[:sent]:
        path.unlink(missing_ok=True)
    current = outbox / f"{label}.eml"
    if sent == len(queue):
        current.unlink(missing_ok=True)
        return MailDelivery(tuple(name for name, _ in queue), settings.to)
    atomic_write_bytes(current, message.as_bytes(policy=policy.SMTP))
    left = tuple(waiting[sent:]) + (current,)
    problem = f"the digest {label} was written but not mailed: {error}; kept in {outbox} for the next --email"
    return MailDelivery(tuple(name for name, _ in queue[:sent]), settings.to, problem, left)


def send(settings: EmailSettings, messages: Sequence[EmailMessage]) -> tuple[int, str | None]:
    """Send the messages over one connection: (how many were sent, why the rest were not)."""
    where = f"{settings.smtp_host}:{settings.smtp_port}"
    sent = 0
    try:
        context = ssl.create_default_context()  # verifies the server's certificate and name
        if settings.ssl:
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                settings.smtp_host, settings.smtp_port, timeout=SMTP_TIMEOUT, context=context
            )
        else:
            smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=SMTP_TIMEOUT)
        with smtp:
            if settings.starttls:
                smtp.starttls(context=context)
            if settings.username:
                smtp.login(settings.username, settings.password)
            for message in messages:
                smtp.send_message(message)
                sent += 1
    except smtplib.SMTPAuthenticationError as error:
        return sent, f"{where} refused the login of {settings.username!r} ({_reply(error)})"
    except smtplib.SMTPRecipientsRefused as error:
        return sent, f"{where} refused the recipients {', '.join(error.recipients)}"
    except smtplib.SMTPResponseException as error:
        return sent, f"{where} answered {_reply(error)}"
    except smtplib.SMTPException as error:  # STARTTLS or AUTH not offered, the connection dropped
        return sent, f"{where}: {error}"
    except ssl.SSLError as error:
        return sent, f"TLS with {where} failed ({error.reason or error})"
    except OSError as error:  # refused, unreachable, timed out, an unknown host
        return sent, f"cannot reach {where} ({error.strerror or error})"
    return sent, None


def _reply(error: smtplib.SMTPResponseException) -> str:
    text = error.smtp_error.decode("utf-8", "replace") if isinstance(error.smtp_error, bytes) else error.smtp_error
    return f"{error.smtp_code} {' '.join(str(text).split())}"


def _read(path: Path) -> EmailMessage:
    message = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert isinstance(message, EmailMessage)  # policy.default builds EmailMessage objects
    return message
