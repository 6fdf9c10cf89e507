// The dashboard's front door: routing, sessions, CSRF, login, the worker pool, the overview
// ticker and static files. The handlers of each endpoint are in api_handlers.cc.
#include "dashboard/api.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>

#include "dashboard/api_internal.h"
#include "dashboard/assets.h"
#include "dashboard/request_origin.h"
#include "store/store.h"
#include "vigil/protocol/crypto.h"
#include "vigil/protocol/form_rules.h"

namespace vigil::syncd::dashboard {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decoding of a query component ('+' is a space).
std::string UrlDecode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out.push_back(' ');
    } else if (text[i] == '%' && i + 2 < text.size() && HexValue(text[i + 1]) >= 0 &&
               HexValue(text[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(text[i + 1]) * 16 + HexValue(text[i + 2])));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

std::map<std::string, std::string> ParseQuery(std::string_view query) {
  std::map<std::string, std::string> out;
  size_t start = 0;
  while (start <= query.size() && out.size() < 32) {
    size_t end = query.find('&', start);
    if (end == std::string_view::npos) end = query.size();
    std::string_view part = query.substr(start, end - start);
    if (!part.empty()) {
      size_t eq = part.find('=');
      std::string key = UrlDecode(part.substr(0, eq));
      std::string value = eq == std::string_view::npos ? "" : UrlDecode(part.substr(eq + 1));
      out[key.substr(0, 64)] = value.substr(0, 256);
    }
    start = end + 1;
  }
  return out;
}

std::string CookieValue(const std::string& header, const std::string& name) {
  size_t pos = 0;
  while (pos < header.size()) {
    while (pos < header.size() && (header[pos] == ' ' || header[pos] == ';')) ++pos;
    size_t end = header.find(';', pos);
    if (end == std::string::npos) end = header.size();
    std::string_view pair(header.data() + pos, end - pos);
    if (pair.size() > name.size() && pair.compare(0, name.size(), name) == 0 &&
        pair[name.size()] == '=') {
      return std::string(pair.substr(name.size() + 1));
    }
    pos = end + 1;
  }
  return "";
}

void AddSecurityHeaders(HttpResponse& response) {
  response.headers.emplace_back("Cache-Control", "no-store");
  response.headers.emplace_back("X-Content-Type-Options", "nosniff");
  response.headers.emplace_back("Referrer-Policy", "no-referrer");
  response.headers.emplace_back("X-Frame-Options", "DENY");
  response.headers.emplace_back(
      "Content-Security-Policy",
      "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
      "font-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
      "form-action 'self'");
  response.headers.emplace_back("Strict-Transport-Security", "max-age=31536000");
}

HttpResponse Redirect(const std::string& location) {
  HttpResponse response;
  response.status = 302;
  response.content_type = "text/plain; charset=utf-8";
  response.body = "see " + location + "\n";
  response.headers.emplace_back("Location", location);
  return response;
}

}  // namespace

// ----- helpers shared with api_handlers.cc (api_internal.h)

HttpResponse ApiError(int status, const std::string& code, const std::string& message) {
  v1::ApiError error;
  error.set_code(code);
  // A message may quote what the caller sent; protobuf's JSON printer copies a string's bytes
  // as they are, so invalid UTF-8 there would make the answer invalid JSON (found by the
  // dashboard fuzz target). Such a message keeps only its ASCII; other bytes become '?'.
  if (protocol::Utf8Length(message) >= 0) {
    error.set_message(message);
  } else {
    std::string ascii = message;
    for (char& c : ascii) {
      if (static_cast<unsigned char>(c) >= 0x80) c = '?';
    }
    error.set_message(ascii);
  }
  HttpResponse response = JsonAnswer(error);
  response.status = status;
  response.note = code;
  return response;
}

HttpResponse JsonAnswer(const google::protobuf::Message& message) {
  HttpResponse response;
  response.content_type = "application/json; charset=utf-8";
  google::protobuf::util::JsonPrintOptions options;
  if (!google::protobuf::util::MessageToJsonString(message, &response.body, options).ok()) {
    response.status = 500;
    response.body = R"({"code":"INTERNAL","message":"answer could not be written as JSON"})";
  }
  return response;
}

HttpResponse StoreError(const Status& status) {
  switch (status.code()) {
    case StatusCode::kNotFound:
      return ApiError(404, "NOT_FOUND", status.message());
    case StatusCode::kInvalidArgument:
      return ApiError(400, "INVALID", status.message());
    case StatusCode::kAlreadyExists:
    case StatusCode::kFailedPrecondition:
      return ApiError(409, "CONFLICT", status.message());
    case StatusCode::kUnavailable:
    case StatusCode::kResourceExhausted:
      return ApiError(503, "UNAVAILABLE", "storage busy; try again: " + status.message());
    default:
      return ApiError(500, "INTERNAL", "storage failed");
  }
}

Status ParseJsonBody(const std::string& body, google::protobuf::Message& message) {
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto status = google::protobuf::util::JsonStringToMessage(body, &message, options);
  if (!status.ok()) {
    return Status::InvalidArgument("body is not a " + message.GetDescriptor()->name() + ": " +
                                   std::string(status.message()).substr(0, 200));
  }
  return Status::Ok();
}

Result<PageRequest> PageParams(const Dashboard::Call& call) {
  PageRequest page;
  for (auto [key, target] :
       {std::pair<const char*, uint32_t*>{"page", &page.page}, {"page_size", &page.page_size}}) {
    const std::string& text = call.Param(key);
    if (text.empty()) continue;
    if (text.size() > 6 || !std::all_of(text.begin(), text.end(), ::isdigit)) {
      return Status::InvalidArgument(std::string(key) + " must be a positive number");
    }
    *target = static_cast<uint32_t>(std::stoul(text));
  }
  return page;
}

bool RoleAtLeast(const Dashboard::Call& call, v1::CoordinatorRole role) {
  return call.session && call.session->role >= role;
}

std::string RoleName(v1::CoordinatorRole role) {
  switch (role) {
    case v1::ROLE_VIEWER:
      return "viewer";
    case v1::ROLE_COORDINATOR:
      return "coordinator";
    case v1::ROLE_ADMIN:
      return "admin";
    default:
      return "none";
  }
}

HttpResponse Forbidden(const std::string& what, v1::CoordinatorRole needed) {
  return ApiError(403, "FORBIDDEN", what + " needs the " + RoleName(needed) + " role");
}

// ----- the dashboard

Dashboard::Dashboard(Store& store, DashboardOptions options)
    : store_(store),
      options_(std::move(options)),
      sessions_(store, options_.sessions),
      login_throttle_(options_.login),
      events_(options_.max_event_streams) {
  for (int i = 0; i < std::max(1, options_.workers); ++i) {
    workers_.emplace_back([this] { WorkerLoop(); });
  }
  ticker_ = std::thread([this] { TickerLoop(); });
}

Dashboard::~Dashboard() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  ticker_cv_.notify_all();
  for (std::thread& t : workers_) t.join();
  ticker_.join();
  events_.Close();
}

bool Dashboard::Serves(const std::string& target) {
  return target == "/" || target.rfind("/dashboard", 0) == 0 || target.rfind("/api/", 0) == 0;
}

void Dashboard::HandleAsync(HttpRequest request, std::function<void(HttpResponse)> done) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stopping_ && queue_.size() < options_.max_queue) {
      queue_.emplace_back([this, request = std::move(request), done = std::move(done)]() mutable {
        done(Handle(request));
      });
      cv_.notify_one();
      return;
    }
  }
  done(ApiError(503, "UNAVAILABLE", "the dashboard is busy; try again"));
}

void Dashboard::WorkerLoop() {
  while (true) {
    std::function<void()> job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    job();
  }
}

void Dashboard::TickerLoop() {
  std::string last_sent;
  auto last_heartbeat = std::chrono::steady_clock::now();
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      if (ticker_cv_.wait_for(lock, std::chrono::milliseconds(options_.overview_refresh_ms),
                              [this] { return stopping_; })) {
        return;
      }
    }
    if (events_.size() == 0) continue;
    Result<std::string> json = OverviewJson();
    if (json.ok() && *json != last_sent) {
      events_.Publish("overview", *json);
      last_sent = *json;
      last_heartbeat = std::chrono::steady_clock::now();
    } else if (std::chrono::steady_clock::now() - last_heartbeat >=
               std::chrono::milliseconds(options_.heartbeat_ms)) {
      events_.Heartbeat();
      last_heartbeat = std::chrono::steady_clock::now();
    }
  }
}

Result<std::string> Dashboard::OverviewJson() {
  // One computation serves every caller: concurrent requests wait for it instead of
  // repeating it (the mutex is held while computing).
  std::lock_guard<std::mutex> lock(overview_mu_);
  const int64_t now = NowMs();
  const uint64_t change = store_.ChangeCounter();
  const bool fresh =
      !overview_json_.empty() && (now - overview_at_ms_ < options_.overview_refresh_ms ||
                                  (change == overview_change_ && now - overview_at_ms_ < 10000));
  if (fresh) return overview_json_;
  VIGIL_ASSIGN_OR_RETURN(v1::Overview overview, store_.Overview(options_.silent_after_ms));
  std::string json;
  if (!google::protobuf::util::MessageToJsonString(overview, &json).ok()) {
    return Status::Internal("overview could not be written as JSON");
  }
  overview_json_ = std::move(json);
  overview_change_ = change;
  overview_at_ms_ = now;
  return overview_json_;
}

HttpResponse Dashboard::Handle(const HttpRequest& request) {
  HttpResponse response;
  try {
    response = Route(request);
  } catch (const std::exception& e) {
    response = ApiError(500, "INTERNAL", "internal error");
  }
  AddSecurityHeaders(response);
  return response;
}

HttpResponse Dashboard::Route(const HttpRequest& request) {
  const std::string& target = request.target;
  if (request.method != "GET" && request.method != "POST" && request.method != "HEAD") {
    return ApiError(405, "INVALID", "method not allowed");
  }
  if (target.rfind("/api/", 0) != 0) {
    if (request.method != "GET" && request.method != "HEAD") {
      return ApiError(405, "INVALID", "method not allowed");
    }
    if (target == "/" || target == "/dashboard") return Redirect("/dashboard/");
    static const std::string kPrefix = "/dashboard/";
    if (target.rfind(kPrefix, 0) != 0) return Asset("(none)");
    return Asset(target.substr(kPrefix.size()));
  }
  if (request.body.size() > options_.max_body_bytes) {
    return ApiError(413, "TOO_LARGE",
                    "body larger than " + std::to_string(options_.max_body_bytes) + " bytes");
  }
  const size_t question = target.find('?');
  Call call{request,
            target.substr(0, question),
            question == std::string::npos
                ? std::map<std::string, std::string>()
                : ParseQuery(std::string_view(target).substr(question + 1)),
            CookieValue(request.Header("cookie"), kCookieName),
            std::nullopt,
            NowMs()};
  return Api(call);
}

HttpResponse Dashboard::Api(Call& call) {
  const bool post = call.request.method == "POST";
  if (post) {
    // Before anything else, like the CSRF token: a browser page of another site is refused.
    if (Status origin = CheckRequestOrigin(call.request, options_.secure_cookie); !origin.ok()) {
      return ApiError(403, "ORIGIN", origin.message());
    }
  }
  if (call.path == "/api/login") {
    if (!post) return ApiError(405, "INVALID", "log in with POST");
    return Login(call);
  }
  Result<std::optional<Session>> session =
      sessions_.Find(call.token, call.now_ms, /*touch=*/call.path != "/api/events");
  if (!session.ok()) return StoreError(session.status());
  call.session = std::move(session).value();
  if (!call.session) return ApiError(401, "UNAUTHENTICATED", "log in first");
  // A coordinator disabled (or given another role) since logging in: the store decides.
  Result<std::optional<CoordinatorRecord>> coordinator = store_.FindCoordinator(call.session->name);
  if (!coordinator.ok()) return StoreError(coordinator.status());
  if (!coordinator->has_value() || (*coordinator)->disabled) {
    (void)sessions_.Remove(call.token);  // The store removed them already (sessions.h, 5).
    return ApiError(401, "UNAUTHENTICATED", "this coordinator may no longer log in");
  }
  call.session->role = std::min(call.session->role, (*coordinator)->role);
  if (post && !protocol::ConstantTimeEquals(call.request.Header("x-csrf-token"),
                                            call.session->csrf_token)) {
    return ApiError(403, "CSRF", "missing or wrong X-CSRF-Token header");
  }
  const std::string& p = call.path;
  auto tail = [&](const std::string& prefix, const std::string& suffix = "") -> std::string {
    if (p.size() <= prefix.size() + suffix.size() || p.rfind(prefix, 0) != 0 ||
        p.compare(p.size() - suffix.size(), suffix.size(), suffix) != 0) {
      return "";
    }
    std::string middle = p.substr(prefix.size(), p.size() - prefix.size() - suffix.size());
    return middle.find('/') == std::string::npos ? UrlDecode(middle) : "";
  };
  if (post) {
    if (p == "/api/logout") return Logout(call);
    if (p == "/api/overrides") return SetOverride(call);
    if (std::string id = tail("/api/cases/", "/status"); !id.empty()) {
      return SetCaseStatus(call, id);
    }
    if (std::string id = tail("/api/devices/", "/revoke"); !id.empty()) return Revoke(call, id);
    if (p == "/api/quarantine/release") return ReleaseQuarantine(call);
  } else {
    if (p == "/api/session") return SessionInfo(call);
    if (p == "/api/overview") return Overview(call);
    if (p == "/api/events") return Events(call);
    if (p == "/api/forms") return Forms(call);
    if (p == "/api/coverage") return Coverage(call);
    if (p == "/api/conflicts") return Conflicts(call);
    if (p == "/api/cases") return Cases(call);
    if (p == "/api/devices") return Devices(call);
    if (p == "/api/alerts") return Alerts(call);
    if (p == "/api/audit") return Audit(call);
    if (p == "/api/quarantine") return Quarantine(call);
    if (std::string code = tail("/api/stations/"); !code.empty()) return Station(call, code);
    if (std::string id = tail("/api/cases/"); !id.empty()) return Case(call, id);
    if (std::string what = tail("/api/export/"); !what.empty()) return Export(call, what);
  }
  return ApiError(404, "NOT_FOUND", "no such endpoint");
}

HttpResponse Dashboard::SessionInfo(Call& call) {
  v1::SessionInfo info;
  info.set_name(call.session->name);
  info.set_role(call.session->role);
  info.set_csrf_token(call.session->csrf_token);
  info.set_idle_timeout_s(options_.sessions.idle_timeout_ms / 1000);
  info.set_server_id(options_.server_id);
  return JsonAnswer(info);
}

HttpResponse Dashboard::Overview(Call&) {
  Result<std::string> json = OverviewJson();
  if (!json.ok()) return StoreError(json.status());
  HttpResponse response;
  response.content_type = "application/json; charset=utf-8";
  response.body = *json;
  return response;
}

HttpResponse Dashboard::Events(Call& call) {
  Result<std::string> json = OverviewJson();
  if (!json.ok()) return StoreError(json.status());
  auto source = std::make_shared<EventStreamSource>();
  source->first_chunk = "retry: 3000\n\n" + FormatEvent("overview", *json);
  // The stream ends with its session: each event first checks that the session is valid
  // (a store failure is not taken for a logout: the stream waits for the store instead).
  source->subscribe = [this, token = call.token](std::function<bool(const std::string&)> sink) {
    return events_.Subscribe([this, token, sink = std::move(sink)](const std::string& chunk) {
      Result<std::optional<Session>> session = sessions_.Find(token, NowMs(), /*touch=*/false);
      if (!session.ok()) return true;
      return session->has_value() && sink(chunk);
    });
  };
  source->unsubscribe = [this](uint64_t id) { events_.Unsubscribe(id); };
  HttpResponse response;
  response.content_type = "text/event-stream; charset=utf-8";
  response.event_stream = std::move(source);
  response.note = "events";
  return response;
}

HttpResponse Dashboard::Asset(const std::string& path) {
  std::string name = path.empty() ? "index.html" : path;
  if (size_t q = name.find('?'); q != std::string::npos) name.resize(q);
  if (name.empty()) name = "index.html";
  std::optional<AssetFile> file;
  if (!options_.assets_dir.empty() && name != kKhmerFontPath && IsAssetName(name)) {
    std::ifstream in(options_.assets_dir + "/" + name, std::ios::binary);
    if (in) {
      std::ostringstream data;
      data << in.rdbuf();
      file = AssetFile{name, ContentTypeFor(name), data.str()};
    }
  } else {
    file = FindEmbeddedAsset(name);
  }
  if (!file) {
    HttpResponse response;
    response.status = 404;
    response.content_type = "text/plain; charset=utf-8";
    response.body = "no such file\n";
    return response;
  }
  HttpResponse response;
  response.content_type = file->content_type;
  response.body = std::move(file->data);
  return response;
}

}  // namespace vigil::syncd::dashboard
