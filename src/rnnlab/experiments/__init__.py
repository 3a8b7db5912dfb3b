"""The book's models and experiment runners, one module per chapter that trains something.

Each ``rnnlab.experiments.chNN`` holds the models (ordinary ``torch.nn.Module`` classes, or numpy
classes on :mod:`rnnlab.scratch`), the training recipes built on :func:`rnnlab.train.fit`, the
runners that go from a seed to a result, the result types and the text tables that describe
results. A notebook and its robustness claims (``benchmarks/claims``) call the same runner, so they
run one experiment. Tasks and corpora live in :mod:`rnnlab.data`; figures that show the results
live in :mod:`rnnlab.viz`, which never imports this package (a figure receives the run it draws).

Import a chapter's module directly, e.g. ``from rnnlab.experiments import ch03 as ex03``.
"""
