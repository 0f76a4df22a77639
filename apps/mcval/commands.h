#pragma once
// The subcommands of the mcval binary. Each returns the process exit status; failures print
// one line "mcval: error: <reason>" on stderr (see fail()).
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "mcval/catalog/catalog_store.h"
#include "mcval/common/config.h"
#include "mcval/common/error.h"
#include "mcval/dataset/dataset.h"

namespace mcval::app {

int run_serve(const Config& config);
int run_ingest(const Config& config);

struct SlidesListOptions {
  std::optional<std::string> centre;
  bool json = false;
  bool include_removed = false;
};
int run_slides_list(const Config& config, const SlidesListOptions& options);
int run_slides_show(const Config& config, const std::string& id);

struct SynthCommandOptions {
  std::string source;
  std::string out;
  std::string centres = "centre-a,centre-b,centre-c";
  int slides_per_centre = 1;
  long long width = 20000;
  long long height = 16000;
  unsigned long long seed = 1;
  bool lesions = true;               ///< paint lesions and write their ground truth
  std::vector<double> prevalence;    ///< per centre (or one for all); empty: defaults by position
  std::string truth_out;             ///< empty: "ground-truth" beside the slide root
};
int run_synth(const Config& config, const SynthCommandOptions& options);

struct ValidateCommandOptions {
  std::string dataset;                           ///< dataset CSV or JSON file
  std::string predictions;                       ///< predictions CSV file
  std::string model;                             ///< or a registered model, run over the dataset
  std::optional<double> threshold;
  std::optional<std::string> development_centre;
  std::optional<double> target_sensitivity;
  std::string out;
  unsigned long long seed = 7;
  std::size_t bootstrap_replicates = 2000;
  int ece_bins = 10;
  std::string patient_aggregation = "max";
  bool summary_only = false;          ///< federated: write aggregates only
  std::vector<std::string> combine;   ///< federated: summaries to combine
};
int run_validate(const Config& config, const ValidateCommandOptions& options);

/// A dataset given as a file, or by its name in the catalogue.
Result<dataset::Dataset> resolve_dataset(const Config& config, const std::string& name_or_file);

int run_dataset_import(const Config& config, const std::string& file, const std::string& name);
int run_dataset_list(const Config& config);
int run_dataset_show(const Config& config, const std::string& name);

/// `mcval model add|list|show`: the model store under <data>/models.
int run_model_add(const Config& config, const std::string& path);
int run_model_list(const Config& config, bool json);
int run_model_show(const Config& config, const std::string& reference);
/// Scores PNG tiles of the model's input size with the model (as `mcval infer` runs it) and
/// prints the class probabilities as JSON: for checking a package against its own framework.
int run_model_score(const Config& config, const std::string& reference, const std::vector<std::string>& images);

/// `mcval audit verify`: walks the whole audit log (and compares a checkpoint); prints the
/// report and fails with audit_tampered on the first problem.
struct AuditVerifyOptions {
  std::string log;         ///< empty: the configured audit log
  std::string checkpoint;  ///< checkpoint file from `mcval audit checkpoint`
  std::string public_key;   ///< Ed25519 public key (PEM): check against the last signed checkpoint
  std::string checkpoints;  ///< signed checkpoint file; empty: the configured checkpoint folder's
  bool require_sealed = false;  ///< records after the last signed checkpoint are a failure
  bool json = false;
};
int run_audit_verify(const Config& config, const AuditVerifyOptions& options);
/// `mcval audit checkpoint`: verifies the log and exports {log, seq, hash, time} as JSON.
struct AuditCheckpointOptions {
  std::string log;  ///< empty: the configured audit log
  std::string out;  ///< empty: stdout
};
int run_audit_checkpoint(const Config& config, const AuditCheckpointOptions& options);
/// `mcval audit keygen --out DIR`: a new Ed25519 key pair for sealing the audit log.
int run_audit_keygen(const std::string& out);

/// `mcval backup`: a consistent copy of the catalogue database, catalog-<UTC time>.sqlite in
/// `out`, written atomically while the server may go on using it; the newest `keep` copies stay.
struct BackupOptions {
  std::string out;
  int keep = 14;
};
int run_backup(const Config& config, const BackupOptions& options);

/// The store the settings name (--database; SQLite in the data folder by default), opened and
/// migrated; `open_store_at` the one of another URL with the same settings.
Result<std::unique_ptr<catalog::CatalogStore>> open_store(const Config& config);
Result<std::unique_ptr<catalog::CatalogStore>> open_store_at(const Config& config, const std::string& url);
/// False only for the default SQLite store when its file does not exist yet.
bool store_exists(const Config& config);

/// `mcval db migrate --from URL --to URL`: copies a whole store into an empty one and verifies
/// row counts and content hashes.
struct DbMigrateOptions {
  std::string from;
  std::string to;
  bool json = false;
};
int run_db_migrate(const Config& config, const DbMigrateOptions& options);

/// `mcval sessions list|revoke`: the browser sessions in the store.
int run_sessions_list(const Config& config, bool json);
struct SessionsRevokeOptions {
  std::string user;     ///< every session of this user id
  std::string session;  ///< the session whose id starts with these hex digits
};
int run_sessions_revoke(const Config& config, const SessionsRevokeOptions& options);

/// Prints every setting as a Markdown table (docs/configuration.md is checked against it).
int run_config_docs();

/// Prints "mcval: error: <error>" on stderr and returns the error's exit status.
int fail(const Error& error);

/// Path of the SQLite catalogue inside the data folder.
std::string catalog_file(const Config& config);
/// Folder of the stored validation runs inside the data folder.
std::string reports_folder(const Config& config);

}  // namespace mcval::app
