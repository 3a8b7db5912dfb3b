"""A pytest plugin that tests/test_notebooks.py loads into its nbval runs (``-p _nbval_plugin``).

Two corrections to nbval 0.11.0 (pinned in pyproject.toml), so that a notebook is re-executed the way
Jupyter and ``jupyter nbconvert --execute`` executed it when its outputs were stored:

1. Cells run with ``store_history=True``. nbval sends them with ``store_history=False``, and then
   IPython cannot see the cell's source when it decides whether a trailing ``;`` silences the last
   value (IPython issue 14162, nbval issue 194): ``ax.legend();`` shows ``<matplotlib.legend.Legend ...>``
   under nbval but nothing in Jupyter, and a correct notebook fails. With history on, the kernel
   behaves as in Jupyter (nbval ignores execution counts when comparing).

2. A cell tagged ``raises-exception`` must really raise. nbval lets it pass whether or not it raises;
   in an exercise notebook the tag marks a stub (or a cell that calls one), and a stub that runs
   without raising means a solution was left in, or the tag is stale.
"""
from __future__ import annotations

import pytest
from nbval.kernel import RunningKernel


def _execute_cell_input(self, cell_input, allow_stdin=None):
    return self.kc.execute(cell_input, store_history=True, allow_stdin=allow_stdin, stop_on_error=False)


RunningKernel.execute_cell_input = _execute_cell_input


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if call.when != "call" or not report.passed:
        return
    options = getattr(item, "options", None)  # nbval's IPyNbCell
    if not isinstance(options, dict) or not options.get("check_exception"):
        return
    outputs = getattr(item, "test_outputs", None) or []
    if not any(out.get("output_type") == "error" for out in outputs):
        report.outcome = "failed"
        source = getattr(getattr(item, "cell", None), "source", "")
        report.longrepr = (
            f"{item.nodeid}: the cell is tagged 'raises-exception' (or marked NBVAL_RAISES_EXCEPTION) "
            f"but ran without raising. Either it should raise (a stub left unfilled) or the tag is wrong.\n"
            f"Cell source:\n{source}"
        )
