#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Populate speed of memplace against memhog and stress-ng, and the sampler's CPU cost.
# Usage: scripts/bench.sh [--size 2g] [--runs 5] [--node 0] [--cpu 0] [--no-warmup] [--build DIR]
# See scripts/bench.py for how each tool is timed. Prints medians and ratios; asserts nothing.
exec python3 "$(dirname "$0")/bench.py" "$@"
