"""A stand-in for torch in tests (torch itself is gigabytes and stays out of CI): just
what ioukit checks of a tensor, and a fixture that installs a fake ``torch`` module."""

import numpy as np
import pytest


class FakeTensor:
    """What ioukit checks of a torch tensor: the module, detach(), requires_grad, numpy()."""

    __module__ = "torch"

    def __init__(self, data, requires_grad=False):
        self.data = np.asarray(data)
        self.requires_grad = requires_grad
        self.dtype = f"torch.{self.data.dtype}"
        self.shape = self.data.shape

    def detach(self):
        return FakeTensor(self.data)

    def resolve_conj(self):
        return self

    def resolve_neg(self):
        return self

    def numpy(self):
        return self.data


@pytest.fixture
def fake_torch(monkeypatch):
    import sys
    import types

    module = types.ModuleType("torch")
    module.Tensor = FakeTensor
    module.from_numpy = FakeTensor
    monkeypatch.setitem(sys.modules, "torch", module)
    return module
