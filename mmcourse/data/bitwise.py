r"""Bitwise interactions as exact discrete joint distributions :math:`p(x_1, x_2, y)`.

These are the textbook cases of partial information decomposition: two bits :math:`x_1, x_2` and a label
:math:`y`. Their exact redundancy, uniqueness and synergy are known (for example XOR: 1 bit of synergy and nothing
else; AND: 0.311 bits of redundancy and 0.5 of synergy), which makes them the unit tests of any PID estimator.
"""
from __future__ import annotations

import numpy as np

from mmcourse.data._common import check_name

__all__ = ["BITWISE", "bitwise_distribution"]

BITWISE = ("and", "or", "xor", "copy", "unique1", "unique2", "redundant", "sum")

# y as a function of the two bits, and the number of values y takes.
_RULES = {
    "and": (lambda x1, x2: x1 & x2, 2),
    "or": (lambda x1, x2: x1 | x2, 2),
    "xor": (lambda x1, x2: x1 ^ x2, 2),
    "copy": (lambda x1, x2: 2 * x1 + x2, 4),
    "unique1": (lambda x1, x2: x1, 2),
    "unique2": (lambda x1, x2: x2, 2),
    "sum": (lambda x1, x2: x1 + x2, 3),
}


def bitwise_distribution(name: str) -> np.ndarray:
    """The exact joint distribution ``p[x1, x2, y]`` of a bitwise interaction.

    Parameters
    ----------
    name : str
        One of :data:`BITWISE`. For all but ``"redundant"``, ``x1`` and ``x2`` are independent uniform bits and
        ``y`` is ``x1 AND x2`` (``"and"``), ``x1 OR x2`` (``"or"``), ``x1 XOR x2`` (``"xor"``), the pair
        ``2 * x1 + x2`` (``"copy"``, 4 values), ``x1`` (``"unique1"``), ``x2`` (``"unique2"``) or ``x1 + x2``
        (``"sum"``, 3 values). For ``"redundant"``, ``x1 = x2 = y`` is one uniform bit.

    Returns
    -------
    np.ndarray
        float64 array of shape ``(2, 2, k)``, ``k`` the number of values of ``y``; non-negative, sums to 1.

    Examples
    --------
    >>> bitwise_distribution("xor")[:, :, 1]
    array([[0.  , 0.25],
           [0.25, 0.  ]])
    """
    check_name(name, BITWISE, "bitwise_distribution")
    if name == "redundant":
        p = np.zeros((2, 2, 2))
        p[0, 0, 0] = p[1, 1, 1] = 0.5
        return p
    rule, n_values = _RULES[name]
    p = np.zeros((2, 2, n_values))
    for x1 in (0, 1):
        for x2 in (0, 1):
            p[x1, x2, rule(x1, x2)] = 0.25
    return p
