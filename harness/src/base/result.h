// SPDX-License-Identifier: GPL-2.0-only
// Errors as values. Anything that can fail returns Result<T>; the caller decides whether the
// failure ends the program, becomes a results row, or is retried. errno is kept, because
// "EPERM from mbind" and "EINVAL from mbind" mean very different things to a kernel developer,
// and so is a kind, because "this kernel cannot do that" must become an "unsupported" row while
// "it tried and broke" is "failed", and the CLI's exit code depends on whose fault it was.
#pragma once

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>
#include <variant>

namespace memplace {

enum class ErrorKind {
  kFailed,       // something that should have worked did not
  kUnsupported,  // this kernel, host or build cannot do it at all; not the experiment's failure
  kBadInput,     // the user's spec, flags or files are wrong
  kEnvironment,  // the host cannot provide what memplace needs (disk, tools, devices)
  kTimeout,      // a deadline passed before the work finished
};

// "failed", "unsupported", "bad_input", "environment", "timeout": for tests and diagnostics.
inline const char* error_kind_name(ErrorKind k) {
  switch (k) {
    case ErrorKind::kFailed:
      return "failed";
    case ErrorKind::kUnsupported:
      return "unsupported";
    case ErrorKind::kBadInput:
      return "bad_input";
    case ErrorKind::kEnvironment:
      return "environment";
    case ErrorKind::kTimeout:
      return "timeout";
  }
  return "?";
}

struct Error {
  int err = 0;  // errno value, or 0 when the failure is not a system call's
  std::string message;
  ErrorKind kind = ErrorKind::kFailed;

  // The message, with errno spelled out. An unsupported error says so first ("unsupported: no
  // KVM"), as records and dry runs have always shown it.
  std::string describe() const {
    std::string s = kind == ErrorKind::kUnsupported ? "unsupported: " + message : message;
    if (err == 0) return s;
    return s + ": " + std::strerror(err) + " (errno " + std::to_string(err) + ")";
  }
  // The same error (errno, kind) with `context` in front of its message: "touch: " + ...
  Error prefixed(const std::string& context) const { return Error{err, context + message, kind}; }
  // The same error counted as another kind, where the caller knows better what the failure means
  // for its work: a QEMU that cannot be probed makes a cell unsupported, not failed.
  Error as_kind(ErrorKind k) const { return Error{err, message, k}; }
};

// Captures errno at the call site; call it right after the failing system call.
inline Error errno_error(std::string what, ErrorKind kind = ErrorKind::kFailed) {
  return Error{errno, std::move(what), kind};
}
// An errno the caller holds: a pthread return code, libbpf's negative return, a saved errno.
inline Error system_error(int err, std::string what, ErrorKind kind = ErrorKind::kFailed) {
  return Error{err, std::move(what), kind};
}
inline Error make_error(std::string what, ErrorKind kind = ErrorKind::kFailed) {
  return Error{0, std::move(what), kind};
}
inline Error bad_input_error(std::string what) {
  return Error{0, std::move(what), ErrorKind::kBadInput};
}
inline Error unsupported_error(std::string why, int err = 0) {
  return Error{err, std::move(why), ErrorKind::kUnsupported};
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

// Stores a checked value in `field`, or passes its error on: `s = assign(spec.x, check_x(v));`.
template <class Field, class T>
Status assign(Field& field, Result<T> value) {
  if (!value) return value.error();
  field = std::move(*value);
  return {};
}

}  // namespace memplace
