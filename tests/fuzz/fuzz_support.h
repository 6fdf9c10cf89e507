// What the fuzz targets share: one fixed device key (so seeds and the router's store agree on
// the device), the deployment id, and a form with every question type.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "vigil/protocol/crypto.h"
#include "vigil/v1/forms.pb.h"

namespace vigil::fuzz {

inline constexpr std::string_view kServerId = "fuzz-deployment";

// The device every target treats as enrolled: an Ed25519 key from a fixed seed.
const protocol::Ed25519PrivateKey& DeviceKey();
// DeviceIdFromPublicKey of DeviceKey().
const std::string& DeviceId();

// A checklist form using every question type, relevance, critical answers and a QA check.
v1::FormDefinition SampleForm();

// The fuzzer's bytes as a string_view.
inline std::string_view AsText(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

}  // namespace vigil::fuzz

// The entry point of every target: libFuzzer calls it, and so does regression_main.cc.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
