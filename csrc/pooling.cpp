#include "pooling.h"

#include <pybind11/stl.h>

#include <climits>
#include <stdexcept>
#include <string>

#include "array_checks.h"
#include "cached_array.h"
#include "isa.h"
#include "pool_kernels.h"
#include "threads.h"

namespace py = pybind11;

namespace {

using tensorcore::Pair;

std::string pair_string(Pair p) {
    return "(" + std::to_string(p[0]) + ", " + std::to_string(p[1]) + ")";
}

// Windows along one axis, as kernels.windows.output_size (PyTorch's rule).
ptrdiff_t output_size(ptrdiff_t size, ptrdiff_t kernel, ptrdiff_t stride, ptrdiff_t pad,
                      ptrdiff_t dilation, bool ceil_mode) {
    const ptrdiff_t span = size + 2 * pad - dilation * (kernel - 1) - 1;
    // rounded down, as Python's //: with ceil_mode a span of -1 still fits one window
    const ptrdiff_t room = span + (ceil_mode ? stride - 1 : 0);
    ptrdiff_t count = (room >= 0 ? room / stride : -((stride - 1 - room) / stride)) + 1;
    if (ceil_mode && (count - 1) * stride >= size + pad) --count;
    return count;
}

// Parameters up to this bound keep dilation * (kernel - 1) and every index in range.
constexpr ptrdiff_t parameter_limit = ptrdiff_t(1) << 30;

// As PyTorch: an empty batch is fine, an empty image is not (its windows would cover padding
// alone, giving -inf or 0 / 0).
void require_image_sizes(const char* op, const std::array<ptrdiff_t, 4>& x_shape) {
    for (ptrdiff_t size : x_shape) {
        if (size < 0) throw std::invalid_argument(std::string(op) + ": negative size in x_shape");
    }
    if (x_shape[1] == 0 || x_shape[2] == 0 || x_shape[3] == 0) {
        throw std::invalid_argument(std::string(op) + ": expected x with non-zero C, H and W, "
                                    "got x of shape " +
                                    shape_string({x_shape.begin(), x_shape.end()}));
    }
}

PoolGeometry geometry(const char* op, std::array<ptrdiff_t, 4> x_shape, Pair kernel, Pair stride,
                      Pair padding, Pair dilation, bool ceil_mode) {
    auto within = [](Pair p, ptrdiff_t low) {
        return p[0] >= low && p[1] >= low && p[0] <= parameter_limit && p[1] <= parameter_limit;
    };
    // padding at most half the kernel (PyTorch's rule): no window lies wholly in the padding
    const bool valid = within(kernel, 1) && within(stride, 1) && within(dilation, 1) &&
                       within(padding, 0) && padding[0] <= kernel[0] / 2 &&
                       padding[1] <= kernel[1] / 2;
    require_image_sizes(op, x_shape);
    if (!valid) {
        throw std::invalid_argument(
            std::string(op) + ": expected kernel, stride and dilation from 1 to 2^30 and padding "
            "from 0 to half the kernel, got kernel " + pair_string(kernel) + ", stride " +
            pair_string(stride) + ", padding " + pair_string(padding) + ", dilation " +
            pair_string(dilation));
    }
    PoolGeometry g;
    g.N = x_shape[0], g.C = x_shape[1], g.H = x_shape[2], g.W = x_shape[3];
    g.kh = kernel[0], g.kw = kernel[1], g.sh = stride[0], g.sw = stride[1];
    g.ph = padding[0], g.pw = padding[1], g.dh = dilation[0], g.dw = dilation[1];
    require_allocatable(op, "x", {g.N, g.C, g.H, g.W});   // before H + 2 * padding
    g.OH = output_size(g.H, g.kh, g.sh, g.ph, g.dh, ceil_mode);
    g.OW = output_size(g.W, g.kw, g.sw, g.pw, g.dw, ceil_mode);
    require_allocatable(op, "output", {g.N, g.C, g.OH, g.OW});
    if (g.OH < 1 || g.OW < 1) {
        throw std::invalid_argument(std::string(op) + ": the windows do not fit the input: "
                                    "output size " + pair_string({g.OH, g.OW}) + " for input " +
                                    pair_string({g.H, g.W}));
    }
    return g;
}

void require_4d(const char* op, const char* name, const py::array& a) {
    if (a.ndim() != 4) {
        throw std::invalid_argument(std::string(op) + ": expected " + name +
                                    " of shape (N, C, H, W), got " + shape_string(a));
    }
}

std::array<ptrdiff_t, 4> shape4(const py::array& a) {
    return {a.shape(0), a.shape(1), a.shape(2), a.shape(3)};
}

Strides4 strides4(const char* op, const char* name, const py::array& a) {
    const std::vector<ptrdiff_t> s = element_strides(op, name, a);
    return {s[0], s[1], s[2], s[3]};
}

// C stride 1 with more than one channel: an NHWC buffer seen as (N, C, H, W). A C-contiguous
// array (whose C stride is 1 too when H = W = 1) stays planar.
bool channels_last(const py::array& a, const Strides4& s) {
    return s.c == 1 && a.shape(1) > 1 && !(a.flags() & py::array::c_style);
}

// A new (N, C, H, W) array, C-contiguous or with NHWC memory.
template <typename T>
py::array_t<T> new_array(ptrdiff_t N, ptrdiff_t C, ptrdiff_t H, ptrdiff_t W, bool nhwc) {
    if (!nhwc) return cached_array<T>({N, C, H, W});
    const ptrdiff_t e = sizeof(T);
    return cached_array<T>({N, C, H, W}, {H * W * C * e, e, W * C * e, C * e});
}

template <typename T>
py::tuple max_forward_typed(const py::array& x, const PoolGeometry& g) {
    const Strides4 xs = strides4("max_pool2d", "x", x);
    // float lanes hold indices as int32: planes past 2^31 elements go the planar way
    const bool nhwc = channels_last(x, xs) && (sizeof(T) == 8 || g.H * g.W <= INT_MAX);
    py::array_t<T> y = new_array<T>(g.N, g.C, g.OH, g.OW, nhwc);
    py::array_t<int64_t> indices = new_array<int64_t>(g.N, g.C, g.OH, g.OW, nhwc);
    const Strides4 ys = strides4("max_pool2d", "y", y);
    const Isa isa = active_isa();
    const int threads = num_threads();
    {
        py::gil_scoped_release release;
        TC_ISA_CALL(isa, max_pool_forward(g, data_of<T>(x), xs,
                                          y.mutable_data(), indices.mutable_data(), ys, nhwc,
                                          threads));
    }
    return py::make_tuple(y, indices);
}

template <typename T>
py::array max_backward_typed(const py::array& grad, const py::array& indices,
                             const PoolGeometry& g) {
    const char* op = "max_pool2d_backward";
    const Strides4 gs = strides4(op, "grad", grad), is = strides4(op, "indices", indices);
    const bool nhwc = channels_last(grad, gs) && channels_last(indices, is);
    py::array_t<T> dx = new_array<T>(g.N, g.C, g.H, g.W, nhwc);
    const Strides4 ds = strides4(op, "dx", dx);
    const Isa isa = active_isa();
    const int threads = num_threads();
    bool in_range;
    {
        py::gil_scoped_release release;
        in_range = TC_ISA_CALL(isa, max_pool_backward(g, data_of<T>(grad), gs,
                                                      data_of<int64_t>(indices),
                                                      is, dx.mutable_data(), ds, nhwc, threads));
    }
    if (!in_range) {
        throw std::invalid_argument(std::string(op) + ": indices must lie in [-1, H*W) = [-1, " +
                                    std::to_string(g.H * g.W) + ")");
    }
    return dx;
}

template <typename T>
py::array avg_forward_typed(const py::array& x, const PoolGeometry& g, AvgDivisor divisor) {
    const Strides4 xs = strides4("avg_pool2d", "x", x);
    const bool nhwc = channels_last(x, xs);
    py::array_t<T> y = new_array<T>(g.N, g.C, g.OH, g.OW, nhwc);
    const Strides4 ys = strides4("avg_pool2d", "y", y);
    const Isa isa = active_isa();
    const int threads = num_threads();
    {
        py::gil_scoped_release release;
        TC_ISA_CALL(isa, avg_pool_forward(g, divisor, data_of<T>(x), xs,
                                          y.mutable_data(), ys, nhwc, threads));
    }
    return y;
}

template <typename T>
py::array avg_backward_typed(const py::array& grad, const PoolGeometry& g, AvgDivisor divisor) {
    const Strides4 gs = strides4("avg_pool2d_backward", "grad", grad);
    const bool nhwc = channels_last(grad, gs);
    py::array_t<T> dx = new_array<T>(g.N, g.C, g.H, g.W, nhwc);
    const Strides4 ds = strides4("avg_pool2d_backward", "dx", dx);
    const Isa isa = active_isa();
    const int threads = num_threads();
    {
        py::gil_scoped_release release;
        TC_ISA_CALL(isa, avg_pool_backward(g, divisor, data_of<T>(grad), gs,
                                           dx.mutable_data(), ds, nhwc, threads));
    }
    return dx;
}

AvgDivisor avg_divisor(const char* op, bool count_include_pad,
                       std::optional<ptrdiff_t> divisor_override) {
    if (divisor_override && *divisor_override == 0) {
        throw std::invalid_argument(std::string(op) +
                                    ": expected a non-zero divisor_override, got 0");
    }
    return {count_include_pad, divisor_override.value_or(0)};
}

void require_grad_shape(const char* op, const py::array& grad, const PoolGeometry& g) {
    if (shape4(grad) != std::array<ptrdiff_t, 4>{g.N, g.C, g.OH, g.OW}) {
        throw std::invalid_argument(std::string(op) + ": expected grad of shape (" +
                                    std::to_string(g.N) + ", " + std::to_string(g.C) + ", " +
                                    std::to_string(g.OH) + ", " + std::to_string(g.OW) +
                                    "), got " + shape_string(grad));
    }
}

}  // namespace

namespace tensorcore {

py::tuple max_pool2d(const py::array& x, Pair kernel, Pair stride, Pair padding, Pair dilation,
                     bool ceil_mode) {
    const FloatType type = float_type("max_pool2d", "x", x);
    require_4d("max_pool2d", "x", x);
    const PoolGeometry g = geometry("max_pool2d", shape4(x), kernel, stride, padding, dilation,
                                    ceil_mode);
    return type == FloatType::float32 ? max_forward_typed<float>(x, g)
                                      : max_forward_typed<double>(x, g);
}

py::array max_pool2d_backward(const py::array& grad, const py::array& indices,
                              std::array<ptrdiff_t, 4> x_shape) {
    const char* op = "max_pool2d_backward";
    const FloatType type = float_type(op, "grad", grad);
    require_int64(op, "indices", indices);
    require_4d(op, "grad", grad);
    require_4d(op, "indices", indices);
    if (shape4(grad) != shape4(indices) || grad.shape(0) != x_shape[0] ||
        grad.shape(1) != x_shape[1]) {
        throw std::invalid_argument(std::string(op) + ": expected grad and indices of one shape "
                                    "(N, C, OH, OW) for x (N, C, H, W), got " +
                                    shape_string(grad) + " and " + shape_string(indices) +
                                    " for x_shape (" + std::to_string(x_shape[0]) + ", " +
                                    std::to_string(x_shape[1]) + ", " +
                                    std::to_string(x_shape[2]) + ", " +
                                    std::to_string(x_shape[3]) + ")");
    }
    require_image_sizes(op, x_shape);
    require_allocatable(op, "x", {x_shape.begin(), x_shape.end()});
    PoolGeometry g{};
    g.N = x_shape[0], g.C = x_shape[1], g.H = x_shape[2], g.W = x_shape[3];
    g.OH = grad.shape(2), g.OW = grad.shape(3);
    return type == FloatType::float32 ? max_backward_typed<float>(grad, indices, g)
                                      : max_backward_typed<double>(grad, indices, g);
}

py::array avg_pool2d(const py::array& x, Pair kernel, Pair stride, Pair padding, bool ceil_mode,
                     bool count_include_pad, std::optional<ptrdiff_t> divisor_override) {
    const FloatType type = float_type("avg_pool2d", "x", x);
    require_4d("avg_pool2d", "x", x);
    const PoolGeometry g = geometry("avg_pool2d", shape4(x), kernel, stride, padding, {1, 1},
                                    ceil_mode);
    const AvgDivisor divisor = avg_divisor("avg_pool2d", count_include_pad, divisor_override);
    return type == FloatType::float32 ? avg_forward_typed<float>(x, g, divisor)
                                      : avg_forward_typed<double>(x, g, divisor);
}

py::array avg_pool2d_backward(const py::array& grad, std::array<ptrdiff_t, 4> x_shape,
                              Pair kernel, Pair stride, Pair padding, bool ceil_mode,
                              bool count_include_pad, std::optional<ptrdiff_t> divisor_override) {
    const char* op = "avg_pool2d_backward";
    const FloatType type = float_type(op, "grad", grad);
    require_4d(op, "grad", grad);
    const PoolGeometry g = geometry(op, x_shape, kernel, stride, padding, {1, 1}, ceil_mode);
    require_grad_shape(op, grad, g);
    const AvgDivisor divisor = avg_divisor(op, count_include_pad, divisor_override);
    return type == FloatType::float32 ? avg_backward_typed<float>(grad, g, divisor)
                                      : avg_backward_typed<double>(grad, g, divisor);
}

}  // namespace tensorcore
