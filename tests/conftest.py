import numpy as np
import pytest

import tensorcore as tc


@pytest.fixture(autouse=True)
def _seeded():
    """Each test starts from the same random state."""
    tc.manual_seed(0)
    np.random.seed(0)
