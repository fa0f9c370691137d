// Loads and stores of the activation kernels' element types: float32, and mixed precision's bfloat16,
// which the kernels widen to float, compute on, and round once, to nearest even, on the way out.
#ifndef SSL_GEN_NATIVE_ACTIVATION_TYPES_H_
#define SSL_GEN_NATIVE_ACTIVATION_TYPES_H_

#include "tensorflow/core/framework/numeric_types.h"

namespace ssl_gen_activations {

inline float to_float(float x) { return x; }
inline float to_float(Eigen::bfloat16 x) { return static_cast<float>(x); }

template <typename T>
inline T from_float(float x) { return static_cast<T>(x); }

}  // namespace ssl_gen_activations

// The attribute of an op whose activations are T, and its kernels for both types.
#define SSL_GEN_ACTIVATION_TYPE_ATTR "T: {float, bfloat16} = DT_FLOAT"
#define SSL_GEN_REGISTER_ACTIVATION_KERNELS(op_name, kernel)                                          \
  REGISTER_KERNEL_BUILDER(Name(op_name).Device(tensorflow::DEVICE_CPU).TypeConstraint<float>("T"),    \
                          kernel<float>);                                                             \
  REGISTER_KERNEL_BUILDER(                                                                            \
      Name(op_name).Device(tensorflow::DEVICE_CPU).TypeConstraint<Eigen::bfloat16>("T"),              \
      kernel<Eigen::bfloat16>)

#endif  // SSL_GEN_NATIVE_ACTIVATION_TYPES_H_
