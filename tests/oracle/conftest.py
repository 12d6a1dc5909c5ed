"""Oracle tests compare dist_torch with PyTorch itself; they skip where torch is absent."""

import pytest

pytest.importorskip("torch")
