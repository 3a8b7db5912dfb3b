"""Every notebook in book/, solutions/ and exercises/.

1. Static checks (fast): valid nbformat 4, kernel python3, the first code cell runs
   `import rnnlab; print(rnnlab.setup())`, book and solution notebooks are committed executed top to
   bottom (the book renders their stored outputs), exercise notebooks are committed with outputs cleared.
2. nbval (slow, one test per notebook, each in its own pytest process and kernel): re-executes the
   notebook in this environment and compares every text output with the stored one
   (`--nbval` for book/ and solutions/; `--nbval-lax` for exercises/, whose outputs are cleared and whose
   stubs raise). Images are not compared by nbval. Cells tagged `nbval-ignore-output` are run but not
   compared; unstable text (addresses, progress bars, durations) is masked by tests/nbval_sanitize.cfg.
   tests/_nbval_plugin.py runs cells as Jupyter does (a trailing `;` silences the last value) and makes
   cells tagged `raises-exception` really raise.

3. nbval again under another CPU's kernels (tests/cpu_profile.py): `baseline` makes numpy, OpenBLAS,
   MKL, oneDNN and torch take their oldest x86-64 code paths, as a reader's laptop may pick other
   kernels than this machine. A printed value must depend on the mathematics, not on the last bits of
   one machine's arithmetic. RNNLAB_NOTEBOOK_PROFILES (default "native baseline") chooses the runs;
   add `avx2` on an AVX-512 machine.

One notebook while you work on it:  .venv/bin/pytest tests/test_notebooks.py -k 02_bptt
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

import cpu_profile
from conftest import ROOT

FOLDERS = ("book", "solutions", "exercises")
CELL_TIMEOUT_S = 300         # nbval's per-cell limit: catches a hung cell, not a slow notebook
NOTEBOOK_TIMEOUT_S = 900     # the whole nbval run of one notebook
SANITIZE = "tests/nbval_sanitize.cfg"
PROFILES = os.environ.get("RNNLAB_NOTEBOOK_PROFILES", "native baseline").split()
_unknown = set(PROFILES) - {"native", *cpu_profile.PROFILES}
if _unknown:
    raise ValueError(f"RNNLAB_NOTEBOOK_PROFILES: unknown profile(s) {sorted(_unknown)}; "
                     f"choose from native, {', '.join(cpu_profile.PROFILES)}")


def _notebooks() -> list[str]:
    found = []
    for folder in FOLDERS:
        for path in sorted((ROOT / folder).rglob("*.ipynb")):
            if {".ipynb_checkpoints", "_build"} & set(path.parts):
                continue
            found.append(path.relative_to(ROOT).as_posix())
    return found


NOTEBOOKS = _notebooks()


def _code_cells(nb):
    return [cell for cell in nb.cells if cell.cell_type == "code"]


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_notebook_is_well_formed(notebook):
    nb = nbformat.read(ROOT / notebook, as_version=nbformat.NO_CONVERT)
    assert nb.nbformat == 4, f"{notebook}: nbformat {nb.nbformat}, expected 4"
    nbformat.validate(nb)
    kernel = nb.metadata.get("kernelspec", {}).get("name")
    assert kernel == "python3", f"{notebook}: kernelspec {kernel!r}, expected 'python3'"

    code = _code_cells(nb)
    assert code, f"{notebook}: no code cell"
    first = code[0].source
    assert "import rnnlab" in first and "rnnlab.setup(" in first, (
        f"{notebook}: the first code cell must be `import rnnlab; print(rnnlab.setup())` "
        f"(seeds, threads, device), found:\n{first}")

    if notebook.startswith("exercises/"):
        dirty = [i for i, cell in enumerate(code) if cell.outputs or cell.execution_count is not None]
        assert not dirty, f"{notebook}: code cells {dirty} keep outputs; exercises are committed cleared"
    else:
        counts = [cell.execution_count for cell in code if cell.source.strip()]
        expected = list(range(1, len(counts) + 1))
        assert counts == expected, (
            f"{notebook}: execution counts {counts}; the notebook must be committed executed top to "
            f"bottom in a fresh kernel:\n  .venv/bin/jupyter nbconvert --to notebook --execute "
            f"--inplace --ExecutePreprocessor.timeout=600 {notebook}")


BOOK_NOTEBOOKS = [nb for nb in NOTEBOOKS if nb.startswith("book/")]


@pytest.mark.parametrize("notebook", BOOK_NOTEBOOKS)
def test_every_figure_has_a_caption_and_alt_text(notebook):
    """A figure in the HTML book is a cell output image; myst-nb gives it the caption and alt text
    of the cell's `mystnb: {figure: {caption, name}, image: {alt}}` metadata, and otherwise an empty
    caption and the file path as alt text (which test_browser.py cannot tell from a real one)."""
    nb = nbformat.read(ROOT / notebook, as_version=nbformat.NO_CONVERT)
    problems = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or "remove-output" in cell.metadata.get("tags", []):
            continue
        if not any("image/png" in out.get("data", {}) for out in cell.get("outputs", [])):
            continue
        meta = cell.metadata.get("mystnb", {})
        caption = meta.get("figure", {}).get("caption", "")
        alt = meta.get("image", {}).get("alt", "")
        if len(caption.split()) < 8:
            problems.append(f"cell {index}: no caption stating the finding (mystnb.figure.caption)")
        if len(alt.split()) < 12 or alt.strip() == caption.strip():
            problems.append(f"cell {index}: no alt text describing what is drawn (mystnb.image.alt, "
                            "not a copy of the caption)")
    assert not problems, f"{notebook}:\n  " + "\n  ".join(problems)


# `{glue:text}`name``, `{glue}`name``, `{glue:md}`name`` roles and ```{glue:figure} name``` directives.
_GLUE_USE = re.compile(r"\{glue(?::\w+)?\}`([^`]+)`|```\{glue:figure\}\s+(\S+)")


@pytest.mark.parametrize("notebook", [nb for nb in NOTEBOOKS if not nb.startswith("exercises/")])
def test_every_glued_name_in_the_prose_is_computed_by_a_cell(notebook):
    """Prose quotes numbers that cells compute through MyST-NB's glue, so the text cannot drift from
    the outputs: each name the markdown uses must be glued by a code cell's stored output (myst-nb
    would otherwise render nothing but a warning), and each glued name exactly once."""
    nb = nbformat.read(ROOT / notebook, as_version=nbformat.NO_CONVERT)
    used = set()
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for role, directive in _GLUE_USE.findall(cell.source):
                used.add((role or directive).split(":")[0].strip())
    glued = []
    for cell in _code_cells(nb):
        for out in cell.get("outputs", []):
            name = out.get("metadata", {}).get("scrapbook", {}).get("name")
            if name:
                glued.append(name)
    twice = sorted({n for n in glued if glued.count(n) > 1})
    missing = sorted(used - set(glued))
    assert not missing, f"{notebook}: the prose uses glued names no cell glues: {missing}"
    assert not twice, f"{notebook}: names glued more than once: {twice}"


@pytest.mark.parametrize("notebook", BOOK_NOTEBOOKS)
def test_progress_bars_stay_out_of_the_html_book(notebook):
    """fit(progress=True) writes a tqdm bar to stderr: useful in Jupyter, a wall of carriage-return
    text in the HTML book. Such cells carry myst-nb's `remove-stderr` tag (and, as the bar's text
    varies, `nbval-ignore-output`)."""
    nb = nbformat.read(ROOT / notebook, as_version=nbformat.NO_CONVERT)
    untagged = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        bar = any(out.get("name") == "stderr" and "it/s" in out.get("text", "")
                  for out in cell.get("outputs", []))
        tags = set(cell.metadata.get("tags", []))
        if bar and not {"remove-stderr", "nbval-ignore-output"} <= tags:
            untagged.append(index)
    assert not untagged, (f"{notebook}: cells {untagged} show a progress bar; tag them "
                          "`remove-stderr` and `nbval-ignore-output`")


@pytest.mark.notebooks
@pytest.mark.parametrize("notebook", NOTEBOOKS)
@pytest.mark.parametrize("profile", PROFILES)
def test_notebook_reproduces_its_outputs(profile, notebook):
    mode = "--nbval-lax" if notebook.startswith("exercises/") else "--nbval"
    command = [
        sys.executable, "-m", "pytest", notebook,
        mode, "--nbval-current-env", f"--nbval-cell-timeout={CELL_TIMEOUT_S}",
        "--nbval-sanitize-with", SANITIZE,
        "-p", "_nbval_plugin", "-p", "no:randomly", "-p", "no:cacheprovider",
        "-o", "addopts=", "-q", "--color=no",
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_XDIST_")}
    env.update(
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT / "tests"), env.get("PYTHONPATH")])),
        PYTHONHASHSEED="0",
        OMP_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
        PYDEVD_DISABLE_FILE_VALIDATION="1",
        JUPYTER_PLATFORM_DIRS="1",
    )
    if profile != "native":
        env = cpu_profile.environment(profile, env)
    try:
        proc = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=NOTEBOOK_TIMEOUT_S)
    except subprocess.TimeoutExpired as err:
        pytest.fail(f"{notebook} ({profile} kernels): nbval did not finish in {NOTEBOOK_TIMEOUT_S} s\n"
                    f"{(err.stdout or '')[-4000:]}")
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, (
        f"{notebook}: re-executing it with {profile} CPU kernels does not reproduce its stored outputs "
        f"(nbval {mode}, exit "
        f"{proc.returncode}). Fix the notebook or, if the new output is right, re-execute and commit it.\n"
        + output[-12000:])
