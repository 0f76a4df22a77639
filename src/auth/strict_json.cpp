#include "mcval/auth/strict_json.h"

#include <cmath>
#include <string>
#include <vector>

namespace mcval::auth {

namespace {

using json = nlohmann::json;

// A SAX handler that builds the DOM itself so it can refuse duplicate keys and deep nesting.
class StrictBuilder {
 public:
  explicit StrictBuilder(int max_depth) : max_depth_(max_depth) {}

  bool null() { return add(json(nullptr)); }
  bool boolean(bool value) { return add(json(value)); }
  bool number_integer(json::number_integer_t value) { return add(json(value)); }
  bool number_unsigned(json::number_unsigned_t value) { return add(json(value)); }
  bool number_float(json::number_float_t value, const json::string_t& /*text*/) {
    if (!std::isfinite(value)) return fail("number out of range");
    return add(json(value));
  }
  bool string(json::string_t& value) { return add(json(std::move(value))); }
  bool binary(json::binary_t& /*value*/) { return fail("binary values are not JSON"); }
  bool start_object(std::size_t /*elements*/) { return open(json::object()); }
  bool key(json::string_t& name) {
    if (stack_.back()->contains(name)) return fail("duplicate member \"" + printable(name) + "\"");
    keys_.back() = std::move(name);
    return true;
  }
  bool end_object() { return close(); }
  bool start_array(std::size_t /*elements*/) { return open(json::array()); }
  bool end_array() { return close(); }
  bool parse_error(std::size_t position, const std::string& /*token*/, const nlohmann::detail::exception& /*e*/) {
    if (error_.empty()) error_ = "invalid JSON at byte " + std::to_string(position);
    return false;
  }

  json& root() { return root_; }
  const std::string& error() const { return error_; }

 private:
  static std::string printable(const std::string& name) {
    std::string out;
    for (char c : name.substr(0, 40)) out.push_back(c >= 0x20 && c < 0x7f && c != '"' ? c : '?');
    return out;
  }
  bool fail(std::string why) {
    if (error_.empty()) error_ = std::move(why);
    return false;
  }
  json* place(json&& value) {
    if (stack_.empty()) {
      root_ = std::move(value);
      return &root_;
    }
    json& top = *stack_.back();
    if (top.is_array()) {
      top.push_back(std::move(value));
      return &top.back();
    }
    json& slot = top[keys_.back()];
    slot = std::move(value);
    return &slot;
  }
  bool add(json&& value) {
    place(std::move(value));
    return true;
  }
  bool open(json&& container) {
    if (static_cast<int>(stack_.size()) >= max_depth_) return fail("JSON nested too deeply");
    stack_.push_back(place(std::move(container)));
    keys_.emplace_back();
    return true;
  }
  bool close() {
    stack_.pop_back();
    keys_.pop_back();
    return true;
  }

  int max_depth_;
  json root_;
  std::vector<json*> stack_;
  std::vector<std::string> keys_;
  std::string error_;
};

}  // namespace

Result<nlohmann::json> parse_json_strict(std::string_view text, int max_depth) {
  StrictBuilder builder(max_depth);
  bool ok = false;
  try {
    ok = json::sax_parse(text.begin(), text.end(), &builder, json::input_format_t::json, true, false);
  } catch (const std::exception&) {
    ok = false;
  }
  if (!ok) {
    return Error{ErrorCode::invalid_argument, builder.error().empty() ? "invalid JSON" : builder.error()};
  }
  return std::move(builder.root());
}

}  // namespace mcval::auth
