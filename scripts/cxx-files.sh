#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The C++ sources under clang-format: every .cpp and every C++-only header
# (one that opens a namespace, declares a class or includes gtest). Headers
# shared with the C glue follow checkpatch instead.
cd "$(dirname "$0")/.." || exit 1
git ls-files '*.cpp'
git ls-files '*.h' | xargs grep -l -E '^(namespace|class)\b|^#include <gtest/'
