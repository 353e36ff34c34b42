"""`digest --email` and `run --email` against a real SMTP server (aiosmtpd) on 127.0.0.1: one
multipart/alternative message per digest whose text and HTML parts hold every paper, with hostile titles,
authors, abstracts and topic names escaped; STARTTLS and SSL with a self-signed certificate made here,
AUTH with the password from the environment; a failed send keeps the pages, the seen-history and the
message (in the outbox, sent before the next one)."""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import date
from pathlib import Path

import pytest

from mail_server import Certificate, MailServer, free_port, self_signed
from semdigest import Home, Topic
from semdigest.app import home as home_module
from semdigest.app.reports import FetchReport
from semdigest.store import UpsertCounts

pytestmark = [  # aiosmtpd's own: its deprecated attribute; AUTH over SSL, whose TLS its check does not see
    pytest.mark.filterwarnings("ignore:Session.login_data is deprecated"),
    pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS"),
]

HOSTILE_TOPIC = "<img src=x onerror=alert(1)> & co"
# two papers of the listing day with markup where arXiv has text, and two of the next day
PAPERS = [
    {
        "id": "2508.99901",
        "title": "<script>alert('title')</script> Agents that script the browser",
        "authors": "Mallory <img src=x onerror=alert(2)>, Eve & Bob",
        "categories": "cs.AI",
        "abstract": "An agent that writes <script>document.cookie</script> and <b>bold</b> script tags.",
        "update_date": "2025-08-18",
    },
    {
        "id": "2508.99902",
        "title": 'Script kiddies <img src=x> and "quoted" agents',
        "authors": "Trudy O'Brien",
        "categories": "cs.CR",
        "abstract": "A second script paper with an ampersand & a less-than < sign.",
        "update_date": "2025-08-18",
    },
    {
        "id": "2508.99903",
        "title": "Planning agents for the next day",
        "authors": "Alice",
        "categories": "cs.AI",
        "abstract": "Language model agents that plan with tools.",
        "update_date": "2025-08-19",
    },
]


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    return self_signed(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def mail_home(day_home: Path, cli) -> Path:
    extra = day_home / "extra.jsonl"
    extra.write_text("".join(json.dumps(paper) + "\n" for paper in PAPERS))
    assert cli("ingest", extra).exit_code == 0
    with Home.open(day_home) as home:
        home.topics().add(Topic(name="Agents", keywords=(("agent",),)))
        home.topics().add(Topic(name=HOSTILE_TOPIC, keywords=(("script",),)))
    return day_home


def _configure_mail(home: Path, port: int, *, mode: str = "starttls", username: str | None = "digest") -> None:
    lines = ["[email]", 'smtp_host = "127.0.0.1"', f"smtp_port = {port}", 'from = "semdigest <digest@example.org>"']
    lines += ["to = ['ada@example.org', '\"Hopper, Grace\" <grace@example.org>']"]
    lines += [f"{mode} = true"] if mode != "plain" else []
    lines += [f'username = "{username}"'] if username else []
    (home / "config.toml").write_text("delay = 0.01\nmax_retries = 2\n" + "\n".join(lines) + "\n")


def _shown(home: Path) -> int:
    with sqlite3.connect(home / "semdigest.db") as db:
        return db.execute("SELECT count(*) FROM shown").fetchone()[0]


def _parts(message):
    assert message.get_content_type() == "multipart/alternative"
    parts = list(message.iter_parts())
    assert [part.get_content_type() for part in parts] == ["text/plain", "text/html"]
    return parts[0].get_content(), parts[1].get_content()


def test_the_digest_is_mailed_over_starttls_with_auth(mail_home, cli, certificate, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate.cert))  # the client trusts the test's certificate only
    monkeypatch.setenv("SEMDIGEST_SMTP_PASSWORD", "s3cret")
    with MailServer(mode="starttls", certificate=certificate, username="digest", password="s3cret") as server:
        _configure_mail(mail_home, server.port)
        result = cli("digest", "--date", "2025-08-18", "--email", "--json")
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines()[-1] == 'mailed 2025-08-18 to ada@example.org, "Hopper, Grace" <grace@example.org>'
    assert server.logins == [("digest", True)]
    (received,) = server.messages
    assert received.mail_from == "digest@example.org"
    assert received.rcpt_tos == ["ada@example.org", "grace@example.org"]
    message = received.message
    assert message["Subject"].startswith("arXiv digest 2025-08-18: ")
    assert [address.addr_spec for address in message["To"].addresses] == ["ada@example.org", "grace@example.org"]
    text, html = _parts(message)

    digest = json.loads(result.stdout)
    papers = {paper["id"] for topic in digest["topics"] for paper in topic["papers"]}
    assert {"2508.99901", "2508.99902"} <= papers and len(papers) > 50
    for paper_id in papers:  # every paper, with both its links, in both parts
        for link in (f"https://arxiv.org/abs/{paper_id}", f"https://arxiv.org/pdf/{paper_id}"):
            assert link in text and f'href="{link}"' in html
    for topic in digest["topics"]:
        for paper in topic["papers"]:
            assert f"why: {paper['reason']}" in text

    # untrusted text never reaches the HTML as markup, and arrives intact as text
    for raw in ("<script", "<img", "<b>", "onerror=alert(1)>", '"quoted"', "Eve & Bob"):
        assert raw not in html
    assert "&lt;script&gt;alert(&#x27;title&#x27;)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt; &amp; co" in html
    assert "Mallory &lt;img src=x onerror=alert(2)&gt;, Eve &amp; Bob" in html
    assert "<script>alert('title')</script> Agents that script the browser" in text
    assert not re.search(r"<(link|style)\b|stylesheet", html)  # readable without external CSS

    # top picks first: the best score of the day opens both parts
    best = max((paper for topic in digest["topics"] for paper in topic["papers"]), key=lambda p: p["score"])
    assert text.index("TOP PICKS") < text.index(best["title"]) < text.index("Agents · ")
    assert html.index("Top picks") < html.index(f"https://arxiv.org/abs/{best['id']}")
    assert not (mail_home / "outbox").exists() or not list((mail_home / "outbox").iterdir())


def test_the_digest_is_mailed_over_ssl(mail_home, cli, certificate, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate.cert))
    monkeypatch.setenv("SEMDIGEST_SMTP_PASSWORD", "s3cret")
    with MailServer(mode="ssl", certificate=certificate, username="digest", password="s3cret") as server:
        _configure_mail(mail_home, server.port, mode="ssl")
        result = cli("digest", "--date", "2025-08-18", "--email")
    assert result.exit_code == 0, result.output
    assert server.logins == [("digest", True)] and len(server.messages) == 1


def _kept_after_failure(result, home: Path, error: str) -> None:
    """One error line, exit 2, the pages and the seen-history written, the message in the outbox."""
    assert result.exit_code == 2 and "Traceback" not in result.output
    last = result.stderr.splitlines()[-1]
    assert last.startswith(f"error: the digest 2025-08-18 was written but not mailed: {error}")
    assert last.endswith(f"kept in {home / 'outbox'} for the next --email")
    assert "2025-08-18: " in result.stdout  # the summary was printed before the error
    assert (home / "digests" / "2025-08-18" / "Agents.md").exists()
    assert _shown(home) > 0
    assert [path.name for path in (home / "outbox").iterdir()] == ["2025-08-18.eml"]


def test_a_server_that_is_down_keeps_the_pages_and_the_next_mailing_sends_them(mail_home, cli):
    port = free_port()  # nothing listens there
    _configure_mail(mail_home, port, mode="plain", username=None)
    failed = cli("digest", "--date", "2025-08-18", "--email")
    _kept_after_failure(failed, mail_home, f"cannot reach 127.0.0.1:{port} (Connection refused)")

    with MailServer(mode="plain") as server:
        _configure_mail(mail_home, server.port, mode="plain", username=None)
        later = cli("digest", "--date", "2025-08-19", "--email")
    assert later.exit_code == 0, later.output
    assert later.stderr.splitlines()[-1].startswith("mailed 2025-08-18, 2025-08-19 to ada@example.org")
    subjects = [received.message["Subject"] for received in server.messages]
    assert [subject.split(":")[0] for subject in subjects] == ["arXiv digest 2025-08-18", "arXiv digest 2025-08-19"]
    assert list((mail_home / "outbox").iterdir()) == []
    assert "Planning agents for the next day" in _parts(server.messages[1].message)[0]


def test_a_refused_login_keeps_the_pages(mail_home, cli, certificate, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate.cert))
    monkeypatch.setenv("SEMDIGEST_SMTP_PASSWORD", "wrong")
    with MailServer(mode="starttls", certificate=certificate, username="digest", password="s3cret") as server:
        _configure_mail(mail_home, server.port)
        failed = cli("digest", "--date", "2025-08-18", "--email")
    assert server.logins and set(server.logins) == {("digest", False)} and not server.messages  # smtplib tries twice
    _kept_after_failure(failed, mail_home, f"127.0.0.1:{server.port} refused the login of 'digest' (535 ")


def test_an_untrusted_certificate_is_refused(mail_home, cli, certificate, monkeypatch):
    monkeypatch.setenv("SEMDIGEST_SMTP_PASSWORD", "s3cret")  # no SSL_CERT_FILE: the self-signed one is unknown
    with MailServer(mode="starttls", certificate=certificate, username="digest", password="s3cret") as server:
        _configure_mail(mail_home, server.port)
        failed = cli("digest", "--date", "2025-08-18", "--email")
    assert not server.logins and not server.messages  # the password never left
    _kept_after_failure(failed, mail_home, f"TLS with 127.0.0.1:{server.port} failed (CERTIFICATE_VERIFY_FAILED)")


def test_run_mails_the_digest_of_the_day_it_fetched(mail_home, cli, monkeypatch):
    # the fetch is the RSS listing's (tested in tests/sources); here it reports the day the store holds, since
    # the recorded listing's 1504 papers would take minutes to embed
    fetched = FetchReport(UpsertCounts(unchanged=369), date(2025, 8, 18))
    monkeypatch.setattr(home_module.Home, "fetch", lambda self, categories=None, day=None: fetched)
    with MailServer(mode="plain") as server:
        _configure_mail(mail_home, server.port, mode="plain", username=None)
        result = cli("run", "--email")
    assert result.exit_code == 0, result.output
    assert [received.message["Subject"].split(":")[0] for received in server.messages] == ["arXiv digest 2025-08-18"]
    assert (mail_home / "digests" / "2025-08-18" / "README.md").exists()


def test_the_api_reports_a_failed_mail_in_its_result(mail_home):
    _configure_mail(mail_home, free_port(), mode="plain", username=None)
    with Home.open(mail_home) as home:
        result = home.digest(email=True)
    assert result.index_page and result.index_page.exists()
    assert result.mail and result.mail.sent == () and "Connection refused" in (result.mail.error or "")
    assert result.mail.waiting == (mail_home / "outbox" / "2025-08-19.eml",)


# --- settings ------------------------------------------------------------------------------------------------


def test_email_without_an_email_table_is_one_error_before_anything_runs(home, cli):
    for args in (["digest", "--email"], ["run", "--email"]):
        result = cli(*args)
        assert result.exit_code == 2
        config = home / "config.toml"
        assert result.stderr == f"error: --email needs an [email] table in {config} (smtp_host, from, to)\n"
    assert not (home / "digests").exists()


def test_a_username_without_the_password_in_the_environment(home, cli, monkeypatch):
    monkeypatch.delenv("SEMDIGEST_SMTP_PASSWORD", raising=False)
    _configure_mail(home, 587)
    result = cli("digest", "--email")
    assert result.exit_code == 2
    assert result.stderr == "error: [email] username 'digest' needs its password in $SEMDIGEST_SMTP_PASSWORD\n"


BASE = ['smtp_host = "mail.example.org"', 'from = "d@example.org"', 'to = ["a@example.org"]']


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (['smtp_port = "587"', *BASE], "setting 'smtp_port' must be a port number from 1 to 65535, not \"587\""),
        (["smtp_port = 70000", *BASE], "setting 'smtp_port' must be a port number from 1 to 65535, not 70000"),
        ([*BASE[:2], 'to = "a@example.org"'], "setting 'to' must be a list of addresses, not \"a@example.org\""),
        ([*BASE[:2], 'to = ["nobody"]'], "setting 'to' must be one e-mail address (name@example.org), not \"nobody\""),
        ([*BASE[:2], 'to = ["a@x.org, b@x.org"]'], "setting 'to' must be one e-mail address"),
        ([*BASE[:1], 'from = "d@x.org\\nBcc: all@x.org"', *BASE[2:]], "setting 'from' must be one e-mail address"),
        (['starttls = "yes"', *BASE], "setting 'starttls' must be true or false, not \"yes\""),
        (["starttls = true", "ssl = true", *BASE], "'starttls' and 'ssl' exclude each other"),
        (['username = "me"', *BASE], "a username without 'starttls' or 'ssl' would send the password unencrypted"),
        (['password = "s3cret"', *BASE], "the password is not kept in config.toml; set $SEMDIGEST_SMTP_PASSWORD"),
        (["smtp_hots = 'x'", *BASE], "unknown setting 'smtp_hots' (known: smtp_host, smtp_port, from, to,"),
        (BASE[1:], "'smtp_host' missing (needed: smtp_host, from, to)"),
        (['smtp_host = "a b"', *BASE[1:]], "setting 'smtp_host' must be a host name or address, not \"a b\""),
    ],
)
def test_email_settings_that_make_no_sense(home, cli, lines, message):
    (home / "config.toml").write_text("[email]\n" + "\n".join(lines) + "\n")
    result = cli("stats")
    assert result.exit_code == 2 and len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith(f"error: {home / 'config.toml'}: [email]: {message}")


def test_email_as_a_value_not_a_table(home, cli):
    (home / "config.toml").write_text('email = "me@example.org"\n')
    assert cli("stats").stderr.startswith(f"error: {home / 'config.toml'}: [email] must be a table")
