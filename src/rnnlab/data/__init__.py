"""Data for the course: seeded synthetic tasks and loaders for corpora already on the machine.

Synthetic long-range tasks (:mod:`rnnlab.data.synthetic`): the adding problem and the copy task;
the running parity of a bit stream (:mod:`rnnlab.data.parity`, chapter 7).
Chapter 6's loaders live in ``rnnlab.data.text``, ``digits``, ``dates`` and ``slots``; chapter 6e's
strings to copy or reverse, of a chosen length, in :mod:`rnnlab.data.transduction` (imported here
as ``rnnlab.data.transduction``).
numpy only at import time: ``import rnnlab.data`` never imports torch.
"""
from rnnlab.data import parity, synthetic, transduction  # noqa: F401  (transduction: chapter 6e)
from rnnlab.data.parity import *  # noqa: F401,F403  (exactly the names in parity.__all__)
from rnnlab.data.synthetic import *  # noqa: F401,F403  (exactly the names in synthetic.__all__)

__all__ = list(synthetic.__all__) + list(parity.__all__)
