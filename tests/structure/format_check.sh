#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Run by every `make test` (ctest clang_format): every C and C++ file git tracks is formatted as
# .clang-format says. Prints the files that are not and how to fix them; exit 1 if any.
#   tests/structure/format_check.sh SOURCE_DIR
set -uo pipefail
cd "${1:?usage: format_check.sh SOURCE_DIR}"
format=$(command -v clang-format || command -v clang-format-14) || {
  echo "clang-format is not installed (scripts/install-deps.sh installs it)"
  exit 1
}
mapfile -t files < <(git ls-files '*.cc' '*.h' '*.c' | grep -v '^tests/fixtures/')
bad=()
for f in "${files[@]}"; do
  "$format" --dry-run -Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done
if [[ ${#bad[@]} -gt 0 ]]; then
  printf 'not formatted: %s\n' "${bad[@]}"
  echo "FAIL: ${#bad[@]} file(s); fix with: clang-format -i FILE..."
  exit 1
fi
echo "ok: ${#files[@]} files formatted as .clang-format says"
