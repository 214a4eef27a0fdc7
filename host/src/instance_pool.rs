//! The pooling allocator hosts use by default: instance slots reserved once per host and reused, for cheap fresh instances.

use wasmtime::{Enabled, InstanceAllocationStrategy, PoolingAllocationConfig};

/// Reuses pre-reserved slots for plugin instances instead of mapping fresh
/// memory for each (wasmtime's pooling allocator). Hosts use
/// [`InstancePool::default`] unless built with
/// [`HostBuilder::instance_pool`](crate::HostBuilder::instance_pool) or
/// [`HostBuilder::on_demand_instances`](crate::HostBuilder::on_demand_instances).
///
/// A fresh instance (after a trap, or when a plugin's pool of warm instances
/// grows) then costs a fraction: on this project's 2-core benchmark machine,
/// 6.7 µs instead of 18–26 µs, and the call after a trap 19 µs instead of
/// 34–48 µs (`cargo xtask bench`). On Linux 6.7 and later, a freed slot is
/// reset in place: the pages its instance wrote (up to
/// [`InstancePool::keep_resident`] bytes) get their original contents back
/// and stay mapped, found with the kernel's `PAGEMAP_SCAN`, so the next
/// instance in the slot does not take a page fault for each of them.
///
/// What it costs:
///
/// - at most [`InstancePool::instances`] plugin instances live at once in
///   the host. When every slot is taken, the host drops idle warm instances
///   (least recently used first, of any plugin) to make room; only when every
///   slot holds a running call does a new instance fail, with
///   [`Error::PoolFull`](crate::Error::PoolFull);
/// - each slot reserves its linear memory's full address range (about
///   4 GiB of virtual memory, not RSS) when the host is built: 8 TiB for the
///   default 1,000 instances (two memories each). A host whose reservation
///   fails (a `ulimit -v`, a 32-bit address space) falls back to on-demand
///   instances with a warning, unless the pool was asked for explicitly;
/// - a warm instance keeps about 7 KiB more resident, since each of its
///   tables takes a page of the table pool; free slots keep what they reset
///   in place (wasmtime reuses those first and keeps at most 100 unused ones
///   warm).
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

/// How a host allocates its plugins' instances, as its builder was told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Allocation {
    /// [`InstancePool::default`], or on-demand instances if its address
    /// space cannot be reserved.
    #[default]
    Default,
    /// This pool, or no host at all.
    Pool(InstancePool),
    /// Every instance maps its own memory.
    OnDemand,
}

impl InstancePool {
    /// The allocation strategy for wasmtime's `Config`, with room in each
    /// table slot for `table_elements` (the host's default table cap).
    pub(crate) fn strategy(&self, table_elements: usize) -> InstanceAllocationStrategy {
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
            // A slot is virtual memory until used: size it for the largest
            // table the host's limits allow, not wasmtime's 20,000 elements.
            .table_elements(table_elements)
            .linear_memory_keep_resident(self.keep_resident)
            .table_keep_resident(64 << 10)
            // Reset the pages an instance wrote wherever they are (a Rust
            // plugin's stack and heap lie above its first MiB), not only the
            // lowest `keep_resident` bytes; off where the kernel lacks it.
            .pagemap_scan(Enabled::Auto);
        InstanceAllocationStrategy::Pooling(pool)
    }
}
