"""Data for the course: seeded synthetic tasks and loaders for corpora already on the machine.

Synthetic long-range tasks (:mod:`rnnlab.data.synthetic`): the adding problem and the copy task.
Chapter 6's loaders live in ``rnnlab.data.text``, ``digits``, ``dates`` and ``slots``.
numpy only at import time; torch is imported lazily by the ``*_dataset`` wrappers.
"""
from rnnlab.data.synthetic import (
    ADDING_BASELINE_MSE,
    AddingBatch,
    CopyBatch,
    adding_dataset,
    adding_problem,
    adding_stream,
    as_rng,
    copy_baseline_ce,
    copy_dataset,
    copy_stream,
    copy_task,
)

__all__ = [
    "ADDING_BASELINE_MSE",
    "AddingBatch",
    "CopyBatch",
    "adding_problem",
    "adding_stream",
    "adding_dataset",
    "copy_task",
    "copy_stream",
    "copy_dataset",
    "copy_baseline_ce",
    "as_rng",
]
