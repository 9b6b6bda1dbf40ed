// SPDX-License-Identifier: GPL-2.0-only
// The spec keys' reference, made from the table (spec_keys.cc): docs/spec-reference.md is this
// text, and a test keeps the two the same.
#include <string>

#include "spec/spec.h"
#include "spec/spec_keys.h"

namespace memplace {
namespace {

std::string kind_text(const SpecKey& k) {
  auto range = [&] { return std::to_string(k.min) + ".." + std::to_string(k.max); };
  switch (k.kind) {
    case KeyKind::kText:
      return k.min > 0 ? "text, not empty" : "text";
    case KeyKind::kFlag:
      return "true or false";
    case KeyKind::kInt:
      return "integer " + range();
    case KeyKind::kSize:
      return k.min > 0 ? "size, at least " + format_size(static_cast<uint64_t>(k.min))
                       : "size (\"64MiB\", \"1GiB\")";
    case KeyKind::kChoice:
      return "one of " + std::string(k.choices);
    case KeyKind::kNodeIds:
      return "list of integers " + range();
    case KeyKind::kTextList:
      return "list of text";
    case KeyKind::kDistances:
      return "list of lists of integers " + range();
    case KeyKind::kCustom:
      return std::string(k.codec->type);
  }
  return "?";
}

// Markdown table cells hold no pipe or line break.
std::string cell(std::string_view s) {
  std::string out;
  for (char c : s)
    out += c == '|' ? std::string("\\|") : c == '\n' ? std::string(" ") : std::string(1, c);
  return out;
}

std::string code_or_dash(std::string_view s) {
  return s.empty() ? "" : "`" + cell(s) + "`";
}

}  // namespace

std::string spec_keys_markdown() {
  std::string out =
      "# Spec keys\n\n"
      "Generated from the spec-key table (harness/src/spec/spec_keys.cc) by `memplace spec-keys`;"
      " `make test` fails when this file and the table differ.\n"
      "A spec.toml starts with `spec_version = " +
      std::to_string(kSpecVersion) +
      "`; a file without it is read as version 1, whose old key names (column *was*) still read,"
      " with a warning. An environment variable fills a key the spec leaves unset.\n";
  std::string section;
  for (const SpecKey& k : spec_keys()) {
    if (k.section != section) {
      section = std::string(k.section);
      out += "\n## [" + section +
             "]\n\n| key | type | unit | default | environment | was | meaning |\n"
             "|---|---|---|---|---|---|---|\n";
    }
    out += "| `" + cell(k.name) + "` | " + cell(kind_text(k)) + " | " + cell(k.unit) + " | " +
           code_or_dash(k.default_text) + " | " + code_or_dash(k.env) + " | " +
           code_or_dash(k.old_name) + " | " + cell(k.help) + " |\n";
  }
  return out;
}

}  // namespace memplace
