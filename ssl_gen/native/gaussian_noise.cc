// x + stddev * N(0, 1) in one pass: the normals of the noise layers of C and D, drawn by Philox4x32-10
// (Salmon et al., 2011; the generator of TensorFlow's stateless ops) and the Box-Muller transform,
// written so that the compiler vectorises both for the machine it is built on. TensorFlow's pip wheel
// builds its element-wise kernels without AVX2/AVX-512, and drawing these normals with its ops was the
// largest cost of the MLP step after the matmuls (docs/RESULTS.md, throughput).
//
// Element i of the output takes normal i of the stream keyed by `seed`, so the draw does not depend on
// how the work is split between threads.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "tensorflow/core/framework/common_shape_fns.h"
#include "tensorflow/core/framework/op.h"
#include "tensorflow/core/framework/op_kernel.h"
#include "tensorflow/core/framework/shape_inference.h"
#include "tensorflow/core/util/work_sharder.h"
#include "activation_types.h"
#include "philox_normals.h"

using ssl_gen_normals::kNormalsPerBlock;
using ssl_gen_activations::from_float;
using ssl_gen_activations::to_float;
using ssl_gen_normals::normals_block;

REGISTER_OP("SslGenAddGaussianNoise")
    .Input("x: T")
    .Input("seed: int64")
    .Input("stddev: float")
    .Output("y: T")
    .Attr(SSL_GEN_ACTIVATION_TYPE_ATTR)
    .SetShapeFn(::tensorflow::shape_inference::UnchangedShape);

// bfloat16 activations (mixed precision) are noised in float and rounded once, to nearest even.
template <typename T>
class AddGaussianNoiseOp : public tensorflow::OpKernel {
 public:
  explicit AddGaussianNoiseOp(tensorflow::OpKernelConstruction* context) : OpKernel(context) {}

  void Compute(tensorflow::OpKernelContext* context) override {
    const tensorflow::Tensor& x = context->input(0);
    const tensorflow::Tensor& seed = context->input(1);
    const tensorflow::Tensor& stddev_tensor = context->input(2);
    ssl_gen_normals::Stream stream;
    float stddev;
    OP_REQUIRES_OK(context, ssl_gen_normals::read_noise_inputs(seed, stddev_tensor, &stream, &stddev));
    tensorflow::Tensor* y = nullptr;
    OP_REQUIRES_OK(context, context->forward_input_or_allocate_output({0}, 0, x.shape(), &y));
    const T* in = x.flat<T>().data();
    T* out = y->flat<T>().data();
    const int64_t count = x.NumElements();
    const int64_t blocks = (count + kNormalsPerBlock - 1) / kNormalsPerBlock;
    auto work = [&](int64_t begin, int64_t end) {
      alignas(64) float normals[kNormalsPerBlock];
      for (int64_t b = begin; b < end; ++b) {
        normals_block(static_cast<uint64_t>(b), stream, normals);
        const int64_t first = b * kNormalsPerBlock;
        const int64_t n = std::min<int64_t>(kNormalsPerBlock, count - first);
        for (int64_t i = 0; i < n; ++i) out[first + i] = from_float<T>(to_float(in[first + i]) + stddev * normals[i]);
      }
    };
    // Cost per block, in the sharder's rough cycles: ~1 ns per normal on one core.
    const auto* workers = context->device()->tensorflow_cpu_worker_threads();
    tensorflow::Shard(workers->num_threads, workers->workers, blocks, 4 * kNormalsPerBlock, work);
  }
};

SSL_GEN_REGISTER_ACTIVATION_KERNELS("SslGenAddGaussianNoise", AddGaussianNoiseOp);
