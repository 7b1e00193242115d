#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "activations.h"
#include "bias_act.h"
#include "buffer_cache.h"
#include "cached_array.h"
#include "conv.h"
#include "cpu_features.h"
#include "gemm_kernels.h"
#include "isa.h"
#include "lstm.h"
#include "matmul.h"
#include "op_binding.h"
#include "optim.h"
#include "peak.h"
#include "pooling.h"
#include "softmax.h"
#include "threads.h"

namespace py = pybind11;

PYBIND11_MODULE(_C, m) {
    m.doc() = "tensorcore's C++ CPU kernels, compiled for AVX-512, AVX2 and generic x86-64 "
              "and dispatched on the CPU's features at run time.";

    for (const std::string& warning :
         {select_isa_from_environment(), select_num_threads_from_environment(),
          tensorcore::select_cache_limit_from_environment()}) {
        if (!warning.empty() && PyErr_WarnEx(PyExc_RuntimeWarning, warning.c_str(), 1) < 0) {
            throw py::error_already_set();
        }
    }

    m.def("cpu_features", [] {
        const CpuFeatures& cpu = cpu_features();
        return py::dict(py::arg("avx2") = cpu.avx2, py::arg("fma") = cpu.fma,
                        py::arg("avx512f") = cpu.avx512f, py::arg("avx512bw") = cpu.avx512bw,
                        py::arg("avx512dq") = cpu.avx512dq, py::arg("avx512vl") = cpu.avx512vl,
                        py::arg("bmi2") = cpu.bmi2, py::arg("avx512_halves") = cpu.avx512_halves);
    }, "CPU features the kernels dispatch on: {name: bool}; also avx512_halves (AVX-512 runs "
       "as two 256-bit halves, AMD Zen 4), reported only.");
    m.def("isa", [] { return isa_name(active_isa()); },
          "The active instruction set: 'avx512', 'avx2' or 'generic'.");
    m.def("set_isa", &set_isa, py::arg("name"),
          "Make an instruction set active; ValueError when this CPU does not run it.");
    m.def("gemm_tile", [] { return gemm_tile_name(gemm_tile()); },
          "The GEMM's register tile: 'auto' (chosen per problem and CPU) or the kind forced "
          "by set_gemm_tile.");
    m.def("set_gemm_tile", &set_gemm_tile, py::arg("name"),
          "Run every GEMM with one register tile kind ('main', 'short', 'wide'), or 'auto'; "
          "for tests and kernel research: results are the same bits with any of them.");
    m.def("get_num_threads", &num_threads, "Threads the kernels use.");
    m.def("cache_limit", &tensorcore::cache_limit,
          "Bytes of freed kernel buffers kept for reuse at most (TENSORCORE_CPU_CACHE_MB).");
    m.def("set_cache_limit", &tensorcore::set_cache_limit, py::arg("bytes"),
          "Keep at most this many bytes of freed kernel buffers; 0 frees the cache and "
          "stops caching.");
    m.def("cached_bytes", &tensorcore::cache_cached_bytes,
          "Bytes of freed kernel buffers the cache holds now.");
    m.def("owns_buffer", &owns_buffer, py::arg("array"),
          "Whether array is a kernel's output array, owning its buffer (NumPy's OWNDATA "
          "flag is false for these).");
    m.def("set_cache_poison", &tensorcore::set_cache_poison, py::arg("on"),
          "Testing: fill every output and scratch buffer with NaN bytes before a kernel gets "
          "it, so that reading one before writing it shows.");
    m.def("set_num_threads", &set_num_threads, py::arg("n"), "Set the threads the kernels use.");

    def_op(m, "matmul", &tensorcore::matmul, py::arg("a"), py::arg("b"),
           "a (M, K) or (B, M, K) @ b (K, N) or (B, K, N), any strides, float32 or float64.");
    def_op(m, "conv2d", &tensorcore::conv2d, py::arg("x"), py::arg("weight"), py::arg("bias"),
           py::arg("stride"), py::arg("padding"), py::arg("dilation"), py::arg("groups"),
           py::arg("algorithm") = "auto",
           "x (N, C, H, W) NCHW or channels-last, weight (O, C/groups, kh, kw) -> y (N, O, OH, OW) "
           "in x's memory format; padding (top, bottom, left, right); algorithm 'auto', 'direct' "
           "(never Winograd), 'winograd' or 'winograd_rows'.");
    def_op(m, "conv2d_max_pool2d", &tensorcore::conv2d_max_pool2d, py::arg("x"), py::arg("weight"),
           py::arg("bias"), py::arg("stride"), py::arg("padding"), py::arg("dilation"),
           py::arg("groups"),
           "conv2d, then max_pool2d(2) -> (y (N, O, OH // 2, OW // 2), taps) in one pass where "
           "one applies (one input channel, even output rows, AVX-512), else None.");
    def_op(m, "conv2d_max_pool2d_backward_weight", &tensorcore::conv2d_max_pool2d_backward_weight,
           py::arg("grad"), py::arg("taps"), py::arg("x"), py::arg("weight_shape"),
           py::arg("stride"), py::arg("padding"), py::arg("dilation"), py::arg("groups"),
           "conv2d_max_pool2d's (dweight, dbias) from the pooled grad and taps, without the "
           "conv's gradient, where that applies (AVX-512; NCHW, or channels-last with one "
           "input channel), else None.");
    def_op(m, "conv2d_backward_input", &tensorcore::conv2d_backward_input, py::arg("grad"),
           py::arg("weight"), py::arg("x_shape"), py::arg("stride"), py::arg("padding"),
           py::arg("dilation"), py::arg("groups"), py::arg("algorithm") = "auto",
           "-> dx (N, C, H, W) in grad's memory format; algorithm 'auto', 'direct' or 'winograd'.");
    def_op(m, "conv2d_backward_weight", &tensorcore::conv2d_backward_weight, py::arg("grad"),
           py::arg("x"), py::arg("weight_shape"), py::arg("stride"), py::arg("padding"),
           py::arg("dilation"), py::arg("groups"), py::arg("algorithm") = "auto",
           "-> (dweight, dbias); algorithm 'auto', 'direct', 'winograd' or 'winograd_rows'.");
    m.def("fma_peak", &tensorcore::fma_peak, py::arg("threads"), py::arg("seconds") = 0.05,
          py::arg("repeats") = 3,
          "Measured float32 FMA peak in GFLOP/s of `threads` threads on the active ISA.");
    def_op(m, "relu", &tensorcore::relu, py::arg("x"));
    def_op(m, "relu_backward", &tensorcore::relu_backward, py::arg("grad"), py::arg("x"),
           py::arg("y"));
    def_op(m, "leaky_relu", &tensorcore::leaky_relu, py::arg("x"), py::arg("negative_slope"));
    def_op(m, "leaky_relu_backward", &tensorcore::leaky_relu_backward, py::arg("grad"),
           py::arg("x"), py::arg("y"), py::arg("negative_slope"));
    def_op(m, "sigmoid", &tensorcore::sigmoid, py::arg("x"));
    def_op(m, "sigmoid_backward", &tensorcore::sigmoid_backward, py::arg("grad"), py::arg("x"),
           py::arg("y"));
    def_op(m, "tanh", &tensorcore::tanh, py::arg("x"));
    def_op(m, "tanh_backward", &tensorcore::tanh_backward, py::arg("grad"), py::arg("x"),
           py::arg("y"));
    def_op(m, "gelu", &tensorcore::gelu, py::arg("x"), py::arg("approximate"));
    def_op(m, "gelu_backward", &tensorcore::gelu_backward, py::arg("grad"), py::arg("x"),
           py::arg("y"), py::arg("approximate"));
    def_op(m, "max_pool2d", &tensorcore::max_pool2d, py::arg("x"), py::arg("kernel"),
           py::arg("stride"), py::arg("padding"), py::arg("dilation"), py::arg("ceil_mode"));
    def_op(m, "max_pool2d_backward", &tensorcore::max_pool2d_backward, py::arg("grad"),
           py::arg("indices"), py::arg("x_shape"));
    def_op(m, "avg_pool2d", &tensorcore::avg_pool2d, py::arg("x"), py::arg("kernel"),
           py::arg("stride"), py::arg("padding"), py::arg("ceil_mode"),
           py::arg("count_include_pad"), py::arg("divisor_override"));
    def_op(m, "avg_pool2d_backward", &tensorcore::avg_pool2d_backward, py::arg("grad"),
           py::arg("x_shape"), py::arg("kernel"), py::arg("stride"), py::arg("padding"),
           py::arg("ceil_mode"), py::arg("count_include_pad"), py::arg("divisor_override"));
    def_op(m, "softmax", &tensorcore::softmax, py::arg("x"), "softmax along the last axis.");
    def_op(m, "softmax_backward", &tensorcore::softmax_backward, py::arg("grad"), py::arg("y"));
    def_op(m, "log_softmax", &tensorcore::log_softmax, py::arg("x"),
           "log_softmax along the last axis.");
    def_op(m, "log_softmax_backward", &tensorcore::log_softmax_backward, py::arg("grad"),
           py::arg("y"));
    def_op(m, "cross_entropy", &tensorcore::cross_entropy, py::arg("logits"), py::arg("target"));
    def_op(m, "cross_entropy_backward", &tensorcore::cross_entropy_backward, py::arg("grad"),
           py::arg("log_probs"), py::arg("target"));
    def_op(m, "nll_loss", &tensorcore::nll_loss, py::arg("log_probs"), py::arg("target"));
    def_op(m, "nll_loss_backward", &tensorcore::nll_loss_backward, py::arg("grad"),
           py::arg("log_probs"), py::arg("target"));
    def_op(m, "bias_act", &tensorcore::bias_act, py::arg("x"), py::arg("bias"),
           py::arg("activation"), "act(x + bias) along the last axis.");
    def_op(m, "bias_act_backward", &tensorcore::bias_act_backward, py::arg("grad"), py::arg("y"),
           py::arg("activation"), "-> (dx, dbias)");
    def_op(m, "sgd_step", &tensorcore::sgd_step, py::arg("param"), py::arg("grad"),
           py::arg("velocity").none(true), py::arg("lr"), py::arg("momentum"),
           py::arg("nesterov"), py::arg("weight_decay"), "torch.optim.SGD's update, in place.");
    def_op(m, "adam_step", &tensorcore::adam_step, py::arg("param"), py::arg("grad"),
           py::arg("exp_avg"), py::arg("exp_avg_sq"), py::arg("step"), py::arg("lr"),
           py::arg("beta1"), py::arg("beta2"), py::arg("eps"), py::arg("weight_decay"),
           py::arg("decoupled"), "torch.optim.Adam's (or AdamW's) update, in place.");
    def_op(m, "rmsprop_step", &tensorcore::rmsprop_step, py::arg("param"), py::arg("grad"),
           py::arg("square_avg"), py::arg("momentum_buffer").none(true),
           py::arg("grad_avg").none(true), py::arg("lr"), py::arg("alpha"), py::arg("eps"),
           py::arg("weight_decay"), py::arg("momentum"), "torch.optim.RMSprop's update, in place.");
    def_op(m, "lstm_cell", &tensorcore::lstm_cell, py::arg("x"), py::arg("h"), py::arg("c"),
           py::arg("w_ih"), py::arg("w_hh"), py::arg("b_ih"), py::arg("b_hh"));
    def_op(m, "lstm_cell_backward", &tensorcore::lstm_cell_backward, py::arg("dh"), py::arg("dc"),
           py::arg("x"), py::arg("h"), py::arg("c"), py::arg("w_ih"), py::arg("w_hh"),
           py::arg("gates"), py::arg("c_new"));
    def_op(m, "lstm_sequence", &tensorcore::lstm_sequence, py::arg("x"), py::arg("h0"),
           py::arg("c0"), py::arg("w_ih"), py::arg("w_hh"), py::arg("b_ih"), py::arg("b_hh"));
    def_op(m, "lstm_sequence_backward", &tensorcore::lstm_sequence_backward, py::arg("dout"),
           py::arg("dh_n"), py::arg("dc_n"), py::arg("x"), py::arg("h0"), py::arg("c0"),
           py::arg("w_ih"), py::arg("w_hh"), py::arg("out"), py::arg("c_all"), py::arg("gates"));
}
