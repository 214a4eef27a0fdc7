//! Prints size, load, instantiate and call figures of the Python and JavaScript samples against their Rust equivalents.
//!
//! ```sh
//! cargo xtask plugins target/figures          # builds every sample into one folder
//! cargo run --profile bench -p deploykit-tests --example polyglot_figures -- target/figures
//! cargo run -p deploykit-tests --example polyglot_figures -- target/figures   # the dev/test profile
//! ```
//!
//! To compare jco's QuickJS backend, build `flavor-vanilla-qjs.wasm` into the
//! folder first (see the polyglot section of the README).
//!
//! Compile and cache figures use an engine configured like the host's (fuel,
//! epoch interruption, no component-model concurrency). Instantiation is
//! timed with wasmtime directly (WASI linked, the deploykit imports as traps,
//! which instantiation never calls); calls go through `deploykit_host`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use deploykit_host::{Host, Json, Spec, Tags};
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Config, Engine, ResourceLimiter, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

/// A plugin to measure, and the call timed warm on it.
struct Case {
    name: &'static str,
    lang: &'static str,
    call: Call,
}

#[derive(Clone, Copy)]
enum Call {
    /// `instance.validate({"note":"hello","size":3})`.
    Validate,
    /// `flavor.prepare` with Init lines, tags and an attachment.
    Prepare,
}

const CASES: &[Case] = &[
    Case {
        name: "instance-file",
        lang: "Rust",
        call: Call::Validate,
    },
    Case {
        name: "instance-memory-py",
        lang: "Python",
        call: Call::Validate,
    },
    Case {
        name: "flavor-vanilla",
        lang: "Rust",
        call: Call::Prepare,
    },
    Case {
        name: "flavor-vanilla-js",
        lang: "JavaScript",
        call: Call::Prepare,
    },
    // Measured only when present: the same flavor.js built with jco's
    // QuickJS backend (`--backend qjs --backend-qjs-disable-async`).
    Case {
        name: "flavor-vanilla-qjs",
        lang: "JavaScript (QuickJS)",
        call: Call::Prepare,
    },
];

fn main() -> Result<()> {
    let dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .context("usage: polyglot_figures PLUGIN_DIR (from `cargo xtask plugins DIR`)")?,
    );
    let cache = std::env::temp_dir().join(format!("polyglot-figures-{}", std::process::id()));
    std::fs::create_dir_all(&cache)?;
    println!(
        "| plugin | lang | .wasm | compile (wall / CPU) | .cwasm | deserialize_file | host load | instantiate | instantiate fuel | memory after instantiate | first call | warm call (p10 / p90) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    for case in CASES {
        let wasm = dir.join(format!("{}.wasm", case.name));
        if !wasm.exists() && case.name.ends_with("-qjs") {
            continue;
        }
        let raw = raw_figures(&wasm, &cache)?;
        let (load, first, warm) = host_figures(&dir, case)?;
        println!(
            "| {} | {} | {} | {} / {:.1} s | {} | {} | {} | {} | {} | {} MiB | {} | {} ({} / {}) |",
            case.name,
            case.lang,
            bytes(raw.wasm_size),
            ms(raw.compile),
            raw.compile_cpu,
            bytes(raw.cwasm_size),
            ms(raw.deserialize),
            ms(load),
            ms(raw.instantiate),
            raw.instantiate_fuel,
            raw.memory >> 20,
            ms(first),
            ms(warm[0]),
            ms(warm[1]),
            ms(warm[2]),
        );
    }
    std::fs::remove_dir_all(&cache)?;
    Ok(())
}

/// Figures taken with wasmtime directly.
struct Raw {
    wasm_size: u64,
    compile: Duration,
    compile_cpu: f64,
    cwasm_size: u64,
    deserialize: Duration,
    instantiate: Duration,
    instantiate_fuel: u64,
    memory: usize,
}

/// The host's engine settings (see host/src/engine.rs).
fn engine() -> Result<Engine> {
    let mut config = Config::new();
    config
        .wasm_component_model(true)
        .consume_fuel(true)
        .epoch_interruption(true)
        .concurrency_support(false);
    Ok(Engine::new(&config)?)
}

struct Data {
    wasi: WasiCtx,
    table: ResourceTable,
    limiter: Peak,
}

impl WasiView for Data {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// Records the largest linear memory asked for.
#[derive(Default)]
struct Peak(usize);

impl ResourceLimiter for Peak {
    fn memory_growing(
        &mut self,
        _: usize,
        desired: usize,
        _: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.0 = self.0.max(desired);
        Ok(true)
    }

    fn table_growing(&mut self, _: usize, _: usize, _: Option<usize>) -> wasmtime::Result<bool> {
        Ok(true)
    }
}

fn raw_figures(wasm: &Path, cache: &Path) -> Result<Raw> {
    let engine = engine()?;
    let bytes = std::fs::read(wasm).with_context(|| format!("cannot read {}", wasm.display()))?;
    let big = bytes.len() > 1 << 20;
    let mut compiles = Vec::new();
    let mut cpus = Vec::new();
    let mut component = None;
    for _ in 0..if big { 3 } else { 10 } {
        let (started, cpu) = (Instant::now(), cpu_seconds());
        component = Some(Component::new(&engine, &bytes)?);
        compiles.push(started.elapsed());
        cpus.push(cpu_seconds() - cpu);
    }
    let component = component.expect("compiled at least once");
    let cwasm = cache.join("plugin.cwasm");
    std::fs::write(&cwasm, component.serialize()?)?;
    let deserialize = median(
        (0..20)
            .map(|_| {
                let started = Instant::now();
                // SAFETY: the file was just written by `serialize` with this engine's settings.
                let c = unsafe { Component::deserialize_file(&engine, &cwasm) };
                let took = started.elapsed();
                c.map(|_| took)
            })
            .collect::<wasmtime::Result<Vec<_>>>()?,
    );

    let mut linker = Linker::<Data>::new(&engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker)?;
    trap_deploykit_imports(&engine, &component, &mut linker)?;
    let pre = linker.instantiate_pre(&component)?;
    let mut instantiate = Vec::new();
    let (mut fuel, mut memory) = (0, 0);
    for _ in 0..if big { 200 } else { 2000 } {
        let started = Instant::now();
        let mut store = Store::new(
            &engine,
            Data {
                wasi: WasiCtx::builder().build(),
                table: ResourceTable::new(),
                limiter: Peak::default(),
            },
        );
        store.limiter(|d| &mut d.limiter);
        store.set_fuel(u64::MAX / 2)?;
        store.set_epoch_deadline(u64::MAX / 2);
        pre.instantiate(&mut store)?;
        instantiate.push(started.elapsed());
        fuel = u64::MAX / 2 - store.get_fuel()?;
        memory = store.data().limiter.0;
    }
    Ok(Raw {
        wasm_size: bytes.len() as u64,
        compile: median(compiles),
        compile_cpu: cpus.iter().sum::<f64>() / cpus.len() as f64,
        cwasm_size: std::fs::metadata(&cwasm)?.len(),
        deserialize,
        instantiate: median(instantiate),
        instantiate_fuel: fuel,
        memory,
    })
}

/// Defines the `deploykit:plugin` imports as functions that fail if called.
/// (`Linker::define_unknown_imports_as_traps` would also stub the newer WASI
/// versions that the linker serves by semver, with resource types that then
/// do not match.)
fn trap_deploykit_imports(
    engine: &Engine,
    component: &Component,
    linker: &mut Linker<Data>,
) -> Result<()> {
    use wasmtime::component::types::ComponentItem;
    for (name, item) in component.component_type().imports(engine) {
        let ComponentItem::ComponentInstance(instance) = item.ty else {
            continue;
        };
        if !name.starts_with("deploykit:") {
            continue;
        }
        let mut stubs = linker.instance(name)?;
        for (export, item) in instance.exports(engine) {
            if let ComponentItem::ComponentFunc(_) = item.ty {
                stubs.func_new(export, |_, _, _, _| {
                    Err(wasmtime::format_err!("not linked in this measurement"))
                })?;
            }
        }
    }
    Ok(())
}

/// Host load time, the first call (which instantiates) and warm calls
/// (median, p10, p90), through `deploykit_host`.
fn host_figures(dir: &Path, case: &Case) -> Result<(Duration, Duration, [Duration; 3])> {
    let host = Host::builder().build()?;
    let started = Instant::now();
    host.load_file(&dir.join(format!("{}.wasm", case.name)))?;
    let load = started.elapsed();
    let n = if case.lang == "Rust" { 5000 } else { 1000 };
    let mut times = Vec::with_capacity(n + 1);
    match case.call {
        Call::Validate => {
            let plugin = host.instance(case.name)?;
            let props = Json::new(r#"{"note":"hello","size":3}"#)?;
            for _ in 0..=n {
                let started = Instant::now();
                plugin.validate(&props)?;
                times.push(started.elapsed());
            }
        }
        Call::Prepare => {
            let plugin = host.flavor(case.name)?;
            let props = Json::new(
                r#"{"Init":["apt-get install -y nginx"],"Tags":{"tier":"web"},"Attachments":[{"ID":"a1","Type":"ebs"}]}"#,
            )?;
            let spec = Spec {
                init: "#!/bin/sh".into(),
                tags: Tags::from([("infrakit.group".to_string(), "web".to_string())]),
                ..Spec::default()
            };
            for _ in 0..=n {
                let started = Instant::now();
                plugin.prepare(&props, &spec, &Default::default(), &Default::default())?;
                times.push(started.elapsed());
            }
        }
    }
    let first = times.remove(0);
    times.sort();
    let at = |q: usize| times[times.len() * q / 100];
    Ok((load, first, [at(50), at(10), at(90)]))
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// CPU time of this process (user + system), in seconds; 0 where /proc is missing.
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    let fields: Vec<&str> = stat[stat.rfind(')').map_or(0, |i| i + 2)..]
        .split(' ')
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

fn ms(d: Duration) -> String {
    if d >= Duration::from_secs(1) {
        format!("{:.2} s", d.as_secs_f64())
    } else if d >= Duration::from_millis(1) {
        format!("{:.2} ms", d.as_secs_f64() * 1e3)
    } else {
        format!("{:.1} µs", d.as_secs_f64() * 1e6)
    }
}

fn bytes(n: u64) -> String {
    if n >= 1 << 20 {
        format!("{:.1} MB", n as f64 / 1e6)
    } else {
        format!("{:.0} KB", n as f64 / 1e3)
    }
}
