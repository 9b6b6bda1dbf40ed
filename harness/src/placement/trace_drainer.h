// SPDX-License-Identifier: GPL-2.0-only
// The trace transports' reader thread: calls `drain` every interval while a window is open, so
// the kernel's buffers never fill with a cell's events. stop() returns once the last call has
// finished; the caller then drains once more itself, after the events have stopped.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace memplace {

class TraceDrainer {
 public:
  TraceDrainer() = default;
  TraceDrainer(const TraceDrainer&) = delete;
  TraceDrainer& operator=(const TraceDrainer&) = delete;
  ~TraceDrainer() { stop(); }

  void start(std::function<void()> drain, std::chrono::milliseconds interval) {
    stop_ = false;
    thread_ = std::thread([this, drain = std::move(drain), interval] {
      std::unique_lock lock(mu_);
      while (!stop_) {
        lock.unlock();
        drain();
        lock.lock();
        cv_.wait_for(lock, interval, [this] { return stop_; });
      }
    });
  }

  void stop() {
    if (!thread_.joinable()) return;
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace memplace
