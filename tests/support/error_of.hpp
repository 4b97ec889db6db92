// Capturing the hutch::Error a call throws, so a test can check its code and message. A call
// that throws nothing fails the calling test; the helpers then return a placeholder so the
// caller's own checks still run (and fail or not on their own).
#pragma once

#include <hutch/error.hpp>

#include <gtest/gtest.h>

#include <string>
#include <utility>

namespace hutch::test {

template <class Call>
hutch::Error error_of(Call&& call) {
  try {
    std::forward<Call>(call)();
  } catch (const hutch::Error& error) {
    return error;
  }
  ADD_FAILURE() << "expected a hutch::Error, nothing was thrown";
  return hutch::Error(hutch::Errc::state, "<nothing thrown>");
}

template <class Call>
hutch::Errc code_of(Call&& call) {
  return error_of(std::forward<Call>(call)).code();
}

// The message of the error `call` throws, after checking that its code is `expected`.
template <class Call>
std::string message_of(hutch::Errc expected, Call&& call) {
  const hutch::Error error = error_of(std::forward<Call>(call));
  EXPECT_EQ(error.code(), expected) << error.what();
  return error.what();
}

}  // namespace hutch::test
