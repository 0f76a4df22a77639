#pragma once
// `mcval infer`: runs a registered model over catalogued slides.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mcval/common/config.h"
#include "mcval/common/result.h"
#include "mcval/inference/model_store.h"

namespace mcval::app {

struct InferCommandOptions {
  std::string model;                 ///< hash prefix, name@version or name
  std::string centre;                ///< only this centre
  std::string dataset;               ///< only the slides of this dataset (name or file)
  std::vector<std::string> slides;   ///< only these slide ids
  std::string shard = "0/1";         ///< i/N
  bool force = false;
  bool json = false;
  /// Exit 0 when the run finished and some slides failed (each recorded as failed with its
  /// reason), instead of 9: for a Kubernetes Job, whose pod would otherwise be retried.
  bool failed_slides_ok = false;
  int batch_size = 32;
};
int run_infer(const Config& config, const InferCommandOptions& options);

/// What a run over the selected slides did.
struct InferOutcome {
  int selected = 0;
  int skipped = 0;
  int succeeded = 0;
  int failed = 0;  ///< including slides asked for that the catalogue lacks (recorded as failed)
  bool stopped = false;
  std::int64_t tiles = 0;
  double seconds = 0;
  nlohmann::json json;  ///< the summary `mcval infer --json` prints
  /// Set when the run ended on an error part way (json then holds what was done, and the error).
  std::optional<Error> error;
};
/// Runs (or resumes) `model` over the slides the options select, with progress on stderr and,
/// unless options.json, one line per slide on stdout. Used by `mcval infer` and by
/// `mcval validate --model`.
Result<InferOutcome> infer_selected_slides(const Config& config, const inference::ModelRecord& model,
                                           const InferCommandOptions& options);

}  // namespace mcval::app
