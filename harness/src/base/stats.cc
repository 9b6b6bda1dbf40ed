// SPDX-License-Identifier: GPL-2.0-only
#include "base/stats.h"

#include <cmath>
#include <limits>

namespace memplace {
namespace {

// Continued fraction for I_x(a, b), evaluated with the modified Lentz method. Converges fast
// for x < (a + 1) / (a + b + 2); the caller uses the symmetry I_x(a,b) = 1 - I_{1-x}(b,a)
// otherwise.
double beta_continued_fraction(double a, double b, double x) {
  constexpr double kTiny = 1e-300;
  constexpr double kEps = 1e-15;
  double c = 1.0;
  double d = 1.0 - (a + b) * x / (a + 1.0);
  if (std::fabs(d) < kTiny) d = kTiny;
  d = 1.0 / d;
  double f = d;
  for (int m = 1; m <= 10000; ++m) {
    // Even step: d_{2m} = m (b - m) x / ((a + 2m - 1)(a + 2m)).
    double num = m * (b - m) * x / ((a + 2.0 * m - 1.0) * (a + 2.0 * m));
    d = 1.0 + num * d;
    c = 1.0 + num / c;
    if (std::fabs(d) < kTiny) d = kTiny;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1.0 / d;
    f *= d * c;
    // Odd step: d_{2m+1} = -(a + m)(a + b + m) x / ((a + 2m)(a + 2m + 1)).
    num = -(a + m) * (a + b + m) * x / ((a + 2.0 * m) * (a + 2.0 * m + 1.0));
    d = 1.0 + num * d;
    c = 1.0 + num / c;
    if (std::fabs(d) < kTiny) d = kTiny;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1.0 / d;
    double delta = d * c;
    f *= delta;
    if (std::fabs(delta - 1.0) < kEps) break;
  }
  return f;
}

}  // namespace

double mean(const std::vector<double>& xs) {
  if (xs.empty()) return 0;
  double sum = 0;
  for (double x : xs) sum += x;
  return sum / xs.size();
}

double sample_stddev(const std::vector<double>& xs) {
  if (xs.size() < 2) return 0;
  double m = mean(xs), ss = 0;
  for (double x : xs) ss += (x - m) * (x - m);
  return std::sqrt(ss / (xs.size() - 1));
}

double regularized_incomplete_beta(double a, double b, double x) {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  // x^a (1-x)^b / (a B(a,b)), in logs to survive large a and b.
  double log_front =
      std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log(x) + b * std::log1p(-x);
  if (x < (a + 1.0) / (a + b + 2.0))
    return std::exp(log_front) * beta_continued_fraction(a, b, x) / a;
  return 1.0 - std::exp(log_front) * beta_continued_fraction(b, a, 1.0 - x) / b;
}

double student_t_cdf(double t, double df) {
  if (std::isinf(t)) return t > 0 ? 1.0 : 0.0;
  // P(|T| > |t|) = I_{df/(df+t^2)}(df/2, 1/2).
  double tail = 0.5 * regularized_incomplete_beta(df / 2.0, 0.5, df / (df + t * t));
  return t > 0 ? 1.0 - tail : tail;
}

std::optional<WelchResult> welch_t_test(const std::vector<double>& a,
                                        const std::vector<double>& b) {
  if (a.size() < 2 || b.size() < 2) return std::nullopt;
  double va = sample_stddev(a), vb = sample_stddev(b);
  va = va * va / a.size();
  vb = vb * vb / b.size();
  WelchResult r;
  double diff = mean(b) - mean(a);
  double se2 = va + vb;
  if (se2 == 0) {
    r.t = diff == 0 ? 0 : std::copysign(std::numeric_limits<double>::infinity(), diff);
    r.df = static_cast<double>(a.size() + b.size() - 2);
    r.p_value = diff == 0 ? 1.0 : 0.0;
    return r;
  }
  r.t = diff / std::sqrt(se2);
  r.df = se2 * se2 / (va * va / (a.size() - 1) + vb * vb / (b.size() - 1));
  r.p_value = 2.0 * student_t_cdf(-std::fabs(r.t), r.df);
  return r;
}

}  // namespace memplace
