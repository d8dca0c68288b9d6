//! Facts about this process from `/proc/self/status`.

/// The number of threads of this process (`Threads:`), or `None` when
/// `/proc` cannot tell (not mounted, not Linux).
pub(crate) fn thread_count() -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    parse_threads(&status)
}

fn parse_threads(status: &str) -> Option<usize> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|v| v.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_threads_line() {
        let status = "Name:\tx\nState:\tS (sleeping)\nThreads:\t7\nSigQ:\t0/1\n";
        assert_eq!(parse_threads(status), Some(7));
        assert_eq!(parse_threads("Name:\tx\n"), None);
    }

    #[test]
    fn counts_a_started_thread() {
        let before = thread_count().expect("/proc/self/status");
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let t = std::thread::spawn(move || {
            let _ = rx.recv();
        });
        // Other tests may start or end threads meanwhile; ours is at least
        // counted while it waits.
        assert!(thread_count().expect("/proc/self/status") >= 2);
        drop(tx);
        t.join().expect("thread");
        assert!(before >= 1);
    }
}
