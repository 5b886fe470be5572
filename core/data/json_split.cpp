#include "data/json_split.h"

#include <emmintrin.h>

#include <algorithm>
#include <cstring>

namespace studio {
namespace {

constexpr std::size_t kNone = static_cast<std::size_t>(-1);
constexpr std::size_t kMaxDepth = 1024;           // as simdjson's default
constexpr std::size_t kReleaseEvery = 64u << 20;  // bytes between release() calls

bool is_space(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

class Splitter {
 public:
  Splitter(std::string_view s, const std::function<void(std::size_t)>& release) : s_(s), release_(release) {}

  std::size_t skip_space(std::size_t p) const {
    while (p < s_.size() && is_space(s_[p])) ++p;
    return p;
  }

  // `p` at a quote: just past the closing quote, or kNone.
  std::size_t skip_string(std::size_t p) const {
    for (++p; p < s_.size(); ++p) {
      if (s_[p] == '\\') {
        ++p;
      } else if (s_[p] == '"') {
        return p + 1;
      }
    }
    return kNone;
  }

  // `p` at a bare value (number, true, false, null): just past it, or kNone when empty.
  std::size_t skip_scalar(std::size_t p) const {
    const std::size_t b = p;
    while (p < s_.size() && !is_space(s_[p]) && s_[p] != ',' && s_[p] != '}' && s_[p] != ']' && s_[p] != '"' &&
           s_[p] != '{' && s_[p] != '[')
      ++p;
    return p == b ? kNone : p;
  }

  // Whitespace only, or (between two elements) whitespace, one comma, whitespace.
  bool clean_gap(std::size_t b, std::size_t e, bool comma) const {
    b = skip_space(b);
    if (comma) {
      if (b >= e || s_[b] != ',') return false;
      b = skip_space(b + 1);
    }
    return b == e;
  }

  // `p` at '{' or '[': just past its matching bracket, or kNone. With `objects`, lists the
  // object elements of this array and checks the text between them.
  std::size_t skip_container(std::size_t p, std::vector<JsonSpan>* objects) {
    stack_.assign(1, s_[p]);
    const std::size_t n = s_.size();
    bool in_string = false;
    std::size_t escaped_until = 0;  // a backslash in a string hides the byte after it
    std::size_t element_begin = 0, last_end = p + 1;
    const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\');
    const __m128i open_brace = _mm_set1_epi8('{'), close_brace = _mm_set1_epi8('}');
    const __m128i open_bracket = _mm_set1_epi8('['), close_bracket = _mm_set1_epi8(']');
    alignas(16) char tail[16];
    for (std::size_t i = p + 1; i < n; i += 16) {
      const char* block = s_.data() + i;
      unsigned valid = 0xFFFF;
      if (n - i < 16) {  // the last, partial block: copied so nothing past the text is read
        std::memset(tail, ' ', sizeof tail);
        std::memcpy(tail, block, n - i);
        block = tail;
        valid = (1u << (n - i)) - 1;
      }
      if (release_ && i >= next_release_) {
        release_(i);
        next_release_ = i + kReleaseEvery;
      }
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(block));
      const __m128i hit = _mm_or_si128(
          _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
                       _mm_or_si128(_mm_cmpeq_epi8(v, open_brace), _mm_cmpeq_epi8(v, close_brace))),
          _mm_or_si128(_mm_cmpeq_epi8(v, open_bracket), _mm_cmpeq_epi8(v, close_bracket)));
      unsigned mask = static_cast<unsigned>(_mm_movemask_epi8(hit)) & valid;
      while (mask != 0) {
        const std::size_t pos = i + static_cast<std::size_t>(__builtin_ctz(mask));
        mask &= mask - 1;
        if (pos < escaped_until) continue;
        const char c = s_[pos];
        if (in_string) {
          if (c == '\\') {
            escaped_until = pos + 2;
          } else if (c == '"') {
            in_string = false;
          }
          continue;
        }
        switch (c) {
          case '"':
            in_string = true;
            break;
          case '\\':
            return kNone;  // only valid inside a string
          case '{':
          case '[':
            if (objects && stack_.size() == 1) {
              if (c != '{' || !clean_gap(last_end, pos, !objects->empty())) return kNone;
              element_begin = pos;
            }
            stack_.push_back(c);
            if (stack_.size() > kMaxDepth) return kNone;
            break;
          default: {  // '}' or ']'
            if ((stack_.back() == '{') != (c == '}')) return kNone;
            stack_.pop_back();
            if (stack_.empty()) {
              if (objects && !clean_gap(last_end, pos, false)) return kNone;
              return pos + 1;
            }
            if (objects && stack_.size() == 1) {
              objects->push_back({element_begin, pos + 1});
              last_end = pos + 1;
            }
          }
        }
      }
    }
    return kNone;
  }

  std::optional<std::vector<JsonTopField>> split(const std::vector<std::string_view>& keep) {
    std::vector<JsonTopField> fields;
    std::size_t p = skip_space(0);
    if (p >= s_.size() || s_[p] != '{') return std::nullopt;
    p = skip_space(p + 1);
    if (p < s_.size() && s_[p] == '}') {
      ++p;
    } else {
      for (;;) {
        if (p >= s_.size() || s_[p] != '"') return std::nullopt;
        const std::size_t key_end = skip_string(p);
        if (key_end == kNone) return std::nullopt;
        JsonTopField field;
        field.key = s_.substr(p + 1, key_end - p - 2);
        for (const JsonTopField& f : fields)
          if (f.key == field.key) return std::nullopt;
        p = skip_space(key_end);
        if (p >= s_.size() || s_[p] != ':') return std::nullopt;
        p = skip_space(p + 1);
        if (p >= s_.size()) return std::nullopt;
        std::size_t end;
        const char c = s_[p];
        if (c == '{' || c == '[') {
          field.is_array = c == '[';
          const bool list = field.is_array && std::find(keep.begin(), keep.end(), field.key) != keep.end();
          end = skip_container(p, list ? &field.objects : nullptr);
        } else if (c == '"') {
          end = skip_string(p);
        } else {
          end = skip_scalar(p);
        }
        if (end == kNone) return std::nullopt;
        field.value = {p, end};
        fields.push_back(std::move(field));
        p = skip_space(end);
        if (p >= s_.size()) return std::nullopt;
        if (s_[p] == '}') {
          ++p;
          break;
        }
        if (s_[p] != ',') return std::nullopt;
        p = skip_space(p + 1);
      }
    }
    if (skip_space(p) != s_.size()) return std::nullopt;
    return fields;
  }

  std::optional<std::vector<JsonSpan>> split_array() {
    const std::size_t p = skip_space(0);
    if (p >= s_.size() || s_[p] != '[') return std::nullopt;
    std::vector<JsonSpan> objects;
    const std::size_t end = skip_container(p, &objects);
    if (end == kNone || skip_space(end) != s_.size()) return std::nullopt;
    return objects;
  }

 private:
  std::string_view s_;
  const std::function<void(std::size_t)>& release_;
  std::size_t next_release_ = 0;
  std::vector<char> stack_;
};

}  // namespace

std::optional<std::vector<JsonTopField>> split_top_level(std::string_view json,
                                                         const std::vector<std::string_view>& keep_objects,
                                                         const std::function<void(std::size_t)>& release) {
  return Splitter(json, release).split(keep_objects);
}

std::optional<std::vector<JsonSpan>> split_array(std::string_view json,
                                                 const std::function<void(std::size_t)>& release) {
  return Splitter(json, release).split_array();
}

}  // namespace studio
