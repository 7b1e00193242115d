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

define("conv2d_max_pool2d", """conv2d_max_pool2d(x, weight, bias, stride, padding, dilation, groups)
    -> (y (N, O, OH // 2, OW // 2), taps (the same shape) uint8): max_pool2d(conv2d(...),
    kernel 2, stride 2), the same values, where a kernel can pool as it convolves and so never
    make the conv's output; taps say where in its window each maximum lies, 2 * row + column
    (max_pool2d's indices as kernels.windows.window_taps, a byte each instead of eight).""")
define("conv2d_max_pool2d_backward_weight", """conv2d_max_pool2d_backward_weight(grad (N, O, OH // 2,
    OW // 2), taps, x, weight_shape, stride, padding, dilation, groups) -> (dweight, dbias):
    conv2d_backward_weight of max_pool2d_backward(grad, window_indices(taps), (N, O, OH, OW)),
    conv2d_max_pool2d's backward for its weight and bias, where a kernel can take it from the
    pooled gradient and so never make the conv's; a tap past 3 is a ValueError.""")
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

define("bias_act", """bias_act(x (..., F), bias (F,), activation) -> y = act(x + bias)
    activation is 'none', 'relu', 'sigmoid' or 'tanh' (those whose derivative follows from y)""")
define("bias_act_backward", """bias_act_backward(grad (..., F), y, activation) -> (dx (..., F), dbias (F,))""")

define("lstm_sequence", """lstm_sequence(x (T, B, I), h0 (B, H), c0 (B, H), w_ih (4H, I), w_hh (4H, H),
    b_ih (4H,) or None, b_hh (4H,) or None) -> (out (T, B, H), c_all (T, B, H), gates (T, B, 4H))
    T lstm_cell steps: out[t] = h_t, c_all[t] = c_t, gates[t] the activated i, f, g, o gates.""")
define("lstm_sequence_backward", """lstm_sequence_backward(dout (T, B, H), dh_n (B, H), dc_n (B, H),
    x, h0, c0, w_ih, w_hh, out, c_all, gates) -> (dx (T, B, I), dh0, dc0, dw_ih, dw_hh, dbias (4H,))
    dout is the gradient of every out[t]; dh_n, dc_n those of the final state.""")

define("sgd_step", """sgd_step(param, grad, velocity or None, lr, momentum, nesterov, weight_decay) -> None
    In place, as torch.optim.SGD (dampening 0): g = grad + weight_decay * param;
    velocity = momentum * velocity + g (velocity starts at zeros; None when momentum == 0);
    g = g + momentum * velocity if nesterov else velocity; param -= lr * g.""")
define("adam_step", """adam_step(param, grad, exp_avg, exp_avg_sq, step, lr, beta1, beta2, eps,
    weight_decay, decoupled) -> None
    In place, as torch.optim.Adam (decoupled=False: g = grad + weight_decay * param) or AdamW
    (decoupled=True: param *= 1 - lr * weight_decay); step >= 1 counts this update:
    m = beta1 m + (1 - beta1) g; v = beta2 v + (1 - beta2) g^2;
    param -= lr / (1 - beta1^step) * m / (sqrt(v) / sqrt(1 - beta2^step) + eps).""")
define("rmsprop_step", """rmsprop_step(param, grad, square_avg, momentum_buffer or None, grad_avg or None,
    lr, alpha, eps, weight_decay, momentum) -> None
    In place, as torch.optim.RMSprop (centered when grad_avg is given): g = grad + weight_decay * param;
    square_avg = alpha square_avg + (1 - alpha) g^2; grad_avg = alpha grad_avg + (1 - alpha) g;
    avg = sqrt(square_avg - grad_avg^2 if centered else square_avg) + eps (inf where square_avg
    overflowed to inf); with momentum: buf = momentum buf + g / avg, param -= lr buf; else param -= lr g / avg.""")
