// The C API: every function is noexcept and goes through TryCatch, which turns a Status or
// an exception into a VigilError and a NULL/false/-1 return. Each call is a thin wrapper over
// one vigil::client::Client method (and a JSON view from vigil/client/json.h): no logic of
// its own, so the observer CLI and an app do the same things.
//
// Thread safety (vigil/client.h): `mu` serialises every call on the handle's main Client; a
// sync runs on a sibling Client (its own SQLite connection) under `sync_mu`, so the calls of
// a UI thread never wait for a whole sync.
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <vector>

#include "vigil/client.h"
#include "vigil/client/client.h"
#include "vigil/client/json.h"

// The C codes are vigil::StatusCode's values.
#define VIGIL_SAME_CODE(c, k) \
  static_assert((c) == static_cast<int>(vigil::StatusCode::k), #c " differs from StatusCode::" #k)
VIGIL_SAME_CODE(VIGIL_OK, kOk);
VIGIL_SAME_CODE(VIGIL_INVALID_ARGUMENT, kInvalidArgument);
VIGIL_SAME_CODE(VIGIL_NOT_FOUND, kNotFound);
VIGIL_SAME_CODE(VIGIL_ALREADY_EXISTS, kAlreadyExists);
VIGIL_SAME_CODE(VIGIL_FAILED_PRECONDITION, kFailedPrecondition);
VIGIL_SAME_CODE(VIGIL_PERMISSION_DENIED, kPermissionDenied);
VIGIL_SAME_CODE(VIGIL_UNAUTHENTICATED, kUnauthenticated);
VIGIL_SAME_CODE(VIGIL_RESOURCE_EXHAUSTED, kResourceExhausted);
VIGIL_SAME_CODE(VIGIL_ABORTED, kAborted);
VIGIL_SAME_CODE(VIGIL_UNAVAILABLE, kUnavailable);
VIGIL_SAME_CODE(VIGIL_DATA_LOSS, kDataLoss);
VIGIL_SAME_CODE(VIGIL_UNIMPLEMENTED, kUnimplemented);
VIGIL_SAME_CODE(VIGIL_INTERNAL, kInternal);
static_assert(VIGIL_INTERNAL == static_cast<int>(vigil::StatusCode::kInternal) &&
                  static_cast<int>(vigil::StatusCode::kInternal) == 12,
              "a StatusCode was added: give it a VIGIL_ code");
#undef VIGIL_SAME_CODE

struct VigilClient {
  std::mutex mu;                                  // Guards `client`.
  std::unique_ptr<vigil::client::Client> client;  // Null once wiped.
  std::mutex sync_mu;  // One sync at a time; guards `syncer`. Taken before `mu`.
  std::unique_ptr<vigil::client::Client> syncer;  // A sibling of `client`, made by the first sync.
  std::atomic<bool> syncing{false};
  std::atomic<bool> cancel{false};
  std::atomic<bool> wiping{false};  // A wipe waits for the sync: it must not start one.
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
  auto* handle = new VigilClient();
  handle->client = std::move(c);
  return handle;
}

// Runs `fn` on the handle's main Client, in turn with the handle's other calls.
template <typename T, typename Fn>
Result<T> With(VigilClient* handle, Fn&& fn) {
  VIGIL_RETURN_IF_ERROR(Required(handle, "client"));
  std::lock_guard<std::mutex> lock(handle->mu);
  if (!handle->client) return Status::FailedPrecondition("the store was wiped");
  return fn(*handle->client);
}

std::string OrEmpty(const char* s) { return s != nullptr ? s : ""; }

Status CheckNewPin(const char* pin) {
  VIGIL_RETURN_IF_ERROR(Required(pin, "pin"));
  if (std::strlen(pin) < vigil::client::kMinPinLength) {
    return Status::InvalidArgument("the PIN needs at least 6 characters");
  }
  return Status::Ok();
}

}  // namespace

extern "C" {

VigilClient* vigil_client_init(const char* home, const char* pin, const char* server_id,
                               VigilError* out_error) {
  return TryCatch<VigilClient*>(out_error, nullptr, [&]() -> Result<VigilClient*> {
    VIGIL_RETURN_IF_ERROR(Required(home, "home"));
    VIGIL_RETURN_IF_ERROR(CheckNewPin(pin));
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

bool vigil_client_change_pin(VigilClient* client, const char* old_pin, const char* new_pin,
                             VigilError* out_error) {
  return TryCatch<bool>(out_error, false, [&]() -> Result<bool> {
    VIGIL_RETURN_IF_ERROR(Required(old_pin, "old_pin"));
    VIGIL_RETURN_IF_ERROR(CheckNewPin(new_pin));
    return With<bool>(client, [&](vigil::client::Client& c) -> Result<bool> {
      auto current = vigil::client::MakePinKeyProtector(old_pin);
      auto replacement = vigil::client::MakePinKeyProtector(new_pin);
      VIGIL_RETURN_IF_ERROR(c.ChangeKeyProtector(*current, *replacement));
      return true;
    });
  });
}

bool vigil_client_set_duress_pin(VigilClient* client, const char* duress_pin,
                                 VigilError* out_error) {
  return TryCatch<bool>(out_error, false, [&]() -> Result<bool> {
    VIGIL_RETURN_IF_ERROR(CheckNewPin(duress_pin));
    return With<bool>(client, [&](vigil::client::Client& c) -> Result<bool> {
      auto duress = vigil::client::MakePinKeyProtector(duress_pin);
      VIGIL_RETURN_IF_ERROR(c.SetDuressPin(*duress));
      return true;
    });
  });
}

bool vigil_client_change_key_protector(VigilClient* client, const VigilKeyProtector* current,
                                       const VigilKeyProtector* replacement,
                                       VigilError* out_error) {
  return TryCatch<bool>(out_error, false, [&]() -> Result<bool> {
    VIGIL_RETURN_IF_ERROR(Required(current, "current"));
    VIGIL_RETURN_IF_ERROR(Required(replacement, "replacement"));
    return With<bool>(client, [&](vigil::client::Client& c) -> Result<bool> {
      CallbackProtector from(*current);
      CallbackProtector to(*replacement);
      VIGIL_RETURN_IF_ERROR(c.ChangeKeyProtector(from, to));
      return true;
    });
  });
}

bool vigil_client_wipe(VigilClient* client, VigilError* out_error) {
  return TryCatch<bool>(out_error, false, [&]() -> Result<bool> {
    VIGIL_RETURN_IF_ERROR(Required(client, "client"));
    client->wiping.store(true);  // Before `cancel`: a sync starting now sees one or the other.
    client->cancel.store(true);
    std::lock_guard<std::mutex> sync_lock(client->sync_mu);
    std::lock_guard<std::mutex> lock(client->mu);
    if (!client->client) return true;  // Wiped already.
    const std::string home = client->client->home();
    client->syncer.reset();  // Closes the connections and wipes the keys held in memory.
    client->client.reset();
    VIGIL_RETURN_IF_ERROR(vigil::client::Client::Wipe(home));
    return true;
  });
}

bool vigil_wipe_home(const char* home, VigilError* out_error) {
  return TryCatch<bool>(out_error, false, [&]() -> Result<bool> {
    VIGIL_RETURN_IF_ERROR(Required(home, "home"));
    VIGIL_RETURN_IF_ERROR(vigil::client::Client::Wipe(home));
    return true;
  });
}

char* vigil_client_device_id(VigilClient* client, VigilError* out_error) {
  return TryCatch<char*>(out_error, nullptr, [&]() -> Result<char*> {
    return With<char*>(client, [&](vigil::client::Client& c) -> Result<char*> {
      return CopyString(c.device_id());
    });
  });
}

char* vigil_client_public_key_pem(VigilClient* client, VigilError* out_error) {
  return TryCatch<char*>(out_error, nullptr, [&]() -> Result<char*> {
    return With<char*>(client, [&](vigil::client::Client& c) -> Result<char*> {
      VIGIL_ASSIGN_OR_RETURN(std::string pem, c.PublicKeyPem());
      return CopyString(pem);
    });
  });
}

bool vigil_client_import_form_json(VigilClient* client, const char* json, VigilError* out_error) {
  return TryCatch<bool>(out_error, false, [&]() -> Result<bool> {
    VIGIL_RETURN_IF_ERROR(Required(json, "json"));
    return With<bool>(client, [&](vigil::client::Client& c) -> Result<bool> {
      VIGIL_RETURN_IF_ERROR(c.ImportFormJson(json));
      return true;
    });
  });
}

char* vigil_client_forms_json(VigilClient* client, VigilError* out_error) {
  return TryCatch<char*>(out_error, nullptr, [&]() -> Result<char*> {
    return With<char*>(client, [&](vigil::client::Client& c) -> Result<char*> {
      VIGIL_ASSIGN_OR_RETURN(auto forms, c.ListForms());
      return CopyString(vigil::client::FormsToJson(forms));
    });
  });
}

char* vigil_client_start_draft(VigilClient* client, const char* form_id, const char* station_code,
                               VigilError* out_error) {
  return TryCatch<char*>(out_error, nullptr, [&]() -> Result<char*> {
    VIGIL_RETURN_IF_ERROR(Required(client, "client"));
    VIGIL_RETURN_IF_ERROR(Required(form_id, "form_id"));
    VIGIL_RETURN_IF_ERROR(Required(station_code, "station_code"));
    return With<char*>(client, [&](vigil::client::Client& c) -> Result<char*> {
      VIGIL_ASSIGN_OR_RETURN(std::string id, c.StartDraft(form_id, station_code));
      return CopyString(id);
    });
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
    return With<bool>(client, [&](vigil::client::Client& c) -> Result<bool> {
      VIGIL_RETURN_IF_ERROR(c.SetAnswerText(draft_id, question_id, text));
      return true;
    });
  });
}

bool vigil_client_clear_answer(VigilClient* client, const char* draft_id, const char* question_id,
                               VigilError* out_error) {
  return TryCatch<bool>(out_error, false, [&]() -> Result<bool> {
    VIGIL_RETURN_IF_ERROR(Required(client, "client"));
    VIGIL_RETURN_IF_ERROR(Required(draft_id, "draft_id"));
    VIGIL_RETURN_IF_ERROR(Required(question_id, "question_id"));
    return With<bool>(client, [&](vigil::client::Client& c) -> Result<bool> {
      VIGIL_RETURN_IF_ERROR(c.ClearAnswer(draft_id, question_id));
      return true;
    });
  });
}

char* vigil_client_relevant_questions_json(VigilClient* client, const char* draft_id,
                                           VigilError* out_error) {
  return TryCatch<char*>(out_error, nullptr, [&]() -> Result<char*> {
    VIGIL_RETURN_IF_ERROR(Required(client, "client"));
    VIGIL_RETURN_IF_ERROR(Required(draft_id, "draft_id"));
    return With<char*>(client, [&](vigil::client::Client& c) -> Result<char*> {
      VIGIL_ASSIGN_OR_RETURN(auto ids, c.RelevantQuestions(draft_id));
      return CopyString(vigil::client::StringsToJson(ids));
    });
  });
}

char* vigil_client_warnings_json(VigilClient* client, const char* draft_id, VigilError* out_error) {
  return TryCatch<char*>(out_error, nullptr, [&]() -> Result<char*> {
    VIGIL_RETURN_IF_ERROR(Required(client, "client"));
    VIGIL_RETURN_IF_ERROR(Required(draft_id, "draft_id"));
    return With<char*>(client, [&](vigil::client::Client& c) -> Result<char*> {
      VIGIL_ASSIGN_OR_RETURN(auto warnings, c.QaWarnings(draft_id));
      return CopyString(vigil::client::QaWarningsToJson(warnings));
    });
  });
}

bool vigil_client_set_location(VigilClient* client, const char* record_id, double latitude,
                               double longitude, double accuracy_m, VigilError* out_error) {
  return TryCatch<bool>(out_error, false, [&]() -> Result<bool> {
    VIGIL_RETURN_IF_ERROR(Required(client, "client"));
    VIGIL_RETURN_IF_ERROR(Required(record_id, "record_id"));
    vigil::v1::GeoPoint point;
    point.set_latitude(latitude);
    point.set_longitude(longitude);
    point.set_accuracy_m(accuracy_m);
    return With<bool>(client, [&](vigil::client::Client& c) -> Result<bool> {
      VIGIL_RETURN_IF_ERROR(c.SetLocation(record_id, point));
      return true;
    });
  });
}

char* vigil_client_drafts_json(VigilClient* client, VigilError* out_error) {
  return TryCatch<char*>(out_error, nullptr, [&]() -> Result<char*> {
    return With<char*>(client, [&](vigil::client::Client& c) -> Result<char*> {
      VIGIL_ASSIGN_OR_RETURN(auto drafts, c.Drafts());
      return CopyString(vigil::client::DraftsToJson(drafts));
    });
  });
}

char* vigil_client_draft_json(VigilClient* client, const char* draft_id, VigilError* out_error) {
  return TryCatch<char*>(out_error, nullptr, [&]() -> Result<char*> {
    VIGIL_RETURN_IF_ERROR(Required(client, "client"));
    VIGIL_RETURN_IF_ERROR(Required(draft_id, "draft_id"));
    return With<char*>(client, [&](vigil::client::Client& c) -> Result<char*> {
      VIGIL_ASSIGN_OR_RETURN(auto draft, c.GetRecord(draft_id));
      if (draft.state != 0 || !draft.record.has_submission()) {
        return Status::FailedPrecondition("'" + std::string(draft_id) + "' is not a draft");
      }
      return CopyString(vigil::client::DraftToJson(draft));
    });
  });
}

bool vigil_client_discard_draft(VigilClient* client, const char* draft_id, VigilError* out_error) {
  return TryCatch<bool>(out_error, false, [&]() -> Result<bool> {
    VIGIL_RETURN_IF_ERROR(Required(client, "client"));
    VIGIL_RETURN_IF_ERROR(Required(draft_id, "draft_id"));
    return With<bool>(client, [&](vigil::client::Client& c) -> Result<bool> {
      VIGIL_RETURN_IF_ERROR(c.DiscardDraft(draft_id));
      return true;
    });
  });
}

char* vigil_client_finalize(VigilClient* client, const char* draft_id, VigilError* out_error) {
  return TryCatch<char*>(out_error, nullptr, [&]() -> Result<char*> {
    VIGIL_RETURN_IF_ERROR(Required(client, "client"));
    VIGIL_RETURN_IF_ERROR(Required(draft_id, "draft_id"));
    return With<char*>(client, [&](vigil::client::Client& c) -> Result<char*> {
      VIGIL_ASSIGN_OR_RETURN(std::string id, c.Finalize(draft_id));
      return CopyString(id);
    });
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
    in.narrative = OrEmpty(narrative);
    in.parent_id = OrEmpty(parent_id);
    return With<char*>(client, [&](vigil::client::Client& c) -> Result<char*> {
      VIGIL_ASSIGN_OR_RETURN(std::string id, c.ReportIncident(in));
      return CopyString(id);
    });
  });
}

int vigil_client_seal_outbox(VigilClient* client, VigilError* out_error) {
  return TryCatch<int>(out_error, -1, [&]() -> Result<int> {
    return With<int>(client, [&](vigil::client::Client& c) { return c.SealOutbox(); });
  });
}

VigilBatchList* vigil_client_pending_batches(VigilClient* client, VigilError* out_error) {
  return TryCatch<VigilBatchList*>(out_error, nullptr, [&]() -> Result<VigilBatchList*> {
    return With<VigilBatchList*>(client, [&](vigil::client::Client& c) -> Result<VigilBatchList*> {
      VIGIL_ASSIGN_OR_RETURN(auto batches, c.PendingBatches());
      return new VigilBatchList{std::move(batches)};
    });
  });
}

char* vigil_client_export_outbox(VigilClient* client, const char* directory,
                                 VigilError* out_error) {
  return TryCatch<char*>(out_error, nullptr, [&]() -> Result<char*> {
    VIGIL_RETURN_IF_ERROR(Required(client, "client"));
    VIGIL_RETURN_IF_ERROR(Required(directory, "directory"));
    return With<char*>(client, [&](vigil::client::Client& c) -> Result<char*> {
      VIGIL_ASSIGN_OR_RETURN(auto exported, c.ExportOutbox(directory));
      return CopyString(vigil::client::OutboxExportToJson(exported));
    });
  });
}

char* vigil_client_enroll(VigilClient* client, const char* payload, const char* device_model,
                          const char* app_version, const char* ca_file, VigilError* out_error) {
  return TryCatch<char*>(out_error, nullptr, [&]() -> Result<char*> {
    VIGIL_RETURN_IF_ERROR(Required(client, "client"));
    VIGIL_RETURN_IF_ERROR(Required(payload, "payload"));
    vigil::v1::DeviceInfo info;
    info.set_model(OrEmpty(device_model));
    info.set_app_version(OrEmpty(app_version));
    return With<char*>(client, [&](vigil::client::Client& c) -> Result<char*> {
      VIGIL_ASSIGN_OR_RETURN(auto response, c.Enroll(payload, info, OrEmpty(ca_file)));
      return CopyString(vigil::client::EnrollmentToJson(response));
    });
  });
}

char* vigil_client_sync(VigilClient* client, const char* ca_file, VigilSyncProgressFn progress,
                        void* progress_context, VigilError* out_error) {
  return TryCatch<char*>(out_error, nullptr, [&]() -> Result<char*> {
    VIGIL_RETURN_IF_ERROR(Required(client, "client"));
    std::lock_guard<std::mutex> sync_lock(client->sync_mu);
    {
      std::lock_guard<std::mutex> lock(client->mu);
      if (!client->client) return Status::FailedPrecondition("the store was wiped");
      if (!client->syncer) {
        VIGIL_ASSIGN_OR_RETURN(client->syncer, client->client->OpenSibling());
      }
    }
    vigil::client::SyncOptions options;
    options.ca_file = OrEmpty(ca_file);
    options.cancel = &client->cancel;
    if (progress != nullptr) {
      options.progress = [progress, progress_context](const vigil::client::SyncProgress& p) {
        VigilSyncProgress c{p.phase.c_str(), p.batches_done,  p.batches_total,
                            p.records_done,  p.records_total, p.bytes_sent};
        progress(progress_context, &c);
      };
    }
    client->cancel.store(false);
    client->syncing.store(true);
    if (client->wiping.load()) client->cancel.store(true);
    struct Done {
      std::atomic<bool>& syncing;
      ~Done() { syncing.store(false); }
    } done{client->syncing};
    auto report = client->syncer->Sync(options);
    if (!report.ok()) return report.status();
    return CopyString(vigil::client::SyncReportToJson(*report));
  });
}

void vigil_client_sync_cancel(VigilClient* client) {
  if (client != nullptr && client->syncing.load()) client->cancel.store(true);
}

char* vigil_client_verify_receipts(VigilClient* client, VigilError* out_error) {
  return TryCatch<char*>(out_error, nullptr, [&]() -> Result<char*> {
    return With<char*>(client, [&](vigil::client::Client& c) -> Result<char*> {
      VIGIL_ASSIGN_OR_RETURN(auto check, c.VerifyReceipts());
      return CopyString(vigil::client::ReceiptCheckToJson(check));
    });
  });
}

char* vigil_client_inbox_json(VigilClient* client, VigilError* out_error) {
  return TryCatch<char*>(out_error, nullptr, [&]() -> Result<char*> {
    return With<char*>(client, [&](vigil::client::Client& c) -> Result<char*> {
      VIGIL_ASSIGN_OR_RETURN(auto inbox, c.Inbox());
      return CopyString(vigil::client::BroadcastsToJson(inbox));
    });
  });
}

char* vigil_client_incident_statuses_json(VigilClient* client, VigilError* out_error) {
  return TryCatch<char*>(out_error, nullptr, [&]() -> Result<char*> {
    return With<char*>(client, [&](vigil::client::Client& c) -> Result<char*> {
      VIGIL_ASSIGN_OR_RETURN(auto statuses, c.IncidentStatuses());
      return CopyString(vigil::client::IncidentStatusesToJson(statuses));
    });
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
    return With<char*>(client, [&](vigil::client::Client& c) -> Result<char*> {
      VIGIL_ASSIGN_OR_RETURN(auto status, c.GetStatus());
      return CopyString(vigil::client::DeviceStatusToJson(status));
    });
  });
}

void vigil_free(void* pointer) { std::free(pointer); }

}  // extern "C"
