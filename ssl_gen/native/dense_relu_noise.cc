// The epilogue of a weight-normed hidden layer of C and D, and the next layer's input noise, in one pass:
//   y = relu(p * s + b) + stddev * N(0, 1),   p = x·v [batch, units], s = g / |v| and b per unit.
// TensorFlow runs it as a Mul, an AddV2, a Relu and the noise, four passes over [batch, units] in kernels
// built without AVX2/AVX-512, and backward as a ReluGrad, two Muls and two Sums; beside the step's
// matmuls these small ops were most of what kept the MLP step under 70 % of the matmul peak
// (docs/RESULTS.md, throughput). The noise is the one SslGenAddGaussianNoise would add to relu(p*s + b):
// normal i of the seed's stream goes to element i.
#include <algorithm>
#include <cstdint>
#include <string>

#include "tensorflow/core/framework/common_shape_fns.h"
#include "tensorflow/core/framework/op.h"
#include "tensorflow/core/framework/op_kernel.h"
#include "tensorflow/core/framework/shape_inference.h"
#include "tensorflow/core/util/work_sharder.h"
#include "activation_types.h"
#include "philox_normals.h"

namespace {

using ssl_gen_activations::from_float;
using ssl_gen_activations::to_float;
using ssl_gen_normals::kNormalsPerBlock;

constexpr int64_t kRowsPerBlock = 16;  // the backward pass's unit of work

inline float pre_activation(float product, float scale, float bias) { return product * scale + bias; }

// products [batch, units], and scales and bias of its units.
tensorflow::Status check_layer(const tensorflow::Tensor& products, const tensorflow::Tensor& scales,
                               const tensorflow::Tensor& bias) {
  if (products.dims() != 2) {
    return absl::InvalidArgumentError("products must be a matrix [batch, units], received shape " +
                                      products.shape().DebugString());
  }
  const int64_t units = products.dim_size(1);
  for (const auto& [tensor, name] : {std::pair{&scales, "column_scales"}, std::pair{&bias, "bias"}}) {
    if (tensor->dims() != 1 || tensor->dim_size(0) != units) {
      return absl::InvalidArgumentError(std::string(name) + " must be a vector of the " + std::to_string(units) +
                                        " units, received shape " + tensor->shape().DebugString());
    }
  }
  return absl::OkStatus();
}

// One row of the backward pass, accumulating the row's share of the scales' and bias' gradients.
template <typename T>
void backward_row(const T* __restrict g, const T* __restrict p, const float* __restrict s,
                  const float* __restrict b, int64_t units, T* __restrict dp, float* __restrict scale_sums,
                  float* __restrict bias_sums) {
  for (int64_t j = 0; j < units; ++j) {
    const float upstream = to_float(g[j]);  // loaded whatever the branch, so the select vectorises
    const float product = to_float(p[j]);
    const float passed = pre_activation(product, s[j], b[j]) > 0.0f ? upstream : 0.0f;
    dp[j] = from_float<T>(passed * s[j]);
    scale_sums[j] += passed * product;
    bias_sums[j] += passed;
  }
}

}  // namespace

// Products, output and their gradients are T (float, or bfloat16 under mixed precision); the scales, the
// bias and their gradients are float.
REGISTER_OP("SslGenScaleBiasReluNoise")
    .Input("products: T")
    .Input("column_scales: float")
    .Input("bias: float")
    .Input("seed: int64")
    .Input("stddev: float")
    .Output("y: T")
    .Attr(SSL_GEN_ACTIVATION_TYPE_ATTR)
    .SetShapeFn(::tensorflow::shape_inference::UnchangedShape);

template <typename T>
class ScaleBiasReluNoiseOp : public tensorflow::OpKernel {
 public:
  explicit ScaleBiasReluNoiseOp(tensorflow::OpKernelConstruction* context) : OpKernel(context) {}

  void Compute(tensorflow::OpKernelContext* context) override {
    const tensorflow::Tensor& products = context->input(0);
    const tensorflow::Tensor& scales = context->input(1);
    const tensorflow::Tensor& bias = context->input(2);
    const tensorflow::Tensor& seed = context->input(3);
    const tensorflow::Tensor& stddev_tensor = context->input(4);
    OP_REQUIRES_OK(context, check_layer(products, scales, bias));
    ssl_gen_normals::Stream stream;
    float stddev;
    OP_REQUIRES_OK(context, ssl_gen_normals::read_noise_inputs(seed, stddev_tensor, &stream, &stddev));
    tensorflow::Tensor* y = nullptr;
    OP_REQUIRES_OK(context, context->allocate_output(0, products.shape(), &y));
    const T* p = products.flat<T>().data();
    const float* s = scales.flat<float>().data();
    const float* b = bias.flat<float>().data();
    T* out = y->flat<T>().data();
    const int64_t units = products.dim_size(1), count = products.NumElements();
    const int64_t blocks = (count + kNormalsPerBlock - 1) / kNormalsPerBlock;
    auto work = [&](int64_t begin, int64_t end) {
      alignas(64) float normals[kNormalsPerBlock];
      alignas(64) float activations[kNormalsPerBlock];  // in float, so bfloat16 is rounded once
      for (int64_t block = begin; block < end; ++block) {
        const int64_t first = block * kNormalsPerBlock;
        const int64_t n = std::min<int64_t>(kNormalsPerBlock, count - first);
        // In runs within one row, so that each run's units are contiguous and the loop vectorises.
        for (int64_t i = 0; i < n;) {
          const int64_t column = (first + i) % units;
          const int64_t run = std::min<int64_t>(n - i, units - column);
          const T* pp = p + first + i;
          float* aa = activations + i;
          for (int64_t k = 0; k < run; ++k) {
            aa[k] = std::max(pre_activation(to_float(pp[k]), s[column + k], b[column + k]), 0.0f);
          }
          i += run;
        }
        if (stddev != 0.0f) {
          ssl_gen_normals::normals_block(static_cast<uint64_t>(block), stream, normals);
          for (int64_t k = 0; k < n; ++k) activations[k] += stddev * normals[k];
        }
        for (int64_t k = 0; k < n; ++k) out[first + k] = from_float<T>(activations[k]);
      }
    };
    const auto* workers = context->device()->tensorflow_cpu_worker_threads();
    tensorflow::Shard(workers->num_threads, workers->workers, blocks, 6 * kNormalsPerBlock, work);
  }
};

SSL_GEN_REGISTER_ACTIVATION_KERNELS("SslGenScaleBiasReluNoise", ScaleBiasReluNoiseOp);

// Given dL/dy: dL/dp = m * s, dL/ds = sum over the batch of m * p, dL/db = sum of m, where
// m = dL/dy where p * s + b > 0, else 0. The noise is additive, so it does not enter.
REGISTER_OP("SslGenScaleBiasReluGrad")
    .Input("gradient: T")
    .Input("products: T")
    .Input("column_scales: float")
    .Input("bias: float")
    .Output("products_gradient: T")
    .Output("scales_gradient: float")
    .Output("bias_gradient: float")
    .Attr(SSL_GEN_ACTIVATION_TYPE_ATTR)
    .SetShapeFn([](::tensorflow::shape_inference::InferenceContext* c) {
      c->set_output(0, c->input(1));
      c->set_output(1, c->input(2));
      c->set_output(2, c->input(2));
      return absl::OkStatus();
    });

template <typename T>
class ScaleBiasReluGradOp : public tensorflow::OpKernel {
 public:
  explicit ScaleBiasReluGradOp(tensorflow::OpKernelConstruction* context) : OpKernel(context) {}

  void Compute(tensorflow::OpKernelContext* context) override {
    const tensorflow::Tensor& gradient = context->input(0);
    const tensorflow::Tensor& products = context->input(1);
    const tensorflow::Tensor& scales = context->input(2);
    const tensorflow::Tensor& bias = context->input(3);
    OP_REQUIRES_OK(context, check_layer(products, scales, bias));
    OP_REQUIRES(context, gradient.shape() == products.shape(),
                absl::InvalidArgumentError("gradient must have the products' shape " +
                                           products.shape().DebugString() + ", received " +
                                           gradient.shape().DebugString()));
    tensorflow::Tensor *products_gradient = nullptr, *scales_gradient = nullptr, *bias_gradient = nullptr;
    OP_REQUIRES_OK(context, context->allocate_output(0, products.shape(), &products_gradient));
    OP_REQUIRES_OK(context, context->allocate_output(1, scales.shape(), &scales_gradient));
    OP_REQUIRES_OK(context, context->allocate_output(2, bias.shape(), &bias_gradient));
    const int64_t rows = products.dim_size(0), units = products.dim_size(1);
    const int64_t blocks = (rows + kRowsPerBlock - 1) / kRowsPerBlock;
    // Each block of rows sums its columns into its own row of `partial`; the blocks do not depend on the
    // threads, so neither do the sums.
    tensorflow::Tensor partial;
    OP_REQUIRES_OK(context, context->allocate_temp(tensorflow::DT_FLOAT, tensorflow::TensorShape({blocks, 2, units}),
                                                   &partial));
    const T* __restrict g = gradient.flat<T>().data();
    const T* __restrict p = products.flat<T>().data();
    const float* __restrict s = scales.flat<float>().data();
    const float* __restrict b = bias.flat<float>().data();
    T* __restrict dp = products_gradient->flat<T>().data();
    float* __restrict sums = partial.flat<float>().data();
    // Captured by value: pointers read through the closure would be reloaded after every store.
    auto work = [=](int64_t begin, int64_t end) {
      for (int64_t block = begin; block < end; ++block) {
        float* __restrict scale_sums = sums + block * 2 * units;
        float* __restrict bias_sums = scale_sums + units;
        std::fill(scale_sums, scale_sums + 2 * units, 0.0f);
        const int64_t last = std::min(rows, (block + 1) * kRowsPerBlock);
        for (int64_t r = block * kRowsPerBlock; r < last; ++r) {
          backward_row(g + r * units, p + r * units, s, b, units, dp + r * units, scale_sums, bias_sums);
        }
      }
    };
    const auto* workers = context->device()->tensorflow_cpu_worker_threads();
    tensorflow::Shard(workers->num_threads, workers->workers, blocks, 8 * kRowsPerBlock * units, work);
    float* ds = scales_gradient->flat<float>().data();
    float* db = bias_gradient->flat<float>().data();
    std::fill(ds, ds + units, 0.0f);
    std::fill(db, db + units, 0.0f);
    for (int64_t block = 0; block < blocks; ++block) {
      const float* scale_sums = sums + block * 2 * units;
      for (int64_t j = 0; j < units; ++j) {
        ds[j] += scale_sums[j];
        db[j] += scale_sums[units + j];
      }
    }
  }
};

SSL_GEN_REGISTER_ACTIVATION_KERNELS("SslGenScaleBiasReluGrad", ScaleBiasReluGradOp);
