// exp, tanh, sigmoid and erfc on SIMD vectors, branch-free, within a few ulp: Cephes' exp and
// tanh (float32 polynomials, float64 rationals), Numerical Recipes' erfcc for float32, and
// libm's erfc one lane at a time for float64.
// Included inside an ISA unit after simd.h; everything here has internal linkage.
#pragma once

#include "simd.h"

namespace TC_ISA {
namespace {

typedef Simd<float>::vec floats;
typedef Simd<float>::bits float_bits;
typedef Simd<double>::vec doubles;
typedef Simd<double>::bits double_bits;

// e^x = 2^n e^r with n = round(x / ln2), |r| <= ln2 / 2, e^r by Cephes' degree-6 polynomial.
// n comes from the bits of x / ln2 + 1.5 * 2^23 (rounded to an integer there); 2^n is
// applied as two factors so that results into the subnormals (x > -104) and the overflow
// to inf (x > 88.72) come out right.
inline floats exp_v(floats x) {
    floats clamped = x < 89.0f ? x : broadcast(89.0f);
    clamped = clamped > -104.0f ? clamped : broadcast(-104.0f);   // NaN too: a finite n below
    const floats round_shift = broadcast(12582912.0f);
    const floats shifted = clamped * 1.44269504088896341f + round_shift;
    const floats n = shifted - round_shift;
    floats r = clamped - n * 0.693359375f;                         // ln2 = C1 + C2, n * C1 exact
    r = r - n * -2.12194440e-4f;
    floats p = 1.9875691500e-4f * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * (r * r) + r + 1.0f;
    const float_bits k = (float_bits)shifted - (float_bits)round_shift;   // n, in [-150, 128]
    const float_bits k_half = k >> 1;
    const floats scale_1 = (floats)((k_half + 127) << 23);
    const floats scale_2 = (floats)((k - k_half + 127) << 23);
    const floats result = p * scale_1 * scale_2;
    return x == x ? result : x;
}

// float64 e^x the same way, e^r = 1 + 2 r P(r^2) / (Q(r^2) - r P(r^2)) (Cephes' exp);
// subnormals from x > -745.2, inf past 709.78.
inline doubles exp_v(doubles x) {
    doubles clamped = x < 710.0 ? x : broadcast(710.0);
    clamped = clamped > -746.0 ? clamped : broadcast(-746.0);
    const doubles round_shift = broadcast(6755399441055744.0);    // 1.5 * 2^52
    const doubles shifted = clamped * 1.4426950408889634074 + round_shift;
    const doubles n = shifted - round_shift;
    doubles r = clamped - n * 6.93145751953125e-1;
    r = r - n * 1.42860682030941723212e-6;
    const doubles rr = r * r;
    doubles p = 1.26177193074810590878e-4 * rr + 3.02994407707441961300e-2;
    p = r * (p * rr + 9.99999999999999999910e-1);
    doubles q = 3.00198505138664455042e-6 * rr + 2.52448340349684104192e-3;
    q = q * rr + 2.27265548208155028766e-1;
    q = q * rr + 2.00000000000000000009e0;
    const doubles e_r = 1.0 + 2.0 * (p / (q - p));
    const double_bits k = (double_bits)shifted - (double_bits)round_shift;   // in [-1076, 1025]
    const double_bits k_half = k >> 1;
    const doubles scale_1 = (doubles)((k_half + 1023) << 52);
    const doubles scale_2 = (doubles)((k - k_half + 1023) << 52);
    const doubles result = e_r * scale_1 * scale_2;
    return x == x ? result : x;
}

// tanh x: for |x| > 0.625, 1 - 2 / (e^{2|x|} + 1) (no cancellation there); below, Cephes'
// x + x^3 P(x^2), which keeps full relative accuracy for tiny x.
inline floats tanh_v(floats x) {
    const floats magnitude = x < 0.0f ? -x : x;
    floats large = 1.0f - 2.0f / (exp_v(2.0f * magnitude) + 1.0f);
    large = x < 0.0f ? -large : large;
    const floats z = x * x;
    floats p = -5.70498872745e-3f * z + 2.06390887954e-2f;
    p = p * z - 5.37397155531e-2f;
    p = p * z + 1.33314422036e-1f;
    p = p * z - 3.33332819422e-1f;
    const floats small = x + x * z * p;
    return magnitude > 0.625f ? large : small;
}

// float64 tanh the same way, with Cephes' rational x + x^3 P(x^2) / Q(x^2) below 0.625.
inline doubles tanh_v(doubles x) {
    const doubles magnitude = x < 0.0 ? -x : x;
    doubles large = 1.0 - 2.0 / (exp_v(2.0 * magnitude) + 1.0);
    large = x < 0.0 ? -large : large;
    const doubles z = x * x;
    doubles p = -9.64399179425052238628e-1 * z - 9.92877231001918586564e1;
    p = p * z - 1.61468768441708447952e3;
    doubles q = z + 1.12811678491632931402e2;
    q = q * z + 2.23548839060100448583e3;
    q = q * z + 4.84406305325125486048e3;
    const doubles small = x + x * z * (p / q);
    return magnitude > 0.625 ? large : small;
}

// 1 / (1 + e^-x) from e = e^-|x| <= 1, which cannot overflow for either sign
template <typename T>
inline typename Simd<T>::vec sigmoid_v(typename Simd<T>::vec x) {
    const typename Simd<T>::vec e = exp_v(x < T(0) ? x : -x);
    const typename Simd<T>::vec r = T(1) / (T(1) + e);
    return x >= T(0) ? r : e * r;
}

// erfc x = t e^{-x^2 + P(t)}, t = 1 / (1 + |x| / 2), for x >= 0 (relative error < 1.2e-7,
// so the far tail stays accurate); 2 - erfc(-x) for x < 0.
inline floats erfc_v(floats x) {
    const floats z = x < 0.0f ? -x : x;
    const floats t = 1.0f / (1.0f + 0.5f * z);
    floats p = 0.17087277f * t - 0.82215223f;
    p = p * t + 1.48851587f;
    p = p * t - 1.13520398f;
    p = p * t + 0.27886807f;
    p = p * t - 0.18628806f;
    p = p * t + 0.09678418f;
    p = p * t + 0.37409196f;
    p = p * t + 1.00002368f;
    p = p * t - 1.26551223f;
    const floats tail = t * exp_v(p - z * z);
    return x < 0.0f ? 2.0f - tail : tail;
}

// float64 erfc: libm, one lane at a time
inline doubles erfc_v(doubles x) {
    for (int i = 0; i < Simd<double>::lanes; ++i) x[i] = ::erfc(x[i]);
    return x;
}

}  // namespace
}  // namespace TC_ISA
