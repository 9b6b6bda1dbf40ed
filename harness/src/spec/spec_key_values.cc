// SPDX-License-Identifier: GPL-2.0-only
// A spec key's value as text: read from the environment (or a flag), checked against the key's
// kind and range, rendered as a TOML literal. The table itself is spec_keys.cc.
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include "base/nodelist.h"
#include "base/text.h"
#include "spec/spec.h"
#include "spec/spec_keys.h"

namespace memplace {
namespace {

template <class... F>
struct Overloaded : F... {
  using F::operator()...;
};
template <class... F>
Overloaded(F...) -> Overloaded<F...>;

Result<int64_t> integer_text(std::string_view text, const std::string& field) {
  const std::string s(text);
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(s.c_str(), &end, 10);
  if (s.empty() || errno != 0 || *end != '\0')
    return bad_input_error(field + ": expected an integer, got '" + s + "'");
  return v;
}

// A value the user gave that the key refuses is bad input, whatever the reader called it.
Status as_bad_input(Status s) {
  if (s) return s;
  return s.error().as_kind(ErrorKind::kBadInput);
}

Status store(Spec& spec, const SpecKey& key, std::string text) {
  return std::visit(
      Overloaded{
          [&](std::string* f) -> Status { return *f = std::move(text), Status{}; },
          [&](std::optional<std::string>* f) -> Status { return *f = std::move(text), Status{}; },
          [&](auto*) -> Status { return make_error("spec key kind mismatch"); }},
      key.field(spec));
}

Status store_int(Spec& spec, const SpecKey& key, int64_t v) {
  return std::visit(
      Overloaded{
          [&](int* f) -> Status { return *f = static_cast<int>(v), Status{}; },
          [&](std::optional<int>* f) -> Status { return *f = static_cast<int>(v), Status{}; },
          [&](uint64_t* f) -> Status { return *f = v, Status{}; },
          [&](std::optional<uint64_t>* f) -> Status {
            return *f = static_cast<uint64_t>(v), Status{};
          },
          [&](auto*) -> Status { return make_error("spec key kind mismatch"); }},
      key.field(spec));
}

}  // namespace

Status check_key_int(const SpecKey& key, int64_t v, const std::string& field) {
  if (v < key.min || v > key.max)
    return bad_input_error(field + ": must be " + std::to_string(key.min) + ".." +
                           std::to_string(key.max) + ", got " + std::to_string(v));
  return {};
}

Status check_key_text(const SpecKey& key, const std::string& v, const std::string& field) {
  if (key.kind == KeyKind::kText && key.min > 0 && v.empty())
    return bad_input_error(field + ": must not be empty");
  if (key.kind != KeyKind::kChoice) return {};
  for (std::string_view rest = key.choices; !rest.empty();) {
    const size_t comma = rest.find(',');
    if (trim(rest.substr(0, comma)) == v) return {};
    rest = comma == std::string_view::npos ? "" : rest.substr(comma + 1);
  }
  std::string list(key.choices);
  if (auto last = list.rfind(", "); last != std::string::npos) list.replace(last, 2, " or ");
  return bad_input_error(field + ": must be " + list + ", got '" + v + "'");
}

Status set_key_from_text(const SpecKey& key, std::string_view text, const std::string& field,
                         Spec& spec) {
  switch (key.kind) {
    case KeyKind::kCustom:
      if (key.codec->list) key.codec->clear(spec);
      return as_bad_input(key.codec->add(text, field, spec));
    case KeyKind::kText:
    case KeyKind::kChoice:
      if (auto s = check_key_text(key, std::string(text), field); !s) return s;
      return store(spec, key, std::string(text));
    case KeyKind::kFlag: {
      if (text != "0" && text != "1")
        return bad_input_error(field + ": expected 0 or 1, got '" + std::string(text) + "'");
      FieldRef ref = key.field(spec);
      auto* f = std::get_if<std::optional<bool>*>(&ref);
      if (!f) return make_error("spec key kind mismatch");
      **f = text == "1";
      return {};
    }
    case KeyKind::kInt: {
      auto v = integer_text(text, field);
      if (!v) return v.error();
      if (auto s = check_key_int(key, *v, field); !s) return s;
      return store_int(spec, key, *v);
    }
    case KeyKind::kSize: {
      auto v = parse_size(text);
      if (!v) return v.error().prefixed(field + ": ").as_kind(ErrorKind::kBadInput);
      if (*v < static_cast<uint64_t>(key.min))
        return bad_input_error(field + ": must be at least " +
                               format_size(static_cast<uint64_t>(key.min)) + ", got " +
                               format_size(*v));
      return store_int(spec, key, static_cast<int64_t>(*v));
    }
    default:
      return bad_input_error(field + ": a list cannot be given as one value here");
  }
}

std::string toml_quoted(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

Status apply_env_fallbacks(std::string_view section, Spec& spec,
                           const std::function<const char*(const char*)>& getenv) {
  for (const SpecKey* key : spec_keys_of(section)) {
    if (key->env.empty() || key_is_set(*key, spec)) continue;
    std::string name(key->env);
    const char* value = getenv(name.c_str());
    if ((!value || !*value) && !key->old_env.empty()) {  // empty counts as unset
      name = std::string(key->old_env);
      value = getenv(name.c_str());
      if (value && *value)
        spec.warnings.push_back(name + " is the old name of " + std::string(key->env) +
                                "; read as that");
    }
    if (!value || !*value) continue;
    const std::string field = std::string(section) + "." + std::string(key->name);
    if (auto s = set_key_from_text(*key, value, field, spec); !s)
      return s.error().prefixed(name + " from the environment: ");
  }
  return {};
}

bool key_is_list(const SpecKey& key) {
  switch (key.kind) {
    case KeyKind::kCustom:
      return key.codec->list;
    case KeyKind::kNodeIds:
    case KeyKind::kTextList:
    case KeyKind::kDistances:
      return true;
    default:
      return false;
  }
}

Status set_key_from_items(const SpecKey& key, const std::vector<std::string>& items,
                          const std::string& field, Spec& spec) {
  if (!key_is_list(key)) {
    if (items.size() != 1)
      return bad_input_error(field + ": takes one value, got " + std::to_string(items.size()));
    return set_key_from_text(key, items.front(), field, spec);
  }
  if (key.kind == KeyKind::kCustom) {
    key.codec->clear(spec);
    for (const auto& item : items)
      if (auto s = key.codec->add(item, field, spec); !s) return as_bad_input(s);
    return {};
  }
  FieldRef ref = key.field(spec);
  if (auto* texts = std::get_if<std::vector<std::string>*>(&ref)) {
    **texts = items;
    return {};
  }
  auto* ids = std::get_if<std::vector<int>*>(&ref);
  if (!ids) return bad_input_error(field + ": cannot be given as a flag");
  (*ids)->clear();
  for (const auto& item : items) {
    auto list = parse_id_list(item);
    if (!list) return list.error().prefixed(field + ": ").as_kind(ErrorKind::kBadInput);
    for (int id : *list) {
      if (auto s = check_key_int(key, id, field); !s) return s;
      (*ids)->push_back(id);
    }
  }
  return {};
}

std::vector<std::string> split_flag_value(const SpecKey& key, std::string_view text) {
  if (key.split == FlagSplit::kWhole) return {std::string(text)};
  std::vector<std::string> items;
  for (std::string_view rest = text;;) {
    const size_t comma = rest.find(',');
    const std::string piece(rest.substr(0, comma));
    // A policy's node list has commas of its own: a piece that does not start with a letter
    // ("2" in "interleave:0,2") belongs to the policy before it.
    const bool continues = key.split == FlagSplit::kPolicies && !items.empty() &&
                           (piece.empty() || !std::isalpha(static_cast<unsigned char>(piece[0])));
    if (continues)
      items.back() += "," + piece;
    else
      items.push_back(piece);
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  return items;
}

namespace {

// A key marked omit_default holding its default is as good as unset: spec.toml leaves it out.
bool holds_default(const SpecKey& key, const Spec& spec) {
  return key.omit_default && render_key_value(key, spec) == render_key_value(key, default_spec());
}

}  // namespace

bool key_is_set(const SpecKey& key, const Spec& spec) {
  if (holds_default(key, spec)) return false;
  if (key.kind == KeyKind::kCustom) return !key.codec->render(spec).empty();
  Spec copy = spec;  // the field functions hand out pointers into a mutable Spec
  return std::visit(Overloaded{[](std::string* f) { return !f->empty(); },
                               [](std::vector<int>* f) { return !f->empty(); },
                               [](std::vector<std::string>* f) { return !f->empty(); },
                               [](std::vector<std::vector<int>>* f) { return !f->empty(); },
                               [](int*) { return true; }, [](uint64_t*) { return true; },
                               [](auto* f) { return f->has_value(); }},
                    key.field(copy));
}

std::string render_key_value(const SpecKey& key, const Spec& spec) {
  if (key.kind == KeyKind::kCustom) return key.codec->render(spec);
  Spec copy = spec;
  auto list = [](const std::vector<int>& v) {
    std::string out = "[";
    for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + std::to_string(v[i]);
    return out + "]";
  };
  const bool size = key.kind == KeyKind::kSize;
  return std::visit(
      Overloaded{
          [](std::string* f) { return toml_quoted(*f); },
          [](std::optional<std::string>* f) { return toml_quoted(f->value_or("")); },
          [](std::optional<bool>* f) { return std::string(f->value_or(false) ? "true" : "false"); },
          [](int* f) { return std::to_string(*f); },
          [](std::optional<int>* f) { return std::to_string(f->value_or(0)); },
          [&](uint64_t* f) { return size ? toml_quoted(format_size(*f)) : std::to_string(*f); },
          [&](std::optional<uint64_t>* f) {
            return size ? toml_quoted(format_size(f->value_or(0))) : std::to_string(f->value_or(0));
          },
          [&](std::vector<int>* f) { return list(*f); },
          [](std::vector<std::string>* f) {
            std::string out = "[";
            for (size_t i = 0; i < f->size(); ++i) out += (i ? ", " : "") + toml_quoted((*f)[i]);
            return out + "]";
          },
          [&](std::vector<std::vector<int>>* f) {
            std::string out = "[";
            for (size_t i = 0; i < f->size(); ++i) out += (i ? ", " : "") + list((*f)[i]);
            return out + "]";
          }},
      key.field(copy));
}

}  // namespace memplace
