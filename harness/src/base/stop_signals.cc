#include "base/stop_signals.h"

#include <atomic>

namespace memplace {
namespace {

std::atomic<int> g_stop_signal{0};

void note_stop_signal(int sig) {
  g_stop_signal.store(sig);
}

}  // namespace

StopSignalGuard::StopSignalGuard() {
  g_stop_signal.store(0);
  struct sigaction sa {};
  sa.sa_handler = note_stop_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &old_int_);
  sigaction(SIGTERM, &sa, &old_term_);
}

StopSignalGuard::~StopSignalGuard() {
  sigaction(SIGINT, &old_int_, nullptr);
  sigaction(SIGTERM, &old_term_, nullptr);
}

int StopSignalGuard::received() {
  return g_stop_signal.load();
}

}  // namespace memplace
