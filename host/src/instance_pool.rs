//! The opt-in pooling allocator: instance slots reserved once per host and reused, for cheaper fresh instances.

use wasmtime::{Enabled, InstanceAllocationStrategy, PoolingAllocationConfig};

/// Reuses pre-reserved slots for plugin instances instead of mapping fresh
/// memory for each (wasmtime's pooling allocator).
///
/// A fresh instance (after a trap, or when a pool grows) then costs a
/// fraction: on this project's 2-core benchmark machine, 5.9 µs instead of
/// 26 µs, and the call after a trap 18.6 µs instead of 47.9 µs
/// (`cargo xtask bench`). On Linux 6.7 and later, a freed slot is reset in
/// place: the pages its instance wrote (up to [`InstancePool::keep_resident`]
/// bytes) get their original contents back and stay mapped, found with the
/// kernel's `PAGEMAP_SCAN`, so the next instance in the slot does not take a
/// page fault for each of them. The price, and why it is off by default:
///
/// - at most [`InstancePool::instances`] plugin instances live at once in
///   the host (warm pools included); an instantiation beyond that fails
///   with a clear error instead of growing;
/// - each slot reserves its linear memory's full address range (about
///   4 GiB of virtual memory, not RSS) when the host is built;
/// - a warm instance keeps a few more KiB resident (about 66 instead of
///   59 KiB with 100 of them: each of its tables takes a page of its own),
///   and free slots keep what they reset in place (wasmtime reuses those
///   first and keeps at most 100 unused ones warm).
///
/// ```no_run
/// use deploykit_host::{Host, InstancePool};
///
/// let host = Host::builder()
///     .instance_pool(InstancePool { instances: 500, ..InstancePool::default() })
///     .plugin_dir("plugins")
///     .build()?;
/// # Ok::<(), deploykit_host::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstancePool {
    /// The most plugin instances alive at once (default 1,000).
    pub instances: u32,
    /// Bytes of each linear memory kept resident when a slot is freed (reset
    /// in place rather than unmapped): the pages the instance wrote on Linux
    /// 6.7 and later, the lowest addresses elsewhere; default 128 KiB.
    pub keep_resident: usize,
}

impl Default for InstancePool {
    fn default() -> Self {
        InstancePool {
            instances: 1000,
            keep_resident: 128 << 10,
        }
    }
}

impl InstancePool {
    /// The allocation strategy for wasmtime's `Config`.
    pub(crate) fn strategy(&self) -> InstanceAllocationStrategy {
        let n = self.instances.max(1);
        let mut pool = PoolingAllocationConfig::default();
        // A Rust plugin is three core instances with one memory; Python and
        // JavaScript components link more modules, so leave room per component.
        pool.total_component_instances(n)
            .total_core_instances(n.saturating_mul(8))
            .total_memories(n.saturating_mul(2))
            .total_tables(n.saturating_mul(4))
            .max_core_instances_per_component(64)
            .max_memories_per_component(8)
            .max_tables_per_component(32)
            .linear_memory_keep_resident(self.keep_resident)
            .table_keep_resident(64 << 10)
            // Reset the pages an instance wrote wherever they are (a Rust
            // plugin's stack and heap lie above its first MiB), not only the
            // lowest `keep_resident` bytes; off where the kernel lacks it.
            .pagemap_scan(Enabled::Auto);
        InstanceAllocationStrategy::Pooling(pool)
    }
}
