// Fuzz target: the JSON documents mcval takes from outside. Each input is read as every kind:
// an identity provider's discovery document and token answer (they arrive over the network in a
// browser login), a dataset import, a model card and an inference record. Each must be accepted
// or refused with its own error, never crash, hang or be read halfway.
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "mcval/auth/issuer_config.h"
#include "mcval/auth/strict_json.h"
#include "mcval/dataset/dataset.h"
#include "mcval/http/browser_login.h"
#include "mcval/inference/inference_store.h"
#include "mcval/inference/model_card.h"

namespace {

const mcval::auth::IssuerConfig& login_issuer() {
  static const mcval::auth::IssuerConfig issuer = [] {
    mcval::auth::IssuerConfig config;
    config.issuer = "https://idp.example.org/realms/centre-a";
    return config;
  }();
  return issuer;
}

void check_discovery(std::string_view text) {
  auto endpoints = mcval::http::parse_login_discovery(text, login_issuer());
  if (endpoints.ok()) {
    // Accepted endpoints are https (the issuer allows nothing else here).
    for (const std::string* url : {&endpoints->authorization, &endpoints->token}) {
      if (!mcval::auth::url_allowed(*url, false)) __builtin_trap();
    }
    if (!endpoints->end_session.empty() && !mcval::auth::url_allowed(endpoints->end_session, false)) __builtin_trap();
  } else if (endpoints.error().code != mcval::ErrorCode::auth_unavailable) {
    __builtin_trap();
  }
}

void check_token_answer(std::string_view text) {
  const auto tokens = mcval::http::parse_token_response(text);
  // A token is only ever taken whole from the document, never from a fragment of it.
  for (const std::string* token : {&tokens.access_token, &tokens.id_token, &tokens.refresh_token}) {
    if (!token->empty() && text.find('"') == std::string_view::npos) __builtin_trap();
  }
}

void check_dataset(std::string_view text) {
  mcval::dataset::ImportLimits limits;
  limits.max_rows = 200;
  auto imported = mcval::dataset::parse_dataset_json(text, "fuzz", limits);
  if (imported.ok()) {
    if (imported->rows().size() > limits.max_rows) __builtin_trap();
    // What was imported exports and imports back to the same rows.
    auto again = mcval::dataset::parse_dataset_json(mcval::dataset::dataset_to_json(*imported), "fuzz", limits);
    if (!again.ok() || again->rows().size() != imported->rows().size()) __builtin_trap();
  } else if (imported.error().code != mcval::ErrorCode::dataset_invalid) {
    __builtin_trap();
  }
}

void check_documents(std::string_view text) {
  auto document = mcval::auth::parse_json_strict(text, 32);
  if (!document.ok()) return;
  auto card = mcval::inference::parse_model_card(*document);
  if (card.ok()) {
    // A card that was accepted reads back from its own file form.
    auto again = mcval::inference::parse_model_card(mcval::inference::to_json(*card));
    if (!again.ok()) __builtin_trap();
  } else if (card.error().code != mcval::ErrorCode::model_invalid) {
    __builtin_trap();
  }
  (void)mcval::inference::slide_inference_record_from_json(*document);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  check_discovery(text);
  check_token_answer(text);
  check_dataset(text);
  check_documents(text);
  return 0;
}
