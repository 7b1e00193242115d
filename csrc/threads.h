// The number of OpenMP threads the kernels use.
#pragma once

#include <string>

int num_threads();
void set_num_threads(int n);   // std::invalid_argument unless n >= 1

// TENSORCORE_NUM_THREADS when set, else OpenMP's default (which honours OMP_NUM_THREADS).
// Returns a warning for the caller to raise when the variable is not a positive integer.
std::string select_num_threads_from_environment();
