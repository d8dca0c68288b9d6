//! Parser, typed model, validator and writer for `/etc/sysconfig/ha/lvs.cf`,
//! the configuration file shared by `pulse`, `lvsd` and `nanny`.
