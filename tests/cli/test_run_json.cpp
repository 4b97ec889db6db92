// `hutch run --json` / `hutch exec --json`: one result object (exec_result_json.hpp) whose fields
// tell a timeout from a command that exits 124, bytes that are not UTF-8 from text, and a cut
// stream from a whole one; and --max-output without --json. On the fake backend, subcontainer
// and docker, each run by separate hutch processes.
#include "real_backends.hpp"

#include <hutch/base64.hpp>

namespace hutch::test {
namespace {

// What a backend's sandboxes understand: the fake has its own command set, the real ones a shell.
struct JsonCase {
  std::string name;
  std::vector<std::string> sleep_30;
  std::vector<std::string> exit_124;
  std::vector<std::string> invalid_utf8;  // prints the bytes ff fe (and maybe a newline)
  std::vector<std::string> three_kib;     // prints at least 3 KiB to stdout, nothing to stderr
};

const JsonCase kFake{"fake", {"sleep", "30"}, {"exit", "124"}, {"echo", "\xff\xfe"}, {"yes-flood", "3072"}};
const JsonCase kShell{"shell",
                      {"sleep", "30"},
                      {"sh", "-c", "exit 124"},
                      {"printf", "\\377\\376"},
                      {"sh", "-c", "head -c 3072 /dev/zero"}};

class RunJsonTest : public EachBackendCliTest {
 protected:
  void SetUp() override {
    EachBackendCliTest::SetUp();
    if (GetParam() == "docker") image_ = {"--image", docker_test_image()};
  }

  const JsonCase& commands() const { return GetParam() == "fake" ? kFake : kShell; }

  // `hutch --json run [options] -- argv` on this test's backend.
  HutchResult run_json(std::vector<std::string> options, const std::vector<std::string>& argv) {
    std::vector<std::string> args{"--json", "run"};
    args.insert(args.end(), image_.begin(), image_.end());
    args.insert(args.end(), options.begin(), options.end());
    args.push_back("--");
    args.insert(args.end(), argv.begin(), argv.end());
    return on_backend(args);
  }

  std::vector<std::string> image_;  // create options: the docker test image
};

boost::json::object result_object(const HutchResult& result) {
  const boost::json::value value = parse_json(result.out);
  EXPECT_TRUE(value.is_object()) << result.out;
  return value.is_object() ? value.as_object() : boost::json::object{};
}

TEST_P(RunJsonTest, ATimeoutIsTimedOutAndExits124) {
  const HutchResult result = run_json({"--timeout", "1s"}, commands().sleep_30);
  EXPECT_EQ(result.exit_code, 124) << result.err;
  const auto object = result_object(result);
  EXPECT_TRUE(object.at("timed_out").as_bool()) << result.out;
  EXPECT_TRUE(object.at("exit_code").is_null()) << result.out;
  EXPECT_GE(object.at("duration_ms").to_number<std::int64_t>(), 900) << result.out;
}

TEST_P(RunJsonTest, ACommandThatExits124IsNotATimeout) {
  const HutchResult result = run_json({}, commands().exit_124);
  EXPECT_EQ(result.exit_code, 124) << result.err;
  const auto object = result_object(result);
  EXPECT_FALSE(object.at("timed_out").as_bool()) << result.out;
  EXPECT_EQ(object.at("exit_code").to_number<int>(), 124) << result.out;
  EXPECT_TRUE(object.at("signal").is_null()) << result.out;
  EXPECT_EQ(object.at("stdout").as_string(), "");
  EXPECT_EQ(object.at("stdout_encoding").as_string(), "utf-8");
}

TEST_P(RunJsonTest, OutputThatIsNotUtf8IsBase64) {
  const HutchResult result = run_json({}, commands().invalid_utf8);
  EXPECT_EQ(result.exit_code, 0) << result.err;
  const auto object = result_object(result);
  ASSERT_EQ(object.at("stdout_encoding").as_string(), "base64") << result.out;
  EXPECT_EQ(base64_decode(object.at("stdout").as_string()).substr(0, 2), "\xff\xfe");
  EXPECT_EQ(object.at("stderr_encoding").as_string(), "utf-8");
}

TEST_P(RunJsonTest, MaxOutputCutsAStreamAndSaysSo) {
  const HutchResult result = run_json({"--max-output", "1k"}, commands().three_kib);
  EXPECT_EQ(result.exit_code, 0) << result.err;
  const auto object = result_object(result);
  EXPECT_EQ(object.at("stdout").as_string().size(), 1024u);
  EXPECT_TRUE(object.at("stdout_truncated").as_bool()) << result.out;
  EXPECT_FALSE(object.at("stderr_truncated").as_bool()) << result.out;

  const HutchResult whole = run_json({}, commands().three_kib);
  EXPECT_GE(result_object(whole).at("stdout").as_string().size(), 3072u);
  EXPECT_FALSE(result_object(whole).at("stdout_truncated").as_bool()) << whole.out;
}

TEST_P(RunJsonTest, ExecJsonInACreatedSandbox) {
  std::vector<std::string> create_args{"create"};
  create_args.insert(create_args.end(), image_.begin(), image_.end());
  const HutchResult created = on_backend(create_args);
  ASSERT_EQ(created.exit_code, 0) << created.err;
  const std::string id = created.out.substr(0, created.out.size() - 1);

  std::vector<std::string> exec_args{"exec", "--json", "--timeout", "1s", id, "--"};
  for (const std::string& word : commands().sleep_30) exec_args.push_back(word);
  const HutchResult timed_out = on_backend(exec_args);
  EXPECT_EQ(timed_out.exit_code, 124) << timed_out.err;
  EXPECT_TRUE(result_object(timed_out).at("timed_out").as_bool()) << timed_out.out;

  EXPECT_EQ(on_backend({"rm", id}).exit_code, 0);
}

INSTANTIATE_TEST_SUITE_P(Backends, RunJsonTest, kEachBackend, backend_test_name);

using MaxOutputTest = HutchCliTest;

TEST_F(MaxOutputTest, WithoutJsonOutputIsStreamedUncappedUnlessMaxOutputIsGiven) {
  const HutchResult whole = hutch({"run", "--", "yes-flood", "3072"});
  EXPECT_EQ(whole.exit_code, 0) << whole.err;
  EXPECT_EQ(whole.out.size(), 3072u);
  EXPECT_EQ(whole.err, "");

  const HutchResult cut = hutch({"run", "--max-output", "1k", "--", "yes-flood", "3072"});
  EXPECT_EQ(cut.exit_code, 0) << cut.err;
  EXPECT_EQ(cut.out.size(), 1024u);
  ASSERT_EQ(cut.err_lines().size(), 1u) << cut.err;
  EXPECT_NE(cut.err.find("--max-output"), std::string::npos) << cut.err;
}

TEST_F(MaxOutputTest, JsonKeepsAtMost16MiBPerStreamByDefault) {
  const HutchResult result = hutch({"--json", "run", "--", "yes-flood", std::to_string((16u << 20) + 4096)});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  const auto object = result_object(result);
  EXPECT_EQ(object.at("stdout").as_string().size(), 16u << 20);
  EXPECT_TRUE(object.at("stdout_truncated").as_bool());
}

TEST_F(MaxOutputTest, ABadSizeIsAHutchErrorNamingTheOption) {
  expect_hutch_error(hutch({"run", "--max-output", "lots", "--", "echo", "hi"}), {"--max-output", "lots"});
}

}  // namespace
}  // namespace hutch::test
