# SPDX-License-Identifier: GPL-2.0
#
# hugedma: huge DMA buffers from the hugetlb pool's 1 GB pages.
#
#   make                 build hugedma.ko (against KDIR) and userspace/
#   make check           install what is missing, build, run every test tier in guests
#   make demo            build, boot a guest with 1 GB pages, provision and show a buffer
#   make lint            checkpatch --strict on the module, schema and ABI docs (and
#                        hugedma(7)) in step, every man page renders without a warning
#   make install         modules_install, userspace/ (hugedmactl, libhugedma, their man
#                        pages, bash completion), admin/ and hugedma(7), on a real
#                        machine; DESTDIR stages it all
#   make bench           boot one guest, print hugedma against the alternatives
#                        (bench/run), then one of the debug kernel counting IOMMU
#                        page-table entries (bench/run --iommu-pages); newest
#                        tables on top of bench/RESULTS.md
#   make uninstall       undo make install
#   make dkms-install    copy the module's source to /usr/src/hugedma-VERSION
#                        (make dkms-source), then dkms add, build and install it for
#                        the running kernel (or DKMS_KVER); DKMS rebuilds it for every
#                        kernel installed later.  make dkms-uninstall: dkms remove
#   make module KERNEL=6.12
#                        build build/kernels/KVER/hugedma.ko for one test kernel:
#                        6.1, 6.12, sid (unstable's newest) or 5.10 (Debian 11's),
#                        each of those two built in its cached chroot, or a
#                        release; each kernel's build lives apart
#   make kernels         the same for every kernel in KERNELS (default "6.1 6.12 sid 5.10")
#   make deb             Debian packages (debian/): dpkg-buildpackage -us -uc -b in a copy
#                        of this tree under build/deb/, which receives the .debs, then
#                        lintian on them (any error or warning fails)
#
# KVER/KDIR default to the kernel this machine's linux-image-amd64 points at
# (bookworm's 6.1, even when tests/deps has installed 6.12 from backports beside
# it), else the newest installed Debian kernel; never the host's running kernel,
# which is not ours to load into.  ./hugedma.ko is built for that kernel.

KVER ?= $(shell tests/kernels default)
KDIR ?= /lib/modules/$(KVER)/build
KERNEL ?=
KERNELS ?= 6.1 6.12 sid 5.10
# W=1 always; check builds pass WERROR=1 so a new warning fails them
WERROR ?=
PREFIX ?= /usr/local
MANDIR ?= $(PREFIX)/share/man
MANPAGES := userspace/hugedmactl.8 admin/hugedma-provision.8 userspace/lib/libhugedma.3 \
	configfs-schema/hugedma.7
CACHE ?= $(or $(HUGEDMA_CACHE),$(or $(XDG_CACHE_HOME),$(HOME)/.cache)/hugedma)
LINUX_SOURCE ?= /usr/src/linux-source-6.1.tar.xz
CHECKPATCH_DIR := $(CACHE)/checkpatch
CHECKPATCH := $(CHECKPATCH_DIR)/scripts/checkpatch.pl
MODULE_SOURCES := $(wildcard module/*.c module/*.h module/include/*.h module/include/uapi/*.h)
# DKMS: what it builds from, no tests, no build outputs
DKMS_VERSION := $(shell sed -n 's/^PACKAGE_VERSION="\(.*\)"$$/\1/p' dkms.conf)
DKMS_SRC ?= /usr/src/hugedma-$(DKMS_VERSION)
DKMS_KVER ?=
DKMS_FILES := dkms.conf Kbuild Makefile LICENSE \
	$(wildcard module/*.c module/*.h module/include/*/*.h)

.PHONY: all module kernels userspace check demo bench lint docs install uninstall clean deps \
	dkms-source dkms-install dkms-uninstall install-docs deb

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
	@set -e; $(if $(filter sid unstable,$(KERNELS)),tests/kernel/suite sid >/dev/null;) \
	$(if $(filter 5.10 bullseye,$(KERNELS)),tests/kernel/suite bullseye >/dev/null;) \
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
	bench/run --iommu-pages

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
	@# the module's files call only down the floors module/hugedma.h lists
	python3 tests/floors.py
	python3 configfs-schema/gen-abi --check
	@# admin/slurm's scripts run under slurmd's /bin/sh (shellcheck: tests/deps)
	shellcheck -s sh admin/slurm/prolog admin/slurm/epilog admin/slurm/taskprolog
	@# man -l renders every page with all of groff's warnings on (-ww), at 80
	@# columns; any output on stderr fails (man-db and groff-base: tests/deps)
	@for m in $(MANPAGES); do \
		err=$$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings=w -E UTF-8 -l -Tutf8 -Z $$m 2>&1 >/dev/null) && \
		[ -z "$$err" ] || { echo "make lint: man -l $$m:"; echo "$$err"; exit 1; } >&2; \
	done

docs:
	python3 configfs-schema/gen-abi

# DESTDIR stages everything, the module too (INSTALL_MOD_PATH)
install: all install-docs
	$(MAKE) -C $(KDIR) M=$(CURDIR) $(if $(DESTDIR),INSTALL_MOD_PATH=$(DESTDIR)) modules_install
	$(MAKE) -C userspace install PREFIX=$(PREFIX)
	$(MAKE) -C admin install PREFIX=$(PREFIX)

install-docs:
	install -D -m 0644 configfs-schema/hugedma.7 $(DESTDIR)$(MANDIR)/man7/hugedma.7

# for sites without DKMS (which removes its own copy with dkms remove)
uninstall:
	rm -f $(DESTDIR)/lib/modules/$(KVER)/updates/hugedma.ko* \
		$(DESTDIR)/lib/modules/$(KVER)/extra/hugedma.ko*
	depmod $(if $(DESTDIR),-b $(DESTDIR)) $(KVER)
	$(MAKE) -C userspace uninstall PREFIX=$(PREFIX)
	$(MAKE) -C admin uninstall PREFIX=$(PREFIX)
	rm -f $(DESTDIR)$(MANDIR)/man7/hugedma.7

# DESTDIR only for dkms-source (staging a package); the dkms steps act on this machine
dkms-source:
	@test -n "$(DKMS_VERSION)" || { echo "make: no PACKAGE_VERSION in dkms.conf" >&2; exit 2; }
	rm -rf $(DESTDIR)$(DKMS_SRC)
	for f in $(DKMS_FILES); do install -D -m 0644 $$f $(DESTDIR)$(DKMS_SRC)/$$f || exit 1; done

dkms-install: dkms-source
	dkms status -m hugedma -v $(DKMS_VERSION) | grep -q . || dkms add -m hugedma -v $(DKMS_VERSION)
	dkms build -m hugedma -v $(DKMS_VERSION) $(if $(DKMS_KVER),-k $(DKMS_KVER))
	dkms install -m hugedma -v $(DKMS_VERSION) $(if $(DKMS_KVER),-k $(DKMS_KVER))

dkms-uninstall:
	dkms remove -m hugedma -v $(DKMS_VERSION) --all
	rm -rf $(DKMS_SRC)

# dpkg-buildpackage writes its results beside the source tree: build a copy of
# this one (what .gitignore does not ignore) in build/deb/hugedma-VERSION, so
# that the .debs land in build/deb/ and nothing is written to the checkout
DEB_DIR := build/deb
DEB_VERSION = $(shell dpkg-parsechangelog -l debian/changelog -S Version)
deb:
	@test "$(DEB_VERSION)" = "$(DKMS_VERSION)" || { echo "make deb: debian/changelog's version" \
		"'$(DEB_VERSION)' is not dkms.conf's PACKAGE_VERSION '$(DKMS_VERSION)'" >&2; exit 2; }
	rm -rf $(DEB_DIR)
	mkdir -p $(DEB_DIR)/hugedma-$(DKMS_VERSION)
	rsync -a --exclude=/.git --exclude=/build/ --filter=':- .gitignore' ./ \
		$(DEB_DIR)/hugedma-$(DKMS_VERSION)/
	cd $(DEB_DIR)/hugedma-$(DKMS_VERSION) && dpkg-buildpackage -us -uc -b
	rm -rf $(DEB_DIR)/hugedma-$(DKMS_VERSION)
	lintian --fail-on error,warning --info $(DEB_DIR)/hugedma_$(DKMS_VERSION)_*.changes
	@ls $(DEB_DIR)/*.deb

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean 2>/dev/null || \
		find . -name '*.o' -o -name '*.ko' -o -name '*.mod*' -o -name '.*.cmd' | xargs rm -f
	$(MAKE) -C userspace clean
	$(MAKE) -C admin clean
	$(MAKE) -C bench clean
	rm -rf build
