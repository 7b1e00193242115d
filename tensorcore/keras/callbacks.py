"""keras.callbacks: the callbacks of tensorcore's training loop."""
from ..train.callbacks import (Callback, CSVLogger, EarlyStopping, History,  # noqa: F401
                               ModelCheckpoint, TerminateOnNaN)
