"""Sequential and ModuleList."""
import operator
from collections import OrderedDict

from .activation import ReLU
from .module import Module
from .pooling import MaxPool2d


class _Indexed(Module):
    """Children named "0", "1", ... addressed by position (negative positions count back)."""

    def _position(self, index):
        try:
            index = operator.index(index)
        except TypeError:
            raise TypeError(f"{type(self).__name__} indices must be integers or slices, got "
                            f"{type(index).__name__}") from None
        size = len(self._modules)
        if not -size <= index < size:
            raise IndexError(f"{type(self).__name__}: index {index} is out of range for "
                             f"{size} modules")
        return index % size

    def _items(self):
        return list(self._modules.values())

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._items())

    def __getitem__(self, index):
        if isinstance(index, slice):
            return type(self)(*self._items()[index]) if isinstance(self, Sequential) \
                else type(self)(self._items()[index])
        return self._items()[self._position(index)]

    def __setitem__(self, index, module):
        name = list(self._modules)[self._position(index)]
        self.add_module(name, module)

    def __delitem__(self, index):
        items = self._items()
        del items[self._position(index) if not isinstance(index, slice) else index]
        self._modules.clear()
        for i, module in enumerate(items):
            self.add_module(str(i), module)

    def append(self, module):
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules):
        for module in modules:
            self.append(module)
        return self

    def insert(self, index, module):
        items = self._items()
        items.insert(index, module)
        self._modules.clear()
        for i, m in enumerate(items):
            self.add_module(str(i), m)


class Sequential(_Indexed):
    """``Sequential(m1, m2, ...)`` or ``Sequential(OrderedDict(name=module))``: forward runs
    the modules in order, each on the previous one's output (a ReLU then a max pool as the
    pool then the ReLU, which gives the same results faster: ``_pools_after_relu``)."""

    def __init__(self, *modules):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            for name, module in modules[0].items():
                self.add_module(name, module)
        else:
            for i, module in enumerate(modules):
                self.add_module(str(i), module)

    def forward(self, x):
        modules = list(self._modules.values())
        i = 0
        while i < len(modules):
            if i + 1 < len(modules) and _pools_after_relu(modules[i], modules[i + 1]):
                x = modules[i](modules[i + 1](x))
                i += 2
            else:
                x = modules[i](x)
                i += 1
        return x


def _pools_after_relu(module, following):
    """Whether ReLU then MaxPool2d may run as the pool then the ReLU. The two agree exactly,
    gradients included: a window's maximum is positive in both or ReLU zeroes it in both, and
    ties among positive values pick the same element. In that order the ReLU forward and
    backward passes touch a quarter of the memory (2x2 pooling), which is most of their cost
    in a CNN's first layers. Not for an in-place ReLU, whose write into its input is seen."""
    return (type(module) is ReLU and not module.inplace and type(following) is MaxPool2d
            and not following.return_indices)


class ModuleList(_Indexed):
    """A list of modules whose parameters the owner registers; it has no forward."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __iadd__(self, modules):
        return self.extend(modules)
