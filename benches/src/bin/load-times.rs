//! Plugin load figures: compile against cache hit for one plugin, and a folder of 50 loaded cold and warm.
//!
//! Usage: `load-times PLUGIN_DIR` holding `misbehave.wasm` (`cargo xtask bench-load` builds it).
//! The 50 plugins are copies made distinct by a custom section, so each has its own cache key.

use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};
use deploykit_host::{CacheOutcome, Host};

fn main() -> Result<()> {
    let dir = std::env::args()
        .nth(1)
        .context("usage: load-times PLUGIN_DIR")?;
    let source = std::fs::read(Path::new(&dir).join("misbehave.wasm"))?;
    let work = tempfile::tempdir()?;
    let one = work.path().join("one");
    let fifty = work.path().join("fifty");
    std::fs::create_dir_all(&one)?;
    std::fs::create_dir_all(&fifty)?;
    std::fs::write(one.join("p.wasm"), &source)?;
    for i in 0..50 {
        std::fs::write(fifty.join(format!("p{i:02}.wasm")), distinct(&source, i))?;
    }
    let cache = work.path().join("cache");
    let time = |folder: &Path| -> Result<(f64, Vec<CacheOutcome>)> {
        let started = Instant::now();
        let host = Host::builder()
            .plugin_dir(folder)
            .cache_dir(&cache)
            .build()?;
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        Ok((ms, host.plugins().iter().filter_map(|p| p.cache).collect()))
    };
    let (compile_one, a) = time(&one)?;
    let (hit_one, b) = time(&one)?;
    let (cold_fifty, c) = time(&fifty)?;
    let (warm_fifty, d) = time(&fifty)?;
    let count = |v: &[CacheOutcome], o: CacheOutcome| v.iter().filter(|x| **x == o).count();
    println!("plugin load ({} bytes, host build included)", source.len());
    println!(
        "  one plugin, compiled         {compile_one:8.1} ms ({} miss)",
        count(&a, CacheOutcome::Miss)
    );
    println!(
        "  one plugin, cache hit        {hit_one:8.1} ms ({} hit)",
        count(&b, CacheOutcome::Hit)
    );
    println!(
        "  50 plugins, cold             {cold_fifty:8.1} ms ({} miss)",
        count(&c, CacheOutcome::Miss)
    );
    println!(
        "  50 plugins, warm             {warm_fifty:8.1} ms ({} hit), {:.2} ms per plugin",
        count(&d, CacheOutcome::Hit),
        warm_fifty / 50.0
    );
    println!(
        "  ratio compile/hit (one)      {:8.1}x",
        compile_one / hit_one
    );
    println!(
        "{}",
        serde_json::json!({"compile_one_ms": compile_one, "hit_one_ms": hit_one, "cold_fifty_ms": cold_fifty, "warm_fifty_ms": warm_fifty})
    );
    Ok(())
}

/// `wasm` with a custom section appended: same code, different bytes.
fn distinct(wasm: &[u8], i: usize) -> Vec<u8> {
    let name = b"deploykit-bench";
    let payload = format!("copy {i}");
    let body_len = 1 + name.len() + payload.len();
    let mut out = wasm.to_vec();
    out.push(0); // custom section id
    out.push(u8::try_from(body_len).expect("short section"));
    out.push(u8::try_from(name.len()).expect("short name"));
    out.extend_from_slice(name);
    out.extend_from_slice(payload.as_bytes());
    out
}
