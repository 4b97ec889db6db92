#include "fixture.hpp"

#include <hutch/owner.hpp>

#include <algorithm>
#include <set>
#include <random>
#include <sstream>

namespace hutch::conformance {
namespace {

// One value per run of the suite, so two runs on one engine never see each other's sandboxes.
const std::string& run_id() {
  static const std::string id = [] {
    std::random_device random;
    std::ostringstream out;
    out << std::hex << random() << random();
    return out.str();
  }();
  return id;
}

}  // namespace

::testing::AssertionResult throws_errc(Errc code, const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    if (e.code() == code) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "expected Errc::" << to_string(code) << ", got Errc::"
                                         << to_string(e.code()) << ": " << e.what();
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure()
           << "expected Errc::" << to_string(code) << ", got a non-hutch exception: " << e.what();
  }
  return ::testing::AssertionFailure() << "expected Errc::" << to_string(code)
                                       << ", but nothing was thrown";
}

Labels Conformance::test_labels() const {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string test = std::string(info->test_suite_name()) + "." + info->name();
  for (char& c : test)
    if (c == '/') c = '.';
  return {{kSuiteLabel, "1"}, {"hutch-conformance-run", run_id()}, {"hutch-conformance-test", test}};
}

SandboxSpec Conformance::base_spec() const {
  SandboxSpec spec;
  spec.image = GetParam()->image;
  spec.labels = test_labels();
  return spec;
}

std::shared_ptr<Handle> Conformance::create(const SandboxSpec& spec) {
  return track(backend().create(spec));
}

std::shared_ptr<Handle> Conformance::track(std::shared_ptr<Handle> handle) {
  created_.push_back(handle);
  return handle;
}

ExecRequest Conformance::request(Argv argv, Duration timeout) {
  ExecRequest out;
  out.argv = std::move(argv);
  out.timeout = timeout;
  return out;
}

ExecResult Conformance::run(Handle& sandbox, Argv argv) {
  return sandbox.exec(request(std::move(argv)));
}

void Conformance::TearDown() {
  for (auto& handle : created_) {
    try {
      handle->destroy();
    } catch (const std::exception& e) {
      ADD_FAILURE() << "destroy of sandbox '" << handle->id() << "' failed: " << e.what();
    }
  }
  for (const auto& snapshot : snapshots_) {
    try {
      backend().delete_snapshot(snapshot);
    } catch (const Error& e) {
      if (e.code() != Errc::not_found)
        ADD_FAILURE() << "delete_snapshot('" << snapshot << "') failed: " << e.what();
    }
  }
  // Every sandbox a test makes is tracked above, so anything still carrying its labels was
  // leaked by the backend (a half-made fork, a failed create that left a container). The
  // labels are checked here again, so a backend whose list() ignores the filter cannot make
  // this destroy sandboxes that are not the test's.
  try {
    Labels mine = test_labels();
    for (const auto& info : backend().list(test_filter())) {
      bool is_mine = std::all_of(mine.begin(), mine.end(), [&](const auto& label) {
        auto found = info.labels.find(label.first);
        return found != info.labels.end() && found->second == label.second;
      });
      if (!is_mine) continue;
      ADD_FAILURE() << "sandbox '" << info.id << "' was left behind by the backend";
      backend().destroy(info.id);
    }
  } catch (const std::exception& e) {
    ADD_FAILURE() << "listing this test's sandboxes failed: " << e.what();
  }
}

std::vector<std::string> prune_crashed_runs(SandboxBackend& backend) {
  // Runs whose owner process is gone, each with prune --all on its run label. Not a plain
  // prune on the suite's label: that would also take a live parallel run's sandboxes whose
  // ttl or idle_timeout passed.
  std::set<std::string> dead_runs;
  for (auto& info : backend.list(Filter{{{kSuiteLabel, "1"}}}))
    if (owner_gone(info.labels[kLabelOwner]) && !info.labels["hutch-conformance-run"].empty())
      dead_runs.insert(info.labels["hutch-conformance-run"]);
  std::vector<std::string> removed;
  for (const auto& run : dead_runs)
    for (auto& id : backend.prune(Filter{{{kSuiteLabel, "1"}, {"hutch-conformance-run", run}}, true}))
      removed.push_back(id);
  return removed;
}

}  // namespace hutch::conformance
