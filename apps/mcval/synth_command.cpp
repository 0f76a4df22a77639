#include <cstdio>

#include "commands.h"
#include "mcval/common/strings.h"
#include "mcval/synth/slide_synthesizer.h"
#include "progress_reporter.h"

namespace mcval::app {

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
  return 0;
}

}  // namespace mcval::app
