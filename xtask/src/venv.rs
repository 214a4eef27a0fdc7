//! Project-local Python virtualenvs holding one pinned pip package each (componentize-py, moto), installed once and stamped.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result};

use crate::polyglot::{output, python3, quiet};

/// An installed virtualenv.
pub struct Venv {
    /// Its `bin` (`Scripts` on Windows) folder.
    pub bin: PathBuf,
    /// What it holds and which Python made it, such as `moto[server]==5.2.5; Python 3.11.2`.
    pub stamp: String,
}

impl Venv {
    /// The venv's program `name` (`python`, `componentize-py`…).
    pub fn program(&self, name: &str) -> PathBuf {
        self.bin
            .join(format!("{name}{}", std::env::consts::EXE_SUFFIX))
    }
}

/// Makes `dir` a venv (`python3 -m venv`) with `requirement` installed by
/// pip, unless its stamp file says that is done already. A lock file beside
/// it keeps two processes (parallel test binaries) from installing at once.
pub fn ensure_venv(dir: &Path, requirement: &str) -> Result<Venv> {
    let system_python = python3()?;
    let version = output(Command::new(&system_python).arg("--version"))?;
    let venv = Venv {
        bin: dir.join(if cfg!(windows) { "Scripts" } else { "bin" }),
        stamp: format!("{requirement}; {}", version.trim()),
    };
    let python = venv.program("python");
    let stamp_file = dir.join("deploykit.stamp");
    let installed = || {
        python.is_file() && std::fs::read_to_string(&stamp_file).ok().as_ref() == Some(&venv.stamp)
    };
    if installed() {
        return Ok(venv);
    }
    let parent = dir.parent().context("a venv folder has a parent")?;
    std::fs::create_dir_all(parent)?;
    let lock_path = dir.with_extension("lock");
    let lock = File::create(&lock_path)?;
    lock.lock()
        .with_context(|| format!("cannot lock {}", lock_path.display()))?;
    if installed() {
        return Ok(venv);
    }
    eprintln!(
        "xtask: installing {requirement} into {} (python3 -m venv, pip)",
        dir.display()
    );
    let started = Instant::now();
    if dir.exists() {
        std::fs::remove_dir_all(dir)
            .with_context(|| format!("cannot remove the old venv {}", dir.display()))?;
    }
    quiet(Command::new(&system_python).arg("-m").arg("venv").arg(dir)).context(
        "cannot create a Python venv: install Python 3 with its venv module \
         (Debian and Ubuntu: apt-get install python3-venv)",
    )?;
    quiet(
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .arg(requirement),
    )
    .with_context(|| format!("cannot install {requirement} with pip"))?;
    std::fs::write(&stamp_file, &venv.stamp)?;
    eprintln!(
        "xtask: {requirement} installed in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(venv)
}
