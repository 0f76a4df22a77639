#include "mcval/audit/record.h"

#include <gtest/gtest.h>

#include "mcval/audit/chain.h"

namespace mcval::audit {
namespace {

// A JWS as an OIDC provider issues it (header {"alg":"RS256","typ":"JWT"}).
constexpr const char* kJwt =
    "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ."
    "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";

AuditRecord good_record() {
  Requester who{{"https://idp.example.org/realms/mcval", "0f6e5c1a-7d3b-4d8e-9a1b-2c3d4e5f6a7b", "mcval-viewer"},
                "viewer", "req-1", "10.0.0.4"};
  return AuditRecord::make(Action::denied, who, "slide:3f2a9c0e5b1d7a44", "centre-a", Outcome::denied,
                           "role_missing");
}

TEST(AuditRecord, OrdinaryValuesPass) {
  EXPECT_TRUE(good_record().validate().ok());
  for (const char* value : {"slide:3f2a9c0e5b1d7a44", "CMU-1-Small-Region.svs", "centre-b/deep/b1.svs",
                            "dataset:centre-a.2024.v2.csv", "a.b.c.example.org", "0.1.0", "::1", "10.0.0.4",
                            "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ",  // an Entra ID pairwise subject
                            "model:3f2a9c0e5b1d7a443f2a9c0e5b1d7a443f2a9c0e5b1d7a443f2a9c0e5b1d7a44",
                            "alice@example.org", "token_expired", "Zürich", ""}) {
    EXPECT_EQ(refusal_reason(value), "") << value;
  }
}

TEST(AuditRecord, TokenLikeValuesAreRefusedWithoutEchoingThem) {
  const std::string jwe = "eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ..48V1_ALb6US04U3b.5eym8TW_c8SuK0ltJ3rpYIzOeDQz7TALvtu6UG9oMo4vpzs9tX_EFShS8iB7j6jiSdiwkIr3ajwQzaBtQD_A.XFBoMYUZodetZdvTiFvSkQ";
  for (const std::string& value :
       {std::string(kJwt), "Bearer " + std::string(kJwt), std::string("bearer abc"), std::string("BEARER x"),
        "token=" + std::string(kJwt) + "&x=1", jwe,
        std::string("Q2hhbmdlTWVQbGVhc2UxMjM0NTY.VGhpc0lzQVNlY3JldDEyMzQ1Njc4OQ.c2ln")}) {
    EXPECT_TRUE(looks_like_token(value)) << value;
    EXPECT_EQ(refusal_reason(value), "looks like a token") << value;
  }
  AuditRecord r = good_record();
  r.actor.sub = kJwt;
  r.reason = "Bearer abc";
  const auto status = r.validate();
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, ErrorCode::invalid_argument);
  EXPECT_NE(status.error().detail.find("actor.sub (looks like a token)"), std::string::npos);
  EXPECT_NE(status.error().detail.find("reason (looks like a token)"), std::string::npos);
  EXPECT_EQ(status.error().detail.find("eyJ"), std::string::npos);
  EXPECT_EQ(status.error().detail.find("abc"), std::string::npos);
}

TEST(AuditRecord, RefusesInvalidUtf8ControlCharactersAndLongValues) {
  EXPECT_EQ(refusal_reason("caf\xC3"), "not valid UTF-8");
  EXPECT_EQ(refusal_reason("\xC0\xAF"), "not valid UTF-8");        // overlong "/"
  EXPECT_EQ(refusal_reason("\xED\xA0\x80"), "not valid UTF-8");    // a surrogate
  EXPECT_EQ(refusal_reason("a\nb"), "control characters");
  EXPECT_EQ(refusal_reason(std::string("a\0b", 3)), "control characters");
  EXPECT_EQ(refusal_reason(std::string(1025, 'a')), "longer than 1024 bytes");
  EXPECT_EQ(refusal_reason(std::string(1024, 'a')), "");
  AuditRecord r = good_record();
  r.time = "2026-01-02 03:04:05";
  EXPECT_FALSE(r.validate().ok());
}

TEST(AuditRecord, SanitizedWithholdsOnlyTheBadFields) {
  AuditRecord r = good_record();
  r.actor.client_id = kJwt;
  r.resource = "slide:\x01";
  std::vector<std::string> withheld;
  const AuditRecord clean = r.sanitized(&withheld);
  EXPECT_TRUE(clean.validate().ok());
  EXPECT_EQ(clean.actor.client_id, "[withheld: looks like a token]");
  EXPECT_EQ(clean.resource, "[withheld: control characters]");
  EXPECT_EQ(clean.actor.sub, r.actor.sub);
  EXPECT_EQ(withheld, (std::vector<std::string>{"actor.client_id", "resource"}));
}

TEST(AuditRecord, ReadsArePresentExactlyForReadSlide) {
  AuditRecord r = good_record();
  r.reads = ReadSummary{};
  EXPECT_FALSE(r.validate().ok());
  r.reads.reset();
  r.action = Action::read_slide;
  EXPECT_FALSE(r.validate().ok());
  r.reads = ReadSummary{1, 0, 0, 10, 1, "2026-01-02T03:00:00.000Z", "2026-01-02T03:00:00.000Z", {3}, "window"};
  EXPECT_TRUE(r.validate().ok());
  EXPECT_TRUE(r.sanitized().validate().ok());
  r.action = Action::login;
  EXPECT_FALSE(r.sanitized().reads.has_value());
}

TEST(AuditRecord, ActionAndOutcomeNamesRoundTrip) {
  for (Action a : {Action::login, Action::read_slide, Action::config_changed, Action::service_stopped}) {
    EXPECT_EQ(parse_action(action_name(a)), a);
  }
  EXPECT_EQ(action_name(Action::token_rejected), "token_rejected");
  EXPECT_FALSE(parse_action("delete_everything").has_value());
  EXPECT_EQ(parse_outcome("failed"), Outcome::failed);
  EXPECT_FALSE(parse_outcome("maybe").has_value());
}

TEST(AuditRecord, TimesAreUtcWithMilliseconds) {
  EXPECT_EQ(format_utc(std::chrono::system_clock::time_point(std::chrono::milliseconds(1767323045678))),
            "2026-01-02T03:04:05.678Z");
  EXPECT_TRUE(is_utc_timestamp("2026-01-02T03:04:05.678Z"));
  EXPECT_FALSE(is_utc_timestamp("2026-01-02T03:04:05Z"));
  EXPECT_FALSE(is_utc_timestamp("2026-01-02T03:04:05.678+01:00"));
}

// The canonical line and hash of a record, computed independently with Python's hashlib and
// json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False) (docs/audit.md).
TEST(AuditChain, CanonicalLineAndHashMatchAnIndependentImplementation) {
  AuditRecord r;
  r.time = "2026-01-02T03:04:05.678Z";
  r.actor = {"https://idp.example.org/realms/mcval", "0f6e5c1a-7d3b-4d8e-9a1b-2c3d4e5f6a7b", "mcval-viewer"};
  r.role = "viewer";
  r.action = Action::read_slide;
  r.resource = "slide:a\"b\\c";
  r.centre = "centre-z\xC3\xBCrich";
  r.outcome = Outcome::allowed;
  r.request_id = "req-1";
  r.source = "10.0.0.4";
  r.version = "0.1.0";
  r.reads = ReadSummary{12, 1, 0, 123456, 13, "2026-01-02T03:00:00.000Z", "2026-01-02T03:04:05.000Z", {12, 10}, "window"};
  ASSERT_TRUE(r.validate().ok());
  const std::string log = "00112233445566778899aabbccddeeff";
  EXPECT_EQ(genesis_hash(log), "02685e2905b002fcc97983b336246c8be0316c749c85d04e611e736a0dbaf25d");
  const auto chained = chain_record(r, log, 1, genesis_hash(log));
  EXPECT_EQ(chained.hash, "3631826e55d72dbb4b01941d46a8626313411cd2c7de8e3ca424e7e927251575");
  EXPECT_EQ(chained.line,
            "{\"action\":\"read_slide\",\"actor\":{\"client_id\":\"mcval-viewer\",\"iss\":\"https://idp.example.org/"
            "realms/mcval\",\"sub\":\"0f6e5c1a-7d3b-4d8e-9a1b-2c3d4e5f6a7b\"},\"centre\":\"centre-z\xC3\xBCrich\","
            "\"hash\":\"3631826e55d72dbb4b01941d46a8626313411cd2c7de8e3ca424e7e927251575\",\"log\":"
            "\"00112233445566778899aabbccddeeff\",\"outcome\":\"allowed\",\"prev\":"
            "\"02685e2905b002fcc97983b336246c8be0316c749c85d04e611e736a0dbaf25d\",\"reads\":{\"bytes\":123456,"
            "\"closed_by\":\"window\",\"first\":\"2026-01-02T03:00:00.000Z\",\"last\":\"2026-01-02T03:04:05.000Z\","
            "\"levels\":[10,12],\"regions\":1,\"requests\":13,\"thumbnails\":0,\"tiles\":12},\"reason\":\"\","
            "\"request_id\":\"req-1\",\"resource\":\"slide:a\\\"b\\\\c\",\"role\":\"viewer\",\"seq\":1,\"source\":"
            "\"10.0.0.4\",\"time\":\"2026-01-02T03:04:05.678Z\",\"v\":1,\"version\":\"0.1.0\"}\n");
}

}  // namespace
}  // namespace mcval::audit
