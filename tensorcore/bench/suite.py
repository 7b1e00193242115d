"""Which cases each device runs, in order."""
from . import cases, models


def cpu_cases():
    s = cases.shapes()
    found = [cases.sgemm(n, n, n) for n in s["sgemm_square"]]
    found += [cases.sgemm(m, k, n) for m, k, n in s["sgemm_dl"]]
    for backward in (False, True):
        found += [cases.conv2d(x, out, pad, backward) for x, out, pad in s["conv2d"]]
    found += [cases.lstm_cell(*shape) for shape in s["lstm_cell"]]
    found += [models.lstm(), models.cnn_step()]
    return found


def select(found, op=None, quick=False):
    """The cases that run ``op`` (a kernel op or a group name), or the --quick few."""
    if op is not None:
        found = [c for c in found if op == c.group or op in c.ops]
    if quick:
        wanted = [c for c in found if c.name in cases.QUICK]
        found = wanted or found[:4]     # tiny shapes have other names: their first few
    return found
