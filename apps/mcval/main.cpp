// mcval: multi-centric validation of AI models on whole-slide images.
// This file only parses the command line and hands over to the subcommands.
#include <cstdio>
#include <iostream>

#include <CLI/CLI.hpp>

#include "commands.h"
#include "infer_command.h"
#include "mcval/common/logging.h"
#include "settings_binding.h"

int run(int argc, char** argv);

int main(int argc, char** argv) {
  // Expected failures are Results; an exception here is a bug, reported as one line all the same.
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    return mcval::app::fail(mcval::Error{mcval::ErrorCode::internal, e.what()});
  }
}

int run(int argc, char** argv) {
  using namespace mcval;
  Config config = Config::defaults();
  if (auto loaded = app::preload_settings(argc, argv, config); !loaded.ok()) {
    return app::fail(loaded.error());
  }

  CLI::App cli{"mcval: slide store, tile server and viewer for multi-centric validation of AI models on "
               "whole-slide images",
               "mcval"};
  cli.set_version_flag("--version", std::string("mcval ") + MCVAL_VERSION);
  cli.require_subcommand(1);

  auto* serve = cli.add_subcommand("serve", "Serve the slide store: viewer, JSON API, Deep Zoom and IIIF tiles");
  app::bind_settings(*serve, config, "serve");

  auto* ingest = cli.add_subcommand("ingest", "Scan the slide root and bring the catalogue up to date");
  app::bind_settings(*ingest, config, "ingest");

  auto* slides = cli.add_subcommand("slides", "Show what the catalogue holds");
  slides->require_subcommand(1);
  app::SlidesListOptions list_options;
  auto* slides_list = slides->add_subcommand("list", "List catalogued slides");
  app::bind_settings(*slides_list, config, "slides");
  slides_list->add_option("--centre", list_options.centre, "Only this centre");
  slides_list->add_flag("--json", list_options.json, "Print JSON instead of a table");
  slides_list->add_flag("--all", list_options.include_removed, "Include slides removed from the slide root");
  std::string show_id;
  auto* slides_show = slides->add_subcommand("show", "Show one slide as JSON");
  app::bind_settings(*slides_show, config, "slides");
  slides_show->add_option("id", show_id, "Slide id")->required();

  app::SynthCommandOptions synth_options;
  auto* synth = cli.add_subcommand("synth", "Generate Aperio-compatible multi-centre test slides from a real slide");
  app::bind_settings(*synth, config, "synth");
  synth->add_option("--source", synth_options.source, "Real slide whose tissue is used (e.g. CMU-1-Small-Region.svs)")
      ->required()
      ->check(CLI::ExistingFile);
  synth->add_option("--out", synth_options.out, "Slide root to write <centre>/<slide>.svs into")->required();
  synth->add_option("--centres", synth_options.centres, "Comma-separated centre names")->capture_default_str();
  synth->add_option("--slides-per-centre", synth_options.slides_per_centre, "Slides per centre")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000));
  synth->add_option("--width", synth_options.width, "Width in pixels")->capture_default_str()->check(CLI::Range(256LL, 200000LL));
  synth->add_option("--height", synth_options.height, "Height in pixels")->capture_default_str()->check(CLI::Range(256LL, 200000LL));
  synth->add_option("--seed", synth_options.seed, "Seed: the same seed gives the same files")->capture_default_str();
  synth->add_flag("--lesions,!--no-lesions", synth_options.lesions,
                  "Paint synthetic lesions on a share of the slides and write their ground truth (default: on)");
  synth->add_option("--prevalence", synth_options.prevalence,
                    "Share of positive slides per centre, comma-separated, one per centre or one for all "
                    "(default: 0.5,0.35,0.25,0.4 by centre position)")
      ->delimiter(',')
      ->check(CLI::Range(0.0, 1.0));
  synth->add_option("--truth-out", synth_options.truth_out,
                    "Folder for ground_truth.csv, ground_truth_dataset.csv and lesions.geojson "
                    "(default: ground-truth beside the slide root)");

  app::ValidateCommandOptions validate_options;
  auto* validate = cli.add_subcommand(
      "validate", "Validate a model's predictions against a multi-centre dataset: statistics per centre and pooled, "
                  "heterogeneity, calibration; writes report.json, report.html and per_slide.csv");
  app::bind_settings(*validate, config, "validate");
  validate->add_option("--dataset", validate_options.dataset,
                       "Dataset name in the catalogue, or a CSV/JSON file: "
                       "slide_id,centre,patient_id,label[,isup_grade,scanner,specimen,exclude_reason]");
  auto* predictions_option =
      validate->add_option("--predictions", validate_options.predictions, "Predictions CSV: slide_id,score[,isup_pred]")
          ->check(CLI::ExistingFile);
  validate
      ->add_option("--model", validate_options.model,
                   "Instead of --predictions: a registered model, run (or resumed) over the dataset's slides")
      ->excludes(predictions_option);
  auto* summary_option = validate->add_flag(
      "--summary-only", validate_options.summary_only,
      "Federated mode at a centre: write summary.json with aggregates only (no slide or patient id, no per-slide row)");
  auto* combine_option = validate->add_option("--combine", validate_options.combine,
                                              "Federated mode: combine centres' summary.json files into the pooled report")
                             ->check(CLI::ExistingFile);
  summary_option->excludes(combine_option);
  auto* threshold_option = validate->add_option("--threshold", validate_options.threshold,
                                                "Pre-registered threshold (positive when score >= threshold)");
  auto* development_option = validate->add_option("--development-centre", validate_options.development_centre,
                                                  "Derive the threshold on this centre instead of --threshold");
  threshold_option->excludes(development_option);
  validate->add_option("--target-sensitivity", validate_options.target_sensitivity,
                       "With --development-centre: derive the threshold reaching this sensitivity (else Youden)")
      ->check(CLI::Range(0.0, 1.0))
      ->needs(development_option);
  validate->add_option("--out", validate_options.out, "Folder for report.json, report.html, per_slide.csv")->required();
  validate->add_option("--seed", validate_options.seed, "Bootstrap seed")->capture_default_str();
  validate->add_option("--bootstrap", validate_options.bootstrap_replicates, "Bootstrap replicates (0: none)")
      ->capture_default_str();
  validate->add_option("--ece-bins", validate_options.ece_bins, "Equal-width bins of the ECE")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  validate->add_option("--patient-aggregation", validate_options.patient_aggregation,
                       "Slide scores to a patient score: max or mean")
      ->capture_default_str()
      ->check(CLI::IsMember({"max", "mean"}));

  auto* dataset_cmd = cli.add_subcommand("dataset", "Named, frozen ground-truth datasets in the catalogue");
  dataset_cmd->require_subcommand(1);
  std::string dataset_file, dataset_name;
  auto* dataset_import = dataset_cmd->add_subcommand("import", "Import a dataset CSV/JSON under a name (frozen)");
  app::bind_settings(*dataset_import, config, "dataset");
  dataset_import->add_option("file", dataset_file, "Dataset CSV or JSON")->required()->check(CLI::ExistingFile);
  dataset_import->add_option("--name", dataset_name, "Name (default: the file name without extension)");
  auto* dataset_list = dataset_cmd->add_subcommand("list", "List the datasets in the catalogue");
  app::bind_settings(*dataset_list, config, "dataset");
  auto* dataset_show = dataset_cmd->add_subcommand("show", "Show a dataset's hash and per-centre counts");
  app::bind_settings(*dataset_show, config, "dataset");
  dataset_show->add_option("name", dataset_name, "Dataset name (or file)")->required();

  auto* model_cmd = cli.add_subcommand("model", "Registered AI models: ONNX files with their model cards (immutable)");
  model_cmd->require_subcommand(1);
  std::string model_path, model_reference;
  bool model_list_json = false;
  auto* model_add = model_cmd->add_subcommand(
      "add", "Check a model package (ONNX + card, see docs/model-card.md) and store it under its SHA-256");
  app::bind_settings(*model_add, config, "model");
  model_add->add_option("path", model_path, "Package folder, card file or ONNX file")->required();
  auto* model_list = model_cmd->add_subcommand("list", "List the registered models");
  app::bind_settings(*model_list, config, "model");
  model_list->add_flag("--json", model_list_json, "Print JSON instead of a table");
  auto* model_show = model_cmd->add_subcommand("show", "Show a model's card, hash and files as JSON");
  app::bind_settings(*model_show, config, "model");
  model_show->add_option("model", model_reference, "Hash prefix (8+ hex digits), name@version, or name")->required();

  app::InferCommandOptions infer_options;
  auto* infer = cli.add_subcommand(
      "infer", "Run a registered model over the tissue of catalogued slides: heatmaps and slide scores, resumable, "
               "sharded");
  app::bind_settings(*infer, config, "infer");
  infer->add_option("--model", infer_options.model, "Model: hash prefix (8+ hex digits), name@version, or name")
      ->required();
  auto* infer_centre = infer->add_option("--centre", infer_options.centre, "Only the slides of this centre");
  infer->add_option("--dataset", infer_options.dataset, "Only the slides of this dataset (name or CSV/JSON file)")
      ->excludes(infer_centre);
  infer->add_option("slide_ids", infer_options.slides, "Only these slide ids (after the options)");
  infer->add_option("--shard", infer_options.shard,
                    "Process shard i of N (i/N, 0-based): a deterministic 1/N of the slides, so N processes together "
                    "equal one")
      ->capture_default_str();
  infer->add_option("--batch-size", infer_options.batch_size, "Tiles per model call")
      ->capture_default_str()
      ->check(CLI::Range(1, 4096));
  infer->add_flag("--force", infer_options.force, "Recompute slides that already have a result for this model");
  infer->add_flag("--json", infer_options.json, "Print the run's summary as JSON");
  infer->add_flag("--failed-slides-ok", infer_options.failed_slides_ok,
                  "Exit 0, not 9, when slides failed (they are recorded as failed): a finished run for a Job");

  std::vector<std::string> model_images;
  auto* model_score = model_cmd->add_subcommand(
      "score", "Score PNG tiles of the model's input size and print the class probabilities as JSON");
  app::bind_settings(*model_score, config, "model");
  model_score->add_option("model", model_reference, "Hash prefix (8+ hex digits), name@version, or name")->required();
  model_score->add_option("images", model_images, "PNG tiles, input_px x input_px")
      ->required()
      ->check(CLI::ExistingFile);

  auto* audit_cmd = cli.add_subcommand("audit", "The tamper-evident audit log: verify it, export checkpoints, create a signing key");
  audit_cmd->require_subcommand(1);
  app::AuditVerifyOptions audit_verify_options;
  auto* audit_verify = audit_cmd->add_subcommand(
      "verify", "Check every record, the hash chain and optionally a checkpoint; exit 11 on tampering");
  app::bind_settings(*audit_verify, config, "audit");
  audit_verify->add_option("--log", audit_verify_options.log, "Audit log file, or a folder: every *.log in it (default: --audit-log)");
  audit_verify->add_option("--checkpoint", audit_verify_options.checkpoint, "Checkpoint from `mcval audit checkpoint`")
      ->check(CLI::ExistingFile);
  audit_verify->add_flag("--json", audit_verify_options.json, "Print the report as JSON");
  audit_verify->add_option("--public-key", audit_verify_options.public_key,
                           "Ed25519 public key (PEM) of the log's signing key: check the log against its last signed checkpoint")
      ->check(CLI::ExistingFile);
  audit_verify->add_option("--checkpoints", audit_verify_options.checkpoints,
                           "Signed checkpoint file (default: <--audit-checkpoint-dir>/<log file name>.checkpoints)");
  audit_verify->add_flag("--require-sealed", audit_verify_options.require_sealed,
                         "With --public-key: records after the last signed checkpoint (the unsealed tail) are a failure");
  std::string audit_keygen_out;
  auto* audit_keygen = audit_cmd->add_subcommand("keygen", "Create an Ed25519 key pair that seals the audit log");
  audit_keygen->add_option("--out", audit_keygen_out, "Folder for audit-signing-key.pem and audit-signing-key.pub.pem")
      ->required();
  app::AuditCheckpointOptions audit_checkpoint_options;
  auto* audit_checkpoint = audit_cmd->add_subcommand(
      "checkpoint", "Verify the log and export its last record's seq and hash, to be kept elsewhere");
  app::bind_settings(*audit_checkpoint, config, "audit");
  audit_checkpoint->add_option("--log", audit_checkpoint_options.log, "Audit log file (default: --audit-log)");
  audit_checkpoint->add_option("--out", audit_checkpoint_options.out, "Write the checkpoint JSON here (default: stdout)");

  app::BackupOptions backup_options;
  auto* backup = cli.add_subcommand("backup", "Back up the catalogue database (consistent while the server runs)");
  app::bind_settings(*backup, config, "backup");
  backup->add_option("--out", backup_options.out, "Folder for catalog-<UTC time>.sqlite")->required();
  backup->add_option("--keep", backup_options.keep, "Newest backups kept in --out (older ones are removed)")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));

  auto* db_cmd = cli.add_subcommand("db", "The shared store's database");
  db_cmd->require_subcommand(1);
  app::DbMigrateOptions db_migrate_options;
  auto* db_migrate = db_cmd->add_subcommand(
      "migrate", "Copy a whole store into an empty one (e.g. SQLite into PostgreSQL) and verify every table");
  app::bind_settings(*db_migrate, config, "db");
  db_migrate->add_option("--from", db_migrate_options.from, "Source: sqlite:///path/catalog.sqlite or postgresql://...")
      ->required();
  db_migrate->add_option("--to", db_migrate_options.to, "Target, empty: postgresql://... or sqlite:///path")->required();
  db_migrate->add_flag("--json", db_migrate_options.json, "Print the verified tables as JSON");

  auto* sessions_cmd = cli.add_subcommand("sessions", "Browser sessions in the store (administrators)");
  sessions_cmd->require_subcommand(1);
  bool sessions_json = false;
  auto* sessions_list = sessions_cmd->add_subcommand("list", "List the sessions that have not ended");
  app::bind_settings(*sessions_list, config, "sessions");
  sessions_list->add_flag("--json", sessions_json, "Print JSON instead of a table");
  app::SessionsRevokeOptions sessions_revoke_options;
  auto* sessions_revoke = sessions_cmd->add_subcommand("revoke", "End sessions at once, on every replica");
  app::bind_settings(*sessions_revoke, config, "sessions");
  auto* revoke_target = sessions_revoke->add_option_group("target", "What to revoke");
  revoke_target->add_option("--user", sessions_revoke_options.user, "Every session of this user id (see list)");
  revoke_target->add_option("--session", sessions_revoke_options.session, "The session whose id starts so (8+ hex digits)");
  revoke_target->require_option(1);

  auto* config_cmd = cli.add_subcommand("config", "Settings");
  config_cmd->require_subcommand(1);
  auto* config_docs = config_cmd->add_subcommand("docs", "Print every setting as a Markdown table");

  try {
    cli.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return cli.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return cli.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return cli.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string message = e.what();
    if (const auto nl = message.find('\n'); nl != std::string::npos) message.resize(nl);
    std::fprintf(stderr, "mcval: error: %s (see mcval --help)\n", message.c_str());
    return 2;
  }

  if (auto valid = mcval::validate(config); !valid.ok()) return app::fail(valid.error());
  const bool serving = serve->parsed();
  // The server logs to stdout. Other commands print their result on stdout and log to stderr,
  // warnings and errors only unless a finer level than the default is asked for.
  if (serving) {
    log::init(config.log_level, config.log_format, log::Stream::stdout_);
  } else {
    log::init(config.log_level == "info" ? "warn" : config.log_level, config.log_format, log::Stream::stderr_);
  }

  if (serving) return app::run_serve(config);
  if (ingest->parsed()) return app::run_ingest(config);
  if (slides_list->parsed()) return app::run_slides_list(config, list_options);
  if (slides_show->parsed()) return app::run_slides_show(config, show_id);
  if (synth->parsed()) return app::run_synth(config, synth_options);
  if (validate->parsed()) {
    if (validate_options.combine.empty()) {
      if (validate_options.dataset.empty() || (validate_options.predictions.empty() && validate_options.model.empty())) {
        return app::fail(Error{ErrorCode::invalid_argument,
                               "give --dataset and --predictions or --model (or --combine summaries)"});
      }
      if (!validate_options.threshold && !validate_options.development_centre) {
        return app::fail(Error{ErrorCode::invalid_argument, "give --threshold or --development-centre"});
      }
    }
    return app::run_validate(config, validate_options);
  }
  if (dataset_import->parsed()) return app::run_dataset_import(config, dataset_file, dataset_name);
  if (dataset_list->parsed()) return app::run_dataset_list(config);
  if (dataset_show->parsed()) return app::run_dataset_show(config, dataset_name);
  if (model_add->parsed()) return app::run_model_add(config, model_path);
  if (model_list->parsed()) return app::run_model_list(config, model_list_json);
  if (model_show->parsed()) return app::run_model_show(config, model_reference);
  if (model_score->parsed()) return app::run_model_score(config, model_reference, model_images);
  if (infer->parsed()) return app::run_infer(config, infer_options);
  if (audit_verify->parsed()) return app::run_audit_verify(config, audit_verify_options);
  if (audit_checkpoint->parsed()) return app::run_audit_checkpoint(config, audit_checkpoint_options);
  if (audit_keygen->parsed()) return app::run_audit_keygen(audit_keygen_out);
  if (backup->parsed()) return app::run_backup(config, backup_options);
  if (db_migrate->parsed()) return app::run_db_migrate(config, db_migrate_options);
  if (sessions_list->parsed()) return app::run_sessions_list(config, sessions_json);
  if (sessions_revoke->parsed()) return app::run_sessions_revoke(config, sessions_revoke_options);
  if (config_docs->parsed()) return app::run_config_docs();
  return 2;
}
