"""The English–Chinese glossary (book/appendix_glossary.md) is used: every term is linked with
``{term}`` from some page of the book, every chapter links at least one term, and every entry gives
a Chinese name.

A ``{term}`` link that names no glossary entry is caught by the ``-W`` book build (test_book.py);
this file checks the other direction, which Sphinx does not.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import ROOT, toc_pages

GLOSSARY = ROOT / "book" / "appendix_glossary.md"
BOOK = ROOT / "book"

# {term}`text` or {term}`text <target>`; the text may wrap onto the next line.
TERM_ROLE = re.compile(r"\{term\}`([^`]+)`")
TARGET = re.compile(r"<([^<>]+)>\s*$")
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def glossary_entries() -> dict[str, str]:
    """Parse the ``{glossary}`` block: ``{term: first line of its definition}``.

    Term lines are unindented; the definition is the indented lines below them. Consecutive term
    lines name one entry (Sphinx's synonyms), and each of them is returned with that definition.
    """
    text = GLOSSARY.read_text(encoding="utf-8")
    match = re.search(r"^(`{3,}|:{3,})\{glossary\}[^\n]*\n(.*?)^\1\s*$", text, re.S | re.M)
    assert match, f"no {{glossary}} block in {GLOSSARY.relative_to(ROOT)}"
    entries: dict[str, str] = {}
    pending: list[str] = []
    for line in match.group(2).splitlines():
        if not line.strip():
            continue
        if line.startswith(":"):  # a directive option such as :sorted:
            continue
        if not line[0].isspace():
            # "term : index key" is Sphinx's syntax for a term with an index entry.
            pending.append(line.split(" : ")[0].strip())
        elif pending:
            for term in pending:
                entries[term] = line.strip()
            pending = []
    assert not pending, f"glossary terms without a definition: {pending}"
    return entries


def page_markdown(page: str) -> str:
    """The markdown a page of the toc contributes: a .md file's text, a notebook's markdown cells."""
    for suffix in (".md", ".ipynb"):
        path = ROOT / f"{page}{suffix}"
        if path.is_file():
            break
    else:
        raise FileNotFoundError(f"no .md or .ipynb for the toc page {page!r}")
    if path.suffix == ".md":
        return path.read_text(encoding="utf-8")
    return notebook_markdown(path)


def notebook_markdown(path: Path) -> str:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return "\n\n".join("".join(cell["source"]) for cell in cells if cell["cell_type"] == "markdown")


def linked_terms(markdown: str) -> set[str]:
    """The glossary keys a text links, lower-cased and with whitespace collapsed as Sphinx does."""
    keys = set()
    for role in TERM_ROLE.findall(markdown):
        target = TARGET.search(role)
        key = target.group(1) if target else role
        keys.add(" ".join(key.split()).lower())
    return keys


def test_the_glossary_parses():
    entries = glossary_entries()
    assert len(entries) >= 40, f"only {len(entries)} glossary terms parsed: is the block intact?"
    lowered = [term.lower() for term in entries]
    assert len(set(lowered)) == len(lowered), "a glossary term appears twice (Sphinx compares lower-cased)"


def test_every_glossary_term_is_linked_from_some_page():
    pages = [page for page in toc_pages() if Path(page) != GLOSSARY.relative_to(ROOT).with_suffix("")]
    used: set[str] = set()
    for page in pages:
        used |= linked_terms(page_markdown(page))
    unused = sorted(term for term in glossary_entries() if term.lower() not in used)
    assert not unused, (
        f"glossary terms that no page of the toc links with {{term}}: {unused}. Link each one at its "
        "first use in a chapter (`{term}`term`` or `{term}`text <term>``), or remove it from "
        "book/appendix_glossary.md")


CHAPTERS = sorted(path.name for path in BOOK.glob("[0-9]*.ipynb"))


@pytest.mark.parametrize("notebook", CHAPTERS)
def test_every_chapter_links_a_glossary_term(notebook):
    known = {term.lower() for term in glossary_entries()}
    linked = linked_terms(notebook_markdown(BOOK / notebook)) & known
    assert linked, (f"book/{notebook} links no glossary term: link the first use of a term in "
                    "book/appendix_glossary.md with {term}`...`")


def test_every_glossary_entry_has_a_chinese_name():
    missing = [term for term, first_line in glossary_entries().items() if not CJK.search(first_line)]
    assert not missing, (f"glossary entries whose definition does not start with a Chinese name: "
                         f"{missing}")


# The names 动手学深度学习 (the Chinese edition of Dive into Deep Learning) uses where they differ
# from the common ones: a reader who learned the field from that book must find them.
D2L_NAMES = {"dropout": "暂退法", "teacher forcing": "强制教学", "cell state": "记忆元",
             "masking": "掩蔽"}


def test_the_glossary_gives_the_names_of_the_chinese_edition_of_d2l():
    entries = glossary_entries()
    missing = [f"{term!r} without {name}" for term, name in D2L_NAMES.items()
               if name not in entries.get(term, "")]
    assert not missing, f"glossary entries that do not give d2l's Chinese name: {missing}"


def test_linked_terms_follow_sphinx_matching():
    text = "A {term}`Hidden State`, {term}`gates <gate>` and {term}`the\nJacobian <Jacobian>`."
    assert linked_terms(text) == {"hidden state", "gate", "jacobian"}
