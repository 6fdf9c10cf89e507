#include "vigil/protocol/crypto.h"

#include <doctest/doctest.h>

#include "vigil/protocol/signing.h"
#include "vigil/v1/sync.pb.h"

namespace vigil::protocol {
namespace {

TEST_CASE("SHA-256 matches the FIPS 180-2 test vector for \"abc\"") {
  CHECK(HexEncode(Sha256("abc")) ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_CASE("Ed25519 signs and verifies and a flipped byte fails (RFC 8032 test 1 key)") {
  // RFC 8032 §7.1 TEST 1: empty message.
  std::string seed;
  const char* hex_seed = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
  for (int i = 0; i < 64; i += 2) {
    seed.push_back(static_cast<char>(std::stoi(std::string(hex_seed + i, 2), nullptr, 16)));
  }
  auto key = Ed25519PrivateKey::FromSeed(seed);
  REQUIRE(key.ok());
  CHECK(HexEncode(key->public_key().raw()) ==
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  auto sig = key->Sign("");
  REQUIRE(sig.ok());
  CHECK(HexEncode(*sig).substr(0, 16) == "e5564300c360ac72");
  CHECK(key->public_key().Verify("", *sig));

  auto sig2 = key->Sign("batch bytes");
  REQUIRE(sig2.ok());
  std::string bad = *sig2;
  bad[10] ^= 0x01;
  CHECK_FALSE(key->public_key().Verify("batch bytes", bad));
  CHECK_FALSE(key->public_key().Verify("batch bytez", *sig2));
  CHECK_FALSE(key->public_key().Verify("batch bytes", sig2->substr(0, 63)));
}

TEST_CASE("Ed25519PublicKey refuses a key of the wrong size") {
  CHECK(Ed25519PublicKey::FromRaw(std::string(31, 'a')).status().code() ==
        StatusCode::kInvalidArgument);
}

TEST_CASE("the signature input is label NUL context NUL payload") {
  std::string input = SignatureInput(kBatchLabel, "srv-1", std::string("\x01\x00\x02", 3));
  CHECK(input == std::string("vigil/v1/batch\0srv-1\0\x01\x00\x02", 14 + 1 + 5 + 1 + 3));
}

TEST_CASE("base64url round-trips every length and refuses the standard alphabet") {
  for (size_t n = 0; n < 40; ++n) {
    std::string bytes;
    for (size_t i = 0; i < n; ++i) bytes.push_back(static_cast<char>(i * 37 + 250));
    std::string text = Base64UrlEncode(bytes);
    CHECK(text.find_first_of("+/=") == std::string::npos);
    auto back = Base64UrlDecode(text);
    REQUIRE(back.ok());
    CHECK(*back == bytes);
  }
  CHECK_FALSE(Base64UrlDecode("ab+c").ok());
  CHECK_FALSE(Base64UrlDecode("a").ok());
}

TEST_CASE("ConstantTimeEquals compares content and length") {
  CHECK(ConstantTimeEquals("abc", "abc"));
  CHECK_FALSE(ConstantTimeEquals("abc", "abd"));
  CHECK_FALSE(ConstantTimeEquals("abc", "abcd"));
}

TEST_CASE("NewUuid makes distinct version-4 UUIDs") {
  auto a = NewUuid();
  auto b = NewUuid();
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(a->size() == 36);
  CHECK((*a)[14] == '4');
  CHECK(*a != *b);
}

}  // namespace
}  // namespace vigil::protocol

// The worked examples of docs/protocol.md §4.1 and §5, byte for byte.
namespace vigil::protocol {
namespace {

std::string FromHex(std::string_view hex) {
  std::string bytes;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    bytes.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return bytes;
}

TEST_CASE("the worked example of docs/protocol.md §4.1: input, signature, hash, device id") {
  Result<Ed25519PrivateKey> key = Ed25519PrivateKey::FromSeed(
      FromHex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"));
  REQUIRE(key.ok());
  const std::string batch_bytes = FromHex("0a0264311001");
  v1::Batch batch;
  REQUIRE(batch.ParseFromString(batch_bytes));
  CHECK(batch.device_id() == "d1");
  CHECK(batch.batch_seq() == 1);

  const std::string input = SignatureInput(kBatchLabel, "demo-server", batch_bytes);
  CHECK(input.size() == 33);
  CHECK(HexEncode(input) == "766967696c2f76312f62617463680064656d6f2d736572766572000a0264311001");
  Result<std::string> signature = key->Sign(input);
  REQUIRE(signature.ok());
  CHECK(HexEncode(*signature) ==
        "4f978a8b863678f68e66734cc32fc031f61bc41ffe54c8b0caab2f0b4166dac5"
        "81d73201f39ad4dae642a81b02c0fc6647a08fb31d1f354ac231abdb4ebb450a");
  CHECK(HexEncode(Sha256(batch_bytes)) ==
        "91b0579a83b5faf1256f56af98306c27adbd5679b3003c03ebef033296d50e54");
  CHECK(DeviceIdFromPublicKey(key->public_key().raw()) == "d21fe31dfa154a261626bf854046fd227");
  CHECK(SignatureInput(kEnrollLabel, "K7QF-3M9X-TR2P", key->public_key().raw()).size() == 63);
}

TEST_CASE("NewUuid makes the record ids of docs/protocol.md §3: lower-case version-4 UUIDs") {
  for (int i = 0; i < 200; ++i) {
    Result<std::string> uuid = NewUuid();
    REQUIRE(uuid.ok());
    const std::string& id = *uuid;
    CAPTURE(id);
    REQUIRE(id.size() == 36);
    for (size_t at = 0; at < id.size(); ++at) {
      if (at == 8 || at == 13 || at == 18 || at == 23) {
        CHECK(id[at] == '-');
      } else {
        CHECK(std::string_view("0123456789abcdef").find(id[at]) != std::string_view::npos);
      }
    }
    CHECK(id[14] == '4');
    CHECK(std::string_view("89ab").find(id[19]) != std::string_view::npos);
  }
}

TEST_CASE("the enrollment QR example of docs/protocol.md §5 decodes to its fields") {
  const std::string qr =
      "Ch5odHRwczovL3ZpZ2lsLmV4YW1wbGUub3JnOjg0NDMSIFDYWOCYXsx_YEGKrwzFq1h_QsJXCohAlanozKzQ9"
      "lRcGg5LN1FGLTNNOVgtVFIyUA";
  Result<std::string> bytes = Base64UrlDecode(qr);
  REQUIRE(bytes.ok());
  v1::EnrollmentPayload payload;
  REQUIRE(payload.ParseFromString(*bytes));
  CHECK(payload.server_url() == "https://vigil.example.org:8443");
  CHECK(payload.tls_pin().size() == 32);
  CHECK(payload.code() == "K7QF-3M9X-TR2P");
  CHECK(Base64UrlEncode(payload.SerializeAsString()) == qr);
}

}  // namespace
}  // namespace vigil::protocol
