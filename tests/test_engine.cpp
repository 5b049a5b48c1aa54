// The CPU backend's compute engine (backend/eigen/onednn.hpp where agd is built on oneDNN,
// Eigen's kernels otherwise) and the channel layouts it keeps between image layers
// (core/view.hpp): which activations the network may block, float networks on the engine
// against the same networks in double on Eigen's kernels (CHW throughout), a layer of one's own
// between image layers, and runs that repeat bit for bit.
//
// ctest runs this program twice: as the CPU is, and with DNNL_MAX_CPU_ISA=AVX2, so that the
// AVX2 kernels and their 8-channel blocks run on an AVX-512 machine too.
#include <agd/agd.hpp>
#include <agd/train/fit.hpp>

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace {

using agd::tensor_shape;

/// ||a - b||_F / ||b||_F.
double relative_difference(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b) {
  return (a - b).norm() / b.norm();
}

/// A float network and the same network in double (same weights), one batch through both:
/// the relative differences of the outputs and of every weight gradient. Double runs Eigen's
/// kernels in CHW; float runs the engine in the layouts it chooses.
template <class Net>
std::pair<double, double> float_against_double(std::size_t batch, unsigned seed) {
  using Reference = typename Net::template rebind<double>;
  Net net(batch, seed);
  Reference reference(batch, seed);
  for (std::size_t k = 0; k < Net::depth; ++k)
    reference.weight(k) = net.weight(k).template cast<double>();
  std::srand(seed);
  const Eigen::MatrixXf x =
      Eigen::MatrixXf::Random(Eigen::Index(Net::input_size), Eigen::Index(batch));
  const Eigen::MatrixXd y = net.forward(x).template cast<double>();
  const Eigen::MatrixXd y_reference = reference.forward(x.cast<double>());
  const Eigen::MatrixXf g =
      Eigen::MatrixXf::Random(Eigen::Index(Net::output_size), Eigen::Index(batch));
  net.backward(g);
  reference.backward(g.cast<double>());
  double worst_gradient = 0;
  for (std::size_t k = 0; k < Net::depth; ++k)
    worst_gradient =
        std::max(worst_gradient, relative_difference(net.gradient(k).template cast<double>(),
                                                     Eigen::MatrixXd(reference.gradient(k))));
  return {relative_difference(y, y_reference), worst_gradient};
}

using SmallCnn =
    agd::Sequential<agd::Input<1, 12, 12>, agd::Conv2d<1, 16, 3>, agd::Sqrt2Relu, agd::MaxPool2d<2>,
                    agd::Conv2d<16, 32, 3>, agd::Relu, agd::Flatten, agd::Dense<32 * 6 * 6, 10>>;

/// FashionCNN's first layer: with AVX2 (ctest's engine.avx2_kernels), oneDNN 2.6 has only its
/// reference kernel for this weight gradient (CHW image in, blocked out), so the engine runs
/// im2row on CHW copies of its operands instead.
using FirstLayerCnn =
    agd::Sequential<agd::Input<1, 28, 28>, agd::Conv2d<1, 32, 3>, agd::Sqrt2Relu, agd::MaxPool2d<2>,
                    agd::Flatten, agd::Dense<32 * 14 * 14, 10>>;

template <std::size_t In, std::size_t Out, std::size_t Stride>
using Block = agd::Residual<agd::BatchNorm, agd::Relu, agd::Conv2d<In, Out, 3, Stride>,
                            agd::BatchNorm, agd::Relu, agd::Conv2d<Out, Out, 3>>;
using SmallResNet =
    agd::Sequential<agd::Input<3, 8, 8>, agd::Conv2d<3, 16, 3>, Block<16, 16, 1>, Block<16, 32, 2>,
                    agd::AvgPool2d<2>, agd::Flatten, agd::Dense<32 * 2 * 2, 10>>;

/// A layer of one's own between image layers that declares nothing about layouts: the network
/// must give it CHW, so its (position-dependent) maths stays right.
struct ChannelScale : agd::layer_capabilities {
  static constexpr bool shape_dependent = true;
  template <tensor_shape In>
  struct bind : agd::layer_capabilities {
    static constexpr std::size_t input_size = In.size();
    static constexpr std::size_t output_size(std::size_t) { return In.size(); }
    static constexpr bool shapes_output = true;
    static constexpr tensor_shape output_shape(tensor_shape) { return In; }
    static constexpr bool has_weights = false;
    static constexpr tensor_shape shape = In;
    static std::string name() { return "ChannelScale"; }
  };
  static std::string name() { return "ChannelScale"; }
};

}  // namespace

/// y = (1 + c / C) x for channel c: a different factor per channel, so a layout mix-up shows.
template <tensor_shape In, class Backend>
struct agd::layer_kernel<ChannelScale::bind<In>, Backend> : agd::kernel_defaults {
  template <class S>
  static void forward(typename Backend::context&, agd::matrix_view<const S> x,
                      agd::matrix_view<S> y, std::byte*) {
    for (std::size_t j = 0; j < x.cols; ++j)
      for (std::size_t r = 0; r < x.rows; ++r)
        y(r, j) = x(r, j) * S(1 + double(r / In.plane()) / double(In.channels));
  }
  template <class S>
  static void backward(typename Backend::context&, agd::matrix_view<const S>,
                       agd::matrix_view<const S>, agd::matrix_view<const S> dy,
                       agd::matrix_view<S> dx, std::byte*) {
    for (std::size_t j = 0; j < dy.cols; ++j)
      for (std::size_t r = 0; r < dy.rows; ++r)
        dx(r, j) = dy(r, j) * S(1 + double(r / In.plane()) / double(In.channels));
  }
};

namespace {
using CnnWithOwnLayer =
    agd::Sequential<agd::Input<1, 8, 8>, agd::Conv2d<1, 16, 3>, agd::Relu, ChannelScale,
                    agd::Conv2d<16, 16, 3>, agd::Relu, agd::Flatten, agd::Dense<16 * 8 * 8, 10>>;
}  // namespace

TEST_CASE("engine: which activations a network may keep in a blocked layout", "[engine]") {
  // Images of whole groups of 16 channels between layers that accept it; never the network's
  // input or output, nor a flat vector.
  constexpr auto cnn = SmallCnn::may_block;
  STATIC_REQUIRE(!cnn[0]);  // the caller's input
  STATIC_REQUIRE(!cnn[1]);  // 1 channel
  STATIC_REQUIRE((cnn[2] && cnn[3] && cnn[4] && cnn[5] && cnn[6]));
  STATIC_REQUIRE((!cnn[7] && !cnn[8]));  // Flatten's output, the output
  // A layer that declares nothing gets CHW on both sides, and so does the activation before it
  // (an element-wise layer needs its two sides alike).
  constexpr auto own = CnnWithOwnLayer::may_block;
  STATIC_REQUIRE((!own[2] && !own[3] && !own[4]));
  STATIC_REQUIRE(own[5]);
  // A residual sum with an identity skip: its input, its block's output and its output alike.
  constexpr auto resnet = SmallResNet::may_block;
  for (std::size_t i = 0; i < SmallResNet::layer_count; ++i)
    if (SmallResNet::skip_source[i] != SmallResNet::layer_count)
      CHECK(resnet[SmallResNet::skip_source[i]] == resnet[i + 1]);
}

TEST_CASE("engine: the CPU engine says what it runs and in which layout", "[engine]") {
  const std::string engine = agd::eigen::cpu::engine();
  INFO("engine " << engine);
  CHECK((engine == "onednn" || engine == "eigen"));
  SmallCnn net(4);
  const unsigned block = agd::eigen::cpu::channel_block<float>(net.context());
  CHECK((block == 1 || block == 8 || block == 16));
  if (engine == "eigen") CHECK(block == 1);
#ifdef AGD_WITH_ONEDNN
  INFO("oneDNN dispatches to " << agd::onednn::cpu_engine().isa);
  std::printf("engine: oneDNN on %s, channel block %u\n", agd::onednn::cpu_engine().isa.c_str(),
              block);
#endif
  for (std::size_t i = 0; i <= SmallCnn::layer_count; ++i)
    CHECK(net.activation_layout(i).block == (SmallCnn::may_block[i] ? block : 1u));
  // Double never blocks: Eigen's kernels read CHW.
  CHECK(agd::eigen::cpu::channel_block<double>(net.context()) == 1);
}

TEST_CASE("engine: float CNNs on the engine match double on Eigen's kernels", "[engine]") {
  // Float against double: about 1e-6 relative for outputs, 1e-5 for gradients; the margins
  // allow for any x86-64 and for batch norm over few samples amplifying rounding.
  for (unsigned threads : {1u, 2u}) {
    agd::set_threads(int(threads));
    INFO(threads << " threads");
    {
      const auto [output, gradient] = float_against_double<SmallCnn>(7, 1);
      CHECK(output < 1e-5);
      CHECK(gradient < 1e-4);
    }
    {
      const auto [output, gradient] = float_against_double<SmallResNet>(9, 2);
      CHECK(output < 1e-4);
      CHECK(gradient < 1e-3);
    }
    {
      const auto [output, gradient] = float_against_double<FirstLayerCnn>(32, 4);
      CHECK(output < 1e-5);
      CHECK(gradient < 1e-4);
    }
    {
      const auto [output, gradient] = float_against_double<CnnWithOwnLayer>(5, 3);
      CHECK(output < 1e-5);
      CHECK(gradient < 1e-4);
    }
  }
  agd::set_threads(0);
}

TEST_CASE("engine: a fixed seed and thread count give the same weights bit for bit", "[engine]") {
  const auto train = [] {
    SmallResNet net(16);
    agd::AGD optimizer(net, {.seed = 7});
    std::srand(11);
    const Eigen::MatrixXf x = Eigen::MatrixXf::Random(SmallResNet::input_size, 16);
    std::vector<std::int32_t> labels(16);
    for (std::size_t j = 0; j < labels.size(); ++j) labels[j] = std::int32_t(j % 10);
    for (int step = 0; step < 3; ++step) {
      net.input_buffer().leftCols(16) = x;
      agd::train::train_step<agd::MSELoss>(net, optimizer, std::span<const std::int32_t>(labels));
    }
    return net.weights_to_host();
  };
  agd::set_threads(2);
  const std::vector<float> first = train(), second = train();
  agd::set_threads(0);
  REQUIRE(first.size() == second.size());
  CHECK(first == second);
}
