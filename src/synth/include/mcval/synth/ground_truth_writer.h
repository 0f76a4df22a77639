#pragma once
// The ground truth of a synthetic workspace as files beside the slide root: a dataset CSV (one
// row per slide) and the painted regions as GeoJSON. Slide ids come from the caller (the
// catalogue's id of a slide's path relative to the slide root), so this module does not need
// the catalogue.
#include <array>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "mcval/common/result.h"
#include "mcval/synth/slide_synthesizer.h"

namespace mcval::synth {

/// Id of the slide at a path relative to the slide root, '/'-separated ("centre-a/x.svs").
using SlideIdFunction = std::function<std::string(std::string_view relative_path)>;

/// Header of ground_truth.csv.
inline constexpr const char* kGroundTruthHeader = "slide_id,centre,patient_id,label,isup_grade,scanner,specimen,path";
/// Header of ground_truth_dataset.csv: the same rows without `path`, which the dataset import
/// (mcval validate --dataset, mcval dataset import) does not accept.
inline constexpr const char* kDatasetHeader = "slide_id,centre,patient_id,label,isup_grade,scanner,specimen";

/// The text of ground_truth.csv (with_path) or ground_truth_dataset.csv: the header, then one
/// row per slide that has a truth, in the given order; `path` is relative to `slide_root`.
/// invalid_argument when a slide lies outside `slide_root`.
Result<std::string> ground_truth_csv(const std::vector<SlideInfo>& slides, const std::filesystem::path& slide_root,
                                     const SlideIdFunction& slide_id, bool with_path);

/// The text of lesions.geojson: a FeatureCollection with one Feature per region of every
/// slide, a Polygon in level-0 pixels (x right, y down, closed ring) with the properties
/// slide_id, centre, path (relative to `slide_root`), isup_grade and kind ("lesion", "mimic").
Result<std::string> lesions_geojson(const std::vector<SlideInfo>& slides, const std::filesystem::path& slide_root,
                                    const SlideIdFunction& slide_id);

struct GroundTruthFiles {
  std::filesystem::path csv;          ///< ground_truth.csv
  std::filesystem::path dataset_csv;  ///< ground_truth_dataset.csv
  std::filesystem::path geojson;      ///< lesions.geojson
};

/// Writes ground_truth.csv, ground_truth_dataset.csv and lesions.geojson into `folder`
/// (created if missing), each atomically (staged beside, then renamed). invalid_argument when
/// no slide has a truth or a slide lies outside `slide_root`; io_error when a file cannot be
/// written.
Result<GroundTruthFiles> write_ground_truth(const std::filesystem::path& folder,
                                            const std::vector<SlideInfo>& slides,
                                            const std::filesystem::path& slide_root,
                                            const SlideIdFunction& slide_id);

/// Per-centre counts of the slides written, for a summary line.
struct CentreTruthSummary {
  std::string centre;
  int slides = 0;
  int positives = 0;
  std::array<int, 6> grades{};  ///< slides per ISUP grade 0-5
  int lesions = 0;              ///< lesion regions
  int mimics = 0;               ///< mimic regions
};
/// One summary per centre, in the order the centres first appear; slides without a truth are
/// left out.
std::vector<CentreTruthSummary> summarize_truth(const std::vector<SlideInfo>& slides);

}  // namespace mcval::synth
