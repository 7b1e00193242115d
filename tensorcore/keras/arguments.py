"""Keras-quality argument errors, shared by every part of the Keras face."""


def reject_unknown(where, kwargs):
    """TypeError listing every keyword ``where`` does not take (Keras names them all)."""
    if kwargs:
        raise TypeError(f"{where}: unrecognized keyword arguments: {sorted(kwargs)}")


def lookup(kind, table, identifier):
    """table[identifier] for a string identifier; ValueError naming the known ones."""
    try:
        return table[identifier]
    except (KeyError, TypeError):
        raise ValueError(f"Unknown {kind}: {identifier!r}. Known {kind}s: "
                         f"{sorted(table)}") from None
