//! The open-file limit (`RLIMIT_NOFILE`).
//!
//! A daemon sized by its configuration (lvsd: two descriptors per monitor,
//! nanny `--shared`: a few per concurrent check) needs more than the usual
//! soft limit of 1024. Only the soft limit is raised, never beyond the hard
//! one: raising the hard limit is the admin's decision (`LimitNOFILE=` in
//! the unit, `ulimit -Hn`).

use std::io;

use nix::libc;

fn get() -> io::Result<libc::rlimit> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the struct passed by pointer, which
    // lives for the call.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(lim)
}

/// The soft and hard open-file limits (`RLIM_INFINITY` as `u64::MAX`).
pub fn nofile_limits() -> io::Result<(u64, u64)> {
    let lim = get()?;
    Ok((lim.rlim_cur, lim.rlim_max))
}

/// The hard open-file limit: the most [`raise_nofile`] can reach.
pub fn nofile_hard_limit() -> io::Result<u64> {
    Ok(get()?.rlim_max)
}

/// Raises the soft open-file limit to `wanted`, capped at the hard limit,
/// and returns the soft limit in force afterwards. Never lowers it.
pub fn raise_nofile(wanted: u64) -> io::Result<u64> {
    let lim = get()?;
    let target = wanted.min(lim.rlim_max);
    if lim.rlim_cur >= target {
        return Ok(lim.rlim_cur);
    }
    let raised = libc::rlimit {
        rlim_cur: target,
        rlim_max: lim.rlim_max,
    };
    // SAFETY: setrlimit only reads the struct passed by pointer.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(get()?.rlim_cur)
}

#[cfg(test)]
mod tests {
    use super::*;

    // The limit is per process and tests run in parallel: one test does
    // every step, and only ever raises.
    #[test]
    fn raises_the_soft_limit_up_to_the_hard_one() {
        let (mut soft, hard) = nofile_limits().expect("getrlimit");
        if soft == hard && hard > 2048 && hard != libc::RLIM_INFINITY {
            // Make room to raise: a soft limit a little below the hard one
            // still leaves this test process plenty.
            let lower = libc::rlimit {
                rlim_cur: hard - 64,
                rlim_max: hard,
            };
            // SAFETY: setrlimit only reads the struct passed by pointer.
            assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lower) }, 0);
            soft = hard - 64;
        }
        assert_eq!(nofile_hard_limit().expect("hard"), hard);
        // Never lowers.
        assert_eq!(raise_nofile(3).expect("raise"), soft);
        assert_eq!(nofile_limits().expect("getrlimit").0, soft);
        if soft < hard {
            let mid = soft + (hard - soft).min(16);
            assert_eq!(raise_nofile(mid).expect("raise"), mid);
            assert_eq!(nofile_limits().expect("getrlimit").0, mid);
        }
        // Capped at the hard limit.
        assert_eq!(raise_nofile(u64::MAX).expect("raise"), hard);
        assert_eq!(nofile_limits().expect("getrlimit"), (hard, hard));
    }
}
