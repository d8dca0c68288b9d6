//! The kernel's IPVS table through a generic netlink socket.
//!
//! One socket per [`NetlinkIpvs`], one request (or one batch) in flight at a
//! time: `&mut self` on every operation enforces what the kernel requires
//! (one dump per socket, answers matched by sequence number).  The bytes come
//! from [`crate::wire`]; this module only moves them.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

use neli::consts::socket::{Msg, NlFamily};
use neli::socket::NlSocket;
use neli::utils::Groups;

use crate::IpvsTable;
use crate::error::IpvsError;
use crate::model::*;
use crate::uapi::*;
use crate::wire::DecodeError;
use crate::wire::attrs::{CmdAttr, CtrlAttr};
use crate::wire::convert;
use crate::wire::msg::{
    IpvsAttrs, IpvsMessage, Reply, ctrl_getfamily, emit_message, parse_ctrl, parse_datagram,
};

/// Receive buffer: a kernel dump skb is at most 32 KiB; an error ack echoes
/// the request, far below that.
const RECV_BUF: usize = 64 * 1024;

/// Socket receive buffer we ask for.  Acks of a batch queue up in it while
/// the kernel works through the batch inside our `send`; a full buffer drops
/// acks (ENOBUFS), so the batch size below is derived from what we got.
const WANT_RCVBUF: usize = 8 * 1024 * 1024;

/// Per queued ack, an upper bound of its skb truesize (bytes charged to the
/// receive buffer), with room for an error ack echoing its request.
const ACK_TRUESIZE: usize = 2048;

/// A request batch never exceeds this many bytes: `netlink_sendmsg` refuses
/// messages larger than the socket send buffer (≈208 KiB by default).
const MAX_BATCH_BYTES: usize = 128 * 1024;

/// The IPVS table of the caller's network namespace, in the kernel.
pub struct NetlinkIpvs {
    sock: NlSocket,
    family: u16,
    seq: u32,
    buf: Vec<u8>,
    max_batch: usize,
    sends: u64,
    recvs: u64,
}

impl std::fmt::Debug for NetlinkIpvs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetlinkIpvs")
            .field("family", &self.family)
            .field("max_batch", &self.max_batch)
            .finish()
    }
}

impl NetlinkIpvs {
    /// Open a socket and resolve the `IPVS` family.
    ///
    /// [`IpvsError::IpvsUnavailable`] if the family does not exist (module
    /// not loaded; kernels since ~5.16 load it on this lookup by themselves).
    pub fn new() -> Result<Self, IpvsError> {
        let sock = NlSocket::connect(NlFamily::Generic, None, Groups::empty())?;
        let got = grow_rcvbuf(&sock);
        let mut this = NetlinkIpvs {
            sock,
            family: 0,
            seq: 0,
            buf: vec![0; RECV_BUF],
            max_batch: (got / ACK_TRUESIZE).clamp(16, 2048),
            sends: 0,
            recvs: 0,
        };
        this.family = this
            .resolve(IPVS_GENL_NAME)?
            .ok_or(IpvsError::IpvsUnavailable)?;
        Ok(this)
    }

    /// The numeric id of the `IPVS` family on this kernel.
    pub fn family_id(&self) -> u16 {
        self.family
    }

    /// How many requests go into one `sendmsg` at most.
    pub fn max_batch(&self) -> usize {
        self.max_batch
    }

    /// Limit the batch size (at least 1).
    pub fn set_max_batch(&mut self, n: usize) {
        self.max_batch = n.max(1);
    }

    /// `(sendmsg, recvmsg)` system calls made so far (successful ones).
    pub fn syscalls(&self) -> (u64, u64) {
        (self.sends, self.recvs)
    }

    fn send(&mut self, buf: &[u8]) -> io::Result<()> {
        self.sends += 1;
        self.sock.send(buf, Msg::empty()).map(drop)
    }

    fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1);
        self.seq
    }

    /// `CTRL_CMD_GETFAMILY`: `Ok(None)` when the family does not exist.
    fn resolve(&mut self, name: &str) -> Result<Option<u16>, IpvsError> {
        let seq = self.next_seq();
        let mut out = Vec::new();
        emit_message(
            &mut out,
            GENL_ID_CTRL,
            NLM_F_REQUEST | NLM_F_ACK,
            seq,
            |b| ctrl_getfamily(name, b),
        );
        self.send(&out)?;
        let mut id = None;
        loop {
            let Some(n) = self.recv_queued()? else {
                return Ok(id);
            };
            for (h, r) in parse_datagram(&self.buf[..n])? {
                if h.seq != seq {
                    continue;
                }
                match r {
                    Reply::Data(payload) => {
                        for a in parse_ctrl(payload)? {
                            if let CtrlAttr::FamilyId(v) = a {
                                id = Some(v);
                            }
                        }
                    }
                    Reply::Ack | Reply::Done(_) => return Ok(id),
                    Reply::Error(ENOENT) => return Ok(None),
                    Reply::Error(e) => return Err(IpvsError::from_errno(&Change::Flush, e)),
                    Reply::Skip => {}
                }
            }
        }
    }

    /// Receive one datagram into `self.buf`, blocking (dumps: the kernel
    /// fills the next part when we read).
    fn recv(&mut self) -> Result<usize, IpvsError> {
        loop {
            match self.sock.recv(&mut self.buf[..], Msg::empty()) {
                Ok((n, _)) => {
                    self.recvs += 1;
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Receive one datagram if one is queued.
    ///
    /// Requests other than dumps are handled inside our `sendmsg` (genetlink
    /// runs the handlers synchronously in the sender's context), so once
    /// `send` returns every answer is already queued; reading without
    /// blocking cannot miss one.  It matters because a handler returning
    /// `-EINTR` gets no ack at all (`netlink_rcv_skb` skips it), which a
    /// blocking read would wait for forever.
    fn recv_queued(&mut self) -> Result<Option<usize>, IpvsError> {
        loop {
            match self.sock.recv(&mut self.buf[..], Msg::DONTWAIT) {
                Ok((n, _)) => {
                    self.recvs += 1;
                    return Ok(Some(n));
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// An `ENOENT` for a request may mean the family went away (module
    /// removed): check before blaming the request.
    fn classify(&mut self, change: &Change, errno: i32) -> IpvsError {
        if errno == ENOENT && matches!(self.resolve(IPVS_GENL_NAME), Ok(None)) {
            return IpvsError::IpvsUnavailable;
        }
        IpvsError::from_errno(change, errno)
    }

    /// A do-request answered by one message (GET_INFO, GET_CONFIG).
    fn query(&mut self, msg: &IpvsMessage) -> Result<IpvsMessage, IpvsError> {
        let seq = self.next_seq();
        let mut out = Vec::new();
        emit_message(&mut out, self.family, NLM_F_REQUEST | NLM_F_ACK, seq, |b| {
            msg.emit(b)
        });
        self.send(&out)?;
        let mut reply = None;
        loop {
            let Some(n) = self.recv_queued()? else {
                return reply.ok_or(IpvsError::Kernel { errno: EINTR });
            };
            for (h, r) in parse_datagram(&self.buf[..n])? {
                if h.seq != seq {
                    continue;
                }
                match r {
                    Reply::Data(p) => reply = Some(IpvsMessage::parse(p)?),
                    Reply::Ack | Reply::Done(_) => {
                        return reply.ok_or_else(|| DecodeError::new("ack without a reply").into());
                    }
                    Reply::Error(e) => return Err(self.classify(&Change::Flush, e)),
                    Reply::Skip => {}
                }
            }
        }
    }

    /// A dump; calls `each` with every data message's generic netlink
    /// payload (raw, so tests can round-trip the kernel's own bytes).
    fn dump_with(
        &mut self,
        msg: &IpvsMessage,
        mut each: impl FnMut(&[u8]) -> Result<(), IpvsError>,
    ) -> Result<(), IpvsError> {
        let seq = self.next_seq();
        let mut out = Vec::new();
        emit_message(
            &mut out,
            self.family,
            NLM_F_REQUEST | NLM_F_DUMP,
            seq,
            |b| msg.emit(b),
        );
        self.send(&out)?;
        // Read the dump to its end even if `each` fails, so that no stale part
        // of it is left on the socket for the next request.
        let mut result = Ok(());
        loop {
            let n = self.recv()?;
            let buf = std::mem::take(&mut self.buf);
            let parsed = parse_datagram(&buf[..n]);
            let mut done = None;
            match parsed {
                Ok(replies) => {
                    for (h, r) in replies {
                        if h.seq != seq {
                            continue;
                        }
                        match r {
                            Reply::Data(p) => {
                                if result.is_ok() {
                                    result = each(p);
                                }
                            }
                            Reply::Done(0) | Reply::Ack => done = Some(Ok(())),
                            Reply::Done(e) | Reply::Error(e) => done = Some(Err(e)),
                            Reply::Skip => {}
                        }
                    }
                }
                Err(e) => {
                    if result.is_ok() {
                        result = Err(e.into());
                    }
                }
            }
            self.buf = buf;
            match done {
                Some(Ok(())) => return result,
                Some(Err(e)) => return Err(self.classify(&Change::Flush, e)),
                None => {}
            }
        }
    }

    fn dump(&mut self, msg: &IpvsMessage) -> Result<Vec<IpvsMessage>, IpvsError> {
        let mut out = Vec::new();
        self.dump_with(msg, |p| {
            out.push(IpvsMessage::parse(p)?);
            Ok(())
        })?;
        Ok(out)
    }

    /// The destinations of one service, in the kernel's order: one
    /// `GET_DEST` dump, far cheaper than [`IpvsTable::list`] of a big table
    /// (for watching one entry, as the reload benchmark does).
    pub fn destinations(
        &mut self,
        service: &ServiceKey,
    ) -> Result<Vec<DestinationEntry>, IpvsError> {
        let req = IpvsMessage::request(
            IPVS_CMD_GET_DEST,
            vec![CmdAttr::Service(convert::service_key_attrs(service))],
        );
        let af = service.af();
        let mut out = Vec::new();
        for msg in self.dump(&req)? {
            for a in msg.cmd_attrs() {
                if let CmdAttr::Dest(d) = a {
                    out.push(convert::dest_from_attrs(d, af)?);
                }
            }
        }
        Ok(out)
    }

    /// The raw generic netlink payloads of a service dump and of each
    /// service's destination dump, in order.  For wire round-trip tests.
    #[doc(hidden)]
    pub fn raw_dumps(&mut self) -> Result<Vec<Vec<u8>>, IpvsError> {
        let mut raw = Vec::new();
        self.dump_with(&IpvsMessage::request(IPVS_CMD_GET_SERVICE, vec![]), |p| {
            raw.push(p.to_vec());
            Ok(())
        })?;
        let mut all = raw.clone();
        for p in raw {
            let msg = IpvsMessage::parse(&p)?;
            let Some(svc) = service_nest(&msg) else {
                continue;
            };
            let (s, _) = convert::service_from_attrs(svc)?;
            let req = IpvsMessage::request(
                IPVS_CMD_GET_DEST,
                vec![CmdAttr::Service(convert::service_key_attrs(&s.key))],
            );
            self.dump_with(&req, |p| {
                all.push(p.to_vec());
                Ok(())
            })?;
        }
        self.dump_with(&IpvsMessage::request(IPVS_CMD_GET_DAEMON, vec![]), |p| {
            all.push(p.to_vec());
            Ok(())
        })?;
        Ok(all)
    }

    /// Send a prefix of `changes` in one `sendmsg` (as many as the batch
    /// limits allow), collect one result per request sent, matched by
    /// sequence number, and return how many were sent.
    fn send_chunk(
        &mut self,
        changes: &[Change],
        results: &mut Vec<Result<(), IpvsError>>,
    ) -> usize {
        let first = self.seq.wrapping_add(1);
        let mut out = Vec::with_capacity(MAX_BATCH_BYTES);
        let mut count = 0;
        for c in changes.iter().take(self.max_batch) {
            let before = out.len();
            let seq = self.seq.wrapping_add(1);
            let msg = convert::change_request(c);
            emit_message(&mut out, self.family, NLM_F_REQUEST | NLM_F_ACK, seq, |b| {
                msg.emit(b)
            });
            if count > 0 && out.len() > MAX_BATCH_BYTES {
                out.truncate(before);
                break;
            }
            self.seq = seq;
            count += 1;
        }
        let changes = &changes[..count];
        let mut answers: Vec<Option<i32>> = vec![None; changes.len()];
        if let Err(e) = self.send(&out) {
            results.extend(changes.iter().map(|_| Err(clone_io(&e))));
            return count;
        }
        let mut pending = changes.len();
        while pending > 0 {
            let n = match self.recv_queued() {
                Ok(Some(n)) => n,
                // Not answered: the handler returned -EINTR (see `recv_queued`).
                Ok(None) => break,
                Err(e) => {
                    // Typically ENOBUFS: acks were dropped.  Whatever was not
                    // answered is unknown; say so for each of them.
                    for (i, a) in answers.iter().enumerate() {
                        results.push(match a {
                            Some(0) => Ok(()),
                            Some(errno) => Err(self.classify(&changes[i], *errno)),
                            None => Err(match &e {
                                IpvsError::Io(io) => clone_io(io),
                                _ => IpvsError::Kernel { errno: ENOBUFS },
                            }),
                        });
                    }
                    return count;
                }
            };
            let Ok(replies) = parse_datagram(&self.buf[..n]) else {
                continue;
            };
            for (h, r) in replies {
                let idx = h.seq.wrapping_sub(first) as usize;
                let Some(slot) = answers.get_mut(idx) else {
                    continue;
                };
                if slot.is_some() {
                    continue;
                }
                match r {
                    Reply::Ack => *slot = Some(0),
                    Reply::Error(e) => *slot = Some(e),
                    _ => continue,
                }
                pending -= 1;
            }
        }
        for (i, a) in answers.into_iter().enumerate() {
            results.push(match (a, &changes[i]) {
                (Some(0), _) => Ok(()),
                // HACK: stopping a sync daemon whose kernel thread has not
                // run yet makes kthread_stop() return -EINTR, so the kernel
                // sends no ack — but the daemon is stopped (sync_state
                // cleared).  Seen on the 6.1 guest with stop right after start.
                (None, Change::StopDaemon(_)) => Ok(()),
                (None, c) => Err(IpvsError::from_errno(c, EINTR)),
                (Some(errno), c) => Err(self.classify(c, errno)),
            });
        }
        count
    }
}

fn service_nest(msg: &IpvsMessage) -> Option<&[crate::wire::attrs::SvcAttr]> {
    msg.cmd_attrs().iter().find_map(|a| match a {
        CmdAttr::Service(s) => Some(s.as_slice()),
        _ => None,
    })
}

fn clone_io(e: &io::Error) -> IpvsError {
    IpvsError::Io(match e.raw_os_error() {
        Some(code) => io::Error::from_raw_os_error(code),
        None => io::Error::new(e.kind(), e.to_string()),
    })
}

/// Ask for a large receive buffer: `SO_RCVBUFFORCE` (needs CAP_NET_ADMIN,
/// which every IPVS operation needs anyway), else `SO_RCVBUF` (capped by
/// `rmem_max`).  Returns the size the kernel granted.
fn grow_rcvbuf(sock: &NlSocket) -> usize {
    use nix::sys::socket::{getsockopt, setsockopt, sockopt};
    // SAFETY: the descriptor belongs to `sock`, which outlives this borrow;
    // it is only used for the three socket option calls below.
    let fd = unsafe { BorrowedFd::borrow_raw(sock.as_raw_fd()) };
    if setsockopt(&fd, sockopt::RcvBufForce, &WANT_RCVBUF).is_err() {
        let _ = setsockopt(&fd, sockopt::RcvBuf, &WANT_RCVBUF);
    }
    // The kernel reports double the value set (bookkeeping); count half.
    getsockopt(&fd, sockopt::RcvBuf).map_or(212_992, |v| v / 2)
}

impl IpvsTable for NetlinkIpvs {
    fn info(&mut self) -> Result<Info, IpvsError> {
        let reply = self.query(&IpvsMessage::request(IPVS_CMD_GET_INFO, vec![]))?;
        match &reply.attrs {
            IpvsAttrs::Info(a) => Ok(convert::info_from_attrs(a)?),
            IpvsAttrs::Cmd(_) => Err(DecodeError::new("GET_INFO reply is not SET_INFO").into()),
        }
    }

    fn list(&mut self) -> Result<Vec<ServiceEntry>, IpvsError> {
        let mut services = Vec::new();
        for msg in self.dump(&IpvsMessage::request(IPVS_CMD_GET_SERVICE, vec![]))? {
            let Some(nest) = service_nest(&msg) else {
                continue;
            };
            let (service, stats) = convert::service_from_attrs(nest)?;
            services.push(ServiceEntry {
                service,
                stats,
                destinations: Vec::new(),
            });
        }
        // Dests after the whole service dump: a second dump cannot start
        // while the first is being read (EBUSY).
        for entry in &mut services {
            entry.destinations = self.destinations(&entry.service.key)?;
        }
        Ok(services)
    }

    fn timeouts(&mut self) -> Result<Timeouts, IpvsError> {
        let reply = self.query(&IpvsMessage::request(IPVS_CMD_GET_CONFIG, vec![]))?;
        Ok(convert::timeouts_from_attrs(reply.cmd_attrs()))
    }

    fn daemons(&mut self) -> Result<Vec<SyncDaemon>, IpvsError> {
        let mut out = Vec::new();
        for msg in self.dump(&IpvsMessage::request(IPVS_CMD_GET_DAEMON, vec![]))? {
            for a in msg.cmd_attrs() {
                if let CmdAttr::Daemon(d) = a {
                    out.push(convert::daemon_from_attrs(d)?);
                }
            }
        }
        Ok(out)
    }

    fn apply(&mut self, batch: &[Change]) -> Vec<Result<(), IpvsError>> {
        let mut results = Vec::with_capacity(batch.len());
        let mut start = 0;
        while start < batch.len() {
            start += self.send_chunk(&batch[start..], &mut results);
        }
        results
    }
}
