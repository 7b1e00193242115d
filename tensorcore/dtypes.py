"""dtypes are NumPy dtypes; this module names them and resolves user spellings."""
import numpy as np

float16 = np.dtype(np.float16)
float32 = np.dtype(np.float32)
float64 = np.dtype(np.float64)
int8 = np.dtype(np.int8)
int16 = np.dtype(np.int16)
int32 = np.dtype(np.int32)
int64 = np.dtype(np.int64)
uint8 = np.dtype(np.uint8)
bool_ = np.dtype(np.bool_)

default_float = float32

# PyTorch's names and aliases, also accepted as strings ("float32", "torch.float32").
NAMES = {
    "float16": float16, "half": float16, "float32": float32, "float": float32,
    "float64": float64, "double": float64, "int8": int8, "int16": int16, "short": int16,
    "int32": int32, "int": int32, "int64": int64, "long": int64, "uint8": uint8,
    "bool": bool_,
}


def resolve(dtype, op="tensor"):
    """The numpy dtype for ``dtype``: a numpy dtype or scalar type, a Python type, or a name
    such as "float32"; anything else raises TypeError naming ``op``."""
    if isinstance(dtype, np.dtype):
        return dtype
    if isinstance(dtype, str):
        name = dtype.removeprefix("torch.")
        if name in NAMES:
            return NAMES[name]
        raise TypeError(f"{op}: unknown dtype {dtype!r}; expected one of {sorted(NAMES)}")
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        resolved = None
    if resolved is None or resolved.kind not in "biuf":
        raise TypeError(f"{op}: unknown dtype {dtype!r}; expected a numpy dtype or one of "
                        f"{sorted(NAMES)}")
    return resolved
