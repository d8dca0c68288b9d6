//! Decides the IPVS table a router should have.
