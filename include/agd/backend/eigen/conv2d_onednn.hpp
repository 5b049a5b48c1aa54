// Conv2d on the CPU backend with oneDNN's convolutions (float; backend/eigen/conv2d.hpp
// chooses). Each pool thread runs oneDNN's direct convolution, single-threaded: forward and
// backward to the input on its own block of samples, backward to the weights for its own block
// of output channels over the whole batch (a block of rows of dW: every dW entry has one
// writer, and no thread's partial sum needs adding up). Measured on the 2-core EPYC against
// splitting the weight gradient by samples: the same speed for layers of up to 256 channels,
// 1.4-2.5x faster for the 512-channel layers at 4x4 and 2x2 of ResNet-18 and VGG-16, whose
// per-thread problem is too small for oneDNN's kernel (docs/cpu-gemm.md).
//
// Layouts. The images are in the layout their views say (core/view.hpp): the network keeps the
// activations between image layers in the channel-blocked layout oneDNN's JIT kernels run on
// (nChw16c with AVX-512), so a convolution reads and writes them with no reorder; the first
// convolution reads the CHW input, as oneDNN's kernels for few input channels do. The weights
// stay in agd's layout (layers/conv2d.hpp), which AGD's per-slice norms read: oneDNN sees that
// layout as the OIHW tensor with strides {1, Cout, K*Cin*Cout, Cin*Cout}, and each pass
// converts it once into the blocked layout the primitive chose (onednn::resources), which
// costs about 1% of a VGG-16 step. The weight gradient is reordered from the primitive's layout
// into agd's by the thread that computed it.
#pragma once

#include <cstddef>
#include <cstring>

#include "agd/backend/eigen/backend.hpp"
#include "agd/backend/eigen/onednn.hpp"
#include "agd/layers/conv2d.hpp"

#ifdef AGD_WITH_ONEDNN

namespace agd::eigen {

template <BoundConv2d L>
struct onednn_convolution {
  static constexpr conv_geometry geometry = L::geometry;
  static constexpr std::size_t out_channels = L::output_channels;

  /// Whether the views are ones this kernel runs on: whole columns one after the other, one
  /// side at least in a blocked layout. (Between two CHW images oneDNN 2.6 has only its GEMM-
  /// based convolution, which allocates its packing buffers on every call and runs no faster
  /// than im2row with Eigen's GEMM, which the caller runs instead.)
  template <class A, class B>
  static bool runs_on(matrix_view<A> a, matrix_view<B> b) {
    return a.contiguous() && b.contiguous() && (a.layout.blocked() || b.layout.blocked());
  }
  /// The same for the weight gradient, whose dy may be a block of rows (it is gathered).
  template <class A, class B>
  static bool runs_weight_gradient_on(matrix_view<A> x, matrix_view<B> dy) {
    return x.contiguous() && (x.layout.blocked() || dy.layout.blocked());
  }

  // Each pass returns false, having done nothing, where oneDNN has only its reference kernel for
  // these shapes and layouts on this CPU; the caller then runs im2row (backend/eigen/conv2d.hpp).

  // In bf16 (core/precision.hpp) the primitives multiply bf16 inputs into float outputs: the
  // weights are rounded by the same once-per-pass conversion into the primitive's layout, and
  // the images read by a pass are rounded into the thread's bf16 staging, in their own layout.

  static bool forward(cpu::context& ctx, matrix_view<const float> w, matrix_view<const float> x,
                      matrix_view<float> y) {
    onednn::primitive& conv =
        primitive_for(ctx, onednn::convolution_forward, x.cols, x.layout.block, y.layout.block);
    if (conv.reference) return false;
    const void* weights = ctx.onednn.converted_weights(w.data, our_weights(), conv.descs[1]);
    ctx.onednn.run(conv, {inputs_of(ctx, x), weights, y.data});
    return true;
  }

  static bool backward_inputs(cpu::context& ctx, matrix_view<const float> w,
                              matrix_view<const float> dy, matrix_view<float> dx) {
    onednn::primitive& conv = primitive_for(ctx, onednn::convolution_backward_data, dy.cols,
                                            dx.layout.block, dy.layout.block);
    if (conv.reference) return false;
    const void* weights = ctx.onednn.converted_weights(w.data, our_weights(), conv.descs[1]);
    ctx.onednn.run(conv, {inputs_of(ctx, dy), weights, dx.data});
    return true;
  }

  /// A block of rows of dW (output channels; a whole number of the layout's channel groups) =
  /// the sum over every sample of x and the matching rows of dy.
  static bool backward_weights(cpu::context& ctx, matrix_view<const float> x,
                               matrix_view<const float> dy, matrix_view<float> dw) {
    const std::size_t channels = dw.rows;
    if (x.cols == 0) {
      for (std::size_t c = 0; c < dw.cols; ++c) std::memset(dw.column(c), 0, channels * 4);
      return true;
    }
    onednn::primitive& conv = primitive_for(ctx, onednn::convolution_backward_weights, x.cols,
                                            x.layout.block, dy.layout.block, channels);
    if (conv.reference) return false;
    // This block's rows of dy, one sample after the other (a sample's rows of a block of whole
    // channel groups are contiguous in either layout).
    const void* gradients = dy.data;
    const void* images = x.data;
    if (ctx.precision == compute_precision::bf16) {
      // Both rounded: every sample of x (each thread rounds all of it: a bf16 copy is half the
      // size of x, and the products over it are 2 * this block's channels * K^2 per value), and
      // this block's rows of dy.
      agd::bf16* rounded = ctx.onednn.bf16_staging(x.rows * x.cols + dy.rows * dy.cols);
      onednn::round_into_bf16(x.data, x.rows * x.cols, rounded);
      images = rounded;
      rounded += x.rows * x.cols;
      for (std::size_t j = 0; j < dy.cols; ++j)
        onednn::round_into_bf16(dy.column(j), dy.rows, rounded + j * dy.rows);
      gradients = rounded;
    } else if (!dy.contiguous()) {
      float* gathered = ctx.onednn.operand_staging(dy.rows * dy.cols);
      for (std::size_t j = 0; j < dy.cols; ++j)
        std::memcpy(gathered + j * dy.rows, dy.column(j), dy.rows * sizeof(float));
      gradients = gathered;
    }
    void* theirs = ctx.onednn.staging(onednn::size_of(conv.descs[1]));
    ctx.onednn.run(conv, {images, theirs, gradients});
    // Their layout into ours (these rows of agd's dW): a reorder made once per shape.
    onednn::primitive_key key =
        conv_key(onednn::reorder, x.cols, x.layout.block, dy.layout.block, channels, ctx.precision);
    key.values[11] = std::int64_t(dw.stride);
    onednn::primitive& back = ctx.onednn.get(
        key, [&] { return onednn::make_reorder(conv.descs[1], our_weights(channels, dw.stride)); });
    ctx.onednn.run(back, {theirs, dw.data});
    return true;
  }

 private:
  static constexpr std::size_t K = geometry.kernel, Cin = geometry.channels;

  static onednn::primitive_key conv_key(onednn::primitive_kind kind, std::size_t n,
                                        unsigned in_block, unsigned out_block, std::size_t channels,
                                        compute_precision precision) {
    const auto d = [](std::size_t v) { return std::int64_t(v); };
    onednn::primitive_key key{
        kind,
        {d(n), d(Cin), d(geometry.height), d(geometry.width), d(channels), d(K), d(geometry.stride),
         d(geometry.padding), d(in_block), d(out_block)}};
    key.values[12] = std::int64_t(precision);
    return key;
  }

  /// The images a pass reads (x forward, dy backward to the input), contiguous columns: as they
  /// are in fp32, rounded into the thread's bf16 staging in bf16.
  static const void* inputs_of(cpu::context& ctx, matrix_view<const float> images) {
    if (ctx.precision != compute_precision::bf16) return images.data;
    agd::bf16* rounded = ctx.onednn.bf16_staging(images.rows * images.cols);
    onednn::round_into_bf16(images.data, images.rows * images.cols, rounded);
    return rounded;
  }

  /// `channels` rows of agd's weight matrix (Cout x K*K*Cin, column q = (ky*K + kx)*Cin + c,
  /// leading dimension `stride`) as an OIHW tensor.
  static dnnl_memory_desc_t our_weights(std::size_t channels = out_channels,
                                        std::size_t stride = out_channels) {
    const auto d = [](std::size_t v) { return dnnl_dim_t(v); };
    return onednn::strided_desc({d(channels), d(Cin), d(K), d(K)},
                                {1, d(stride), d(K * Cin * stride), d(Cin * stride)});
  }

  /// The convolution's descriptor for a block of n samples and `channels` output channels:
  /// input and output in the given layouts, weights in the layout the primitive chooses.
  /// In bf16 what a pass reads is bf16 (forward: src and weights; backward to the input: diff_dst
  /// and weights; backward to the weights: src and diff_dst) and what it writes float.
  static dnnl_convolution_desc_t describe(onednn::primitive_kind kind, std::size_t n,
                                          unsigned in_block, unsigned out_block,
                                          std::size_t channels, compute_precision precision) {
    const dnnl_data_type_t read = onednn::input_type(precision);
    const bool forward = kind == onednn::convolution_forward;
    const bool to_input = kind == onednn::convolution_backward_data;
    const dnnl_memory_desc_t src = onednn::image_desc(n, Cin, geometry.height, geometry.width,
                                                      in_block, to_input ? dnnl_f32 : read);
    const dnnl_memory_desc_t dst = onednn::image_desc(
        n, channels, geometry.out_height, geometry.out_width, out_block, forward ? dnnl_f32 : read);
    const auto d = [](std::size_t v) { return dnnl_dim_t(v); };
    const dnnl_memory_desc_t weights =
        onednn::tagged_desc({d(channels), d(Cin), d(K), d(K)}, dnnl_format_tag_any,
                            forward || to_input ? read : dnnl_f32);
    // agd's geometry pads P on the top and left; the bottom and right padding is what the
    // output size leaves (less than P, or negative, when the stride does not divide evenly).
    const dnnl_dims_t strides{d(geometry.stride), d(geometry.stride)};
    const dnnl_dims_t padding_l{d(geometry.padding), d(geometry.padding)};
    const dnnl_dims_t padding_r{dnnl_dim_t((geometry.out_height - 1) * geometry.stride + K) -
                                    d(geometry.height) - d(geometry.padding),
                                dnnl_dim_t((geometry.out_width - 1) * geometry.stride + K) -
                                    d(geometry.width) - d(geometry.padding)};
    dnnl_convolution_desc_t desc;
    if (kind == onednn::convolution_forward)
      onednn::check(dnnl_convolution_forward_desc_init(
                        &desc, dnnl_forward_training, dnnl_convolution_direct, &src, &weights,
                        nullptr, &dst, strides, padding_l, padding_r),
                    "dnnl_convolution_forward_desc_init");
    else if (kind == onednn::convolution_backward_data)
      onednn::check(
          dnnl_convolution_backward_data_desc_init(&desc, dnnl_convolution_direct, &src, &weights,
                                                   &dst, strides, padding_l, padding_r),
          "dnnl_convolution_backward_data_desc_init");
    else
      onednn::check(dnnl_convolution_backward_weights_desc_init(&desc, dnnl_convolution_direct,
                                                                &src, &weights, nullptr, &dst,
                                                                strides, padding_l, padding_r),
                    "dnnl_convolution_backward_weights_desc_init");
    return desc;
  }

  /// The primitive of one pass for n samples and `channels` output channels in these layouts,
  /// made on first use. Its arguments, in run()'s order: forward (src, weights, dst); backward to
  /// the input (diff_dst, weights, diff_src); backward to the weights (src, diff_weights,
  /// diff_dst): the weights always second.
  static onednn::primitive& primitive_for(cpu::context& ctx, onednn::primitive_kind kind,
                                          std::size_t n, unsigned in_block, unsigned out_block,
                                          std::size_t channels = out_channels) {
    const compute_precision precision = ctx.precision;
    return ctx.onednn.get(conv_key(kind, n, in_block, out_block, channels, precision), [&] {
      const onednn::attr_handle attr = onednn::user_scratchpad_attr();
      const dnnl_convolution_desc_t forward_desc =
          describe(onednn::convolution_forward, n, in_block, out_block, channels, precision);
      const onednn::primitive_desc_handle forward = onednn::make_primitive_desc(
          &forward_desc, attr.get(), nullptr, "making a convolution (forward)");
      if (kind == onednn::convolution_forward)
        return onednn::make_primitive(forward.get(), {{DNNL_ARG_SRC, dnnl_query_src_md},
                                                      {DNNL_ARG_WEIGHTS, dnnl_query_weights_md},
                                                      {DNNL_ARG_DST, dnnl_query_dst_md}});
      const dnnl_convolution_desc_t desc =
          describe(kind, n, in_block, out_block, channels, precision);
      const onednn::primitive_desc_handle pd = onednn::make_primitive_desc(
          &desc, attr.get(), forward.get(), "making a convolution (backward)");
      if (kind == onednn::convolution_backward_data)
        return onednn::make_primitive(pd.get(), {{DNNL_ARG_DIFF_DST, dnnl_query_diff_dst_md},
                                                 {DNNL_ARG_WEIGHTS, dnnl_query_weights_md},
                                                 {DNNL_ARG_DIFF_SRC, dnnl_query_diff_src_md}});
      return onednn::make_primitive(pd.get(), {{DNNL_ARG_SRC, dnnl_query_src_md},
                                               {DNNL_ARG_DIFF_WEIGHTS, dnnl_query_diff_weights_md},
                                               {DNNL_ARG_DIFF_DST, dnnl_query_diff_dst_md}});
    });
  }
};

}  // namespace agd::eigen

#endif  // AGD_WITH_ONEDNN
