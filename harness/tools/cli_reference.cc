// SPDX-License-Identifier: GPL-2.0-only
#include "cli_reference.h"

#include <vector>

namespace memplace::cli_reference {
namespace {

// The commands and options a user sees: the internal ones sit in the "" group.
std::vector<const CLI::App*> listed_commands(const CLI::App& app) {
  std::vector<const CLI::App*> out;
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App* s) { return true; }))
    if (!sub->get_group().empty()) out.push_back(sub);
  return out;
}

std::vector<const CLI::Option*> listed_options(const CLI::App& cmd) {
  std::vector<const CLI::Option*> out;
  for (const CLI::Option* o : cmd.get_options())
    if (!o->get_group().empty() && o->get_name() != "--help" && o->get_name() != "-h,--help")
      out.push_back(o);
  return out;
}

// "--size VALUE" / "spec" / "-q, --quiet": how the option is written.
std::string usage(const CLI::Option& o) {
  if (o.get_positional()) return o.get_name();
  std::string names;
  for (const std::string& s : o.get_snames()) names += (names.empty() ? "-" : ", -") + s;
  for (const std::string& l : o.get_lnames()) names += (names.empty() ? "--" : ", --") + l;
  const std::string type = o.get_type_name();
  return o.get_type_size() == 0 || type.empty() ? names : names + " " + type;
}

std::string md_text(std::string s) {
  std::string out;
  for (char c : s) out += c == '|' ? std::string("\\|") : std::string(1, c);
  return out;
}

// roff: a leading '.' or '\'' would be a request, and '\' and '-' mean something.
std::string roff_text(const std::string& s) {
  std::string out;
  for (char c : s)
    out += c == '\\' ? std::string("\\e") : c == '-' ? std::string("\\-") : std::string(1, c);
  if (!out.empty() && (out[0] == '.' || out[0] == '\'')) out = "\\&" + out;
  return out;
}

std::string man_options(const CLI::App& cmd) {
  std::string out;
  for (const CLI::Option* o : listed_options(cmd))
    out += ".TP\n.B " + roff_text(usage(*o)) + "\n" + roff_text(o->get_description()) + "\n";
  return out;
}

}  // namespace

std::string markdown(const CLI::App& app) {
  std::string out =
      "# Commands\n\nGenerated from memplace's own flag definitions (`memplace reference`); "
      "`make test` fails when this file and `--help` differ. " +
      std::string(app.get_footer()) + "\n";
  for (const CLI::App* cmd : listed_commands(app)) {
    out += "\n## memplace " + cmd->get_name() + "\n\n" + cmd->get_description() + "\n\n";
    out += "| option | meaning |\n|---|---|\n";
    for (const CLI::Option* o : listed_options(*cmd))
      out += "| `" + md_text(usage(*o)) + "` | " + md_text(o->get_description()) + " |\n";
  }
  return out;
}

std::string man_page(const CLI::App& app, const std::string& command, const std::string& version) {
  const std::string title = command.empty() ? "MEMPLACE" : "MEMPLACE-" + command;
  std::string out = ".TH \"" + title + "\" 1 \"\" \"" + roff_text(version) + "\" \"memplace\"\n";
  if (command.empty()) {
    out += ".SH NAME\nmemplace \\- " + roff_text(app.get_description()) + "\n.SH SYNOPSIS\n" +
           ".B memplace\n.I COMMAND\n[OPTIONS]\n.SH COMMANDS\n";
    for (const CLI::App* cmd : listed_commands(app))
      out += ".TP\n.BR memplace\\-" + cmd->get_name() + " (1)\n" +
             roff_text(cmd->get_description()) + "\n";
    return out + ".SH EXIT STATUS\n" + roff_text(app.get_footer()) + "\n";
  }
  for (const CLI::App* cmd : listed_commands(app)) {
    if (cmd->get_name() != command) continue;
    out += ".SH NAME\nmemplace\\-" + command + " \\- " + roff_text(cmd->get_description()) +
           "\n.SH SYNOPSIS\n.B memplace " + command + "\n[OPTIONS]\n.SH OPTIONS\n" +
           man_options(*cmd);
    return out + ".SH EXIT STATUS\n" + roff_text(app.get_footer()) +
           "\n.SH SEE ALSO\n.BR memplace (1)\n";
  }
  return "";
}

}  // namespace memplace::cli_reference
