//! Timers in seconds, as lvs.cf and nanny's command line write them.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Serialize, Serializer};

/// A timer: a whole number of milliseconds from [`Seconds::MIN`] (1 ms) to
/// [`Seconds::MAX`] (2³² − 1 s).
///
/// Written as seconds: `6`, or with a decimal fraction, `2.5` or `0.001`
/// (an extension of ours: the original took whole seconds only). The
/// millisecond is the resolution because it is nanny's: a value finer
/// than that cannot reach it, so it is refused where it is written
/// instead of being rounded away in transit. Zero is not a timer (nanny
/// divided by its interval); each key says what a written 0 means.
///
/// `text.parse::<Seconds>()` and `to_string()` are exact inverses on the
/// canonical form (no leading zeros, no trailing zeros after the point),
/// which is the only form [`Display`](fmt::Display) writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Seconds {
    /// Invariant: `1 <= millis <= MAX_SECS * 1000`.
    millis: u64,
}

/// Why a text or a value is not a [`Seconds`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecondsError {
    /// Not digits, or digits `.` digits.
    Syntax,
    /// Zero (`0`, `0.0`).
    Zero,
    /// Above zero but below [`Seconds::MIN`] (`0.0004`).
    BelowMinimum,
    /// A non-zero digit beyond the millisecond (`1.0005`).
    TooPrecise,
    /// Above [`Seconds::MAX`].
    TooLarge,
}

impl fmt::Display for SecondsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecondsError::Syntax => f.write_str("is not a number of seconds"),
            SecondsError::Zero => f.write_str("is zero"),
            SecondsError::BelowMinimum => write!(f, "is below {} s", Seconds::MIN),
            SecondsError::TooPrecise => {
                f.write_str("has more than 3 decimal places (the resolution is 1 ms)")
            }
            SecondsError::TooLarge => write!(f, "is above {} s", Seconds::MAX),
        }
    }
}

impl std::error::Error for SecondsError {}

impl Seconds {
    /// Largest number of whole seconds (also what the original's `int`
    /// fields could hold, and what keeps the writer exact).
    pub const MAX_SECS: u64 = u32::MAX as u64;
    /// The shortest timer: one millisecond.
    pub const MIN: Seconds = Seconds { millis: 1 };
    /// The longest timer.
    pub const MAX: Seconds = Seconds {
        millis: Self::MAX_SECS * 1000,
    };

    /// `secs` whole seconds, for constants.
    ///
    /// # Panics
    ///
    /// If `secs` is 0 (at compile time when used in a `const`). Use
    /// [`Seconds::from_secs`] for any value read from outside.
    pub const fn whole(secs: u32) -> Seconds {
        assert!(secs > 0, "a timer is at least 1 ms");
        Seconds {
            millis: secs as u64 * 1000,
        }
    }

    /// `secs` whole seconds.
    pub fn from_secs(secs: u64) -> Result<Seconds, SecondsError> {
        match secs {
            0 => Err(SecondsError::Zero),
            s if s > Self::MAX_SECS => Err(SecondsError::TooLarge),
            s => Ok(Seconds { millis: s * 1000 }),
        }
    }

    /// `millis` milliseconds.
    pub fn from_millis(millis: u64) -> Result<Seconds, SecondsError> {
        match millis {
            0 => Err(SecondsError::Zero),
            m if m > Self::MAX.millis => Err(SecondsError::TooLarge),
            m => Ok(Seconds { millis: m }),
        }
    }

    /// In milliseconds (at least 1).
    pub const fn as_millis(self) -> u64 {
        self.millis
    }

    /// As a [`Duration`].
    pub const fn as_duration(self) -> Duration {
        Duration::from_millis(self.millis)
    }

    /// Whole seconds, rounded up: what a counter of whole-second ticks
    /// (nanny's weight ramp) takes a fractional interval as.
    pub const fn whole_secs_ceil(self) -> u64 {
        self.millis.div_ceil(1000)
    }

    /// Whether this is a whole number of seconds (the form the original
    /// daemons read).
    pub const fn is_whole(self) -> bool {
        self.millis.is_multiple_of(1000)
    }
}

impl fmt::Display for Seconds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (secs, ms) = (self.millis / 1000, self.millis % 1000);
        if ms == 0 {
            return write!(f, "{secs}");
        }
        let frac = format!("{ms:03}");
        write!(f, "{secs}.{}", frac.trim_end_matches('0'))
    }
}

impl FromStr for Seconds {
    type Err = SecondsError;

    /// Digits, or digits `.` digits (both sides non-empty), in decimal.
    /// Digits beyond the third decimal place must be zeros.
    fn from_str(s: &str) -> Result<Seconds, SecondsError> {
        let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
        let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
        if !digits(whole) || (s.contains('.') && !digits(frac)) {
            return Err(SecondsError::Syntax);
        }
        // Leading zeros cannot overflow; the rest beyond MAX_SECS is too large.
        let whole = whole.trim_start_matches('0');
        let secs: u64 = if whole.is_empty() {
            0
        } else if whole.len() > 10 {
            return Err(SecondsError::TooLarge);
        } else {
            whole.parse().map_err(|_| SecondsError::Syntax)?
        };
        let (ms_digits, finer) = frac.split_at(frac.len().min(3));
        let ms = ms_digits
            .bytes()
            .zip([100, 10, 1])
            .map(|(b, scale)| u64::from(b - b'0') * scale)
            .sum::<u64>();
        if finer.bytes().any(|b| b != b'0') {
            return Err(if secs == 0 && ms == 0 {
                SecondsError::BelowMinimum
            } else {
                SecondsError::TooPrecise
            });
        }
        if secs > Self::MAX_SECS {
            return Err(SecondsError::TooLarge);
        }
        Seconds::from_millis(secs * 1000 + ms)
    }
}

impl From<Seconds> for Duration {
    fn from(s: Seconds) -> Duration {
        s.as_duration()
    }
}

impl TryFrom<Duration> for Seconds {
    type Error = SecondsError;

    /// Exact only: a duration with a part finer than 1 ms is refused.
    fn try_from(d: Duration) -> Result<Seconds, SecondsError> {
        if d.is_zero() {
            return Err(SecondsError::Zero);
        }
        if d < Seconds::MIN.as_duration() {
            return Err(SecondsError::BelowMinimum);
        }
        if !d.subsec_nanos().is_multiple_of(1_000_000) {
            return Err(SecondsError::TooPrecise);
        }
        let millis = u64::try_from(d.as_millis()).map_err(|_| SecondsError::TooLarge)?;
        Seconds::from_millis(millis)
    }
}

impl PartialEq<Duration> for Seconds {
    fn eq(&self, other: &Duration) -> bool {
        self.as_duration() == *other
    }
}

/// As (fractional) seconds, the unit of the file.
impl Serialize for Seconds {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // Exact for every value: millis ≤ 2^52.
        #[allow(clippy::cast_precision_loss)]
        let secs = self.millis as f64 / 1000.0;
        s.serialize_f64(secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn p(s: &str) -> Result<Seconds, SecondsError> {
        s.parse()
    }

    #[test]
    fn forms() {
        assert_eq!(p("6"), Ok(Seconds::whole(6)));
        assert_eq!(p("2.5").map(Seconds::as_millis), Ok(2500));
        assert_eq!(p("0.001"), Ok(Seconds::MIN));
        assert_eq!(p("1.2500").map(Seconds::as_millis), Ok(1250));
        assert_eq!(p("010").map(Seconds::as_millis), Ok(10_000), "decimal");
        assert_eq!(p("4294967295"), Ok(Seconds::MAX));
        for bad in [
            "", ".", ".5", "1.", "1.5s", "-1", "+1", " 1", "1e3", "0x10", "1,5",
        ] {
            assert_eq!(p(bad), Err(SecondsError::Syntax), "{bad:?}");
        }
    }

    #[test]
    fn bounds() {
        assert_eq!(p("0"), Err(SecondsError::Zero));
        assert_eq!(p("0.000"), Err(SecondsError::Zero));
        // The value that used to pass lvsd --check and reach nanny as `-t 0.`.
        assert_eq!(p("0.0004"), Err(SecondsError::BelowMinimum));
        assert_eq!(p("0.0009999"), Err(SecondsError::BelowMinimum));
        assert_eq!(p("1.0005"), Err(SecondsError::TooPrecise));
        assert_eq!(p("0.0015"), Err(SecondsError::TooPrecise));
        assert_eq!(p("4294967295.001"), Err(SecondsError::TooLarge));
        assert_eq!(p("4294967296"), Err(SecondsError::TooLarge));
        assert_eq!(p("99999999999999999999999"), Err(SecondsError::TooLarge));
        assert_eq!(
            SecondsError::BelowMinimum.to_string(),
            "is below 0.001 s",
            "the text lvsd --check prints after the key and value"
        );
    }

    #[test]
    fn canonical_text() {
        let t = |ms| Seconds::from_millis(ms).map(|s| s.to_string());
        assert_eq!(t(6000), Ok("6".into()));
        assert_eq!(t(2500), Ok("2.5".into()));
        assert_eq!(t(1), Ok("0.001".into()));
        assert_eq!(t(1010), Ok("1.01".into()));
        assert_eq!(t(0), Err(SecondsError::Zero));
    }

    #[test]
    fn durations() {
        let d = Duration::from_millis;
        assert_eq!(Seconds::try_from(d(2500)), p("2.5"));
        assert_eq!(
            Seconds::try_from(Duration::from_micros(400)),
            Err(SecondsError::BelowMinimum)
        );
        assert_eq!(
            Seconds::try_from(Duration::new(1, 1)),
            Err(SecondsError::TooPrecise)
        );
        assert_eq!(Seconds::try_from(Duration::ZERO), Err(SecondsError::Zero));
        assert_eq!(Seconds::whole(3), d(3000));
        assert_eq!(Seconds::MIN.whole_secs_ceil(), 1);
        assert_eq!(Seconds::whole(2).whole_secs_ceil(), 2);
    }

    proptest! {
        #[test]
        fn text_round_trip(ms in 1..=Seconds::MAX.as_millis()) {
            let s = Seconds::from_millis(ms).expect("in range");
            let text = s.to_string();
            prop_assert_eq!(text.parse::<Seconds>(), Ok(s), "{}", text);
            prop_assert!(!text.ends_with('0') || !text.contains('.'));
        }

        #[test]
        fn duration_round_trip(ms in 1..=Seconds::MAX.as_millis()) {
            let s = Seconds::from_millis(ms).expect("in range");
            prop_assert_eq!(Seconds::try_from(s.as_duration()), Ok(s));
        }
    }
}
