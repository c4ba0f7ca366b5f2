// WorkerService's checkpoint calls over real gRPC, in process: a checkpoint whose bytes the
// disk damaged after its upload is answered DATA_LOSS (and quarantined) instead of streamed to
// a worker, and an upload to a full disk is RESOURCE_EXHAUSTED naming the file, which the same
// upload, sent again once space is freed, turns into a stored checkpoint.
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>

#include "headevo/v1/worker_service.grpc.pb.h"
#include "server/engine/checkpoint_store.h"
#include "server/rpc/worker_service.h"
#include "tests/testutil/small_filesystem.h"
#include "tests/testutil/status_matchers.h"
#include "tests/testutil/temp_dir.h"

namespace headevo::server {
namespace {

namespace v1 = headevo::v1;

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// The checkpoint calls need no coordinator: the service is built without one, so a call that
// reached it would crash the test rather than pass it.
class CheckpointServiceTest : public ::testing::Test {
 protected:
  void Start(const std::string& checkpoint_dir) {
    CheckpointStoreOptions options;
    options.log = [this](const std::string& line) { log_ += line + "\n"; };
    ASSERT_OK_AND_ASSIGN(store_, CheckpointStore::Open(checkpoint_dir, options));
    WorkerServiceOptions service_options;
    service_options.chunk_bytes = 16 * 1024;
    service_ = std::make_unique<WorkerServiceImpl>(nullptr, store_.get(), service_options);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = v1::WorkerService::NewStub(grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                                                           grpc::InsecureChannelCredentials()));
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
  }

  static std::string Bytes(size_t size) {
    std::mt19937 rng(5);
    std::string bytes(size, '\0');
    for (char& b : bytes) b = static_cast<char>(rng() & 0xff);
    return bytes;
  }

  std::string ShaOf(const std::string& bytes, const std::string& scratch) {
    std::ofstream(scratch, std::ios::binary) << bytes;
    absl::StatusOr<std::string> sha = Sha256OfFile(scratch);
    std::filesystem::remove(scratch);
    return sha.ok() ? *sha : "";
  }

  grpc::Status Upload(const std::string& sha, const std::string& bytes) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    v1::UploadCheckpointResponse response;
    auto writer = stub_->UploadCheckpoint(&context, &response);
    for (size_t offset = 0; offset < bytes.size(); offset += 16 * 1024) {
      v1::UploadCheckpointRequest chunk;
      if (offset == 0) {
        chunk.set_sha256(sha);
        chunk.set_total_bytes(static_cast<int64_t>(bytes.size()));
      }
      chunk.set_data(bytes.substr(offset, 16 * 1024));
      if (!writer->Write(chunk)) break;
    }
    writer->WritesDone();
    return writer->Finish();
  }

  grpc::Status Download(const std::string& sha, std::string* bytes) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    v1::DownloadCheckpointRequest request;
    request.set_sha256(sha);
    auto reader = stub_->DownloadCheckpoint(&context, request);
    v1::DownloadCheckpointResponse chunk;
    bytes->clear();
    while (reader->Read(&chunk)) *bytes += chunk.data();
    return reader->Finish();
  }

  std::unique_ptr<CheckpointStore> store_;
  std::unique_ptr<WorkerServiceImpl> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::WorkerService::Stub> stub_;
  std::string log_;
};

TEST_F(CheckpointServiceTest, ADamagedCheckpointIsDataLossNeverStreamed) {
  testing::TempDir dir;
  Start(dir.File("ckpt"));
  const std::string bytes = Bytes(100'000);
  const std::string sha = ShaOf(bytes, dir.File("scratch"));
  ASSERT_TRUE(Upload(sha, bytes).ok());
  std::string received;
  ASSERT_TRUE(Download(sha, &received).ok());
  ASSERT_TRUE(received == bytes);

  // The disk damages the stored file.
  {
    std::fstream file(store_->PathOf(sha), std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(70'000);
    file.put(static_cast<char>(bytes[70'000] ^ 0x40));
  }
  const grpc::Status damaged = Download(sha, &received);
  EXPECT_EQ(damaged.error_code(), grpc::StatusCode::DATA_LOSS) << damaged.error_message();
  EXPECT_TRUE(Contains(damaged.error_message(), store_->PathOf(sha))) << damaged.error_message();
  EXPECT_EQ(received, "") << "damaged bytes were streamed";
  EXPECT_TRUE(Contains(log_, "quarantined")) << log_;
  // Still DATA_LOSS later (the file is quarantined, not silently "never uploaded").
  EXPECT_EQ(Download(sha, &received).error_code(), grpc::StatusCode::DATA_LOSS);

  v1::HasCheckpointRequest has;
  has.set_sha256(sha);
  v1::HasCheckpointResponse present;
  grpc::ClientContext context;
  ASSERT_TRUE(stub_->HasCheckpoint(&context, has, &present).ok());
  EXPECT_FALSE(present.present()) << "a worker with a good copy should be asked to upload it";
}

TEST_F(CheckpointServiceTest, AnUploadToAFullDiskIsResourceExhaustedAndTakenOnceFreed) {
  testing::SmallFilesystem disk(1 << 20);
  if (!disk.unavailable().empty()) GTEST_SKIP() << disk.unavailable();
  Start(disk.File("ckpt"));
  const std::string bytes = Bytes(200'000);
  const std::string sha = ShaOf(bytes, disk.File("scratch"));
  const int64_t filler = disk.FreeBytes() - static_cast<int64_t>(bytes.size()) / 2;
  ASSERT_GT(filler, 0);
  ASSERT_EQ(disk.Fill("filler", filler), filler);

  const grpc::Status full = Upload(sha, bytes);
  EXPECT_EQ(full.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << full.error_message();
  EXPECT_TRUE(Contains(full.error_message(), "disk full writing " + store_->dir()))
      << full.error_message();
  EXPECT_FALSE(store_->Has(sha));

  std::filesystem::remove(disk.File("filler"));
  ASSERT_TRUE(Upload(sha, bytes).ok());
  std::string received;
  ASSERT_TRUE(Download(sha, &received).ok());
  EXPECT_TRUE(received == bytes);
}

}  // namespace
}  // namespace headevo::server
