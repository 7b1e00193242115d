"""tensorcore.train: one training loop (``Trainer``) with Keras-style callbacks and metrics;
the Keras face and PyTorch-style scripts both drive it."""
from . import metrics  # noqa: F401
from .callbacks import (Callback, CallbackList, CSVLogger, EarlyStopping, History,  # noqa: F401
                        ModelCheckpoint, TerminateOnNaN)
from .loop import Trainer  # noqa: F401
from .metrics import resolve_metric  # noqa: F401
from .progress import ProgressBar  # noqa: F401
