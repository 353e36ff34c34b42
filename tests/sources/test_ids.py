"""arXiv identifiers in every form of API_NOTES.md section 4, reduced to one canonical key."""

from __future__ import annotations

import pytest

from semdigest.errors import InvalidIdError
from semdigest.sources.ids import ArxivId, parse_id


@pytest.mark.parametrize(
    ("raw", "canonical", "version"),
    [
        # new style: four-digit numbers 0704-1412, five digits from 1501
        ("2508.11737", "2508.11737", None),
        ("2508.11737v2", "2508.11737", 2),
        ("2508.11737v12", "2508.11737", 12),
        ("0706.0001", "0706.0001", None),
        ("1412.9999v3", "1412.9999", 3),
        ("1501.00001", "1501.00001", None),
        ("arXiv:2508.11737", "2508.11737", None),
        ("arxiv:2508.11737v2", "2508.11737", 2),
        ("  2508.11737v2\n", "2508.11737", 2),
        # URLs
        ("https://arxiv.org/abs/2508.11737v2", "2508.11737", 2),
        ("http://arxiv.org/abs/2104.12255v1", "2104.12255", 1),  # the API's entry id
        ("https://arxiv.org/pdf/2508.11737", "2508.11737", None),
        ("https://arxiv.org/pdf/2508.11737v2.pdf", "2508.11737", 2),
        ("https://export.arxiv.org/abs/2508.11737", "2508.11737", None),
        ("arxiv.org/abs/2508.11737", "2508.11737", None),
        ("https://arxiv.org/abs/hep-th/9901001", "hep-th/9901001", None),
        # old style, with hyphenated archives and subject classes (dropped, as arXiv's external form does)
        ("hep-th/9901001", "hep-th/9901001", None),
        ("quant-ph/0201082v1", "quant-ph/0201082", 1),
        ("astro-ph/0601001", "astro-ph/0601001", None),
        ("cond-mat/0207270v1", "cond-mat/0207270", 1),
        ("math.CA/0611800v2", "math/0611800", 2),
        ("cs/0503050v1", "cs/0503050", 1),
        ("HEP-TH/9901001", "hep-th/9901001", None),
        ("arXiv:hep-ph/0301050v2", "hep-ph/0301050", 2),
        # OAI and RSS guids
        ("oai:arXiv.org:2411.17801v1", "2411.17801", 1),
        ("oai:arXiv.org:1401.3665", "1401.3665", None),
        ("oai:arXiv.org:hep-th/9901001", "hep-th/9901001", None),
    ],
)
def test_parse_id(raw: str, canonical: str, version: int | None) -> None:
    assert parse_id(raw) == ArxivId(canonical, version)
    assert parse_id(raw).id == canonical


def test_str_puts_the_version_back() -> None:
    assert str(parse_id("arXiv:2508.11737v2")) == "2508.11737v2"
    assert str(parse_id("math.CA/0611800")) == "math/0611800"


@pytest.mark.parametrize(
    "raw",
    [
        "abc",
        "2508.1234",  # four digits after 1412
        "1412.12345",  # five digits before 1501
        "2513.12345",  # month 13
        "0000.0000",
        "0808.05394",  # the API accepts it (totalResults 0), but no such id can exist
        "0703.0001",  # the new scheme starts at 0704
        "2508.11737v0",
        "2508.11737v",
        "hep-th/9913001",  # month 13
        "hep-th/99010011",
        "hep-th/990100",
        "9901001",
        "",
        "   ",
        "https://arxiv.org/abs/",
    ],
)
def test_rejects_malformed_ids(raw: str) -> None:
    with pytest.raises(InvalidIdError, match="not an arXiv id"):
        parse_id(raw)


@pytest.mark.parametrize(
    "raw",
    [
        "２５０８.１３０７３",  # fullwidth digits
        "٢٥٠٨.١٣٠٧٣",  # Arabic-Indic digits
        "2508.1307３",
        "2508.13073v２",
        "hep-th/９９０１００１",
        "hep-\u212ah/9901001",  # the Kelvin sign, which a Unicode IGNORECASE takes for a "k"
    ],
)
def test_digits_and_letters_other_than_ascii_are_not_an_id(raw: str) -> None:
    """They were accepted (`\\d` matches any Unicode digit, and int() reads them) and sent to arXiv."""
    with pytest.raises(InvalidIdError, match="not an arXiv id"):
        parse_id(raw)


def test_a_huge_rejected_id_is_not_echoed_whole() -> None:
    with pytest.raises(InvalidIdError) as raised:
        parse_id("2508." + "1" * 10_000)
    message = str(raised.value)
    assert len(message) < 200 and "(10005 characters)" in message and message.startswith("not an arXiv id: '2508.111")
