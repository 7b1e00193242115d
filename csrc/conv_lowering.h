// Convolution by lowering onto GEMM, shared parts: im2col gathers each output pixel's input
// window into a row or column of a matrix, one tensorcore::gemm per group multiplies it with
// the weight, and col2im sums window gradients back into the image.
// conv_lowering_nchw.cpp and conv_lowering_nhwc.cpp hold the two memory formats.
#pragma once

#include <omp.h>

#include <algorithm>

#include "buffer_cache.h"
#include "conv_geometry.h"
#include "conv_kernels.h"
#include "threads.h"

namespace tensorcore {

// Elements of im2col buffer per range of images: a chunk of images is lowered at a time.
constexpr ptrdiff_t conv_chunk_elements = ptrdiff_t(1) << 20;

// Images per chunk when each image needs `elements_per_image` of buffer.
inline ptrdiff_t conv_chunk_images(const ConvGeometry& g, ptrdiff_t elements_per_image) {
    return std::clamp<ptrdiff_t>(conv_chunk_elements / std::max<ptrdiff_t>(elements_per_image, 1),
                                 1, std::max<ptrdiff_t>(g.N, 1));
}

// Elements from one worker's slice of a shared scratch block to the next: `size` rounded up
// to 64 KiB. With the two workers' slices side by side (21 KiB of transformed image, then
// 26 KiB of lane sums each), the first MNIST layer's weight gradient took 1.3-1.8x its time
// (84-118 against 63-68 us, 64 images, 2 threads of Zen 5) in 37 of 400 processes, the whole
// process long; 64 KiB apart, or in blocks of their own, never (a standalone driver of the
// same kernels, all layouts alternated in each process). Which processes were slow did not
// follow the blocks' virtual addresses; the two vCPUs may sit on different core complexes.
template <typename T>
ptrdiff_t worker_stride(ptrdiff_t size) {
    return round_up(size, ptrdiff_t(64 << 10) / static_cast<ptrdiff_t>(sizeof(T)));
}

// Threads for a loop over `elements`: small loops run on one thread.
inline int conv_loop_threads(ptrdiff_t elements) {
    return elements < (ptrdiff_t(1) << 14) ? 1 : num_threads();
}

// The images split into one contiguous range per thread, thread t taking range t: the element-
// wise and pooling kernels split their loops the same way (OpenMP's static schedule), so a
// layer's output stays in the cache of the core that wrote it for the next layer and for the
// backward pass, where the two vCPUs here may sit on different core complexes. Four ranges per
// thread taken as threads came free (to even out a thread slowed by the shared machine)
// measured slower: with one range per thread, the benchmark's steps took 0.88-0.96x the time on
// the first MNIST layer's fwd+bwd, 0.93-1.00x on the CNN Adam step at batch 128, 0.98-0.99x on
// the 32 -> 64 layers (Zen 4, 2 threads, in one process alternated with the old ranges; the
// LSTM steps, which take no image ranges, 1.00-1.01x). Nor did stealing pay (Zen 5): each
// thread taking its own range from the front, then images from the back of the other's,
// was neutral where the threads kept pace and slower where one lagged, as a stolen image cost
// its thief about 13 us against 2 for its own (the first MNIST layer's forward, 64 images:
// 77-79 us against 72-74; BENCHMARKS.md, the slow phases). A range runs on one thread, so the
// OpenMP regions nested inside (the im2col loops, tensorcore::gemm) run single-threaded, as
// OpenMP does not nest by default, and a call synchronises its threads once. With fewer than
// two images per thread there is one range, and the loops and GEMMs inside use the threads.
// Results depend on the ranges (a function of the batch and the thread count).
struct ImageRanges {
    int count;   // ranges, one per thread: buffers and partial sums per range

    explicit ImageRanges(ptrdiff_t images) {
        const int threads = num_threads();
        count = threads > 1 && images >= 2 * threads ? threads : 1;
    }

    ptrdiff_t largest(ptrdiff_t images) const { return (images + count - 1) / count; }

    // work(range, worker, first image, end image) for every range
    template <class Work>
    void run(ptrdiff_t images, const Work& work) const {
        if (count == 1) {
            work(0, 0, ptrdiff_t(0), images);
            return;
        }
#pragma omp parallel for num_threads(count) schedule(static)
        for (int r = 0; r < count; ++r) {
            work(r, omp_get_thread_num(), images * r / count, images * (r + 1) / count);
        }
    }
};

template <typename T>
void nchw_forward(const ConvGeometry& g, const T* x, const T* weight, const T* bias, T* y);
template <typename T>
void nchw_backward_input(const ConvGeometry& g, const T* grad, const T* weight, T* dx);
template <typename T>
void nchw_backward_weight(const ConvGeometry& g, const T* grad, const T* x, T* dweight);
template <typename T>
void nhwc_forward(const ConvGeometry& g, const T* x, const T* weight, const T* bias, T* y);
template <typename T>
void nhwc_backward_input(const ConvGeometry& g, const T* grad, const T* weight, T* dx);
template <typename T>
void nhwc_backward_weight(const ConvGeometry& g, const T* grad, const T* x, T* dweight);
// The channels-last forward and weight gradient (dbias too) for few input channels, where
// nhwc_direct_applies (to the forward or the weight gradient)
bool nhwc_direct_applies(const ConvGeometry& g, bool forward);
template <typename T>
void nhwc_direct_forward(const ConvGeometry& g, const T* x, const T* weight, const T* bias,
                         T* y);
template <typename T>
void nhwc_direct_backward_weight(const ConvGeometry& g, const T* grad, const T* x, T* dweight,
                                 T* dbias);
// dbias (O,) = grad summed over images and pixels, either memory format
template <typename T>
void conv_bias_gradient(const ConvGeometry& g, const T* grad, T* dbias);

// Sums ranges 1.. of partial (ranges - 1, size) into out (size,), in range order.
template <typename T>
void add_partials(const T* partial, int ranges, ptrdiff_t size, T* out) {
    for (int r = 1; r < ranges; ++r)
        for (ptrdiff_t i = 0; i < size; ++i) out[i] += partial[(r - 1) * size + i];
}

// The lane sums of the direct and row-pair Winograd weight gradients (`entries` entries of
// Lanes lanes each: conv_kernels.h's conv_lanes<T>, winograd_rows_kernels.h's
// winograd_rows_lanes<T>), one set per worker, zeroed as a range begins and, as it ends,
// reduced into the range's doubles (each entry's lanes pairwise) by the thread that ran it;
// totals() adds the ranges up in range order. The sums do not depend on which thread took
// which range, and what is left after the threads is a few doubles per entry. (Adding up all
// ranges' lanes after the threads, one thread working, the first MNIST layer's weight
// gradient took 1/0.92 of the time it takes now on 2 threads of Zen 4, with 8 ranges of 6656
// floats; 1/0.98 on one thread.)
template <typename T, ptrdiff_t Lanes = conv_lanes<T>>
class RangeLaneSums {
  public:
    static constexpr ptrdiff_t lanes = Lanes;

    RangeLaneSums(const ImageRanges& ranges, ptrdiff_t entries)
        : entries_(entries), ranges_(ranges.count),
          worker_stride_(worker_stride<T>(entries * lanes)),
          lane_sums_(ranges.count * worker_stride_), range_sums_(ranges.count * entries) {}

    // The worker's lane sums (entries, lanes), zeroed, for the kernels to add a range into
    T* begin_range(int worker) {
        T* sums = lane_sums_.data() + worker * worker_stride_;
        std::fill(sums, sums + entries_ * lanes, T(0));
        return sums;
    }

    // The worker's lane sums into range `range`'s doubles
    void end_range(int range, int worker) {
        const T* sums = lane_sums_.data() + worker * worker_stride_;
        double* out = range_sums_.data() + range * entries_;
        for (ptrdiff_t e = 0; e < entries_; ++e) {
            // (unrolled, so that the lanes stay in registers)
            double lane[lanes];
#pragma GCC unroll 16
            for (ptrdiff_t l = 0; l < lanes; ++l) lane[l] = sums[e * lanes + l];
#pragma GCC unroll 4
            for (ptrdiff_t width = lanes / 2; width >= 1; width /= 2)
#pragma GCC unroll 8
                for (ptrdiff_t l = 0; l < width; ++l) lane[l] += lane[l + width];
            out[e] = lane[0];
        }
    }

    // out (entries,) = the ranges' sums added in range order
    void totals(double* out) const {
        std::copy(range_sums_.data(), range_sums_.data() + entries_, out);
        for (int r = 1; r < ranges_; ++r)
            for (ptrdiff_t e = 0; e < entries_; ++e) out[e] += range_sums_[r * entries_ + e];
    }

  private:
    ptrdiff_t entries_;
    int ranges_;
    ptrdiff_t worker_stride_;   // elements from one worker's lane sums to the next
    CachedArray<T> lane_sums_;
    CachedArray<double> range_sums_;
};

}  // namespace tensorcore
