// A full disk on the server (syncd/src/store/sqlite_maintenance.cc), simulated with SQLite's
// max_page_count: pushes get a retryable 503 naming the cause, nothing accepted is lost, a
// full job fails its whole group cleanly, and service resumes when the limit is raised.
#include <doctest/doctest.h>

#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "admin/verify.h"
#include "test_util.h"

namespace vigil::syncd {
namespace {

using testing::ErrorOf;
using testing::MakeSubmission;
using testing::TestDevice;
using testing::TestServer;

// A submission carrying `kilobytes` KiB of text that does not compress much.
v1::Record BigSubmission(const std::string& id, int kilobytes) {
  v1::Record record = MakeSubmission(id);
  v1::Answer* remarks = record.mutable_submission()->add_answers();
  remarks->set_question_id("q99_remarks");
  remarks->mutable_value()->set_text(
      protocol::HexEncode(protocol::RandomBytes(static_cast<size_t>(kilobytes) * 512).value()));
  return record;
}

void CheckStorageFull(const HttpResponse& response) {
  CHECK(response.status == 503);
  v1::Error error = ErrorOf(response);
  CHECK(error.code() == v1::UNAVAILABLE);
  CHECK(error.retryable());
  CHECK(error.message().find("the server's storage is full") != std::string::npos);
  CHECK(error.message().find("full") != std::string::npos);
}

VerifyReport Verify(TestServer& server) {
  VerifyOptions options;
  options.receipt_public_key = server.receipt_key().public_key().raw();
  Result<VerifyReport> report = VerifyStore(server.db_path(), options);
  REQUIRE_MESSAGE(report.ok(), report.status().ToString());
  INFO(VerifyText(*report));
  CHECK(report->ok());
  return *report;
}

TEST_CASE("disk full: a push gets a retryable 503 and is accepted once space returns") {
  TestServer server;
  TestDevice device = server.Enroll();
  REQUIRE(server.Post("/v1/push", device.NextBody({MakeSubmission("before")})).status == 200);
  const uint64_t batches_before = server.store().Stats().value().batches();

  // No room to grow: the file's current size is the limit.
  Result<int64_t> limit = server.store().SetMaxDbBytes(1);
  REQUIRE(limit.ok());
  CHECK(*limit > 0);
  const std::string body = device.NextBody({BigSubmission("big", 64)});
  CheckStorageFull(server.Post("/v1/push", body));
  // The device sends the very same bytes again while the disk is still full: the same answer.
  CheckStorageFull(server.Post("/v1/push", body));
  CHECK(server.store().Stats().value().batches() == batches_before);

  // Space returns without a restart.
  REQUIRE(server.store().SetMaxDbBytes(0).ok());
  HttpResponse accepted = server.Post("/v1/push", body);
  REQUIRE(accepted.status == 200);
  v1::PushResponse push;
  REQUIRE(push.ParseFromString(accepted.body));
  REQUIRE(push.statuses_size() == 1);
  CHECK(push.statuses(0).outcome() == v1::RECORD_OK);
  CHECK(server.Post("/v1/push", device.NextBody({MakeSubmission("after")})).status == 200);
  CHECK(server.store().Stats().value().batches() == batches_before + 2);
  VerifyReport report = Verify(server);
  CHECK(report.records == 3);
}

TEST_CASE("disk full: a full job fails its whole group and a later job of the group") {
  TestServer server;
  TestDevice small1 = server.Enroll();
  TestDevice big = server.Enroll();
  TestDevice small2 = server.Enroll();
  REQUIRE(server.store().SetMaxDbBytes(1).ok());

  // Another connection holds the write lock, so the writer stalls on the first push while
  // the next two queue up behind it and then run as one group: the full one first.
  Result<sqlite::Db> blocker =
      sqlite::Db::Open(server.db_path(), {.create = false, .busy_timeout_ms = 10000});
  REQUIRE(blocker.ok());
  REQUIRE(blocker->Exec("BEGIN IMMEDIATE").ok());

  std::mutex mu;
  std::condition_variable cv;
  std::map<std::string, HttpResponse> answers;
  auto send = [&](const std::string& name, std::string body) {
    HttpRequest request;
    request.method = "POST";
    request.target = "/v1/push";
    request.body = std::move(body);
    server.router().HandleAsync(std::move(request), [&, name](HttpResponse response) {
      std::lock_guard lock(mu);
      answers[name] = std::move(response);
      cv.notify_all();
    });
  };
  send("first", small1.NextBody({MakeSubmission("first")}));
  // Bounded wait for the writer to take the first push (it then waits for the lock).
  for (int i = 0; i < 100000 && server.store().WriterQueueDepth() > 0; ++i) {
    std::this_thread::yield();
  }
  REQUIRE(server.store().WriterQueueDepth() == 0);
  const std::string big_body = big.NextBody({BigSubmission("big", 64)});
  const std::string later_body = small2.NextBody({MakeSubmission("later")});
  send("big", big_body);
  send("later", later_body);
  CHECK(server.store().WriterQueueDepth() == 2);
  REQUIRE(blocker->Exec("ROLLBACK").ok());
  {
    std::unique_lock lock(mu);
    REQUIRE(cv.wait_for(lock, std::chrono::seconds(60), [&] { return answers.size() == 3; }));
  }
  CHECK((answers["first"].status == 200 || answers["first"].status == 503));
  CheckStorageFull(answers["big"]);
  // The job after the full one in the same group is refused with the same retryable cause
  // (not a 500), and nothing of it was stored.
  CheckStorageFull(answers["later"]);
  CHECK_FALSE(server.store().FindBatchResponse(small2.device_id, 1).value().has_value());

  REQUIRE(server.store().SetMaxDbBytes(0).ok());
  CHECK(server.Post("/v1/push", big_body).status == 200);
  CHECK(server.Post("/v1/push", later_body).status == 200);
  Verify(server);
}

}  // namespace
}  // namespace vigil::syncd
