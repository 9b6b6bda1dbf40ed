// Errors as values. Anything that can fail returns Result<T>; the caller decides whether the
// failure ends the program, becomes a results row, or is retried. errno is kept, because
// "EPERM from mbind" and "EINVAL from mbind" mean very different things to a kernel developer.
#pragma once

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>
#include <variant>

namespace memplace {

struct Error {
  int err = 0;  // errno value, or 0 when the failure is not a system call's
  std::string message;

  std::string describe() const {
    if (err == 0) return message;
    return message + ": " + std::strerror(err) + " (errno " + std::to_string(err) + ")";
  }
};

// Captures errno at the call site; call it right after the failing system call.
inline Error errno_error(std::string what) {
  return Error{errno, std::move(what)};
}
inline Error make_error(std::string what) {
  return Error{0, std::move(what)};
}

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}
  Result(Error error) : v_(std::move(error)) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return error_; }

 private:
  Error error_;
  bool ok_ = true;
};

using Status = Result<void>;

}  // namespace memplace
