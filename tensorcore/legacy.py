"""PyTorch's legacy tensor-type constructors, which the classic programs still use:
``Tensor = torch.cuda.FloatTensor if cuda else torch.FloatTensor``, ``Tensor(batch, 1).fill_(1.0)``,
``imgs.type(Tensor)``. tc.FloatTensor and friends are the cpu ones, tc.cuda's the GPU ones."""
from . import dtypes
from .creation import empty
from .tensor import tensor


class TensorType:
    """``FloatTensor(2, 3)``: an uninitialised tensor of that shape; ``FloatTensor(data)``:
    data as a tensor of this type."""

    def __init__(self, name, dtype, device):
        self.name, self.dtype, self.device = name, dtypes.resolve(dtype), device

    def __call__(self, *args):
        if len(args) == 1 and not isinstance(args[0], int):
            return tensor(args[0], dtype=self.dtype, device=self.device)
        return empty(*args, dtype=self.dtype, device=self.device)

    def __repr__(self):
        return f"<tensor type {self.name}: {self.dtype} on {self.device}>"


def tensor_types(device, prefix):
    """(FloatTensor, DoubleTensor, HalfTensor, LongTensor, IntTensor, ByteTensor, BoolTensor)
    for one device."""
    kinds = (("FloatTensor", "float32"), ("DoubleTensor", "float64"), ("HalfTensor", "float16"),
             ("LongTensor", "int64"), ("IntTensor", "int32"), ("ByteTensor", "uint8"),
             ("BoolTensor", "bool"))
    return tuple(TensorType(prefix + name, dtype, device) for name, dtype in kinds)


(FloatTensor, DoubleTensor, HalfTensor, LongTensor, IntTensor, ByteTensor,
 BoolTensor) = tensor_types("cpu", "tc.")
