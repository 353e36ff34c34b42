"""A real HTTP server on 127.0.0.1 that replays recorded arXiv responses, for testing the client without mocks.

Tests script it per path (optionally per query string) and read back every request it received:

    server.route("/api/query", [Reply(503), Reply(200, fixture("api2026_....xml"))])
    ...
    assert server.requests[0].params["start"] == "0"

Replies for a route are served in order and the last one repeats, so `[Reply(503)]` is a persistent outage.

OAI-PMH answers every verb at one path, so its routes tell pages apart by their query (`oai_token`), and its
pages are made of real recorded records in a real recorded envelope (`oai_list`, `oai_records`).
"""

from __future__ import annotations

import itertools
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

FIXTURES = Path(__file__).parent / "fixtures" / "arxiv"
ATOM = "application/atom+xml; charset=utf-8"
RSS = "application/rss+xml; charset=utf-8"
XML = "text/xml; charset=utf-8"  # what arXiv's OAI-PMH server sends
OAI_ENVELOPE = "oai2015_listrecords_arXivRaw_from-2014-10-01_resumptionToken.xml"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def truncated(body: bytes) -> bytes:
    """The first half of a response, as when arXiv cuts one short (sent with a matching Content-Length)."""
    return body[: len(body) // 2]


def degraded(body: bytes, tag: str, *, entry: int = 0, text: bytes | None = None) -> bytes:
    """The response with one entry's (Atom) or item's (RSS) `<tag>` element left out, or with `text` in it:
    the degraded entries arXiv has really sent (a missing `<title>`, an empty abstract)."""
    entries = list(re.finditer(rb"<(entry|item)>.*?</\1>", body, flags=re.S))
    chosen = entries[entry]
    element = re.compile(rb"<%s(?:\s[^>]*)?>.*?</%s>" % (tag.encode(), tag.encode()), flags=re.S)
    opening = tag.encode()
    replacement = b"" if text is None else b"<" + opening + b">" + text + b"</" + opening + b">"
    changed, found = element.subn(replacement, chosen[0], count=1)
    if not found:
        raise ValueError(f"entry {entry} has no <{tag}>")
    return body[: chosen.start()] + changed + body[chosen.end() :]


def oai_records(name: str) -> list[bytes]:
    """The `<record>` elements of a recorded OAI-PMH response, as sent."""
    return re.findall(rb"<record>.*?</record>", fixture(name), flags=re.S)


def oai_list(records: Sequence[bytes], token: str | None = None, envelope: str = OAI_ENVELOPE) -> bytes:
    """A ListRecords page of real records in a real envelope, ending with the resumption token of the next page,
    or (`token` None) with the empty token by which the 2025 server marks the last page."""
    body = fixture(envelope)
    head = body[: body.index(b"<ListRecords>") + len(b"<ListRecords>")]
    tail = body[body.index(b"</ListRecords>") :]
    resumption = f"<resumptionToken>{escape(token)}</resumptionToken>" if token else "<resumptionToken/>"
    return head + b"\n".join(records) + b"\n" + resumption.encode() + b"\n" + tail


def deleted(record: bytes) -> bytes:
    """A record as OAI-PMH sends it once deleted: its header, marked so, without metadata."""
    header = record.replace(b"<header>", b'<header status="deleted">')
    return re.sub(rb"\s*<metadata>.*</metadata>", b"", header, flags=re.S)


def oai_token(token: str | None) -> Callable[[dict[str, str]], bool]:
    """Matches the OAI-PMH requests for the page this resumption token names (None: a list's first page)."""
    return lambda params: params.get("resumptionToken") == token


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = ATOM
    delay: float = 0.0  # seconds to wait before answering, to outlast a client's timeout
    hold: threading.Event | None = None  # answer only once this is set: a server that hangs mid-harvest


@dataclass(frozen=True)
class Request:
    path: str
    params: dict[str, str]  # the query string, one value per name
    headers: dict[str, str]  # names lower-cased
    at: float  # time.monotonic() on arrival: the server runs in the test's process
    client_port: int  # tells connections apart


@dataclass
class _Route:
    path: str
    when: Callable[[dict[str, str]], bool] | None
    replies: list[Reply]
    served: int = 0

    def next_reply(self) -> Reply:
        reply = self.replies[min(self.served, len(self.replies) - 1)]
        self.served += 1
        return reply


class ArxivServer:
    def __init__(self) -> None:
        self.requests: list[Request] = []
        self._routes: list[_Route] = []
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            # a short poll interval, because shutdown() waits for one: keeps teardown from costing 0.5 s a test
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="arxiv-server",
            daemon=True,
        )

    def url(self, path: str = "") -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}{path}"

    def route(
        self,
        path: str,
        replies: Reply | Sequence[Reply],
        *,
        when: Callable[[dict[str, str]], bool] | None = None,
    ) -> None:
        """Answer requests for `path` (whose query params satisfy `when`, if given) with `replies` in order.

        Later routes take precedence, so a general route can be refined by a more specific one.
        """
        replies = [replies] if isinstance(replies, Reply) else list(replies)
        if not replies:
            raise ValueError("a route needs at least one reply")
        with self._lock:
            self._routes.insert(0, _Route(path, when, replies))

    def gaps(self) -> list[float]:
        """Seconds between the arrivals of consecutive requests."""
        times = [request.at for request in self.requests]
        return [later - earlier for earlier, later in itertools.pairwise(times)]

    def start(self) -> ArxivServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> ArxivServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _answer(self, request: Request) -> Reply:
        with self._lock:
            self.requests.append(request)
            for route in self._routes:
                if route.path == request.path and (route.when is None or route.when(request.params)):
                    return route.next_reply()
        return Reply(404, f"no route for {request.path}".encode(), content_type="text/plain")


def _handler_for(server: ArxivServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as arXiv does: lets tests see connection reuse

        def do_GET(self) -> None:
            arrived = time.monotonic()
            url = urlsplit(self.path)
            params = {name: values[-1] for name, values in parse_qs(url.query, keep_blank_values=True).items()}
            headers = {name.lower(): value for name, value in self.headers.items()}
            reply = server._answer(Request(url.path, params, headers, arrived, self.client_address[1]))
            time.sleep(reply.delay)
            if reply.hold is not None:
                reply.hold.wait(timeout=60)
            try:
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(reply.body)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(reply.body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting (a timeout test): nothing left to answer

        def log_message(self, format: str, *args: object) -> None:
            pass  # keep test output clean; tests read server.requests instead

    return Handler
