# SPDX-License-Identifier: GPL-2.0-only
#
# Kbuild rule for the C++ sources of the xenidc modules: %.o from %.cpp.
# Included by each module's Kbuild. g++ gets the kernel's own C flags (code
# model, no red zone, no FPU/SSE, retpoline/rethunk/SLS, -fcf-protection,
# ftrace, stack protector) minus the C-only ones, plus the freestanding C++
# subset. The object goes through fixdep, objtool and mcount recording like a
# C object, so flag or header changes rebuild it (if_changed_rule, .cmd files).

# g++ matching the kernel's gcc: gcc-12 -> g++-12, x86_64-linux-gnu-gcc-12 -> ...-g++-12
KMOD_CXX ?= $(subst gcc,g++,$(CC))

# Options g++ rejects as C-only (asked once, adapts to the kernel version) ...
cxx-drop := $(shell LC_ALL=C $(KMOD_CXX) $(KBUILD_CPPFLAGS) $(KBUILD_CFLAGS) \
	-x c++ -fsyntax-only /dev/null 2>&1 | sed -n \
	-e "s/.*option '\([^']*\)' is valid for C\/ObjC but not for C++.*/\1/p" \
	-e "s/.*argument '\([^']*\)' is not valid for C++.*/\1/p")
# ... and the known ones, in case the probe above misses some.
cxx-drop += -std=% -Wstrict-prototypes -Wno-pointer-sign -Wdeclaration-after-statement \
	-Werror=implicit-function-declaration -Werror=implicit-int \
	-Werror=incompatible-pointer-types -Werror=strict-prototypes -Werror=designated-init \
	-Wold-style-definition -Wmissing-prototypes -Wno-old-style-declaration -Wno-override-init

# DWARF as the kernel's config asks (c_flags), so an oops in the C++ has
# file:line; pahole cannot encode C++ DWARF as BTF (it would delete the .ko),
# so scripts/build-modules.sh and dkms.conf build without module BTF.
cxx-add := -std=gnu++20 -fno-exceptions -fno-rtti -fno-threadsafe-statics \
	-fno-use-cxa-atexit -nostdinc++ -ffreestanding \
	-Wextra -Wno-unused-parameter -Wno-missing-field-initializers -Werror
# arm64 inherits its flags from c_flags too (-mgeneral-regs-only, -mbranch-
# protection, no unwind tables, the sp_el0 stack guard, patchable entries).
# One more: g++ turns the __atomic builtins (ktl.h) into calls to libgcc's
# __aarch64_ldadd4_acq_rel & co. (outline atomics, Debian's default), which
# the kernel does not have; inline they are LL/SC, which every ARMv8 CPU runs.
cxx-add-$(CONFIG_ARM64) := -mno-outline-atomics

# c_flags holds the depfile, -nostdinc, the kernel's include path and flags,
# ccflags-y and KBUILD_MODNAME. Its three '-include <kernel header>' words
# redefine C++ keywords (inline, noinline...), so they go.
cxx_flags = $(filter-out -include %.h $(cxx-drop),$(c_flags)) $(cxx-add) $(cxx-add-y) \
	$(CXXFLAGS_$(target-stem).o)

# Module constructors never run (CONFIG_CONSTRUCTORS is off for modules) and
# the kernel has no unwinder for C++ exceptions: refuse objects needing either.
cxx_bad_sections = \.(init_array|fini_array|ctors|dtors|eh_frame|gcc_except_table)
cxx_check_sections = ; if $(READELF) -SW $@ | grep -q -E ' $(cxx_bad_sections)'; then \
	echo >&2 "$@: has $$($(READELF) -SW $@ | grep -o -E ' $(cxx_bad_sections)' | tr -d ' ' | tr '\n' ' ')"; \
	echo >&2 "  (global constructors and exceptions are not supported in the kernel)"; \
	rm -f $@; false; fi

quiet_cmd_cxx_o_cpp = CXX $(quiet_modtag) $@
      cmd_cxx_o_cpp = $(KMOD_CXX) $(cxx_flags) -c -o $@ $< $(cxx_check_sections) $(cmd_objtool)

define rule_cxx_o_cpp
	$(call cmd_and_fixdep,cxx_o_cpp)
	$(call cmd,gen_objtooldep)
	$(call cmd,record_mcount)
endef

$(obj)/%.o: $(src)/%.cpp FORCE
	$(call if_changed_rule,cxx_o_cpp)

# exports.c of a module: EXPORT_SYMBOL_GPL for each global function its C++
# objects define in namespace xenidc (see scripts/cxx-exports.sh).
quiet_cmd_cxx_exports = GEN     $@
      cmd_cxx_exports = $(CONFIG_SHELL) $(src)/../scripts/cxx-exports.sh $(NM) \
			$(filter %.o,$(real-prereqs)) > $@

# Every module includes the shared headers.
ccflags-y += -I$(src)/../include -Werror

# KASAN registers global variables from a module constructor. Our modules have
# no constructors at all (checked on every .ko), so they go without KASAN's
# global-variable checks; heap and stack checking stay on.
CFLAGS_KASAN := $(subst asan-globals=1,asan-globals=0,$(CFLAGS_KASAN))
