#include "mcval/tiles/tile_service.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>

#include "mcval/common/logging.h"
#include "mcval/common/sha256.h"
#include "mcval/slide/codec.h"
#include "mcval/slide/deepzoom.h"
#include "mcval/slide/resample.h"
#include "mcval/tiles/image_ops.h"

namespace mcval::tiles {

namespace {
/// Removes the server's own slide-root path from a reason that may reach a client
/// (OpenSlide's messages name the file).
std::string without_root(std::string text, const std::filesystem::path& root) {
  const std::string prefix = root.string();
  if (prefix.empty()) return text;
  for (auto pos = text.find(prefix); pos != std::string::npos; pos = text.find(prefix, pos)) {
    text.replace(pos, prefix.size(), "<slide root>");
  }
  return text;
}
}  // namespace

/// How long a look at the slide file (SlidePool::acquire's stat) vouches for it: within this
/// time of the last one, a cached answer is sent without looking again. A deleted or replaced
/// file is noticed within this time even by requests that only hit the cache.
constexpr std::int64_t kFileRecheckNs = 1'000'000'000;
constexpr std::int64_t kFileNeverSeen = std::numeric_limits<std::int64_t>::min();

std::int64_t steady_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

struct TileService::SlideEntry {
  explicit SlideEntry(catalog::SlideRecord r)
      : record(std::move(r)),
        cache_prefix(record.id + "|" + std::to_string(record.file_bytes) + "|" + std::to_string(record.mtime_ns) +
                     "|") {}
  catalog::SlideRecord record;
  std::string cache_prefix;  ///< the file's identity in cache keys: "<id>|<bytes>|<mtime>|"
  /// steady_now_ns() of the last SlidePool::acquire that found the file and could read it;
  /// reset by one that could not.
  mutable std::atomic<std::int64_t> file_seen_ns{kFileNeverSeen};
};

struct TileService::Snapshot {
  std::unordered_map<std::string, SlideEntry> by_id;
};

struct TileService::OpenSlide {
  const SlideEntry* entry = nullptr;
  const catalog::SlideRecord* record = nullptr;
  std::shared_ptr<const Snapshot> snapshot;  // keeps `entry` and `record` alive
  std::shared_ptr<const slide::SlideReader> reader;  ///< null until attach_reader()
};

TileService::TileService(const catalog::SlideCatalog& catalog, slide::SlidePool& pool, slide::TileCache& cache,
                         TileServiceOptions options)
    : catalog_(catalog), pool_(pool), cache_(cache), options_(std::move(options)),
      snapshot_(std::make_shared<Snapshot>()) {}

std::shared_ptr<const TileService::Snapshot> TileService::snapshot() const {
  std::lock_guard lock(snapshot_mutex_);
  return snapshot_;
}

Status TileService::refresh() {
  MCVAL_TRY_ASSIGN(records, catalog_.list_slides(std::nullopt, /*include_removed=*/true));
  auto next = std::make_shared<Snapshot>();
  for (auto& r : records) {
    std::string id = r.id;
    next->by_id.try_emplace(std::move(id), std::move(r));
  }
  const auto previous = snapshot();
  for (const auto& [id, entry] : previous->by_id) {
    const auto& record = entry.record;
    const auto it = next->by_id.find(id);
    if (it == next->by_id.end() || it->second.record.file_bytes != record.file_bytes ||
        it->second.record.mtime_ns != record.mtime_ns || it->second.record.status != record.status) {
      cache_.erase_prefix(id + "|");
    }
  }
  std::lock_guard lock(snapshot_mutex_);
  snapshot_ = std::move(next);
  return {};
}

Result<catalog::SlideRecord> TileService::slide(const std::string& id) const {
  const auto snap = snapshot();
  const auto it = snap->by_id.find(id);
  if (it == snap->by_id.end()) return Error{ErrorCode::slide_not_found, "no slide with id '" + id + "'"};
  return it->second.record;
}

Result<TileService::OpenSlide> TileService::open(const std::string& id) const {
  MCVAL_TRY_ASSIGN(s, resolve(id));
  MCVAL_TRY(attach_reader(s));
  return s;
}

Result<TileService::OpenSlide> TileService::resolve(const std::string& id) const {
  OpenSlide s;
  s.snapshot = snapshot();
  const auto it = s.snapshot->by_id.find(id);
  if (it == s.snapshot->by_id.end()) return Error{ErrorCode::slide_not_found, "no slide with id '" + id + "'"};
  s.entry = &it->second;
  s.record = &it->second.record;
  switch (s.record->status) {
    case catalog::SlideStatus::removed:
      return Error{ErrorCode::slide_gone, "slide " + id + " was removed from the slide store"};
    case catalog::SlideStatus::unreadable:
      return Error{ErrorCode::slide_unreadable, without_root(s.record->status_reason, options_.slide_root)};
    case catalog::SlideStatus::ok:
      break;
  }
  return s;
}

Status TileService::attach_reader(OpenSlide& s) const {
  // The catalogue made relative_path; refuse anything that could leave the root regardless.
  const std::filesystem::path relative(s.record->relative_path);
  for (const auto& part : relative) {
    if (part == ".." || relative.is_absolute()) {
      return Error{ErrorCode::internal, "catalogue path escapes the slide root: " + s.record->relative_path};
    }
  }
  const auto looked_at = steady_now_ns();
  auto reader = pool_.acquire({options_.slide_root / relative, s.record->file_bytes, s.record->mtime_ns});
  if (!reader.ok()) {
    s.entry->file_seen_ns.store(kFileNeverSeen, std::memory_order_relaxed);
    Error error = std::move(reader).error();
    error.detail = without_root(std::move(error.detail), options_.slide_root);
    return error;
  }
  s.reader = std::move(reader).value();
  s.entry->file_seen_ns.store(looked_at, std::memory_order_relaxed);
  return {};
}

bool TileService::file_seen_recently(const OpenSlide& s) {
  const std::int64_t seen = s.entry->file_seen_ns.load(std::memory_order_relaxed);
  return seen != kFileNeverSeen && steady_now_ns() - seen < kFileRecheckNs;
}

Result<std::string> TileService::etag_for(const std::string& id, const std::string& request_key) const {
  MCVAL_TRY_ASSIGN(record, slide(id));
  if (record.status == catalog::SlideStatus::removed) return Error{ErrorCode::slide_gone, id};
  if (record.status == catalog::SlideStatus::unreadable) {
    return Error{ErrorCode::slide_unreadable, without_root(record.status_reason, options_.slide_root)};
  }
  const std::string identity = id + "|" + std::to_string(record.file_bytes) + "|" + std::to_string(record.mtime_ns) +
                               "|" + record.sha256 + "|q" + std::to_string(options_.jpeg_quality) +
                               (options_.dzi_native_tiles ? "|native" : "") + "|" + request_key;
  return "\"" + sha256_hex(identity).substr(0, 32) + "\"";
}

const std::string& TileService::cache_prefix(const OpenSlide& s) { return s.entry->cache_prefix; }

Result<EncodedImage> TileService::cached_or_render(OpenSlide& s, const std::string& request_key,
                                                   const std::function<Result<EncodedImage>()>& render) const {
  const std::string key = cache_prefix(s) + request_key;
  if (s.reader == nullptr) {
    // The warm path: no look at the file while an earlier one still vouches for it.
    if (file_seen_recently(s)) {
      if (auto hit = cache_.get(key)) return hit;
    }
    MCVAL_TRY(attach_reader(s));
  }
  if (auto hit = cache_.get(key)) return hit;
  MCVAL_TRY_ASSIGN(rendered, render());
  cache_.put(key, rendered);
  return rendered;
}

namespace {

Result<EncodedImage> encode(const slide::RgbImage& image, ImageFormat format, int quality, std::string etag) {
  auto tile = std::make_shared<slide::CachedTile>();
  if (format == ImageFormat::png) {
    MCVAL_TRY_ASSIGN(bytes, slide::encode_png(image));
    tile->bytes = std::move(bytes);
  } else {
    MCVAL_TRY_ASSIGN(bytes, slide::encode_jpeg(image, quality));
    tile->bytes = std::move(bytes);
  }
  tile->content_type = std::string(content_type(format));
  tile->etag = std::move(etag);
  return EncodedImage(std::move(tile));
}

/// What read_scaled reads: a pyramid level and the size there.
struct ScaledRead {
  int level = 0;
  std::int64_t read_w = 0;
  std::int64_t read_h = 0;
};

ScaledRead plan_scaled_read(const slide::SlideReader& reader, std::int64_t w, std::int64_t h, std::int64_t out_w,
                            std::int64_t out_h) {
  const auto& levels = reader.properties().levels;
  const double downsample = std::min(static_cast<double>(w) / static_cast<double>(out_w),
                                     static_cast<double>(h) / static_cast<double>(out_h));
  ScaledRead r;
  r.level = reader.best_level_for_downsample(std::max(1.0, downsample));
  const auto& info = levels[static_cast<std::size_t>(r.level)];
  r.read_w = std::clamp<std::int64_t>(static_cast<std::int64_t>(std::ceil(static_cast<double>(w) / info.downsample)),
                                      1, info.width);
  r.read_h = std::clamp<std::int64_t>(static_cast<std::int64_t>(std::ceil(static_cast<double>(h) / info.downsample)),
                                      1, info.height);
  return r;
}

/// k when a level-0 rectangle (x, y, w, h) of an image `image_w` x `image_h` scaled to (out_w,
/// out_h) is the reduction by 2^k (k >= 1) of a block on that reduction's pixel grid: whole
/// 2^k blocks, or blocks cut only by the image's right or bottom edge.
std::optional<int> power_of_two_reduction(std::int64_t x, std::int64_t y, std::int64_t w, std::int64_t h,
                                          std::int64_t out_w, std::int64_t out_h, std::int64_t image_w,
                                          std::int64_t image_h) {
  for (int k = 1; k <= 30; ++k) {
    const std::int64_t f = std::int64_t{1} << k;
    if (out_w * f < w || out_h * f < h) continue;  // a stronger reduction than 2^k
    const bool whole_w = out_w * f == w || (x + w == image_w && out_w * f - w < f);
    const bool whole_h = out_h * f == h || (y + h == image_h && out_h * f - h < f);
    if (x % f != 0 || y % f != 0 || !whole_w || !whole_h) return std::nullopt;
    return k;
  }
  return std::nullopt;
}

/// The stored JPEG tile that is exactly this read when no scaling is needed; null otherwise.
EncodedImage stored_tile(const slide::SlideReader& reader, std::int64_t x, std::int64_t y, int level,
                         std::int64_t read_w, std::int64_t read_h, std::int64_t out_w, std::int64_t out_h,
                         const std::string& etag) {
  if (read_w != out_w || read_h != out_h) return nullptr;
  auto bytes = reader.read_stored_jpeg(x, y, level, static_cast<int>(read_w), static_cast<int>(read_h));
  if (!bytes) return nullptr;
  auto tile = std::make_shared<slide::CachedTile>();
  tile->bytes = std::move(*bytes);
  tile->content_type = std::string(content_type(ImageFormat::jpeg));
  tile->etag = etag;
  tile->stored = true;
  return tile;
}

/// The Deep Zoom grid the server uses for this slide.
slide::DeepZoomGeometry dzi_geometry(const slide::SlideProperties& props, bool native) {
  if (native && !props.level_tile_width.empty() && props.level_tile_width.front() >= 64 &&
      props.level_tile_width.front() == props.level_tile_height.front()) {
    return slide::DeepZoomGeometry(props, props.level_tile_width.front(), 0);
  }
  return slide::DeepZoomGeometry(props);
}

}  // namespace

Result<slide::RgbImage> TileService::read_scaled(const OpenSlide& s, std::int64_t x, std::int64_t y, std::int64_t w,
                                                 std::int64_t h, std::int64_t out_w, std::int64_t out_h) const {
  const slide::SlideReader& reader = *s.reader;
  const ScaledRead plan = plan_scaled_read(reader, w, h, out_w, out_h);
  if (plan.read_w * plan.read_h > slide::SlideReader::kMaxReadPixels) {
    return Error{ErrorCode::payload_too_large, "the region needs " + std::to_string(plan.read_w * plan.read_h) +
                                                   " pixels read at the best level; the limit is " +
                                                   std::to_string(slide::SlideReader::kMaxReadPixels)};
  }
  // A zoomed-out view between (or above) the stored levels: built from the level below, each
  // reduced tile made once, instead of averaging the stored level below again for every tile.
  const auto& base = reader.properties().levels.front();
  if (const auto k = power_of_two_reduction(x, y, w, h, out_w, out_h, base.width, base.height)) {
    const ReducedLevels reduced(reader, cache_, reduced_level_locks_, cache_prefix(s));
    if (const auto level = reduced.base_level_for(*k)) {
      return reduced.read(*level, *k, x >> *k, y >> *k, static_cast<int>(out_w), static_cast<int>(out_h));
    }
  }
  MCVAL_TRY_ASSIGN(region, reader.read_region(x, y, plan.level, static_cast<int>(plan.read_w),
                                              static_cast<int>(plan.read_h)));
  // An exact integer reduction from a stored level is a box average, as pyramid builders (vips,
  // iipsrv's pyramids) make their levels; anything else is resampled like Pillow (Lanczos).
  const std::int64_t factor = plan.read_w / out_w;
  if (factor >= 2 && plan.read_w == factor * out_w && plan.read_h == factor * out_h) {
    return slide::reduce_box(region, static_cast<int>(factor));
  }
  return slide::resize_tile(region, static_cast<int>(out_w), static_cast<int>(out_h));
}

std::string TileService::dzi_tile_key(int level, std::int64_t col, std::int64_t row, ImageFormat format) {
  return "dzi/" + std::to_string(level) + "/" + std::to_string(col) + "_" + std::to_string(row) + "." +
         std::string(file_extension(format));
}

std::string TileService::iiif_key(const IiifRequest& request) { return "iiif/" + request.canonical(); }

std::string TileService::thumbnail_key(int max_px) { return "thumbnail/" + std::to_string(max_px); }

Result<std::string> TileService::dzi_descriptor(const std::string& id, ImageFormat format) const {
  MCVAL_TRY_ASSIGN(s, open(id));
  const auto geometry = dzi_geometry(s.reader->properties(), options_.dzi_native_tiles);
  return geometry.dzi_xml(format == ImageFormat::png ? "png" : "jpeg");
}

Result<slide::RgbImage> TileService::native_dzi_pixels(const OpenSlide& s, const slide::DeepZoomGeometry& geometry,
                                                       int level, const slide::DeepZoomTileRequest& request) const {
  // Native tiles are IIIF tiles of the slide's grid: scaled like them (box averages, the
  // reduced levels), since no OpenSlide Python tile exists to be equal to.
  const auto& base = s.reader->properties().levels.front();
  const std::int64_t factor = std::int64_t{1} << (geometry.level_count() - 1 - level);
  return read_scaled(s, request.l0_x, request.l0_y, std::min(request.tile_width * factor, base.width - request.l0_x),
                     std::min(request.tile_height * factor, base.height - request.l0_y), request.tile_width,
                     request.tile_height);
}

Result<slide::RgbImage> TileService::default_dzi_pixels(const slide::SlideReader& reader,
                                                        const slide::DeepZoomTileRequest& request) {
  // As OpenSlide Python's DeepZoomGenerator: read at the best level, resize like Pillow.
  MCVAL_TRY_ASSIGN(region, reader.read_region(request.l0_x, request.l0_y, request.slide_level, request.read_width,
                                              request.read_height));
  return slide::resize_tile(region, request.tile_width, request.tile_height);
}

Result<EncodedImage> TileService::dzi_tile(const std::string& id, int level, std::int64_t col, std::int64_t row,
                                           ImageFormat format) const {
  MCVAL_TRY_ASSIGN(s, resolve(id));
  const std::string key = dzi_tile_key(level, col, row, format);
  // Only a valid address was ever cached: the address is checked against the slide on a miss.
  auto tile = cached_or_render(s, key, [&]() -> Result<EncodedImage> {
    const auto geometry = dzi_geometry(s.reader->properties(), options_.dzi_native_tiles);
    MCVAL_TRY_ASSIGN(request, geometry.tile(level, col, row));
    MCVAL_TRY_ASSIGN(etag, etag_for(id, key));
    if (format == ImageFormat::jpeg) {
      if (auto stored = stored_tile(*s.reader, request.l0_x, request.l0_y, request.slide_level, request.read_width,
                                    request.read_height, request.tile_width, request.tile_height, etag)) {
        stored_reads_.fetch_add(1, std::memory_order_relaxed);
        return stored;
      }
    }
    auto image = geometry.overlap_px() == 0 ? native_dzi_pixels(s, geometry, level, request)
                                            : default_dzi_pixels(*s.reader, request);
    if (!image.ok()) {
      Error error = std::move(image).error();
      error.detail = without_root(std::move(error.detail), options_.slide_root);
      return error;
    }
    rendered_.fetch_add(1, std::memory_order_relaxed);
    return encode(*image, format, options_.jpeg_quality, etag);
  });
  if (tile.ok()) count(*tile);
  return tile;
}

void TileService::count(const EncodedImage& image) const {
  if (image && image->stored) stored_served_.fetch_add(1, std::memory_order_relaxed);
}

TileServiceCounters TileService::counters() const {
  TileServiceCounters c;
  c.stored_jpeg_served = stored_served_.load(std::memory_order_relaxed);
  c.stored_jpeg_reads = stored_reads_.load(std::memory_order_relaxed);
  c.rendered = rendered_.load(std::memory_order_relaxed);
  return c;
}

Result<nlohmann::json> TileService::iiif_info(const std::string& id, const std::string& service_id) const {
  MCVAL_TRY_ASSIGN(s, open(id));
  const auto& props = s.reader->properties();
  const auto& base = props.levels.front();
  int tile_px = 512;
  if (!props.level_tile_width.empty() && props.level_tile_width.front() >= 128 &&
      props.level_tile_width.front() == props.level_tile_height.front()) {
    tile_px = props.level_tile_width.front();
  }
  nlohmann::json scale_factors = nlohmann::json::array();
  for (std::int64_t f = 1; f <= 1 << 20; f *= 2) {
    scale_factors.push_back(f);
    if (base.width / f <= tile_px && base.height / f <= tile_px) break;
  }
  nlohmann::json sizes = nlohmann::json::array();
  for (auto it = props.levels.rbegin(); it != props.levels.rend(); ++it) {
    if (it->width * it->height <= options_.max_output_pixels) {
      sizes.push_back({{"width", it->width}, {"height", it->height}});
    }
  }
  if (sizes.empty()) {
    const double scale = std::sqrt(static_cast<double>(options_.max_output_pixels) /
                                   static_cast<double>(base.width * base.height));
    sizes.push_back({{"width", static_cast<std::int64_t>(static_cast<double>(base.width) * scale)},
                     {"height", static_cast<std::int64_t>(static_cast<double>(base.height) * scale)}});
  }
  return nlohmann::json{
      {"@context", "http://iiif.io/api/image/3/context.json"},
      {"id", service_id},
      {"type", "ImageService3"},
      {"protocol", "http://iiif.io/api/image"},
      {"profile", "level2"},
      {"width", base.width},
      {"height", base.height},
      {"maxArea", options_.max_output_pixels},
      {"sizes", sizes},
      {"tiles", nlohmann::json::array({{{"width", tile_px}, {"height", tile_px}, {"scaleFactors", scale_factors}}})},
      {"extraQualities", {"color", "gray", "bitonal"}},
      {"extraFeatures", {"mirroring", "sizeUpscaling", "canonicalLinkHeader", "profileLinkHeader", "cors",
                         "jsonldMediaType", "baseUriRedirect"}},
  };
}

Result<EncodedImage> TileService::iiif_image(const std::string& id, const IiifRequest& request) const {
  MCVAL_TRY_ASSIGN(s, resolve(id));
  const std::string key = iiif_key(request);
  // Only a request that resolved was ever cached: it is resolved against the slide on a miss.
  auto result = cached_or_render(s, key, [&]() -> Result<EncodedImage> {
    const auto& base = s.reader->properties().levels.front();
    MCVAL_TRY_ASSIGN(plan, resolve_iiif_request(request, base.width, base.height,
                                                IiifLimits{options_.max_output_pixels, 0, 0}));
    MCVAL_TRY_ASSIGN(etag, etag_for(id, key));
    const bool as_stored = request.format == ImageFormat::jpeg && !request.mirror && request.rotation_degrees == 0 &&
                           (request.quality == IiifQuality::default_ || request.quality == IiifQuality::color);
    if (as_stored) {
      const ScaledRead read = plan_scaled_read(*s.reader, plan.region_w, plan.region_h, plan.out_w, plan.out_h);
      if (auto stored = stored_tile(*s.reader, plan.region_x, plan.region_y, read.level, read.read_w, read.read_h,
                                    plan.out_w, plan.out_h, etag)) {
        stored_reads_.fetch_add(1, std::memory_order_relaxed);
        return stored;
      }
    }
    MCVAL_TRY_ASSIGN(image, read_scaled(s, plan.region_x, plan.region_y, plan.region_w, plan.region_h,
                                        plan.out_w, plan.out_h));
    if (request.mirror) image = mirror_horizontally(image);
    if (request.rotation_degrees != 0) image = rotate_clockwise(image, request.rotation_degrees);
    if (request.quality == IiifQuality::gray) image = to_gray(image);
    if (request.quality == IiifQuality::bitonal) image = to_bitonal(image);
    rendered_.fetch_add(1, std::memory_order_relaxed);
    return encode(image, request.format, options_.jpeg_quality, etag);
  });
  if (result.ok()) count(*result);
  return result;
}

Result<EncodedImage> TileService::thumbnail(const std::string& id, int max_px) const {
  if (max_px < 1 || static_cast<std::int64_t>(max_px) * max_px > options_.max_output_pixels) {
    return Error{ErrorCode::invalid_argument, "max must be between 1 and " +
                                                  std::to_string(static_cast<int>(std::sqrt(
                                                      static_cast<double>(options_.max_output_pixels))))};
  }
  MCVAL_TRY_ASSIGN(s, resolve(id));
  const std::string key = thumbnail_key(max_px);
  return cached_or_render(s, key, [&]() -> Result<EncodedImage> {
    const auto& base = s.reader->properties().levels.front();
    const double scale = std::min({1.0, static_cast<double>(max_px) / static_cast<double>(base.width),
                                   static_cast<double>(max_px) / static_cast<double>(base.height)});
    const auto out_w = std::max<std::int64_t>(1, std::llround(static_cast<double>(base.width) * scale));
    const auto out_h = std::max<std::int64_t>(1, std::llround(static_cast<double>(base.height) * scale));
    MCVAL_TRY_ASSIGN(image, read_scaled(s, 0, 0, base.width, base.height, out_w, out_h));
    MCVAL_TRY_ASSIGN(etag, etag_for(id, key));
    return encode(image, ImageFormat::jpeg, options_.jpeg_quality, etag);
  });
}

Result<EncodedImage> TileService::associated_image(const std::string& id, const std::string& name) const {
  MCVAL_TRY_ASSIGN(s, open(id));
  const auto& names = s.reader->properties().associated_images;
  if (!options_.associated_images || std::find(names.begin(), names.end(), name) == names.end()) {
    return Error{ErrorCode::not_found, "no associated image '" + name + "' is served for this slide"};
  }
  const std::string key = "associated/" + name;
  return cached_or_render(s, key, [&]() -> Result<EncodedImage> {
    MCVAL_TRY_ASSIGN(image, s.reader->read_associated(name));
    if (image.width * static_cast<std::int64_t>(image.height) > options_.max_output_pixels) {
      return Error{ErrorCode::payload_too_large, "associated image is larger than the output limit"};
    }
    MCVAL_TRY_ASSIGN(etag, etag_for(id, key));
    return encode(image, ImageFormat::jpeg, options_.jpeg_quality, etag);
  });
}

}  // namespace mcval::tiles
