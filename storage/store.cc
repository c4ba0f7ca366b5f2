#include "storage/store.h"

#include "absl/strings/str_cat.h"
#include "storage/sqlite_store.h"

namespace headevo::storage {

absl::Status StoreOptions::Validate() const {
  if (busy_timeout_ms < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("StoreOptions.busy_timeout_ms is ", busy_timeout_ms, ", must be >= 0"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<Store>> Store::Open(const std::string& path,
                                                   const StoreOptions& options) {
  absl::StatusOr<std::unique_ptr<SqliteStore>> store = SqliteStore::Open(path, options);
  if (!store.ok()) return store.status();
  return std::unique_ptr<Store>(*std::move(store));
}

absl::StatusOr<std::unique_ptr<Store>> Store::OpenReader(const std::string& path) {
  if (path == ":memory:") return std::unique_ptr<Store>();
  StoreOptions options;
  options.read_only = true;
  return Open(path, options);
}

}  // namespace headevo::storage
