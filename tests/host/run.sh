#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The host layer: builds the core and its tests for userspace (ASan, UBSan)
# with CMake and runs them; one result per GoogleTest case.
set -uo pipefail
. "$(dirname "$0")/../../scripts/lib.sh"

B=$XENIDC_BUILD/host
mkdir -p "$B"
if ! { cmake -S "$XENIDC_ROOT/tests" -B "$B" -DCMAKE_BUILD_TYPE=Debug >"$B/cmake.log" 2>&1 &&
	make -C "$B" -j"$(nproc)" >"$B/build.log" 2>&1; }; then
	tail -30 "$B/cmake.log" "$B/build.log"
	result fail "host tests build"
	summary host
	exit 1
fi
result pass "host tests build (ASan, UBSan, -Werror)"

XML=$B/host_tests.xml
rm -f "$XML"
"$B/host_tests" --gtest_output=xml:"$XML" >"$B/host_tests.log" 2>&1
rc=$?
if [ ! -s "$XML" ]; then
	tail -40 "$B/host_tests.log"
	result fail "host tests ran to completion" "exit $rc, see $B/host_tests.log"
	summary host
	exit 1
fi
# One line per case: "<suite>.<name> <pass|fail|skip>"
python3 - "$XML" <<'PY' >"$B/cases.txt"
import sys, xml.etree.ElementTree as ET
for tc in ET.parse(sys.argv[1]).getroot().iter("testcase"):
    st = "fail" if tc.find("failure") is not None else \
         "skip" if tc.get("result") == "skipped" or tc.find("skipped") is not None else "pass"
    print(f'{tc.get("classname")}.{tc.get("name")} {st}')
PY
while read -r name st; do result "$st" "$name"; done <"$B/cases.txt"
# Every case passing is not enough: LeakSanitizer reports at exit, after the
# XML was written, and a crash during teardown ends the process too.
if [ $rc = 0 ]; then
	result pass "host tests exited 0 (no sanitizer report at exit)"
else
	grep -B2 -A10 'Failure\|ERROR: \(Address\|Leak\)Sanitizer\|runtime error' "$B/host_tests.log" | head -60
	result fail "host tests exited 0 (no sanitizer report at exit)" "exit $rc, see $B/host_tests.log"
fi
summary host
