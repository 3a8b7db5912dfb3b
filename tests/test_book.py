"""The HTML book: it builds from clean with warnings as errors, every page of the toc is there, no
page loads a script, stylesheet, font or image from outside the site (it works offline), and no page
links to a repository or launch service unless _config.yml names the course's repository.

The build itself is the fixture ``book_build`` (tests/conftest.py), done once per pytest run and shared
with the browser test."""
from __future__ import annotations

import importlib.util
import re
from html.parser import HTMLParser

import pytest
import yaml

from conftest import ROOT, toc_pages

pytestmark = pytest.mark.book

EXTERNAL = re.compile(r"^\s*(https?:)?//", re.IGNORECASE)
CSS_EXTERNAL_URL = re.compile(r"""(url\(\s*['"]?|@import\s+['"])\s*(https?:)?//""", re.IGNORECASE)
# Attributes through which a page loads something (a plain <a href> is a link, not a load).
LOADING_ATTRIBUTES = {
    "script": ("src",),
    "img": ("src", "srcset"),
    "source": ("src", "srcset"),
    "iframe": ("src",),
    "embed": ("src",),
    "object": ("data",),
    "video": ("src", "poster"),
    "audio": ("src",),
    "track": ("src",),
}
LOADING_LINK_RELS = {"stylesheet", "preload", "modulepreload", "prefetch", "icon", "shortcut",
                     "apple-touch-icon", "manifest", "preconnect", "dns-prefetch"}
DATA_SCRIPT_TYPES = {"application/vnd.jupyter.widget-state+json",
                     "application/vnd.jupyter.widget-view+json", "application/json",
                     "application/ld+json", "text/x-thebe-config"}


class _LoadScanner(HTMLParser):
    """Collect every external resource a page would load, and inline code that names one."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self._script_type: str | None = None
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        attributes = {name: value or "" for name, value in attrs}
        for name in LOADING_ATTRIBUTES.get(tag, ()):
            value = attributes.get(name, "")
            if any(EXTERNAL.match(part) for part in value.split(",")):
                self.problems.append(f"<{tag} {name}={value!r}>")
        if tag == "link":
            rels = set(attributes.get("rel", "").lower().split())
            if rels & LOADING_LINK_RELS and EXTERNAL.match(attributes.get("href", "")):
                self.problems.append(f"<link rel={attributes.get('rel')!r} href={attributes['href']!r}>")
        if CSS_EXTERNAL_URL.search(attributes.get("style", "")):
            self.problems.append(f"<{tag} style={attributes['style']!r}>")
        if tag == "script":
            self._script_type = attributes.get("type", "text/javascript").lower()
        if tag == "style":
            self._in_style = True

    def handle_endtag(self, tag):
        if tag == "script":
            self._script_type = None
        if tag == "style":
            self._in_style = False

    def handle_data(self, data):
        if self._in_style and CSS_EXTERNAL_URL.search(data):
            self.problems.append(f"<style> loads {CSS_EXTERNAL_URL.search(data).group(0)!r}")
        if self._script_type is not None and self._script_type not in DATA_SCRIPT_TYPES:
            for url in re.findall(r"""["'`](?:https?:)?//[^"'`\s]+""", data):
                self.problems.append(f"inline <script> names {url[1:]!r}")


def test_book_builds_clean_with_warnings_as_errors(book_build):
    warnings = [line for line in book_build.log.splitlines()
                if "WARNING" in line or "ERROR" in line or "CRITICAL" in line]
    assert book_build.returncode == 0, (
        "`jupyter-book build . -W -n --keep-going` failed (full log: test-artifacts/book-build.log):\n"
        + "\n".join(warnings[:50] or book_build.log.splitlines()[-40:])
    )
    assert not warnings, "the build passed but logged:\n" + "\n".join(warnings[:50])


def test_every_page_of_the_toc_is_built(book_build):
    missing = [page for page in toc_pages() if not (book_build.html / f"{page}.html").is_file()]
    assert not missing, f"pages in _toc.yml with no HTML: {missing}"
    assert (book_build.html / "index.html").is_file(), "no index.html at the root of _build/html"


def test_footer_shows_the_copyright_year(book_build):
    root_page = (book_build.html / f"{toc_pages()[0]}.html").read_text(encoding="utf-8")
    assert re.search(r"Copyright\s+2026", root_page), "the footer does not show 'Copyright 2026'"


def test_no_page_loads_anything_from_outside_the_site(book_build):
    html_files = sorted(book_build.html.rglob("*.html"))
    assert html_files, "no HTML was built"
    problems = []
    for path in html_files:
        scanner = _LoadScanner()
        scanner.feed(path.read_text(encoding="utf-8"))
        problems += [f"{path.relative_to(book_build.html)}: {p}" for p in scanner.problems]
    for path in sorted((book_build.html / "_static").rglob("*.css")):
        text = path.read_text(encoding="utf-8", errors="replace")
        for match in CSS_EXTERNAL_URL.finditer(text):
            problems.append(f"{path.relative_to(book_build.html)}: loads {match.group(0)!r}")
    assert not problems, "resources loaded from outside the site:\n" + "\n".join(problems[:50])


def test_math_and_widget_scripts_are_served_locally(book_build):
    """MathJax, require.js and the widget manager come from _static/vendor (package-lock.json)."""
    static = book_build.html / "_static" / "vendor"
    for relative in ["mathjax/tex-chtml-full.js", "mathjax/output/chtml/fonts/woff-v2/MathJax_Main-Regular.woff",
                     "require.js", "html-manager/embed-amd.js"]:
        assert (static / relative).is_file(), f"_build/html/_static/vendor/{relative} is missing"
    setup = (book_build.html / "book" / "setup.html").read_text(encoding="utf-8")
    assert 'src="../_static/vendor/mathjax/tex-chtml-full.js' in setup
    assert 'src="../_static/vendor/html-manager/embed-amd.js' in setup


# Links that only a configured repository may produce: the placeholder the book once shipped with,
# and sphinx-book-theme's header buttons that point at the repository (the repository button, the
# source menu) or launch a notebook from it (the rocket menu: Binder, Colab, JupyterHub).
PLACEHOLDER = "your-org"
REPOSITORY_BUTTON_CLASSES = {"btn-source-repository-button", "dropdown-source-buttons",
                             "dropdown-launch-buttons"}
LAUNCH_HOSTS = ("mybinder.org", "colab.research.google.com")


class _LinkScanner(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []
        self.buttons: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = {name: value or "" for name, value in attrs}
        if tag == "a" and "href" in attributes:
            self.hrefs.append(attributes["href"])
            if any(host in attributes["href"] for host in LAUNCH_HOSTS):
                self.buttons.append(f"<a href={attributes['href']!r}>")
        classes = set(attributes.get("class", "").split()) & REPOSITORY_BUTTON_CLASSES
        self.buttons += [f"<{tag} class={name!r}>" for name in sorted(classes)]


def _configured_repository() -> str:
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    return str((config.get("repository") or {}).get("url") or "").strip()


def test_no_page_links_to_a_placeholder_or_unconfigured_repository(book_build):
    html_files = sorted(book_build.html.rglob("*.html"))
    assert html_files, "no HTML was built"
    repository = _configured_repository()
    problems = []
    for path in html_files:
        scanner = _LinkScanner()
        scanner.feed(path.read_text(encoding="utf-8"))
        name = path.relative_to(book_build.html)
        problems += [f"{name}: links to {href}" for href in scanner.hrefs if PLACEHOLDER in href]
        if not repository:
            problems += [f"{name}: {button}, but repository.url in _config.yml is empty"
                         for button in scanner.buttons]
    assert not problems, "\n".join(problems[:50])


def _repository_links():
    spec = importlib.util.spec_from_file_location(
        "repository_links", ROOT / "book" / "assets" / "ext" / "repository_links.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


LAUNCH = {"notebook_interface": "jupyterlab", "binderhub_url": "https://mybinder.org",
          "colab_url": "https://colab.research.google.com"}


def test_without_a_repository_url_there_are_no_repository_or_launch_buttons():
    for url in ("", None, "   "):
        options = _repository_links().repository_buttons(
            {"repository_url": url, "launch_buttons": LAUNCH, "use_download_button": True})
        assert options["use_repository_button"] is False
        assert "launch_buttons" not in options
        assert options["use_download_button"] is True  # the download menu links into the site


def test_a_repository_url_turns_the_repository_and_launch_buttons_on():
    theme = {"repository_url": "https://github.com/example/rnnlab", "launch_buttons": LAUNCH}
    options = _repository_links().repository_buttons(theme)
    assert options["use_repository_button"] is True
    assert options["launch_buttons"] == LAUNCH
    assert options["repository_url"] == "https://github.com/example/rnnlab"
    assert theme == {"repository_url": "https://github.com/example/rnnlab", "launch_buttons": LAUNCH}


def test_a_repository_url_that_is_not_https_is_refused():
    with pytest.raises(ValueError, match="repository.url"):
        _repository_links().repository_buttons({"repository_url": "github.com/example/rnnlab"})
