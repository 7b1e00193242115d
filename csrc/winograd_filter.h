// The kernel side of Winograd F(m, 3): G maps 3 taps to the m + 2 transform entries, G^T maps
// the entries' weight-gradient sums back to 3 taps. F(2, 3) serves the row-pair convolution
// (conv_winograd_rows.cpp, down the kernel's columns, and its one-channel 2-D tiles);
// F(4, 3) the 2-D F(4x4, 3x3) one (conv_winograd.cpp, once per kernel side).
#pragma once

namespace tensorcore {

// G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]
struct WinogradF2 {
    static constexpr int entries = 4;

    // out = G a for a 3-vector a
    template <typename T>
    static void filter(const T a[3], T out[4]) {
        out[0] = a[0];
        out[1] = (a[0] + a[1] + a[2]) / 2;
        out[2] = (a[0] - a[1] + a[2]) / 2;
        out[3] = a[2];
    }

    // (G^T a)[i] for a 4-vector a, of doubles or of SIMD vectors (the row-pair weight
    // gradient folds its lane sums with it)
    template <typename V>
    static V adjoint(const V a[4], int i) {
        const V sum = (a[1] + a[2]) * 0.5;
        return i == 0 ? a[0] + sum : i == 1 ? (a[1] - a[2]) * 0.5 : sum + a[3];
    }
};

// G = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6; 1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1]
// (interpolation points 0, 1, -1, 2, -2 and infinity)
struct WinogradF4 {
    static constexpr int entries = 6;

    // (products with the reciprocals: with divisions the 32 -> 64 layer's forward took 1.2x
    // the time, Zen 5)
    template <typename T>
    static void filter(const T a[3], T out[6]) {
        constexpr T sixth = T(1) / 6, twenty_fourth = T(1) / 24;
        const T outer = a[0] + a[2], outer4 = a[0] + 4 * a[2];
        out[0] = a[0] / 4;
        out[1] = -(outer + a[1]) * sixth;
        out[2] = -(outer - a[1]) * sixth;
        out[3] = (outer4 + 2 * a[1]) * twenty_fourth;
        out[4] = (outer4 - 2 * a[1]) * twenty_fourth;
        out[5] = a[2];
    }

    static double adjoint(const double a[6], int i) {
        constexpr double sixth = 1.0 / 6;
        const double sum = (a[1] + a[2]) * sixth, high = a[3] + a[4];
        return i == 0   ? a[0] / 4 - sum + high * (sixth / 4)
               : i == 1 ? (a[2] - a[1]) * sixth + (a[3] - a[4]) * (sixth / 2)
                        : high * sixth - sum + a[5];
    }
};

// out[n a + b] = (G k G^T)[a][b] for a 3x3 kernel k (row-major), n = F::entries: G along each
// kernel row, then down each column of the result (a down the kernel, b along it)
template <class F, typename T>
void filter_kernel(const T k[9], T out[F::entries * F::entries]) {
    constexpr int n = F::entries;
    T rows[3][n], column[3], transformed[n];
    for (int i = 0; i < 3; ++i) F::filter(k + 3 * i, rows[i]);
    for (int b = 0; b < n; ++b) {
        for (int i = 0; i < 3; ++i) column[i] = rows[i][b];
        F::filter(column, transformed);
        for (int a = 0; a < n; ++a) out[n * a + b] = transformed[a];
    }
}

// dk = G^T s G for the entries' sums s (s[n a + b], as filter_kernel lays them out)
template <class F>
void filter_kernel_adjoint(const double s[F::entries * F::entries], double dk[9]) {
    constexpr int n = F::entries;
    double columns[n][3], column[n];   // s G, one row of s at a time
    for (int a = 0; a < n; ++a)
        for (int j = 0; j < 3; ++j) columns[a][j] = F::adjoint(s + n * a, j);
    for (int j = 0; j < 3; ++j) {
        for (int a = 0; a < n; ++a) column[a] = columns[a][j];
        for (int i = 0; i < 3; ++i) dk[3 * i + j] = F::adjoint(column, i);
    }
}

}  // namespace tensorcore
