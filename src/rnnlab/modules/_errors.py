"""Errors that teach: argument checks shared by the layers and the cells.

Messages start with torch.nn's own words (so a reader who searches the message finds PyTorch's
documentation, and code that matches torch's message matches ours) and then name the argument and
the shape it must have.
"""
from __future__ import annotations

import functools
import numbers

import torch

from rnnlab._args import check_int


class InputError(ValueError, RuntimeError):
    """A tensor of the wrong shape, dtype or device reached a recurrent module.

    It is a ``ValueError`` (this course's rule for bad input) and also the ``RuntimeError`` that
    ``torch.nn`` raises in the same situation, so code written for either one catches it.
    """


# torch.nn's rule for a size (a Python int of at least 1) in torch.nn's words, naming the argument
check_size = functools.partial(check_int, low=1, torch_words=True, numpy_ints=False)


def check_bool(name: str, value) -> None:
    if not isinstance(value, bool):
        raise TypeError(f"{name} should be of type bool, got: {type(value).__name__}")


def check_dropout(dropout) -> None:
    if (
        not isinstance(dropout, numbers.Number)
        or isinstance(dropout, bool)
        or not 0 <= dropout <= 1
    ):
        raise ValueError(
            "dropout should be a number in range [0, 1] representing the probability of an "
            f"element being zeroed, got dropout={dropout!r}"
        )


def check_tensor(name: str, value) -> None:
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(value).__name__}")


def check_like_weight(name: str, tensor: torch.Tensor, weight: torch.Tensor) -> None:
    """``tensor`` must have the parameters' dtype and device (the module decides both)."""
    if tensor.dtype != weight.dtype:
        if name == "input":  # torch.nn's message, word for word
            raise ValueError(
                f"RNN input dtype ({tensor.dtype}) does not match weight dtype ({weight.dtype}). "
                f"Convert input: input.to({weight.dtype}), or convert model: "
                f"model.to({tensor.dtype})"
            )
        raise ValueError(
            f"{name} dtype ({tensor.dtype}) does not match weight dtype ({weight.dtype}). "
            f"Convert it: {name}.to({weight.dtype})"
        )
    if tensor.device != weight.device:
        what = "Input" if name == "input" else name
        raise InputError(
            f"{what} and parameter tensors are not at the same device, found {name} tensor at "
            f"{tensor.device} and parameter tensor at {weight.device}"
        )
