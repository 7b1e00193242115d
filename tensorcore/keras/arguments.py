"""Keras-quality argument errors, shared by every part of the Keras face (reject_unknown is
tensorcore.train's)."""


def lookup(kind, table, identifier):
    """table[identifier] for a string identifier; ValueError naming the known ones."""
    try:
        return table[identifier]
    except (KeyError, TypeError):
        raise ValueError(f"Unknown {kind}: {identifier!r}. Known {kind}s: "
                         f"{sorted(table)}") from None
