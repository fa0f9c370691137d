// The column norms |v_j| of a weight-normed kernel v [fan_in, units] in one read of v, and their gradient
// v * (dL/d|v_j| / |v_j|) in one pass, alone or added to v's other gradient. TensorFlow's own ops take
// Square and Sum forward, then Tile and two Muls backward, each a pass over v in kernels built without
// AVX2/AVX-512.
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "tensorflow/core/framework/common_shape_fns.h"
#include "tensorflow/core/framework/op.h"
#include "tensorflow/core/framework/op_kernel.h"
#include "tensorflow/core/framework/shape_inference.h"
#include "tensorflow/core/util/work_sharder.h"

namespace {

constexpr int64_t kColumnsPerShard = 64;  // a shard's accumulators stay in registers / L1

tensorflow::Status require_matrix(const tensorflow::Tensor& tensor, const char* name) {
  if (tensor.dims() != 2) {
    return absl::InvalidArgumentError(std::string(name) + " must be a matrix [fan_in, units], received shape " +
                                      tensor.shape().DebugString());
  }
  return absl::OkStatus();
}

tensorflow::Status require_kernel_and_column_scales(const tensorflow::Tensor& kernel,
                                                    const tensorflow::Tensor& scales) {
  TF_RETURN_IF_ERROR(require_matrix(kernel, "kernel"));
  if (scales.dims() != 1 || scales.dim_size(0) != kernel.dim_size(1)) {
    return absl::InvalidArgumentError("column_scales must be a vector of the kernel's " +
                                      std::to_string(kernel.dim_size(1)) + " columns, received " +
                                      scales.shape().DebugString());
  }
  return absl::OkStatus();
}

}  // namespace

REGISTER_OP("SslGenColumnNorms")
    .Input("kernel: float")
    .Output("norms: float")
    .SetShapeFn([](::tensorflow::shape_inference::InferenceContext* c) {
      ::tensorflow::shape_inference::ShapeHandle kernel;
      TF_RETURN_IF_ERROR(c->WithRank(c->input(0), 2, &kernel));
      c->set_output(0, c->Vector(c->Dim(kernel, 1)));
      return absl::OkStatus();
    });

class ColumnNormsOp : public tensorflow::OpKernel {
 public:
  explicit ColumnNormsOp(tensorflow::OpKernelConstruction* context) : OpKernel(context) {}

  void Compute(tensorflow::OpKernelContext* context) override {
    const tensorflow::Tensor& kernel = context->input(0);
    OP_REQUIRES_OK(context, require_matrix(kernel, "kernel"));
    const int64_t rows = kernel.dim_size(0), columns = kernel.dim_size(1);
    tensorflow::Tensor* norms = nullptr;
    OP_REQUIRES_OK(context, context->allocate_output(0, tensorflow::TensorShape({columns}), &norms));
    const float* v = kernel.flat<float>().data();
    float* out = norms->flat<float>().data();
    const int64_t shards = (columns + kColumnsPerShard - 1) / kColumnsPerShard;
    auto work = [&](int64_t begin, int64_t end) {
      for (int64_t shard = begin; shard < end; ++shard) {
        const int64_t first = shard * kColumnsPerShard;
        const int64_t width = std::min(kColumnsPerShard, columns - first);
        float sums[kColumnsPerShard] = {0.0f};
        for (int64_t r = 0; r < rows; ++r) {
          const float* row = v + r * columns + first;
          for (int64_t j = 0; j < width; ++j) sums[j] += row[j] * row[j];
        }
        for (int64_t j = 0; j < width; ++j) out[first + j] = std::sqrt(sums[j]);
      }
    };
    const auto* workers = context->device()->tensorflow_cpu_worker_threads();
    tensorflow::Shard(workers->num_threads, workers->workers, shards, 2 * rows * kColumnsPerShard, work);
  }
};

REGISTER_KERNEL_BUILDER(Name("SslGenColumnNorms").Device(tensorflow::DEVICE_CPU), ColumnNormsOp);

REGISTER_OP("SslGenScaleColumns")
    .Input("kernel: float")
    .Input("column_scales: float")
    .Output("scaled: float")
    .SetShapeFn(::tensorflow::shape_inference::UnchangedShape);

class ScaleColumnsOp : public tensorflow::OpKernel {
 public:
  explicit ScaleColumnsOp(tensorflow::OpKernelConstruction* context) : OpKernel(context) {}

  void Compute(tensorflow::OpKernelContext* context) override {
    const tensorflow::Tensor& kernel = context->input(0);
    const tensorflow::Tensor& scales = context->input(1);
    OP_REQUIRES_OK(context, require_kernel_and_column_scales(kernel, scales));
    tensorflow::Tensor* scaled = nullptr;
    OP_REQUIRES_OK(context, context->allocate_output(0, kernel.shape(), &scaled));
    const int64_t columns = kernel.dim_size(1);
    const float* v = kernel.flat<float>().data();
    const float* c = scales.flat<float>().data();
    float* out = scaled->flat<float>().data();
    auto work = [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        const int64_t offset = r * columns;
        for (int64_t j = 0; j < columns; ++j) out[offset + j] = v[offset + j] * c[j];
      }
    };
    const auto* workers = context->device()->tensorflow_cpu_worker_threads();
    tensorflow::Shard(workers->num_threads, workers->workers, kernel.dim_size(0), columns, work);
  }
};

REGISTER_KERNEL_BUILDER(Name("SslGenScaleColumns").Device(tensorflow::DEVICE_CPU), ScaleColumnsOp);

// gradient + v * c per column: the kernel's gradient with weight norm's path through |v| added once per
// update (ssl_gen/norm_gradients.py), in one pass, in the gradient's buffer when nothing else holds it.
REGISTER_OP("SslGenAddScaledColumns")
    .Input("gradient: float")
    .Input("kernel: float")
    .Input("column_scales: float")
    .Output("sum: float")
    .SetShapeFn([](::tensorflow::shape_inference::InferenceContext* c) {
      c->set_output(0, c->input(1));
      return absl::OkStatus();
    });

class AddScaledColumnsOp : public tensorflow::OpKernel {
 public:
  explicit AddScaledColumnsOp(tensorflow::OpKernelConstruction* context) : OpKernel(context) {}

  void Compute(tensorflow::OpKernelContext* context) override {
    const tensorflow::Tensor& gradient = context->input(0);
    const tensorflow::Tensor& kernel = context->input(1);
    const tensorflow::Tensor& scales = context->input(2);
    OP_REQUIRES_OK(context, require_kernel_and_column_scales(kernel, scales));
    OP_REQUIRES(context, gradient.shape() == kernel.shape(),
                absl::InvalidArgumentError("gradient must have the kernel's shape " + kernel.shape().DebugString() +
                                           ", received " + gradient.shape().DebugString()));
    tensorflow::Tensor* sum = nullptr;
    OP_REQUIRES_OK(context, context->forward_input_or_allocate_output({0}, 0, kernel.shape(), &sum));
    const int64_t columns = kernel.dim_size(1);
    const float* g = gradient.flat<float>().data();
    const float* v = kernel.flat<float>().data();
    const float* c = scales.flat<float>().data();
    float* out = sum->flat<float>().data();
    auto work = [g, v, c, out, columns](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        const int64_t offset = r * columns;
        for (int64_t j = 0; j < columns; ++j) out[offset + j] = g[offset + j] + v[offset + j] * c[j];
      }
    };
    const auto* workers = context->device()->tensorflow_cpu_worker_threads();
    tensorflow::Shard(workers->num_threads, workers->workers, kernel.dim_size(0), 2 * columns, work);
  }
};

REGISTER_KERNEL_BUILDER(Name("SslGenAddScaledColumns").Device(tensorflow::DEVICE_CPU), AddScaledColumnsOp);
