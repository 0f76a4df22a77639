#pragma once
// Synthetic lesions with ground truth. plan_cohort decides, before any pixel, which slides of
// each centre are positive (exactly round(prevalence * n) per centre), their patients, ISUP-like
// grades, scanners and specimens; make_lesion_content places the slide's lesions (and benign
// mimics) on its tissue and returns the ContentStage that paints them: sheets of enlarged,
// hyperchromatic, pleomorphic nuclei over the source's densest tissue, in the source's own
// haematoxylin colour, so that every centre's stain transform applies to them as to the tissue.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "mcval/common/result.h"
#include "mcval/synth/slide_synthesizer.h"
#include "mcval/synth/slide_truth.h"
#include "mcval/synth/tissue_source.h"

namespace mcval::synth {

struct LesionOptions {
  /// Share of positive slides per centre, each in [0, 1]: one value per centre, or a single
  /// value for every centre; empty: default_prevalence of each centre's position.
  std::vector<double> prevalence;
  /// Paint benign mimics (round, dense lymphoid aggregates) on some slides of either label.
  bool mimics = true;
};

/// Prevalence of the centre at `position` when none is given: 0.5, 0.35, 0.25, 0.4, repeating.
double default_prevalence(int position);
/// Shares of ISUP grades 1-5 among the positives of the centre at `position`: the development
/// centre (0) is balanced, centre 1 skews to low grades, centre 2 to high grades, repeating.
std::array<double, 5> default_grade_mix(int position);
/// Scanner name of the centre at `position`: "Aperio AT2", "Aperio GT450", "Hamamatsu S360",
/// "Philips UFS", repeating.
std::string default_scanner(int position);

/// The ground truth of every workspace slide, [centre position][slide number], decided by
/// `seed` alone: per centre exactly round(prevalence * slides_per_centre) positives (halves
/// rounded up), chosen by a seeded shuffle; patients of 1-3 consecutive slides that share the
/// label, named "<short>-P0001" on (short: the centre name's part after its last '-', or the
/// whole name when that part is empty or not unique); grades of the positives apportioned to
/// the centre's grade mix (largest remainders) and shuffled; the centre's scanner; biopsy or
/// resection per patient. invalid_argument for a prevalence out of [0, 1], or a prevalence
/// list that is neither empty, one value nor one per centre.
Result<std::vector<std::vector<SlideTruth>>> plan_cohort(const std::vector<std::string>& centres,
                                                         int slides_per_centre, std::uint64_t seed,
                                                         const LesionOptions& options);

/// Places the regions of one slide on the tissue of TissueMosaic(tissue, plan.spec.width,
/// plan.spec.height, plan.spec.seed), sized in microns through plan.spec.mpp: for a positive
/// slide 1-4 lesions, 0.4-3 mm across, more and larger the higher the grade (at least one,
/// shrunk to fit a small slide); mimics 0.15-0.6 mm across on some slides when
/// options.mimics. Returns the stage that paints them (none when there is nothing to paint),
/// `truth` and the regions. A function of plan.spec.seed, the slide size, mpp and `truth`.
/// `tissue` must outlive the returned stage.
Result<SlideContent> make_lesion_content(const SlidePlan& plan, const TissueSource& tissue, const SlideTruth& truth,
                                         const LesionOptions& options = {});

/// A ContentFactory for synthesize_workspace that gives slide plan.index of the centre at
/// plan.centre_index the truth cohort[plan.centre_index][plan.index] and its lesions.
/// invalid_argument when the cohort has no such slide.
ContentFactory lesion_content_factory(std::vector<std::vector<SlideTruth>> cohort, LesionOptions options = {});

}  // namespace mcval::synth
