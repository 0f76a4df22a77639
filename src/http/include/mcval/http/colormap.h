#pragma once
// Colormaps of the heatmap layers, as matplotlib defines them: viridis, magma and inferno are
// its 256-entry listed colormaps, jet and gray its linear-segment colormaps sampled at 256
// points. A probability p in [0, 1] takes entry min(255, floor(p * 256)), as matplotlib's
// Colormap.__call__ does; channels are matplotlib's values rounded to 8 bits (viridis(0) =
// #440154, viridis(1) = #fde725).
#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace mcval::http {

enum class Colormap { viridis, magma, inferno, jet, gray };

/// Every colormap, in the order the API lists them.
inline constexpr std::array<Colormap, 5> kColormaps{Colormap::viridis, Colormap::magma, Colormap::inferno,
                                                    Colormap::jet, Colormap::gray};

struct Rgb8 {
  std::uint8_t r = 0;
  std::uint8_t g = 0;
  std::uint8_t b = 0;
  friend bool operator==(const Rgb8&, const Rgb8&) = default;
};

std::string_view to_string(Colormap colormap);
/// "viridis", "magma", "inferno", "jet" or "gray"; nullopt otherwise.
std::optional<Colormap> colormap_from_string(std::string_view name);

/// The 256 entries of a colormap. Thread-safe (constant tables).
const std::array<Rgb8, 256>& colormap_table(Colormap colormap);
/// The colour of p (clamped to [0, 1]; NaN is treated as 0).
Rgb8 colormap_colour(Colormap colormap, double p);

}  // namespace mcval::http
