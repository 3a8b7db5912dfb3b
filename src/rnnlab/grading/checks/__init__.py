"""Check modules, one per chapter: ``ch01.py``, ``ch02.py``, ... (owned by the chapter's author).

Each module registers the graded functions of its solutions notebook at import time::

    from rnnlab.grading.spec import Exercise, register

    register(Exercise(id="01.rnn_step", notebook="01_recurrent_networks.ipynb",
                      function="rnn_step", points=2, title="One step of a vanilla RNN",
                      cases=..., reference=..., mistakes={...}, hint="..."))

:func:`rnnlab.grading.exercises` imports every module here; ``check("01.x", f)`` imports ``ch01``.
Rules: ``cases(rng)`` draws everything from ``rng`` and returns the same number of cases each call;
arguments and results are numpy arrays, int/float/bool/str/None, or tuples/lists/dicts of these.
"""
