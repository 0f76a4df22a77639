#pragma once
// Result<T>: a value or an Error, for outcomes that are expected (unknown slide, bad tile
// address). Exceptions are reserved for what cannot happen. A small stand-in for
// std::expected, which g++ 12 does not ship.
#include <cassert>
#include <utility>
#include <variant>

#include "mcval/common/error.h"

namespace mcval {

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}
  Result(Error error) : state_(std::in_place_index<1>, std::move(error)) {}
  Result(ErrorCode code, std::string detail = {}) : Result(Error{code, std::move(detail)}) {}

  bool ok() const noexcept { return state_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  T& value() & { assert(ok()); return std::get<0>(state_); }
  const T& value() const& { assert(ok()); return std::get<0>(state_); }
  T&& value() && { assert(ok()); return std::get<0>(std::move(state_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const& { assert(!ok()); return std::get<1>(state_); }
  Error&& error() && { assert(!ok()); return std::get<1>(std::move(state_)); }

 private:
  std::variant<T, Error> state_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}
  Result(ErrorCode code, std::string detail = {}) : Result(Error{code, std::move(detail)}) {}

  bool ok() const noexcept { return ok_; }
  explicit operator bool() const noexcept { return ok_; }
  const Error& error() const& { assert(!ok_); return error_; }

 private:
  Error error_;
  bool ok_ = true;
};

using Status = Result<void>;

}  // namespace mcval

/// Propagate the error of a Result-returning expression, or bind its value.
#define MCVAL_TRY_ASSIGN(var, expr)                        \
  auto var##_result_ = (expr);                             \
  if (!var##_result_.ok()) return std::move(var##_result_).error(); \
  auto var = std::move(var##_result_).value()
#define MCVAL_TRY(expr)                                    \
  do {                                                     \
    auto mcval_status_ = (expr);                           \
    if (!mcval_status_.ok()) return mcval_status_.error(); \
  } while (0)
