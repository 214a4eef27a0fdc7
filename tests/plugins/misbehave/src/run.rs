//! Carries out an [`Act`]; the endless ones are written so the optimiser cannot remove them.

use std::hint::black_box;
use std::io::Write;

use deploykit_sdk::{Error, Result};

use crate::Act;

const MIB: usize = 1 << 20;

/// What the last `remember` act kept, in this instance's linear memory.
static REMEMBERED: std::sync::Mutex<String> = std::sync::Mutex::new(String::new());

/// Does what `act` says and returns the instance ID to report.
pub fn run(act: Act) -> Result<String> {
    match act {
        Act::Ok => Ok("i-ok".into()),
        Act::Error => Err(Error::NotFound("nothing here".into())),
        Act::Panic { message } => panic!("{message}"),
        Act::Loop => spin(),
        Act::Recurse => Ok(recurse(0).to_string()),
        Act::Alloc { mib } => Ok(alloc(mib).to_string()),
        Act::HugeString { mib } => Ok("x".repeat(mib * MIB)),
        Act::ReadFile { path } => {
            std::fs::read_to_string(&path).map_err(|e| Error::Internal(e.to_string()))
        }
        Act::WriteFile { path, content } => std::fs::write(&path, content)
            .map(|()| "written".into())
            .map_err(|e| Error::Internal(e.to_string())),
        Act::AppendFile { path, content } => std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut f| std::io::Write::write_all(&mut f, content.as_bytes()))
            .map(|()| "appended".into())
            .map_err(|e| Error::Internal(e.to_string())),
        Act::Env { name } => {
            std::env::var(&name).map_err(|e| Error::NotFound(format!("{name}: {e}")))
        }
        Act::EnvCount => Ok(std::env::vars_os().count().to_string()),
        Act::Connect { addr } => match std::net::TcpStream::connect(&addr) {
            Ok(_) => Ok("connected".into()),
            Err(e) => Err(Error::Unavailable(format!("connect {addr}: {e}"))),
        },
        Act::Sleep { ms } => {
            std::thread::sleep(std::time::Duration::from_millis(ms));
            Ok("slept".into())
        }
        Act::Print { text } => {
            // Errors are ignored: a closed stdout must not change the result.
            let _ = writeln!(std::io::stdout(), "{text}");
            let _ = writeln!(std::io::stderr(), "{text}");
            Ok("printed".into())
        }
        Act::Log { text } => {
            deploykit_sdk::info!("{text}");
            Ok("logged".into())
        }
        Act::Config => Ok(deploykit_sdk::config::get().as_str().to_owned()),
        Act::KvSet { key, value } => {
            deploykit_sdk::kv::set(&key, value.as_bytes()).map(|()| "stored".into())
        }
        Act::CallInstance { plugin, props } => {
            use deploykit_sdk::InstancePlugin as _;
            let spec = deploykit_sdk::Spec {
                properties: Some(deploykit_sdk::Json::from_value(&props)?),
                ..Default::default()
            };
            deploykit_sdk::plugins::instance(&plugin).provision(spec)
        }
        Act::Remember { text } => Ok(std::mem::replace(
            &mut *REMEMBERED.lock().unwrap_or_else(|p| p.into_inner()),
            text,
        )),
        Act::KvGet { key } => match deploykit_sdk::kv::get(&key)? {
            Some(v) => String::from_utf8(v).map_err(|e| Error::Internal(e.to_string())),
            None => Err(Error::NotFound(format!("no key {key}"))),
        },
    }
}

/// Never returns; `black_box` keeps the counter, so the loop has an effect.
fn spin() -> ! {
    let mut n = 0u64;
    loop {
        n = black_box(n.wrapping_add(1));
    }
}

/// Does not return before the stack runs out: each frame adds after the call, so it is not a
/// tail call and cannot become a loop. Values stay in wasm locals (no buffer in linear memory),
/// so the wasm call stack overflows, not Rust's shadow stack in linear memory.
fn recurse(depth: u64) -> u64 {
    if black_box(depth) == u64::MAX {
        return 0;
    }
    black_box(recurse(depth + 1)).wrapping_add(depth)
}

/// Allocates `mib` MiB and writes to every page, so the memory is really used.
fn alloc(mib: usize) -> usize {
    let mut block = vec![0u8; mib * MIB];
    for page in block.chunks_mut(4096) {
        page[0] = 1;
    }
    black_box(&block);
    block.chunks(4096).map(|p| usize::from(p[0])).sum::<usize>() / (MIB / 4096)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn harmless_acts() {
        assert_eq!(run(Act::Ok).unwrap(), "i-ok");
        assert_eq!(
            run(Act::Error).unwrap_err(),
            Error::NotFound("nothing here".into())
        );
        assert_eq!(run(Act::Alloc { mib: 3 }).unwrap(), "3");
        assert_eq!(run(Act::HugeString { mib: 1 }).unwrap().len(), MIB);
        assert!(matches!(
            run(Act::ReadFile {
                path: "/nonexistent/x".into()
            }),
            Err(Error::Internal(_))
        ));
        assert!(matches!(
            run(Act::Env {
                name: "DEPLOYKIT_SURELY_UNSET".into()
            }),
            Err(Error::NotFound(_))
        ));
    }

    #[test]
    fn remember_returns_what_the_previous_one_kept() {
        let remember = |text: &str| run(Act::Remember { text: text.into() }).unwrap();
        assert_eq!(remember("first"), "");
        assert_eq!(remember("second"), "first");
        assert_eq!(remember(""), "second");
    }
}
