"""keras.datasets: mnist.load_data() reading the real files (see tensorcore.data.datasets)."""
from . import mnist  # noqa: F401
