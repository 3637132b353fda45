"""Print packs: many letters, one PDF, each font face embedded once, pages unchanged."""

import io
import subprocess
from datetime import date
from pathlib import Path

import pytest
from pypdf import PdfReader

import letterforge.printpack as printpack
from letterforge.diagnostics import UserError
from letterforge.fonts import find_font
from letterforge.pdffonts import subset_by_cid
from letterforge.pipeline import LetterFactory
from letterforge.printpack import make_print_pack
from letterforge.records import LetterKind
from letterforge.workspace import Workspace

from conftest import SAMPLES

AS_OF = date(2026, 11, 25)
LETTERS = 10


def render_letters(factory: LetterFactory, count: int) -> list[bytes]:
    """Demand letters for the first accounts with overdue arrears (and not on hold)."""
    letters = []
    for account in factory.data.accounts:
        try:
            draft = factory.draft(account.account_id, LetterKind.DEMAND, AS_OF)
        except UserError:
            continue
        letters.append(factory.render(draft, "pdf").content)
        if len(letters) == count:
            break
    assert len(letters) == count
    return letters


@pytest.fixture(scope="module")
def letters() -> list[bytes]:
    return render_letters(LetterFactory(Workspace.open(SAMPLES / "property-zh")), LETTERS)


@pytest.fixture(scope="module")
def pack(letters) -> bytes:
    return make_print_pack(letters)


def page_texts(content: bytes) -> list[str]:
    """pdftotext of each page (pdftotext ends every page with a form feed)."""
    done = subprocess.run(["pdftotext", "-layout", "-", "-"], input=content, capture_output=True, check=True)
    return done.stdout.decode("utf-8").split("\f")[:-1]


def page_images(content: bytes, first: int, last: int, folder: Path, name: str) -> list[bytes]:
    subprocess.run(["pdftoppm", "-r", "40", "-png", "-f", str(first), "-l", str(last), "-", str(folder / name)],
                   input=content, check=True)
    return [path.read_bytes() for path in sorted(folder.glob(f"{name}-*.png"))]


def page_counts(letters: list[bytes]) -> list[int]:
    return [len(PdfReader(io.BytesIO(letter)).pages) for letter in letters]


def font_programs(content: bytes) -> dict[int, str]:
    """Every embedded font program of the file (reachable or not): object number -> subtype."""
    reader = PdfReader(io.BytesIO(content))
    programs = {}
    for number in sorted(reader.xref.get(0, {})):
        obj = reader.get_object(number)
        if hasattr(obj, "get_data") and obj.get("/Subtype") in ("/CIDFontType0C", "/OpenType", "/Type1C"):
            programs[number] = str(obj["/Subtype"])
    return programs


def font_dictionaries(content: bytes) -> set[int]:
    """Object numbers of the fonts the pages name."""
    reader = PdfReader(io.BytesIO(content))
    return {font.idnum for page in reader.pages for font in page["/Resources"]["/Font"].values()}


def faces(content: bytes) -> dict[str, set[int]]:
    """Untagged font name -> object numbers of the programs the pages draw it with."""
    reader = PdfReader(io.BytesIO(content))
    found: dict[str, set[int]] = {}
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            cid_font = font.get_object()["/DescendantFonts"][0].get_object()
            name = str(cid_font["/BaseFont"]).split("+", 1)[-1]
            found.setdefault(name, set()).add(cid_font["/FontDescriptor"].raw_get("/FontFile3").idnum)
    return found


@pytest.mark.slow
def test_pack_has_every_page_of_every_letter_in_order_with_the_same_text(letters, pack):
    reader = PdfReader(io.BytesIO(pack))
    assert len(reader.pages) == sum(page_counts(letters))
    expected = [text for letter in letters for text in page_texts(letter)]
    assert page_texts(pack) == expected
    assert all(text.strip() for text in expected)


@pytest.mark.slow
def test_pages_look_the_same_pixel_for_pixel(letters, pack, tmp_path):
    counts = page_counts(letters)
    for index in (0, len(letters) // 2, len(letters) - 1):
        first = sum(counts[:index]) + 1
        in_pack = page_images(pack, first, first + counts[index] - 1, tmp_path, f"pack{index}")
        alone = page_images(letters[index], 1, counts[index], tmp_path, f"letter{index}")
        assert len(in_pack) == len(alone) == counts[index]
        assert in_pack == alone


@pytest.mark.slow
def test_each_font_face_is_embedded_once(letters, pack):
    letter_faces = faces(letters[0])
    assert len(letter_faces) == 4  # Noto Serif/Sans CJK SC, regular and bold
    pack_faces = faces(pack)
    assert pack_faces.keys() == letter_faces.keys()
    assert all(len(programs) == 1 for programs in pack_faces.values())
    programs = font_programs(pack)
    assert len(programs) == len(pack_faces)
    assert set(programs.values()) == {"/CIDFontType0C"}
    fonts = subprocess.run(["pdffonts", "-"], input=pack, capture_output=True, check=True).stdout.decode()
    assert "CID Type 0C" in fonts
    # These letters agree on every CID's width and text, so each face is also one font dictionary.
    assert len(font_dictionaries(pack)) == len(pack_faces)


@pytest.mark.slow
def test_pack_is_much_smaller_than_the_letters(letters, pack):
    total = sum(len(letter) for letter in letters)
    print(f"\n{len(letters)} letters: {total:,} bytes apart, {len(pack):,} bytes as a pack ({total / len(pack):.1f}x)")
    assert len(pack) < total / 3


@pytest.mark.slow
def test_same_letters_give_the_same_bytes_whether_paths_or_contents(letters, pack, tmp_path):
    paths = []
    for number, letter in enumerate(letters):
        paths.append(tmp_path / f"letter{number}.pdf")
        paths[-1].write_bytes(letter)
    assert make_print_pack(letters) == pack
    assert make_print_pack(paths) == pack
    reader = PdfReader(io.BytesIO(pack))
    assert "/ID" not in reader.trailer
    assert reader.metadata.producer == "letterforge" and reader.metadata.creation_date is None


@pytest.mark.slow
def test_one_bookmark_per_letter_titled_with_the_letter_and_holding_its_outline(letters, pack):
    reader = PdfReader(io.BytesIO(pack))
    outline = reader.outline
    tops = [item for item in outline if not isinstance(item, list)]
    titles = [PdfReader(io.BytesIO(letter)).metadata.title for letter in letters]
    assert [item.title for item in tops] == titles
    assert all(title.startswith("催费函 DEM-20261125-") for title in titles)
    counts = page_counts(letters)
    assert [reader.get_destination_page_number(item) for item in tops] == [sum(counts[:n]) for n in range(len(letters))]
    # Each letter's own outline follows its bookmark, nested under it.
    assert all(isinstance(outline[index + 1], list) for index, item in enumerate(outline) if item in tops)
    own = PdfReader(io.BytesIO(letters[0])).outline
    assert [item.title for item in outline[1] if not isinstance(item, list)] == [
        item.title for item in own if not isinstance(item, list)]


@pytest.mark.slow
def test_each_letter_keeps_its_named_destinations(letters, pack):
    reader = PdfReader(io.BytesIO(pack))
    counts = page_counts(letters)
    alone = PdfReader(io.BytesIO(letters[1]))
    for name, destination in alone.named_destinations.items():
        in_pack = reader.named_destinations[f"2/{name}"]
        assert reader.get_destination_page_number(in_pack) == counts[0] + alone.get_destination_page_number(destination)


@pytest.mark.slow
def test_links_to_named_destinations_go_to_their_own_letter(letters):
    from pypdf import PdfWriter
    from pypdf.generic import ArrayObject, DictionaryObject, FloatObject, NameObject, TextStringObject

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(letters[0])))
    writer.add_annotation(0, DictionaryObject({
        NameObject("/Type"): NameObject("/Annot"), NameObject("/Subtype"): NameObject("/Link"),
        NameObject("/Rect"): ArrayObject(FloatObject(value) for value in (50, 50, 150, 70)),
        NameObject("/A"): DictionaryObject({NameObject("/S"): NameObject("/GoTo"),
                                            NameObject("/D"): TextStringObject("return-slip")}),
    }))
    linked = io.BytesIO()
    writer.write(linked)
    pack = PdfReader(io.BytesIO(make_print_pack([linked.getvalue(), linked.getvalue()])))
    count = page_counts(letters[:1])[0]
    for number, first in ((1, 0), (2, count)):
        link = pack.pages[first]["/Annots"][0].get_object()
        assert link["/A"]["/D"] == f"{number}/return-slip"
        assert pack.get_destination_page_number(pack.named_destinations[f"{number}/return-slip"]) == first + count - 1


@pytest.mark.slow
def test_the_same_letter_twice_gives_distinct_pages(letters):
    pack = make_print_pack([letters[0], letters[0]])
    reader = PdfReader(io.BytesIO(pack))
    pages = [page.indirect_reference.idnum for page in reader.pages]
    assert len(pages) == 2 * page_counts(letters[:1])[0] == len(set(pages))
    assert page_texts(pack) == page_texts(letters[0]) * 2


@pytest.mark.slow
def test_english_and_chinese_letters_share_the_fonts(letters):
    english = render_letters(LetterFactory(Workspace.open(SAMPLES / "receivables-en")), 1)[0]
    pack = make_print_pack([english, letters[0]])
    assert page_texts(pack) == page_texts(english) + page_texts(letters[0])
    assert all(len(programs) == 1 for programs in faces(pack).values())
    assert len(font_programs(pack)) == len(faces(pack)) == len(font_dictionaries(pack))


@pytest.mark.slow
def test_a_font_that_differs_from_the_system_font_is_left_as_it_was(letters, monkeypatch, tmp_path):
    """Here fontconfig 'finds' the bold face for every style: the regular fonts' glyphs do not
    match it, so each letter keeps its own regular fonts; the bold ones are still shared."""
    some = letters[:3]
    locate = printpack.find_font
    monkeypatch.setattr(printpack, "find_font", lambda family, style: locate(family, "Bold"))
    pack = make_print_pack(some)
    assert page_texts(pack) == [text for letter in some for text in page_texts(letter)]
    assert page_images(pack, 1, 2, tmp_path, "pack") == page_images(some[0], 1, 2, tmp_path, "letter")
    programs = {name: len(numbers) for name, numbers in faces(pack).items()}
    assert programs == {"Noto-Sans-CJK-SC-Bold": 1, "Noto-Serif-CJK-SC-Bold": 1,
                        "Noto-Sans-CJK-SC": len(some), "Noto-Serif-CJK-SC": len(some)}
    assert len(font_programs(pack)) == 2 + 2 * len(some)


@pytest.mark.slow
def test_a_missing_system_font_leaves_the_fonts_as_they_were(letters, monkeypatch):
    monkeypatch.setattr(printpack, "find_font", lambda family, style: None)
    pack = make_print_pack(letters[:2])
    assert page_texts(pack) == page_texts(letters[0]) + page_texts(letters[1])
    assert len(font_programs(pack)) == 8


@pytest.mark.slow
def test_system_font_subset_is_the_program_weasyprint_embedded(letters):
    """What sharing rests on: the system font (a face of a .ttc collection) subset to a letter's
    CIDs gives exactly the font program the letter embeds."""
    reader = PdfReader(io.BytesIO(letters[0]))
    for font in reader.pages[0]["/Resources"]["/Font"].values():
        cid_font = font.get_object()["/DescendantFonts"][0].get_object()
        face = printpack._face_of(cid_font)
        location = find_font(*face)
        assert location is not None, face
        assert location.path.suffix == ".ttc" and location.index > 0  # the SC face of a collection
        cids = set(printpack._widths(cid_font["/W"]))
        embedded = cid_font["/FontDescriptor"]["/FontFile3"].get_data()
        assert subset_by_cid(location.path.read_bytes(), cids, face_index=location.index) == embedded


def test_no_letters_is_an_error():
    with pytest.raises(ValueError):
        make_print_pack([])


# Sealed letters ------------------------------------------------------------------------------
# A sealed letter's signature covers the letter's bytes; copied into a pack it would cover other
# bytes and a viewer would call it invalid. The pack carries no signature field or widget; the
# seal as printed (drawn by the widget's appearance) is drawn into the page instead.

@pytest.fixture(scope="module")
def seal_key(tmp_path_factory):
    from test_sealing import PASSWORD, make_certificates

    from letterforge import sealing

    certificates = make_certificates(tmp_path_factory.mktemp("certificates"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LF_TEST_SEAL_PASSWORD", PASSWORD)
        return sealing.load_key(certificates["p12"].parent, certificates["p12"].name, "LF_TEST_SEAL_PASSWORD")


def seal(content: bytes, key) -> bytes:
    from letterforge import sealing

    return sealing.seal_pdf(content, key, sealing.signing_time(AS_OF))


def assert_no_signature(pack: bytes) -> None:
    from pyhanko.pdf_utils.reader import PdfFileReader

    reader = PdfReader(io.BytesIO(pack))
    assert "/AcroForm" not in reader.trailer["/Root"]
    assert "/Perms" not in reader.trailer["/Root"]
    for page in reader.pages:
        for annotation in page.get("/Annots") or ():
            assert annotation.get_object().get("/Subtype") != "/Widget"
    for number in range(1, int(reader.trailer["/Size"])):
        try:
            obj = reader.get_object(number)
        except Exception:  # a free entry
            continue
        if hasattr(obj, "get"):
            assert obj.get("/FT") != "/Sig" and obj.get("/Type") != "/Sig" and obj.get("/Subtype") != "/Widget", obj
    assert b"/ByteRange" not in pack and b"letterforge-seal" not in pack  # the pack's objects are not compressed
    assert PdfFileReader(io.BytesIO(pack), strict=False).embedded_signatures == []


def test_a_sealed_letter_without_a_seal_anchor_brings_no_signature_into_the_pack(seal_key):
    from conftest import fake_pdf

    class Draft:
        reference, kind = "X-1", type("K", (), {"value": "demand"})
        account_id = "A-1"

    plain = fake_pdf(None, Draft)
    sealed = seal(plain, seal_key)
    assert b"/ByteRange" in sealed and PdfReader(io.BytesIO(sealed)).pages[0]["/Annots"]  # an invisible seal
    pack = make_print_pack([sealed, plain])
    assert_no_signature(pack)
    reader = PdfReader(io.BytesIO(pack))
    assert len(reader.pages) == 2
    assert "/Annots" not in reader.pages[0]  # its only annotation was the seal's widget
    # nothing drawn for an invisible seal: the page (a blank one) is as it was, with no content added
    assert "/Contents" not in reader.pages[0] and "/Contents" not in PdfReader(io.BytesIO(plain)).pages[0]
    assert "/XObject" not in reader.pages[0]["/Resources"]


@pytest.mark.slow
def test_sealed_letters_pack_has_no_signature_and_the_seal_is_printed(letters, seal_key, tmp_path):
    chosen = [letters[0], letters[1], letters[2]]
    sealed = [seal(letter, seal_key) for letter in chosen[:2]] + [chosen[2]]  # the third one unsealed
    pack = make_print_pack(sealed)
    assert_no_signature(pack)
    # the seal's words are on the page of each sealed letter that bears it, in the page's content
    counts = page_counts(sealed)
    texts = page_texts(pack)
    with_seal = [index for index, text in enumerate(texts) if "ELECTRONIC SEAL" in text]
    assert len(with_seal) == 2
    assert with_seal[0] < counts[0] <= with_seal[1] < counts[0] + counts[1]
    words = lambda text: "".join(text.split())  # noqa: E731 (the seal moves the layout's spaces)
    assert [words(text.replace("ELECTRONIC SEAL", "")) for text in texts] == \
        [words(text) for letter in chosen for text in page_texts(letter)]
    # the printed page is the sealed letter's page as a viewer shows it, seal and all
    for index, first in ((0, 1), (1, counts[0] + 1), (2, counts[0] + counts[1] + 1)):
        in_pack = page_images(pack, first, first + counts[index] - 1, tmp_path, f"pack{index}")
        alone = page_images(sealed[index], 1, counts[index], tmp_path, f"letter{index}")
        assert in_pack == alone
    assert page_images(pack, with_seal[0] + 1, with_seal[0] + 1, tmp_path, "seal") != \
        page_images(chosen[0], with_seal[0] + 1, with_seal[0] + 1, tmp_path, "unsealed")
    # the fonts are still shared: each face once, whether its letters were sealed or not
    assert len(font_programs(pack)) == len(faces(make_print_pack(chosen)))


def test_a_widget_is_drawn_where_a_viewer_draws_it():
    from pypdf.generic import ArrayObject, DictionaryObject, NameObject, NumberObject

    form = printpack._content_stream(b"0 0 10 20 re f")
    form.update({NameObject("/BBox"): ArrayObject(map(NumberObject, (0, 0, 10, 20))),
                 NameObject("/Matrix"): ArrayObject(map(NumberObject, (0, 1, -1, 0, 0, 0)))})  # a quarter turn

    def widget(flags: int, rect=(100, 100, 120, 110)):
        return DictionaryObject({NameObject("/Subtype"): NameObject("/Widget"), NameObject("/F"): NumberObject(flags),
                                 NameObject("/Rect"): ArrayObject(map(NumberObject, rect)),
                                 NameObject("/AP"): DictionaryObject({NameObject("/N"): form})})

    appearance, matrix = printpack._placement(widget(4))
    assert appearance is form
    assert matrix == [1.0, 0.0, 0.0, 1.0, 120.0, 100.0]  # the turned box, (-20..0, 0..10), moved onto the rectangle
    assert printpack._placement(widget(4, (120, 110, 100, 100)))[1] == matrix  # corners in either order
    assert printpack._placement(widget(4, (100, 100, 140, 105)))[1] == [2.0, 0.0, 0.0, 0.5, 140.0, 100.0]
    assert printpack._placement(widget(4 | 2)) is None  # hidden
    assert printpack._placement(widget(0)) is None  # not printed
    assert printpack._placement(widget(4, (0, 0, 0, 0))) is None  # an invisible signature
