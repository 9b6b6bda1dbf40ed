// SPDX-License-Identifier: GPL-2.0-only
// The one description of each setting a spec holds: section, name, type, unit, range, default,
// environment variable and help. Reading spec.toml (spec.cc), validating each value, rendering
// spec.toml (spec_toml.cc), the environment fallback and the reference docs (`memplace
// spec-keys`, docs/spec-reference.md) all read this table, so adding a key is one entry here
// plus its use. Cross-key rules (a distance matrix's size, a node below the node count) stay
// with the section's check (spec.cc).
//
// Names follow one rule: a number with a unit ends with it (`_s`, `_ms`, `_kib`); a size is
// text with its unit inside ("1GiB") and no suffix; a count ends with `_count` or names what it
// counts per thing (`cpus_per_node`). spec_version 2 is the first to follow it; a key's older
// name still reads, with a warning.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/result.h"

namespace memplace {

struct Spec;

// The spec.toml layout this memplace writes; files without spec_version are version 1.
inline constexpr int kSpecVersion = 2;

enum class KeyKind {
  kText,       // a string; min = 1: must not be empty
  kFlag,       // true or false (the environment: 1 or 0)
  kInt,        // an integer in [min, max]
  kSize,       // "64MiB", "1GiB": binary units
  kChoice,     // one of `choices`
  kNodeIds,    // a list of integers in [min, max]
  kTextList,   // a list of non-empty strings
  kDistances,  // a square list of lists of integers in [min, max]
  kCustom,     // read and written by the key's own `codec` (a matrix axis, a shard)
};

// A key the generic kinds cannot hold: a matrix axis of policies, a shard, a timeout that may be
// "auto". A TOML value becomes text items (`items` says which TOML types are taken), each added
// by `add`; a list key (a matrix axis) is emptied by `clear` first.
struct KeyCodec {
  enum class Items { kText, kInteger, kTextOrInteger, kNumber, kTextOrFlag };
  Items items = Items::kText;
  bool list = false;               // one value or a list of them
  void (*clear)(Spec&) = nullptr;  // list keys only
  Status (*add)(std::string_view item, const std::string& field, Spec& spec) = nullptr;
  std::string (*render)(const Spec& spec) = nullptr;  // the TOML literal; "" = left out
  std::string_view type;                              // for the reference: "list of policies"
  std::string_view expected;  // a wrong TOML type's message: "expected " + this
  std::string_view example;   // a TOML value other than the default, for the docs and tests
};

// How a flag's value splits into items: at commas; not at all (a numactl node list has its own
// commas); or at commas that do not start a node list ("bind:0,2,interleave:1" is two policies).
enum class FlagSplit { kCommas, kWhole, kPolicies };

// Where a key's value lives in a Spec. A std::optional field is unset until a spec, the
// environment or a default fills it, and is rendered only when set; a plain field always has a
// value, and a list or text is rendered when not empty.
using FieldRef =
    std::variant<std::string*, std::optional<std::string>*, std::optional<bool>*, int*,
                 std::optional<int>*, uint64_t*, std::optional<uint64_t>*, std::vector<int>*,
                 std::vector<std::string>*, std::vector<std::vector<int>>*>;

struct SpecKey {
  std::string_view section;  // "testbed", "qemu"
  std::string_view name;     // as spec_version 2 spells it
  KeyKind kind = KeyKind::kText;
  std::string_view unit;  // for the docs: "seconds", "bytes", ""
  // kInt and list items: the inclusive range; kSize: the least bytes; kText: min 1 = not empty.
  int64_t min = 0, max = 0;
  std::string_view choices;       // kChoice: "auto, kvm, tcg"
  std::string_view default_text;  // an unset key's value; "(...)" where no literal says it
  std::string_view env;           // fills the key when the spec leaves it unset; "" = none
  std::string_view old_name;      // spec_version 1's name, read with a warning; "" = none
  // Names follow one rule: env is MEMPLACE_<SECTION>_<NAME> (spec_keys_test checks it).
  std::string_view help;
  FieldRef (*field)(Spec&) = nullptr;  // nullptr for kCustom
  const KeyCodec* codec = nullptr;     // kCustom only
  // The `memplace run` flag that sets this key ("" = none); a list key's flag is repeatable.
  std::string_view flag;
  std::string_view old_flag;  // the flag's older spelling, read with a warning; "" = none
  std::string_view old_env;   // the variable's older name, read with a warning; "" = none
  FlagSplit split = FlagSplit::kCommas;
  bool omit_default = false;  // spec.toml leaves the key out while it holds its default
};

const std::vector<SpecKey>& spec_keys();
std::vector<const SpecKey*> spec_keys_of(std::string_view section);
// The key `name` names in `section`, by its name or its old name; nullptr if none.
const SpecKey* find_spec_key(std::string_view section, std::string_view name);

// A value given as text (an environment variable, a flag): parsed and range-checked as the key's
// kind says, then stored. Errors name `field`.
Status set_key_from_text(const SpecKey& key, std::string_view text, const std::string& field,
                         Spec& spec);
// Values given as flag items: a list key is replaced by all of them, any other key takes exactly
// one. Errors name `field`.
Status set_key_from_items(const SpecKey& key, const std::vector<std::string>& items,
                          const std::string& field, Spec& spec);
// A flag's value as the key's items (FlagSplit).
std::vector<std::string> split_flag_value(const SpecKey& key, std::string_view text);
// Whether the key takes several values.
bool key_is_list(const SpecKey& key);
// The key's own checks on one value (range; not empty; one of the choices); errors name `field`.
Status check_key_int(const SpecKey& key, int64_t value, const std::string& field);
Status check_key_text(const SpecKey& key, const std::string& value, const std::string& field);
// Whether the key holds a value a spec.toml should carry (see FieldRef).
bool key_is_set(const SpecKey& key, const Spec& spec);
// The value as a TOML literal (`"1GiB"`, `true`, `[0, 1]`); call only where key_is_set.
std::string render_key_value(const SpecKey& key, const Spec& spec);

// Fills each unset key of `section` that has an environment variable from it (empty counts as
// unset), else from the variable's old name with a warning in spec.warnings; errors name the
// variable.
Status apply_env_fallbacks(std::string_view section, Spec& spec,
                           const std::function<const char*(const char*)>& getenv);

// A TOML basic string: quotes, backslashes and every control character escaped, so any text a
// user put in a spec reads back unchanged.
std::string toml_quoted(std::string_view s);

// The reference: one Markdown table per section, every key with its type, range, default,
// environment variable and help (docs/spec-reference.md is this text).
std::string spec_keys_markdown();

}  // namespace memplace
