// SPDX-License-Identifier: GPL-2.0-only
// Small statistics for comparing populate times across result dirs. No dependencies: the
// t distribution comes from the regularized incomplete beta function.
#pragma once

#include <optional>
#include <vector>

namespace memplace {

double mean(const std::vector<double>& xs);
// Sample standard deviation (n - 1); 0 for fewer than two values.
double sample_stddev(const std::vector<double>& xs);

// I_x(a, b) for a, b > 0 and 0 <= x <= 1.
double regularized_incomplete_beta(double a, double b, double x);

// P(T <= t) for Student's t with `df` (> 0, need not be an integer) degrees of freedom.
double student_t_cdf(double t, double df);

struct WelchResult {
  double t = 0;        // (mean_b - mean_a) / standard error
  double df = 0;       // Welch-Satterthwaite
  double p_value = 1;  // two-sided
};

// Welch's unequal-variance t-test of b against a. Empty when either side has fewer than two
// values. Both sides constant: p = 1 when the means agree, else 0.
std::optional<WelchResult> welch_t_test(const std::vector<double>& a, const std::vector<double>& b);

}  // namespace memplace
