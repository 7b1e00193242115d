// The kernel side of Winograd F(2, 3), shared by the 2-D F(2x2, 3x3) convolution
// (conv_winograd.cpp, once per kernel side) and the row-pair one (conv_winograd_rows.cpp, down
// the kernel's columns): G maps 3 taps to the 4 transform entries, G^T maps the 4 entries'
// weight-gradient sums back to 3 taps.
#pragma once

namespace tensorcore {

// out[0..4) = G a for a 3-vector a, G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]
template <typename T>
void filter_rows(const T a[3], T out[4]) {
    out[0] = a[0];
    out[1] = (a[0] + a[1] + a[2]) / 2;
    out[2] = (a[0] - a[1] + a[2]) / 2;
    out[3] = a[2];
}

// out[4a + b] = (G k G^T)[a][b] for a 3x3 kernel k (row-major): G along each kernel row, then
// down each column of the result (a down the kernel, b along it)
template <typename T>
void filter_kernel(const T k[9], T out[16]) {
    T rows[3][4], column[3], transformed[4];
    for (int i = 0; i < 3; ++i) filter_rows(k + 3 * i, rows[i]);
    for (int b = 0; b < 4; ++b) {
        for (int i = 0; i < 3; ++i) column[i] = rows[i][b];
        filter_rows(column, transformed);
        for (int a = 0; a < 4; ++a) out[4 * a + b] = transformed[a];
    }
}

// out[0..3) = G^T a for a 4-vector a
inline double filter_adjoint(const double a[4], int i) {
    const double sum = (a[1] + a[2]) / 2;
    return i == 0 ? a[0] + sum : i == 1 ? (a[1] - a[2]) / 2 : sum + a[3];
}

}  // namespace tensorcore
