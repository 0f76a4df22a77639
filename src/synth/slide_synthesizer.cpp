#include "mcval/synth/slide_synthesizer.h"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <thread>

#include "aperio_tiff.h"
#include "random.h"

namespace mcval::synth {

namespace {

constexpr std::int64_t kMaxSide = 1'000'000;
constexpr int kDownsample = 4;
constexpr int kThumbnailMaxPx = 1024;
// Classic TIFF stores 32-bit offsets; keep a margin for directories and the thumbnail.
constexpr std::uint64_t kClassicTiffLimit = 0xFFFFFFFFULL - (64ULL << 20);

std::string format_number(double value) {
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, result.ptr);
}

std::string level_header(const SlideSpec& spec) {
  const std::string size = std::to_string(spec.width) + "x" + std::to_string(spec.height);
  return "Aperio Image Library v10.0.50\r\n" + size + " [0,0 " + size + "] (" + std::to_string(spec.tile_px) + "x" +
         std::to_string(spec.tile_px) + ")";
}

std::string resolution_properties(const SlideSpec& spec) {
  return "|AppMag = " + format_number(spec.app_mag) + "|MPP = " + format_number(spec.mpp);
}

Status check_properties(const SlideSpec& spec) {
  for (const auto& [key, value] : spec.properties) {
    for (const std::string* text : {&key, &value}) {
      if (text->find_first_of("|=\r\n") != std::string::npos) {
        return Error{ErrorCode::invalid_argument, "slide property '" + key + "' contains '|', '=', CR or LF"};
      }
    }
    if (key.empty()) return Error{ErrorCode::invalid_argument, "empty slide property name"};
  }
  return {};
}

/// Runs body(i) for i in [0, count) on up to `threads` threads; returns the first error.
Status parallel_for(int count, int threads, const std::function<Status(int, int)>& body) {
  const int workers = std::max(1, std::min(threads, count));
  std::atomic<int> next{0};
  std::vector<Status> results(static_cast<std::size_t>(workers));
  auto run = [&](int worker) {
    for (int i = next.fetch_add(1); i < count; i = next.fetch_add(1)) {
      Status status = body(worker, i);
      if (!status.ok()) {
        results[static_cast<std::size_t>(worker)] = std::move(status);
        next.store(count);
        return;
      }
    }
  };
  std::vector<std::thread> pool;
  for (int w = 1; w < workers; ++w) pool.emplace_back(run, w);
  run(0);
  for (std::thread& t : pool) t.join();
  for (Status& status : results)
    if (!status.ok()) return status;
  return {};
}

void fill(slide::RgbImage& image, const std::array<std::uint8_t, 3>& rgb) {
  for (std::size_t i = 0; i < image.pixels.size(); i += 3) {
    image.pixels[i] = rgb[0];
    image.pixels[i + 1] = rgb[1];
    image.pixels[i + 2] = rgb[2];
  }
}

/// Shrinks by averaging `factor` x `factor` blocks (partial blocks at the edges average what
/// exists), reading only the first `width` x `height` pixels of `in`.
void box_reduce_rows(const slide::RgbImage& in, int width, int height, int factor, slide::RgbImage& out, int out_row0) {
  const int out_w = (width + factor - 1) / factor;
  const int out_h = (height + factor - 1) / factor;
  std::vector<std::uint32_t> sums(static_cast<std::size_t>(out_w) * 3);
  std::vector<std::uint32_t> counts(static_cast<std::size_t>(out_w));
  for (int oy = 0; oy < out_h; ++oy) {
    std::fill(sums.begin(), sums.end(), 0u);
    std::fill(counts.begin(), counts.end(), 0u);
    const int y_end = std::min(height, (oy + 1) * factor);
    for (int y = oy * factor; y < y_end; ++y) {
      const std::uint8_t* row = in.row(y);
      for (int x = 0; x < width; ++x) {
        const std::size_t o = static_cast<std::size_t>(x / factor);
        sums[o * 3] += row[x * 3];
        sums[o * 3 + 1] += row[x * 3 + 1];
        sums[o * 3 + 2] += row[x * 3 + 2];
        ++counts[o];
      }
    }
    std::uint8_t* dst = out.row(out_row0 + oy);
    for (int ox = 0; ox < out_w; ++ox) {
      const std::uint32_t n = counts[static_cast<std::size_t>(ox)];
      for (int c = 0; c < 3; ++c) {
        dst[ox * 3 + c] = static_cast<std::uint8_t>((sums[static_cast<std::size_t>(ox) * 3 + c] + n / 2) / n);
      }
    }
  }
}

/// Builds the thumbnail from the rows of the smallest level as they come: each pixel the mean
/// of a factor x factor block, the factor chosen so that the larger side fits kThumbnailMaxPx.
class ThumbnailBuilder {
 public:
  ThumbnailBuilder(std::int64_t width, std::int64_t height) : width_(static_cast<int>(width)) {
    const std::int64_t side = std::max(width, height);
    factor_ = static_cast<int>((side + kThumbnailMaxPx - 1) / kThumbnailMaxPx);
    out_w_ = static_cast<int>((width + factor_ - 1) / factor_);
    out_h_ = static_cast<int>((height + factor_ - 1) / factor_);
    sums_.assign(static_cast<std::size_t>(out_w_) * out_h_ * 3, 0);
    counts_.assign(static_cast<std::size_t>(out_w_) * out_h_, 0);
  }

  void add_row(std::int64_t y, const std::uint8_t* row) {
    const auto oy = static_cast<std::size_t>(y / factor_);
    std::uint32_t* sums = sums_.data() + oy * static_cast<std::size_t>(out_w_) * 3;
    std::uint32_t* counts = counts_.data() + oy * static_cast<std::size_t>(out_w_);
    for (int x = 0; x < width_; ++x) {
      const int ox = x / factor_;
      sums[ox * 3] += row[x * 3];
      sums[ox * 3 + 1] += row[x * 3 + 1];
      sums[ox * 3 + 2] += row[x * 3 + 2];
      ++counts[ox];
    }
  }

  slide::RgbImage image() const {
    slide::RgbImage out(out_w_, out_h_);
    for (std::size_t i = 0; i < counts_.size(); ++i) {
      const std::uint32_t n = std::max<std::uint32_t>(counts_[i], 1);
      for (std::size_t c = 0; c < 3; ++c) {
        out.pixels[i * 3 + c] = static_cast<std::uint8_t>((sums_[i * 3 + c] + n / 2) / n);
      }
    }
    return out;
  }

 private:
  int width_;
  int factor_ = 1;
  int out_w_ = 0;
  int out_h_ = 0;
  std::vector<std::uint32_t> sums_;
  std::vector<std::uint32_t> counts_;
};

/// One pyramid level being built: a strip of one tile row, filled from the level above.
struct LevelState {
  LevelSize size;
  int tiles_x = 0;
  int tiles_y = 0;
  slide::RgbImage strip;  // tiles_x * tile_px wide, tile_px high (levels below 0)
  int rows_filled = 0;    // rows of `strip` holding data
  int tile_rows_done = 0;
  detail::TiffLevel tiff;
};

/// Receives level 0 one tile row at a time and derives the lower levels from it by 4 x 4 box
/// averaging, one strip per level, encoding their tiles as their strips fill up.
class PyramidWriter {
 public:
  PyramidWriter(const SlideSpec& spec, const std::vector<LevelSize>& sizes, std::array<std::uint8_t, 3> glass,
                detail::TileStore& store, int threads)
      : spec_(spec),
        glass_(glass),
        store_(store),
        threads_(threads),
        thumbnail_(sizes.back().width, sizes.back().height) {
    for (std::size_t k = 0; k < sizes.size(); ++k) {
      LevelState level;
      level.size = sizes[k];
      level.tiles_x = static_cast<int>((sizes[k].width + spec.tile_px - 1) / spec.tile_px);
      level.tiles_y = static_cast<int>((sizes[k].height + spec.tile_px - 1) / spec.tile_px);
      level.tiff.width = sizes[k].width;
      level.tiff.height = sizes[k].height;
      level.tiff.tiles.reserve(static_cast<std::size_t>(level.tiles_x) * level.tiles_y);
      if (k > 0) {
        level.strip = slide::RgbImage(level.tiles_x * spec.tile_px, spec.tile_px);
        fill(level.strip, glass_);
      }
      levels_.push_back(std::move(level));
    }
  }

  /// Stores level 0's encoded tiles of one tile row and passes its pixels down the pyramid.
  /// `strip` is level 0's tile row (tiles_x * tile_px wide); `tiles` its encoded tiles.
  Status add_level0_row(const slide::RgbImage& strip, const std::vector<std::string>& tiles) {
    LevelState& level = levels_.front();
    for (const std::string& bytes : tiles) {
      MCVAL_TRY_ASSIGN(ref, store_.append(bytes));
      level.tiff.tiles.push_back(ref);
    }
    const int rows = static_cast<int>(std::min<std::int64_t>(
        spec_.tile_px, level.size.height - static_cast<std::int64_t>(level.tile_rows_done) * spec_.tile_px));
    if (levels_.size() == 1) add_to_thumbnail(strip, rows, level);
    ++level.tile_rows_done;
    if (levels_.size() == 1) return {};
    return feed(1, strip, rows);
  }

  std::vector<detail::TiffLevel> take_levels() {
    std::vector<detail::TiffLevel> out;
    for (LevelState& level : levels_) out.push_back(std::move(level.tiff));
    return out;
  }

  slide::RgbImage thumbnail() const { return thumbnail_.image(); }

 private:
  /// Adds `rows` rows of level k-1's `input` strip to level k, emitting full tile rows.
  Status feed(std::size_t k, const slide::RgbImage& input, int rows) {
    LevelState& level = levels_[k];
    const int in_width = static_cast<int>(levels_[k - 1].size.width);
    box_reduce_rows(input, in_width, rows, kDownsample, level.strip, level.rows_filled);
    level.rows_filled += (rows + kDownsample - 1) / kDownsample;
    const std::int64_t rows_so_far =
        static_cast<std::int64_t>(level.tile_rows_done) * spec_.tile_px + level.rows_filled;
    if (level.rows_filled < spec_.tile_px && rows_so_far < level.size.height) return {};
    return emit(k);
  }

  Status emit(std::size_t k) {
    LevelState& level = levels_[k];
    std::vector<std::string> encoded(static_cast<std::size_t>(level.tiles_x));
    const int tile = spec_.tile_px;
    MCVAL_TRY(parallel_for(level.tiles_x, threads_, [&](int, int tx) -> Status {
      slide::RgbImage image(tile, tile);
      for (int y = 0; y < tile; ++y) {
        std::copy_n(level.strip.row(y) + static_cast<std::size_t>(tx) * tile * 3, static_cast<std::size_t>(tile) * 3,
                    image.row(y));
      }
      detail::JpegEncoder encoder;
      return encoder.encode(image, spec_.jpeg_quality, encoded[static_cast<std::size_t>(tx)]);
    }));
    for (const std::string& bytes : encoded) {
      MCVAL_TRY_ASSIGN(ref, store_.append(bytes));
      level.tiff.tiles.push_back(ref);
    }
    const int rows = level.rows_filled;
    if (k + 1 < levels_.size()) {
      MCVAL_TRY(feed(k + 1, level.strip, rows));
    } else {
      add_to_thumbnail(level.strip, rows, level);
    }
    ++level.tile_rows_done;
    level.rows_filled = 0;
    fill(level.strip, glass_);
    return {};
  }

  void add_to_thumbnail(const slide::RgbImage& strip, int rows, const LevelState& level) {
    const std::int64_t y0 = static_cast<std::int64_t>(level.tile_rows_done) * spec_.tile_px;
    for (int y = 0; y < rows; ++y) thumbnail_.add_row(y0 + y, strip.row(y));
  }

  const SlideSpec& spec_;
  std::array<std::uint8_t, 3> glass_;
  detail::TileStore& store_;
  int threads_;
  std::vector<LevelState> levels_;
  ThumbnailBuilder thumbnail_;
};

std::filesystem::path sibling(const std::filesystem::path& out, const std::string& suffix) {
  return out.parent_path() / ("." + out.filename().string() + suffix);
}

bool safe_folder_name(const std::string& name) {
  if (name.empty() || name == "." || name == ".." || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
           c == '.';
  });
}

}  // namespace

Result<std::vector<LevelSize>> plan_levels(const SlideSpec& spec) {
  if (spec.width < 1 || spec.height < 1 || spec.width > kMaxSide || spec.height > kMaxSide) {
    return Error{ErrorCode::invalid_argument, "slide width and height must be 1 .. 1000000 px"};
  }
  if (spec.tile_px < 64 || spec.tile_px > 2048 || spec.tile_px % 16 != 0) {
    return Error{ErrorCode::invalid_argument, "tile_px must be a multiple of 16 in 64 .. 2048"};
  }
  if (spec.jpeg_quality < 1 || spec.jpeg_quality > 100) {
    return Error{ErrorCode::invalid_argument, "jpeg_quality must be 1 .. 100"};
  }
  if (!(spec.mpp > 0) || !std::isfinite(spec.mpp) || !(spec.app_mag > 0) || !std::isfinite(spec.app_mag)) {
    return Error{ErrorCode::invalid_argument, "mpp and app_mag must be positive"};
  }
  std::vector<LevelSize> levels{{spec.width, spec.height, 1.0}};
  auto next = [&]() {
    const LevelSize& last = levels.back();
    LevelSize s;
    s.width = (last.width + kDownsample - 1) / kDownsample;
    s.height = (last.height + kDownsample - 1) / kDownsample;
    s.downsample = static_cast<double>(spec.width) / static_cast<double>(s.width);
    levels.push_back(s);
  };
  if (spec.levels == 0) {
    while (std::min(levels.back().width, levels.back().height) >= 1024 ||
           std::max(levels.back().width, levels.back().height) > 4096) {
      next();
    }
  } else {
    if (spec.levels < 1 || spec.levels > 16) return Error{ErrorCode::invalid_argument, "levels must be 0 .. 16"};
    while (static_cast<int>(levels.size()) < spec.levels) {
      if (levels.back().width == 1 && levels.back().height == 1) {
        return Error{ErrorCode::invalid_argument, "more levels than the slide size allows"};
      }
      next();
    }
  }
  return levels;
}

std::string aperio_description(const SlideSpec& spec) {
  std::string text =
      level_header(spec) + " JPEG/RGB Q=" + std::to_string(spec.jpeg_quality) + resolution_properties(spec);
  for (const auto& [key, value] : spec.properties) {
    text += '|';
    text += key;
    text += " = ";
    text += value;
  }
  return text;
}

Result<SlideInfo> write_aperio_slide(const SlideSpec& spec, const TissueSource& tissue,
                                     const std::filesystem::path& out, const ProgressCallback& progress) {
  const auto started = std::chrono::steady_clock::now();
  MCVAL_TRY_ASSIGN(sizes, plan_levels(spec));
  MCVAL_TRY(check_properties(spec));
  if (out.filename().empty()) return Error{ErrorCode::invalid_argument, "no output file name"};

  const TissueMosaic mosaic(tissue, spec.width, spec.height, spec.seed);
  const StainTransform stain(spec.stain, tissue.stain_vectors());
  const std::array<std::uint8_t, 3> glass = stain.apply(tissue.background_rgb());
  const int threads =
      spec.threads > 0 ? spec.threads : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  const int tile = spec.tile_px;

  MCVAL_TRY_ASSIGN(store, detail::TileStore::create(sibling(out, ".tiles.tmp")));
  PyramidWriter pyramid(spec, sizes, glass, *store, threads);

  const int tiles_x = static_cast<int>((spec.width + tile - 1) / tile);
  const int tiles_y = static_cast<int>((spec.height + tile - 1) / tile);
  slide::RgbImage strip(tiles_x * tile, tile);
  std::vector<std::string> encoded(static_cast<std::size_t>(tiles_x));
  std::vector<slide::RgbImage> scratch(static_cast<std::size_t>(threads), slide::RgbImage(tile, tile));
  std::vector<std::unique_ptr<detail::JpegEncoder>> encoders;
  encoders.reserve(static_cast<std::size_t>(threads));
  for (int t = 0; t < threads; ++t) encoders.push_back(std::make_unique<detail::JpegEncoder>());

  for (int ty = 0; ty < tiles_y; ++ty) {
    const std::int64_t y0 = static_cast<std::int64_t>(ty) * tile;
    MCVAL_TRY(parallel_for(tiles_x, threads, [&](int worker, int tx) -> Status {
      slide::RgbImage& image = scratch[static_cast<std::size_t>(worker)];
      const std::int64_t x0 = static_cast<std::int64_t>(tx) * tile;
      mosaic.render(x0, y0, image);
      for (const auto& stage : spec.content) stage->paint(x0, y0, image);
      stain.apply(image);
      // Beyond the slide's edges: plain (stained) glass, whatever the content painted there.
      const int valid_w = static_cast<int>(std::min<std::int64_t>(tile, spec.width - x0));
      const int valid_h = static_cast<int>(std::min<std::int64_t>(tile, spec.height - y0));
      for (int y = 0; y < tile; ++y) {
        std::uint8_t* row = image.row(y);
        for (int x = (y < valid_h ? valid_w : 0); x < tile; ++x) {
          row[x * 3] = glass[0];
          row[x * 3 + 1] = glass[1];
          row[x * 3 + 2] = glass[2];
        }
        std::copy_n(row, image.stride(), strip.row(y) + static_cast<std::size_t>(x0) * 3);
      }
      return encoders[static_cast<std::size_t>(worker)]->encode(image, spec.jpeg_quality,
                                                                encoded[static_cast<std::size_t>(tx)]);
    }));
    MCVAL_TRY(pyramid.add_level0_row(strip, encoded));
    if (progress) progress(Progress{out, 0, 1, 0.97 * (ty + 1) / tiles_y});
  }

  detail::TiffThumbnail thumbnail;
  thumbnail.image = pyramid.thumbnail();
  thumbnail.quality = spec.jpeg_quality;
  thumbnail.description = level_header(spec) + " -> " + std::to_string(thumbnail.image.width) + "x" +
                          std::to_string(thumbnail.image.height) + " - " + resolution_properties(spec);
  std::vector<detail::TiffLevel> levels = pyramid.take_levels();
  levels.front().description = aperio_description(spec);
  for (std::size_t k = 1; k < levels.size(); ++k) {
    levels[k].description = level_header(spec) + " -> " + std::to_string(levels[k].width) + "x" +
                            std::to_string(levels[k].height) + " JPEG/RGB Q=" + std::to_string(spec.jpeg_quality) +
                            resolution_properties(spec);
  }

  std::uint64_t tile_count = 0;
  for (const auto& level : levels) tile_count += level.tiles.size();
  const std::uint64_t estimate = store->bytes() + thumbnail.image.pixels.size() + tile_count * 16;
  const bool bigtiff = estimate > kClassicTiffLimit;

  const std::filesystem::path partial = sibling(out, ".tmp");
  Status written = detail::write_aperio_tiff(partial, levels, tile, thumbnail, *store, bigtiff);
  store.reset();
  std::error_code ec;
  if (!written.ok()) {
    std::filesystem::remove(partial, ec);
    return written.error();
  }
  std::filesystem::rename(partial, out, ec);
  if (ec) {
    std::filesystem::remove(partial, ec);
    return Error{ErrorCode::io_error, "cannot move the slide to " + out.string()};
  }

  SlideInfo info;
  info.path = out;
  info.seed = spec.seed;
  info.stain = spec.stain.name;
  info.width = spec.width;
  info.height = spec.height;
  info.levels = sizes;
  info.mpp = spec.mpp;
  info.app_mag = spec.app_mag;
  info.tissue_fraction = mosaic.tissue_fraction();
  info.file_bytes = std::filesystem::file_size(out, ec);
  info.bigtiff = bigtiff;
  info.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (progress) progress(Progress{out, 0, 1, 1.0});
  return info;
}

Result<std::vector<SlideInfo>> synthesize_workspace(const WorkspaceOptions& options) {
  if (options.centres.empty()) return Error{ErrorCode::invalid_argument, "no centres given"};
  for (const std::string& centre : options.centres) {
    if (!safe_folder_name(centre)) {
      return Error{ErrorCode::invalid_argument,
                   "centre name '" + centre + "' must be 1-64 letters, digits, '-', '_' or '.'"};
    }
  }
  for (std::size_t i = 0; i < options.centres.size(); ++i) {
    for (std::size_t j = i + 1; j < options.centres.size(); ++j) {
      if (options.centres[i] == options.centres[j]) {
        return Error{ErrorCode::invalid_argument, "centre '" + options.centres[i] + "' is listed twice"};
      }
    }
  }
  if (options.slides_per_centre < 1 || options.slides_per_centre > 1000) {
    return Error{ErrorCode::invalid_argument, "slides per centre must be 1 .. 1000"};
  }
  MCVAL_TRY_ASSIGN(tissue, TissueSource::open(options.source));

  SlideSpec base;
  base.width = options.width;
  base.height = options.height;
  base.tile_px = options.tile_px;
  base.jpeg_quality = options.jpeg_quality;
  base.threads = options.threads;
  base.mpp = options.mpp.value_or(tissue.mpp().value_or(0.25));
  base.app_mag = options.app_mag.value_or(tissue.objective_power().value_or(40));
  MCVAL_TRY(plan_levels(base));

  std::error_code ec;
  const auto stains = centre_stains(static_cast<int>(options.centres.size()), options.seed);
  const int total = static_cast<int>(options.centres.size()) * options.slides_per_centre;
  std::vector<SlideInfo> written;
  for (std::size_t c = 0; c < options.centres.size(); ++c) {
    const std::string& centre = options.centres[c];
    const std::filesystem::path folder = options.out / centre;
    std::filesystem::create_directories(folder, ec);
    if (ec) return Error{ErrorCode::io_error, "cannot create " + folder.string() + ": " + ec.message()};
    for (int i = 0; i < options.slides_per_centre; ++i) {
      char number[16];
      std::snprintf(number, sizeof number, "%03d", i);
      SlidePlan plan;
      plan.centre = centre;
      plan.centre_index = static_cast<int>(c);
      plan.index = i;
      plan.path = folder / ("synth-" + centre + "-" + number + ".svs");
      plan.spec = base;
      plan.spec.seed = detail::hash_mix(options.seed, 0xce47e, c, static_cast<std::uint64_t>(i));
      plan.spec.stain = stains[c];
      plan.spec.properties = {{"Synthetic", "mcval"},
                              {"Centre", centre},
                              {"Seed", std::to_string(plan.spec.seed)},
                              {"Stain", stains[c].name}};
      SlideContent content;
      if (options.content) {
        MCVAL_TRY_ASSIGN(made, options.content(plan, tissue));
        content = std::move(made);
        plan.spec.content = std::move(content.stages);
      }
      const int slide_number = static_cast<int>(written.size());
      ProgressCallback forward;
      if (options.progress) {
        forward = [&](const Progress& p) { options.progress(Progress{p.path, slide_number, total, p.fraction}); };
      }
      MCVAL_TRY_ASSIGN(info, write_aperio_slide(plan.spec, tissue, plan.path, forward));
      info.centre = centre;
      info.index = i;
      info.truth = std::move(content.truth);
      info.regions = std::move(content.regions);
      written.push_back(std::move(info));
    }
  }
  return written;
}

}  // namespace mcval::synth
