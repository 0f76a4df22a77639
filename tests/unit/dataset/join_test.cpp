#include "mcval/dataset/join.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace mcval::dataset {
namespace {

using Counts = std::map<std::string, std::size_t>;
using Ids = std::vector<std::string>;

Dataset dataset_of(const char* csv) {
  auto result = parse_dataset_csv(csv, "study");
  EXPECT_TRUE(result.ok()) << (result.ok() ? "" : result.error().detail);
  if (!result.ok()) std::abort();
  return std::move(result).value();
}

Predictions predictions_of(const char* csv) {
  auto result = parse_predictions_csv(csv);
  EXPECT_TRUE(result.ok()) << (result.ok() ? "" : result.error().detail);
  if (!result.ok()) std::abort();
  return std::move(result).value();
}

const char* const kDataset =
    "slide_id,centre,patient_id,label,isup_grade,scanner,specimen,exclude_reason\n"
    "L1,Lyon,P1,1,3,GT450,biopsy,\n"
    "L2,Lyon,P1,0,0,GT450,biopsy,\n"
    "L3,Lyon,P2,0,,GT450,biopsy,out of focus\n"
    "L4,Lyon,P3,1,4,GT450,biopsy,\n"
    "O1,Oslo,P4,1,2,S360,prostatectomy,\n"
    "O2,Oslo,P5,0,,S360,biopsy,pen marks\n"
    "O3,Oslo,P6,0,,S360,biopsy,pen marks\n"
    "O4,Oslo,P7,1,5,S360,biopsy,out of focus\n"
    "O5,Oslo,P8,0,1,S360,biopsy,\n";

TEST(Join, RowsFlowAndUnknownSlides) {
  const Dataset dataset = dataset_of(kDataset);
  // L3 is excluded but scored (ignored); L4 and O5 have no prediction; X1 and A0 are unknown.
  const Predictions predictions =
      predictions_of("slide_id,score,isup_pred\nL1,0.9,3\nL2,0.2,\nL3,0.5,\nO1,0.7,2\nX1,0.1,\nA0,0.3,\nO4,0.4,\n");
  const JoinResult joined = join(dataset, predictions);

  ASSERT_EQ(joined.rows.size(), 3u);
  EXPECT_EQ(joined.rows[0], (AnalysisRow{"L1", "Lyon", "P1", 1, 3, "GT450", "biopsy", 0.9, 3}));
  EXPECT_EQ(joined.rows[1], (AnalysisRow{"L2", "Lyon", "P1", 0, 0, "GT450", "biopsy", 0.2, std::nullopt}));
  EXPECT_EQ(joined.rows[2], (AnalysisRow{"O1", "Oslo", "P4", 1, 2, "S360", "prostatectomy", 0.7, 2}));

  ASSERT_EQ(joined.centres.size(), 2u);
  const CentreFlow& lyon = joined.centres[0];
  EXPECT_EQ(lyon.centre, "Lyon");
  EXPECT_EQ(lyon.received, 4u);
  EXPECT_EQ(lyon.excluded, (Counts{{"out of focus", 1}}));
  EXPECT_EQ(lyon.failed, (Counts{{"no prediction", 1}}));
  EXPECT_EQ(lyon.analysed, 2u);
  const CentreFlow& oslo = joined.centres[1];
  EXPECT_EQ(oslo.centre, "Oslo");
  EXPECT_EQ(oslo.received, 5u);
  EXPECT_EQ(oslo.excluded, (Counts{{"out of focus", 1}, {"pen marks", 2}}));
  EXPECT_EQ(oslo.excluded_total(), 3u);
  EXPECT_EQ(oslo.failed, (Counts{{"no prediction", 1}}));
  EXPECT_EQ(oslo.analysed, 1u);

  EXPECT_EQ(joined.total.centre, "");
  EXPECT_EQ(joined.total.received, 9u);
  EXPECT_EQ(joined.total.excluded, (Counts{{"out of focus", 2}, {"pen marks", 2}}));
  EXPECT_EQ(joined.total.failed, (Counts{{kNoPrediction, 2}}));
  EXPECT_EQ(joined.total.analysed, 3u);
  for (const CentreFlow& flow : {lyon, oslo, joined.total}) {
    EXPECT_EQ(flow.received, flow.excluded_total() + flow.failed_total() + flow.analysed) << flow.centre;
  }

  EXPECT_EQ(joined.missing_predictions, (Ids{"L4", "O5"}));
  EXPECT_EQ(joined.unknown_slide_ids, (Ids{"A0", "X1"}));
}

TEST(Join, NoPredictionsAtAll) {
  const Dataset dataset = dataset_of(kDataset);
  const JoinResult joined = join(dataset, Predictions::from_rows({}).value());
  EXPECT_TRUE(joined.rows.empty());
  EXPECT_EQ(joined.total.received, 9u);
  EXPECT_EQ(joined.total.failed, (Counts{{kNoPrediction, 5}}));
  EXPECT_EQ(joined.total.analysed, 0u);
  EXPECT_EQ(joined.missing_predictions, (Ids{"L1", "L2", "L4", "O1", "O5"}));
  EXPECT_TRUE(joined.unknown_slide_ids.empty());
}

TEST(Join, EverySlidePredictedAndNothingUnknown) {
  const Dataset dataset = dataset_of("slide_id,centre,patient_id,label\nb,C,P,1\na,C,P,0\n");
  const JoinResult joined = join(dataset, predictions_of("slide_id,score\na,0.1\nb,0.8\n"));
  ASSERT_EQ(joined.rows.size(), 2u);
  EXPECT_EQ(joined.rows[0].slide_id, "a");
  EXPECT_EQ(joined.rows[0].score, 0.1);
  EXPECT_EQ(joined.rows[1].score, 0.8);
  EXPECT_EQ(joined.centres.size(), 1u);
  EXPECT_TRUE(joined.centres[0].excluded.empty());
  EXPECT_TRUE(joined.centres[0].failed.empty());
  EXPECT_EQ(joined.centres[0].analysed, 2u);
  EXPECT_TRUE(joined.missing_predictions.empty());
  EXPECT_TRUE(joined.unknown_slide_ids.empty());
}

}  // namespace
}  // namespace mcval::dataset
