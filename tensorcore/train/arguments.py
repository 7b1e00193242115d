"""Argument checks with Keras-quality messages, for tensorcore.train and the Keras face."""
import inspect


def reject_unknown(where, kwargs, fn=None):
    """TypeError listing every keyword in ``kwargs`` that ``where`` does not take (as Keras
    names them all) and, given ``fn`` (whose ``**kwargs`` they are), the arguments it accepts."""
    if kwargs:
        message = f"{where}: unrecognized keyword arguments: {sorted(kwargs)}"
        if fn is not None:
            accepted = [name for name, p in inspect.signature(fn).parameters.items()
                        if name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]
            message += f"; accepted: {', '.join(accepted)}"
        raise TypeError(message)


def positive_int(where, name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{where}: {name} must be a positive integer, got {value!r}")
    return value
