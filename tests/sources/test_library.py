"""Reference libraries as arXiv ids: BibTeX (eprint, URL, DOI), Zotero's RIS and CSL JSON, a plain list; what
names no arXiv paper is reported, never silently dropped."""

from __future__ import annotations

import json

import pytest

from semdigest.errors import InputFileError
from semdigest.sources.library import arxiv_id_in, read_library

# as Zotero 7 and Better BibTeX export them, plus Google Scholar's `journal` form and a non-arXiv paper
BIBTEX = r"""
% exported by Zotero
@misc{wang_survey_2025,
	title = {A {Survey} on {Vision}-{Language}-{Action} models},
	url = {http://arxiv.org/abs/2508.13073},
	doi = {10.48550/arXiv.2508.13073},
	abstract = {We build on arXiv:1706.03762 and ...},
	publisher = {arXiv},
	note = {arXiv:2508.13073 [cs]},
}
@article{heat_bath,
	title = {Heat-bath random walks with {Markov} bases},
	eprint = {1605.08386v1},
	archivePrefix = {arXiv},
	primaryClass = {math.ST},
}
@misc{by_doi_only, title = {Only a DOI}, doi = {10.48550/ARXIV.2508.11918}}
@misc{by_url_only, title = {Only a PDF link}, url = {https://arxiv.org/pdf/hep-th/9901001v2}}
@article{scholar, title={From Scholar}, journal={arXiv preprint arXiv:2508.12079}, year={2025}}
@article{knuth84, title = {Literate Programming}, doi = {10.1093/comjnl/27.2.97}, year = {1984}}
@article{pubmed, title = {Not arXiv}, eprint = {12345678}, eprinttype = {pubmed}}
@misc{cites_only, title = {Cites another}, abstract = {Unlike arXiv:2508.11737 we ...}}
"""


def _read(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return read_library(path)


def test_bibtex_eprint_url_and_doi(tmp_path):
    reading = _read(tmp_path, "library.bib", BIBTEX)
    assert reading.format == "BibTeX" and reading.entries == 8
    assert reading.ids == ("2508.13073", "1605.08386", "2508.11918", "hep-th/9901001", "2508.12079")
    unresolved = {entry.entry: entry.reason for entry in reading.unresolved}
    assert set(unresolved) == {
        "BibTeX entry knuth84 (Literate Programming)",
        "BibTeX entry pubmed (Not arXiv)",
        "BibTeX entry cites_only (Cites another)",  # an abstract citing a paper is not that paper
    }
    assert all("no arXiv id" in reason for reason in unresolved.values())


def test_broken_bibtex_is_reported_and_the_rest_read(tmp_path):
    reading = _read(tmp_path, "broken.bib", "@misc{a, title = {Unclosed\n@misc{b, eprint = {2508.13073}}\n")
    assert reading.ids == ("2508.13073",)
    assert [entry.entry for entry in reading.unresolved] == ["the BibTeX at line 1"]


# Zotero's RIS export of an arXiv preprint (with its byte-order mark), a journal paper, and an unfinished record
RIS = """\ufeffTY  - PREPRINT
TI  - A Survey on Vision-Language-Action models
AU  - Wang, Ada
AB  - Unlike arXiv:1706.03762 ...
DO  - 10.48550/arXiv.2508.13073
UR  - http://arxiv.org/abs/2508.13073
N1  - arXiv:2508.13073 [cs]
ER  -

TY  - JOUR
TI  - Heat-bath random walks
UR  - https://arxiv.org/abs/1605.08386
ER  -

TY  - JOUR
TI  - Literate Programming
DO  - 10.1093/comjnl/27.2.97
ER  -

TY  - JOUR
TI  - Cut off
UR  - http://arxiv.org/abs/2508.11918
"""


def test_ris_zotero_export(tmp_path):
    reading = _read(tmp_path, "export.ris", RIS)
    assert reading.format == "RIS"
    assert reading.ids == ("2508.13073", "1605.08386")
    assert [(entry.entry, entry.reason) for entry in reading.unresolved] == [
        ("RIS entry 3 (Literate Programming)", "no arXiv id, arXiv URL or arXiv DOI in it"),
        ("1 RIS entries", "not read: no end-of-record line (ER  - )"),
    ]


CSL = [
    {
        "id": "http://zotero.org/users/1/items/ABC",
        "type": "article",
        "title": "A Survey on Vision-Language-Action models",
        "abstract": "Unlike arXiv:1706.03762 ...",
        "URL": "http://arxiv.org/abs/2508.13073",
        "DOI": "10.48550/arXiv.2508.13073",
        "number": "arXiv:2508.13073",
        "publisher": "arXiv",
    },
    {"id": "scholar", "type": "article", "title": "By number", "number": "arXiv:2508.12079"},
    {"id": "knuth84", "type": "article-journal", "title": "Literate Programming", "DOI": "10.1093/comjnl/27.2.97"},
    "not an item",
]


def test_csl_json_zotero_export(tmp_path):
    reading = _read(tmp_path, "export.json", json.dumps(CSL))
    assert reading.format == "CSL JSON" and reading.entries == 4
    assert reading.ids == ("2508.13073", "2508.12079")
    assert [entry.entry for entry in reading.unresolved] == [
        "CSL JSON item knuth84 (Literate Programming)",
        "CSL JSON item 4",
    ]


def test_invalid_json_is_one_error(tmp_path):
    with pytest.raises(InputFileError, match=r"not valid JSON"):
        _read(tmp_path, "export.json", '[{"id": 1,')


def test_plain_list_of_ids_urls_and_dois(tmp_path):
    text = """# my reading list
2508.13073v2
https://arxiv.org/abs/1605.08386   # the heat-bath paper
arXiv:2508.11918
https://doi.org/10.48550/arXiv.2508.12079

https://example.org/paper.pdf
2508.1234
"""
    reading = _read(tmp_path, "list.txt", text)
    assert reading.format == "list" and reading.entries == 6
    assert reading.ids == ("2508.13073", "1605.08386", "2508.11918", "2508.12079")
    assert [entry.entry for entry in reading.unresolved] == [
        "line 7 (https://example.org/paper.pdf)",
        "line 8 (2508.1234)",
    ]


def test_a_paper_named_twice_counts_once(tmp_path):
    reading = _read(tmp_path, "list.txt", "2508.13073\nhttps://arxiv.org/abs/2508.13073v3\n")
    assert reading.ids == ("2508.13073",)


def test_an_unreadable_file_is_one_error(tmp_path):
    with pytest.raises(InputFileError, match=r"cannot read .*missing\.bib"):
        read_library(tmp_path / "missing.bib")
    (tmp_path / "binary.bib").write_bytes(b"\xff\xfe\x00@misc{")
    with pytest.raises(InputFileError, match=r"cannot read"):
        read_library(tmp_path / "binary.bib")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("10.48550/arXiv.2508.13073", "2508.13073"),
        ("https://doi.org/10.48550/arxiv.2508.13073", "2508.13073"),
        ("http://export.arxiv.org/abs/math.CA/0611800v2", "math/0611800"),
        ("arXiv:2508.13073 [cs]", "2508.13073"),
        ("10.1093/comjnl/27.2.97", None),
        ("2025", None),
    ],
)
def test_arxiv_id_in(value, expected):
    assert arxiv_id_in(value) == expected
