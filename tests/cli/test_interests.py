"""`semdigest topics like NAME --from FILE`: a reference library becomes a topic's example papers; the papers
the store lacks come from arXiv in one id_list request (the loopback server replays arXiv's recorded
answer), and what could not be resolved is reported."""

from __future__ import annotations

from arxiv_server import Reply, fixture
from semdigest import Home, Topic

LIBRARY = r"""
@misc{proceedings, title = {Proceedings of Workshop AEW10}, eprint = {1707.08567}, archivePrefix = {arXiv}}
@misc{typo, title = {A paper arXiv never had}, doi = {10.48550/arXiv.2508.99999}}
@article{knuth84, title = {Literate Programming}, doi = {10.1093/comjnl/27.2.97}}
"""


def _topic(home, name="Agents"):
    with Home.open(home) as opened:
        opened.topics().add(Topic(name=name, keywords=(("agent",),)))


def test_a_bibtex_library_becomes_example_papers(home, arxiv_server, cli, tmp_path):
    # arXiv's recorded answer to an id_list of a known and an unknown id: it returns the known one only
    arxiv_server.route("/api/query", Reply(200, fixture("api2026_idlist_two-ids_one-nonexistent.xml")))
    _topic(home)
    library = tmp_path / "zotero.bib"
    library.write_text(LIBRARY)
    result = cli("topics", "like", "Agents", "--from", library)
    assert result.exit_code == 0, result.output
    assert [request.params["id_list"] for request in arxiv_server.requests] == ["1707.08567,2508.99999"]
    assert result.stdout.splitlines()[0] == (
        f"Agents: 1 example papers added from {library} (BibTeX, 3 entries; 0 were examples already; 1 examples now)"
    )
    assert "  BibTeX entry knuth84 (Literate Programming): no arXiv id, arXiv URL or arXiv DOI in it" in result.stderr
    assert "  2508.99999: arXiv does not know it" in result.stderr
    with Home.open(home) as opened:
        assert opened.topics().get("Agents").examples == ("1707.08567",)
        assert opened.paper("1707.08567").title.startswith("Proceedings of Workshop AEW10")

    again = cli("topics", "like", "Agents", "--from", library)  # stored now: only the unknown id is asked for
    assert again.exit_code == 0 and "0 example papers added" in again.stdout
    assert "1 were examples already" in again.stdout
    assert arxiv_server.requests[-1].params["id_list"] == "2508.99999"


def test_a_library_with_no_arxiv_paper_is_an_error(home, arxiv_server, cli, tmp_path):
    _topic(home)
    library = tmp_path / "books.ris"
    library.write_text("TY  - BOOK\nTI  - The Art of Computer Programming\nER  - \n")
    result = cli("topics", "like", "Agents", "--from", library)
    assert result.exit_code == 2 and not arxiv_server.requests
    assert result.stderr.strip() == (
        f"error: {library}: no arXiv paper in its 1 entries"
        " (e.g. RIS entry 1 (The Art of Computer Programming): no arXiv id, arXiv URL or arXiv DOI in it)"
    )


def test_an_unknown_topic_fails_before_anything_is_fetched(home, arxiv_server, cli, tmp_path):
    library = tmp_path / "list.txt"
    library.write_text("1605.08386\n")
    result = cli("topics", "like", "Nope", "--from", library)
    assert result.exit_code == 2 and result.stderr.startswith("error: ") and not arxiv_server.requests


def test_ids_and_a_library_at_once_is_a_usage_error(home, cli, tmp_path):
    _topic(home)
    result = cli("topics", "like", "Agents", "1605.08386", "--from", tmp_path / "x.bib")
    assert result.exit_code == 2 and result.stderr.startswith("error: give the papers to like")
    assert cli("topics", "like", "Agents").exit_code == 2
