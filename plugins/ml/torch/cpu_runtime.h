// Process-wide CPU settings for a LibTorch plugin run, in one place: every ML plugin
// calls configure_cpu_runtime() first thing in its run().
#pragma once

namespace radflow::ml {

// The thread count the scheduler granted this attempt: $RADFLOW_CPUS, at least 1
// (1 when unset or not a number).
int granted_cpus();

// Keeps large freed buffers in the heap for reuse: glibc otherwise serves each
// allocation over 32 MiB with a fresh mmap whose pages fault in on first touch, and a
// training step allocates and frees hundreds of such tensors (K = 65,536 logits). On
// the DINOv2 step benchmark that was a measured share of the elementwise time; see
// BENCHMARKS.md. The heap keeps its peak size until the worker exits, which it does
// at the end of the attempt. Equivalent to the environment
// MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=<huge>.
void keep_freed_buffers_for_reuse();

// Sets LibTorch's intra-op threads to granted_cpus() (LibTorch starts with 1 here) and
// calls keep_freed_buffers_for_reuse(). Returns the thread count.
int configure_cpu_runtime();

}  // namespace radflow::ml
