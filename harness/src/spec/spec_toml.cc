// SPDX-License-Identifier: GPL-2.0-only
// Spec -> TOML. The results dir keeps the *effective* spec (file plus CLI overrides), so that
// --resume and the testbed's in-guest run see exactly the cells the user asked for.
#include <sstream>

#include "spec/spec.h"
#include "spec/spec_keys.h"

namespace memplace {
namespace {

// A settings table (spec_keys.cc): each key in the table's order, when it holds a value.
// `with_testbed` false leaves out the shard too: the testbed's guest is told its runs one by one.
void render_section(std::ostringstream& o, std::string_view section, const Spec& spec,
                    bool with_testbed = true) {
  std::string body;
  for (const SpecKey* key : spec_keys_of(section))
    if (key_is_set(*key, spec) && (with_testbed || key->name != "shard"))
      body += std::string(key->name) + " = " + render_key_value(*key, spec) + "\n";
  if (!body.empty()) o << "\n[" << section << "]\n" << body;
}

}  // namespace

std::string render_spec_toml(const Spec& spec, bool with_testbed) {
  std::ostringstream o;
  o << "spec_version = " << kSpecVersion << "\n";
  o << "name = " << toml_quoted(spec.name) << "\n";
  if (!spec.description.empty()) o << "description = " << toml_quoted(spec.description) << "\n";
  render_section(o, "matrix", spec);
  render_section(o, "run", spec, with_testbed);
  if (with_testbed && spec.testbed) render_section(o, "testbed", spec);
  render_section(o, "qemu", spec);
  return o.str();
}

}  // namespace memplace
