// prune: owner-aware by default, everything managed with filter.all, always within the filter.
#include "fixture.hpp"

#include <algorithm>

namespace hutch::conformance {
namespace {

HUTCH_CONFORMANCE_SUITE(Prune);

bool contains(const std::vector<std::string>& ids, const std::string& id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

TEST_P(Prune, AllRemovesEveryManagedSandboxInTheFilter) {
  auto first = create();
  auto second = create();
  // prune(all) on an engine shared with other users is only safe when filters work.
  ASSERT_EQ(backend().list(test_filter()).size(), 2u)
      << "list() ignores the label filter; not calling prune(all)";
  auto removed = backend().prune(test_filter(true));
  EXPECT_TRUE(contains(removed, first->id()));
  EXPECT_TRUE(contains(removed, second->id()));
  EXPECT_EQ(removed.size(), 2u);
  EXPECT_TRUE(backend().list(test_filter()).empty());
  EXPECT_TRUE(throws_errc(Errc::state, [&] { run(*first, cmd().print_stdout("x")); }));
}

TEST_P(Prune, SandboxesOfALiveOwnerAreKept) {
  auto sandbox = create();
  auto removed = backend().prune(test_filter(false));
  EXPECT_FALSE(contains(removed, sandbox->id())) << "this process, the owner, is alive";
  EXPECT_EQ(backend().list(test_filter()).size(), 1u);
}

TEST_P(Prune, OnlySandboxesMatchingTheFilterAreRemoved) {
  SandboxSpec kept_spec = base_spec();
  kept_spec.labels["hutch-conformance-group"] = "kept";
  SandboxSpec pruned_spec = base_spec();
  pruned_spec.labels["hutch-conformance-group"] = "pruned";
  auto kept = create(kept_spec);
  auto pruned = create(pruned_spec);
  ASSERT_EQ(backend().list(test_filter()).size(), 2u)
      << "list() ignores the label filter; not calling prune(all)";

  Filter filter = test_filter(true);
  filter.labels["hutch-conformance-group"] = "pruned";
  auto removed = backend().prune(filter);
  EXPECT_EQ(removed, std::vector<std::string>{pruned->id()});
  EXPECT_NO_THROW(kept->info());
}

}  // namespace
}  // namespace hutch::conformance
