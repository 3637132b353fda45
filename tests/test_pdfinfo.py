"""The document information read without pypdf (pdfinfo): always pypdf's answer, or no answer
(and then the proof-reader asks pypdf)."""

import io

import pydyf
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pypdf import PdfReader, PdfWriter

from letterforge.pdfinfo import document_information
from letterforge.proof import read_pdf_metadata


def pypdf_information(content: bytes) -> tuple[tuple[str, str], ...]:
    reader = PdfReader(io.BytesIO(content))
    return tuple((str(key), str(value)) for key, value in (reader.metadata or {}).items())


def written_by_pydyf(entries: dict[str, str], compress: bool, identifier: bool = False) -> bytes:
    """A one-page PDF as WeasyPrint writes one (pydyf), with these document information entries."""
    pdf = pydyf.PDF()
    page = pydyf.Dictionary({"Type": "/Page", "Parent": pdf.pages.reference, "MediaBox": pydyf.Array([0, 0, 595, 842])})
    pdf.add_page(page)
    for key, value in entries.items():
        pdf.info[key] = pydyf.String(value)
    output = io.BytesIO()
    pdf.write(output, version=b"1.7", identifier=identifier, compress=compress)
    return output.getvalue()


KEYS = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=12)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(KEYS, st.text(max_size=40), max_size=6), st.booleans(), st.booleans())
def test_the_answer_is_pypdfs_or_none(entries, compress, identifier):
    content = written_by_pydyf(entries, compress, identifier)
    found = document_information(content)
    assert found is None or found == pypdf_information(content)
    if all(" " <= char <= "~" or char > "\x7f" for value in entries.values() for char in value) and not any(
            "\ud800" <= char <= "\udfff" for value in entries.values() for char in value):
        assert found is not None, "a file as WeasyPrint writes it is read without pypdf"
    assert read_pdf_metadata(content).metadata == pypdf_information(content)


@pytest.mark.parametrize("compress", [True, False])
def test_letters_properties_are_read_as_pypdf_reads_them(compress):
    entries = {"Title": "缴费提醒函 锦物通字〔2026〕第0036号", "Author": "Hill & Co (Lettings) \\ Ltd",
               "Keywords": "JX-1-0201", "LetterforgeReference": "REM/2026/(1)", "Producer": "WeasyPrint 66.0"}
    content = written_by_pydyf(entries, compress)
    assert document_information(content) == pypdf_information(content)
    assert dict(document_information(content))["/Title"] == entries["Title"]
    assert document_information(written_by_pydyf({}, compress)) == () == pypdf_information(written_by_pydyf({}, compress))


def test_files_it_does_not_answer_for_are_read_by_pypdf():
    content = written_by_pydyf({"Title": "A letter", "Author": "Hill & Co"}, compress=True)
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(content)))
    writer.add_metadata({"/Subject": "tab\there"})
    rewritten = io.BytesIO()
    writer.write(rewritten)
    encrypted = PdfWriter(clone_from=PdfReader(io.BytesIO(content)))
    encrypted.encrypt("secret", algorithm="AES-128")
    locked = io.BytesIO()
    encrypted.write(locked)
    updated = content + b"\n1 0 obj\n<</Type /Page>>\nendobj\nxref\n0 1\n0000000000 65535 f \ntrailer\n<</Size 2" \
                        b"/Prev 9>>\nstartxref\n9\n%%EOF\n"
    for other in (rewritten.getvalue(), locked.getvalue(), updated, b"%PDF-1.7\nnot a pdf at all", content[:-40]):
        assert document_information(other) is None or document_information(other) == pypdf_information(other)
    assert document_information(locked.getvalue()) is None and document_information(updated) is None
    assert ("/Subject", "tab\there") in read_pdf_metadata(rewritten.getvalue()).metadata


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_a_damaged_file_is_never_an_error_nor_a_wrong_answer(data):
    # Bytes changed, cut or repeated anywhere: the reader answers as pypdf does, or leaves it to pypdf.
    content = bytearray(written_by_pydyf({"Title": "缴费提醒函 第0036号", "Author": "Hill & Co"}, data.draw(st.booleans())))
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(content) - 1))
        action = data.draw(st.sampled_from(["byte", "cut", "repeat"]))
        if action == "byte":
            content[at] = data.draw(st.integers(0, 255))
        elif action == "cut":
            del content[at:at + data.draw(st.integers(1, 200))]
        else:
            content[at:at] = content[at:at + 50] * 30
    found = document_information(bytes(content))
    if found is not None:
        try:
            expected = pypdf_information(bytes(content))
        except Exception:  # noqa: BLE001 - pypdf refuses the file; a mutation inside the strings can still read
            return
        assert found == expected


def test_deep_nesting_and_empty_cross_references_are_left_to_pypdf():
    body = b"%PDF-1.7\n1 0 obj\n" + b"[" * 5000 + b"\nendobj\n"
    nested = body + b"xref\n0 2\n0000000000 65535 f \n0000000009 00000 n \ntrailer\n<</Size 2/Info 1 0 R>>\nstartxref\n" \
        + str(len(body)).encode() + b"\n%%EOF\n"
    assert document_information(nested) is None
    flat = nested.replace(b"[" * 5000, b"<</Title (A letter)>>".ljust(5000))
    assert document_information(flat) == (("/Title", "A letter"),) == pypdf_information(flat)
    stream = b"%PDF-1.7\n1 0 obj\n<</Type /XRef/W [0 0 0]/Index [0 999999999]/Size 1/Length 0>>\nstream\n\nendstream\n" \
             b"endobj\nstartxref\n9\n%%EOF\n"
    assert document_information(stream) is None
