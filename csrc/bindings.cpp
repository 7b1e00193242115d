#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "activations.h"
#include "cpu_features.h"
#include "isa.h"
#include "matmul.h"
#include "peak.h"
#include "threads.h"

namespace py = pybind11;

PYBIND11_MODULE(_C, m) {
    m.doc() = "tensorcore's C++ CPU kernels, compiled for AVX-512, AVX2 and generic x86-64 "
              "and dispatched on the CPU's features at run time.";

    for (const std::string& warning :
         {select_isa_from_environment(), select_num_threads_from_environment()}) {
        if (!warning.empty() && PyErr_WarnEx(PyExc_RuntimeWarning, warning.c_str(), 1) < 0) {
            throw py::error_already_set();
        }
    }

    m.def("cpu_features", [] {
        const CpuFeatures& cpu = cpu_features();
        return py::dict(py::arg("avx2") = cpu.avx2, py::arg("fma") = cpu.fma,
                        py::arg("avx512f") = cpu.avx512f, py::arg("avx512bw") = cpu.avx512bw,
                        py::arg("avx512dq") = cpu.avx512dq, py::arg("avx512vl") = cpu.avx512vl);
    }, "CPU features the kernels dispatch on: {name: bool}.");
    m.def("isa", [] { return isa_name(active_isa()); },
          "The active instruction set: 'avx512', 'avx2' or 'generic'.");
    m.def("set_isa", &set_isa, py::arg("name"),
          "Make an instruction set active; ValueError when this CPU does not run it.");
    m.def("get_num_threads", &num_threads, "Threads the kernels use.");
    m.def("set_num_threads", &set_num_threads, py::arg("n"), "Set the threads the kernels use.");

    m.def("matmul", &tensorcore::matmul, py::arg("a"), py::arg("b"),
          "a (M, K) or (B, M, K) @ b (K, N) or (B, K, N), any strides, float32 or float64.");
    m.def("fma_peak", &tensorcore::fma_peak, py::arg("threads"), py::arg("seconds") = 0.05,
          py::arg("repeats") = 3,
          "Measured float32 FMA peak in GFLOP/s of `threads` threads on the active ISA.");
    m.def("relu", &tensorcore::relu, py::arg("x"));
    m.def("relu_backward", &tensorcore::relu_backward, py::arg("grad"), py::arg("x"),
          py::arg("y"));
    m.def("leaky_relu", &tensorcore::leaky_relu, py::arg("x"), py::arg("negative_slope"));
    m.def("leaky_relu_backward", &tensorcore::leaky_relu_backward, py::arg("grad"),
          py::arg("x"), py::arg("y"), py::arg("negative_slope"));
    m.def("sigmoid", &tensorcore::sigmoid, py::arg("x"));
    m.def("sigmoid_backward", &tensorcore::sigmoid_backward, py::arg("grad"), py::arg("x"),
          py::arg("y"));
    m.def("tanh", &tensorcore::tanh, py::arg("x"));
    m.def("tanh_backward", &tensorcore::tanh_backward, py::arg("grad"), py::arg("x"),
          py::arg("y"));
    m.def("gelu", &tensorcore::gelu, py::arg("x"), py::arg("approximate"));
    m.def("gelu_backward", &tensorcore::gelu_backward, py::arg("grad"), py::arg("x"),
          py::arg("y"), py::arg("approximate"));
}
