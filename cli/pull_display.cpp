#include "pull_display.hpp"

#include <algorithm>

namespace hutch::cli {
namespace {

constexpr auto kRedrawEvery = std::chrono::milliseconds(100);

std::string megabytes(std::uint64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f", static_cast<double>(bytes) / 1e6);
  return text;
}

}  // namespace

PullDisplay::PullDisplay(std::string image, std::FILE* out, bool terminal)
    : image_(std::move(image)), out_(out), terminal_(terminal) {}

std::string PullDisplay::format(const Row& row) const {
  std::string line = image_ + ": " + (row.layer.empty() ? "" : row.layer + ": ") + row.status;
  if (row.total == 0 && row.current == 0) return line;
  if (!terminal_) return line + " (" + megabytes(row.total != 0 ? row.total : row.current) + " MB)";
  line += " " + megabytes(row.current) + (row.total != 0 ? "/" + megabytes(row.total) : std::string()) + " MB";
  const double seconds = std::chrono::duration<double>(row.updated - row.started).count();
  if (seconds > 0.05 && row.current != 0) {
    char rate[32];
    std::snprintf(rate, sizeof rate, " %.1f MB/s", static_cast<double>(row.current) / 1e6 / seconds);
    line += rate;
  }
  return line;
}

void PullDisplay::operator()(const PullProgress& event) {
  // Steps of the whole image get a row each; a layer keeps its row.
  auto row = event.layer.empty() ? rows_.end()
                                 : std::find_if(rows_.begin(), rows_.end(), [&](const Row& r) { return r.layer == event.layer; });
  bool changed = true;
  if (row == rows_.end()) {
    const auto now = std::chrono::steady_clock::now();
    rows_.push_back(Row{event.layer, event.status, event.current, event.total, now, now});
    row = rows_.end() - 1;
  } else {
    changed = row->status != event.status;
    if (changed && event.current == 0) row->started = std::chrono::steady_clock::now();
    row->status = event.status;
    row->updated = std::chrono::steady_clock::now();
    row->current = event.current;
    row->total = event.total;
  }
  if (!terminal_) {
    if (changed) std::fprintf(out_, "%s\n", format(*row).c_str());
    std::fflush(out_);
    return;
  }
  const auto now = std::chrono::steady_clock::now();
  if (!changed && now - last_draw_ < kRedrawEvery) return;
  last_draw_ = now;
  redraw();
}

void PullDisplay::redraw() {
  if (drawn_ > 0) std::fprintf(out_, "\033[%zuA", drawn_);
  for (const Row& row : rows_) std::fprintf(out_, "\r\033[K%s\n", format(row).c_str());
  drawn_ = rows_.size();
  std::fflush(out_);
}

}  // namespace hutch::cli
