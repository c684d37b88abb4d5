// SPDX-License-Identifier: GPL-2.0
/*
 * The user-space driver's route to a hugedma buffer, end to end: QEMU's edu
 * device bound to vfio-pci, its group in a type1 container, the buffer mapped
 * from /dev/hugedma/NAME and into the container with hugedma_vfio_map() at an
 * IOVA this program chooses, and edu's DMA engine, driven through its BAR0
 * (a VFIO region mapping), moving bytes at both ends of every page in both
 * directions.  Around it: VFIO's pins take no pool page and are charged to
 * VmLck, a DMA outside the mapping or after the unmap faults in the IOMMU and
 * writes nothing, and unmapping or closing the container returns the charge.
 *
 *   hugedma_vfio_edu NAME BDF [--hold]
 *
 * NAME: an enabled buffer of at least one page; BDF: edu (1234:11e8), bound
 * to vfio-pci behind an IOMMU.  Run as root, by tests/guest/test_vfio.py.
 * With --hold: map the buffer into the container, then let go of everything
 * of hugedma's (munmap, close) and print "# holding"; wait for a line on
 * standard input (the caller disables the buffer meanwhile), check that edu
 * still reaches the pinned pages, and unmap.
 * Debian's kernels have no iommufd (/dev/iommu): this is the type1 container.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <linux/pci_regs.h>
#include <linux/vfio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <hugedma.h>

#include "harness.h"

/* edu (QEMU hw/misc/edu.c): BAR0 registers and its DMA window */
#define EDU_IDENT	0x00		/* 0xRRrr00ed */
#define EDU_LIVENESS	0x04		/* reads back the inverse of what was written */
#define EDU_DMA_SRC	0x80
#define EDU_DMA_DST	0x88
#define EDU_DMA_COUNT	0x90
#define EDU_DMA_CMD	0x98
#define EDU_CMD_START	0x1
#define EDU_CMD_TO_RAM	0x2		/* edu's window to memory; clear: memory to edu */
#define EDU_BUF		0x40000
/* QEMU 7.2 aborts on a transfer of 4096 bytes (an off-by-one): stay below */
#define LEN		4095

static uint64_t size, page_size, nr_pages;
static volatile uint8_t *bar;
static size_t bar_size;
static uint8_t *buf;
static uint64_t iova;
static int container = -1, group = -1, device = -1;

static void mmio_w64(unsigned int off, uint64_t v)
{
	*(volatile uint64_t *)(bar + off) = v;
}

static uint64_t mmio_r64(unsigned int off)
{
	return *(volatile uint64_t *)(bar + off);
}

static uint32_t mmio_r32(unsigned int off)
{
	return *(volatile uint32_t *)(bar + off);
}

static void mmio_w32(unsigned int off, uint32_t v)
{
	*(volatile uint32_t *)(bar + off) = v;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* one transfer of edu's engine; 0, or -ETIMEDOUT when it never finishes */
static int edu_dma(uint64_t src, uint64_t dst, uint32_t len, bool to_ram)
{
	int i;

	__sync_synchronize();	/* the CPU's stores reach memory before the device reads */
	mmio_w64(EDU_DMA_SRC, src);
	mmio_w64(EDU_DMA_DST, dst);
	mmio_w64(EDU_DMA_COUNT, len);
	mmio_w64(EDU_DMA_CMD, EDU_CMD_START | (to_ram ? EDU_CMD_TO_RAM : 0));
	for (i = 0; i < 5000; i++) {
		if (!(mmio_r64(EDU_DMA_CMD) & EDU_CMD_START)) {
			__sync_synchronize();
			return 0;
		}
		sleep_ms(1);
	}
	return -ETIMEDOUT;
}

/* device reads len bytes at IOVA src into its window */
static int dev_read(uint64_t src, uint32_t len)
{
	return edu_dma(src, EDU_BUF, len, false);
}

/* device writes len bytes of its window at IOVA dst */
static int dev_write(uint64_t dst, uint32_t len)
{
	return edu_dma(EDU_BUF, dst, len, true);
}

/* The IOMMU's fault interrupts so far (the DMAR log lines are rate-limited). */
static long dmar_faults(void)
{
	char line[1024], *p, *end;
	long n = 0;
	FILE *f;

	f = fopen("/proc/interrupts", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strstr(line, "DMAR") && !strstr(line, "dmar"))
			continue;
		p = strchr(line, ':');
		if (!p)
			continue;
		for (p++;; p = end) {
			long v = strtol(p, &end, 10);

			if (end == p)
				break;
			n += v;
		}
	}
	fclose(f);
	return n;
}

/*
 * Whether a transfer (write: to memory at addr; else from it) raises an IOMMU
 * fault.  QEMU's VT-d raises none while an earlier fault of the device is
 * pending, so one that raised none is tried again after a pause: a mapped
 * address never faults, however often it is tried.
 */
static bool dma_faults(uint64_t addr, bool write)
{
	int try, i;

	for (try = 0; try < 3; try++) {
		long before = dmar_faults();

		if (write ? dev_write(addr, LEN) : dev_read(addr, LEN))
			return false;
		for (i = 0; i < 20; i++) {
			if (dmar_faults() > before)
				return true;
			sleep_ms(100);
		}
		sleep_ms(500);
	}
	return false;
}

static long vmlck_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f;

	f = fopen("/proc/self/status", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmLck: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

static void fill(uint8_t *p, size_t len, uint32_t seed)
{
	size_t i;

	for (i = 0; i < len; i++) {
		seed = seed * 1103515245 + 12345;
		p[i] = seed >> 16;
	}
}

/* a byte-for-byte comparison, with where it first differs */
static bool same(const uint8_t *got, const uint8_t *want, size_t len, const char *what)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (got[i] != want[i])
			break;
	if (i == len)
		return true;
	t_diag("%s: byte %zu is 0x%02x, want 0x%02x", what, i, got[i], want[i]);
	return false;
}

/*
 * Page i both ways: bytes at its start go through edu to its end, and bytes
 * at its end to its start; the destination is first set to something else.
 */
static bool round_trips(uint64_t i, uint32_t seed)
{
	uint8_t want[LEN], other[LEN];
	uint64_t start = i * page_size, end = start + page_size - LEN;
	bool ok = true;
	char what[64];

	fill(want, LEN, seed);
	memset(other, 0, LEN);
	memcpy(buf + start, want, LEN);
	memcpy(buf + end, other, LEN);
	snprintf(what, sizeof(what), "page %" PRIu64 " start->end", i);
	ok &= !dev_read(iova + start, LEN) && !dev_write(iova + end, LEN) &&
		same(buf + end, want, LEN, what);

	fill(want, LEN, ~seed);
	memcpy(buf + end, want, LEN);
	memcpy(buf + start, other, LEN);
	snprintf(what, sizeof(what), "page %" PRIu64 " end->start", i);
	ok &= !dev_read(iova + end, LEN) && !dev_write(iova + start, LEN) &&
		same(buf + start, want, LEN, what);
	return ok;
}

/* the container's IOVA ranges: the lowest page-aligned start where size fits */
static int choose_iova(uint64_t *out)
{
	struct vfio_iommu_type1_info *info;
	struct vfio_iommu_type1_info_cap_iova_range *ranges = NULL;
	struct vfio_info_cap_header *hdr;
	uint32_t argsz = sizeof(*info), i, off;
	int ret = -ENOENT;

	info = calloc(1, argsz);
	if (!info)
		return -ENOMEM;
	info->argsz = argsz;
	if (ioctl(container, VFIO_IOMMU_GET_INFO, info))
		goto out;
	if (info->argsz > argsz) {	/* capabilities follow: ask again with room */
		struct vfio_iommu_type1_info *bigger = realloc(info, info->argsz);

		if (!bigger)
			goto out;
		info = bigger;
		argsz = info->argsz;
		memset(info, 0, argsz);
		info->argsz = argsz;
		if (ioctl(container, VFIO_IOMMU_GET_INFO, info))
			goto out;
	}
	t_diag("IOMMU page sizes 0x%" PRIx64, (uint64_t)info->iova_pgsizes);
	if (!(info->flags & VFIO_IOMMU_INFO_CAPS) || !info->cap_offset)
		goto out;
	for (off = info->cap_offset; off; off = hdr->next) {
		hdr = (struct vfio_info_cap_header *)((char *)info + off);
		if (hdr->id == VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE) {
			ranges = (void *)hdr;
			break;
		}
	}
	if (!ranges)
		goto out;
	for (i = 0; i < ranges->nr_iovas; i++) {
		/* not 0, and a page below and above it left unmapped for the fault checks */
		uint64_t lo = ranges->iova_ranges[i].start, hi = ranges->iova_ranges[i].end;
		uint64_t at = ((lo + page_size) / page_size) * page_size;

		t_diag("IOVA range 0x%" PRIx64 "-0x%" PRIx64, lo, hi);
		if (at > lo && at + size + page_size - 1 <= hi && at + size > at) {
			*out = at;
			ret = 0;
			break;
		}
	}
out:
	free(info);
	return ret;
}

static int group_of(const char *bdf)
{
	char path[256], link[256];
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group", bdf);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return -errno;
	link[n] = '\0';
	return atoi(basename(link));
}

/* the container, its group, edu's device fd, BAR0 mapped, bus mastering on */
static bool vfio_open(const char *bdf)
{
	struct vfio_group_status status = { .argsz = sizeof(status) };
	struct vfio_region_info reg = { .argsz = sizeof(reg) };
	char path[64];
	uint16_t cmd;
	off_t cfg;
	int nr;

	container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (!t_ok(container >= 0, "open /dev/vfio/vfio"))
		return false;
	if (!t_ok(ioctl(container, VFIO_GET_API_VERSION) == VFIO_API_VERSION, "VFIO API version") ||
	    !t_ok(ioctl(container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) == 1,
		  "the container offers the type1v2 IOMMU"))
		return false;
	nr = group_of(bdf);
	snprintf(path, sizeof(path), "/dev/vfio/%d", nr);
	group = open(path, O_RDWR | O_CLOEXEC);
	if (!t_ok(nr >= 0 && group >= 0, "open %s (%s's IOMMU group)", path, bdf))
		return false;
	if (!t_ok(!ioctl(group, VFIO_GROUP_GET_STATUS, &status) &&
		  (status.flags & VFIO_GROUP_FLAGS_VIABLE), "the group is viable") ||
	    !t_ok(!ioctl(group, VFIO_GROUP_SET_CONTAINER, &container),
		  "the group joins the container") ||
	    !t_ok(!ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), "type1v2 IOMMU set"))
		return false;
	device = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, bdf);
	if (!t_ok(device >= 0, "device fd of %s", bdf))
		return false;

	reg.index = VFIO_PCI_BAR0_REGION_INDEX;
	if (!t_ok(!ioctl(device, VFIO_DEVICE_GET_REGION_INFO, &reg) &&
		  (reg.flags & VFIO_REGION_INFO_FLAG_MMAP) && reg.size >= 0x100,
		  "BAR0 is a mappable region (%" PRIu64 " bytes)", (uint64_t)reg.size))
		return false;
	bar = mmap(NULL, reg.size, PROT_READ | PROT_WRITE, MAP_SHARED, device, reg.offset);
	if (!t_ok(bar != MAP_FAILED, "mmap BAR0")) {
		bar = NULL;
		return false;
	}
	bar_size = reg.size;
	t_ok((mmio_r32(EDU_IDENT) & 0xff) == 0xed, "BAR0 is edu's (ident 0x%08x)",
	     mmio_r32(EDU_IDENT));
	mmio_w32(EDU_LIVENESS, 0x12345678);
	t_ok(mmio_r32(EDU_LIVENESS) == ~0x12345678u, "edu's liveness register answers");

	memset(&reg, 0, sizeof(reg));
	reg.argsz = sizeof(reg);
	reg.index = VFIO_PCI_CONFIG_REGION_INDEX;
	if (ioctl(device, VFIO_DEVICE_GET_REGION_INFO, &reg))
		return t_ok(false, "config space region");
	cfg = reg.offset;
	if (pread(device, &cmd, 2, cfg + PCI_COMMAND) != 2)
		return t_ok(false, "read PCI_COMMAND");
	cmd |= PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER;
	return t_ok(pwrite(device, &cmd, 2, cfg + PCI_COMMAND) == 2, "bus mastering on");
}

static void vfio_close(void)
{
	if (bar)
		munmap((void *)bar, bar_size);
	bar = NULL;
	if (device >= 0)
		close(device);
	if (group >= 0)
		close(group);
	if (container >= 0)
		close(container);
	device = -1;
	group = -1;
	container = -1;
}

struct pool {
	long free, resv, total;
};

static struct pool pool_now(void)
{
	struct pool p = {
		t_pool(page_size, "free_hugepages"),
		t_pool(page_size, "resv_hugepages"),
		t_pool(page_size, "nr_hugepages"),
	};
	return p;
}

static bool pool_same(struct pool a, struct pool b, const char *when)
{
	return t_ok(a.free == b.free && a.resv == b.resv && a.total == b.total,
		    "pool %s: free %ld resv %ld total %ld, as before (%ld %ld %ld)", when,
		    b.free, b.resv, b.total, a.free, a.resv, a.total);
}

/* what the helper refuses before the kernel sees it, and what VFIO refuses */
static void bad_input(long lck0, struct pool p0)
{
	uint64_t ps = (uint64_t)sysconf(_SC_PAGESIZE);
	void *none;

	t_ret(hugedma_vfio_map(-1, buf, size, iova, PROT_READ), -EINVAL, "map: no container");
	t_ret(hugedma_vfio_map(container, NULL, size, iova, PROT_READ), -EINVAL, "map: NULL");
	t_ret(hugedma_vfio_map(container, buf + 1, ps, iova, PROT_READ), -EINVAL,
	      "map: misaligned address");
	t_ret(hugedma_vfio_map(container, buf, ps + 1, iova, PROT_READ), -EINVAL,
	      "map: misaligned length");
	t_ret(hugedma_vfio_map(container, buf, ps, iova + 1, PROT_READ), -EINVAL,
	      "map: misaligned IOVA");
	t_ret(hugedma_vfio_map(container, buf, 0, iova, PROT_READ), -EINVAL, "map: length 0");
	t_ret(hugedma_vfio_map(container, buf, ps, UINT64_MAX - ps + 1, PROT_READ), -EINVAL,
	      "map: IOVA range wraps");
	t_ret(hugedma_vfio_map(container, buf, size, iova, 0), -EINVAL, "map: prot 0");
	t_ret(hugedma_vfio_map(container, buf, size, iova, PROT_READ | PROT_EXEC), -EINVAL,
	      "map: PROT_EXEC");
	/* the kernel's refusals */
	t_ret(hugedma_vfio_map(container, buf, size, 1ULL << 62, PROT_READ), -EINVAL,
	      "map: IOVA outside the container's ranges (VFIO)");
	none = mmap(NULL, ps, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (none != MAP_FAILED) {
		t_ret(hugedma_vfio_map(container, none, ps, iova, PROT_READ), -EFAULT,
		      "map: memory without access (VFIO)");
		munmap(none, ps);
	}
	t_ret(hugedma_vfio_unmap(-1, iova, size), -EINVAL, "unmap: no container");
	t_ret(hugedma_vfio_unmap(container, iova, 0), -EINVAL, "unmap: length 0");
	t_ret(hugedma_vfio_unmap(container, iova + 1, size), -EINVAL, "unmap: misaligned");
	t_ret(hugedma_vfio_unmap(container, iova, size), -ENOENT, "unmap: nothing mapped");
	t_ok(vmlck_kb() == lck0, "refusals charge no locked memory (VmLck %ld kB)", vmlck_kb());
	pool_same(p0, pool_now(), "after the refusals");
}

/*
 * The buffer's pages in the container after the buffer let go of them: they
 * stay pinned, out of the pool, until the unmap.
 */
static void hold(struct hugedma *h, long lck0)
{
	char line[16];
	long faults;

	if (!t_ret(hugedma_vfio_map(container, buf, size, iova, PROT_READ | PROT_WRITE), 0,
		   "map the buffer into the container"))
		return;
	t_ok(round_trips(0, (uint32_t)getpid()), "page 0 moves bytes");
	t_ret(hugedma_unmap(h, buf, size), 0, "unmap the buffer from this process");
	hugedma_close(h);
	buf = NULL;
	t_ok(vmlck_kb() - lck0 == (long)(size >> 10), "VmLck still charged: %ld kB",
	     vmlck_kb() - lck0);
	printf("# holding\n");
	fflush(stdout);
	if (!t_ok(fgets(line, sizeof(line), stdin) != NULL, "the caller says go on"))
		return;
	/* memory that is no longer the buffer's, but pinned: never reused */
	faults = dmar_faults();
	t_ok(!dev_read(iova, LEN) && !dev_write(iova + size - LEN, LEN),
	     "edu still moves bytes at the mapping's ends");
	sleep_ms(500);
	t_ok(dmar_faults() == faults, "... without an IOMMU fault: the pages are still mapped");
	t_ret(hugedma_vfio_unmap(container, iova, size), 0, "unmap from the container");
	t_ok(vmlck_kb() == lck0, "VmLck back to %ld kB", lck0);
}

int main(int argc, char **argv)
{
	const char *name, *bdf;
	struct hugedma_info info;
	struct hugedma *h;
	static uint8_t marks[LEN];
	struct pool p0;
	long lck0, lck;
	uint32_t seed;
	bool ok, holding;
	uint64_t i;
	int ret;

	holding = argc == 4 && !strcmp(argv[3], "--hold");
	t_init(argc, argv, holding ? 3 : 2, "NAME BDF [--hold]");
	name = argv[1];
	bdf = argv[2];
	seed = (uint32_t)time(NULL) ^ (uint32_t)getpid();

	ret = hugedma_open(name, O_RDWR, &h);
	if (!t_ret(ret, 0, "open %s", name))
		return t_done();
	if (!t_ret(hugedma_query(h, &info), 0, "query"))
		return t_done();
	size = info.size;
	page_size = info.page_size;
	nr_pages = info.nr_pages;
	ret = hugedma_map(h, 0, 0, PROT_READ | PROT_WRITE, (void **)&buf);
	if (!t_ret(ret, 0, "map %s: %" PRIu64 " pages of %" PRIu64 " bytes", name, nr_pages,
		   page_size))
		return t_done();
	t_diag("iommufd: %s", access("/dev/iommu", F_OK) ? "none in this kernel (no /dev/iommu)"
		: "present (this program uses the type1 container)");

	if (!vfio_open(bdf) || !t_ret(choose_iova(&iova), 0, "an IOVA range holds the buffer"))
		goto out;
	t_diag("IOVA 0x%" PRIx64 "-0x%" PRIx64, iova, iova + size - 1);

	p0 = pool_now();
	lck0 = vmlck_kb();
	if (holding) {
		hold(h, lck0);
		vfio_close();
		return t_done();
	}
	bad_input(lck0, p0);

	/* the mapping: the buffer's own pages pinned, no pool page taken */
	if (!t_ret(hugedma_vfio_map(container, buf, size, iova, PROT_READ | PROT_WRITE), 0,
		   "VFIO_IOMMU_MAP_DMA of the whole buffer at IOVA 0x%" PRIx64, iova))
		goto out;
	pool_same(p0, pool_now(), "after MAP_DMA (VFIO's pins take no pool page)");
	lck = vmlck_kb();
	t_ok(lck - lck0 == (long)(size >> 10), "VmLck grew by the buffer's size: %ld kB", lck - lck0);
	t_ret(hugedma_vfio_map(container, buf, size, iova, PROT_READ), -EEXIST,
	      "map again at the same IOVA (VFIO)");
	if (nr_pages > 1)
		t_ret(hugedma_vfio_unmap(container, iova, page_size), -EINVAL,
		      "unmap of one page of the mapping: type1v2 cuts none (VFIO)");

	/* bytes at both ends of every page, both directions */
	ok = true;
	for (i = 0; i < nr_pages; i++)
		ok &= t_ok(round_trips(i, seed + (uint32_t)i),
			   "page %" PRIu64 ": %d bytes at both ends, through edu both ways", i, LEN);
	if (!ok)
		t_diag("seed %u", seed);

	/* outside the mapping: faulted, and nothing written */
	memset(buf, 0xa5, LEN);
	memset(buf + size - LEN, 0x5a, LEN);
	t_diag("fault probes at IOVA 0x%" PRIx64 " and 0x%" PRIx64, iova + size, iova - page_size);
	t_ok(dma_faults(iova + size, false), "a DMA read past the mapping's end faults");
	t_ok(dma_faults(iova - page_size, true), "a DMA write below the mapping's start faults");
	t_ok(buf[0] == 0xa5 && buf[size - 1] == 0x5a, "the buffer's ends are untouched");
	t_ok(round_trips(0, seed ^ 0x5555), "page 0 still moves bytes after the faults");

	/* unmap: the charge returns, the device reaches the pages no more */
	if (!t_ret(hugedma_vfio_unmap(container, iova, size), 0, "VFIO_IOMMU_UNMAP_DMA"))
		goto out;
	t_ok(vmlck_kb() == lck0, "VmLck back to %ld kB after the unmap", lck0);
	pool_same(p0, pool_now(), "after UNMAP_DMA");
	/* edu's window holds page 0's last transfer, random bytes */
	memset(buf, 0x3c, LEN);
	memset(marks, 0x3c, LEN);
	t_ok(dma_faults(iova, true), "a DMA write to the unmapped IOVA faults");
	t_ok(same(buf, marks, LEN, "page 0 after the unmap"),
	     "... and writes nothing into the buffer");
	t_ok(dma_faults(iova + size - LEN, false), "a DMA read of the unmapped IOVA faults");
	t_ret(hugedma_vfio_unmap(container, iova, size), -ENOENT, "unmap again");

	/* mapped again, then the container closed with the mapping in it */
	if (t_ret(hugedma_vfio_map(container, buf, size, iova, PROT_READ | PROT_WRITE), 0,
		  "map again after the unmap")) {
		t_ok(round_trips(nr_pages - 1, seed ^ 0xaaaa), "the last page moves bytes again");
		t_ok(vmlck_kb() - lck0 == (long)(size >> 10), "VmLck charged again");
	}
	vfio_close();
	t_ok(vmlck_kb() == lck0, "closing the device, group and container returns VmLck (%ld kB)",
	     vmlck_kb());
	pool_same(p0, pool_now(), "after closing the container");
out:
	vfio_close();
	t_ret(hugedma_unmap(h, buf, size), 0, "unmap the buffer");
	hugedma_close(h);
	return t_done();
}
