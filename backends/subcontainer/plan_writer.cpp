#include "plan_writer.hpp"

#include "plan_format.hpp"

#include <hutch/error.hpp>

#include <array>
#include <fstream>

namespace hutch::subcontainer {
namespace {

class Lines {
 public:
  void add(const char* key, const std::vector<std::string>& fields) {
    text_ += key;
    for (const auto& field : fields) {
      if (field.find_first_of("\t\n") != std::string::npos)
        throw Error(Errc::invalid_argument, std::string("subcontainer: ") + key + " value '" + field +
                                                "' contains a TAB or newline, which sandbox paths may not");
      text_ += '\t';
      text_ += field;
    }
    text_ += '\n';
  }
  std::string take() { return std::move(text_); }

 private:
  std::string text_;
};

std::string flag(bool value) { return value ? "1" : "0"; }

void write_plan_text(const std::filesystem::path& file, const std::string& text, const std::string& id) {
  std::ofstream out(file, std::ios::trunc);
  out << text;
  out.flush();
  if (!out) throw Error(Errc::io, "sandbox " + id + ": cannot write setup plan " + file.string());
}

// The map line of an idmapped mount: it shows an on-disk id u as make_kuid(mount userns, u),
// so the line takes `to` (on disk) "inside" to the host id that is `from` in the sandbox
// "outside". No map: "0 0 0".
std::array<std::string, 3> idmap_fields(const std::optional<hutch::IdMap>& idmap, std::uint32_t outside_uid) {
  if (!idmap) return {"0", "0", "0"};
  return {std::to_string(idmap->to), std::to_string(std::uint64_t(outside_uid) + idmap->from),
          std::to_string(idmap->range)};
}

}  // namespace

std::string render_plan(const SetupPlan& plan) {
  namespace k = plan_key;
  Lines lines;
  lines.add(k::kId, {plan.id});
  lines.add(k::kHostname, {plan.hostname});
  if (!plan.default_user.empty()) lines.add(k::kUser, {plan.default_user});
  lines.add(k::kUidMap, {"0", std::to_string(plan.outside_uid), std::to_string(plan.id_count)});
  lines.add(k::kGidMap, {"0", std::to_string(plan.outside_gid), std::to_string(plan.id_count)});
  lines.add(k::kSetgroups, {plan.rootless ? "deny" : "allow"});
  lines.add(k::kNetwork, {to_string(plan.network)});
  if (!plan.nameserver.empty()) lines.add(k::kNameserver, {plan.nameserver});
  lines.add(k::kRoot, {plan.root});
  for (const auto& lower : plan.lower) {
    if (lower.mount_point.empty()) {
      lines.add(k::kLower, {lower.dir});
    } else {
      const auto map = idmap_fields(lower.idmap, plan.outside_uid);
      lines.add(k::kLower, {lower.dir, lower.mount_point, map[0], map[1], map[2]});
    }
  }
  lines.add(k::kUpper, {plan.upper});
  lines.add(k::kWork, {plan.work});
  lines.add(k::kReadOnlyRoot, {flag(plan.read_only_root)});
  for (const auto& bind : plan.binds) {
    if (bind.idmap) {
      const auto map = idmap_fields(bind.idmap, plan.outside_uid);
      lines.add(k::kBind, {bind.source, bind.target, flag(bind.read_only), flag(bind.is_file), map[0], map[1], map[2]});
    } else {
      lines.add(k::kBind, {bind.source, bind.target, flag(bind.read_only), flag(bind.is_file)});
    }
  }
  for (const auto& tmpfs : plan.tmpfs)
    lines.add(k::kTmpfs, {tmpfs.target, std::to_string(tmpfs.size), flag(tmpfs.read_only)});
  lines.add(k::kSocket, {plan.socket});
  for (const auto& cgroup : plan.cgroups) lines.add(k::kCgroup, {cgroup});
  for (int cap : plan.keep_caps) lines.add(k::kKeepCap, {std::to_string(cap)});
  lines.add(k::kSeccomp, {flag(plan.seccomp)});
  if (plan.max_file_bytes) lines.add(k::kMaxFileBytes, {std::to_string(*plan.max_file_bytes)});
  lines.add(k::kStopGrace, {std::to_string(plan.stop_grace_ms)});
  lines.add(k::kLifetime, {std::to_string(plan.ttl_deadline_ms), std::to_string(plan.idle_timeout_ms)});
  if (!plan.expiry_file.empty()) lines.add(k::kExpiryFile, {plan.expiry_file});
  return lines.take();
}

void write_plan(const std::filesystem::path& file, const SetupPlan& plan) { write_plan_text(file, render_plan(plan), plan.id); }

void replace_plan_lines(const std::filesystem::path& file, const char* key,
                        const std::vector<std::vector<std::string>>& values, const std::string& id) {
  std::ifstream in(file);
  if (!in) throw Error(Errc::io, "sandbox " + id + ": cannot read setup plan " + file.string());
  const std::string prefix = std::string(key) + "\t";
  Lines lines;
  std::string text, line;
  while (std::getline(in, line))
    if (line.compare(0, prefix.size(), prefix) != 0) text += line + "\n";
  for (const auto& fields : values) lines.add(key, fields);
  write_plan_text(file, text + lines.take(), id);
}

}  // namespace hutch::subcontainer
