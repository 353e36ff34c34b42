"""A real SMTP server on 127.0.0.1 (aiosmtpd) for testing the mail delivery without mocks: plain, STARTTLS
or SSL, with AUTH checked against one password, keeping every message it accepts.

    with MailServer(tls=certificate, mode="starttls", password="s3cret") as server:
        ...
        (message,) = server.messages
"""

from __future__ import annotations

import socket
import ssl
import subprocess
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


@dataclass(frozen=True)
class Certificate:
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, self.key)
        return context


def self_signed(folder: Path) -> Certificate:
    """A certificate for localhost and 127.0.0.1, made with the openssl command (no Python package needed)."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost"]
        + ["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    return Certificate(cert, key)


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


class _Inbox:
    def __init__(self) -> None:
        self.received: list[Received] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.original_content, policy=policy.default)
        self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message))  # type: ignore[arg-type]
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class MailServer:
    def __init__(
        self,
        *,
        mode: str = "plain",
        certificate: Certificate | None = None,
        username: str | None = None,
        password: str | None = None,
    ) -> None:
        self.inbox = _Inbox()
        self.port = free_port()
        self.logins: list[tuple[str, bool]] = []  # (login, accepted)
        options: dict[str, Any] = {}
        if mode == "starttls":
            options |= {"tls_context": certificate.server_context(), "require_starttls": True}
        if password is not None:
            # with SSL the whole session is TLS, which aiosmtpd's auth_require_tls does not see (it looks for STARTTLS)
            options |= {"authenticator": self._check, "auth_required": True, "auth_require_tls": mode == "starttls"}
        self.username, self.password = username, password
        self.controller = Controller(
            self.inbox,
            hostname="127.0.0.1",
            port=self.port,
            ssl_context=certificate.server_context() if mode == "ssl" else None,
            server_hostname="localhost",
            **options,
        )

    def _check(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        accepted = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == self.username
            and auth_data.password.decode() == self.password
        )
        self.logins.append((auth_data.login.decode(), accepted))
        return AuthResult(success=accepted, handled=False)

    @property
    def messages(self) -> list[Received]:
        return self.inbox.received

    def __enter__(self) -> MailServer:
        self.controller.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.controller.stop()
