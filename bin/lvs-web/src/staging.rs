//! Staged changes: each session's working copy of lvs.cf, made of the file
//! it started from (text and digest) and the edits accepted on panels
//! since, replayed onto that text. Nothing here touches the file: an
//! apply sends the staged text and its base digest to the helper, which
//! refuses it as a conflict if the file changed meanwhile; a rebase
//! replays the same edits onto the file as it is now.
//!
//! Memory is bounded: at most [`MAX_ENTRIES`] working copies and
//! [`MAX_BYTES`] of text in all; past either the oldest copy is dropped.

use std::collections::HashMap;
use std::time::Instant;

use admin::proto::Digest;
use lvscf::{Address, Document, Edit, EditError};

/// Most sessions with staged edits at once.
pub const MAX_ENTRIES: usize = 256;
/// Most text held in all working copies (two copies of each file).
pub const MAX_BYTES: usize = 128 << 20;

/// One session's working copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staged {
    /// The digest of the file the edits started from.
    pub base: Digest,
    /// That file's text.
    pub base_text: String,
    /// The text with every edit applied.
    pub text: String,
    /// The edits, in the order accepted.
    pub edits: Vec<Edit>,
    /// Set when an apply found the file changed: its digest now.
    pub conflict: Option<Digest>,
}

impl Staged {
    /// A working copy of `text` (the file on disk, digest `base`) with no
    /// edit yet.
    pub fn new(base: Digest, text: String) -> Staged {
        Staged {
            base,
            base_text: text.clone(),
            text,
            edits: Vec::new(),
            conflict: None,
        }
    }

    /// The working copy as an editor document.
    pub fn document(&self) -> Document {
        Document::open(self.text.clone())
    }

    /// Adds `edits` (one transaction: all or none; a refusal leaves the
    /// copy as it was).
    pub fn stage(&mut self, edits: Vec<Edit>) -> Result<(), EditError> {
        if edits.is_empty() {
            return Ok(());
        }
        let mut doc = self.document();
        doc.apply(&edits)?;
        self.text = doc.into_text();
        self.edits.extend(edits);
        Ok(())
    }

    /// The same edits replayed on `text` (the file now, digest `base`).
    /// A `serial_no` set by the first staging (one above the old base's)
    /// is set again one above the new base's, so the file still counts
    /// up. A refusal names the edit that no longer applies.
    pub fn rebase(&self, base: Digest, text: String) -> Result<Staged, EditError> {
        let mut next = Staged::new(base, text);
        let serial = Address::global("serial_no");
        let renumber = self
            .edits
            .iter()
            .any(|e| matches!(e, Edit::Set { at, .. } if *at == serial));
        let mut edits: Vec<Edit> = self
            .edits
            .iter()
            .filter(|e| !matches!(e, Edit::Set { at, .. } if *at == serial))
            .cloned()
            .collect();
        if renumber {
            edits.push(panels::bump_serial(&next.document()));
        }
        next.stage(edits)?;
        Ok(next)
    }

    /// The edits a user made, leaving out the `serial_no` renumbering
    /// that staging adds by itself (the count the pages show), and whether
    /// that renumbering is staged too. Any `serial_no` set counts as the
    /// renumbering, as [`Staged::rebase`] treats it.
    pub fn user_edits(&self) -> (usize, bool) {
        let serial = Address::global("serial_no");
        let is_serial = |e: &&Edit| matches!(e, Edit::Set { at, .. } if *at == serial);
        let renumbered = self.edits.iter().any(|e| is_serial(&e));
        let user = self.edits.iter().filter(|e| !is_serial(e)).count();
        (user, renumbered)
    }

    /// Whether the working copy differs from its base.
    pub fn changed(&self) -> bool {
        self.text != self.base_text
    }

    fn bytes(&self) -> usize {
        self.text.len() + self.base_text.len()
    }
}

/// The working copies, keyed by the session (its id's SHA-256, never the
/// id itself).
#[derive(Debug, Default)]
pub struct Store {
    copies: HashMap<[u8; 32], (Instant, Staged)>,
}

impl Store {
    /// The copy of `session`, if it has one.
    pub fn get(&self, session: &[u8; 32]) -> Option<&Staged> {
        self.copies.get(session).map(|(_, s)| s)
    }

    /// Stores `staged` for `session`, dropping the oldest copies past the
    /// bounds.
    pub fn put(&mut self, session: [u8; 32], staged: Staged, now: Instant) {
        self.copies.insert(session, (now, staged));
        while self.copies.len() > MAX_ENTRIES
            || self.copies.values().map(|(_, s)| s.bytes()).sum::<usize>() > MAX_BYTES
        {
            let Some(oldest) = self
                .copies
                .iter()
                .filter(|(k, _)| **k != session)
                .min_by_key(|(_, (t, _))| *t)
                .map(|(k, _)| *k)
            else {
                break;
            };
            self.copies.remove(&oldest);
        }
    }

    /// Drops the copy of `session` (applied, discarded, logged out).
    pub fn remove(&mut self, session: &[u8; 32]) -> Option<Staged> {
        self.copies.remove(session).map(|(_, s)| s)
    }

    /// Number of copies held.
    pub fn len(&self) -> usize {
        self.copies.len()
    }

    /// Whether none is held.
    pub fn is_empty(&self) -> bool {
        self.copies.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CF: &str = "serial_no = 1\nprimary = 192.0.2.1\nservice = lvs\n# keep me\nvirtual web {\n    address = 203.0.113.10 eth0:1\n    active = 1\n    port = 80\n    server web1 {\n        address = 192.0.2.11\n        active = 1\n        weight = 1\n    }\n}\n";

    fn set(a: &str, v: &str) -> Edit {
        Edit::parse_set(&format!("{a}={v}")).unwrap()
    }

    #[test]
    fn staging_changes_only_the_value_and_keeps_the_base() {
        let mut s = Staged::new(Digest::of(CF.as_bytes()), CF.into());
        assert!(!s.changed());
        s.stage(vec![set("virtual.web.server.web1.weight", "3")])
            .unwrap();
        assert!(s.changed());
        assert_eq!(s.text, CF.replace("weight = 1", "weight = 3"));
        assert_eq!(s.base_text, CF);
        assert_eq!(s.edits.len(), 1);
    }

    #[test]
    fn the_serial_no_bump_is_not_a_user_edit() {
        let mut s = Staged::new(Digest::of(CF.as_bytes()), CF.into());
        assert_eq!(s.user_edits(), (0, false));
        s.stage(vec![
            set("virtual.web.server.web1.weight", "3"),
            set("serial_no", "2"),
        ])
        .unwrap();
        assert_eq!(s.edits.len(), 2);
        assert_eq!(s.user_edits(), (1, true));
        s.stage(vec![set("virtual.web.port", "8080")]).unwrap();
        assert_eq!(s.user_edits(), (2, true));
    }

    #[test]
    fn a_refused_edit_leaves_the_copy() {
        let mut s = Staged::new(Digest::of(CF.as_bytes()), CF.into());
        let before = s.clone();
        assert!(s.stage(vec![set("virtual.web.port", "notaport")]).is_err());
        assert_eq!(s, before);
    }

    #[test]
    fn rebase_replays_onto_the_new_file() {
        let mut s = Staged::new(Digest::of(CF.as_bytes()), CF.into());
        s.stage(vec![set("virtual.web.server.web1.weight", "3")])
            .unwrap();
        s.stage(vec![set("serial_no", "2")]).unwrap();
        let hand = CF.replace("serial_no = 1", "serial_no = 7");
        let r = s.rebase(Digest::of(hand.as_bytes()), hand.clone()).unwrap();
        assert_eq!(
            r.text,
            hand.replace("weight = 1", "weight = 3")
                .replace("serial_no = 7", "serial_no = 8")
        );
        assert_eq!(r.base, Digest::of(hand.as_bytes()));
        assert_eq!(r.conflict, None);
    }

    #[test]
    fn the_store_is_bounded() {
        let mut st = Store::default();
        let t0 = Instant::now();
        for i in 0..(MAX_ENTRIES + 5) {
            let mut k = [0u8; 32];
            k[..8].copy_from_slice(&(i as u64).to_le_bytes());
            st.put(
                k,
                Staged::new(Digest::of(b""), String::new()),
                t0 + std::time::Duration::from_millis(i as u64),
            );
        }
        assert_eq!(st.len(), MAX_ENTRIES);
        assert!(st.get(&[0u8; 32]).is_none(), "the oldest went first");
    }
}
