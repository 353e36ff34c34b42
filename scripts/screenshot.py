"""The README's screenshot: the demo digest's page rendered as GitHub renders it, photographed by headless
Chromium. A development tool, not a test.

    PYTHONPATH=src .venv/bin/python scripts/screenshot.py                       # docs/digest-index.png
    PYTHONPATH=src .venv/bin/python scripts/screenshot.py --page MLLM.md --out /tmp/mllm.png

Needs cmarkgfm (GitHub's cmark-gfm; in the `test` extra) and Chromium (Debian: apt-get install chromium).
It runs `semdigest demo` into a temporary data directory (about a minute) unless --home names one that
holds the demo's digest. Nothing is fetched: shields.io badges are drawn locally from their URLs.
"""

from __future__ import annotations

import argparse
import html
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import unquote

import cmarkgfm
from cmarkgfm.cmark import Options

from semdigest import Home

DAY = "2025-08-18"
GITHUB_EXTENSIONS = ["table", "autolink", "strikethrough", "tagfilter", "tasklist"]
# the parts of GitHub's markdown-body stylesheet a digest page uses
CSS = """
body { margin: 0; background: #fff; }
.markdown-body { box-sizing: border-box; max-width: 980px; margin: 0 auto; padding: 32px 45px;
  font-family: -apple-system, BlinkMacSystemFont, "Segoe UI", "Noto Sans", Helvetica, Arial, sans-serif;
  font-size: 16px; line-height: 1.5; color: #1f2328; word-wrap: break-word; }
.markdown-body h1, .markdown-body h2 { padding-bottom: .3em; border-bottom: 1px solid #d1d9e0b3; }
.markdown-body h1 { font-size: 2em; margin: .67em 0; font-weight: 600; }
.markdown-body h2 { font-size: 1.5em; margin-top: 24px; margin-bottom: 16px; font-weight: 600; }
.markdown-body h3 { font-size: 1.25em; margin-top: 24px; margin-bottom: 16px; font-weight: 600; }
.markdown-body p, .markdown-body ol, .markdown-body ul, .markdown-body details { margin-top: 0; margin-bottom: 16px; }
.markdown-body li + li { margin-top: .25em; }
.markdown-body ol, .markdown-body ul { padding-left: 2em; }
.markdown-body a { color: #0969da; text-decoration: none; }
.markdown-body code { padding: .2em .4em; font-size: 85%; background: #818b981f; border-radius: 6px;
  font-family: ui-monospace, SFMono-Regular, "SF Mono", Menlo, Consolas, monospace; }
.markdown-body hr { height: .25em; padding: 0; margin: 24px 0; background: #d1d9e0; border: 0; }
.markdown-body blockquote { margin: 0 0 16px; padding: 0 1em; color: #59636e; border-left: .25em solid #d1d9e0; }
.markdown-body summary { cursor: pointer; }
.markdown-body table { border-collapse: collapse; margin-bottom: 16px; }
.markdown-body td, .markdown-body th { padding: 6px 13px; border: 1px solid #d1d9e0; }
.badge { display: inline-flex; font: 11px Verdana, sans-serif; border-radius: 3px; overflow: hidden; }
.badge span { padding: 3px 6px; color: #fff; }
.badge span:first-child { background: #555; }
"""


def render_page(markdown: str) -> str:
    """A page as GitHub shows it: cmark-gfm's HTML in GitHub's styles, badges drawn from their URLs."""
    body = cmarkgfm.markdown_to_html_with_extensions(
        markdown, options=Options.CMARK_OPT_UNSAFE, extensions=GITHUB_EXTENSIONS
    )
    body = re.sub(r'<img src="https://img\.shields\.io/badge/([^"]+)"[^>]*>', _badge, body)
    return f'<!doctype html><meta charset="utf-8"><style>{CSS}</style><article class="markdown-body">{body}</article>'


def _badge(match: re.Match[str]) -> str:
    label, value, colour = (unquote(part) for part in match.group(1).rsplit("-", 2))
    return (
        f'<span class="badge"><span>{html.escape(label)}</span>'
        f'<span style="background:#{html.escape(colour)}">{html.escape(value)}</span></span>'
    )


def photograph(page: Path, out: Path, width: int, height: int) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if not chromium:
        sys.exit("no Chromium found (Debian: apt-get install chromium)")
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [
                chromium,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
                f"--user-data-dir={profile}",
                f"--window-size={width},{height}",
                f"--screenshot={out.resolve()}",
                page.resolve().as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, help="a data directory holding the demo digest (default: run the demo)")
    parser.add_argument("--page", default="README.md", help="the page of the day to photograph (default: its index)")
    parser.add_argument("--out", type=Path, default=Path("docs/digest-index.png"))
    parser.add_argument("--width", type=int, default=1000)
    parser.add_argument("--height", type=int, default=1300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        home = args.home or Path(scratch) / "home"
        if not args.home:
            Home.open(home).demo()
        markdown = (home / "digests" / DAY / args.page).read_text(encoding="utf-8")
        page = Path(scratch) / "page.html"
        page.write_text(render_page(markdown), encoding="utf-8")
        args.out.parent.mkdir(parents=True, exist_ok=True)
        photograph(page, args.out, args.width, args.height)
    print(f"{args.out}: {args.out.stat().st_size // 1024} KB")


if __name__ == "__main__":
    main()
