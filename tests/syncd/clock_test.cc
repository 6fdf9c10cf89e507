// Device clocks that are days off (docs/merge.md §8): such a device's batches are accepted,
// its offset is shown by `admin devices list`, and what its clock does and does not decide
// in merge is pinned down here.
#include <doctest/doctest.h>

#include <cstdlib>
#include <map>

#include "merge_util.h"

namespace vigil::syncd {
namespace {

using testing::AsRecord;
using testing::CountSubmission;
using testing::Incident;
using testing::kStation;
using testing::TestDevice;
using testing::TestServer;

constexpr int64_t kMinute = 60 * 1000;
constexpr int64_t kDay = 24 * 60 * kMinute;

// A device whose clock reads the server's time plus `skew_ms`.
struct SkewedDevice {
  TestDevice device;
  int64_t skew_ms = 0;
  int64_t Now() const { return NowMs() + skew_ms; }

  // The next batch, stamped with this device's clock.
  std::string NextBody(const std::vector<v1::Record>& records) {
    v1::RecordList list;
    for (const v1::Record& r : records) *list.add_records() = r;
    v1::Batch batch;
    batch.set_device_id(device.device_id);
    batch.set_batch_seq(device.next_seq);
    batch.set_prev_batch_hash(device.last_hash);
    batch.set_device_time_ms(Now());
    REQUIRE(protocol::EncodePayload(list, batch).ok());
    std::string bytes = batch.SerializeAsString();
    ++device.next_seq;
    device.last_hash = protocol::Sha256(bytes);
    return device.Sign(bytes);
  }

  // A pull stamped with this device's clock.
  std::string PullBody(const std::string& nonce) const {
    v1::Pull pull;
    pull.set_device_id(device.device_id);
    pull.set_nonce(nonce);
    pull.set_device_time_ms(Now());
    v1::SignedPull signed_pull;
    signed_pull.set_pull_bytes(pull.SerializeAsString());
    signed_pull.set_signature(
        device.key
            ->Sign(protocol::SignatureInput(protocol::kPullLabel, device.server_id,
                                            signed_pull.pull_bytes()))
            .value());
    return signed_pull.SerializeAsString();
  }
};

// Forms count and incident; observers obs1 (TestServer's) and obs2 at kStation.
struct ClockServer {
  TestServer server;
  int codes = 0;

  ClockServer() {
    REQUIRE(server.store().PublishForm(testing::CountForm()).ok());
    REQUIRE(server.store().PublishForm(testing::IncidentForm()).ok());
    REQUIRE(server.store().AddObserver("obs2", "Dara", "", {kStation}).ok());
  }

  SkewedDevice Enroll(const std::string& observer, int64_t skew_ms) {
    SkewedDevice d;
    d.skew_ms = skew_ms;
    d.device.key = std::make_unique<protocol::Ed25519PrivateKey>(
        protocol::Ed25519PrivateKey::Generate().value());
    std::string code = "code-" + std::to_string(++codes);
    REQUIRE(server.store()
                .AddEnrollmentCode(protocol::Sha256(code), observer, NowMs() + 3'600'000)
                .ok());
    REQUIRE(server.Post("/v1/enroll", TestDevice::EnrollBody(*d.device.key, code)).status == 200);
    d.device.device_id = protocol::DeviceIdFromPublicKey(d.device.key->public_key().raw());
    return d;
  }

  // Pushes and requires every record to be stored.
  void Push(SkewedDevice& d, const std::vector<v1::Record>& records) {
    HttpResponse response = server.Post("/v1/push", d.NextBody(records));
    REQUIRE(response.status == 200);
    v1::PushResponse push;
    REQUIRE(push.ParseFromString(response.body));
    for (const v1::RecordStatus& s : push.statuses()) REQUIRE(s.outcome() == v1::RECORD_OK);
  }

  int64_t VotesA() {
    int64_t votes = -1;
    REQUIRE(server.store()
                .ForEachMaster([&](const v1::MasterRecord& m) {
                  for (const v1::Answer& a : m.answers()) {
                    if (a.question_id() == "votes_a") votes = a.value().integer();
                  }
                })
                .ok());
    return votes;
  }
};

TEST_CASE("clock: devices days behind and ahead are accepted and their offsets shown") {
  ClockServer s;
  SkewedDevice behind = s.Enroll("obs1", -3 * kDay);
  SkewedDevice ahead = s.Enroll("obs2", 5 * kDay);
  for (SkewedDevice* d : {&behind, &ahead}) {
    s.Push(*d, {AsRecord(CountSubmission(d->device.device_id + "-s", d->Now(), {{"ballots", 1}})),
                AsRecord(Incident(d->device.device_id + "-i", "intimidation", d->Now()))});
    REQUIRE(s.server.Post("/v1/pull", d->PullBody(std::string(16, 'n'))).status == 200);
  }
  std::map<std::string, int64_t> offsets;
  const std::vector<DeviceRecord> devices = s.server.store().ListDevices().value();
  for (const DeviceRecord& d : devices) {
    offsets[d.device_id] = d.clock_offset_ms;
  }
  // The offset is the device's clock minus the server's at the pull (a minute's slack for a
  // slow machine).
  CHECK(std::abs(offsets[behind.device.device_id] + 3 * kDay) < kMinute);
  CHECK(std::abs(offsets[ahead.device.device_id] - 5 * kDay) < kMinute);
  CHECK(s.server.store().Stats().value().records() == 4);
}

TEST_CASE("clock: a skewed clock never orders one observer against another") {
  ClockServer s;
  SkewedDevice behind = s.Enroll("obs1", -3 * kDay);
  SkewedDevice right = s.Enroll("obs2", 0);
  s.Push(behind, {AsRecord(CountSubmission("s1", behind.Now(), {{"ballots", 9}, {"votes_a", 1}}))});
  s.Push(right, {AsRecord(CountSubmission("s2", right.Now(), {{"ballots", 9}, {"votes_a", 2}}))});
  // obs2's later finalize time does not win over obs1: the two disagree.
  CHECK(s.server.store().Conflicts().value().conflicts_size() == 1);
  // obs1's correction from the same skewed device is later on that device's own clock, so it
  // is obs1's latest and the conflict is gone.
  s.Push(
      behind,
      {AsRecord(CountSubmission("s3", behind.Now() + kMinute, {{"ballots", 9}, {"votes_a", 2}}))});
  CHECK(s.server.store().Conflicts().value().conflicts_size() == 0);
  CHECK(s.VotesA() == 2);
}

TEST_CASE("clock finding: a correction from a second device whose clock is behind is ignored") {
  // docs/merge.md §8: M2 compares finalize times across the devices of one observer. A
  // correction sent from a device three days behind loses to the observer's earlier
  // submission from a device with the right time.
  ClockServer s;
  SkewedDevice right = s.Enroll("obs1", 0);
  SkewedDevice behind = s.Enroll("obs1", -3 * kDay);
  s.Push(right,
         {AsRecord(CountSubmission("first", right.Now(), {{"ballots", 9}, {"votes_a", 1}}))});
  s.Push(behind, {AsRecord(CountSubmission("correction", behind.Now() + kMinute,
                                           {{"ballots", 9}, {"votes_a", 2}}))});
  CHECK(s.VotesA() == 1);
}

TEST_CASE("clock finding: incidents cluster by the time the device reports") {
  // docs/merge.md §8: C3 clusters on occurred_at_ms, which the device fills from its clock. Two
  // observers reporting one event, one from a device three days behind, make two cases, and
  // the skewed report's case comes first.
  ClockServer s;
  SkewedDevice behind = s.Enroll("obs1", -3 * kDay);
  SkewedDevice right = s.Enroll("obs2", 0);
  s.Push(right, {AsRecord(Incident("seen-by-obs2", "intimidation", right.Now()))});
  s.Push(behind, {AsRecord(Incident("seen-by-obs1", "intimidation", behind.Now()))});
  v1::CaseList cases = s.server.store().Cases(v1::CASE_STATUS_UNSPECIFIED).value();
  REQUIRE(cases.cases_size() == 2);
  CHECK(cases.cases(0).case_id() == "seen-by-obs1");
}

}  // namespace
}  // namespace vigil::syncd
