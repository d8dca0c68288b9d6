//! A unified line diff, to preview an edit (`diff -u` layout, 3 lines of
//! context).
//!
//! Myers' O(ND) algorithm on the lines between the common prefix and
//! suffix. Edits touch few lines, so D is small; past [`MAX_D`] the middle
//! is shown as replaced whole rather than spending quadratic memory.

use std::fmt::Write as _;

/// Largest edit distance searched for a minimal diff.
const MAX_D: usize = 4096;
/// Lines of context around each change.
const CONTEXT: usize = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Equal(usize, usize),
    Delete(usize),
    Insert(usize),
}

/// The unified diff from `old` to `new`; empty when they are equal.
///
/// Lines are compared with their line endings; they are printed without
/// them, and a last line without one is marked `\ No newline at end of file`.
pub fn unified_diff(old: &str, new: &str, old_name: &str, new_name: &str) -> String {
    if old == new {
        return String::new();
    }
    let a: Vec<&str> = old.split_inclusive('\n').collect();
    let b: Vec<&str> = new.split_inclusive('\n').collect();
    let ops = diff(&a, &b);
    let mut out = format!("--- {old_name}\n+++ {new_name}\n");
    // Indices of ops that are changes.
    let changes: Vec<usize> = ops
        .iter()
        .enumerate()
        .filter(|(_, op)| !matches!(op, Op::Equal(..)))
        .map(|(i, _)| i)
        .collect();
    let mut c = 0;
    while c < changes.len() {
        // A hunk: from CONTEXT ops before the first change to CONTEXT after
        // the last change that is within 2 * CONTEXT of the previous one.
        let first = changes[c];
        let mut last = first;
        while c + 1 < changes.len() && changes[c + 1] - last <= 2 * CONTEXT {
            c += 1;
            last = changes[c];
        }
        c += 1;
        let start = first.saturating_sub(CONTEXT);
        let end = (last + CONTEXT + 1).min(ops.len());
        let (mut a0, mut b0) = position(&ops, start);
        let (mut na, mut nb) = (0, 0);
        for op in &ops[start..end] {
            match op {
                Op::Equal(..) => {
                    na += 1;
                    nb += 1;
                }
                Op::Delete(_) => na += 1,
                Op::Insert(_) => nb += 1,
            }
        }
        // diff -u numbers an empty side by the line before it.
        if na > 0 {
            a0 += 1;
        }
        if nb > 0 {
            b0 += 1;
        }
        let _ = writeln!(out, "@@ -{} +{} @@", range(a0, na), range(b0, nb));
        for op in &ops[start..end] {
            let (mark, line) = match *op {
                Op::Equal(i, _) => (' ', a[i]),
                Op::Delete(i) => ('-', a[i]),
                Op::Insert(j) => ('+', b[j]),
            };
            out.push(mark);
            let text = line
                .strip_suffix('\n')
                .map(|l| l.strip_suffix('\r').unwrap_or(l));
            out.push_str(text.unwrap_or(line));
            out.push('\n');
            if !line.ends_with('\n') {
                out.push_str("\\ No newline at end of file\n");
            }
        }
    }
    out
}

fn range(start: usize, len: usize) -> String {
    if len == 1 {
        start.to_string()
    } else {
        format!("{start},{len}")
    }
}

/// Line numbers (0-based) in old and new before op `at`.
fn position(ops: &[Op], at: usize) -> (usize, usize) {
    let before = &ops[..at];
    let old = before
        .iter()
        .filter(|o| !matches!(o, Op::Insert(_)))
        .count();
    let new = before
        .iter()
        .filter(|o| !matches!(o, Op::Delete(_)))
        .count();
    (old, new)
}

fn diff(a: &[&str], b: &[&str]) -> Vec<Op> {
    let pre = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let suf = a[pre..]
        .iter()
        .rev()
        .zip(b[pre..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (am, bm) = (&a[pre..a.len() - suf], &b[pre..b.len() - suf]);
    let mut ops: Vec<Op> = (0..pre).map(|i| Op::Equal(i, i)).collect();
    match myers(am, bm) {
        Some(mid) => ops.extend(mid.into_iter().map(|op| match op {
            Op::Equal(i, j) => Op::Equal(i + pre, j + pre),
            Op::Delete(i) => Op::Delete(i + pre),
            Op::Insert(j) => Op::Insert(j + pre),
        })),
        None => {
            ops.extend((0..am.len()).map(|i| Op::Delete(i + pre)));
            ops.extend((0..bm.len()).map(|j| Op::Insert(j + pre)));
        }
    }
    let (ea, eb) = (a.len() - suf, b.len() - suf);
    ops.extend((0..suf).map(|k| Op::Equal(ea + k, eb + k)));
    ops
}

/// Minimal edit script, or `None` past [`MAX_D`].
fn myers(a: &[&str], b: &[&str]) -> Option<Vec<Op>> {
    let (n, m) = (a.len() as isize, b.len() as isize);
    let max = usize::try_from(n + m).ok()?;
    let off = max as isize + 1;
    let mut v = vec![0isize; 2 * max + 3];
    let mut trace: Vec<Vec<isize>> = Vec::new();
    let idx = |k: isize| usize::try_from(k + off).unwrap_or(0);
    let mut done = false;
    for d in 0..=(max.min(MAX_D) as isize) {
        trace.push(v.clone());
        let mut k = -d;
        while k <= d {
            let mut x = if k == -d || (k != d && v[idx(k - 1)] < v[idx(k + 1)]) {
                v[idx(k + 1)]
            } else {
                v[idx(k - 1)] + 1
            };
            let mut y = x - k;
            while x < n && y < m && a[x as usize] == b[y as usize] {
                x += 1;
                y += 1;
            }
            v[idx(k)] = x;
            if x >= n && y >= m {
                done = true;
                break;
            }
            k += 2;
        }
        if done {
            break;
        }
    }
    if !done {
        return None;
    }
    let mut ops = Vec::new();
    let (mut x, mut y) = (n, m);
    for (d, v) in trace.iter().enumerate().rev() {
        let d = d as isize;
        let k = x - y;
        let prev_k = if k == -d || (k != d && v[idx(k - 1)] < v[idx(k + 1)]) {
            k + 1
        } else {
            k - 1
        };
        let prev_x = v[idx(prev_k)];
        let prev_y = prev_x - prev_k;
        while x > prev_x && y > prev_y {
            x -= 1;
            y -= 1;
            ops.push(Op::Equal(x as usize, y as usize));
        }
        if d > 0 {
            if x == prev_x {
                ops.push(Op::Insert((y - 1) as usize));
            } else {
                ops.push(Op::Delete((x - 1) as usize));
            }
        }
        x = prev_x;
        y = prev_y;
    }
    ops.reverse();
    Some(ops)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_changed() {
        let old = "a\nb\nc\nd\ne\nf\ng\nh\n";
        let new = "a\nb\nc\nd\nE\nf\ng\nh\n";
        assert_eq!(
            unified_diff(old, new, "x", "y"),
            "--- x\n+++ y\n@@ -2,7 +2,7 @@\n b\n c\n d\n-e\n+E\n f\n g\n h\n"
        );
    }

    #[test]
    fn insert_delete_and_far_apart_hunks() {
        let old: String = (1..=20).map(|i| format!("{i}\n")).collect();
        let new: String = (1..=20)
            .filter(|i| *i != 18)
            .map(|i| {
                if i == 2 {
                    "2\nnew\n".to_owned()
                } else {
                    format!("{i}\n")
                }
            })
            .collect();
        let d = unified_diff(&old, &new, "a", "b");
        assert_eq!(
            d,
            "--- a\n+++ b\n@@ -1,5 +1,6 @@\n 1\n 2\n+new\n 3\n 4\n 5\n@@ -15,6 +16,5 @@\n 15\n 16\n 17\n-18\n 19\n 20\n"
        );
        assert_eq!(unified_diff(&old, &old, "a", "b"), "");
    }

    #[test]
    fn into_empty_and_no_final_newline() {
        assert_eq!(
            unified_diff("a\n", "", "x", "y"),
            "--- x\n+++ y\n@@ -1 +0,0 @@\n-a\n"
        );
        assert_eq!(
            unified_diff("a", "a\nb", "x", "y"),
            "--- x\n+++ y\n@@ -1 +1,2 @@\n-a\n\\ No newline at end of file\n+a\n+b\n\\ No newline at end of file\n"
        );
    }

    #[test]
    fn minimal_script() {
        let a = ["a", "b", "c", "a", "b", "b", "a"];
        let b = ["c", "b", "a", "b", "a", "c"];
        let ops = myers(&a, &b).expect("small");
        let changes = ops.iter().filter(|o| !matches!(o, Op::Equal(..))).count();
        // The classic example: edit distance 5.
        assert_eq!(changes, 5);
        let rebuilt: Vec<&str> = ops
            .iter()
            .filter_map(|o| match *o {
                Op::Equal(i, _) => Some(a[i]),
                Op::Insert(j) => Some(b[j]),
                Op::Delete(_) => None,
            })
            .collect();
        assert_eq!(rebuilt, b);
    }
}
