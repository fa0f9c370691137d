"""Compiling the kernels: once per source, TensorFlow build, compiler and CPU; cached, and safe when
several runs start at once."""

import fcntl
import functools
import hashlib
import os
import shutil
import subprocess

import tensorflow as tf

from ssl_gen.cache import cache_dir

SOURCES = ("gaussian_noise.cc", "weight_norm.cc", "dense_relu_noise.cc", "optimizer.cc")
HEADERS = ("philox_normals.h", "activation_types.h")  # part of the cache key: the sources include them
LIBRARY_NAME = "ssl_gen_ops.so"
# -march=native: built where it runs (the cache key includes the CPU's flags). -fno-math-errno lets
# sqrt vectorise.
OPTIMIZATION_FLAGS = ("-O3", "-march=native", "-fno-math-errno", "-shared", "-fPIC")
# The Eigen that TensorFlow 2.21 ships has AVX512-FP16 code that GCC 12 fails to compile ("expected
# initializer before '<'" in PacketMathFP16.h), and -march=native turns it on wherever the CPU has
# AVX512-FP16 (Sapphire Rapids and later). The kernels use no half precision.
AVOIDED_TARGET_FLAGS = ("-mno-avx512fp16",)
COMPILE_TIMEOUT_SECONDS = 600


class BuildError(RuntimeError):
    """The kernels could not be compiled here; the message names the compiler and its error."""


def source_paths(names=SOURCES):
    here = os.path.dirname(os.path.abspath(__file__))
    return [os.path.join(here, name) for name in names]


def find_compiler():
    candidates = [os.environ.get("CXX")] if os.environ.get("CXX") else ["g++", "c++", "clang++"]
    for name in candidates:
        path = shutil.which(name)
        if path:
            return path
    raise BuildError(f"no C++ compiler found (looked for {', '.join(candidates)}; set CXX to choose one)")


def compile_command(compiler, sources, output):
    return [compiler, *OPTIMIZATION_FLAGS, *_accepted_flags(compiler, AVOIDED_TARGET_FLAGS), *sources,
            "-o", output, *tf.sysconfig.get_compile_flags(), *tf.sysconfig.get_link_flags()]


@functools.lru_cache(maxsize=None)
def _accepted_flags(compiler, flags):
    """The flags this compiler knows: -mno-avx512fp16 is an error on ARM and before GCC 12."""
    return tuple(flag for flag in flags if _compiles_empty_file(compiler, flag))


def _compiles_empty_file(compiler, flag):
    try:
        result = subprocess.run([compiler, flag, "-x", "c++", "-fsyntax-only", "-"], input="",
                                capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0


def shared_library():
    """Path of the compiled library, compiling it first if this machine has no cached copy."""
    compiler = find_compiler()
    sources = source_paths()
    directory = cache_dir("native", _build_key(compiler, sources))
    path = os.path.join(directory, LIBRARY_NAME)
    if os.path.exists(path):
        return path
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another run may be compiling the same library
        if not os.path.exists(path):
            _compile(compiler, sources, path)
    return path


def _compile(compiler, sources, path):
    partial = f"{path}.{os.getpid()}.partial"
    try:
        result = _run(compile_command(compiler, sources, partial), compiler)
        if result.returncode != 0:
            # "file:line: error: …" in GCC's and Clang's format; TensorFlow's headers add pages of warnings.
            errors = [line for line in result.stderr.splitlines() if "error:" in line]
            raise BuildError(f"{compiler} exited with {result.returncode} compiling {', '.join(SOURCES)}:\n"
                             + "\n".join((errors or result.stderr.splitlines())[-20:]))
        os.replace(partial, path)  # readers never see a half-written library
    finally:
        if os.path.exists(partial):
            os.remove(partial)  # what a failed or interrupted build left


def _run(command, compiler):
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=COMPILE_TIMEOUT_SECONDS)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise BuildError(f"{compiler} failed to run: {error}") from error


def _build_key(compiler, sources):
    digest = hashlib.sha256()
    for source in sources + source_paths(HEADERS):
        with open(source, "rb") as file:
            digest.update(file.read())
    digest.update(repr((tf.__version__, compile_command(compiler, [], ""), _compiler_version(compiler),
                        _cpu_flags())).encode())
    return digest.hexdigest()[:16]


def _compiler_version(compiler):
    try:
        return subprocess.run([compiler, "--version"], capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.TimeoutExpired) as error:
        raise BuildError(f"{compiler} --version failed: {error}") from error


def _cpu_flags():
    try:
        with open("/proc/cpuinfo") as file:
            return next((line for line in file if line.startswith(("flags", "Features"))), "")
    except OSError:
        return ""
