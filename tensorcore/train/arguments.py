"""Argument checks with Keras-quality messages."""
import inspect


def reject_unknown(where, kwargs, fn):
    """Raise TypeError naming every keyword in ``kwargs`` (the ``**kwargs`` of ``fn``) and
    the arguments ``fn`` accepts."""
    if kwargs:
        accepted = [name for name, p in inspect.signature(fn).parameters.items()
                    if name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]
        raise TypeError(f"{where}: unknown keyword argument(s) "
                        f"{', '.join(repr(k) for k in kwargs)}; accepted: {', '.join(accepted)}")


def positive_int(where, name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{where}: {name} must be a positive integer, got {value!r}")
    return value
