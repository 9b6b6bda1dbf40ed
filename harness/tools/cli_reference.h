// SPDX-License-Identifier: GPL-2.0-only
// The command reference, made from the same CLI11 definitions as --help: docs/commands.md (a
// test keeps the two the same) and the man pages memplace(1), memplace-COMMAND(1).
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace memplace::cli_reference {

// Every listed command and flag as Markdown.
std::string markdown(const CLI::App& app);
// memplace(1) when `command` is empty, else memplace-COMMAND(1); "" for an unknown command.
std::string man_page(const CLI::App& app, const std::string& command, const std::string& version);

}  // namespace memplace::cli_reference
