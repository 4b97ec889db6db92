// Metrics: the service's counters and latency histograms, and the writer of Prometheus' text
// exposition format (0.0.4) that GET /metrics (routes_metrics.cpp) answers with. Every name
// starts with "hutch_". Gauges that describe the present (sandboxes, pools, streams) are not
// kept here: the route reads them from the service at each scrape.
//
// Label values are bounded sets (route patterns, backend names, status codes), never raw paths
// or ids, so the number of series stays small. All methods may be called from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace hutch::server {

using MetricLabels = std::vector<std::pair<std::string, std::string>>;

// Writes the text format: one family (# HELP, # TYPE) then its samples.
class Exposition {
 public:
  // `type`: "counter", "gauge" or "histogram".
  void family(const std::string& name, const std::string& type, const std::string& help);
  void sample(const std::string& name, const MetricLabels& labels, double value);
  const std::string& text() const { return text_; }

 private:
  std::string text_;
};

// A latency histogram in seconds, one per label set.
class Histogram {
 public:
  // Upper bounds, seconds: 1 ms to 60 s (creates take from a millisecond, from a pool, to
  // seconds, from an image; a buffered exec from a millisecond to its timeout).
  static const std::vector<double> kBuckets;

  void observe(const MetricLabels& labels, double seconds);
  // `name`_bucket{le=…}, `name`_sum and `name`_count for every label set seen.
  void write(Exposition& out, const std::string& name) const;

 private:
  struct Series {
    std::vector<std::uint64_t> counts = std::vector<std::uint64_t>(kBuckets.size(), 0);  // not cumulative
    std::uint64_t count = 0;
    double sum = 0;
  };
  mutable std::mutex mutex_;
  std::map<MetricLabels, Series> series_;
};

class Metrics {
 public:
  // One answered request: the route's pattern ("/v1/sandboxes/{id}", or "unmatched"), the
  // method, and the status sent (101 for a WebSocket, 0 when none was).
  void count_request(const std::string& route, const std::string& method, unsigned status);
  // A sandbox made for a client: `from` "backend" (created) or "pool" (handed out).
  void observe_create(const std::string& backend, const std::string& from, std::chrono::steady_clock::duration took);
  // A buffered exec (POST …/exec), start to result.
  void observe_exec(const std::string& backend, std::chrono::steady_clock::duration took);

  // The counters and histograms, as families of the text format.
  void write(Exposition& out) const;

 private:
  mutable std::mutex mutex_;
  std::map<MetricLabels, std::uint64_t> requests_;
  Histogram create_, exec_;
};

}  // namespace hutch::server
