#include "hutch_runner.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/process.hpp>

#include <sys/wait.h>

#include <future>
#include <sstream>
#include <stdexcept>

namespace hutch::test {

namespace bp = boost::process;

std::vector<std::string> HutchResult::err_lines() const {
  std::vector<std::string> lines;
  std::stringstream stream(err);
  for (std::string line; std::getline(stream, line);) lines.push_back(line);
  return lines;
}

struct HutchProcess::Impl {
  boost::asio::io_context io;
  std::string input;
  std::future<std::string> out;
  std::future<std::string> err;
  bp::child child;
};

HutchProcess::HutchProcess(const std::vector<std::string>& args, const std::string& input)
    : impl_(std::make_unique<Impl>()) {
  impl_->input = input;
  // Only what the test says may influence hutch: no configuration or plugins from the caller.
  bp::environment env = boost::this_process::environment();
  env.erase("HUTCH_CONFIG");
  env.erase("HUTCH_PLUGIN_PATH");
  impl_->child = bp::child(bp::exe = HUTCH_EXE, bp::args = args, env,
                           bp::std_in < boost::asio::buffer(impl_->input), bp::std_out > impl_->out,
                           bp::std_err > impl_->err, impl_->io);
}

HutchProcess::~HutchProcess() {
  if (impl_->child.running()) {
    impl_->child.terminate();
    impl_->child.wait();
  }
}

int HutchProcess::pid() const { return impl_->child.id(); }

HutchResult HutchProcess::finish(std::chrono::seconds limit) {
  impl_->io.run_for(limit);
  if (!impl_->io.stopped()) {
    impl_->child.terminate();
    throw std::runtime_error("hutch did not finish within " + std::to_string(limit.count()) + "s");
  }
  impl_->child.wait();
  HutchResult result;
  const int status = impl_->child.native_exit_code();
  result.exit_code = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
  result.out = impl_->out.get();
  result.err = impl_->err.get();
  return result;
}

HutchResult run_hutch(const std::vector<std::string>& args, const std::string& input,
                  std::chrono::seconds limit) {
  HutchProcess process(args, input);
  return process.finish(limit);
}

boost::json::value parse_json(const std::string& text) {
  boost::system::error_code error;
  boost::json::value value = boost::json::parse(text, error);
  EXPECT_FALSE(error) << "stdout is not JSON (" << error.message() << "): " << text;
  return value;
}

}  // namespace hutch::test
