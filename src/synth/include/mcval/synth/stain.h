#pragma once
// Stains in optical-density (OD) space: H&E stain vectors estimated with Macenko's method,
// per-centre stain profiles, and a table-driven transform that re-stains RGB pixels.
// OD of an 8-bit intensity I is -ln((I + 1) / 256): 0 for white, about 5.5 for black.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "mcval/slide/image.h"

namespace mcval::synth {

/// Optical density of one 8-bit intensity: -ln((intensity + 1) / 256).
double optical_density(std::uint8_t intensity);

/// Unit OD vectors (R, G, B components) of haematoxylin and eosin. The defaults are Ruifrok
/// and Johnston's published H&E vectors.
struct StainVectors {
  std::array<double, 3> haematoxylin{0.650, 0.704, 0.286};
  std::array<double, 3> eosin{0.072, 0.990, 0.105};
};

/// Estimates the H&E vectors of `image` with Macenko's method: the plane of the two main
/// OD directions of stained pixels, and the 1st and 99th percentile angles in that plane;
/// the vector absorbing more red is haematoxylin. Pixels with any channel's OD below
/// `min_od` (glass, faint areas) are ignored. Returns the Ruifrok defaults when fewer than
/// 500 pixels qualify or the estimate is degenerate.
StainVectors estimate_stain_vectors(const slide::RgbImage& image, double min_od = 0.15);

/// A centre's staining and illumination, relative to the source slide's: the stain vectors
/// are moved by the shifts (OD units, then renormalised), stain amounts are scaled, and the
/// light through the glass is tinted. The default profile changes nothing.
struct StainProfile {
  std::string name = "original";                      ///< short label, e.g. "blue-haematoxylin"
  std::array<double, 3> haematoxylin_shift{0, 0, 0};  ///< added to the source H vector
  std::array<double, 3> eosin_shift{0, 0, 0};         ///< added to the source E vector
  double haematoxylin_scale = 1.0;                    ///< multiplies the amount of haematoxylin
  double eosin_scale = 1.0;                           ///< multiplies the amount of eosin
  /// Colour of bare glass under this centre's scanner, 0-255 per channel; 255 leaves a channel
  /// unchanged, lower values darken and tint background and tissue alike.
  std::array<double, 3> illuminant_rgb{255, 255, 255};

  /// Whether the profile leaves every pixel unchanged.
  bool is_identity() const;
};

/// Stain profiles for `count` centres that look like different laboratories: centre 0 keeps
/// the original stain; centres 1-3 are distinct presets (bluer and stronger haematoxylin,
/// orange eosin under warm light, dark purple), jittered slightly by `seed`; further centres
/// are drawn at random from `seed`. Deterministic.
std::vector<StainProfile> centre_stains(int count, std::uint64_t seed);

/// Applies a StainProfile to RGB pixels: OD = M * OD + t with
/// M = S_target * diag(h_scale, e_scale, 1) * S_source^-1 (S: H, E and residual vectors as
/// columns) and t the illuminant's OD; through lookup tables, about 10 multiply-adds a pixel.
/// Immutable after construction, so thread-safe.
class StainTransform {
 public:
  StainTransform(const StainProfile& profile, const StainVectors& source);

  /// Re-stains `pixel_count` RGB pixels in place.
  void apply(std::uint8_t* rgb, std::size_t pixel_count) const;
  void apply(slide::RgbImage& image) const { apply(image.pixels.data(), image.pixels.size() / 3); }
  /// One colour.
  std::array<std::uint8_t, 3> apply(std::array<std::uint8_t, 3> rgb) const;
  /// Whether apply leaves pixels unchanged (then it returns at once).
  bool is_identity() const { return identity_; }
  /// The 3x3 OD mixing matrix, row-major.
  const std::array<float, 9>& matrix() const { return matrix_; }

 private:
  std::array<float, 9> matrix_{};
  std::array<float, 3> offset_{};
  std::array<float, 256> od_{};
  std::vector<std::uint8_t> intensity_;  // OD bin -> 8-bit intensity
  bool identity_ = true;
};

}  // namespace mcval::synth
