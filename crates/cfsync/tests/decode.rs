//! The decoders on bytes from anywhere: any input is a value or a typed
//! error, never a panic, and whatever decodes encodes back to the same
//! bytes (so there is one spelling of every message).

use cfsync::wire::{self, Request};
use cfsync::{Digest, Push};
use proptest::prelude::*;

fn frame_parts(frame: &[u8]) -> (u8, &[u8]) {
    (frame[5], &frame[wire::HEADER_LEN..])
}

fn sample_push() -> Vec<u8> {
    let file = b"serial_no = 3\nprimary = 192.0.2.1\n".to_vec();
    wire::encode_request(&Request::Push(Push {
        sender: "r1".into(),
        force: false,
        serial_no: Some(3),
        digest: Digest::of(&file),
        base: Some(Digest::of(b"before")),
        file,
    }))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bodies_never_panic(kind in any::<u8>(), body in proptest::collection::vec(any::<u8>(), 0..300)) {
        if let Ok(req) = wire::decode_request(kind, &body) {
            let again = wire::encode_request(&req);
            prop_assert_eq!(frame_parts(&again), (kind, &body[..]));
        }
        if let Ok(reply) = wire::decode_reply(kind, &body) {
            let again = wire::encode_reply(&reply);
            prop_assert_eq!(frame_parts(&again), (kind, &body[..]));
        }
    }

    #[test]
    fn mutated_pushes_never_panic(at in 0usize..200, byte in any::<u8>(), cut in 0usize..200) {
        let mut frame = sample_push();
        let n = frame.len();
        frame[wire::HEADER_LEN + at % (n - wire::HEADER_LEN)] = byte;
        frame.truncate(n - cut % (n - wire::HEADER_LEN));
        let (kind, body) = frame_parts(&frame);
        if let Ok(req) = wire::decode_request(kind, body) {
            let again = wire::encode_request(&req);
            prop_assert_eq!(frame_parts(&again), (kind, body));
        }
    }

    #[test]
    fn arbitrary_headers_never_panic(head in any::<[u8; wire::HEADER_LEN]>()) {
        let _ = wire::parse_header(&head);
    }
}
