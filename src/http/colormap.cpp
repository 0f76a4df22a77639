#include "mcval/http/colormap.h"

#include <algorithm>
#include <cmath>
#include <string_view>

namespace mcval::http {
namespace {

using Table = std::array<Rgb8, 256>;

constexpr int hex_digit(char c) { return c <= '9' ? c - '0' : c - 'a' + 10; }

constexpr Table from_hex(std::string_view hex) {
  Table table{};
  for (std::size_t i = 0; i < table.size(); ++i) {
    auto byte = [&](std::size_t offset) {
      return static_cast<std::uint8_t>(hex_digit(hex[i * 6 + offset]) * 16 + hex_digit(hex[i * 6 + offset + 1]));
    };
    table[i] = {byte(0), byte(2), byte(4)};
  }
  return table;
}

// matplotlib's _viridis_data, _magma_data and _inferno_data (lib/matplotlib/_cm_listed.py,
// CC0), each value rounded to 8 bits, 8 entries a line.
constexpr std::string_view kViridisHex =
    "44015444025645045745055946075a46085c460a5d460b5e"
    "470d60470e61471063471164471365481467481668481769"
    "48186a481a6c481b6d481c6e481d6f481f70482071482173"
    "482374482475482576482677482878482979472a7a472c7a"
    "472d7b472e7c472f7d46307e46327e46337f463480453581"
    "453781453882443983443a83443b84433d84433e85423f85"
    "4240864241864142874144874045884046883f47883f4889"
    "3e49893e4a893e4c8a3d4d8a3d4e8a3c4f8a3c508b3b518b"
    "3b528b3a538b3a548c39558c39568c38588c38598c375a8c"
    "375b8d365c8d365d8d355e8d355f8d34608d34618d33628d"
    "33638d32648e32658e31668e31678e31688e30698e306a8e"
    "2f6b8e2f6c8e2e6d8e2e6e8e2e6f8e2d708e2d718e2c718e"
    "2c728e2c738e2b748e2b758e2a768e2a778e2a788e29798e"
    "297a8e297b8e287c8e287d8e277e8e277f8e27808e26818e"
    "26828e26828e25838e25848e25858e24868e24878e23888e"
    "23898e238a8d228b8d228c8d228d8d218e8d218f8d21908d"
    "21918c20928c20928c20938c1f948c1f958b1f968b1f978b"
    "1f988b1f998a1f9a8a1e9b8a1e9c891e9d891f9e891f9f88"
    "1fa0881fa1881fa1871fa28720a38620a48621a58521a685"
    "22a78522a88423a98324aa8325ab8225ac8226ad8127ad81"
    "28ae8029af7f2ab07f2cb17e2db27d2eb37c2fb47c31b57b"
    "32b67a34b67935b77937b87838b9773aba763bbb753dbc74"
    "3fbc7340bd7242be7144bf7046c06f48c16e4ac16d4cc26c"
    "4ec36b50c46a52c56954c56856c66758c7655ac8645cc863"
    "5ec96260ca6063cb5f65cb5e67cc5c69cd5b6ccd5a6ece58"
    "70cf5773d05675d05477d1537ad1517cd2507fd34e81d34d"
    "84d44b86d54989d5488bd6468ed64590d74393d74195d840"
    "98d83e9bd93c9dd93ba0da39a2da37a5db36a8db34aadc32"
    "addc30b0dd2fb2dd2db5de2bb8de29bade28bddf26c0df25"
    "c2df23c5e021c8e020cae11fcde11dd0e11cd2e21bd5e21a"
    "d8e219dae319dde318dfe318e2e418e5e419e7e419eae51a"
    "ece51befe51cf1e51df4e61ef6e620f8e621fbe723fde725";
constexpr std::string_view kMagmaHex =
    "00000401000501010601010802010902020b02020d03030f"
    "03031204041405041606051806051a07061c08071e090720"
    "0a08220b09240c09260d0a290e0b2b100b2d110c2f120d31"
    "130d34140e36150e38160f3b180f3d19103f1a10421c1044"
    "1d11471e114920114b21114e221150241253251255271258"
    "29115a2a115c2c115f2d11612f1163311165331067341069"
    "36106b38106c390f6e3b0f703d0f713f0f72400f74420f75"
    "440f764510774710784910784a10794c117a4e117b4f127b"
    "51127c52137c54137d56147d57157e59157e5a167e5c167f"
    "5d177f5f187f601880621980641a80651a80671b80681c81"
    "6a1c816b1d816d1d816e1e81701f81721f81732081752181"
    "7621817822817922827b23827c23827e2482802582812581"
    "8326818426818627818827818928818b29818c29818e2a81"
    "902a81912b81932b80942c80962c80982d80992d809b2e7f"
    "9c2e7f9e2f7fa02f7fa1307ea3307ea5317ea6317da8327d"
    "aa337dab337cad347cae347bb0357bb2357bb3367ab5367a"
    "b73779b83779ba3878bc3978bd3977bf3a77c03a76c23b75"
    "c43c75c53c74c73d73c83e73ca3e72cc3f71cd4071cf4070"
    "d0416fd2426fd3436ed5446dd6456cd8456cd9466bdb476a"
    "dc4869de4968df4a68e04c67e24d66e34e65e44f64e55064"
    "e75263e85362e95462ea5661eb5760ec5860ed5a5fee5b5e"
    "ef5d5ef05f5ef1605df2625df2645cf3655cf4675cf4695c"
    "f56b5cf66c5cf66e5cf7705cf7725cf8745cf8765cf9785d"
    "f9795df97b5dfa7d5efa7f5efa815ffb835ffb8560fb8761"
    "fc8961fc8a62fc8c63fc8e64fc9065fd9266fd9467fd9668"
    "fd9869fd9a6afd9b6bfe9d6cfe9f6dfea16efea36ffea571"
    "fea772fea973feaa74feac76feae77feb078feb27afeb47b"
    "feb67cfeb77efeb97ffebb81febd82febf84fec185fec287"
    "fec488fec68afec88cfeca8dfecc8ffecd90fecf92fed194"
    "fed395fed597fed799fed89afdda9cfddc9efddea0fde0a1"
    "fde2a3fde3a5fde5a7fde7a9fde9aafdebacfcecaefceeb0"
    "fcf0b2fcf2b4fcf4b6fcf6b8fcf7b9fcf9bbfcfbbdfcfdbf";
constexpr std::string_view kInfernoHex =
    "00000401000501010601010802010a02020c02020e030210"
    "04031204031405041706041907051b08051d09061f0a0722"
    "0b07240c08260d08290e092b10092d110a30120a32140b34"
    "150b37160b39180c3c190c3e1b0c411c0c431e0c451f0c48"
    "210c4a230c4c240c4f260c51280b53290b552b0b572d0b59"
    "2f0a5b310a5c320a5e340a5f3609613809623909633b0964"
    "3d09653e0966400a67420a68440a68450a69470b6a490b6a"
    "4a0c6b4c0c6b4d0d6c4f0d6c510e6c520e6d540f6d550f6d"
    "57106e59106e5a116e5c126e5d126e5f136e61136e62146e"
    "64156e65156e67166e69166e6a176e6c186e6d186e6f196e"
    "71196e721a6e741a6e751b6e771c6d781c6d7a1d6d7c1d6d"
    "7d1e6d7f1e6c801f6c82206c84206b85216b87216b88226a"
    "8a226a8c23698d23698f2469902568922568932667952667"
    "9727669827669a28659b29649d29649f2a63a02a63a22b62"
    "a32c61a52c60a62d60a82e5fa92e5eab2f5ead305dae305c"
    "b0315bb1325ab3325ab43359b63458b73557b93556ba3655"
    "bc3754bd3853bf3952c03a51c13a50c33b4fc43c4ec63d4d"
    "c73e4cc83f4bca404acb4149cc4248ce4347cf4446d04545"
    "d24644d34743d44842d54a41d74b3fd84c3ed94d3dda4e3c"
    "db503bdd513ade5238df5337e05536e15635e25734e35933"
    "e45a31e55c30e65d2fe75e2ee8602de9612bea632aeb6429"
    "eb6628ec6726ed6925ee6a24ef6c23ef6e21f06f20f1711f"
    "f1731df2741cf3761bf37819f47918f57b17f57d15f67e14"
    "f68013f78212f78410f8850ff8870ef8890cf98b0bf98c0a"
    "f98e09fa9008fa9207fa9407fb9606fb9706fb9906fb9b06"
    "fb9d07fc9f07fca108fca309fca50afca60cfca80dfcaa0f"
    "fcac11fcae12fcb014fcb216fcb418fbb61afbb81dfbba1f"
    "fbbc21fbbe23fac026fac228fac42afac62df9c72ff9c932"
    "f9cb35f8cd37f8cf3af7d13df7d340f6d543f6d746f5d949"
    "f5db4cf4dd4ff4df53f4e156f3e35af3e55df2e661f2e865"
    "f2ea69f1ec6df1ed71f1ef75f1f179f2f27df2f482f3f586"
    "f3f68af4f88ef5f992f6fa96f8fb9af9fc9dfafda1fcffa4";
static_assert(kViridisHex.size() == 256 * 6 && kMagmaHex.size() == 256 * 6 && kInfernoHex.size() == 256 * 6);

// A linear-segment colormap: (x, value) control points per channel, interpolated linearly at
// x = i / 255 as matplotlib's LinearSegmentedColormap builds its 256-entry table.
struct ControlPoint {
  double x;
  double value;
};

template <std::size_t N>
constexpr double interpolate(const std::array<ControlPoint, N>& points, double x) {
  for (std::size_t k = 1; k < N; ++k) {
    if (x <= points[k].x) {
      const double t = (x - points[k - 1].x) / (points[k].x - points[k - 1].x);
      return points[k - 1].value + t * (points[k].value - points[k - 1].value);
    }
  }
  return points[N - 1].value;
}

constexpr std::uint8_t to_byte(double v) {
  return static_cast<std::uint8_t>(static_cast<int>(v * 255.0 + 0.5));
}

// matplotlib's _jet_data (lib/matplotlib/_cm.py).
constexpr std::array<ControlPoint, 5> kJetRed{{{0.0, 0.0}, {0.35, 0.0}, {0.66, 1.0}, {0.89, 1.0}, {1.0, 0.5}}};
constexpr std::array<ControlPoint, 6> kJetGreen{
    {{0.0, 0.0}, {0.125, 0.0}, {0.375, 1.0}, {0.64, 1.0}, {0.91, 0.0}, {1.0, 0.0}}};
constexpr std::array<ControlPoint, 5> kJetBlue{{{0.0, 0.5}, {0.11, 1.0}, {0.34, 1.0}, {0.65, 0.0}, {1.0, 0.0}}};

constexpr Table jet() {
  Table table{};
  for (std::size_t i = 0; i < table.size(); ++i) {
    const double x = static_cast<double>(i) / 255.0;
    table[i] = {to_byte(interpolate(kJetRed, x)), to_byte(interpolate(kJetGreen, x)), to_byte(interpolate(kJetBlue, x))};
  }
  return table;
}

constexpr Table gray() {
  Table table{};
  for (std::size_t i = 0; i < table.size(); ++i) {
    const auto v = static_cast<std::uint8_t>(i);
    table[i] = {v, v, v};
  }
  return table;
}

constexpr Table kViridis = from_hex(kViridisHex);
constexpr Table kMagma = from_hex(kMagmaHex);
constexpr Table kInferno = from_hex(kInfernoHex);
constexpr Table kJet = jet();
constexpr Table kGray = gray();

static_assert(kViridis[0] == Rgb8{0x44, 0x01, 0x54} && kViridis[255] == Rgb8{0xfd, 0xe7, 0x25});
static_assert(kJet[0] == Rgb8{0, 0, 128} && kJet[255] == Rgb8{128, 0, 0});

}  // namespace

std::string_view to_string(Colormap colormap) {
  switch (colormap) {
    case Colormap::viridis: return "viridis";
    case Colormap::magma: return "magma";
    case Colormap::inferno: return "inferno";
    case Colormap::jet: return "jet";
    case Colormap::gray: return "gray";
  }
  return "viridis";
}

std::optional<Colormap> colormap_from_string(std::string_view name) {
  for (const Colormap colormap : kColormaps) {
    if (to_string(colormap) == name) return colormap;
  }
  return std::nullopt;
}

const std::array<Rgb8, 256>& colormap_table(Colormap colormap) {
  switch (colormap) {
    case Colormap::viridis: return kViridis;
    case Colormap::magma: return kMagma;
    case Colormap::inferno: return kInferno;
    case Colormap::jet: return kJet;
    case Colormap::gray: return kGray;
  }
  return kViridis;
}

Rgb8 colormap_colour(Colormap colormap, double p) {
  const double clamped = std::isnan(p) ? 0.0 : std::clamp(p, 0.0, 1.0);
  const auto index = std::min(255, static_cast<int>(std::floor(clamped * 256.0)));
  return colormap_table(colormap)[static_cast<std::size_t>(index)];
}

}  // namespace mcval::http
