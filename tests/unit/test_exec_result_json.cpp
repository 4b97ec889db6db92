// exec_result_to_json: the one JSON form of a command's result (CLI --json, the service).
#include <hutch/base64.hpp>
#include <hutch/exec_result_json.hpp>

#include <boost/json.hpp>
#include <gtest/gtest.h>

namespace hutch {
namespace {

boost::json::object parsed(const ExecResult& result) {
  return boost::json::parse(exec_result_to_json(result)).as_object();
}

TEST(ExecResultJson, AnExitedCommandHasItsCodeAndNoSignal) {
  ExecResult result;
  result.exit_code = 124;
  result.stdout_data = "out\n";
  result.stderr_data = "err";
  result.duration = Duration(1500);
  const auto object = parsed(result);
  EXPECT_EQ(object.at("stdout").as_string(), "out\n");
  EXPECT_EQ(object.at("stderr").as_string(), "err");
  EXPECT_EQ(object.at("stdout_encoding").as_string(), "utf-8");
  EXPECT_EQ(object.at("stderr_encoding").as_string(), "utf-8");
  EXPECT_EQ(object.at("exit_code").as_int64(), 124);
  EXPECT_TRUE(object.at("signal").is_null());
  EXPECT_FALSE(object.at("timed_out").as_bool());
  EXPECT_FALSE(object.at("stdout_truncated").as_bool());
  EXPECT_FALSE(object.at("stderr_truncated").as_bool());
  EXPECT_EQ(object.at("duration_ms").as_int64(), 1500);
  EXPECT_EQ(object.size(), 10u);
}

TEST(ExecResultJson, ATimedOutCommandHasNoExitCode) {
  ExecResult result;
  result.timed_out = true;
  result.signal = 9;
  result.exit_code = 0;
  result.stdout_truncated = true;
  const auto object = parsed(result);
  EXPECT_TRUE(object.at("exit_code").is_null());
  EXPECT_EQ(object.at("signal").as_int64(), 9);
  EXPECT_TRUE(object.at("timed_out").as_bool());
  EXPECT_TRUE(object.at("stdout_truncated").as_bool());
  EXPECT_FALSE(object.at("stderr_truncated").as_bool());
}

TEST(ExecResultJson, BytesThatAreNotUtf8AreBase64PerStream) {
  ExecResult result;
  result.exit_code = 0;
  result.stdout_data = std::string("\xff\xfe\0x", 4);
  result.stderr_data = "caf\xc3\xa9";
  const auto object = parsed(result);
  EXPECT_EQ(object.at("stdout_encoding").as_string(), "base64");
  EXPECT_EQ(base64_decode(object.at("stdout").as_string()), result.stdout_data);
  EXPECT_EQ(object.at("stderr_encoding").as_string(), "utf-8");
  EXPECT_EQ(object.at("stderr").as_string(), "caf\xc3\xa9");
}

TEST(ExecResultJson, Utf8ValidationFollowsRfc3629) {
  EXPECT_TRUE(is_valid_utf8(""));
  EXPECT_TRUE(is_valid_utf8(std::string("a\0b", 3)));
  EXPECT_TRUE(is_valid_utf8("\xe2\x82\xac"));        // U+20AC
  EXPECT_TRUE(is_valid_utf8("\xf0\x9f\x98\x80"));    // U+1F600
  EXPECT_TRUE(is_valid_utf8("\xf4\x8f\xbf\xbf"));    // U+10FFFF
  EXPECT_FALSE(is_valid_utf8("\xc0\xaf"));           // overlong '/'
  EXPECT_FALSE(is_valid_utf8("\xe0\x80\xaf"));       // overlong
  EXPECT_FALSE(is_valid_utf8("\xed\xa0\x80"));       // surrogate U+D800
  EXPECT_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));   // above U+10FFFF
  EXPECT_FALSE(is_valid_utf8("\xe2\x82"));           // cut short
  EXPECT_FALSE(is_valid_utf8("\x80"));               // continuation without a lead
  EXPECT_FALSE(is_valid_utf8("\xe2\x28\xa1"));       // bad continuation
}

}  // namespace
}  // namespace hutch
