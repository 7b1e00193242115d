"""The C++ extension, tensorcore._C, for the modules that use it."""
import importlib.util


def load_extension():
    """tensorcore._C, or None where it was not built (the reference kernels then serve every
    op). Built but failing to load (a warning turned error at its import, a broken build) is
    an error, not a silent fall back."""
    try:
        from . import _C
    except ImportError:
        if importlib.util.find_spec("tensorcore._C") is not None:
            raise
        return None
    return _C
