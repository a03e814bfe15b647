// ISA names, FPTQ_ISA parsing/selection, and the per-ISA tables.
#include "kernels/dispatch.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "core/error.h"
#include "kernels/kernel_table.h"

namespace fptq::kernels {
namespace {

TEST(Dispatch, NamesRoundTrip) {
  for (Isa isa : {Isa::Ref, Isa::Avx2, Isa::Avx512Vnni}) EXPECT_EQ(parse_isa(isa_name(isa)), isa);
  EXPECT_STREQ(isa_name(Isa::Ref), "ref");
  EXPECT_STREQ(isa_name(Isa::Avx2), "avx2");
  EXPECT_STREQ(isa_name(Isa::Avx512Vnni), "avx512vnni");
}

TEST(Dispatch, UnknownNamesThrowWithTheValueInTheMessage) {
  for (const char* bad : {"", "AVX2", "avx512", "sse4", "avx2 ", "neon"}) {
    try {
      parse_isa(bad);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const Error& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find("FPTQ_ISA='" + std::string(bad) + "'"), std::string::npos) << msg;
      EXPECT_NE(msg.find("ref, avx2 or avx512vnni"), std::string::npos) << msg;
    }
  }
  EXPECT_THROW(select_isa("bogus"), Error);
}

TEST(Dispatch, SelectHonoursTheOverride) {
  EXPECT_EQ(select_isa(nullptr), best_supported_isa());
  EXPECT_EQ(select_isa(""), best_supported_isa());
  EXPECT_EQ(select_isa("ref"), Isa::Ref);
  for (Isa isa : {Isa::Avx2, Isa::Avx512Vnni}) {
    if (isa_supported(isa))
      EXPECT_EQ(select_isa(isa_name(isa)), isa);
    else
      EXPECT_THROW(select_isa(isa_name(isa)), Error);
  }
}

TEST(Dispatch, SupportIsOrdered) {
  EXPECT_TRUE(isa_supported(Isa::Ref));
  if (isa_supported(Isa::Avx512Vnni)) {
    EXPECT_TRUE(isa_supported(Isa::Avx2));
  }
  EXPECT_TRUE(isa_supported(best_supported_isa()));
}

// ctest also runs this with FPTQ_ISA=ref, =avx2 and =bogus (tests/kernels/CMakeLists.txt).
TEST(Dispatch, ActiveIsaFollowsEnvironment) {
  const char* env = std::getenv("FPTQ_ISA");
  bool valid = true;
  try {
    select_isa(env);
  } catch (const Error&) {
    valid = false;
  }
  if (!valid) {
    EXPECT_THROW(active_isa(), Error) << "FPTQ_ISA=" << env;
    EXPECT_THROW(active_isa(), Error) << "a bad value must keep failing";
    return;
  }
  EXPECT_EQ(active_isa(), select_isa(env));
  if (env && *env) {
    EXPECT_STREQ(isa_name(active_isa()), env);
  }
  EXPECT_EQ(active_kernels().isa, active_isa());
}

TEST(Dispatch, TablesAreCompleteAndLabelled) {
  for (Isa isa : {Isa::Ref, Isa::Avx2, Isa::Avx512Vnni}) {
    if (!isa_supported(isa)) {
      EXPECT_THROW(kernels_for(isa), Error);
      continue;
    }
    const KernelTable& t = kernels_for(isa);
    EXPECT_EQ(t.isa, isa);
    EXPECT_GE(t.gemm_mr, 1);
    EXPECT_TRUE(t.gemm_f32_micro && t.gemv_f32 && t.dot_f32 && t.axpy_f32 && t.rmsnorm_f32 &&
                t.softmax_f32 && t.silu_mul_f32);
  }
}

}  // namespace
}  // namespace fptq::kernels
