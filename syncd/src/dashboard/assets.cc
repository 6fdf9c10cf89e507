#include "dashboard/assets.h"

namespace vigil::syncd::dashboard {

bool IsAssetName(std::string_view name) {
  if (name.empty() || name.size() > 64 || name.front() == '.') return false;
  for (char c : name) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string ContentTypeFor(std::string_view name) {
  auto ends_with = [&](std::string_view suffix) {
    return name.size() >= suffix.size() &&
           name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  if (ends_with(".html")) return "text/html; charset=utf-8";
  if (ends_with(".js") || ends_with(".mjs")) return "text/javascript; charset=utf-8";
  if (ends_with(".css")) return "text/css; charset=utf-8";
  if (ends_with(".svg")) return "image/svg+xml";
  if (ends_with(".png")) return "image/png";
  if (ends_with(".ttf")) return "font/ttf";
  if (ends_with(".json")) return "application/json; charset=utf-8";
  return "application/octet-stream";
}

std::optional<AssetFile> FindEmbeddedAsset(std::string_view name) {
  if (name != kKhmerFontPath && !IsAssetName(name)) return std::nullopt;
  for (size_t i = 0; i < kEmbeddedAssetCount; ++i) {
    if (name == kEmbeddedAssets[i].name) {
      return AssetFile{std::string(name), ContentTypeFor(name),
                       std::string(reinterpret_cast<const char*>(kEmbeddedAssets[i].data),
                                   kEmbeddedAssets[i].size)};
    }
  }
  return std::nullopt;
}

}  // namespace vigil::syncd::dashboard
