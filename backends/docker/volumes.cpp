#include "volumes.hpp"

#include "engine/query.hpp"
#include "labels.hpp"

#include <hutch/error.hpp>
#include <hutch/workspace.hpp>

#include <boost/json.hpp>

#include <algorithm>

namespace hutch::docker {
namespace json = boost::json;
namespace {

const std::vector<std::string> kPersistentLabels{std::string(kLabelManaged) + "=true",
                                                 std::string(label::kWorkspace) + "=persistent"};

// The containers (hutch sandboxes or not) that mount `name`, by name.
std::vector<std::string> users_of(Context& context, const std::string& name) {
  Request request;
  request.target = Target("/containers/json").add("all", true).add("filters", filters_json({{"volume", {name}}})).str();
  request.what = "list the sandboxes using volume '" + name + "'";
  std::vector<std::string> users;
  // Held here: a range-for over call_json(...).as_array() would walk a destroyed temporary.
  const json::value containers = context.client->call_json(request);
  for (const auto& item : containers.as_array()) {
    const auto& container = item.as_object();
    std::string id(container.at("Id").as_string());
    if (auto* names = container.if_contains("Names"); names && names->is_array() && !names->as_array().empty())
      id = std::string(names->as_array().front().as_string());
    if (id.starts_with("/")) id.erase(0, 1);
    users.push_back(std::move(id));
  }
  std::sort(users.begin(), users.end());
  return users;
}

}  // namespace

boost::json::array volumes_with_labels(Context& context, const std::vector<std::string>& label_filters,
                                       const std::string& what) {
  Target target("/volumes");
  if (!label_filters.empty()) target.add("filters", filters_json({{"label", {label_filters.front()}}}));
  Request request;
  request.target = target.str();
  request.what = what;
  const auto answer = context.client->call_json(request);
  boost::json::array out;
  const auto* items = answer.is_object() ? answer.as_object().if_contains("Volumes") : nullptr;
  if (items == nullptr || !items->is_array()) return out;
  for (const auto& item : items->as_array()) {
    const auto* volume = item.if_object();
    if (volume != nullptr && carries_labels(labels_of(volume->if_contains("Labels")), label_filters))
      out.push_back(item);
  }
  return out;
}

std::vector<VolumeInfo> list_persistent_volumes(Context& context) {
  std::vector<VolumeInfo> out;
  for (const auto& item : volumes_with_labels(context, kPersistentLabels, "list hutch's persistent volumes")) {
    VolumeInfo info;
    info.name = std::string(item.as_object().at("Name").as_string());
    info.backend = context.backend_name;
    info.used_by = users_of(context, info.name);
    out.push_back(std::move(info));
  }
  std::sort(out.begin(), out.end(), [](const VolumeInfo& a, const VolumeInfo& b) { return a.name < b.name; });
  return out;
}

void delete_persistent_volume(Context& context, const std::string& name) {
  validate_volume_name(name, "volume");
  const auto volumes = list_persistent_volumes(context);
  auto found = std::find_if(volumes.begin(), volumes.end(), [&](const VolumeInfo& v) { return v.name == name; });
  if (found == volumes.end())
    throw Error(Errc::not_found, "backend '" + context.backend_name + "': no persistent hutch volume named '" + name + "'");
  if (!found->used_by.empty()) {
    std::string list;
    for (const auto& id : found->used_by) list += (list.empty() ? "" : ", ") + id;
    throw Error(Errc::state, "volume '" + name + "' is used by sandbox " + list + "; remove " +
                                 (found->used_by.size() == 1 ? "it" : "them") + " first (`hutch rm`)");
  }
  Request remove;
  remove.method = Method::delete_;
  remove.target = Target("/volumes").segment(name).str();
  remove.what = "remove volume '" + name + "'";
  context.client->call(remove);
}

}  // namespace hutch::docker
