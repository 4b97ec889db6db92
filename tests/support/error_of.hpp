// Capturing the sbx::Error a call throws, so a test can check its code and message. A call
// that throws nothing fails the calling test; the helpers then return a placeholder so the
// caller's own checks still run (and fail or not on their own).
#pragma once

#include <sbx/error.hpp>

#include <gtest/gtest.h>

#include <string>
#include <utility>

namespace sbx::test {

template <class Call>
sbx::Error error_of(Call&& call) {
  try {
    std::forward<Call>(call)();
  } catch (const sbx::Error& error) {
    return error;
  }
  ADD_FAILURE() << "expected an sbx::Error, nothing was thrown";
  return sbx::Error(sbx::Errc::state, "<nothing thrown>");
}

template <class Call>
sbx::Errc code_of(Call&& call) {
  return error_of(std::forward<Call>(call)).code();
}

// The message of the error `call` throws, after checking that its code is `expected`.
template <class Call>
std::string message_of(sbx::Errc expected, Call&& call) {
  const sbx::Error error = error_of(std::forward<Call>(call));
  EXPECT_EQ(error.code(), expected) << error.what();
  return error.what();
}

}  // namespace sbx::test
