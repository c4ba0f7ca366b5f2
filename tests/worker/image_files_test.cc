// The image_pixels task's data: the MNIST package layout, PGM and PNG files, patches, errors.
#include <gtest/gtest.h>
#include <png.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tests/testutil/image_fixtures.h"
#include "tests/testutil/status_matchers.h"
#include "tests/testutil/temp_dir.h"
#include "worker/gray_image.h"
#include "worker/image_files.h"
#include "worker/mnist_digits.h"

namespace headevo::worker {
namespace {

namespace fs = std::filesystem;
using headevo::testing::TempDir;

void WriteFile(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

std::string Json(const std::vector<std::string>& values) {
  std::string json = "{\"data\": [";
  for (size_t i = 0; i < values.size(); ++i) json += (i > 0 ? ", " : "") + values[i];
  return json + "]}";
}

TEST(MnistDigitsTest, ParsesWholeDigitsInOrder) {
  std::vector<std::string> values(2 * 784, "0");
  values[0] = "0.5";
  values[784 + 783] = "1";
  ASSERT_OK_AND_ASSIGN(const std::vector<GrayImage> digits,
                       ParseMnistDigits(Json(values), "7.json"));
  ASSERT_EQ(digits.size(), 2u);
  EXPECT_EQ(digits[0].name, "7.json#0");
  EXPECT_EQ(digits[1].name, "7.json#1");
  EXPECT_EQ(digits[0].width, 28);
  EXPECT_EQ(digits[0].height, 28);
  EXPECT_FLOAT_EQ(digits[0].pixels[0], 0.5f);
  EXPECT_FLOAT_EQ(digits[1].pixels[783], 1.0f);
  EXPECT_FLOAT_EQ(digits[1].pixels[0], 0.0f);
}

TEST(MnistDigitsTest, RefusesMalformedFilesNamingThem) {
  const std::vector<std::string> short_data(783, "0");
  std::vector<std::string> out_of_range(784, "0");
  out_of_range[5] = "1.5";
  std::vector<std::string> not_number(784, "0");
  not_number[9] = "\"x\"";
  const std::pair<std::string, std::string> cases[] = {
      {"{\"pixels\": []}", "no \"data\""},
      {Json(short_data), "multiple of 784"},
      {Json({}), "multiple of 784"},
      {Json(out_of_range), "value 5"},
      {Json(not_number), "value 9"},
      {"{\"data\": [0, 0", "not closed"},
  };
  for (const auto& [json, problem] : cases) {
    const absl::StatusOr<std::vector<GrayImage>> parsed = ParseMnistDigits(json, "4.json");
    ASSERT_FALSE(parsed.ok()) << problem;
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(parsed.status().message().find("4.json"), std::string::npos) << parsed.status();
    EXPECT_NE(parsed.status().message().find(problem), std::string::npos) << parsed.status();
  }
}

TEST(MnistDigitsTest, ReadsThePackageLayoutAndNamesAMissingFile) {
  const TempDir temp;
  headevo::testing::WriteMnistFixture(temp.path(), 3);
  ASSERT_OK_AND_ASSIGN(const std::vector<GrayImage> digits, ReadMnistDigits(temp.path().string()));
  ASSERT_EQ(digits.size(), 30u);
  EXPECT_EQ(digits[0].name, "0.json#0");
  EXPECT_EQ(digits[29].name, "9.json#2");
  EXPECT_FLOAT_EQ(digits[4].pixels[3 * 28 + 6],
                  static_cast<float>(headevo::testing::SyntheticDigitPixel(1, 1, 3, 6)));

  fs::remove(temp.path() / "src" / "digits" / "6.json");
  const absl::StatusOr<std::vector<GrayImage>> missing = ReadMnistDigits(temp.path().string());
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("6.json"), std::string::npos) << missing.status();
  EXPECT_NE(missing.status().message().find("fetch_mnist.sh"), std::string::npos);
}

TEST(ImageFilesTest, DecodesBinaryAndPlainPgm) {
  ASSERT_OK_AND_ASSIGN(const GrayImage binary,
                       DecodeImage(std::string("P5\n# c\n3 2\n255\n") +
                                       std::string("\x00\x33\xff\x66\x99\xcc", 6),
                                   "b.pgm"));
  EXPECT_EQ(binary.width, 3);
  EXPECT_EQ(binary.height, 2);
  EXPECT_EQ(binary.pixels, (std::vector<float>{0.0f, 0.2f, 1.0f, 0.4f, 0.6f, 0.8f}));

  ASSERT_OK_AND_ASSIGN(const GrayImage plain,
                       DecodeImage("P2\n2 2 # size\n4\n0 1\n2 4\n", "p.pgm"));
  EXPECT_EQ(plain.pixels, (std::vector<float>{0.0f, 0.25f, 0.5f, 1.0f}));

  ASSERT_OK_AND_ASSIGN(const GrayImage wide,
                       DecodeImage(std::string("P5 1 1 65535 ") + std::string("\x80\x00", 2),
                                   "w.pgm"));
  EXPECT_NEAR(wide.pixels[0], 32768.0 / 65535.0, 1e-6);
}

TEST(ImageFilesTest, RefusesBadFilesNamingTheFileAndTheProblem) {
  const std::pair<std::string, std::string> cases[] = {
      {"GIF89a......", "not a grayscale PGM"},
      {"P6\n1 1\n255\n\x01\x02\x03", "not a grayscale PGM"},
      {"P5\n0 4\n255\n", "width and height"},
      {"P5\n2 2\n0\n....", "maxval"},
      {"P5\n4 4\n255\n\x01\x02", "truncated"},
      {"P2\n2 1\n10\n3 11\n", "exceeds maxval"},
      {"P2\n2 2\n10\n3 1\n", "has 2 values"},
      {"\x89PNG\r\n\x1a\n garbage that is not a PNG stream", "PNG"},
  };
  for (const auto& [bytes, problem] : cases) {
    const absl::StatusOr<GrayImage> image = DecodeImage(bytes, "bad/file.img");
    ASSERT_FALSE(image.ok()) << problem;
    EXPECT_EQ(image.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(image.status().message().find("bad/file.img"), std::string::npos)
        << image.status();
    EXPECT_NE(image.status().message().find(problem), std::string::npos) << image.status();
  }
}

TEST(ImageFilesTest, DecodesPngConvertingColourToGrey) {
  const TempDir temp;
  png_image png{};
  png.version = PNG_IMAGE_VERSION;
  png.width = 2;
  png.height = 1;
  png.format = PNG_FORMAT_RGB;
  const unsigned char rgb[] = {255, 255, 255, 0, 0, 0};
  ASSERT_TRUE(png_image_write_to_file(&png, temp.File("c.png").c_str(), 0, rgb, 0, nullptr))
      << png.message;
  ASSERT_OK_AND_ASSIGN(const GrayImage image, ReadImageFile(temp.File("c.png"), "c.png"));
  EXPECT_EQ(image.width, 2);
  EXPECT_EQ(image.height, 1);
  EXPECT_FLOAT_EQ(image.pixels[0], 1.0f);
  EXPECT_FLOAT_EQ(image.pixels[1], 0.0f);
}

TEST(ImageFilesTest, CutsPatchesRowByRowDroppingMargins) {
  GrayImage image{"img", 5, 4, {}};
  for (int i = 0; i < 20; ++i) image.pixels.push_back(static_cast<float>(i));
  ASSERT_OK_AND_ASSIGN(const std::vector<GrayImage> patches, CutPatches(image, 2, 2));
  ASSERT_EQ(patches.size(), 4u);  // 2 x 2 patches; column 4 is a margin
  EXPECT_EQ(patches[0].name, "img@0,0");
  EXPECT_EQ(patches[1].name, "img@0,2");
  EXPECT_EQ(patches[2].name, "img@2,0");
  EXPECT_EQ(patches[1].pixels, (std::vector<float>{2, 3, 7, 8}));
  EXPECT_EQ(patches[3].pixels, (std::vector<float>{12, 13, 17, 18}));

  const absl::StatusOr<std::vector<GrayImage>> small = CutPatches(image, 6, 2);
  EXPECT_EQ(small.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(small.status().message().find("img: the image is 5 x 4"), std::string::npos)
      << small.status();
}

TEST(ImageFilesTest, ReadsADirectoryOfImagesIntoPatches) {
  const TempDir temp;
  fs::create_directories(temp.path() / "sub");
  headevo::testing::WritePgm(temp.path() / "a.pgm", 4, 2, std::vector<unsigned char>(8, 255));
  headevo::testing::WritePgm(temp.path() / "sub" / "b.PGM", 2, 4, std::vector<unsigned char>(8, 0));
  WriteFile(temp.path() / "README", "not an image, ignored");
  WriteFile(temp.path() / ".hidden.pgm", "ignored");
  ASSERT_OK_AND_ASSIGN(const std::vector<GrayImage> patches,
                       ReadImagePatches(temp.path().string(), 2, 2));
  ASSERT_EQ(patches.size(), 4u);
  EXPECT_EQ(patches[0].name, "a.pgm@0,0");
  EXPECT_EQ(patches[1].name, "a.pgm@0,2");
  EXPECT_EQ(patches[2].name, "sub/b.PGM@0,0");
  EXPECT_EQ(patches[3].name, "sub/b.PGM@2,0");
  EXPECT_FLOAT_EQ(patches[0].pixels[0], 1.0f);
  EXPECT_FLOAT_EQ(patches[3].pixels[0], 0.0f);

  WriteFile(temp.path() / "broken.png", "\x89PNG\r\n\x1a\nbroken");
  const absl::StatusOr<std::vector<GrayImage>> broken =
      ReadImagePatches(temp.path().string(), 2, 2);
  EXPECT_EQ(broken.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(broken.status().message().find("broken.png"), std::string::npos) << broken.status();

  const TempDir empty;
  EXPECT_EQ(ReadImagePatches(empty.path().string(), 2, 2).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(ReadImagePatches(empty.File("nowhere"), 2, 2).status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace headevo::worker
