// Alerts as stored (syncd/src/store/sqlite_dashboard_ops.cc) and the text they carry
// (syncd/src/store/inert_text.h): every distinct detail keeps its row within the hour, a
// flood of distinct details stays bounded, and no detail smuggles a line break, a control
// character or invalid UTF-8 to the dashboard, the logs or a CSV file.
#include <doctest/doctest.h>

#include <map>

#include "store/inert_text.h"
#include "test_util.h"

namespace vigil::syncd {
namespace {

// Every alert of `kind`, detail → count.
std::map<std::string, uint64_t> AlertCounts(SqlStore& store, const std::string& kind) {
  // A synchronous write waits for the queued (best-effort) alert writes before it.
  (void)store.SetCoordinatorDisabled("(nobody)", true);
  std::map<std::string, uint64_t> out;
  v1::AlertPage page = store.AlertPage(kind, {1, 200}).value();
  for (const v1::Alert& a : page.alerts()) out[a.detail()] += a.count();
  return out;
}

TEST_CASE("inert text: line breaks, controls, bidi overrides and bad UTF-8 are shown escaped") {
  CHECK(InertText("plain text, ខ្មែរ \\ ok", 300) == "plain text, ខ្មែរ \\ ok");
  CHECK(InertText("line\nbreak\r\ttab\x1b[31m\x7f", 300) ==
        "line\\x0abreak\\x0d\\x09tab\\x1b[31m\\x7f");
  CHECK(InertText("bad \xC0\xAF utf-8 \xff", 300) == "bad \\xc0\\xaf utf-8 \\xff");
  CHECK(InertText("rtl \xE2\x80\xAE"
                  "gpj.exe",
                  300) == "rtl \\u{202e}gpj.exe");
  CHECK(InertText("next\xC2\x85line\xE2\x80\xA8sep", 300) == "next\\u{0085}line\\u{2028}sep");
  // Cut on a character boundary, escapes never split.
  CHECK(InertText("ខ្មែរ", 4) == "ខ");
  CHECK(InertText("ab\ncd", 4) == "ab");
  CHECK(InertText(std::string(1000, 'x'), 300).size() == 300);
  CHECK(IsInertText("Sokha Chan"));
  CHECK_FALSE(IsInertText("a\nb"));
  CHECK_FALSE(IsInertText("\xE2\x80\xAE"));
  CHECK_FALSE(IsInertText("\xff"));
}

TEST_CASE("alerts: one row per distinct detail within the hour, repeats counted") {
  testing::TestServer server;
  SqlStore& store = server.store();
  for (const char* detail :
       {"failed login as ada from 10.0.0.1", "failed login as ada from 10.0.0.2",
        "failed login as ada from 10.0.0.1", "failed login as bo from 10.0.0.1",
        "failed login as ada from 10.0.0.1"}) {
    store.RecordAlert("LOGIN_FAILED", "", detail);
  }
  store.RecordAlert("RATE_LIMITED", "dev1", "too fast");
  store.RecordAlert("RATE_LIMITED", "dev2", "too fast");
  std::map<std::string, uint64_t> logins = AlertCounts(store, "LOGIN_FAILED");
  CHECK(logins == std::map<std::string, uint64_t>{{"failed login as ada from 10.0.0.1", 3},
                                                  {"failed login as ada from 10.0.0.2", 1},
                                                  {"failed login as bo from 10.0.0.1", 1}});
  CHECK(store.AlertPage("RATE_LIMITED", {}).value().alerts_size() == 2);  // Per device.
}

TEST_CASE("alerts: a flood of distinct details is bounded and nothing smuggles a line") {
  testing::TestServer server;
  SqlStore& store = server.store();
  for (int i = 0; i < 80; ++i) {
    store.RecordAlert("UNKNOWN_DEVICE", "", "unknown device id-" + std::to_string(i));
  }
  store.RecordAlert("UNKNOWN_DEVICE", "", "unknown device id-3");  // A kept one still counts.
  std::map<std::string, uint64_t> rows = AlertCounts(store, "UNKNOWN_DEVICE");
  CHECK(rows.size() == 51);  // 50 distinct details and one overflow row.
  CHECK(rows["unknown device id-3"] == 2);
  CHECK(rows["unknown device id-49"] == 1);
  CHECK(rows.count("unknown device id-50") == 0);
  CHECK(rows["(more distinct details within the hour; not kept)"] == 30);

  store.RecordAlert("BAD_SIGNATURE", "dev\n9", "forged\r\nInjected: log line \xE2\x80\xAE\xff");
  (void)AlertCounts(store, "BAD_SIGNATURE");
  v1::AlertPage page = store.AlertPage("BAD_SIGNATURE", {}).value();
  REQUIRE(page.alerts_size() == 1);
  CHECK(page.alerts(0).device_id() == "dev\\x0a9");
  CHECK(page.alerts(0).detail() == "forged\\x0d\\x0aInjected: log line \\u{202e}\\xff");
  store.RecordAlert("BAD_SIGNATURE", "d", std::string(5000, 'y'));
  (void)AlertCounts(store, "BAD_SIGNATURE");
  const v1::AlertPage all = store.AlertPage("BAD_SIGNATURE", {}).value();
  for (const v1::Alert& a : all.alerts()) {
    CHECK(a.detail().size() <= 300);
  }
}

}  // namespace
}  // namespace vigil::syncd
