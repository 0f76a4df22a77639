#pragma once
#include <cstdint>
#include <memory>
#include <vector>

namespace mcval::slide {

/// An allocator whose value-less construction leaves bytes uninitialised, so that a buffer about
/// to be overwritten whole is not zeroed first (on a fresh page that also saves the fault's
/// zeroing twice over). Everything else is std::allocator's.
template <class T>
struct UninitializedAllocator : std::allocator<T> {
  template <class U>
  struct rebind {
    using other = UninitializedAllocator<U>;
  };
  using std::allocator<T>::allocator;
  template <class U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;
  }
  template <class U, class... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};

/// An 8-bit RGB image, rows top to bottom, 3 bytes per pixel, no padding (stride = width * 3).
struct RgbImage {
  int width = 0;
  int height = 0;
  std::vector<std::uint8_t, UninitializedAllocator<std::uint8_t>> pixels;

  RgbImage() = default;
  /// Black (every byte 0).
  RgbImage(int w, int h) : width(w), height(h), pixels(static_cast<std::size_t>(w) * h * 3, 0) {}
  /// For a caller that writes every pixel: the bytes are left as the allocator gives them.
  static RgbImage uninitialized(int w, int h) {
    RgbImage image;
    image.width = w;
    image.height = h;
    image.pixels.resize(static_cast<std::size_t>(w) * h * 3);
    return image;
  }
  std::size_t stride() const { return static_cast<std::size_t>(width) * 3; }
  std::uint8_t* row(int y) { return pixels.data() + static_cast<std::size_t>(y) * stride(); }
  const std::uint8_t* row(int y) const { return pixels.data() + static_cast<std::size_t>(y) * stride(); }
};

}  // namespace mcval::slide
