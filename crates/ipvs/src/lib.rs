//! The kernel IPVS table, programmed over the generic netlink family `IPVS`.
