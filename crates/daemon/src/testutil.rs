//! Test helpers shared by this crate's unit tests.

use std::path::PathBuf;

/// A scratch directory under the system's temporary directory, named after
/// the module, the test and this process, removed on drop.
pub(crate) struct TempDir(pub(crate) PathBuf);

impl TempDir {
    pub(crate) fn new(module: &str, tag: &str) -> TempDir {
        let dir =
            std::env::temp_dir().join(format!("daemon-{module}-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
