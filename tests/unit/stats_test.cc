// SPDX-License-Identifier: GPL-2.0-only
#include "base/stats.h"

#include <gtest/gtest.h>

#include <cmath>

namespace memplace {
namespace {

TEST(Stats, MeanAndSampleStddev) {
  EXPECT_DOUBLE_EQ(mean({1, 2, 3, 4}), 2.5);
  EXPECT_NEAR(sample_stddev({2, 4, 4, 4, 5, 5, 7, 9}), std::sqrt(32.0 / 7.0), 1e-12);
  EXPECT_EQ(sample_stddev({3}), 0);
  EXPECT_EQ(mean({}), 0);
}

TEST(Stats, IncompleteBetaClosedForms) {
  // I_x(1, 1) = x; I_x(a, 1) = x^a; I_x(1, b) = 1 - (1-x)^b.
  EXPECT_NEAR(regularized_incomplete_beta(1, 1, 0.3), 0.3, 1e-12);
  EXPECT_NEAR(regularized_incomplete_beta(3.5, 1, 0.7), std::pow(0.7, 3.5), 1e-12);
  EXPECT_NEAR(regularized_incomplete_beta(1, 4, 0.2), 1 - std::pow(0.8, 4), 1e-12);
  // I_{0.5}(2, 3) = 11/16, by expanding the binomial sum.
  EXPECT_NEAR(regularized_incomplete_beta(2, 3, 0.5), 11.0 / 16.0, 1e-12);
  // Symmetry I_x(a,b) = 1 - I_{1-x}(b,a), on both branches of the continued fraction.
  EXPECT_NEAR(regularized_incomplete_beta(5, 2, 0.9), 1 - regularized_incomplete_beta(2, 5, 0.1),
              1e-12);
  EXPECT_EQ(regularized_incomplete_beta(2, 2, 0), 0);
  EXPECT_EQ(regularized_incomplete_beta(2, 2, 1), 1);
}

TEST(Stats, StudentTMatchesClosedForms) {
  for (double t : {-3.0, -0.5, 0.0, 0.7, 2.0, 12.0}) {
    // df = 1 is the Cauchy distribution; df = 2 has a closed form too.
    EXPECT_NEAR(student_t_cdf(t, 1), 0.5 + std::atan(t) / M_PI, 1e-10) << t;
    EXPECT_NEAR(student_t_cdf(t, 2), 0.5 + t / (2 * std::sqrt(2 + t * t)), 1e-10) << t;
  }
  // Large df tends to the normal distribution: Phi(1.96) = 0.9750021.
  EXPECT_NEAR(student_t_cdf(1.96, 1e7), 0.9750021, 1e-6);
  // Table value: the two-sided 5 % critical value for df = 10 is 2.228139.
  EXPECT_NEAR(2 * student_t_cdf(-2.228139, 10), 0.05, 1e-6);
}

TEST(Stats, WelchStatisticAndDegreesOfFreedom) {
  // a: mean 2, var 1 (n 3); b: mean 5, var 4 (n 3).
  auto r = welch_t_test({1, 2, 3}, {3, 5, 7});
  ASSERT_TRUE(r.has_value());
  // se^2 = 1/3 + 4/3 = 5/3; t = 3 / sqrt(5/3).
  EXPECT_NEAR(r->t, 3 / std::sqrt(5.0 / 3.0), 1e-12);
  // df = (5/3)^2 / ((1/3)^2/2 + (4/3)^2/2) = (25/9) / (17/18) = 50/17.
  EXPECT_NEAR(r->df, 50.0 / 17.0, 1e-12);
  EXPECT_NEAR(r->p_value, 2 * student_t_cdf(-r->t, 50.0 / 17.0), 1e-15);
  EXPECT_GT(r->p_value, 0.05);  // three noisy samples cannot show it

  // Equal sizes and variances: Welch reduces to Student's t with 2n - 2 df.
  auto s = welch_t_test({1, 2, 3, 4}, {3, 4, 5, 6});
  ASSERT_TRUE(s.has_value());
  EXPECT_NEAR(s->df, 6, 1e-12);
  EXPECT_NEAR(s->t, 2 / std::sqrt(2 * (5.0 / 3.0) / 4), 1e-12);
}

TEST(Stats, WelchSeparatesClearlyDifferentSamples) {
  auto r = welch_t_test({0.142, 0.151, 0.138}, {0.171, 0.165, 0.176});
  ASSERT_TRUE(r.has_value());
  EXPECT_GT(r->t, 0);
  EXPECT_LT(r->p_value, 0.01);
  auto same = welch_t_test({1.0, 1.1, 0.9}, {1.0, 1.1, 0.9});
  ASSERT_TRUE(same.has_value());
  EXPECT_NEAR(same->p_value, 1.0, 1e-12);
}

TEST(Stats, WelchEdgeCases) {
  EXPECT_FALSE(welch_t_test({1}, {1, 2}).has_value());
  auto constant = welch_t_test({2, 2}, {3, 3, 3});
  ASSERT_TRUE(constant.has_value());
  EXPECT_EQ(constant->p_value, 0);
  EXPECT_TRUE(std::isinf(constant->t));
  auto equal = welch_t_test({2, 2}, {2, 2});
  ASSERT_TRUE(equal.has_value());
  EXPECT_EQ(equal->p_value, 1);
}

}  // namespace
}  // namespace memplace
