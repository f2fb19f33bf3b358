"""Writing measured results into a document (docs/BENCHMARKS.md, docs/RELIABILITY.md)."""

import re

import pytest

from mfe_tools.results_doc import ResultsDocError, measured_on, results_section, write_results


def test_write_results_replaces_only_the_results_section(tmp_path):
    doc = tmp_path / "BENCHMARKS.md"
    doc.write_text("# B\n\nintro\n\n## Results\n\nold\ntable\n\n## Notes\n\nkept\n")
    write_results(doc, "new section")
    assert doc.read_text() == "# B\n\nintro\n\n## Results\n\nnew section\n\n## Notes\n\nkept\n"


def test_results_at_the_end_of_the_document(tmp_path):
    doc = tmp_path / "RELIABILITY.md"
    doc.write_text("# R\n\n## Results\n\nold\n")
    write_results(doc, "new")
    assert doc.read_text() == "# R\n\n## Results\n\nnew\n"


def test_a_document_without_results_section_is_refused(tmp_path):
    doc = tmp_path / "BENCHMARKS.md"
    doc.write_text("# B\n")
    with pytest.raises(ResultsDocError, match="## Results"):
        results_section(doc)
    with pytest.raises(ResultsDocError, match="cannot read"):
        results_section(tmp_path / "missing.md")


def test_measured_on_names_the_machine():
    assert re.fullmatch(
        r"Measured \d{4}-\d\d-\d\d \d\d:\d\d UTC on \d+ CPUs \(.+\), "
        r"Python 3\.\d+\.\d+, mitmproxy 12\.\d+\.\d+",
        measured_on(),
    )
