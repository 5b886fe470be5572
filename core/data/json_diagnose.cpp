#include "data/json_diagnose.h"

#include <cctype>
#include <cstdio>
#include <tuple>
#include <vector>

namespace studio {
namespace {

struct Scanner {
  std::string_view text;
  std::size_t pos = 0;
  std::optional<JsonProblem> problem;

  struct Open {
    char kind;  // '{' or '['
    std::size_t offset;
  };
  std::vector<Open> stack;

  [[nodiscard]] std::pair<long, long> line_column(std::size_t offset) const {
    long line = 1;
    std::size_t line_start = 0;
    for (std::size_t i = 0; i < offset && i < text.size(); ++i)
      if (text[i] == '\n') {
        ++line;
        line_start = i + 1;
      }
    return {line, static_cast<long>(offset - line_start) + 1};
  }
  [[nodiscard]] std::string at(std::size_t offset) const {
    const auto [l, c] = line_column(offset);
    return "line " + std::to_string(l) + ", column " + std::to_string(c);
  }
  bool fail(std::size_t offset, std::string what) {
    JsonProblem p;
    p.offset = offset;
    std::tie(p.line, p.column) = line_column(offset);
    p.what = std::move(what);
    problem = std::move(p);
    return false;
  }
  [[nodiscard]] std::string shown(std::size_t offset) const {
    if (offset >= text.size()) return "the end of the file";
    const auto c = static_cast<unsigned char>(text[offset]);
    if (c >= 0x20 && c < 0x7f) return std::string("'") + static_cast<char>(c) + "'";
    char hex[8];
    std::snprintf(hex, sizeof hex, "0x%02X", c);
    return std::string("byte ") + hex;
  }
  [[nodiscard]] std::string opened(const Open& o) const {
    return std::string(o.kind == '{' ? "the object" : "the array") + " opened at " + at(o.offset);
  }

  // `c` ('}' or ']') closes the innermost open bracket: true, or false (the problem said) when it
  // is the other kind.
  bool close(char c) {
    const char expected = stack.back().kind == '{' ? '}' : ']';
    if (c != expected)
      return fail(
          pos, std::string("'") + c + "' closes " + opened(stack.back()) + " (expected '" + expected + "')");
    stack.pop_back();
    ++pos;
    return true;
  }

  void skip_space() {
    while (pos < text.size() &&
           (text[pos] == ' ' || text[pos] == '\t' || text[pos] == '\n' || text[pos] == '\r'))
      ++pos;
  }
  [[nodiscard]] bool starts(std::string_view word) const { return text.substr(pos, word.size()) == word; }

  bool string() {
    const std::size_t start = pos++;
    while (pos < text.size()) {
      const auto c = static_cast<unsigned char>(text[pos]);
      if (c == '"') {
        ++pos;
        return true;
      }
      if (c < 0x20)
        return fail(pos, "a control character (" + shown(pos) + ") inside the string started at " +
                             at(start) +
                             (c == '\n' ? " (a line break: the string is not closed on its line?)" : ""));
      if (c == '\\') {
        ++pos;
        if (pos >= text.size()) break;
        const char e = text[pos];
        if (e == 'u') {
          for (int k = 1; k <= 4; ++k)
            if (pos + k >= text.size() || !std::isxdigit(static_cast<unsigned char>(text[pos + k])))
              return fail(pos - 1, "\\u must be followed by 4 hexadecimal digits");
          pos += 4;
        } else if (std::string_view("\"\\/bfnrt").find(e) == std::string_view::npos) {
          return fail(pos - 1, "an invalid escape \\" + std::string(1, e) + " in a string");
        }
      }
      ++pos;
    }
    return fail(pos,
                "the string started at " + at(start) + " is not closed at the end of the file (cut short?)");
  }

  bool number() {
    const std::size_t start = pos;
    if (text[pos] == '-') {
      ++pos;
      if (starts("Infinity"))
        return fail(start, "-Infinity is not JSON (numbers must be finite; write null or a number)");
    }
    const auto digit = [&] { return pos < text.size() && text[pos] >= '0' && text[pos] <= '9'; };
    if (!digit())
      return fail(pos, "expected a digit in the number started at " + at(start) + ", got " + shown(pos));
    if (text[pos] == '0') {
      ++pos;
      if (digit()) return fail(start, "a number with a leading zero (not JSON)");
    } else {
      while (digit()) ++pos;
    }
    if (pos < text.size() && text[pos] == '.') {
      ++pos;
      if (!digit()) return fail(pos, "expected a digit after the decimal point, got " + shown(pos));
      while (digit()) ++pos;
    }
    if (pos < text.size() && (text[pos] == 'e' || text[pos] == 'E')) {
      ++pos;
      if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) ++pos;
      if (!digit()) return fail(pos, "expected a digit in the exponent, got " + shown(pos));
      while (digit()) ++pos;
    }
    return true;
  }

  // A scalar value, or the opening of an object or array (pushed).
  bool value(bool* opened_container) {
    *opened_container = false;
    if (pos >= text.size()) return fail(pos, "expected a value, got the end of the file");
    const char c = text[pos];
    if (c == '{' || c == '[') {
      stack.push_back({c, pos++});
      *opened_container = true;
      return true;
    }
    if (c == '"') return string();
    if (c == '-' || (c >= '0' && c <= '9')) return number();
    for (std::string_view word : {"true", "false", "null"})
      if (starts(word)) {
        pos += word.size();
        return true;
      }
    if (starts("NaN")) return fail(pos, "NaN is not JSON (numbers must be finite; write null or a number)");
    if (starts("Infinity"))
      return fail(pos, "Infinity is not JSON (numbers must be finite; write null or a number)");
    if (c == '\'') return fail(pos, "a string in single quotes (JSON strings take double quotes)");
    return fail(pos, "expected a value, got " + shown(pos));
  }

  bool run() {
    const auto byte = [&](std::size_t i) {
      return i < text.size() ? static_cast<unsigned char>(text[i]) : 0x100u;
    };
    if (byte(0) == 0xEF && byte(1) == 0xBB && byte(2) == 0xBF)
      return fail(0,
                  "the file starts with a UTF-8 byte order mark (EF BB BF), which JSON does not allow: "
                  "save it as UTF-8 without BOM");
    if (byte(0) == 0 && byte(1) == 0 && byte(2) == 0xFE && byte(3) == 0xFF)
      return fail(0, "the file is UTF-32 (byte order mark 00 00 FE FF): save it as UTF-8");
    if (byte(0) == 0xFF && byte(1) == 0xFE && byte(2) == 0 && byte(3) == 0)
      return fail(0, "the file is UTF-32 (byte order mark FF FE 00 00): save it as UTF-8");
    if ((byte(0) == 0xFF && byte(1) == 0xFE) || (byte(0) == 0xFE && byte(1) == 0xFF))
      return fail(0, std::string("the file is UTF-16 (byte order mark ") +
                         (byte(0) == 0xFF ? "FF FE" : "FE FF") + "): save it as UTF-8");
    if (text.size() >= 2 && (byte(0) == 0 || byte(1) == 0))
      return fail(
          0, "the file starts with NUL bytes: UTF-16 or UTF-32 without a byte order mark? save it as UTF-8");

    enum class Want { Value, ValueOrClose, Key, KeyOrClose, Colon, CommaOrClose };
    Want want = Want::Value;
    skip_space();
    if (pos >= text.size()) return fail(pos, "the file is empty (no JSON value)");
    for (;;) {
      skip_space();
      if (pos >= text.size()) {
        if (!stack.empty())
          return fail(pos, opened(stack.back()) + " is not closed at the end of the file (cut short?)");
        return fail(pos, "expected a value, got the end of the file");
      }
      const char c = text[pos];
      bool completed = false;  // a value was completed at this step
      switch (want) {
        case Want::ValueOrClose:
          if (c == ']' || c == '}') {
            if (!close(c)) return false;
            completed = true;
            break;
          }
          [[fallthrough]];
        case Want::Value: {
          if (c == ']' && want == Want::Value && !stack.empty() && stack.back().kind == '[')
            return fail(pos, "a comma before ']' (trailing commas are not JSON)");
          bool container = false;
          if (!value(&container)) return false;
          if (container)
            want = stack.back().kind == '{' ? Want::KeyOrClose : Want::ValueOrClose;
          else
            completed = true;
          break;
        }
        case Want::KeyOrClose:
          if (c == '}' || c == ']') {
            if (!close(c)) return false;
            completed = true;
            break;
          }
          [[fallthrough]];
        case Want::Key:
          if (c == '"') {
            if (!string()) return false;
            want = Want::Colon;
          } else if (c == '}') {
            return fail(pos, "a comma before '}' (trailing commas are not JSON)");
          } else if (c == '\'') {
            return fail(pos, "a key in single quotes (JSON keys take double quotes)");
          } else {
            return fail(pos,
                        "expected a key in double quotes in " + opened(stack.back()) + ", got " + shown(pos));
          }
          break;
        case Want::Colon:
          if (c != ':') return fail(pos, "expected ':' after the key, got " + shown(pos));
          ++pos;
          want = Want::Value;
          break;
        case Want::CommaOrClose: {
          const bool object = stack.back().kind == '{';
          if (c == ',') {
            ++pos;
            want = object ? Want::Key : Want::Value;
          } else if (c == '}' || c == ']') {
            if (!close(c)) return false;
            completed = true;
          } else {
            return fail(pos, std::string("expected ',' or '") + (object ? '}' : ']') + "' in " +
                                 opened(stack.back()) + ", got " + shown(pos) + " (a missing comma?)");
          }
          break;
        }
      }
      if (!completed) continue;
      if (stack.empty()) {
        const std::size_t end = pos;
        skip_space();
        if (pos < text.size())
          return fail(pos, "data after the end of the JSON value (which ended at " + at(end) +
                               "): " + shown(pos) + " (trailing data, or two documents in one file?)");
        return true;
      }
      want = Want::CommaOrClose;
    }
  }
};

}  // namespace

std::string JsonProblem::message() const {
  return "malformed JSON at column " + std::to_string(column) + " (byte " + std::to_string(offset) +
         "): " + what;
}

std::optional<JsonProblem> diagnose_json(std::string_view text) {
  Scanner s{text};
  if (s.run()) return std::nullopt;
  return s.problem;
}

}  // namespace studio
