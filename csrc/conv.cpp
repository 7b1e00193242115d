#include "conv.h"

#include <cstdint>
#include <stdexcept>
#include <string>

#include "array_checks.h"
#include "cached_array.h"
#include "conv_geometry.h"

namespace py = pybind11;

namespace {

// Sizes and geometry parameters up to this bound keep every index product in range.
constexpr ptrdiff_t size_limit = ptrdiff_t(1) << 30;

// invalid_argument "op: message()" unless condition; the message is built only on failure
// (building them on every call cost about 2 us of a call's fixed time: a forward and weight-
// gradient pair at one image took 18.7 us against 14.4, one thread)
template <class Message>
void require(bool condition, const char* op, const Message& message) {
    if (!condition) throw std::invalid_argument(std::string(op) + ": " + message());
}

// Checks the shapes and parameters of one convolution and derives its output size.
tensorcore::ConvGeometry geometry(const char* op, const std::vector<ptrdiff_t>& x_shape,
                                  const std::vector<ptrdiff_t>& weight_shape,
                                  std::array<ptrdiff_t, 2> stride,
                                  std::array<ptrdiff_t, 4> padding,
                                  std::array<ptrdiff_t, 2> dilation, ptrdiff_t groups) {
    const auto shapes = [&] {
        return "x " + shape_string(x_shape) + " and weight " + shape_string(weight_shape);
    };
    require(x_shape.size() == 4 && weight_shape.size() == 4, op, [&] {
        return "expected 4-D x (N, C, H, W) and weight (O, C/groups, kh, kw), got " + shapes();
    });
    for (ptrdiff_t d : x_shape)
        require(d >= 0 && d <= size_limit, op, [&] { return "x size out of range: " + shapes(); });
    for (ptrdiff_t d : weight_shape)
        require(d >= 1 && d <= size_limit, op,
                [&] { return "weight sizes must be positive: got " + shapes(); });
    for (int d = 1; d < 4; ++d)
        require(x_shape[d] >= 1, op,
                [&] { return "expected x with C, H, W >= 1, got " + shapes(); });
    for (ptrdiff_t s : stride)
        require(s >= 1 && s <= size_limit, op,
                [&] { return "expected stride >= 1, got " + std::to_string(s); });
    for (ptrdiff_t s : dilation)
        require(s >= 1 && s <= size_limit, op,
                [&] { return "expected dilation >= 1, got " + std::to_string(s); });
    for (ptrdiff_t p : padding)
        require(p >= 0 && p <= size_limit, op,
                [&] { return "expected padding >= 0, got " + std::to_string(p); });
    require(groups >= 1 && groups <= size_limit, op,
            [&] { return "expected groups >= 1, got " + std::to_string(groups); });

    tensorcore::ConvGeometry g;
    g.N = x_shape[0], g.C = x_shape[1], g.H = x_shape[2], g.W = x_shape[3];
    g.O = weight_shape[0], g.kh = weight_shape[2], g.kw = weight_shape[3];
    g.sh = stride[0], g.sw = stride[1];
    g.pad_top = padding[0], g.pad_bottom = padding[1];
    g.pad_left = padding[2], g.pad_right = padding[3];
    g.dh = dilation[0], g.dw = dilation[1];
    g.groups = groups;
    g.channels_last = false;
    require(g.C % groups == 0 && g.O % groups == 0 && weight_shape[1] * groups == g.C, op, [&] {
        return "expected weight (O, C/groups, kh, kw) with C and O divisible by groups=" +
               std::to_string(groups) + ", got " + shapes();
    });
    const ptrdiff_t extent_h = g.H + g.pad_top + g.pad_bottom - g.dh * (g.kh - 1) - 1;
    const ptrdiff_t extent_w = g.W + g.pad_left + g.pad_right - g.dw * (g.kw - 1) - 1;
    require(extent_h >= 0 && extent_w >= 0, op, [&] {
        return "the dilated kernel is larger than the padded input: " + shapes() + ", padding " +
               shape_string({padding.begin(), padding.end()}) + ", dilation " +
               shape_string({dilation.begin(), dilation.end()});
    });
    g.OH = extent_h / g.sh + 1;
    g.OW = extent_w / g.sw + 1;
    require_allocatable(op, "x", x_shape);
    require_allocatable(op, "weight", weight_shape);
    require_allocatable(op, "output", {g.N, g.O, g.OH, g.OW});
    return g;
}

// Whether `a` is C-contiguous in memory with its axes in the order `order` (NCHW {0, 1, 2, 3},
// NHWC {0, 2, 3, 1}); axes of size 1 may have any stride.
bool laid_out(const py::array& a, const std::array<int, 4>& order) {
    if (a.ndim() != 4) return false;
    if (a.size() == 0) return true;
    ptrdiff_t expected = a.itemsize();
    for (int d = 3; d >= 0; --d) {
        const int axis = order[d];
        if (a.shape(axis) != 1 && a.strides(axis) != expected) return false;
        expected *= a.shape(axis);
    }
    return reinterpret_cast<std::uintptr_t>(a.data()) % a.itemsize() == 0;
}

constexpr std::array<int, 4> nchw{0, 1, 2, 3}, nhwc{0, 2, 3, 1};

// channels_last for images `a` and `b` (named in the message; b_name null where b is a):
// NCHW when both are NCHW C-contiguous, channels-last when both are NHWC in memory. Images
// with C == 1 are both; they count as channels-last when a's channel stride is one element,
// as in the view x_nhwc.transpose(0, 3, 1, 2), so that a channels-last model stays
// channels-last.
bool channels_last(const char* op, const char* a_name, const py::array& a, const char* b_name,
                   const py::array& b) {
    const bool nchw_memory = laid_out(a, nchw) && laid_out(b, nchw);
    const bool nhwc_memory = laid_out(a, nhwc) && laid_out(b, nhwc);
    if (nchw_memory && nhwc_memory) {
        return a.ndim() == 4 && a.strides(1) == a.itemsize() && a.shape(2) * a.shape(3) > 1;
    }
    if (nchw_memory || nhwc_memory) return nhwc_memory;
    const std::string both = b_name == nullptr ? "" : "both ";
    const std::string images = std::string(a_name) + " " + shape_string(a) +
                               (b_name == nullptr ? "" : " and " + std::string(b_name) + " " +
                                                             shape_string(b));
    throw std::invalid_argument(std::string(op) + ": expected " + images + " to be " + both +
                                "NCHW C-contiguous or " + both + "channels-last (NHWC memory) "
                                "and aligned (use numpy.ascontiguousarray)");
}

// channels_last for the images `a` alone
bool channels_last(const char* op, const char* name, const py::array& a) {
    return channels_last(op, name, a, nullptr, a);
}

// A new (N, C, H, W)-shaped array, NHWC in memory when channels_last; *data is its memory.
template <typename T>
py::array image_array(bool channels_last, ptrdiff_t N, ptrdiff_t C, ptrdiff_t H, ptrdiff_t W,
                      T** data) {
    if (!channels_last) {
        py::array_t<T> a = cached_array<T>({N, C, H, W});
        *data = a.mutable_data();
        return std::move(a);
    }
    py::array_t<T> a = cached_array<T>({N, H, W, C});
    *data = a.mutable_data();
    return a.attr("transpose")(0, 3, 1, 2);
}

template <typename T>
const T* data_of(const py::array& a) {
    return static_cast<const T*>(a.data());
}

// The algorithms an op can be asked for: conv_algorithms.cpp's choice, its choice without
// Winograd (each output a sum over its own window: see conv_geometry.h), or one forced
enum class Algorithm { automatic, direct, winograd, winograd_rows };

template <typename T>
py::array forward_typed(const tensorcore::ConvGeometry& g, const py::array& x,
                        const py::array& weight, const py::object& bias, Algorithm algorithm) {
    T* y;
    py::array out = image_array<T>(g.channels_last, g.N, g.O, g.OH, g.OW, &y);
    const T* bias_data = bias.is_none() ? nullptr : data_of<T>(bias.cast<py::array>());
    py::gil_scoped_release release;
    if (algorithm == Algorithm::winograd) {
        tensorcore::conv_winograd_forward<T>(g, data_of<T>(x), data_of<T>(weight), bias_data, y);
    } else if (algorithm == Algorithm::winograd_rows) {
        tensorcore::conv_winograd_rows_forward<T>(g, data_of<T>(x), data_of<T>(weight), bias_data,
                                                  y);
    } else {
        tensorcore::conv_forward<T>(g, data_of<T>(x), data_of<T>(weight), bias_data, y,
                                    algorithm == Algorithm::automatic);
    }
    return out;
}

template <typename T>
py::array backward_input_typed(const tensorcore::ConvGeometry& g, const py::array& grad,
                               const py::array& weight, Algorithm algorithm) {
    T* dx;
    py::array out = image_array<T>(g.channels_last, g.N, g.C, g.H, g.W, &dx);
    py::gil_scoped_release release;
    if (algorithm == Algorithm::winograd) {
        tensorcore::conv_winograd_backward_input<T>(g, data_of<T>(grad), data_of<T>(weight), dx);
    } else {
        tensorcore::conv_backward_input<T>(g, data_of<T>(grad), data_of<T>(weight), dx,
                                           algorithm == Algorithm::automatic);
    }
    return out;
}

template <typename T>
py::tuple backward_weight_typed(const tensorcore::ConvGeometry& g, const py::array& grad,
                                const py::array& x, const std::vector<ptrdiff_t>& weight_shape,
                                Algorithm algorithm) {
    py::array_t<T> dweight = cached_array<T>(weight_shape);
    py::array_t<T> dbias = cached_array<T>({g.O});
    T* dweight_data = dweight.mutable_data();
    T* dbias_data = dbias.mutable_data();
    {
        py::gil_scoped_release release;
        if (algorithm == Algorithm::winograd) {
            tensorcore::conv_winograd_backward_weight<T>(g, data_of<T>(grad), data_of<T>(x),
                                                         dweight_data, dbias_data);
        } else if (algorithm == Algorithm::winograd_rows) {
            tensorcore::conv_winograd_rows_backward_weight<T>(g, data_of<T>(grad), data_of<T>(x),
                                                              dweight_data, dbias_data);
        } else {
            tensorcore::conv_backward_weight<T>(g, data_of<T>(grad), data_of<T>(x), dweight_data,
                                                dbias_data, algorithm == Algorithm::automatic);
        }
    }
    return py::make_tuple(dweight, dbias);
}

// grad must be (N, O, OH, OW) for geometry g
void check_grad_shape(const char* op, const py::array& grad, const tensorcore::ConvGeometry& g) {
    const std::vector<ptrdiff_t> expected{g.N, g.O, g.OH, g.OW};
    require(shape_of(grad) == expected, op, [&] {
        return "expected grad of shape " + shape_string(expected) + ", got " + shape_string(grad);
    });
}

// The algorithm asked for: "auto" leaves the choice to conv_algorithms.cpp, "direct" too but
// without Winograd; "winograd" and (where the op has it: with_rows) "winograd_rows" must apply
// to g.
Algorithm chosen_algorithm(const char* op, const std::string& algorithm,
                           const tensorcore::ConvGeometry& g, bool with_rows) {
    if (algorithm == "auto") return Algorithm::automatic;
    if (algorithm == "direct") return Algorithm::direct;
    if (with_rows && algorithm == "winograd_rows") {
        require(tensorcore::conv_winograd_rows_applies(g), op, [&] {
            return "algorithm 'winograd_rows' needs NCHW images, a 3x3 kernel, stride 1, "
                   "dilation 1, groups 1, output rows of at least 16 pixels and a batch of at "
                   "least one, got kernel " + shape_string({g.kh, g.kw}) + ", stride " +
                   shape_string({g.sh, g.sw}) + ", dilation " + shape_string({g.dh, g.dw}) +
                   ", groups " + std::to_string(g.groups) + ", output " +
                   shape_string({g.OH, g.OW}) + ", batch " + std::to_string(g.N) +
                   (g.channels_last ? ", channels-last" : "");
        });
        return Algorithm::winograd_rows;
    }
    require(algorithm == "winograd", op, [&] {
        return std::string("expected algorithm ") +
               (with_rows ? "'auto', 'direct', 'winograd' or 'winograd_rows'"
                          : "'auto', 'direct' or 'winograd'") +
               ", got '" + algorithm + "'";
    });
    require(tensorcore::conv_winograd_applies(g), op, [&] {
        return "algorithm 'winograd' needs a 3x3 kernel, stride 1, dilation 1, groups 1, "
               "padding <= 2 and a batch of at least one, got kernel " +
               shape_string({g.kh, g.kw}) + ", stride " + shape_string({g.sh, g.sw}) +
               ", dilation " + shape_string({g.dh, g.dw}) + ", groups " +
               std::to_string(g.groups) + ", padding " +
               shape_string({g.pad_top, g.pad_bottom, g.pad_left, g.pad_right}) + ", batch " +
               std::to_string(g.N);
    });
    return Algorithm::winograd;
}

// The geometry of a forward call, its arguments checked: weight and bias (a NumPy array or
// None) of x's float type, C-contiguous, bias (O,)
tensorcore::ConvGeometry forward_geometry(const char* op, FloatType type, const py::array& x,
                                          const py::array& weight, const py::object& bias,
                                          std::array<ptrdiff_t, 2> stride,
                                          std::array<ptrdiff_t, 4> padding,
                                          std::array<ptrdiff_t, 2> dilation, ptrdiff_t groups) {
    require_float_type(op, "weight", weight, type);
    const tensorcore::ConvGeometry g =
        geometry(op, shape_of(x), shape_of(weight), stride, padding, dilation, groups);
    require_contiguous(op, "weight", weight);
    if (!bias.is_none()) {
        if (!py::isinstance<py::array>(bias)) {
            throw py::type_error(std::string(op) + ": expected bias to be a NumPy array or None");
        }
        const py::array b = bias.cast<py::array>();
        require_float_type(op, "bias", b, type);
        require(b.ndim() == 1 && b.shape(0) == g.O, op, [&] {
            return "expected bias of shape (" + std::to_string(g.O) + ",), got " + shape_string(b);
        });
        require_contiguous(op, "bias", b);
    }
    return g;
}

template <typename T>
py::tuple max_pooled_forward_typed(const tensorcore::ConvGeometry& g, const py::array& x,
                                   const py::array& weight, const py::object& bias) {
    T* y_data;
    py::array y = image_array<T>(g.channels_last, g.N, g.O, g.OH / 2, g.OW / 2, &y_data);
    py::array_t<uint8_t> taps = cached_array<uint8_t>({g.N, g.O, g.OH / 2, g.OW / 2});
    uint8_t* taps_data = taps.mutable_data();
    const T* bias_data = bias.is_none() ? nullptr : data_of<T>(bias.cast<py::array>());
    {
        py::gil_scoped_release release;
        tensorcore::conv_tiles_max_pool_forward<T>(g, data_of<T>(x), data_of<T>(weight),
                                                   bias_data, y_data, taps_data);
    }
    return py::make_tuple(y, taps);
}

template <typename T>
py::tuple max_pooled_backward_weight_typed(const char* op, const tensorcore::ConvGeometry& g,
                                           const py::array& grad, const py::array& taps,
                                           const py::array& x,
                                           const std::vector<ptrdiff_t>& weight_shape) {
    py::array_t<T> dweight = cached_array<T>(weight_shape);
    py::array_t<T> dbias = cached_array<T>({g.O});
    T* dweight_data = dweight.mutable_data();
    T* dbias_data = dbias.mutable_data();
    bool taps_valid;
    {
        py::gil_scoped_release release;
        taps_valid = tensorcore::conv_tiles_max_pool_backward_weight<T>(
            g, data_of<T>(grad), data_of<uint8_t>(taps), data_of<T>(x), dweight_data,
            dbias_data);
    }
    require(taps_valid, op, [] { return std::string("expected taps of 0 to 3, got one past 3"); });
    return py::make_tuple(dweight, dbias);
}

}  // namespace

namespace tensorcore {

py::array conv2d(const py::array& x, const py::array& weight, const py::object& bias,
                 std::array<ptrdiff_t, 2> stride, std::array<ptrdiff_t, 4> padding,
                 std::array<ptrdiff_t, 2> dilation, ptrdiff_t groups,
                 const std::string& algorithm) {
    const char* op = "conv2d";
    const FloatType type = float_type(op, "x", x);
    ConvGeometry g = forward_geometry(op, type, x, weight, bias, stride, padding, dilation, groups);
    g.channels_last = channels_last(op, "x", x);
    const Algorithm chosen = chosen_algorithm(op, algorithm, g, true);
    return type == FloatType::float32 ? forward_typed<float>(g, x, weight, bias, chosen)
                                      : forward_typed<double>(g, x, weight, bias, chosen);
}

py::object conv2d_max_pool2d(const py::array& x, const py::array& weight, const py::object& bias,
                             std::array<ptrdiff_t, 2> stride, std::array<ptrdiff_t, 4> padding,
                             std::array<ptrdiff_t, 2> dilation, ptrdiff_t groups) {
    const char* op = "conv2d_max_pool2d";
    const FloatType type = float_type(op, "x", x);
    ConvGeometry g = forward_geometry(op, type, x, weight, bias, stride, padding, dilation, groups);
    // a channels-last x (with one channel, a unit channel stride) gets a channels-last y
    g.channels_last = channels_last(op, "x", x);
    if (!conv_tiles_max_pool_applies(g)) return py::none();
    return type == FloatType::float32 ? max_pooled_forward_typed<float>(g, x, weight, bias)
                                      : max_pooled_forward_typed<double>(g, x, weight, bias);
}

py::object conv2d_max_pool2d_backward_weight(const py::array& grad, const py::array& taps,
                                             const py::array& x,
                                             const std::vector<ptrdiff_t>& weight_shape,
                                             std::array<ptrdiff_t, 2> stride,
                                             std::array<ptrdiff_t, 4> padding,
                                             std::array<ptrdiff_t, 2> dilation,
                                             ptrdiff_t groups) {
    const char* op = "conv2d_max_pool2d_backward_weight";
    const FloatType type = float_type(op, "grad", grad);
    require_float_type(op, "x", x, type);
    require_uint8(op, "taps", taps);
    ConvGeometry g = geometry(op, shape_of(x), weight_shape, stride, padding, dilation, groups);
    const std::vector<ptrdiff_t> pooled{g.N, g.O, g.OH / 2, g.OW / 2};
    require(shape_of(grad) == pooled && shape_of(taps) == pooled, op, [&] {
        return "expected grad and taps of shape " + shape_string(pooled) +
               " (the 2x2 max pool of the conv's output), got " + shape_string(grad) + " and " +
               shape_string(taps);
    });
    require_contiguous(op, "taps", taps);
    g.channels_last = channels_last(op, "grad", grad, "x", x);
    if (!conv_tiles_max_pool_backward_applies(g)) return py::none();
    return type == FloatType::float32
               ? max_pooled_backward_weight_typed<float>(op, g, grad, taps, x, weight_shape)
               : max_pooled_backward_weight_typed<double>(op, g, grad, taps, x, weight_shape);
}

py::array conv2d_backward_input(const py::array& grad, const py::array& weight,
                                const std::vector<ptrdiff_t>& x_shape,
                                std::array<ptrdiff_t, 2> stride, std::array<ptrdiff_t, 4> padding,
                                std::array<ptrdiff_t, 2> dilation, ptrdiff_t groups,
                                const std::string& algorithm) {
    const char* op = "conv2d_backward_input";
    const FloatType type = float_type(op, "grad", grad);
    require_float_type(op, "weight", weight, type);
    ConvGeometry g = geometry(op, x_shape, shape_of(weight), stride, padding, dilation, groups);
    require_contiguous(op, "weight", weight);
    check_grad_shape(op, grad, g);
    g.channels_last = channels_last(op, "grad", grad);
    const Algorithm chosen = chosen_algorithm(op, algorithm, g, false);
    return type == FloatType::float32 ? backward_input_typed<float>(g, grad, weight, chosen)
                                      : backward_input_typed<double>(g, grad, weight, chosen);
}

py::tuple conv2d_backward_weight(const py::array& grad, const py::array& x,
                                 const std::vector<ptrdiff_t>& weight_shape,
                                 std::array<ptrdiff_t, 2> stride, std::array<ptrdiff_t, 4> padding,
                                 std::array<ptrdiff_t, 2> dilation, ptrdiff_t groups,
                                 const std::string& algorithm) {
    const char* op = "conv2d_backward_weight";
    const FloatType type = float_type(op, "grad", grad);
    require_float_type(op, "x", x, type);
    ConvGeometry g = geometry(op, shape_of(x), weight_shape, stride, padding, dilation, groups);
    check_grad_shape(op, grad, g);
    g.channels_last = channels_last(op, "grad", grad, "x", x);
    const Algorithm chosen = chosen_algorithm(op, algorithm, g, true);
    return type == FloatType::float32
               ? backward_weight_typed<float>(g, grad, x, weight_shape, chosen)
               : backward_weight_typed<double>(g, grad, x, weight_shape, chosen);
}

}  // namespace tensorcore
