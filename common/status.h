// Status and Result<T>: how core code (common/, storage/, orchestrator/) reports
// failure without exceptions.
//
// A Status is either ok or carries one Error: a stable machine-readable `code`
// (snake_case, documented in docs/api.md), a human `message`, and an optional
// `path` (a JSON pointer or file path naming where the problem is). The same shape
// reaches users as {"code", "message", "path"} in HTTP error bodies.
//
// Values are cheap to move, safe to copy, and not shared between threads.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

#include "common/check.h"

namespace radflow {

struct Error {
  std::string code;
  std::string message;
  std::string path;  // empty when the error is not about one place
};

class [[nodiscard]] Status {
 public:
  Status() = default;  // ok
  Status(Error error) : error_(std::move(error)) {}  // NOLINT: implicit on purpose

  static Status ok_status() { return Status(); }
  static Status error(std::string code, std::string message, std::string path = {}) {
    return Status(Error{std::move(code), std::move(message), std::move(path)});
  }

  bool ok() const { return !error_.has_value(); }
  // Preconditions: !ok().
  const Error& err() const {
    RF_CHECK(error_.has_value(), "err() on an ok Status");
    return *error_;
  }
  const std::string& code() const { return err().code; }
  const std::string& message() const { return err().message; }
  std::string to_string() const {
    if (ok()) return "ok";
    std::string out = error_->code + ": " + error_->message;
    if (!error_->path.empty()) out += " (at " + error_->path + ")";
    return out;
  }

 private:
  std::optional<Error> error_;
};

// Result<T> holds a T or a failed Status. Accessing the value of a failed result
// (or the status of a successful one as an error) is a programmer error.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}          // NOLINT: implicit on purpose
  Result(Status status) : value_(std::move(status)) {    // NOLINT: implicit on purpose
    RF_CHECK(!std::get<Status>(value_).ok(), "Result built from an ok Status");
  }
  Result(Error error) : Result(Status(std::move(error))) {}  // NOLINT

  bool ok() const { return std::holds_alternative<T>(value_); }
  Status status() const { return ok() ? Status() : std::get<Status>(value_); }

  T& value() & {
    RF_CHECK(ok(), "value() of a failed Result: " + std::get<Status>(value_).to_string());
    return std::get<T>(value_);
  }
  const T& value() const& {
    RF_CHECK(ok(), "value() of a failed Result: " + std::get<Status>(value_).to_string());
    return std::get<T>(value_);
  }
  T&& value() && {
    RF_CHECK(ok(), "value() of a failed Result: " + std::get<Status>(value_).to_string());
    return std::get<T>(std::move(value_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> value_;
};

}  // namespace radflow

// Propagates a failed Status out of the enclosing function.
#define RF_RETURN_IF_ERROR(expr)              \
  do {                                        \
    ::radflow::Status rf_status_ = (expr);    \
    if (!rf_status_.ok()) return rf_status_;  \
  } while (0)

#define RF_CONCAT_INNER(a, b) a##b
#define RF_CONCAT(a, b) RF_CONCAT_INNER(a, b)
// RF_ASSIGN_OR_RETURN(auto x, expr): binds the value of a Result or returns its Status.
#define RF_ASSIGN_OR_RETURN(lhs, expr) \
  RF_ASSIGN_OR_RETURN_IMPL(RF_CONCAT(rf_result_, __LINE__), lhs, expr)
#define RF_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                             \
  if (!tmp.ok()) return tmp.status();            \
  lhs = std::move(tmp).value()
