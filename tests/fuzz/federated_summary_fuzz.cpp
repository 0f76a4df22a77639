// Fuzz target: combining federated summaries, which arrive from other sites (untrusted JSON).
#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

#include "mcval/validation/federated.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto summary = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (summary.is_discarded()) return 0;
  // Let mutated content through the hash check, so the combiner's own checks are exercised.
  if (summary.is_object()) summary["content_sha256"] = mcval::validation::summary_content_hash(summary);
  mcval::validation::ValidationOptions options;
  auto report = mcval::validation::combine_summaries({summary}, options);
  if (report.ok() && !report->contains("pooled")) __builtin_trap();
  return 0;
}
