// GET /v1/events: the service's events as Server-Sent Events (text/event-stream, chunked), each
//   id: N
//   event: TYPE
//   data: {"type","id","time","sandbox","backend","labels","details"}
// A tenant's token gets only its sandboxes' events. Filters: ?sandbox=ID, ?type=a,b. A client
// that reconnects with Last-Event-ID (or ?last_event_id=) first gets what it missed, as far as
// the hub's ring still has it (an "event: gap" says when it does not). A comment line goes out
// when the stream has been quiet for the keep-alive interval, so proxies keep it open. A client
// that reads too slowly gets "event: overflow" once its queue is full and the stream ends (it
// reconnects with Last-Event-ID); on the service's drain the stream ends cleanly.
#include "routes.hpp"

#include <hutch/error.hpp>

#include <boost/json.hpp>

#include <charconv>

namespace hutch::server {

namespace json = boost::json;

namespace {

std::set<std::string> event_types(const std::string& list) {
  std::set<std::string> types;
  std::size_t at = 0;
  while (at <= list.size()) {
    const std::size_t comma = std::min(list.find(',', at), list.size());
    const std::string type = list.substr(at, comma - at);
    if (!kEventTypes.count(type)) {
      std::string known;
      for (const std::string& name : kEventTypes) known += (known.empty() ? "" : ", ") + name;
      throw Error(Errc::invalid_argument, "query parameter 'type': unknown event type '" + type + "' (known: " + known + ")");
    }
    types.insert(type);
    at = comma + 1;
  }
  return types;
}

std::optional<std::uint64_t> last_event_id(Context& context) {
  const char* where = "header 'Last-Event-ID'";
  auto text = context.request().header("last-event-id");
  if (!text) {
    text = context.request().query_value("last_event_id");
    where = "query parameter 'last_event_id'";
  }
  if (!text || text->empty()) return std::nullopt;
  std::uint64_t id = 0;
  const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), id);
  if (ec != std::errc{} || end != text->data() + text->size())
    throw Error(Errc::invalid_argument, std::string(where) + ": expected an event id (a whole number), got '" + *text + "'");
  return id;
}

std::string sse_event(std::uint64_t id, const std::string& type, const std::string& data) {
  return (id ? "id: " + std::to_string(id) + "\n" : std::string()) + "event: " + type + "\ndata: " + data + "\n\n";
}

}  // namespace

void get_events(Context& context) {
  EventFilter filter;
  filter.tenant = context.caller.tenant;
  filter.sandbox = context.request().query_value("sandbox");
  if (auto types = context.request().query_value("type")) filter.types = event_types(*types);
  const auto resume_from = last_event_id(context);
  // A stream for as long as the client follows it (429 past a stream cap, before the header).
  const Caps::Slot slot = context.service.caps().take_stream(context.caller);
  EventHub& hub = context.service.events();
  // Subscribed before the header goes out: once a client sees the header, no event is missed.
  const std::shared_ptr<Subscription> subscription = hub.subscribe(std::move(filter), resume_from);
  context.exchange.begin_stream(200, "text/event-stream");
  std::string chunk = ": hutch events\n\n";
  if (auto first_kept = subscription->resume_gap())
    chunk += sse_event(0, "gap", json::serialize(json::object{
                                     {"first_kept_id", *first_kept},
                                     {"message", "events after Last-Event-ID " + std::to_string(*resume_from) +
                                                     " up to " + std::to_string(*first_kept - 1) + " are no longer kept"}}));
  context.exchange.write_chunk(chunk);
  for (;;) {
    const Subscription::Batch batch = subscription->next(hub.keepalive());
    chunk.clear();
    std::uint64_t last = 0;
    for (const auto& event : batch.events) {
      chunk += sse_event(event->id, event->type, event->data);
      last = event->id;
    }
    if (batch.overflowed)
      chunk += sse_event(0, "overflow", json::serialize(json::object{
                                            {"last_id", last ? json::value(last) : nullptr},
                                            {"message", "this client read too slowly and events were dropped; reconnect with Last-Event-ID"}}));
    if (chunk.empty() && !batch.closed) chunk = ": keep-alive\n\n";
    context.exchange.write_chunk(chunk);
    if (batch.overflowed || batch.closed) break;
  }
  context.exchange.end_stream();
}

}  // namespace hutch::server
