// Writes the seed corpora of the fuzz targets: small valid inputs (and a few near misses)
// for each, into <out>/<target>/. Run by hand when a target's input format changes:
//   fuzz_make_corpus tests/fuzz/corpus syncd/demo/forms
// Signatures are by fuzz::DeviceKey() (a fixed seed), so the seeds are the same every run.
#include <google/protobuf/util/json_util.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "fuzz_server.h"
#include "fuzz_support.h"
#include "vigil/client/answer_input.h"
#include "vigil/protocol/batch_codec.h"
#include "vigil/protocol/form_rules.h"
#include "vigil/protocol/signing.h"
#include "vigil/v1/records.pb.h"
#include "vigil/v1/sync.pb.h"

namespace vigil::fuzz {
namespace {

std::filesystem::path out_root;

void Write(const std::string& target, const std::string& name, const std::string& bytes) {
  std::filesystem::path dir = out_root / target;
  std::filesystem::create_directories(dir);
  std::ofstream(dir / name, std::ios::binary) << bytes;
}

std::string Sign(std::string_view label, std::string_view context, std::string_view bytes) {
  Result<std::string> signature = DeviceKey().Sign(protocol::SignatureInput(label, context, bytes));
  return signature.ok() ? *signature : std::string();
}

std::string PullBytes(uint64_t cursor) {
  v1::Pull pull;
  pull.set_device_id(DeviceId());
  pull.set_cursor(cursor);
  pull.set_nonce("0123456789abcdef");
  pull.set_device_time_ms(1700000000000);
  pull.set_pending_records(2);
  return pull.SerializeAsString();
}

std::string SignedPullBody(const std::string& pull_bytes, std::string_view server_id) {
  v1::SignedPull signed_pull;
  signed_pull.set_pull_bytes(pull_bytes);
  signed_pull.set_signature(Sign(protocol::kPullLabel, server_id, pull_bytes));
  return signed_pull.SerializeAsString();
}

std::string EnrollBody(const std::string& code) {
  v1::EnrollRequest request;
  request.set_code(code);
  request.set_public_key(DeviceKey().public_key().raw());
  request.mutable_device_info()->set_model("fuzz tablet");
  request.set_proof(Sign(protocol::kEnrollLabel, code, DeviceKey().public_key().raw()));
  return request.SerializeAsString();
}

// A Submission holding `answers`, serialized (the part of a form seed after the NUL).
std::string AnswersBytes(const std::vector<std::pair<std::string, v1::Value>>& answers) {
  v1::Submission submission;
  for (const auto& [id, value] : answers) {
    v1::Answer* a = submission.add_answers();
    a->set_question_id(id);
    *a->mutable_value() = value;
  }
  return submission.SerializeAsString();
}

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
}

void FormSeeds(const std::filesystem::path& forms_dir) {
  std::vector<std::pair<std::string, std::string>> forms;  // name, JSON
  std::string sample;
  google::protobuf::util::JsonPrintOptions print;
  print.preserve_proto_field_names = true;
  if (!google::protobuf::util::MessageToJsonString(SampleForm(), &sample, print).ok()) {
    std::abort();
  }
  forms.emplace_back("sample", sample);
  for (const auto& entry : std::filesystem::directory_iterator(forms_dir)) {
    if (entry.path().extension() == ".json") {
      forms.emplace_back(entry.path().stem().string(), ReadFile(entry.path()));
    }
  }
  for (const auto& [name, json] : forms) {
    v1::FormDefinition definition;
    if (!google::protobuf::util::JsonStringToMessage(json, &definition).ok()) std::abort();
    Result<protocol::Form> form = protocol::Form::Compile(definition);
    if (!form.ok()) std::abort();
    Write("form", name,
          json + std::string(1, '\0') + AnswersBytes(client::ExampleAnswers(*form, 1)));
    Write("form", name + "_seed7",
          json + std::string(1, '\0') + AnswersBytes(client::ExampleAnswers(*form, 7)));
  }
}

void AnswerInputSeeds() {
  const std::vector<std::string> texts = {"yes",
                                          "42",
                                          "4.5",
                                          "2",
                                          "x, z",
                                          "Queue outside",
                                          "12:30",
                                          "2023-07-23 08:00",
                                          "11.55,104.92,8",
                                          "sha256:" + std::string(64, 'b'),
                                          "700"};
  for (size_t i = 0; i < texts.size(); ++i) {
    Write("answer_input", "q" + std::to_string(i), std::string(1, static_cast<char>(i)) + texts[i]);
  }
  Write("answer_input", "json",
        std::string(1, '\xff') +
            R"({"q_yes": true, "q_int": 12, "q_dec": 2.5, "q_one": "b", "q_many": ["x", "z"],)"
            R"( "q_text": "ok", "q_time": "07:15", "q_dt": 1690070400000,)"
            R"( "q_loc": {"latitude": 11.5, "longitude": 104.9}, "q_int2": 3})");
  Write("answer_input", "khmer_yes", std::string(1, '\0') + "បាទ");
}

void ProtocolSeeds() {
  std::string genesis = protocol::GenesisHash();
  std::string first = BatchBytes({Submission("11111111-1111-4111-8111-111111111111", 12),
                                  Incident("22222222-2222-4222-8222-222222222222")},
                                 1, genesis);
  std::vector<v1::Record> many;
  many.reserve(20);
  for (int i = 0; i < 20; ++i) {
    many.push_back(Submission("33333333-3333-4333-8333-3333333333" + std::to_string(10 + i), i));
  }
  std::string second = BatchBytes(many, 2, protocol::Sha256(first));  // zstd: it is smaller
  Write("signed_batch", "first", SignedBatchBody(first, kServerId));
  Write("signed_batch", "second_zstd", SignedBatchBody(second, kServerId));
  Write("signed_batch", "other_server", SignedBatchBody(first, "training"));

  Write("pull", "pull", SignedPullBody(PullBytes(0), kServerId));
  Write("pull", "pull_cursor", SignedPullBody(PullBytes(42), kServerId));

  Write("enroll", "request", EnrollBody("fuzz-enrollment-code"));
  v1::EnrollmentPayload payload;
  payload.set_server_url("https://syncd.example:8443");
  payload.set_tls_pin(std::string(32, 'p'));
  payload.set_code("fuzz-enrollment-code");
  Write("enroll", "qr_payload", protocol::Base64UrlEncode(payload.SerializeAsString()));

  Write("router", "push_signed_here", std::string(1, '\1') + first);
  Write("router", "push_second_signed_here", std::string(1, '\1') + second);
  Write("router", "push_body", std::string(1, '\0') + SignedBatchBody(first, kServerId));
  Write("router", "pull_body", std::string(1, '\2') + SignedPullBody(PullBytes(0), kServerId));
  Write("router", "pull_signed_here", std::string(1, '\3') + PullBytes(0));
  Write("router", "enroll_body", std::string(1, '\4') + EnrollBody("fuzz-enrollment-code"));
  Write("router", "healthz", std::string(1, '\5') + "GET /healthz\n");
  Write("router", "metrics", std::string(1, '\5') + "GET /metrics\n");
}

// Dashboard seeds: the first byte is the credentials (see dashboard_fuzz.cc), then
// "METHOD TARGET", a newline and the body.
void DashboardSeeds() {
  auto seed = [](const std::string& name, char credentials, const std::string& request) {
    Write("dashboard", name, std::string(1, credentials) + request);
  };
  seed("login", '\0', "POST /api/login\n{\"name\":\"ada\",\"password\":\"fuzz admin password\"}");
  seed("login_wrong", '\0', "POST /api/login\n{\"name\":\"ada\",\"password\":\"guess\"}");
  seed("no_session", '\0', "GET /api/overview\n");
  seed("session", '\1', "GET /api/session\n");
  seed("overview", '\1', "GET /api/overview\n");
  seed("events", '\1', "GET /api/events\n");
  seed("forms", '\1', "GET /api/forms\n");
  seed("coverage", '\1', "GET /api/coverage?form=fuzz&level=province\n");
  seed("coverage_stations", '\1',
       "GET /api/coverage?form=fuzz&level=station&province=Phnom%20Penh&status=missing&q=Sch"
       "&page=2&page_size=1\n");
  seed("station", '\1', "GET /api/stations/12-03-07-0452\n");
  seed("override", '\1',
       "POST /api/overrides\n{\"station_code\":\"12-03-07-0452\",\"form_id\":\"fuzz\","
       "\"question_id\":\"q_int\",\"value_text\":\"12\",\"reason\":\"called\"}");
  seed("override_no_csrf", '\2',
       "POST /api/overrides\n{\"station_code\":\"12-03-07-0452\",\"form_id\":\"fuzz\","
       "\"question_id\":\"q_int\",\"remove\":true,\"reason\":\"r\"}");
  seed("conflicts", '\1', "GET /api/conflicts\n");
  seed("cases", '\1', "GET /api/cases?status=CASE_NEW&severity=high&page=1\n");
  seed("case_status", '\1',
       "POST /api/cases/c1/status\n{\"status\":\"CASE_VERIFIED\",\"reason\":\"called\"}");
  seed("devices", '\1', "GET /api/devices?status=active&q=obs\n");
  seed("revoke", '\1', "POST /api/devices/" + DeviceId() + "/revoke\n{\"reason\":\"seized\"}");
  seed("alerts", '\1', "GET /api/alerts?kind=BAD_SIGNATURE\n");
  seed("audit", '\1', "GET /api/audit\n");
  seed("export_masters", '\1', "GET /api/export/masters.csv?form=fuzz\n");
  seed("export_cases", '\1', "GET /api/export/cases.csv\n");
  seed("export_submissions", '\1', "GET /api/export/submissions.csv?form=fuzz\n");
  seed("page", '\0', "GET /\n");
  seed("asset", '\0', "GET /dashboard/app.js\n");
  seed("traversal", '\0', "GET /dashboard/../../etc/passwd\n");
  seed("headers", '\3',
       "POST /api/overrides\norigin: https://elsewhere.example\nsec-fetch-site: cross-site\n"
       "content-type: text/plain\n\n{}");
  seed("logout", '\1', "POST /api/logout\n");
}

void CsvSeeds() {
  Write("stations_csv", "stations",
        "code,name,province,district,commune,registered_voters,lat,lon\n"
        "12-03-07-0452,Wat Phnom School,Phnom Penh,Daun Penh,Srah Chak,700,11.5762,104.9230\n"
        "12-03-07-0453,\"Hall \"\"B\"\", north\",Phnom Penh,Daun Penh,Srah Chak,650,,\n");
  Write("stations_csv", "observers",
        "id,name,phone,stations\n"
        "obs1,Sok Dara,+855 12 345 678,12-03-07-0452;12-03-07-0453\n"
        "obs2,\"Chan, Vanna\",,12-03-07-0452\n");
  Write("stations_csv", "duration", "90s");
}

}  // namespace
}  // namespace vigil::fuzz

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: fuzz_make_corpus OUT_DIR FORMS_DIR\n");
    return 2;
  }
  vigil::fuzz::out_root = argv[1];
  vigil::fuzz::ProtocolSeeds();
  vigil::fuzz::AnswerInputSeeds();
  vigil::fuzz::FormSeeds(argv[2]);
  vigil::fuzz::CsvSeeds();
  vigil::fuzz::DashboardSeeds();
  std::printf("seeds written under %s\n", argv[1]);
  return 0;
}
