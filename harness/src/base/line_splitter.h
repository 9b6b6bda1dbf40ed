// SPDX-License-Identifier: GPL-2.0-only
// Splits a byte stream into lines across reads; a partial last line waits for the next chunk.
// Lines come from guests, which are untrusted: a line longer than the limit is dropped (the
// consumer sees a placeholder it will reject as malformed) instead of growing the buffer
// without bound.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace memplace {

class LineSplitter {
 public:
  static constexpr size_t kMaxLineBytes = 32u << 20;

  explicit LineSplitter(size_t max_line_bytes = kMaxLineBytes)
      : max_(max_line_bytes), placeholder_(placeholder_for(max_line_bytes)) {}

  // Calls emit(std::string_view line) for each complete line in what has arrived so far.
  template <class F>
  void feed(std::string_view chunk, F&& emit) {
    buf_.append(chunk);
    // Only the new bytes are searched: a long samples line arrives in many chunks.
    size_t start = 0, nl;
    while ((nl = buf_.find('\n', scanned_)) != std::string::npos) {
      if (dropping_) {
        dropping_ = false;
      } else {
        emit(std::string_view(buf_).substr(start, nl - start));
      }
      start = scanned_ = nl + 1;
    }
    buf_.erase(0, start);
    scanned_ = buf_.size();
    if (buf_.size() > max_) {
      if (!dropping_) emit(std::string_view(placeholder_));
      dropping_ = true;
      buf_.clear();
      scanned_ = 0;
    }
  }
  const std::string& pending() const { return buf_; }

 private:
  // "<guest line over 32 MiB dropped>", "<guest line over 64 KiB dropped>".
  static std::string placeholder_for(size_t max) {
    const bool mib = max % (1u << 20) == 0;
    return "<guest line over " + std::to_string(mib ? max >> 20 : max >> 10) +
           (mib ? " MiB" : " KiB") + " dropped>";
  }

  size_t max_;
  std::string placeholder_;
  std::string buf_;
  size_t scanned_ = 0;
  bool dropping_ = false;  // inside an over-long line: skip up to its newline
};

}  // namespace memplace
