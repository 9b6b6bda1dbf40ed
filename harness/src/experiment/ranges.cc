#include "experiment/ranges.h"

namespace memplace {

Result<int> check_range(int64_t value, IntRange range, const std::string& field) {
  if (value < range.lo || value > range.hi) {
    return make_error(field + ": must be " + std::to_string(range.lo) + ".." +
                          std::to_string(range.hi) + ", got " + std::to_string(value),
                      ErrorKind::kBadInput);
  }
  return static_cast<int>(value);
}

Result<double> check_tolerance(double value, const std::string& field) {
  if (!(value > 0 && value < 1))
    return make_error(field + ": must be a number in (0, 1)", ErrorKind::kBadInput);
  return value;
}

}  // namespace memplace
