"""Notebooks as data, on nbformat: reading (and validating) a submission, and the plain Python
that IPython runs for a cell that uses IPython syntax (``%magic``, ``!cmd``).

The grader reads every submission here and never runs it; the sandboxed child runs the cells.
"""
from __future__ import annotations

import warnings

import nbformat
from IPython.core.inputtransformer2 import TransformerManager
from nbformat.reader import NotJSONError

__all__ = ["NotebookError", "read_notebook", "python_source", "MAX_NOTEBOOK_BYTES"]

MAX_NOTEBOOK_BYTES = 50 * 2**20


class NotebookError(ValueError):
    """The bytes are not a readable Jupyter notebook (the message says why)."""


def read_notebook(data: bytes) -> nbformat.NotebookNode:
    """Parse, upgrade to nbformat 4 and validate notebook bytes; :class:`NotebookError` says what is
    wrong (the bytes may come from anyone: every failure of nbformat becomes that error)."""
    if len(data) > MAX_NOTEBOOK_BYTES:
        raise NotebookError(f"the file is {len(data) / 2**20:.0f} MB, larger than the "
                            f"{MAX_NOTEBOOK_BYTES / 2**20:.0f} MB a notebook may have")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # nbformat warns of what validate() reports below
            nb = nbformat.reads(data.decode("utf-8-sig"), as_version=4)
            nbformat.validate(nb)
    except UnicodeDecodeError as err:
        raise NotebookError(f"not UTF-8 text ({err.reason} at byte {err.start})") from None
    except NotJSONError:
        raise NotebookError("not valid JSON") from None
    except nbformat.ValidationError as err:
        why = str(getattr(err, "message", err)).splitlines()[0][:200]
        raise NotebookError(f"not a notebook: {why}") from None
    except (AttributeError, KeyError, TypeError, ValueError, RecursionError) as err:
        raise NotebookError(f"not a notebook ({type(err).__name__}: {str(err)[:200]})") from None
    return nb


def python_source(source: str) -> str:
    """The Python IPython runs for a cell: ``%matplotlib inline`` becomes
    ``get_ipython().run_line_magic('matplotlib', 'inline')`` and so on (nothing is run here)."""
    return TransformerManager().transform_cell(source)
