// A network's whole Adam update, and the weight average's, each in one op over all its variables.
// TensorFlow's ResourceApplyAdam is one op per variable (35 per default MNIST step) built without
// AVX2/AVX-512, and the weight average was four ops per variable; on two cores each op also costs a
// thread pool's wake-ups, which perf showed to be as large a cost beside the matmuls as any kernel
// (docs/RESULTS.md, throughput). Both update the variables in place, under the variables' locks, as
// TensorFlow's own apply ops do, and compute what those ops compute:
//   Adam:    m += (g - m)(1 - b1);  v += (g^2 - v)(1 - b2);  x -= lr sqrt(1 - b2^t) / (1 - b1^t) m / (sqrt(v) + eps)
//   average: a = d a + (1 - d) w
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "tensorflow/core/framework/op.h"
#include "tensorflow/core/framework/op_kernel.h"
#include "tensorflow/core/framework/resource_mgr.h"
#include "tensorflow/core/framework/resource_var.h"
#include "tensorflow/core/framework/shape_inference.h"
#include "tensorflow/core/util/work_sharder.h"

namespace {

using tensorflow::OpKernelContext;
using tensorflow::Tensor;
using tensorflow::Var;

constexpr int64_t kChunk = 16384;  // elements per unit of work: small variables are one unit each

// Scalar input `index`, named `name` in the error when it is not a scalar.
tensorflow::Status read_scalar(OpKernelContext* context, int index, const char* name, float* value) {
  const Tensor& input = context->input(index);
  if (input.NumElements() != 1) {
    return absl::InvalidArgumentError(std::string(name) + " must be a scalar, received shape " +
                                      input.shape().DebugString());
  }
  *value = input.flat<float>()(0);
  return absl::OkStatus();
}

// The variables behind resource inputs [first, first + count), locked together (in address order, as
// TensorFlow's training ops lock, so no two ops can deadlock) for as long as this object lives.
class LockedVariables {
 public:
  tensorflow::Status acquire(OpKernelContext* context, int first, int count) {
    for (int i = first; i < first + count; ++i) {
      tensorflow::core::RefCountPtr<Var> variable;
      TF_RETURN_IF_ERROR(LookupResource(context, tensorflow::HandleFromInput(context, i), &variable));
      variables_.push_back(std::move(variable));
    }
    std::vector<tensorflow::mutex*> mutexes;
    for (const auto& variable : variables_) mutexes.push_back(variable->mu());
    std::sort(mutexes.begin(), mutexes.end());
    mutexes.erase(std::unique(mutexes.begin(), mutexes.end()), mutexes.end());
    for (tensorflow::mutex* mu : mutexes) locks_.emplace_back(*mu);
    return absl::OkStatus();
  }

  // Variable i's float buffer, made exclusive first if a read still shares it (TensorFlow's
  // PrepareToUpdateVariable), after checking it holds `shape`; `role` names it in errors.
  tensorflow::Status writable(OpKernelContext* context, int i, const tensorflow::TensorShape& shape,
                              const std::string& role, float** data) {
    Tensor* tensor = variables_[i]->tensor();
    if (!tensor->IsInitialized() || tensor->dtype() != tensorflow::DT_FLOAT || tensor->shape() != shape) {
      return absl::InvalidArgumentError(
          role + " must be an initialised float variable of shape " +
          shape.DebugString() + ", received " +
          (tensor->IsInitialized() ? tensorflow::DataTypeString(tensor->dtype()) + " " + tensor->shape().DebugString()
                                   : std::string("an uninitialised variable")));
    }
    if (variables_[i]->copy_on_read_mode.load() || !tensor->RefCountIsOne()) {
      Tensor copy;
      TF_RETURN_IF_ERROR(context->allocate_temp(tensorflow::DT_FLOAT, shape, &copy));
      std::memcpy(copy.flat<float>().data(), tensor->flat<float>().data(), sizeof(float) * shape.num_elements());
      *tensor = copy;
    }
    *data = tensor->flat<float>().data();
    return absl::OkStatus();
  }

 private:
  std::vector<tensorflow::core::RefCountPtr<Var>> variables_;
  std::vector<tensorflow::mutex_lock> locks_;
};

// Units of work over several arrays: (array, first element, count), none longer than kChunk.
struct Chunk {
  int array;
  int64_t first, count;
};

std::vector<Chunk> chunks_of(const std::vector<int64_t>& sizes) {
  std::vector<Chunk> chunks;
  for (int a = 0; a < static_cast<int>(sizes.size()); ++a) {
    for (int64_t first = 0; first < sizes[a]; first += kChunk) {
      chunks.push_back({a, first, std::min(kChunk, sizes[a] - first)});
    }
  }
  return chunks;
}

template <typename Work>
void shard_chunks(OpKernelContext* context, const std::vector<Chunk>& chunks, int64_t cost_per_element, Work work) {
  const auto* workers = context->device()->tensorflow_cpu_worker_threads();
  tensorflow::Shard(workers->num_threads, workers->workers, static_cast<int64_t>(chunks.size()),
                    cost_per_element * kChunk, [&](int64_t begin, int64_t end) {
                      for (int64_t c = begin; c < end; ++c) work(chunks[c]);
                    });
}

void adam_update(const float* __restrict g, float* __restrict x, float* __restrict m, float* __restrict v,
                 int64_t count, float alpha, float one_minus_beta_1, float one_minus_beta_2, float epsilon) {
  for (int64_t i = 0; i < count; ++i) {
    const float gradient = g[i];
    const float momentum = m[i] + (gradient - m[i]) * one_minus_beta_1;
    const float velocity = v[i] + (gradient * gradient - v[i]) * one_minus_beta_2;
    m[i] = momentum;
    v[i] = velocity;
    x[i] -= (momentum * alpha) / (std::sqrt(velocity) + epsilon);
  }
}

void average_update(const float* __restrict w, float* __restrict a, int64_t count, float decay) {
  const float rest = 1.0f - decay;
  for (int64_t i = 0; i < count; ++i) a[i] = decay * a[i] + rest * w[i];
}

}  // namespace

REGISTER_OP("SslGenApplyAdam")
    .Input("variables: N * resource")
    .Input("momentums: N * resource")
    .Input("velocities: N * resource")
    .Input("gradients: N * float")
    .Input("learning_rate: float")
    .Input("beta_1: float")
    .Input("beta_2: float")
    .Input("epsilon: float")
    .Input("beta_1_power: float")
    .Input("beta_2_power: float")
    .Attr("N: int >= 1")
    .SetIsStateful()
    .SetShapeFn(::tensorflow::shape_inference::NoOutputs);

class ApplyAdamOp : public tensorflow::OpKernel {
 public:
  explicit ApplyAdamOp(tensorflow::OpKernelConstruction* context) : OpKernel(context) {
    OP_REQUIRES_OK(context, context->GetAttr("N", &count_));
  }

  void Compute(OpKernelContext* context) override {
    const int n = count_, hyper = 4 * n;
    const char* names[] = {"learning_rate", "beta_1", "beta_2", "epsilon", "beta_1_power", "beta_2_power"};
    float values[6];
    for (int i = 0; i < 6; ++i) OP_REQUIRES_OK(context, read_scalar(context, hyper + i, names[i], &values[i]));
    const auto [learning_rate, beta_1, beta_2, epsilon, beta_1_power, beta_2_power] = values;
    const float alpha = learning_rate * std::sqrt(1.0f - beta_2_power) / (1.0f - beta_1_power);
    LockedVariables locked;
    OP_REQUIRES_OK(context, locked.acquire(context, 0, 3 * n));
    std::vector<float*> x(n), m(n), v(n);
    std::vector<const float*> g(n);
    std::vector<int64_t> sizes(n);
    for (int i = 0; i < n; ++i) {
      const Tensor& gradient = context->input(3 * n + i);
      g[i] = gradient.flat<float>().data();
      sizes[i] = gradient.NumElements();
      const std::string index = std::to_string(i);
      OP_REQUIRES_OK(context, locked.writable(context, i, gradient.shape(), "variable " + index, &x[i]));
      OP_REQUIRES_OK(context, locked.writable(context, n + i, gradient.shape(), "momentum " + index, &m[i]));
      OP_REQUIRES_OK(context, locked.writable(context, 2 * n + i, gradient.shape(), "velocity " + index, &v[i]));
    }
    shard_chunks(context, chunks_of(sizes), 20, [&](const Chunk& c) {
      adam_update(g[c.array] + c.first, x[c.array] + c.first, m[c.array] + c.first, v[c.array] + c.first,
                  c.count, alpha, 1.0f - beta_1, 1.0f - beta_2, epsilon);
    });
  }

 private:
  int count_;
};

REGISTER_KERNEL_BUILDER(Name("SslGenApplyAdam").Device(tensorflow::DEVICE_CPU), ApplyAdamOp);

REGISTER_OP("SslGenMovingAverage")
    .Input("averages: N * resource")
    .Input("values: N * float")
    .Input("decay: float")
    .Attr("N: int >= 1")
    .SetIsStateful()
    .SetShapeFn(::tensorflow::shape_inference::NoOutputs);

class MovingAverageOp : public tensorflow::OpKernel {
 public:
  explicit MovingAverageOp(tensorflow::OpKernelConstruction* context) : OpKernel(context) {
    OP_REQUIRES_OK(context, context->GetAttr("N", &count_));
  }

  void Compute(OpKernelContext* context) override {
    const int n = count_;
    float decay;
    OP_REQUIRES_OK(context, read_scalar(context, 2 * n, "decay", &decay));
    LockedVariables locked;
    OP_REQUIRES_OK(context, locked.acquire(context, 0, n));
    std::vector<float*> a(n);
    std::vector<const float*> w(n);
    std::vector<int64_t> sizes(n);
    for (int i = 0; i < n; ++i) {
      const Tensor& value = context->input(n + i);
      w[i] = value.flat<float>().data();
      sizes[i] = value.NumElements();
      OP_REQUIRES_OK(context, locked.writable(context, i, value.shape(), "average " + std::to_string(i), &a[i]));
    }
    shard_chunks(context, chunks_of(sizes), 4, [&](const Chunk& c) {
      average_update(w[c.array] + c.first, a[c.array] + c.first, c.count, decay);
    });
  }

 private:
  int count_;
};

REGISTER_KERNEL_BUILDER(Name("SslGenMovingAverage").Device(tensorflow::DEVICE_CPU), MovingAverageOp);
