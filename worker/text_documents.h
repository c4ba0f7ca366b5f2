// Text documents for the byte-level language-modelling tasks, and their deterministic split
// into training and validation documents.
#ifndef HEADEVO_WORKER_TEXT_DOCUMENTS_H_
#define HEADEVO_WORKER_TEXT_DOCUMENTS_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace headevo::worker {

struct TextDocument {
  std::string name;  // unique within a corpus; the split depends on it alone
  std::string text;
};

// The documents under `path`:
//   a directory: every non-empty regular file below it (recursively, hidden names skipped),
//     one document each, named by its path relative to `path`, in name order;
//   a file: its paragraphs (runs of lines separated by blank lines), named "<file>#<index>".
// Errors: NotFound when `path` does not exist or holds no text; Internal when a file cannot
// be read.
absl::StatusOr<std::vector<TextDocument>> ReadTextDocuments(const std::string& path);

// FNV-1a of `name`: a fixed, documented hash (std::hash may differ between standard libraries)
// that deterministic held-out choices sort by.
uint64_t NameHash(std::string_view name);

struct DocumentSplit {
  std::string train;       // training documents in input order, each followed by '\n'
  std::string validation;  // validation documents in input order, each followed by '\n'
  int64_t train_documents = 0;
  int64_t validation_documents = 0;
};

// Holds out about a tenth of the documents (at least one) for validation: those first in the
// order of an FNV-1a hash of their names, so the choice depends on the names alone (not on the
// input order, the machine or a seed). More documents are held out, in the same order, while
// the validation text is shorter than min_bytes.
// Errors: InvalidArgument when there are fewer than two documents, or when either part ends up
// shorter than min_bytes.
absl::StatusOr<DocumentSplit> SplitDocuments(const std::vector<TextDocument>& documents,
                                             int64_t min_bytes);

}  // namespace headevo::worker

#endif  // HEADEVO_WORKER_TEXT_DOCUMENTS_H_
