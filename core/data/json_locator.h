#pragma once
// Shared by the simdjson on-demand parsers (COCO annotations, COCO results): turns "where the walk
// stands" into file:line for error messages, so every reader reports problems the same way:
//   "<name>:<line>: <json path>: <what was expected>".
// Internal to the core; simdjson is not part of any public header.
#include <simdjson.h>

#include <algorithm>
#include <cstdlib>
#include <string>

#include "common/error.h"
#include "data/json_diagnose.h"

namespace studio {

class JsonLocator {
 protected:
  JsonLocator(const std::string& name, simdjson::padded_string_view json) : name_(name), json_(json) {}

  [[noreturn]] void fail(long line, const std::string& path, const std::string& what) const {
    fail_at(name_, line, path.empty() ? what : path + ": " + what);
  }
  // What the readers' describe() says of a value simdjson finds no type for (NaN, a bare word, a
  // byte order mark); a message holding it gets the scanner's diagnosis instead when it finds the cause.
  static constexpr const char* kUnreadable = "something unreadable";

  [[noreturn]] void fail(const char* at, const std::string& path, const std::string& what) const {
    if (what.find(kUnreadable) != std::string::npos)
      fail_malformed(path, [&] { fail(line_of(at), path, what); });
    fail(line_of(at), path, what);
  }

  // 1-based line of a position in the text (0 when unknown).
  long line_of(const char* at) const {
    const char* begin = json_.data();
    if (at == nullptr || at < begin || at > begin + json_.size()) return 0;
    return 1 + static_cast<long>(std::count(begin, at, '\n'));
  }

  // Where the walk stands now (null past the end or before the document is attached).
  const char* location() const {
    const char* at = nullptr;
    if (doc_ == nullptr || doc_->current_location().get(at)) return nullptr;
    return at;
  }

  // A simdjson error that is not a type mismatch: the JSON itself is broken. The strict scanner
  // (json_diagnose.h) names the cause and its line and column; `path` says where the reader was.
  [[noreturn]] void fail_json(simdjson::error_code e, const std::string& path) const {
    fail_malformed(path, [&] {
      // An unclosed array or object is found before the walk starts: point at the end of the file.
      const char* at = e == simdjson::INCOMPLETE_ARRAY_OR_OBJECT ? json_.data() + json_.size() : location();
      fail(at, path, std::string("malformed JSON (") + simdjson::error_message(e) + ")");
    });
  }

  // simdjson could not read a value (no type): the scanner's diagnosis at `path`, else `otherwise()`.
  template <class Otherwise>
  [[noreturn]] void fail_malformed(const std::string& path, Otherwise&& otherwise) const {
    if (const auto p = diagnose_json(std::string_view(json_.data(), json_.size()))) fail(p->line, path, p->message());
    otherwise();
    std::abort();  // otherwise() throws
  }

  const std::string& name_;
  simdjson::padded_string_view json_;
  simdjson::ondemand::document* doc_ = nullptr;
};

}  // namespace studio
