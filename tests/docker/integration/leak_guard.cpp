#include "leak_guard.hpp"

#include "containers.hpp"
#include "engine_quirks.hpp"
#include "images.hpp"
#include "labels.hpp"
#include "volumes.hpp"

#include "docker_fixture.hpp"
#include "engine/query.hpp"

#include <hutch/log.hpp>
#include <hutch/owner.hpp>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <functional>
#include <iostream>
#include <memory>
#include <map>

namespace hutch::docker::test {
namespace json = boost::json;
namespace {

std::string label_of(const json::object& object, const char* key) {
  const auto* labels = object.if_contains("Labels");
  if (labels == nullptr || !labels->is_object()) return {};
  const auto* value = labels->as_object().if_contains(key);
  return value != nullptr && value->is_string() ? std::string(value->as_string()) : std::string();
}

// The persistent workspace volumes tests named (kPersistentVolumePrefix) whose owner label
// `wanted` accepts.
std::vector<std::string> persistent_test_volumes(DockerBackend& backend,
                                                 const std::function<bool(const std::string& owner)>& wanted) {
  std::vector<std::string> names;
  for (const auto& item : volumes_with_labels(*backend.context(), label_filters({{label::kWorkspace, "persistent"}}),
                                             "list the persistent volumes of tests")) {
      std::string name(item.as_object().at("Name").as_string());
      if (name.rfind(kPersistentVolumePrefix, 0) == 0 && wanted(label_of(item.as_object(), kLabelOwner)))
        names.push_back(name);
    }
  return names;
}

// Made before anything else at the start of the process, and checked after every test has run.
class LeakGuardEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    if (!docker_unavailable_reason().empty()) return;  // the tests say why
    try {
      auto removed = prune_crashed_runs(*backend());
      if (!removed.empty())
        std::cerr << "[leak guard] pruned " << removed.size() << " sandbox(es) of earlier runs of this suite whose "
                  << "process is gone\n";
    } catch (const std::exception& e) {
      // Not this run's failure (a parallel run may be pruning the same); the next start retries.
      std::cerr << "[leak guard] pruning what earlier runs left failed: " << e.what() << "\n";
    }
  }

  void TearDown() override {
    if (!docker_unavailable_reason().empty()) return;
    fail_and_remove_leftovers(*backend(), test_run_id(), "at the end of the test program");
    backend_.reset();
    state_dir_.reset();
  }

 private:
  // Made on first use: the environment object itself exists in every process of this binary,
  // also in the one that only lists the tests.
  DockerBackend* backend() {
    if (!backend_) {
      state_dir_ = std::make_unique<hutch::test::TempDir>("hutch-docker-guard-");
      DockerConfig config;
      config.agent = AgentMode::off;  // only prunes
      config.state_dir = state_dir_->path().string();
      backend_ = std::make_unique<DockerBackend>("docker", std::move(config), hutch::logger());
    }
    return backend_.get();
  }

  std::unique_ptr<hutch::test::TempDir> state_dir_;
  std::unique_ptr<DockerBackend> backend_;
};

[[maybe_unused]] auto* const kEnvironment = ::testing::AddGlobalTestEnvironment(new LeakGuardEnvironment);

}  // namespace

const std::string& test_run_id() {
  static const std::string id = std::to_string(::getpid()) + "-" +
                                std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
  return id;
}

std::vector<std::string> leftovers(DockerBackend& backend, const Labels& labels) {
  std::vector<std::string> out;
  for (auto& info : backend.list(Filter{labels}))
    out.push_back("sandbox " + info.id + " (made by test '" + info.labels[kTestLabel] + "')");
  for (const auto& item : volumes_with_labels(*backend.context(), label_filters(labels), "list the volumes tests left"))
      out.push_back("volume " + std::string(item.as_object().at("Name").as_string()) + " (of sandbox " +
                    label_of(item.as_object(), kLabelId) + ")");
  for (const auto& item : images_with_labels(*backend.context(), label_filters(labels), "list the images tests left")) {
    const auto& image = item.as_object();
    std::string name(image.at("Id").as_string());
    if (auto* tags = image.if_contains("RepoTags"); tags != nullptr && tags->is_array() && !tags->as_array().empty())
      name = short_image_name(std::string(tags->as_array().front().as_string()), backend.context()->client->engine());
    out.push_back("image " + name + " (made by test '" + label_of(image, kTestLabel) + "')");
  }
  return out;
}

void fail_and_remove_leftovers(DockerBackend& backend, const std::string& run, const std::string& when) {
  const Labels mine{{kRunLabel, run}};
  std::vector<std::string> found;
  try {
    found = leftovers(backend, mine);
    const std::string me = current_owner();
    for (const auto& name : persistent_test_volumes(backend, [&](const std::string& owner) { return owner == me; })) {
      found.push_back("persistent volume " + name);
      remove_volume(*backend.context(), name);
    }
  } catch (const std::exception& e) {
    ADD_FAILURE() << "leak guard: listing what run " << run << " left failed: " << e.what();
    return;
  }
  if (found.empty()) return;
  std::string listing;
  for (const auto& line : found) listing += "\n  " + line;
  ADD_FAILURE() << "leak guard: run " << run << " left " << found.size() << " thing(s) on the daemon " << when
                << "; a test did not destroy what it made (removed now: persistent volumes by name, the rest"
                << " by prune --all on its run label):" << listing;
  try {
    backend.prune(Filter{mine, true});
    for (const auto& line : leftovers(backend, mine)) ADD_FAILURE() << "leak guard: prune --all did not remove " << line;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "leak guard: removing what run " << run << " left failed: " << e.what();
  }
}

std::vector<std::string> prune_crashed_runs(DockerBackend& backend) {
  // Not a plain prune on the suite's label: that also takes a live run's sandboxes whose ttl or
  // idle_timeout passed (a test of those). A run is one process: once its owner is gone,
  // everything of the run goes, with prune --all on the run's label.
  // A run is dead only when every owner among its things is gone: a test may label some of
  // its things with a made-up gone owner (to test prune) while its run is alive.
  const Labels suite{{kSuiteLabel, kSuiteName}};
  std::map<std::string, bool> run_alive;
  auto consider = [&](const std::string& owner, const std::string& run) {
    if (!run.empty()) run_alive[run] = run_alive[run] || !owner_gone(owner);
  };
  for (auto& info : backend.list(Filter{suite})) consider(info.labels[kLabelOwner], info.labels[kRunLabel]);
  for (const auto& item : volumes_with_labels(*backend.context(), label_filters(suite), "list the volumes of test runs"))
      consider(label_of(item.as_object(), kLabelOwner), label_of(item.as_object(), kRunLabel));
  for (const auto& item : images_with_labels(*backend.context(), label_filters(suite), "list the images of test runs"))
    consider(label_of(item.as_object(), kLabelOwner), label_of(item.as_object(), kRunLabel));
  std::vector<std::string> removed;
  for (const auto& [run, alive] : run_alive)
    if (!alive)
      for (auto& id : backend.prune(Filter{{{kSuiteLabel, kSuiteName}, {kRunLabel, run}}, true})) removed.push_back(id);
  for (const auto& name : persistent_test_volumes(backend, [](const std::string& owner) { return owner_gone(owner); }))
    remove_volume(*backend.context(), name);
  return removed;
}

}  // namespace hutch::docker::test
