"""Every kernel op and its contract: the arguments each variant takes and what it returns.

Arrays are NumPy (cpu) or CuPy (cuda), all of one dtype unless noted; a variant may decline
arguments it does not handle by raising NotImplementedError. Shapes: N batch, C channels,
H/W height/width, O output channels, B batch, I input size, H hidden size (LSTM).
"""
from .registry import define

define("matmul", """matmul(a (..., M, K), b (..., K, N)) -> (..., M, N)
    Batch dimensions broadcast; a and b share a dtype; either may be a transposed view.""")

for name in ("relu", "sigmoid", "tanh"):
    define(name, f"{name}(x) -> y, elementwise")
    define(f"{name}_backward", f"{name}_backward(grad, x, y) -> dx, where y = {name}(x)")
define("leaky_relu", "leaky_relu(x, negative_slope) -> y")
define("leaky_relu_backward", "leaky_relu_backward(grad, x, y, negative_slope) -> dx")
define("gelu", "gelu(x, approximate) -> y; approximate is 'none' (erf) or 'tanh'")
define("gelu_backward", "gelu_backward(grad, x, y, approximate) -> dx")

for name in ("softmax", "log_softmax"):
    define(name, f"{name}(x, axis) -> y, along one axis")
    define(f"{name}_backward", f"{name}_backward(grad, y, axis) -> dx, where y = {name}(x, axis)")
define("cross_entropy", """cross_entropy(logits (N, C), target (N,) int64) -> (loss (N,), log_probs (N, C))
    Fused log_softmax and negative log-likelihood; targets are valid class indices.""")
define("cross_entropy_backward", """cross_entropy_backward(grad (N,), log_probs (N, C), target (N,)) -> dlogits (N, C)""")
define("nll_loss", "nll_loss(log_probs (N, C), target (N,) int64) -> loss (N,) = -log_probs[n, target[n]]")
define("nll_loss_backward", "nll_loss_backward(grad (N,), log_probs (N, C), target (N,)) -> dlog_probs (N, C)")

define("conv2d", """conv2d(x (N, C, H, W), weight (O, C/groups, kh, kw), bias (O,) or None,
    stride (sh, sw), padding (top, bottom, left, right), dilation (dh, dw), groups) -> (N, O, OH, OW)""")
define("conv2d_backward_input", """conv2d_backward_input(grad (N, O, OH, OW), weight, x_shape,
    stride, padding, dilation, groups) -> dx (N, C, H, W)""")
define("conv2d_backward_weight", """conv2d_backward_weight(grad (N, O, OH, OW), x, weight_shape,
    stride, padding, dilation, groups) -> (dweight (O, C/groups, kh, kw), dbias (O,))""")

define("max_pool2d", """max_pool2d(x (N, C, H, W), kernel (kh, kw), stride (sh, sw), padding (ph, pw),
    dilation (dh, dw), ceil_mode) -> (y (N, C, OH, OW), indices (N, C, OH, OW) int64)
    indices are flat positions in the unpadded H*W plane, as PyTorch's return_indices: the
    first maximum in row-major window order (NaN counts as the maximum); a window of -inf
    points at its first element inside x; a window holding no element of x (dilation stepping
    over a small input) gives -inf and index -1. OH, OW from kernels.windows.output_size.""")
define("max_pool2d_backward", """max_pool2d_backward(grad (N, C, OH, OW), indices, x_shape) -> dx
    Sums each grad into dx at its index (overlapping windows add up); index -1 adds nowhere.""")
define("avg_pool2d", """avg_pool2d(x (N, C, H, W), kernel, stride, padding, ceil_mode,
    count_include_pad, divisor_override) -> y (N, C, OH, OW)""")
define("avg_pool2d_backward", """avg_pool2d_backward(grad (N, C, OH, OW), x_shape, kernel, stride,
    padding, ceil_mode, count_include_pad, divisor_override) -> dx""")

define("lstm_cell", """lstm_cell(x (B, I), h (B, H), c (B, H), w_ih (4H, I), w_hh (4H, H),
    b_ih (4H,) or None, b_hh (4H,) or None) -> (h_new (B, H), c_new (B, H), gates (B, 4H))
    gates holds the activated i, f, g, o gates (PyTorch's order) for the backward pass.""")
define("lstm_cell_backward", """lstm_cell_backward(dh (B, H), dc (B, H), x, h, c, w_ih, w_hh,
    gates, c_new) -> (dx, dh_prev, dc_prev, dw_ih, dw_hh, dbias (4H,))""")

define("dropout", """dropout(x, p, generator) -> (y, mask); mask holds 0 or 1/(1-p) per element
    (x.dtype), all 0 for p == 1; generator is rng.generator(device of x)""",
       validate=False)

define("mse_loss", "mse_loss(input, target) -> elementwise (input - target)^2")
define("mse_loss_backward", "mse_loss_backward(grad, input, target) -> (dinput, dtarget)")
define("binary_cross_entropy", """binary_cross_entropy(input, target) -> elementwise
    -(t log p + (1 - t) log(1 - p)), logs clamped at -100 as PyTorch""")
define("binary_cross_entropy_backward", "binary_cross_entropy_backward(grad, input, target) -> (dinput, dtarget)")
define("binary_cross_entropy_with_logits", """binary_cross_entropy_with_logits(logits, target,
    pos_weight or None) -> elementwise -(pos_weight t log s(z) + (1 - t) log(1 - s(z)))""")
define("binary_cross_entropy_with_logits_backward", """binary_cross_entropy_with_logits_backward(grad,
    logits, target, pos_weight or None) -> (dlogits, dtarget, dpos_weight or None), elementwise""")
