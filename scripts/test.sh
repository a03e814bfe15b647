#!/usr/bin/env bash
# The test suite, from a fresh machine: installs dependencies, fetches the
# default model, builds (Release) and runs every test; then rebuilds
# everything under AddressSanitizer + UndefinedBehaviorSanitizer and runs
# every test but the slow SmolLM2 ones again, and the thread-pool tests under
# ThreadSanitizer; then runs every libFuzzer
# target (scripts/fuzz.sh) briefly. Exits non-zero if anything fails.
#   FPTQ_TEST_JOBS=N   parallel ctest jobs (default: number of cores)
#   FPTQ_FUZZ_SECONDS=N   fuzzing time per target (default 60)
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${FPTQ_TEST_JOBS:-$(nproc)}

scripts/install.sh
scripts/fetch_model.sh

echo "== build (Release)"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
ninja -C build
echo "== tests (Release)"
(cd build && ctest --output-on-failure -j "$JOBS")

# Run the kernel tests once per ISA this machine supports (the default run
# already covers every compiled-in ISA against the scalar reference; this
# checks the FPTQ_ISA override end to end).
flags=$(grep -m1 '^flags' /proc/cpuinfo || true)
has() { for f in "$@"; do [[ " $flags " == *" $f "* ]] || return 1; done; }
isas=(ref)
has avx2 fma && isas+=(avx2)
has avx512f avx512bw avx512vl avx512_vnni && isas+=(avx512vnni)
for isa in "${isas[@]}"; do
  echo "== kernel tests under FPTQ_ISA=$isa"
  (cd build && FPTQ_ISA=$isa ctest --output-on-failure -j "$JOBS" -L kernels)
done

echo "== build (ASan + UBSan, optimized: every library, tool and test)"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFPTQ_SANITIZE=ON \
  -DFPTQ_BUILD_BENCH=OFF >/dev/null
ninja -C build-asan
echo "== tests (ASan + UBSan: every test but the slow SmolLM2 ones, the CLI tests included)"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --output-on-failure -j "$JOBS" -LE slow)

echo "== build (TSan: the thread-pool tests)"
cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFPTQ_TSAN=ON \
  -DFPTQ_BUILD_BENCH=OFF >/dev/null
ninja -C build-tsan core_thread_pool_test
echo "== tests (TSan)"
(cd build-tsan && TSAN_OPTIONS=halt_on_error=1 ctest --output-on-failure -R 'ThreadPool')

# libFuzzer targets (fuzz/): a short run per target over the committed corpus.
echo "== fuzzing (${FPTQ_FUZZ_SECONDS:-60} s per target)"
scripts/fuzz.sh "${FPTQ_FUZZ_SECONDS:-60}"
echo "== all tests passed"
