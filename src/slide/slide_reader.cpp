#include "mcval/slide/slide_reader.h"

namespace mcval::slide {

int best_level_for_downsample(const SlideProperties& slide, double downsample) {
  const auto& levels = slide.levels;
  if (levels.empty() || downsample < levels.front().downsample) return 0;
  for (std::size_t i = 1; i < levels.size(); ++i) {
    if (downsample < levels[i].downsample) return static_cast<int>(i) - 1;
  }
  return static_cast<int>(levels.size()) - 1;
}

int SlideReader::best_level_for_downsample(double downsample) const {
  return slide::best_level_for_downsample(properties(), downsample);
}

}  // namespace mcval::slide
