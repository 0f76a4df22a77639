#include <cstdio>
#include <filesystem>

#include "commands.h"
#include "mcval/catalog/slide_record.h"
#include "mcval/common/strings.h"
#include "mcval/synth/ground_truth_writer.h"
#include "mcval/synth/lesions.h"
#include "mcval/synth/slide_synthesizer.h"
#include "progress_reporter.h"

namespace mcval::app {

namespace {

/// Absolute and lexically normal, without a trailing separator.
std::filesystem::path normal_folder(const std::filesystem::path& folder) {
  std::filesystem::path normal = std::filesystem::absolute(folder).lexically_normal();
  if (!normal.has_filename() && normal.has_parent_path() && normal != normal.root_path()) normal = normal.parent_path();
  return normal;
}

bool inside_or_same(const std::filesystem::path& folder, const std::filesystem::path& root) {
  const std::filesystem::path relative = normal_folder(folder).lexically_relative(normal_folder(root));
  return !relative.empty() && *relative.begin() != "..";
}

}  // namespace

int run_synth(const Config& config, const SynthCommandOptions& options) {
  synth::WorkspaceOptions workspace;
  workspace.source = options.source;
  workspace.out = options.out;
  workspace.centres.clear();
  for (auto centre : split(options.centres, ',')) {
    if (!trim(centre).empty()) workspace.centres.emplace_back(trim(centre));
  }
  workspace.slides_per_centre = options.slides_per_centre;
  workspace.width = options.width;
  workspace.height = options.height;
  workspace.seed = options.seed;
  workspace.threads = config.threads;

  // Lesions: the ground truth is planned before any slide is written, and goes beside the
  // slide root (never into it: the slide root holds slides only).
  std::filesystem::path truth_folder;
  if (options.lesions) {
    truth_folder = options.truth_out.empty() ? normal_folder(workspace.out).parent_path() / "ground-truth"
                                             : std::filesystem::path(options.truth_out);
    if (inside_or_same(truth_folder, workspace.out)) {
      return fail(Error{ErrorCode::invalid_argument,
                        "the ground-truth folder " + truth_folder.string() + " must be outside the slide root"});
    }
    synth::LesionOptions lesions;
    lesions.prevalence = options.prevalence;
    auto cohort = synth::plan_cohort(workspace.centres, workspace.slides_per_centre, workspace.seed, lesions);
    if (!cohort.ok()) return fail(cohort.error());
    workspace.content = synth::lesion_content_factory(std::move(cohort).value(), lesions);
  } else if (!options.prevalence.empty() || !options.truth_out.empty()) {
    return fail(Error{ErrorCode::invalid_argument, "--prevalence and --truth-out need lesions (no --no-lesions)"});
  }

  ProgressReporter progress("synth", "slides");
  workspace.progress = [&progress](const synth::Progress& p) {
    progress.update(p.slide + p.fraction, p.slide_count, p.path.filename().string());
  };
  auto written = synth::synthesize_workspace(workspace);
  progress.finish();
  if (!written.ok()) return fail(written.error());
  for (const auto& s : *written) {
    std::printf("%s  %s  %lldx%lld  %zu levels  %.3f mpp  stain %s  tissue %.0f%%  %.1f MiB  %.1f s\n",
                s.path.string().c_str(), s.centre.c_str(), static_cast<long long>(s.width),
                static_cast<long long>(s.height), s.levels.size(), s.mpp, s.stain.c_str(), s.tissue_fraction * 100,
                static_cast<double>(s.file_bytes) / (1024.0 * 1024.0), s.seconds);
  }
  if (!options.lesions) return 0;

  auto files = synth::write_ground_truth(truth_folder, *written, workspace.out,
                                         [](std::string_view relative) { return catalog::make_slide_id(relative); });
  if (!files.ok()) return fail(files.error());
  for (const auto& c : synth::summarize_truth(*written)) {
    std::printf("%s: %d slides, %d positive (%.0f%%), ISUP 0:%d 1:%d 2:%d 3:%d 4:%d 5:%d, %d lesion regions, %d mimics\n",
                c.centre.c_str(), c.slides, c.positives, c.slides > 0 ? 100.0 * c.positives / c.slides : 0.0,
                c.grades[0], c.grades[1], c.grades[2], c.grades[3], c.grades[4], c.grades[5], c.lesions, c.mimics);
  }
  std::printf("ground truth: %s, %s, %s\n", files->csv.string().c_str(), files->dataset_csv.string().c_str(),
              files->geojson.string().c_str());
  return 0;
}

}  // namespace mcval::app
