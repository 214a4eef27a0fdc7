//! Instance IDs: making new random ones and refusing ones that could escape the directory.

use deploykit_sdk::{Error, Result};

/// A new ID, `instance-<random 63-bit decimal>` like InfraKit's `rand.Int63()`.
///
/// The number comes from `getrandom`: on wasm32-wasip2 it calls the host's
/// `wasi:random` directly with no further crates, so every component
/// instance gets unpredictable IDs (a seeded PRNG would repeat across fresh
/// instances), and natively it uses the OS generator.
pub fn new_id() -> Result<String> {
    let n = getrandom::u64().map_err(|e| Error::Unavailable(format!("no random numbers: {e}")))?;
    Ok(format!("instance-{}", n >> 1))
}

/// Refuses IDs that are not a single plain file name.
pub fn check_id(id: &str) -> Result<()> {
    if id.is_empty()
        || id == "."
        || id.contains('/')
        || id.contains('\\')
        || id.contains("..")
        || id.contains('\0')
    {
        return Err(Error::InvalidInput(format!("invalid instance ID '{id}'")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_ids_look_like_infrakit_ones() {
        let id = new_id().unwrap();
        let n: u64 = id.strip_prefix("instance-").unwrap().parse().unwrap();
        assert!(n <= i64::MAX as u64);
        assert_ne!(new_id().unwrap(), id);
    }

    #[test]
    fn path_like_ids_are_refused() {
        for bad in ["", ".", "..", "../x", "a/b", "/etc/passwd", "x..y", "a\\b"] {
            assert!(
                matches!(check_id(bad), Err(Error::InvalidInput(_))),
                "{bad:?}"
            );
        }
        check_id("instance-42").unwrap();
    }
}
