// SPDX-License-Identifier: GPL-2.0-only
#include "base/stop_signals.h"

#include <atomic>

namespace memplace {
namespace {

std::atomic<int> g_stop_signal{0};
// Guards are made and destroyed on the thread that runs the matrix, never in a handler.
int g_depth = 0;
struct sigaction g_previous_int {};
struct sigaction g_previous_term {};

const struct sigaction& previous(int sig) {
  return sig == SIGINT ? g_previous_int : g_previous_term;
}

// A handler someone installed before memplace's outermost guard.
void call_previous(int sig) {
  const struct sigaction& old = previous(sig);
  if (old.sa_flags & SA_SIGINFO) {
    if (old.sa_sigaction) old.sa_sigaction(sig, nullptr, nullptr);
  } else if (old.sa_handler != SIG_DFL && old.sa_handler != SIG_IGN) {
    old.sa_handler(sig);
  }
}

void note_stop_signal(int sig) {
  g_stop_signal.store(sig);
  call_previous(sig);
}

}  // namespace

StopSignalGuard::StopSignalGuard(Unclaimed unclaimed) : unclaimed_(unclaimed) {
  if (g_depth++ > 0) return;
  outermost_ = true;
  g_stop_signal.store(0);
  struct sigaction sa {};
  sa.sa_handler = note_stop_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &g_previous_int);
  sigaction(SIGTERM, &sa, &g_previous_term);
}

StopSignalGuard::~StopSignalGuard() {
  --g_depth;
  if (!outermost_) return;
  sigaction(SIGINT, &g_previous_int, nullptr);
  sigaction(SIGTERM, &g_previous_term, nullptr);
  const int sig = g_stop_signal.load();
  if (sig == 0 || unclaimed_ != Unclaimed::kReraise) return;
  const struct sigaction& old = previous(sig);
  if (!(old.sa_flags & SA_SIGINFO) && old.sa_handler == SIG_DFL) raise(sig);
}

int StopSignalGuard::received() {
  return g_stop_signal.load();
}

}  // namespace memplace
