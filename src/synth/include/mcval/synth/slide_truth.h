#pragma once
// Ground truth of a synthetic slide: the slide-level labels a dataset holds (patient, label,
// grade, scanner, specimen) and the regions painted on it, as polygons in level-0 pixels.
#include <string>
#include <vector>

namespace mcval::synth {

/// What a dataset row says about one slide.
struct SlideTruth {
  std::string patient_id;  ///< e.g. "a-P0001"; the slides of one patient share the label
  int label = 0;           ///< 1: the slide carries a lesion
  int isup_grade = 0;      ///< ISUP-like grade group: 1-5 when label is 1, else 0
  std::string scanner;     ///< e.g. "Aperio GT450" (a name only; every slide is written alike)
  std::string specimen;    ///< "biopsy" or "resection"

  bool operator==(const SlideTruth&) const = default;
};

/// What a painted region is: a lesion (only on positive slides) or a benign mimic (a dense
/// lymphoid aggregate, on slides of either label).
enum class RegionKind { lesion, mimic };

/// "lesion" or "mimic".
const char* to_string(RegionKind kind);

/// A point in level-0 pixels: x to the right, y down.
struct PixelPoint {
  double x = 0;
  double y = 0;

  bool operator==(const PixelPoint&) const = default;
};

/// One painted region. Its outline is a closed ring (the last point repeats the first) with a
/// positive shoelace area in these coordinates; what is painted lies inside it, but for a
/// pixel or two where the outline bends (the region fades in from the outline over its
/// feathered edge, 60 um).
struct LesionRegion {
  RegionKind kind = RegionKind::lesion;
  int isup_grade = 0;  ///< the slide's grade for a lesion, 0 for a mimic
  std::vector<PixelPoint> ring;

  bool operator==(const LesionRegion&) const = default;
};

}  // namespace mcval::synth
