#include "mcval/http/metrics.h"

#include <cstdio>
#include <sstream>

namespace mcval::http {

namespace {
/// A label value as the exposition format writes it: backslash, quote and newline escaped.
std::string escape_label(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::string number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

/// Bucket bounds as written in the exposition format ("0.005", not "0.0050000000000000001").
std::string bound(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}
}  // namespace

void Metrics::observe_request(const std::string& route, int status, double seconds) {
  std::lock_guard lock(mutex_);
  ++requests_[{route, status}];
  auto& h = latency_[route];
  for (std::size_t i = 0; i < kLatencyBuckets.size(); ++i) {
    if (seconds <= kLatencyBuckets[i]) ++h.buckets[i];
  }
  ++h.count;
  h.sum += seconds;
}

void Metrics::increment(const std::string& name, const std::string& help, const Labels& labels, double by) {
  std::string rendered;
  for (const auto& [key, value] : labels) {
    rendered += (rendered.empty() ? "" : ",") + key + "=\"" + escape_label(value) + "\"";
  }
  std::lock_guard lock(mutex_);
  auto& counter = counters_[name];
  if (counter.help.empty()) counter.help = help;
  counter.by_labels[rendered] += by;
}

void Metrics::add_collector(std::function<std::vector<Sample>()> collector) {
  std::lock_guard lock(mutex_);
  collectors_.push_back(std::move(collector));
}


std::string Metrics::render() const {
  std::ostringstream out;
  std::vector<std::function<std::vector<Sample>()>> collectors;
  {
    std::lock_guard lock(mutex_);
    out << "# HELP mcval_http_requests_total HTTP requests by route and status.\n"
           "# TYPE mcval_http_requests_total counter\n";
    for (const auto& [key, count] : requests_) {
      out << "mcval_http_requests_total{route=\"" << key.first << "\",status=\"" << key.second << "\"} " << count
          << "\n";
    }
    out << "# HELP mcval_http_request_duration_seconds Time to answer a request, by route.\n"
           "# TYPE mcval_http_request_duration_seconds histogram\n";
    for (const auto& [route, h] : latency_) {
      for (std::size_t i = 0; i < kLatencyBuckets.size(); ++i) {
        out << "mcval_http_request_duration_seconds_bucket{route=\"" << route << "\",le=\""
            << bound(kLatencyBuckets[i]) << "\"} " << h.buckets[i] << "\n";
      }
      out << "mcval_http_request_duration_seconds_bucket{route=\"" << route << "\",le=\"+Inf\"} " << h.count << "\n";
      out << "mcval_http_request_duration_seconds_sum{route=\"" << route << "\"} " << number(h.sum) << "\n";
      out << "mcval_http_request_duration_seconds_count{route=\"" << route << "\"} " << h.count << "\n";
    }
    for (const auto& [name, counter] : counters_) {
      out << "# HELP " << name << " " << counter.help << "\n# TYPE " << name << " counter\n";
      for (const auto& [labels, value] : counter.by_labels) {
        out << name << (labels.empty() ? "" : "{" + labels + "}") << " " << number(value) << "\n";
      }
    }
    collectors = collectors_;
  }
  for (const auto& collect : collectors) {
    for (const auto& s : collect()) {
      out << "# HELP " << s.name << " " << s.help << "\n# TYPE " << s.name << " " << s.type << "\n"
          << s.name << " " << number(s.value) << "\n";
    }
  }
  return out.str();
}

}  // namespace mcval::http
