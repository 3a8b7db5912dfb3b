"""Sphinx extension of the rnnlab book: repository and launch buttons only with a real repository.

One setting in _config.yml decides it: ``repository.url``. Empty (as committed), the book has no
repository button and no Binder or Colab launch buttons, so it never links to a repository that does
not exist. Set to the course's public repository (``https://github.com/ORG/REPO``), the book gets the
repository button and the launch buttons configured under ``launch_buttons`` in _config.yml.

(Jupyter Book refuses ``html.use_repository_button: true`` next to an empty ``repository.url``, and
sphinx-book-theme fails on launch buttons without a repository, so the switch is made here, once the
configuration is read, instead of in _config.yml.)
"""
from __future__ import annotations

from typing import Any

def repository_buttons(theme_options: dict[str, Any]) -> dict[str, Any]:
    """The theme options with the repository and launch buttons on or off, by ``repository_url``."""
    options = dict(theme_options)
    url = str(options.get("repository_url") or "").strip()
    if url:
        if not url.startswith("https://"):
            raise ValueError(f"repository.url in _config.yml must be an https:// address, got {url!r}")
        options["use_repository_button"] = True
    else:
        options["repository_url"] = ""
        options["use_repository_button"] = False
        options["use_edit_page_button"] = False
        options["use_issues_button"] = False
        options["use_source_button"] = False
        options.pop("launch_buttons", None)
    return options


def _on_config_inited(app, config) -> None:
    config.html_theme_options = repository_buttons(config.html_theme_options or {})


def setup(app):
    app.connect("config-inited", _on_config_inited)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
