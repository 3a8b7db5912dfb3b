"""rnnlab: the shared implementation of the rnnlab course on recurrent neural networks.

Its parts (ARCHITECTURE.md at the repository's root says what each may import):

- ``rnnlab.scratch``  numpy only: cells and layers with hand-written backward.
- ``rnnlab.modules``  torch ``nn.Module``s built from tensor ops, equal to ``torch.nn``.
- ``rnnlab.data``     every task and corpus: seeded generators and offline corpora.
- ``rnnlab.train``    fit loop, sampling, greedy and beam decoding.
- ``rnnlab.experiments`` the book's models and experiment runners, one module per chapter,
  built on ``train.fit``.
- ``rnnlab.viz``      the book's figures and widgets (they draw results, they train nothing;
  ``viz.diagram``: the diagram primitives).
- ``rnnlab.grading``  exercise checks and the ``rnnlab grade`` command.

Submodules are imported lazily so that ``import rnnlab.scratch`` never pulls in torch.
"""
from __future__ import annotations

__version__ = "0.1.0"

from rnnlab._setup import setup

__all__ = ["__version__", "setup"]
