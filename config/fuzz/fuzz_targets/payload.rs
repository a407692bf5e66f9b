//! Seals arbitrary bytes as a table payload with a correct header, so that the decoder and
//! the validator behind the CRC see every input (random bytes almost never pass the CRC).
#![no_main]

use bulkhead_config::{Deployment, FORMAT_VERSION, MAGIC, crc32};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|payload: &[u8]| {
    let Ok(len) = u32::try_from(payload.len()) else {
        return;
    };
    let mut bytes = Vec::with_capacity(24 + payload.len());
    bytes.extend_from_slice(&MAGIC);
    bytes.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    bytes.extend_from_slice(&len.to_le_bytes());
    bytes.extend_from_slice(&crc32(payload).to_le_bytes());
    bytes.extend_from_slice(&[0; 4]);
    bytes.extend_from_slice(payload);
    if let Ok(deployment) = Deployment::from_bytes(&bytes) {
        let again = deployment.to_bytes().expect("a decoded table encodes");
        assert_eq!(Deployment::from_bytes(&again).ok(), Some(deployment));
    }
});
