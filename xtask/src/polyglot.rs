//! Python and JavaScript sample plugins: their project-local tools (a venv, node_modules) and their builds.
//!
//! Everything lives under `target/polyglot/` and is installed only when
//! missing or outdated, as recorded by stamp files:
//!
//! - `target/polyglot/venv`: `python3 -m venv`, then `pip install
//!   componentize-py==`[`COMPONENTIZE_PY`].
//! - `target/polyglot/js/node_modules`: `npm ci` from
//!   `sample-plugins/js/package-lock.json` (jco and componentize-js, pinned).
//!
//! The plugins are built into `target/wasm-plugins/polyglot/<name>.wasm`
//! (see [`polyglot_wasm_path`]) and rebuilt only when their sources, the WIT
//! or the tools change. A file lock keeps concurrent builds (two test
//! processes, say) from stepping on each other.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};

use crate::{PluginFolder, plugin_target_dir, target_dir, workspace_root};

/// The componentize-py release the Python plugins are built with.
pub const COMPONENTIZE_PY: &str = "0.25.1";

/// The WIT folder every plugin is built against.
const WIT_DIR: &str = "wit/since_v0.1.0";

/// The folder with the JavaScript tool manifest (`package.json`, `package-lock.json`).
const JS_TOOLS: &str = "sample-plugins/js";

/// The language a plugin is written in, which decides its build tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// Built with componentize-py.
    Python,
    /// Built with jco and componentize-js.
    JavaScript,
}

/// A plugin written in Python or JavaScript.
#[derive(Debug)]
pub struct PolyglotPlugin {
    /// The plugin's name, and the stem of its `.wasm` and manifest.
    pub name: &'static str,
    /// Its language.
    pub lang: Lang,
    /// Its source folder, relative to the workspace.
    pub dir: &'static str,
    /// The entry point: a module name for Python, a file in `dir` for JavaScript.
    pub entry: &'static str,
    /// The WIT world it targets.
    pub world: &'static str,
    /// Its manifest (`<name>.toml` in `dir`), if it ships one.
    pub manifest: Option<&'static str>,
}

/// The Python and JavaScript samples.
pub const POLYGLOT_SAMPLES: &[PolyglotPlugin] = &[
    PolyglotPlugin {
        name: "instance-memory-py",
        lang: Lang::Python,
        dir: "sample-plugins/python/instance-memory-py",
        entry: "app",
        world: "instance-plugin",
        manifest: Some("sample-plugins/python/instance-memory-py/instance-memory-py.toml"),
    },
    PolyglotPlugin {
        name: "flavor-vanilla-js",
        lang: Lang::JavaScript,
        dir: "sample-plugins/js/flavor-vanilla-js",
        entry: "flavor.js",
        world: "flavor-plugin",
        manifest: None,
    },
];

/// Where the tools are installed.
pub fn polyglot_dir() -> PathBuf {
    target_dir().join("polyglot")
}

/// The built `.wasm` of a polyglot plugin.
pub fn polyglot_wasm_path(name: &str) -> PathBuf {
    plugin_target_dir()
        .join("polyglot")
        .join(format!("{name}.wasm"))
}

/// Looks a sample up by name.
pub fn polyglot_sample(name: &str) -> Result<&'static PolyglotPlugin> {
    POLYGLOT_SAMPLES
        .iter()
        .find(|p| p.name == name)
        .with_context(|| format!("no polyglot sample named {name}"))
}

/// Builds every polyglot sample, installing the tools first when needed.
pub fn build_polyglot_samples() -> Result<()> {
    build_polyglot(&POLYGLOT_SAMPLES.iter().collect::<Vec<_>>())
}

/// Builds the given plugins (Python and JavaScript at the same time), each
/// only when its sources, the WIT or its tools changed.
pub fn build_polyglot(plugins: &[&PolyglotPlugin]) -> Result<()> {
    std::fs::create_dir_all(polyglot_dir())?;
    let lock = File::create(polyglot_dir().join(".lock"))?;
    lock.lock().context("cannot lock target/polyglot")?;
    std::thread::scope(|s| {
        let builds = [Lang::Python, Lang::JavaScript].map(|lang| {
            let mine: Vec<&PolyglotPlugin> =
                plugins.iter().copied().filter(|p| p.lang == lang).collect();
            s.spawn(move || build_lang(lang, &mine))
        });
        builds
            .into_iter()
            .try_for_each(|b| b.join().expect("a build thread panicked"))
    })
}

/// Copies the built plugins, with their manifests, into `dir`.
pub fn install_polyglot(plugins: &[&PolyglotPlugin], dir: &Path) -> Result<()> {
    build_polyglot(plugins)?;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    for p in plugins {
        copy_into(p, dir)?;
    }
    Ok(())
}

fn copy_into(p: &PolyglotPlugin, dir: &Path) -> Result<PathBuf> {
    let to = dir.join(format!("{}.wasm", p.name));
    std::fs::copy(polyglot_wasm_path(p.name), &to)
        .with_context(|| format!("cannot copy {} to {}", p.name, to.display()))?;
    if let Some(m) = p.manifest {
        let manifest = dir.join(format!("{}.toml", p.name));
        std::fs::copy(workspace_root().join(m), &manifest)
            .with_context(|| format!("cannot copy to {}", manifest.display()))?;
    }
    Ok(to)
}

impl PluginFolder {
    /// Copies the polyglot sample `name` in, with its shipped manifest. The
    /// first call in a process builds every polyglot sample (installing
    /// Python's and JavaScript's tools when missing).
    pub fn add_polyglot(&self, name: &str) -> Result<PathBuf> {
        static BUILT: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
        BUILT
            .get_or_init(|| build_polyglot_samples().map_err(|e| format!("{e:#}")))
            .clone()
            .map_err(anyhow::Error::msg)?;
        copy_into(polyglot_sample(name)?, self.path())
    }
}

fn build_lang(lang: Lang, plugins: &[&PolyglotPlugin]) -> Result<()> {
    if plugins.is_empty() {
        return Ok(());
    }
    let tools = match lang {
        Lang::Python => ensure_python_tools()?,
        Lang::JavaScript => ensure_js_tools()?,
    };
    for p in plugins {
        build_one(p, &tools)?;
    }
    Ok(())
}

/// What a build needs from the installed tools.
struct Tools {
    /// The stamp of the installation, part of every build's stamp.
    stamp: String,
    /// The program that builds a component.
    program: PathBuf,
    /// The node_modules folder, for JavaScript.
    node_modules: Option<PathBuf>,
}

/// The venv with componentize-py, created or updated when needed.
fn ensure_python_tools() -> Result<Tools> {
    let venv = crate::venv::ensure_venv(
        &polyglot_dir().join("venv"),
        &format!("componentize-py=={COMPONENTIZE_PY}"),
    )?;
    Ok(Tools {
        program: venv.program("componentize-py"),
        stamp: venv.stamp,
        node_modules: None,
    })
}

/// `python3`, or `python` where that is Python 3 (Windows).
pub(crate) fn python3() -> Result<PathBuf> {
    for name in ["python3", "python"] {
        if let Ok(v) = output(Command::new(name).arg("--version"))
            && v.starts_with("Python 3")
        {
            return Ok(name.into());
        }
    }
    bail!(
        "Python 3 is needed to build the Python sample plugins, and neither python3 nor python is Python 3"
    )
}

/// node_modules with jco and componentize-js, installed with `npm ci` when
/// the lock file changed.
fn ensure_js_tools() -> Result<Tools> {
    let js = polyglot_dir().join("js");
    let node_modules = js.join("node_modules");
    let source = workspace_root().join(JS_TOOLS);
    let files = ["package.json", "package-lock.json", ".npmrc"];
    let mut stamp = String::new();
    for f in files {
        let text = std::fs::read_to_string(source.join(f))
            .with_context(|| format!("cannot read {JS_TOOLS}/{f}"))?;
        stamp.push_str(&format!("{f}:{:016x};", fnv1a(text.as_bytes(), FNV_OFFSET)));
    }
    let program = PathBuf::from("node");
    let stamp_file = js.join("deploykit.stamp");
    let jco = node_modules.join("@bytecodealliance").join("jco");
    if jco.is_dir() && read(&stamp_file) == stamp {
        return Ok(Tools {
            stamp,
            program,
            node_modules: Some(node_modules),
        });
    }
    eprintln!(
        "xtask: installing jco and componentize-js into {} (npm ci)",
        js.display()
    );
    let started = Instant::now();
    output(Command::new("node").arg("--version"))
        .context("Node.js is needed to build the JavaScript sample plugins")?;
    std::fs::create_dir_all(&js)?;
    for f in files {
        std::fs::copy(source.join(f), js.join(f))?;
    }
    quiet(Command::new(npm()).current_dir(&js).args([
        "ci",
        "--no-audit",
        "--no-fund",
        "--loglevel=error",
    ]))
    .context("cannot install jco and componentize-js with npm ci")?;
    std::fs::write(&stamp_file, &stamp)?;
    eprintln!(
        "xtask: jco and componentize-js installed in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(Tools {
        stamp,
        program,
        node_modules: Some(node_modules),
    })
}

fn npm() -> &'static str {
    if cfg!(windows) { "npm.cmd" } else { "npm" }
}

/// Builds one plugin unless its stamp says the output is up to date.
fn build_one(p: &PolyglotPlugin, tools: &Tools) -> Result<()> {
    let root = workspace_root();
    let out = polyglot_wasm_path(p.name);
    let stamp_file = out.with_extension("stamp");
    let mut inputs = vec![root.join(p.dir), root.join(WIT_DIR)];
    if p.lang == Lang::JavaScript {
        inputs.push(root.join(JS_TOOLS).join("jco-wrap.mjs"));
    }
    let stamp = format!(
        "{}; {} {}; inputs {:016x}",
        tools.stamp,
        p.entry,
        p.world,
        hash_files(&inputs)?
    );
    if out.is_file() && read(&stamp_file) == stamp {
        return Ok(());
    }
    std::fs::create_dir_all(out.parent().expect("a file in a folder"))?;
    let partial = out.with_extension("wasm.partial");
    let wit = root.join(WIT_DIR);
    let mut cmd = Command::new(&tools.program);
    match p.lang {
        Lang::Python => {
            // componentize-py imports the app to pre-initialise it and leaves a
            // __pycache__ beside the sources, so it builds from a copy.
            let staged = polyglot_dir().join("src").join(p.name);
            stage(&root.join(p.dir), &staged)?;
            cmd.arg("-d")
                .arg(&wit)
                .args(["-w", p.world, "componentize", "-p"])
                .arg(&staged)
                .arg(p.entry)
                .arg("-o")
                .arg(&partial);
        }
        Lang::JavaScript => {
            cmd.env(
                "DEPLOYKIT_NODE_MODULES",
                tools.node_modules.as_ref().expect("set for JavaScript"),
            )
            .arg(root.join(JS_TOOLS).join("jco-wrap.mjs"))
            .arg("componentize")
            .arg(root.join(p.dir).join(p.entry))
            .arg("--wit")
            .arg(&wit)
            .args(["--world-name", p.world])
            // Without these, jco's default build imports wasi:http, which the host does not link.
            .args(["--disable", "http", "fetch-event"])
            .arg("-o")
            .arg(&partial);
        }
    }
    let tool = match p.lang {
        Lang::Python => "componentize-py",
        Lang::JavaScript => "jco componentize",
    };
    eprintln!("xtask: building {} with {tool}", p.name);
    let started = Instant::now();
    quiet(&mut cmd).with_context(|| format!("cannot build {}", p.name))?;
    std::fs::rename(&partial, &out)?;
    std::fs::write(&stamp_file, &stamp)?;
    eprintln!(
        "xtask: built {} in {:.1} s ({} bytes)",
        p.name,
        started.elapsed().as_secs_f64(),
        std::fs::metadata(&out)?.len()
    );
    Ok(())
}

/// Replaces `to` with a copy of the files of `from` (subfolders included).
fn stage(from: &Path, to: &Path) -> Result<()> {
    if to.exists() {
        std::fs::remove_dir_all(to)?;
    }
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        if entry.file_name() == "__pycache__" {
            continue;
        }
        if entry.file_type()?.is_dir() {
            stage(&entry.path(), &to.join(entry.file_name()))?;
        } else {
            std::fs::copy(entry.path(), to.join(entry.file_name()))?;
        }
    }
    Ok(())
}

/// A hash over every file under `paths` (names and contents, in name order),
/// skipping Python's bytecode caches.
fn hash_files(paths: &[PathBuf]) -> Result<u64> {
    fn walk(path: &Path, files: &mut Vec<PathBuf>) -> Result<()> {
        if path.is_dir() {
            for entry in std::fs::read_dir(path)? {
                let entry = entry?.path();
                if entry.file_name().is_some_and(|n| n == "__pycache__") {
                    continue;
                }
                walk(&entry, files)?;
            }
        } else {
            files.push(path.to_owned());
        }
        Ok(())
    }
    let mut files = Vec::new();
    for p in paths {
        walk(p, &mut files).with_context(|| format!("cannot read {}", p.display()))?;
    }
    files.sort();
    let mut h = FNV_OFFSET;
    for f in files {
        h = fnv1a(f.to_string_lossy().as_bytes(), h);
        h = fnv1a(&std::fs::read(&f)?, h);
    }
    Ok(h)
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// FNV-1a, 64 bits: stable across Rust versions, unlike `DefaultHasher`.
fn fnv1a(bytes: &[u8], mut h: u64) -> u64 {
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// A stamp file's text, or "" when there is none.
fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// Runs a command and returns its stdout, failing with its stderr.
pub(crate) fn output(cmd: &mut Command) -> Result<String> {
    let out = cmd
        .output()
        .with_context(|| format!("cannot run {cmd:?}"))?;
    if !out.status.success() {
        bail!(
            "{cmd:?} failed with {}:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Runs a command with its output captured, which is shown only if it fails.
pub(crate) fn quiet(cmd: &mut Command) -> Result<()> {
    let out = cmd
        .output()
        .with_context(|| format!("cannot run {cmd:?}"))?;
    if !out.status.success() {
        bail!(
            "{cmd:?} failed with {}:\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}
