"""lstm_cell, lstm_sequence and their backward passes as "cpu.cpp" (csrc/lstm.cpp): the gate
GEMMs and one fused pointwise pass per step in C++, a whole sequence in one call."""

from ...kernels.registry import register
from .common import PRIORITY, _C, available, contiguous, require_float


def _contiguous(*arrays):
    """The operands (None kept: an absent bias) as C-contiguous aligned arrays of one float
    dtype; shapes are checked in C++."""
    require_float(*(a for a in arrays if a is not None))
    return [None if a is None else contiguous(a) for a in arrays]


def _register(op):
    kernel = getattr(_C, op, None)

    def run(*args):
        return kernel(*_contiguous(*args))
    run.__name__ = op
    register(op, "cpu.cpp", priority=PRIORITY, available=available)(run)


for _op in ("lstm_cell", "lstm_cell_backward", "lstm_sequence", "lstm_sequence_backward"):
    _register(_op)
