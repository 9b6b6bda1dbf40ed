// SPDX-License-Identifier: GPL-2.0-only
// What memplace may write where: the one owner of the rules for a results dir's own folders and
// for the directories a command writes into. Nothing is written through a symlink, into a folder
// memplace did not make, or into a directory that holds a user's files.
#pragma once

#include <string>
#include <string_view>

#include "base/result.h"

namespace memplace {

// DIR/NAME as a real directory of memplace's: made when absent; an error (bad input) when it is
// a symlink, a file or anything else, since writing there would write outside the results dir.
Status ensure_owned_subdir(const std::string& dir, const std::string& name);

// DIR as a place to write new results into: absent (made, with its parents) or an empty real
// directory. Anything else is bad input naming `what` ("merge OUT", "--out").
Status claim_new_or_empty_dir(const std::string& dir, const std::string& what);

// The digest a manifest records of its dir's spec.toml ("spec_digest"), so --resume can tell the
// spec it finds from the one the dir was run with.
std::string spec_digest(std::string_view spec_text);

// Before --resume runs anything: DIR's manifest must be one this memplace reads (its
// schema_version), and spec.toml (`spec_text`) the spec it recorded. Errors are bad input naming
// both digests; a dir from before digests were recorded needs a spec with a matrix in it.
Status check_resumable(const std::string& dir, std::string_view spec_text);

// Whether DIR is a results dir memplace made: it holds runs.jsonl or manifest.json as regular
// files (a run, a merge), or it is a testbed run's parent: a kernel subdir's manifest says
// "kind": "testbed". A folder that merely holds results dirs is none of these.
bool is_results_dir(const std::string& dir);

}  // namespace memplace
