//! The system's crypt(3), for the one hash format no maintained Rust
//! crate implements: traditional DES crypt (`htpasswd -d`, htpasswd's
//! default on Unix before Apache 2.2.18).
//!
//! `crypt_r` rather than libxcrypt's `crypt_rn`: glibc's own libcrypt
//! (RHEL 7) has only the former. Its `struct crypt_data` is 32 KiB in
//! libxcrypt and 128 KiB in glibc; [`DATA_WORDS`] covers both.

use std::ffi::{CStr, CString, c_char, c_void};

#[link(name = "crypt")]
unsafe extern "C" {
    fn crypt_r(phrase: *const c_char, setting: *const c_char, data: *mut c_void) -> *mut c_char;
}

/// 256 KiB of 8-byte words: larger than either library's
/// `struct crypt_data`, and aligned for glibc's `long` fields.
const DATA_WORDS: usize = 32 * 1024;

/// `crypt(phrase, setting)`; `None` when crypt(3) refuses the setting or
/// the phrase holds a NUL byte.
pub(crate) fn crypt(phrase: &str, setting: &str) -> Option<String> {
    let phrase = CString::new(phrase).ok()?;
    let setting = CString::new(setting).ok()?;
    // Zeroed, as both libraries require before the first call.
    let mut data = vec![0u64; DATA_WORDS];
    // SAFETY: both strings are NUL-terminated and outlive the call; `data`
    // is a zeroed, 8-byte-aligned buffer larger than struct crypt_data of
    // libxcrypt and glibc, used by this call only. crypt_r returns NULL or
    // a pointer into `data`, read below before `data` is dropped.
    let out = unsafe { crypt_r(phrase.as_ptr(), setting.as_ptr(), data.as_mut_ptr().cast()) };
    if out.is_null() {
        return None;
    }
    // SAFETY: non-NULL results are NUL-terminated strings inside `data`,
    // which is still alive.
    let s = unsafe { CStr::from_ptr(out) }.to_str().ok()?.to_owned();
    // libxcrypt signals failure with a string starting with '*'.
    (!s.starts_with('*')).then_some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn des_crypt_matches_htpasswd() {
        // htpasswd -nbd u secret; python3 crypt.crypt("Secret", "ca").
        assert_eq!(
            crypt("secret", "cap4TXh5AQ.sY").as_deref(),
            Some("cap4TXh5AQ.sY")
        );
        assert_eq!(
            crypt("Secret", "cap4TXh5AQ.sY").as_deref(),
            Some("ca21cFIbaQfl2")
        );
        assert_eq!(crypt("x\0y", "ca"), None);
        assert_eq!(crypt("x", "!!"), None);
    }
}
