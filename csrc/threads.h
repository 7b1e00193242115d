// The number of OpenMP threads the kernels use.
#pragma once

#include <string>

// The most threads the kernels run on: past a few thousand, libgomp aborts the process or
// the threads' stacks exhaust memory.
constexpr int max_num_threads = 1024;

int num_threads();
void set_num_threads(int n);   // std::invalid_argument unless 1 <= n <= max_num_threads

// TENSORCORE_NUM_THREADS when set, else OpenMP's default (which honours OMP_NUM_THREADS),
// within 1 .. max_num_threads. Returns a warning for the caller to raise when the variable is
// not an integer in that range.
std::string select_num_threads_from_environment();
