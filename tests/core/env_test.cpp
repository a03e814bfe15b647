#include <gtest/gtest.h>

#include <filesystem>

#include "testing/testing.h"

// Every test must find the folders it needs, however it is started.
TEST(TestEnvironment, FoldersResolve) {
  EXPECT_TRUE(std::filesystem::exists(fptq::testing::source_dir() / "CMakeLists.txt"))
      << fptq::testing::source_dir();
  EXPECT_TRUE(std::filesystem::exists(fptq::testing::build_dir() / "CMakeCache.txt"))
      << fptq::testing::build_dir();
  EXPECT_TRUE(std::filesystem::exists(fptq::testing::shared_data("models/stories260K.gguf")))
      << fptq::testing::shared_dir();
  EXPECT_EQ(fptq::testing::models_dir().filename(), "models");
}
