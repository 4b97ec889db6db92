#include "metrics.hpp"

#include <cmath>
#include <cstdio>

namespace hutch::server {

namespace {

// A label value in the text format: backslash, double quote and newline escaped.
std::string escape(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

// A sample value: integers as such, others with enough digits to read back; +Inf as Prometheus
// writes it.
std::string number(double value) {
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (std::isnan(value)) return "NaN";
  char text[32];
  if (value == std::floor(value) && std::fabs(value) < 1e15)
    std::snprintf(text, sizeof text, "%.0f", value);
  else
    std::snprintf(text, sizeof text, "%.9g", value);
  return text;
}

double seconds(std::chrono::steady_clock::duration took) { return std::chrono::duration<double>(took).count(); }

}  // namespace

void Exposition::family(const std::string& name, const std::string& type, const std::string& help) {
  text_ += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

void Exposition::sample(const std::string& name, const MetricLabels& labels, double value) {
  text_ += name;
  if (!labels.empty()) {
    text_ += '{';
    for (std::size_t i = 0; i < labels.size(); ++i)
      text_ += (i ? "," : "") + labels[i].first + "=\"" + escape(labels[i].second) + "\"";
    text_ += '}';
  }
  text_ += " " + number(value) + "\n";
}

const std::vector<double> Histogram::kBuckets{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                              0.5,   1,      2.5,   5,    10,    30,    60};

void Histogram::observe(const MetricLabels& labels, double value) {
  std::lock_guard lock(mutex_);
  Series& series = series_[labels];
  for (std::size_t i = 0; i < kBuckets.size(); ++i)
    if (value <= kBuckets[i]) {
      ++series.counts[i];
      break;
    }
  ++series.count;
  series.sum += value;
}

void Histogram::write(Exposition& out, const std::string& name) const {
  std::lock_guard lock(mutex_);
  for (const auto& [labels, series] : series_) {
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i <= kBuckets.size(); ++i) {
      cumulative = i < kBuckets.size() ? cumulative + series.counts[i] : series.count;
      MetricLabels with_le = labels;
      with_le.emplace_back("le", i < kBuckets.size() ? number(kBuckets[i]) : "+Inf");
      out.sample(name + "_bucket", with_le, static_cast<double>(cumulative));
    }
    out.sample(name + "_sum", labels, series.sum);
    out.sample(name + "_count", labels, static_cast<double>(series.count));
  }
}

void Metrics::count_request(const std::string& route, const std::string& method, unsigned status) {
  std::lock_guard lock(mutex_);
  ++requests_[{{"route", route}, {"method", method}, {"status", std::to_string(status)}}];
}

void Metrics::observe_create(const std::string& backend, const std::string& from, std::chrono::steady_clock::duration took) {
  create_.observe({{"backend", backend}, {"from", from}}, seconds(took));
}

void Metrics::observe_exec(const std::string& backend, std::chrono::steady_clock::duration took) {
  exec_.observe({{"backend", backend}}, seconds(took));
}

void Metrics::write(Exposition& out) const {
  out.family("hutch_requests_total", "counter", "Requests answered, by route pattern, method and status (0: none sent).");
  {
    std::lock_guard lock(mutex_);
    for (const auto& [labels, count] : requests_) out.sample("hutch_requests_total", labels, static_cast<double>(count));
  }
  out.family("hutch_create_seconds", "histogram",
             "Time to make a sandbox for a client: from=backend created it, from=pool handed out a ready one.");
  create_.write(out, "hutch_create_seconds");
  out.family("hutch_exec_seconds", "histogram", "Time of a buffered exec (POST /v1/sandboxes/{id}/exec), start to result.");
  exec_.write(out, "hutch_exec_seconds");
}

}  // namespace hutch::server
