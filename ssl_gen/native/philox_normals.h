// Philox4x32-10 (Salmon et al., 2011; the generator of TensorFlow's stateless ops) and the Box-Muller
// transform, written so that the compiler vectorises both for the machine it is built on. Normal i of the
// stream keyed by a seed is the same whichever kernel draws it and however its work is split, so a kernel
// that fuses the noise into other work draws what SslGenAddGaussianNoise would.
#ifndef SSL_GEN_NATIVE_PHILOX_NORMALS_H_
#define SSL_GEN_NATIVE_PHILOX_NORMALS_H_

#include <cmath>
#include <cstdint>
#include <cstring>

#include "tensorflow/core/framework/tensor.h"

namespace ssl_gen_normals {

// A block is 16 Philox counters: 64 random words, 64 normals.
constexpr int kLanes = 16;
constexpr int kNormalsPerBlock = 4 * kLanes;

inline float as_float(uint32_t bits) { float f; std::memcpy(&f, &bits, 4); return f; }
inline uint32_t as_bits(float f) { uint32_t b; std::memcpy(&b, &f, 4); return b; }

// ln(u) for u in (0, 1], |error| < 1e-7; branch-free so the lanes vectorise.
inline float log_open_unit(float u) {
  uint32_t bits = as_bits(u);
  // Split u = m * 2^e with m in [sqrt(1/2), sqrt(2)): offsetting by the bits of sqrt(1/2) moves the cut.
  uint32_t shifted = bits - 0x3f3504f3u;
  int32_t exponent = static_cast<int32_t>(shifted) >> 23;
  float m = as_float((shifted & 0x7fffffu) + 0x3f3504f3u);
  float s = (m - 1.0f) / (m + 1.0f), s2 = s * s;
  float series = s * (2.0f + s2 * (2.0f / 3 + s2 * (2.0f / 5 + s2 * (2.0f / 7 + s2 * (2.0f / 9)))));
  return static_cast<float>(exponent) * 0.693147181f + series;
}

// The 64 normals of `block`. Counter of lane l: (block * 16 + l as two 32-bit words, c2, c3); key
// (k0, k1). Words (w0, w1) of a lane give its normals at l and 16 + l: radius from w0, angle from w1;
// words (w2, w3) give those at 32 + l and 48 + l.
inline void normals_block(uint64_t block, uint32_t k0_init, uint32_t k1_init, uint32_t c2, uint32_t c3,
                   float* __restrict out) {
  // 64-bit lanes holding 32-bit words: GCC and Clang vectorise the 32x32->64 products written on
  // vector types, not the same loop on scalars.
  typedef uint64_t Lanes __attribute__((vector_size(64)));
  constexpr int kVectors = kLanes / 8;
  const uint64_t low = 0xffffffffull;
  Lanes w0[kVectors], w1[kVectors], w2[kVectors], w3[kVectors];
  for (int v = 0; v < kVectors; ++v) {
    for (int l = 0; l < 8; ++l) {
      uint64_t counter = block * kLanes + v * 8 + l;
      w0[v][l] = counter & low;
      w1[v][l] = counter >> 32;
      w2[v][l] = c2;
      w3[v][l] = c3;
    }
  }
  uint64_t k0 = k0_init, k1 = k1_init;
  for (int round = 0; round < 10; ++round) {
    for (int v = 0; v < kVectors; ++v) {
      Lanes p0 = w0[v] * 0xD2511F53ull;
      Lanes p1 = w2[v] * 0xCD9E8D57ull;
      Lanes n0 = (p1 >> 32) ^ w1[v] ^ k0;
      Lanes n2 = (p0 >> 32) ^ w3[v] ^ k1;
      w1[v] = p1 & low;
      w3[v] = p0 & low;
      w0[v] = n0;
      w2[v] = n2;
    }
    k0 = (k0 + 0x9E3779B9ull) & low;
    k1 = (k1 + 0xBB67AE85ull) & low;
  }
  alignas(64) uint32_t words[4][kLanes];
  for (int v = 0; v < kVectors; ++v)
    for (int l = 0; l < 8; ++l) {
      words[0][v * 8 + l] = static_cast<uint32_t>(w0[v][l]);
      words[1][v * 8 + l] = static_cast<uint32_t>(w1[v][l]);
      words[2][v * 8 + l] = static_cast<uint32_t>(w2[v][l]);
      words[3][v * 8 + l] = static_cast<uint32_t>(w3[v][l]);
    }
  for (int half = 0; half < 2; ++half) {
    const uint32_t* radius_words = words[half ? 2 : 0];
    const uint32_t* angle_words = words[half ? 3 : 1];
    float* o = out + half * 2 * kLanes;
    for (int l = 0; l < kLanes; ++l) {
      // The top 24 bits, centred in their interval: u lies in (0, 1), so the radius is finite.
      float u = (static_cast<float>(radius_words[l] >> 8) + 0.5f) * (1.0f / 16777216.0f);
      float radius = std::sqrt(-2.0f * log_open_unit(u));
      // The angle: a quarter turn from the top two bits, and within it t in (-pi/4, pi/4) from the
      // next 22 bits, where short series give sin and cos to float precision. Centring t turns every
      // pair by pi/4, which leaves the (isotropic) distribution unchanged.
      uint32_t a = angle_words[l];
      float t = ((static_cast<float>((a >> 8) & 0x3fffffu) + 0.5f) * (1.0f / 4194304.0f) - 0.5f) *
                1.57079633f;
      float t2 = t * t;
      float sin_t = t * (1.0f + t2 * (-1.0f / 6 + t2 * (1.0f / 120 + t2 * (-1.0f / 5040 + t2 * (1.0f / 362880)))));
      float cos_t = 1.0f + t2 * (-0.5f + t2 * (1.0f / 24 + t2 * (-1.0f / 720 + t2 * (1.0f / 40320 + t2 * (-1.0f / 3628800)))));
      // A quarter turn q maps (cos t, sin t) to (cos, sin) of t + q*pi/2: odd q swap them, and the
      // signs follow q.
      uint32_t odd = (a >> 30) & 1u, mask = 0u - odd;
      uint32_t cb = (as_bits(cos_t) & ~mask) | (as_bits(sin_t) & mask);
      uint32_t sb = (as_bits(sin_t) & ~mask) | (as_bits(cos_t) & mask);
      uint32_t c_sign = ((a >> 31) ^ odd) << 31, s_sign = (a >> 31) << 31;
      o[l] = radius * as_float(cb ^ c_sign);
      o[kLanes + l] = radius * as_float(sb ^ s_sign);
    }
  }
}
// The stream a seed (two int64 words) keys: their low halves key Philox, their high halves fill the
// counter's upper words.
struct Stream {
  uint32_t k0, k1, c2, c3;
};

inline Stream stream_from_seed(int64_t seed0, int64_t seed1) {
  const uint64_t s0 = static_cast<uint64_t>(seed0), s1 = static_cast<uint64_t>(seed1);
  return {static_cast<uint32_t>(s0), static_cast<uint32_t>(s1), static_cast<uint32_t>(s0 >> 32),
          static_cast<uint32_t>(s1 >> 32)};
}

inline void normals_block(uint64_t block, const Stream& stream, float* __restrict out) {
  normals_block(block, stream.k0, stream.k1, stream.c2, stream.c3, out);
}

// The (seed, stddev) inputs of a noise kernel: checked, then read into the stream and the scale.
inline absl::Status read_noise_inputs(const tensorflow::Tensor& seed, const tensorflow::Tensor& stddev,
                                      Stream* stream, float* scale) {
  if (seed.NumElements() != 2) {
    return absl::InvalidArgumentError("seed must have 2 elements, received shape " + seed.shape().DebugString());
  }
  if (stddev.NumElements() != 1) {
    return absl::InvalidArgumentError("stddev must be a scalar, received shape " + stddev.shape().DebugString());
  }
  const auto words = seed.flat<int64_t>();
  *stream = stream_from_seed(words(0), words(1));
  *scale = stddev.flat<float>()(0);
  return absl::OkStatus();
}

}  // namespace ssl_gen_normals

#endif  // SSL_GEN_NATIVE_PHILOX_NORMALS_H_
