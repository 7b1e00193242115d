"""Sequential and ModuleList."""
import operator
from collections import OrderedDict

from .activation import ReLU
from .conv import Conv2d
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
        if isinstance(index, slice):     # a Sequential's slice keeps its children's names
            return type(self)(OrderedDict(list(self._modules.items())[index])) \
                if isinstance(self, Sequential) else type(self)(self._items()[index])
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
    the modules in order, each on the previous one's output (with some runs of modules as one
    faster equivalent, the same results: ``_run_from``)."""

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
            x, i = _run_from(modules, i, x)
        return x


def _run_from(modules, i, x):
    """modules[i] on x, or the modules from i as one faster equivalent: (the output, the next
    module's index). Conv2d then MaxPool2d(2) run as one op that pools as it convolves, a ReLU
    between them after both (as ``_pools_after_relu``); a ReLU then a max pool as the pool, then
    the ReLU."""
    module, following = modules[i], modules[i + 1:i + 3]
    if type(module) is Conv2d and following:
        if _max_pool_2x2(following[0]):
            return module.forward_max_pooled(x), i + 2
        if (len(following) == 2 and _pools_after_relu(*following)
                and _max_pool_2x2(following[1])):
            return following[0](module.forward_max_pooled(x)), i + 3
    if following and _pools_after_relu(module, following[0]):
        return module(following[0](x)), i + 2
    return module(x), i + 1


def _max_pool_2x2(module):
    """Whether module is MaxPool2d(2): 2x2 windows at stride 2, no padding or dilation."""
    def as_pair(value):
        return tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    return (type(module) is MaxPool2d and not module.return_indices and not module.ceil_mode
            and as_pair(module.kernel_size) == (2, 2) and as_pair(module.stride) == (2, 2)
            and as_pair(module.padding) == (0, 0) and as_pair(module.dilation) == (1, 1))


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
