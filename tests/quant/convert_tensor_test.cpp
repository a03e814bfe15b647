// check_output_path of the quantizers (convert_tensor.h): the same rules as
// the CLI's io::check_output_path, so a library caller cannot overwrite a
// file of the input model folder either.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "core/error.h"
#include "io/model_file.h"
#include "quant/convert_tensor.h"
#include "testing/testing.h"

namespace fptq::quant {
namespace {

namespace fs = std::filesystem;

std::string error_of(const io::ModelFile& src, const std::string& out) {
  try {
    check_output_path(src, out);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(CheckOutputPath, RefusesInputsFolderFilesDirectoriesAndMissingFolders) {
  testing::TempDir dir;
  fs::create_directory(dir / "hf");
  { std::ofstream(dir / "hf" / "model.safetensors") << "weights"; }
  { std::ofstream(dir / "m.gguf") << "gguf"; }
  io::ModelFile folder;
  folder.path = (dir / "hf").string();
  io::ModelFile file;
  file.path = (dir / "m.gguf").string();

  const std::string in_folder = (dir / "hf" / "model.safetensors").string();
  EXPECT_EQ(error_of(folder, in_folder), "output '" + in_folder + "' is the input model '" +
                                             in_folder + "': choose another path");
  const std::string dotted = (dir / "." / "m.gguf").string();
  EXPECT_EQ(error_of(file, dotted),
            "output '" + dotted + "' is the input model '" + file.path + "': choose another path");
  EXPECT_EQ(error_of(file, folder.path), "output '" + folder.path + "' is a directory");
  EXPECT_EQ(error_of(file, ""), "output path is empty");
  const std::string missing = (dir / "no" / "q.gguf").string();
  EXPECT_EQ(error_of(file, missing),
            "output '" + missing + "': folder '" + (dir / "no").string() + "' does not exist");
  EXPECT_EQ(error_of(folder, (dir / "hf" / "new.gguf").string()), "no error");
  EXPECT_EQ(error_of(file, (dir / "q.gguf").string()), "no error");
}

}  // namespace
}  // namespace fptq::quant
