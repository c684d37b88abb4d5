# SPDX-License-Identifier: GPL-2.0
#
# hugedma: huge DMA buffers from the hugetlb pool's 1 GB pages.
#
#   make                 build hugedma.ko (against KDIR) and userspace/
#   make check           install what is missing, build, run every test tier in guests
#   make demo            build, boot a guest with 1 GB pages, provision and show a buffer
#   make bench           boot one guest, print hugedma against the alternatives
#                        (bench/run; newest table on top of bench/RESULTS.md)
#   make lint            checkpatch --strict on the module, schema and ABI docs in step
#   make install         modules_install + userspace and admin/ install (on a real machine)
#   make uninstall       undo make install
#   make module KERNEL=6.12
#                        build build/kernels/KVER/hugedma.ko for one test kernel:
#                        6.1, 6.12, sid (unstable's newest, built in its cached
#                        chroot) or a release; each kernel's build lives apart
#   make kernels         the same for every kernel in KERNELS (default "6.1 6.12 sid")
#
# KVER/KDIR default to the kernel this machine's linux-image-amd64 points at
# (bookworm's 6.1, even when tests/deps has installed 6.12 from backports beside
# it), else the newest installed Debian kernel; never the host's running kernel,
# which is not ours to load into.  ./hugedma.ko is built for that kernel.

KVER ?= $(shell tests/kernels default)
KDIR ?= /lib/modules/$(KVER)/build
KERNEL ?=
KERNELS ?= 6.1 6.12 sid
# W=1 always; check builds pass WERROR=1 so a new warning fails them
WERROR ?=
PREFIX ?= /usr/local
CACHE ?= $(or $(HUGEDMA_CACHE),$(or $(XDG_CACHE_HOME),$(HOME)/.cache)/hugedma)
LINUX_SOURCE ?= /usr/src/linux-source-6.1.tar.xz
CHECKPATCH_DIR := $(CACHE)/checkpatch
CHECKPATCH := $(CHECKPATCH_DIR)/scripts/checkpatch.pl
MODULE_SOURCES := $(wildcard module/*.c module/*.h module/include/*.h module/include/uapi/*.h)

.PHONY: all module kernels userspace check demo bench lint docs install uninstall clean deps

all: module userspace

ifneq ($(KERNEL),)
module:
	tests/kernel/build $(if $(WERROR),--werror) $(KERNEL)
else
module:
	@test -d "$(KDIR)" || { echo "make: no kernel build tree at '$(KDIR)' (KVER='$(KVER)'); run tests/deps or set KDIR" >&2; exit 2; }
	$(MAKE) -C $(KDIR) M=$(CURDIR) W=1 $(if $(WERROR),KCFLAGS=-Werror) modules
endif

kernels:
	@set -e; $(if $(filter sid unstable,$(KERNELS)),tests/kernel/sid >/dev/null;) \
	for k in $(KERNELS); do tests/kernel/build $(if $(WERROR),--werror) $$k; done

userspace:
	$(MAKE) -C userspace
	$(MAKE) -C admin PREFIX=$(PREFIX)

deps:
	tests/deps

check:
	tests/check

demo:
	tests/demo

bench:
	bench/run

# checkpatch and its data files come from Debian's linux-source package; without
# spelling.txt and const_structs.checkpatch it silently skips those checks.
$(CHECKPATCH):
	@test -f $(LINUX_SOURCE) || { echo "make lint: $(LINUX_SOURCE) is missing; run tests/deps" >&2; exit 2; }
	mkdir -p $(CHECKPATCH_DIR)
	tar -xJf $(LINUX_SOURCE) -C $(CHECKPATCH_DIR) --strip-components=1 \
		$(patsubst %,linux-source-6.1/%,scripts/checkpatch.pl \
		scripts/spelling.txt scripts/const_structs.checkpatch Documentation/dev-tools/checkpatch.rst)
	touch $@

lint: $(CHECKPATCH)
	$(CHECKPATCH) --no-tree --strict --quiet --show-types --terse \
		-f $(filter-out module/compat.h,$(MODULE_SOURCES))
	@# compat.h is the one place that tests kernel versions (issue: one header)
	$(CHECKPATCH) --no-tree --strict --quiet --show-types --terse \
		--ignore LINUX_VERSION_CODE,CONSTANT_COMPARISON -f module/compat.h
	@! grep -n LINUX_VERSION_CODE $(filter-out module/compat.h,$(MODULE_SOURCES)) || \
		{ echo "make lint: kernel version tests belong in module/compat.h only" >&2; exit 1; }
	python3 configfs-schema/gen-abi --check

docs:
	python3 configfs-schema/gen-abi

install: all
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules_install
	$(MAKE) -C userspace install PREFIX=$(PREFIX)
	$(MAKE) -C admin install PREFIX=$(PREFIX)

# for sites without DKMS (which removes its own copy with dkms remove)
uninstall:
	rm -f /lib/modules/$(KVER)/updates/hugedma.ko /lib/modules/$(KVER)/extra/hugedma.ko
	depmod $(KVER)
	$(MAKE) -C userspace uninstall PREFIX=$(PREFIX)
	$(MAKE) -C admin uninstall PREFIX=$(PREFIX)

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean 2>/dev/null || \
		find . -name '*.o' -o -name '*.ko' -o -name '*.mod*' -o -name '.*.cmd' | xargs rm -f
	$(MAKE) -C userspace clean
	$(MAKE) -C admin clean
	$(MAKE) -C bench clean
	rm -rf build
