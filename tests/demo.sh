#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Runs inside the test guest (tests/demo): an administrator's session with hugedma.
set -euo pipefail
ko=${HUGEDMA_KO:-$PWD/hugedma.ko}
pool=/sys/kernel/mm/hugepages/hugepages-1048576kB
buf=/sys/kernel/config/hugedma/buffers/dma0
edu=0000:00:10.0

say() { printf '\n## %s\n' "$*"; }
run() { printf '# %s\n' "$*"; eval "$@"; }

say "The 1 GB hugetlb pool, reserved at boot (hugepagesz=1G hugepages=3)"
run "grep . $pool/nr_hugepages $pool/free_hugepages"

say "Load hugedma: a configfs tree to configure, a sysfs class to publish"
run "insmod $ko"
run "find /sys/kernel/config/hugedma"
run "userspace/hugedmactl pool"
run "ls /sys/class/hugedma"

say "Create a 2 GB buffer of 1 GB pages and enable it"
run "mkdir $buf"
run "echo 2G > $buf/size"
run "grep -s . $buf/* || true"
run "time echo 1 > $buf/enable"
run "cat $buf/state"
run "cat $pool/free_hugepages"

say "What the consuming PCIe driver reads (phys_addrs is root-only)"
run "ls -l /sys/class/hugedma/dma0/"
run "grep . /sys/class/hugedma/dma0/{size,page_size,nr_pages,numa_node,state}"
run "userspace/hugedmactl list"
run "cat /sys/class/hugedma/dma0/phys_addrs"

say "Cross-check with the kernel's own page flags (/proc/kpageflags)"
for a in $(cat /sys/class/hugedma/dma0/phys_addrs); do
	pfn=$((a / 4096))
	flags=$(od -An -t u8 -j $((pfn * 8)) -N 8 /proc/kpageflags | tr -d ' ')
	huge=$(((flags >> 17) & 1)) head=$(((flags >> 15) & 1))
	printf '%s  pfn %#x  KPF_HUGE=%d KPF_COMPOUND_HEAD=%d  -> %s\n' "$a" "$pfn" "$huge" "$head" \
		"$([ "$huge$head" = 11 ] && echo 'a 1 GB hugetlb page' || echo 'NOT a huge page')"
done

say "User space maps the buffer with 1 GB page-table entries"
run "ls -l /dev/hugedma/"
run "python3 tests/demo_tools.py map dma0"

say "Attach it to a PCI device: QEMU's edu DMA engine, behind intel-iommu"
run "lspci -n -s $edu 2>/dev/null || cat /sys/bus/pci/devices/$edu/vendor /sys/bus/pci/devices/$edu/device"
run "insmod tests/drivers/hugedma_edu.ko"
run "mkdir $buf/attachments/$edu"
run "echo 1 > $buf/attachments/$edu/enable"
run "grep . /sys/class/hugedma/dma0/attachments/$edu/{state,direction,iommu,nr_segments}"
run "python3 tests/demo_tools.py addrs dma0 $edu"

say "A DMA round trip through edu at the published bus addresses, in every page"
run "python3 tests/demo_tools.py dma dma0 $edu"
run "echo 0 > $buf/enable || true"
run "echo 0 > $buf/attachments/$edu/enable"
run "rmdir $buf/attachments/$edu"
run "rmmod hugedma_edu"

say "Bad input is refused and changes nothing"
run "echo 1.5G > $buf/size || true"
run "cat $buf/size"
run "dmesg | grep 'hugedma: dma0: rejected' | tail -n 2"

say "Disable and remove: every page goes back to the pool"
run "echo 0 > $buf/enable"
run "cat $pool/free_hugepages"
run "rmdir $buf"
run "rmmod hugedma"
run "cat $pool/free_hugepages"
