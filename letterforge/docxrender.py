"""DOCX letters, for clerks who edit in Word or WPS: the letter's context and its labels filled into
a docxtpl template (templates/letter.docx, or a workspace's own), in the same sandbox as the HTML."""

from __future__ import annotations

import io
import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import TemplateError
from markupsafe import Markup

from letterforge.diagnostics import UserError
from letterforge.drafts import LetterDraft
from letterforge.templating import TemplateRenderer, date_filter, inside_folders, money_filter, template_error

def docx_template(renderer: TemplateRenderer, draft: LetterDraft) -> Path:
    """The most specific DOCX template: <locale>/<kind>.docx, <locale>/letter.docx, letter.docx."""
    names = (f"{draft.locale}/{draft.kind.value}.docx", f"{draft.locale}/letter.docx", "letter.docx")
    for name in names:
        for folder in renderer.template_dirs:
            if (folder / name).is_file():
                if not inside_folders(folder / name, renderer.template_dirs):
                    raise UserError(f"{folder / name}: refused, it resolves to {os.path.realpath(folder / name)}, "
                                    "outside the template folders")
                return folder / name
    raise UserError(f"no DOCX template ({', '.join(names)}) in {', '.join(str(d) for d in renderer.template_dirs)}")


class Labels:
    """The labels of a letter's locale (<locale>/labels.html, the workspace's own if it has one), the
    very words the HTML templates print. A label the file lacks (a workspace copy older than the
    shipped one) is named, with the file, instead of failing deep in the DOCX."""

    def __init__(self, template: Any) -> None:
        self._module = template.module
        self._file = template.filename or template.name

    def __getattr__(self, name: str) -> Any:
        try:
            return getattr(self._module, name)
        except AttributeError:
            raise UserError(f"{self._file}: no label {name!r}, which the DOCX letter uses: add it (the shipped "
                            "labels.html of the locale has every label)") from None


def docx_context(renderer: TemplateRenderer, draft: LetterDraft, template: Any) -> dict[str, Any]:
    """The HTML context plus what Word needs pre-laid: labels, body paragraphs, signature."""
    from docxtpl import InlineImage, RichText
    from docx.shared import Mm

    context = renderer.context_for(draft)
    labels: Any = Labels(renderer.environment.get_template(f"{draft.locale}/labels.html"))
    creditor, firm = context["creditor"], context["law_firm"]
    kind, creditor_type = draft.kind.value, creditor["type"]
    chinese = draft.locale.startswith("zh")
    body: list[Any] = []
    for clause in draft.clauses:
        for paragraph in context["clauses"][clause.slot]["paragraphs"]:
            rich = RichText()
            for text, bold in paragraph:
                rich.add(text, bold=bold)
            body.append({"text": rich, "boxed": False})
        if clause.slot in ("statement_of_debt", "facts"):
            body.extend({"text": line, "boxed": True} for line in _docx_summary(context, labels))
    # The letterhead and signature the HTML templates print (base.html, <locale>/lawyer.html), in the
    # words of the same labels: a label changed in <locale>/labels.html changes both formats.
    if firm:
        phone = f"{labels.sep}{labels.phone} {firm['phone']}" if firm["phone"] else ""
        letterhead = {"name": firm["name"], "details": f"{firm['address']}{phone}",
                      "on_behalf": _text(labels.on_behalf(creditor["name"], creditor["company_number"]))}
        if not chinese:
            letterhead["details"] += "\n" + uk_disclosures(labels, creditor, firm)
        signature = ([firm["name"], labels.seal, f"{labels.lawyer_label}{firm['lawyer']}",
                      f"{labels.certificate_label}{firm['certificate_number']}"]
                     if chinese else [f"{context['closing']},", "", firm["lawyer"], _text(labels.signed_for(firm["name"])),
                                      firm["certificate_number"]])
    else:
        hours = f"{labels.sep}{creditor['office_hours']}" if creditor["office_hours"] else ""
        letterhead = {"name": creditor["name"], "on_behalf": "",
                      "details": f"{creditor['address']}{labels.sep}{labels.phone} {creditor['phone']}{hours}"}
        if not chinese and creditor.get("company_number"):
            letterhead["details"] += "\n" + uk_disclosures(labels, creditor, None)
        signer = context["signatory"]
        signature = ([creditor["name"] + (f"{labels.sep}{signer}" if signer else ""), labels.seal] if chinese
                     else [f"{context['closing']},", "", signer or labels.default_signatory,
                           _text(labels.signed_for(creditor["name"]))])
    if chinese:
        signature.append(date_filter(context, draft.issued_on))
    online = context["payment"]["online"]
    if online:
        import segno

        image = io.BytesIO()
        segno.make(online["url"], error="m").save(image, kind="png", scale=6, border=2)
        image.seek(0)
        online = {**online, "qr": InlineImage(template, image, width=Mm(30))}
    address = context["debtor"]["address"]
    return {**context, "t": labels, "title": _text(labels.kind_title(kind, creditor_type)), "body": body,
            "chinese": chinese, "address_lines": [address] if chinese else address.split(", "),
            "sender": firm or creditor, "capped": any(line["late_fee_capped"] for line in context["statement"]["lines"]),
            "letterhead": letterhead, "signature": signature, "payment": {**context["payment"], "online": online}}


def _docx_summary(context: dict[str, Any], labels: Any) -> list[Any]:
    from docxtpl import RichText

    total = money_filter(context, context["total"])
    statement = context["statement"]
    lines = [RichText(f"{labels.total_due}{total}", bold=True)]
    if context["total_capitals"]:
        lines.append(RichText(f"{labels.capitals}{context['total_capitals']}", bold=True))
    # The same "made up of" line as the PDF's summary box, from the same labels.
    made_of = (f"{labels.of_which}{labels.principal} {money_filter(context, statement['principal'])}"
               f"{labels.list_sep}{labels.late_fees} {money_filter(context, statement['late_fees'])}")
    if statement["compensation"]:
        made_of += f"{labels.list_sep}{labels.compensation} {money_filter(context, statement['compensation'])}"
    made_of += _text(labels.periods_text(statement["periods"], statement["first_period"], statement["last_period"]))
    lines.append(RichText(made_of))
    lines.append(RichText(f"{labels.pay_by}{date_filter(context, context['letter']['deadline'])}", bold=True))
    waiver = context["waiver"]
    if waiver["offered"]:
        lines.append(RichText(_text(labels.waiver_text(money_filter(context, waiver["amount"]),
                                                     date_filter(context, waiver["pay_by"]),
                                                     money_filter(context, waiver["total_after"])))))
    return lines


def render_docx(renderer: TemplateRenderer, draft: LetterDraft) -> bytes:
    from docxtpl import DocxTemplate

    path = docx_template(renderer, draft)
    template = DocxTemplate(str(path))
    context = docx_context(renderer, draft, template)
    renderer.check_glyphs(json.dumps(_plain(draft.context), ensure_ascii=False),
                          f"{draft.account_id} {draft.kind.value}")
    try:
        template.render(context, jinja_env=renderer.environment, autoescape=True)
        if draft.context.get("pre_action_protocol"):
            from letterforge.annexes import PROTOCOL_PAGES, append_protocol_annexes

            labels = context["t"]
            pages = [renderer.environment.get_template(name).render({**renderer.context_for(draft), "t": labels})
                     for name in PROTOCOL_PAGES]
            append_protocol_annexes(template.docx, pages, _text(labels.enclosures), _text(labels.protocol_enclosures))
    except TemplateError as error:
        raise UserError(f"{path}: {template_error(error, renderer.template_dirs)}") from None
    properties = template.docx.core_properties
    properties.title = f"{context['title']} {draft.reference}"
    properties.author = draft.context["creditor"]["name"]
    properties.subject = _text(context["t"].subject(draft.kind.value, draft.context["creditor"]["type"]))
    properties.keywords = draft.reference
    # The reference only: clause ids name how the debtor is classed (…category_offer.wilful), and
    # the debtor can read a file's properties. The ledger and the manifest keep the clause versions.
    _set_custom_properties(template.docx, {"letterforge.reference": draft.reference})
    properties.language = draft.locale
    set_document_language(template.docx, draft.locale)
    moment = datetime(draft.issued_on.year, draft.issued_on.month, draft.issued_on.day)
    properties.created = properties.modified = moment
    properties.last_modified_by = "letterforge"
    properties.comments = ""
    properties.revision = 1
    output = io.BytesIO()
    template.save(output)
    return output.getvalue()



def _text(value: Any) -> str:
    """What a label macro says, as plain text: a macro of the escaping environment returns markup
    (a creditor "Smith & Co" as "Smith &amp; Co"), which the DOCX, escaping on its own, would print
    with its entities."""
    return value.unescape() if isinstance(value, Markup) else str(value)


def uk_disclosures(labels: Any, creditor: dict[str, Any], firm: dict[str, Any] | None) -> str:
    """The letterhead's legal lines of an English letter, as the PDF letterheads print them."""
    if firm is not None:
        line = _text(labels.sra_line(firm["sra_number"]))
        if firm.get("company_number"):
            line += " " + _text(labels.registration(firm["registered_in"], firm["company_number"], firm["registered_office"]))
        return line
    return f"{creditor['name']}. " + _text(labels.registration(creditor["registered_in"], creditor["company_number"],
                                                               creditor["registered_office"]))


_CUSTOM_PROPERTIES_TYPE = "application/vnd.openxmlformats-officedocument.custom-properties+xml"
_CUSTOM_PROPERTIES_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/custom-properties"


def _set_custom_properties(document: Any, values: dict[str, str]) -> None:
    """Custom document properties (Word: File > Properties > Custom), which, unlike the core
    properties, hold values of any length: the clause versions a letter contains."""
    from xml.sax.saxutils import escape, quoteattr

    from docx.opc.packuri import PackURI
    from docx.opc.part import Part

    entries = "".join(
        f'<property fmtid="{{D5CDD505-2E9C-101B-9397-08002B2CF9AE}}" pid="{pid}" name={quoteattr(name)}>'
        f"<vt:lpwstr>{escape(value)}</vt:lpwstr></property>"
        for pid, (name, value) in enumerate(values.items(), start=2)
    )
    xml = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
           '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/custom-properties" '
           'xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">'
           f"{entries}</Properties>")
    package = document.part.package
    part = Part(PackURI("/docProps/custom.xml"), _CUSTOM_PROPERTIES_TYPE, xml.encode("utf-8"), package)
    package.relate_to(part, _CUSTOM_PROPERTIES_REL)


def set_document_language(document: Any, locale: str) -> None:
    """The letter's language and East Asian language in the document defaults: Word and WPS choose
    spelling and fonts by them (python-docx's own default, en-US / ja-JP, takes Chinese for Japanese)."""
    from docx.oxml.ns import qn

    run_defaults = document.styles.element.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr"))
    language = run_defaults.find(qn("w:lang"))
    if language is None:
        language = run_defaults.makeelement(qn("w:lang"), {})
        run_defaults.append(language)
    language.set(qn("w:val"), locale)
    language.set(qn("w:eastAsia"), "zh-CN")


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if k != "qr"}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (str, int, bool)) or value is None:
        return value
    return str(value)

