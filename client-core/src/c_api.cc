// The C API: every function is noexcept and goes through TryCatch, which turns a Status or
// an exception into a VigilError and a NULL/false/-1 return.
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "vigil/client.h"
#include "vigil/client/answer_input.h"
#include "vigil/client/client.h"

struct VigilClient {
  std::unique_ptr<vigil::client::Client> client;
};

struct VigilBatchList {
  std::vector<vigil::client::PendingBatch> batches;
};

namespace {

using vigil::Result;
using vigil::Status;

void SetError(VigilError* out, const Status& status) {
  if (out == nullptr) return;
  out->code = static_cast<int>(status.code());
  std::snprintf(out->message, sizeof out->message, "%s", status.message().c_str());
}

// Runs `fn`, converting failures to `fallback` plus out_error.
template <typename T, typename Fn>
T TryCatch(VigilError* out_error, T fallback, Fn&& fn) noexcept {
  SetError(out_error, Status::Ok());
  try {
    Result<T> r = fn();
    if (r.ok()) return std::move(r).value();
    SetError(out_error, r.status());
  } catch (const std::bad_alloc&) {
    SetError(out_error, Status::ResourceExhausted("out of memory"));
  } catch (const std::exception& e) {
    SetError(out_error, Status::Internal(std::string("unexpected error: ") + e.what()));
  } catch (...) {
    SetError(out_error, Status::Internal("unexpected error"));
  }
  return fallback;
}

char* CopyString(const std::string& s) {
  char* out = static_cast<char*>(std::malloc(s.size() + 1));
  if (out == nullptr) throw std::bad_alloc();
  std::memcpy(out, s.data(), s.size() + 1);
  return out;
}

Status Required(const void* p, const char* name) {
  if (p == nullptr) return Status::InvalidArgument(std::string(name) + " is NULL");
  return Status::Ok();
}

// Adapts a VigilKeyProtector to the C++ interface.
class CallbackProtector final : public vigil::client::KeyProtector {
 public:
  explicit CallbackProtector(VigilKeyProtector p) : p_(p) {}

  Result<std::string> Wrap(const std::string& key) override {
    return Call(p_.wrap, key, vigil::StatusCode::kInternal,
                "the app's key protector could not wrap");
  }
  Result<std::string> Unwrap(const std::string& blob) override {
    return Call(p_.unwrap, blob, vigil::StatusCode::kPermissionDenied,
                "the app's key protector refused to unwrap the device key");
  }

 private:
  using Fn = bool (*)(void*, const uint8_t*, size_t, uint8_t**, size_t*);
  Result<std::string> Call(Fn fn, const std::string& in, vigil::StatusCode code, const char* msg) {
    if (fn == nullptr) return Status::InvalidArgument("key protector callback is NULL");
    uint8_t* out = nullptr;
    size_t len = 0;
    bool ok = fn(p_.context, reinterpret_cast<const uint8_t*>(in.data()), in.size(), &out, &len);
    std::string result;
    if (out != nullptr) {
      result.assign(reinterpret_cast<char*>(out), len);
      std::memset(out, 0, len);
      std::free(out);
    }
    if (!ok) return Status(code, msg);
    return result;
  }
  VigilKeyProtector p_;
};

VigilClient* Wrap(std::unique_ptr<vigil::client::Client> c) {
  return new VigilClient{std::move(c)};
}

}  // namespace

extern "C" {

VigilClient* vigil_client_init(const char* home, const char* pin, const char* server_id,
                               VigilError* out_error) {
  return TryCatch<VigilClient*>(out_error, nullptr, [&]() -> Result<VigilClient*> {
    VIGIL_RETURN_IF_ERROR(Required(home, "home"));
    VIGIL_RETURN_IF_ERROR(Required(pin, "pin"));
    if (std::strlen(pin) < vigil::client::kMinPinLength) {
      return Status::InvalidArgument("the PIN needs at least 6 characters");
    }
    auto protector = vigil::client::MakePinKeyProtector(pin);
    vigil::client::InitOptions options;
    options.server_id = server_id != nullptr ? server_id : "";
    VIGIL_ASSIGN_OR_RETURN(auto c, vigil::client::Client::Init(home, *protector, options));
    return Wrap(std::move(c));
  });
}

VigilClient* vigil_client_init_with_protector(const char* home, const VigilKeyProtector* protector,
                                              const char* server_id, VigilError* out_error) {
  return TryCatch<VigilClient*>(out_error, nullptr, [&]() -> Result<VigilClient*> {
    VIGIL_RETURN_IF_ERROR(Required(home, "home"));
    VIGIL_RETURN_IF_ERROR(Required(protector, "protector"));
    CallbackProtector adapter(*protector);
    vigil::client::InitOptions options;
    options.server_id = server_id != nullptr ? server_id : "";
    VIGIL_ASSIGN_OR_RETURN(auto c, vigil::client::Client::Init(home, adapter, options));
    return Wrap(std::move(c));
  });
}

VigilClient* vigil_client_open(const char* home, const char* pin, VigilError* out_error) {
  return TryCatch<VigilClient*>(out_error, nullptr, [&]() -> Result<VigilClient*> {
    VIGIL_RETURN_IF_ERROR(Required(home, "home"));
    std::unique_ptr<vigil::client::KeyProtector> protector;
    if (pin != nullptr) protector = vigil::client::MakePinKeyProtector(pin);
    VIGIL_ASSIGN_OR_RETURN(auto c, vigil::client::Client::Open(home, protector.get()));
    return Wrap(std::move(c));
  });
}

VigilClient* vigil_client_open_with_protector(const char* home, const VigilKeyProtector* protector,
                                              VigilError* out_error) {
  return TryCatch<VigilClient*>(out_error, nullptr, [&]() -> Result<VigilClient*> {
    VIGIL_RETURN_IF_ERROR(Required(home, "home"));
    VIGIL_RETURN_IF_ERROR(Required(protector, "protector"));
    CallbackProtector adapter(*protector);
    VIGIL_ASSIGN_OR_RETURN(auto c, vigil::client::Client::Open(home, &adapter));
    return Wrap(std::move(c));
  });
}

void vigil_client_close(VigilClient* client) { delete client; }

char* vigil_client_device_id(VigilClient* client, VigilError* out_error) {
  return TryCatch<char*>(out_error, nullptr, [&]() -> Result<char*> {
    VIGIL_RETURN_IF_ERROR(Required(client, "client"));
    return CopyString(client->client->device_id());
  });
}

char* vigil_client_public_key_pem(VigilClient* client, VigilError* out_error) {
  return TryCatch<char*>(out_error, nullptr, [&]() -> Result<char*> {
    VIGIL_RETURN_IF_ERROR(Required(client, "client"));
    VIGIL_ASSIGN_OR_RETURN(std::string pem, client->client->PublicKeyPem());
    return CopyString(pem);
  });
}

bool vigil_client_import_form_json(VigilClient* client, const char* json, VigilError* out_error) {
  return TryCatch<bool>(out_error, false, [&]() -> Result<bool> {
    VIGIL_RETURN_IF_ERROR(Required(client, "client"));
    VIGIL_RETURN_IF_ERROR(Required(json, "json"));
    VIGIL_RETURN_IF_ERROR(client->client->ImportFormJson(json));
    return true;
  });
}

char* vigil_client_forms_json(VigilClient* client, VigilError* out_error) {
  return TryCatch<char*>(out_error, nullptr, [&]() -> Result<char*> {
    VIGIL_RETURN_IF_ERROR(Required(client, "client"));
    VIGIL_ASSIGN_OR_RETURN(auto forms, client->client->ListForms());
    google::protobuf::ListValue list;
    for (const auto& f : forms) {
      auto& fields = *list.add_values()->mutable_struct_value()->mutable_fields();
      fields["formId"].set_string_value(f.form_id);
      fields["version"].set_number_value(f.version);
      fields["kind"].set_string_value(vigil::v1::FormKind_Name(f.kind));
      fields["titleEn"].set_string_value(f.title_en);
      fields["titleKm"].set_string_value(f.title_km);
    }
    std::string json;
    if (!google::protobuf::util::MessageToJsonString(list, &json).ok()) {
      return Status::Internal("cannot write JSON");
    }
    return CopyString(json);
  });
}

char* vigil_client_start_draft(VigilClient* client, const char* form_id, const char* station_code,
                               VigilError* out_error) {
  return TryCatch<char*>(out_error, nullptr, [&]() -> Result<char*> {
    VIGIL_RETURN_IF_ERROR(Required(client, "client"));
    VIGIL_RETURN_IF_ERROR(Required(form_id, "form_id"));
    VIGIL_RETURN_IF_ERROR(Required(station_code, "station_code"));
    VIGIL_ASSIGN_OR_RETURN(std::string id, client->client->StartDraft(form_id, station_code));
    return CopyString(id);
  });
}

bool vigil_client_set_answer_text(VigilClient* client, const char* draft_id,
                                  const char* question_id, const char* text,
                                  VigilError* out_error) {
  return TryCatch<bool>(out_error, false, [&]() -> Result<bool> {
    VIGIL_RETURN_IF_ERROR(Required(client, "client"));
    VIGIL_RETURN_IF_ERROR(Required(draft_id, "draft_id"));
    VIGIL_RETURN_IF_ERROR(Required(question_id, "question_id"));
    VIGIL_RETURN_IF_ERROR(Required(text, "text"));
    VIGIL_ASSIGN_OR_RETURN(auto draft, client->client->GetRecord(draft_id));
    const auto& s = draft.record.submission();
    VIGIL_ASSIGN_OR_RETURN(auto form, client->client->GetForm(s.form_id(), s.form_version()));
    const vigil::v1::Question* q = form.Find(question_id);
    if (q == nullptr) {
      return Status::InvalidArgument("form " + s.form_id() + " has no question '" + question_id +
                                     "'");
    }
    VIGIL_ASSIGN_OR_RETURN(vigil::v1::Value value, vigil::client::ParseAnswerText(*q, text));
    VIGIL_RETURN_IF_ERROR(client->client->SetAnswer(draft_id, question_id, value));
    return true;
  });
}

bool vigil_client_clear_answer(VigilClient* client, const char* draft_id, const char* question_id,
                               VigilError* out_error) {
  return TryCatch<bool>(out_error, false, [&]() -> Result<bool> {
    VIGIL_RETURN_IF_ERROR(Required(client, "client"));
    VIGIL_RETURN_IF_ERROR(Required(draft_id, "draft_id"));
    VIGIL_RETURN_IF_ERROR(Required(question_id, "question_id"));
    VIGIL_RETURN_IF_ERROR(client->client->ClearAnswer(draft_id, question_id));
    return true;
  });
}

char* vigil_client_relevant_questions_json(VigilClient* client, const char* draft_id,
                                           VigilError* out_error) {
  return TryCatch<char*>(out_error, nullptr, [&]() -> Result<char*> {
    VIGIL_RETURN_IF_ERROR(Required(client, "client"));
    VIGIL_RETURN_IF_ERROR(Required(draft_id, "draft_id"));
    VIGIL_ASSIGN_OR_RETURN(auto draft, client->client->GetRecord(draft_id));
    const auto& s = draft.record.submission();
    VIGIL_ASSIGN_OR_RETURN(auto form, client->client->GetForm(s.form_id(), s.form_version()));
    vigil::protocol::AnswerMap answers = vigil::protocol::MapAnswers(s.answers());
    google::protobuf::ListValue list;
    for (const auto& q : form.definition().questions()) {
      if (form.IsRelevant(q, answers)) list.add_values()->set_string_value(q.id());
    }
    std::string json;
    if (!google::protobuf::util::MessageToJsonString(list, &json).ok()) {
      return Status::Internal("cannot write JSON");
    }
    return CopyString(json);
  });
}

char* vigil_client_finalize(VigilClient* client, const char* draft_id, VigilError* out_error) {
  return TryCatch<char*>(out_error, nullptr, [&]() -> Result<char*> {
    VIGIL_RETURN_IF_ERROR(Required(client, "client"));
    VIGIL_RETURN_IF_ERROR(Required(draft_id, "draft_id"));
    VIGIL_ASSIGN_OR_RETURN(std::string id, client->client->Finalize(draft_id));
    return CopyString(id);
  });
}

char* vigil_client_report_incident(VigilClient* client, const char* station_code,
                                   const char* category, const char* severity,
                                   const char* narrative, const char* parent_id,
                                   VigilError* out_error) {
  return TryCatch<char*>(out_error, nullptr, [&]() -> Result<char*> {
    VIGIL_RETURN_IF_ERROR(Required(client, "client"));
    VIGIL_RETURN_IF_ERROR(Required(station_code, "station_code"));
    VIGIL_RETURN_IF_ERROR(Required(category, "category"));
    VIGIL_RETURN_IF_ERROR(Required(severity, "severity"));
    vigil::client::IncidentInput in;
    in.station_code = station_code;
    in.category = category;
    in.severity = severity;
    in.narrative = narrative != nullptr ? narrative : "";
    in.parent_id = parent_id != nullptr ? parent_id : "";
    VIGIL_ASSIGN_OR_RETURN(std::string id, client->client->ReportIncident(in));
    return CopyString(id);
  });
}

int vigil_client_seal_outbox(VigilClient* client, VigilError* out_error) {
  return TryCatch<int>(out_error, -1, [&]() -> Result<int> {
    VIGIL_RETURN_IF_ERROR(Required(client, "client"));
    return client->client->SealOutbox();
  });
}

VigilBatchList* vigil_client_pending_batches(VigilClient* client, VigilError* out_error) {
  return TryCatch<VigilBatchList*>(out_error, nullptr, [&]() -> Result<VigilBatchList*> {
    VIGIL_RETURN_IF_ERROR(Required(client, "client"));
    VIGIL_ASSIGN_OR_RETURN(auto batches, client->client->PendingBatches());
    return new VigilBatchList{std::move(batches)};
  });
}

size_t vigil_batch_list_count(const VigilBatchList* list) {
  return list == nullptr ? 0 : list->batches.size();
}

uint64_t vigil_batch_list_seq(const VigilBatchList* list, size_t index) {
  if (list == nullptr || index >= list->batches.size()) return 0;
  return list->batches[index].seq;
}

const uint8_t* vigil_batch_list_bytes(const VigilBatchList* list, size_t index, size_t* out_len) {
  if (list == nullptr || index >= list->batches.size()) {
    if (out_len != nullptr) *out_len = 0;
    return nullptr;
  }
  const std::string& bytes = list->batches[index].signed_batch;
  if (out_len != nullptr) *out_len = bytes.size();
  return reinterpret_cast<const uint8_t*>(bytes.data());
}

void vigil_batch_list_free(VigilBatchList* list) { delete list; }

char* vigil_client_status_json(VigilClient* client, VigilError* out_error) {
  return TryCatch<char*>(out_error, nullptr, [&]() -> Result<char*> {
    VIGIL_RETURN_IF_ERROR(Required(client, "client"));
    VIGIL_ASSIGN_OR_RETURN(auto status, client->client->GetStatus());
    return CopyString(vigil::client::DeviceStatusToJson(status));
  });
}

void vigil_free(void* pointer) { std::free(pointer); }

}  // extern "C"
