// The inference routes: a slide's results (one per model), each heatmap as data (JSON) and as
// a viewer layer (RGBA PNG, one pixel per grid tile), the tissue mask as an overlay, and the
// colormaps. Results are read through the InferenceStore only; `{model}` is a model's SHA-256
// or a unique prefix of it among the slide's results.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "mcval/common/sha256.h"
#include "mcval/common/strings.h"
#include "mcval/http/authenticator.h"
#include "mcval/http/heatmap_image.h"
#include "route_support.h"

namespace mcval::http {
namespace {

using inference::SlideInferenceRecord;

// Results can be replaced by a new run: clients revalidate (cheap, the ETag needs no pixels).
constexpr char kLayerCacheControl[] = "private, no-cache";
constexpr std::size_t kMinModelPrefix = 8;
constexpr std::size_t kSha256Hex = 64;

std::string slide_base(const std::string& slide_id) { return "/api/v1/slides/" + slide_id; }

/// A catalogued slide that is still in the slide store and that the caller may see:
/// slide_not_found (404, also for a slide of a centre outside the caller's scope) or slide_gone (410).
Result<catalog::SlideRecord> check_slide(const RouteContext& c, const Request& req, const std::string& slide_id) {
  MCVAL_TRY_ASSIGN(record, authorize_slide(c, req, slide_id));
  if (record.status == catalog::SlideStatus::removed) {
    return Error{ErrorCode::slide_gone, "slide " + slide_id + " was removed from the slide store"};
  }
  return record;
}

/// Audits an allowed read of a slide's inference results (the slide's centre looked up when
/// not given).
void audit_inference_read(const RouteContext& c, const Request& req, const std::string& slide_id,
                          std::string centre = {}) {
  if (c.audit == nullptr) return;
  if (centre.empty()) {
    if (auto record = c.tiles.slide(slide_id); record.ok()) centre = record->centre;
  }
  audit_record(c, audit::AuditRecord::make(audit::Action::read_inference, requester_of(req, acting_role(req, centre)),
                                           "slide:" + slide_id, centre, audit::Outcome::allowed));
}

bool is_lower_hex(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char ch) { return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f'); });
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

/// The model hash that `reference` (full SHA-256 or a prefix of >= 8 hex digits) names among
/// the models with a result for the slide.
Result<std::string> resolve_model(const RouteContext& c, const std::string& slide_id, const std::string& reference) {
  const std::string ref = to_lower(reference);
  if (ref.size() < kMinModelPrefix || ref.size() > kSha256Hex || !is_lower_hex(ref)) {
    return Error{ErrorCode::invalid_argument,
                 "model '" + reference + "' is not a SHA-256 or a prefix of it of at least 8 hex digits"};
  }
  MCVAL_TRY_ASSIGN(models, c.inference.models_for_slide(slide_id));
  std::vector<std::string> matches;
  for (const auto& model : models) {
    if (starts_with(model, ref)) matches.push_back(model);
  }
  if (matches.size() == 1) return matches.front();
  if (matches.size() > 1) {
    return Error{ErrorCode::model_not_found, "model prefix '" + ref + "' is ambiguous: " + joined(matches)};
  }
  if (c.models.find(ref).ok()) {
    return Error{ErrorCode::not_found, "model " + ref + " has no result for slide " + slide_id};
  }
  return Error{ErrorCode::model_not_found, "no model '" + ref + "' has a result for slide " + slide_id};
}

/// The stored result of the model a reference names on the slide (any status).
Result<SlideInferenceRecord> find_result(const RouteContext& c, const Request& req, const std::string& slide_id,
                                         const std::string& reference) {
  MCVAL_TRY(check_slide(c, req, slide_id));
  MCVAL_TRY_ASSIGN(model, resolve_model(c, slide_id, reference));
  MCVAL_TRY_ASSIGN(record, c.inference.find(model, slide_id));
  if (!record) return Error{ErrorCode::not_found, "model " + model + " has no result for slide " + slide_id};
  return std::move(*record);
}

/// As find_result, for the layers: a failed result has none (404 with the reason).
Result<SlideInferenceRecord> find_ok_result(const RouteContext& c, const Request& req, const std::string& slide_id,
                                            const std::string& reference) {
  MCVAL_TRY_ASSIGN(record, find_result(c, req, slide_id, reference));
  if (record.status != "ok") {
    return Error{ErrorCode::not_found, "inference of model " + record.model_sha256 + " failed on slide " + slide_id +
                                           " (" + record.error_code + "): " + record.reason};
  }
  return record;
}

/// What the model's card says about the result's classes; generic names when the model is not
/// registered (any more) or its card does not match the result.
struct ClassInfo {
  bool registered = false;
  std::vector<std::string> names;
  int positive = 0;
  nlohmann::json aggregation;  // null without a card
};

ClassInfo class_info(const RouteContext& c, const SlideInferenceRecord& record, int classes) {
  ClassInfo info;
  auto model = c.models.find(record.model_sha256);
  if (model.ok()) {
    const auto& card = model->card;
    info.registered = true;
    if (classes == 0) classes = static_cast<int>(card.class_names.size());
    if (static_cast<int>(card.class_names.size()) == classes) info.names = card.class_names;
    info.positive = card.positive_class;
    info.aggregation = {{"method", std::string(inference::to_string(card.aggregation))}};
    if (card.aggregation == inference::Aggregation::top_k_mean) info.aggregation["k"] = card.aggregation_k;
    if (card.aggregation == inference::Aggregation::percentile) {
      info.aggregation["percentile"] = card.aggregation_percentile;
    }
  } else if (record.score) {
    // The slide score is the positive class's aggregate: find it among the class scores.
    const auto it = std::find(record.class_scores.begin(), record.class_scores.end(), *record.score);
    if (it != record.class_scores.end()) info.positive = static_cast<int>(it - record.class_scores.begin());
  }
  if (info.names.empty()) {
    for (int k = 0; k < classes; ++k) info.names.push_back("class " + std::to_string(k));
  }
  if (info.positive < 0 || info.positive >= std::max(1, classes)) info.positive = 0;
  return info;
}

/// Width and height from a PNG's IHDR chunk; nullopt when the bytes are not a PNG.
std::optional<std::pair<std::uint32_t, std::uint32_t>> png_size(std::string_view png) {
  static constexpr std::string_view kSignature("\x89PNG\r\n\x1a\n", 8);
  if (png.size() < 24 || png.substr(0, 8) != kSignature || png.substr(12, 4) != "IHDR") return std::nullopt;
  auto be32 = [&](std::size_t offset) {
    std::uint32_t v = 0;
    for (std::size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(png[offset + i]);
    return v;
  };
  return std::make_pair(be32(16), be32(20));
}

nlohmann::json result_json(const RouteContext& c, const SlideInferenceRecord& r) {
  const bool ok = r.status == "ok";
  const ClassInfo info = class_info(c, r, static_cast<int>(r.class_scores.size()));
  nlohmann::json json = {
      {"model_sha256", r.model_sha256},
      {"model_name", r.model_name},
      {"model_version", r.model_version},
      {"model_registered", info.registered},
      {"status", r.status},
      {"class_names", info.names},
      {"positive_class", info.positive},
      {"aggregation", info.aggregation},
      {"finished_at", r.finished_at},
      {"mcval_version", r.mcval_version},
  };
  if (!ok) {
    json["error_code"] = r.error_code;
    json["reason"] = r.reason;
    return json;
  }
  json["score"] = r.score ? nlohmann::json(*r.score) : nlohmann::json(nullptr);
  json["class_scores"] = r.class_scores;
  json["tiles_scored"] = r.tiles_scored;
  json["grid_tiles"] = r.grid_tiles;
  json["tissue_fraction"] = r.tissue_fraction;
  json["geometry"] = inference::to_json(r.geometry);
  nlohmann::json tissue = {{"downsample", r.mask_downsample}, {"width", nullptr}, {"height", nullptr}};
  if (auto mask = c.inference.load_mask_png(r.model_sha256, r.slide_id); mask.ok()) {
    if (auto size = png_size(*mask)) {
      tissue["width"] = size->first;
      tissue["height"] = size->second;
    }
  }
  json["tissue"] = tissue;
  const std::string base = slide_base(r.slide_id);
  json["urls"] = {{"heatmap", base + "/heatmaps/" + r.model_sha256 + ".json"},
                  {"heatmap_png", base + "/heatmaps/" + r.model_sha256 + ".png"},
                  {"tissue_png", base + "/tissue/" + r.model_sha256 + ".png"}};
  return json;
}

/// class=NAME|INDEX; the card's positive class when absent.
Result<int> class_param(const std::optional<std::string>& text, const ClassInfo& info, int classes) {
  if (!text) return std::min(info.positive, classes - 1);
  int index = -1;
  const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), index);
  if (ec == std::errc{} && end == text->data() + text->size()) {
    if (index >= 0 && index < classes) return index;
    return Error{ErrorCode::invalid_argument,
                 "class index " + *text + " outside 0-" + std::to_string(classes - 1)};
  }
  const auto it = std::find(info.names.begin(), info.names.end(), *text);
  if (it != info.names.end() && it - info.names.begin() < classes) return static_cast<int>(it - info.names.begin());
  return Error{ErrorCode::invalid_argument, "unknown class '" + *text + "' (classes: " + joined(info.names) + ")"};
}

Result<Colormap> colormap_param(const std::optional<std::string>& text) {
  if (!text) return Colormap::viridis;
  if (auto colormap = colormap_from_string(*text)) return *colormap;
  return Error{ErrorCode::invalid_argument, "unknown colormap '" + *text + "' (viridis, magma, inferno, jet, gray)"};
}

Result<double> threshold_param(const std::optional<std::string>& text) {
  if (!text) return 0.0;
  double value = 0;
  const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (ec != std::errc{} || end != text->data() + text->size() || !std::isfinite(value) || value < 0 || value > 1) {
    return Error{ErrorCode::invalid_argument, "threshold '" + *text + "' is not a number from 0 to 1"};
  }
  return value;
}

/// Strong ETag of a layer image: the result's identity (model, slide, slide content, run) and
/// the rendering parameters.
std::string layer_etag(const SlideInferenceRecord& r, const std::string& rendering) {
  const std::string key = r.model_sha256 + "|" + r.slide_id + "|" + r.slide_sha256 + "|" + r.finished_at + "|" + rendering;
  return "\"" + sha256_hex(key).substr(0, 32) + "\"";
}

Response png_response(std::string bytes, const std::string& etag) {
  Response r;
  r.content_type = "image/png";
  r.body = std::move(bytes);
  r.header("ETag", etag);
  r.header("Cache-Control", kLayerCacheControl);
  return r;
}

/// A probability for JSON: 6 decimals (the stored steps are 1/65534), null when not scored.
nlohmann::json probability_json(double p) {
  if (std::isnan(p)) return nullptr;
  return std::round(p * 1e6) / 1e6;
}

}  // namespace

int inference_count(const RouteContext& context, const std::string& slide_id) {
  auto models = context.inference.models_for_slide(slide_id);
  return models.ok() ? static_cast<int>(models->size()) : 0;
}

void register_inference_routes(Router& router, const RouteContext& ctx) {
  const RouteContext* c = &ctx;

  router.add("GET", "/api/v1/slides/{id}/inference", "api.inference", [c](Request& req) {
    const std::string& id = req.param("id");
    auto slide = check_slide(*c, req, id);
    if (!slide.ok()) return error_response(slide.error(), req);
    auto models = c->inference.models_for_slide(id);
    if (!models.ok()) return error_response(models.error(), req);
    std::vector<SlideInferenceRecord> records;
    for (const auto& model : *models) {
      auto record = c->inference.find(model, id);
      if (!record.ok()) return error_response(record.error(), req);
      if (*record) records.push_back(std::move(**record));
    }
    std::sort(records.begin(), records.end(), [](const SlideInferenceRecord& a, const SlideInferenceRecord& b) {
      return std::tie(a.model_name, a.model_version, a.model_sha256) <
             std::tie(b.model_name, b.model_version, b.model_sha256);
    });
    nlohmann::json results = nlohmann::json::array();
    for (const auto& record : records) results.push_back(result_json(*c, record));
    audit_inference_read(*c, req, id, slide->centre);
    return json_ok({{"slide_id", id}, {"results", results}});
  });

  router.add("GET", "/api/v1/slides/{id}/heatmaps/{model}.json", "api.heatmap.data", [c](Request& req) {
    auto record = find_ok_result(*c, req, req.param("id"), req.param("model"));
    if (!record.ok()) return error_response(record.error(), req);
    auto heatmap = c->inference.load_heatmap(*record);
    if (!heatmap.ok()) return error_response(heatmap.error(), req);
    const auto& geometry = heatmap->geometry();
    const ClassInfo info = class_info(*c, *record, heatmap->classes());
    nlohmann::json probabilities = nlohmann::json::array();
    for (int k = 0; k < heatmap->classes(); ++k) {
      nlohmann::json grid = nlohmann::json::array();
      for (int row = 0; row < geometry.rows; ++row) {
        nlohmann::json line = nlohmann::json::array();
        for (int col = 0; col < geometry.cols; ++col) line.push_back(probability_json(heatmap->probability(col, row, k)));
        grid.push_back(std::move(line));
      }
      probabilities.push_back(std::move(grid));
    }
    audit_inference_read(*c, req, record->slide_id);
    return json_ok({{"slide_id", record->slide_id},
                    {"model_sha256", record->model_sha256},
                    {"model_name", record->model_name},
                    {"model_version", record->model_version},
                    {"geometry", inference::to_json(geometry)},
                    {"class_names", info.names},
                    {"positive_class", info.positive},
                    {"tiles_scored", heatmap->scored_tiles()},
                    {"probabilities", probabilities}});
  });

  router.add("GET", "/api/v1/slides/{id}/heatmaps/{model}.png", "api.heatmap.png", [c](Request& req) {
    auto record = find_ok_result(*c, req, req.param("id"), req.param("model"));
    if (!record.ok()) return error_response(record.error(), req);
    const int classes = static_cast<int>(record->class_scores.size());
    const ClassInfo info = class_info(*c, *record, classes);
    auto colormap = colormap_param(req.query_param("colormap"));
    auto threshold = threshold_param(req.query_param("threshold"));
    auto class_index = class_param(req.query_param("class"), info, std::max(1, classes));
    for (const Error* e : {colormap.ok() ? nullptr : &colormap.error(), threshold.ok() ? nullptr : &threshold.error(),
                           class_index.ok() ? nullptr : &class_index.error()}) {
      if (e) return error_response(*e, req);
    }
    char rendering[96];
    std::snprintf(rendering, sizeof rendering, "heatmap|%d|%s|%.17g", *class_index,
                  std::string(to_string(*colormap)).c_str(), *threshold);
    const std::string etag = layer_etag(*record, rendering);
    if (not_modified(req, etag)) return not_modified_response(etag, kLayerCacheControl);
    auto heatmap = c->inference.load_heatmap(*record);
    if (!heatmap.ok()) return error_response(heatmap.error(), req);
    if (*class_index >= heatmap->classes() || heatmap->geometry().cols < 1 || heatmap->geometry().rows < 1) {
      return error_response(Error{ErrorCode::not_found, "the heatmap has no such class or no tiles"}, req);
    }
    auto png = slide::encode_png(render_heatmap(*heatmap, {*class_index, *colormap, *threshold}));
    if (!png.ok()) return error_response(png.error(), req);
    audit_inference_read(*c, req, record->slide_id);
    return png_response(std::move(png).value(), etag);
  });

  router.add("GET", "/api/v1/slides/{id}/tissue/{model}.png", "api.tissue.png", [c](Request& req) {
    auto record = find_ok_result(*c, req, req.param("id"), req.param("model"));
    if (!record.ok()) return error_response(record.error(), req);
    const std::string etag = layer_etag(*record, "tissue");
    if (not_modified(req, etag)) return not_modified_response(etag, kLayerCacheControl);
    auto mask = c->inference.load_mask_png(record->model_sha256, record->slide_id);
    if (!mask.ok()) return error_response(mask.error(), req);
    auto overlay = render_tissue_overlay(*mask);
    if (!overlay.ok()) return error_response(Error{ErrorCode::io_error, "damaged tissue mask: " + overlay.error().detail}, req);
    auto png = slide::encode_png(*overlay);
    if (!png.ok()) return error_response(png.error(), req);
    audit_inference_read(*c, req, record->slide_id);
    return png_response(std::move(png).value(), etag);
  });

  router.add("GET", "/api/v1/colormaps", "api.colormaps", [](Request&) {
    nlohmann::json list = nlohmann::json::array();
    for (const Colormap colormap : kColormaps) {
      nlohmann::json colours = nlohmann::json::array();
      for (const Rgb8& rgb : colormap_table(colormap)) {
        char hex[8];
        std::snprintf(hex, sizeof hex, "#%02x%02x%02x", rgb.r, rgb.g, rgb.b);
        colours.push_back(hex);
      }
      list.push_back({{"name", std::string(to_string(colormap))}, {"colours", colours}});
    }
    return json_ok({{"colormaps", list}});
  });
}

}  // namespace mcval::http
