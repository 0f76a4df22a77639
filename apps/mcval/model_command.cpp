#include <filesystem>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "command_audit.h"
#include "commands.h"
#include "mcval/common/files.h"
#include "mcval/inference/model_runtime.h"
#include "mcval/inference/model_store.h"
#include "mcval/slide/codec.h"

namespace mcval::app {

namespace {
std::string shape_of(const inference::ModelCard& card) {
  char text[64];
  std::snprintf(text, sizeof text, "%dpx@%gmpp", card.input_px, card.mpp);
  return text;
}
}  // namespace

int run_model_add(const Config& config, const std::string& path) {
  auto audit = CommandAudit::open(config);
  if (!audit.ok()) return fail(audit.error());
  const inference::ModelStore store(config.data);
  auto added = store.add(path);
  if (!added.ok()) {
    (void)audit->record(audit::Action::model_added, "model:" + std::filesystem::path(path).filename().string(), "",
                        audit::Outcome::failed, std::string(error_name(added.error().code)));
    return fail(added.error());
  }
  const auto& record = added->record;
  std::printf("%s model %s@%s: sha256 %s\n",
              added->newly_added ? "added" : "already present:", record.card.name.c_str(), record.card.version.c_str(),
              record.sha256.c_str());
  if (added->newly_added) {
    auto written = audit->record(audit::Action::model_added, "model:" + record.card.name + "@" + record.sha256.substr(0, 16),
                                 "", audit::Outcome::allowed);
    if (!written.ok()) return fail(written.error());
  }
  return 0;
}

int run_model_list(const Config& config, bool json) {
  const inference::ModelStore store(config.data);
  auto models = store.list();
  if (!models.ok()) return fail(models.error());
  if (json) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& m : *models) list.push_back(inference::to_json(m));
    std::printf("%s\n", list.dump(2).c_str());
    return 0;
  }
  std::printf("%-24s  %-12s  %-16s  %-16s  %-13s  %-20s  %s\n", "NAME", "VERSION", "SHA256", "INPUT", "OUTPUT", "ADDED",
              "CLASSES");
  for (const auto& m : *models) {
    std::string classes;
    for (std::size_t i = 0; i < m.card.class_names.size(); ++i) {
      classes += (i ? "," : "") + m.card.class_names[i];
      if (static_cast<int>(i) == m.card.positive_class) classes += "*";
    }
    std::printf("%-24s  %-12s  %-16.16s  %-16s  %-13s  %-20.19s  %s\n", m.card.name.c_str(), m.card.version.c_str(),
                m.sha256.c_str(), shape_of(m.card).c_str(),
                std::string(inference::to_string(m.card.activation)).c_str(), m.added_at.c_str(), classes.c_str());
  }
  std::printf("%zu models\n", models->size());
  return 0;
}

int run_model_show(const Config& config, const std::string& reference) {
  const inference::ModelStore store(config.data);
  auto model = store.find(reference);
  if (!model.ok()) return fail(model.error());
  std::printf("%s\n", inference::to_json(*model).dump(2).c_str());
  return 0;
}

int run_model_score(const Config& config, const std::string& reference, const std::vector<std::string>& images) {
  const inference::ModelStore store(config.data);
  auto model = store.find(reference);
  if (!model.ok()) return fail(model.error());
  std::vector<slide::RgbImage> tiles;
  for (const auto& path : images) {
    auto bytes = read_file(path);
    if (!bytes.ok()) return fail(bytes.error());
    auto image = slide::decode_png(*bytes);
    if (!image.ok()) return fail(Error{ErrorCode::invalid_argument, path + ": not a PNG image"});
    if (image->width != model->card.input_px || image->height != model->card.input_px) {
      return fail(Error{ErrorCode::invalid_argument, path + ": " + std::to_string(image->width) + "x" +
                                                         std::to_string(image->height) + " px, the model takes " +
                                                         std::to_string(model->card.input_px) + " px squares"});
    }
    tiles.push_back(std::move(*image));
  }
  auto runtime = inference::load_opencv_model(model->onnx_path, model->card);
  if (!runtime.ok()) return fail(runtime.error());
  std::vector<const slide::RgbImage*> batch;
  for (const auto& tile : tiles) batch.push_back(&tile);
  auto outputs = (*runtime)->run(batch);
  if (!outputs.ok()) return fail(outputs.error());
  nlohmann::json result = {{"model", {{"sha256", model->sha256}, {"name", model->card.name}}},
                           {"class_names", model->card.class_names},
                           {"tiles", nlohmann::json::array()}};
  for (std::size_t i = 0; i < images.size(); ++i) {
    result["tiles"].push_back({{"image", images[i]}, {"probabilities", (*outputs)[i]}});
  }
  std::printf("%s\n", result.dump(2).c_str());
  return 0;
}

}  // namespace mcval::app
