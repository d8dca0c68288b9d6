//! Links `nanny` as a position-dependent executable.
//!
//! A site runs one nanny per real server, so what counts is each process's
//! private memory. In a PIE the dynamic loader relocates `.data.rel.ro`
//! (vtables, string tables: about 230 kB here) at every start, which makes
//! those pages private and dirty in every nanny. Linked at a fixed address
//! they need no relocation and stay shared with all other nannies. ASLR of
//! the executable image is the price; the stack, heap and libraries are
//! still randomised.

fn main() {
    println!("cargo:rustc-link-arg-bins=-no-pie");
}
